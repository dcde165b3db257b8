//! A subset of TiDB's table-filter syntax for `--filter`: `db.table` patterns with `*`, `?` and
//! `[...]` wildcards, `!` negation, later rules winning, and a table no rule matches excluded.
//! Names match case-insensitively unless `--case-sensitive`. Backquoted names, regular
//! expressions (`/re/`) and `@file` imports of the real syntax are not supported: such a rule
//! is rejected with an error naming it.

#[derive(Debug, Clone)]
struct Rule {
    negated: bool,
    schema: String,
    table: String,
}

#[derive(Debug, Clone)]
pub struct Filter {
    rules: Vec<Rule>,
    case_sensitive: bool,
}

impl Filter {
    pub fn parse(rules: &[String], case_sensitive: bool) -> Result<Filter, String> {
        let mut parsed = Vec::new();
        for text in rules {
            let trimmed = text.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (negated, body) = match trimmed.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, trimmed),
            };
            if body.starts_with('@') || body.contains('`') || body.contains('/') {
                return Err(format!(
                    "the br stand-in does not support the table filter rule {text:?} \
                     (backquotes, regular expressions and @file imports are not simulated)"
                ));
            }
            let Some((schema, table)) = body.split_once('.') else {
                return Err(format!(
                    "wrong table pattern: missing '.' between schema and table in {text:?}"
                ));
            };
            let fold = |s: &str| {
                if case_sensitive {
                    s.to_owned()
                } else {
                    s.to_lowercase()
                }
            };
            parsed.push(Rule {
                negated,
                schema: fold(schema),
                table: fold(table),
            });
        }
        Ok(Filter {
            rules: parsed,
            case_sensitive,
        })
    }

    /// Only `db`'s tables (`br backup db --db`).
    pub fn database(db: &str) -> Filter {
        Filter {
            rules: vec![Rule {
                negated: false,
                schema: db.to_lowercase(),
                table: "*".into(),
            }],
            case_sensitive: false,
        }
    }

    /// One table (`br backup table --db --table`).
    pub fn table(db: &str, table: &str) -> Filter {
        Filter {
            rules: vec![Rule {
                negated: false,
                schema: db.to_lowercase(),
                table: table.to_lowercase(),
            }],
            case_sensitive: false,
        }
    }

    pub fn matches(&self, schema: &str, table: &str) -> bool {
        let (schema, table) = if self.case_sensitive {
            (schema.to_owned(), table.to_owned())
        } else {
            (schema.to_lowercase(), table.to_lowercase())
        };
        self.rules
            .iter()
            .rev()
            .find(|r| glob(&r.schema, &schema) && glob(&r.table, &table))
            .is_some_and(|r| !r.negated)
    }
}

/// Shell-style wildcard match.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|i| glob_at(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && glob_at(&p[1..], &t[1..]),
        Some('[') => {
            let Some(end) = p.iter().position(|&c| c == ']') else {
                return !t.is_empty() && t[0] == '[' && glob_at(&p[1..], &t[1..]);
            };
            let Some(&c) = t.first() else {
                return false;
            };
            let class = &p[1..end];
            let (negate, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob_at(&p[end + 1..], &t[1..])
        }
        Some(&c) => t.first() == Some(&c) && glob_at(&p[1..], &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(rules: &[&str]) -> Filter {
        Filter::parse(
            &rules.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            false,
        )
        .unwrap()
    }

    #[test]
    fn later_rules_win_and_unmatched_is_excluded() {
        let filter = f(&["*.*", "!sales.*", "sales.inv?ices"]);
        assert!(filter.matches("app", "users"));
        assert!(!filter.matches("sales", "customers"));
        assert!(filter.matches("SALES", "Invoices"));
        assert!(!f(&["!app.*"]).matches("test", "t1"));
        assert!(f(&["app.[ou]*"]).matches("app", "orders"));
        assert!(!f(&["app.[!ou]*"]).matches("app", "orders"));
        assert!(Filter::parse(&["nodot".into()], false).is_err());
        assert!(Filter::parse(&["/re/.t".into()], false).is_err());
    }
}
