//! The statements the simulated TiDB understands, recognised from tokens so that case,
//! whitespace, comments, backticks and either quote style do not matter:
//!
//! - `SELECT <cols> FROM mysql.tidb [WHERE <col> = | LIKE <value>] [LIMIT n] [FOR UPDATE]`
//! - `UPDATE mysql.tidb SET variable_value = <value> WHERE variable_name = <value>`
//! - `SELECT <expr>[, ...] [LIMIT n]` with literals, `@@[global.|session.]var`,
//!   `version()`, `tidb_version()`, `database()`, `user()`, `current_user()`,
//!   `connection_id()`
//! - `SET NAMES ...`, `SET [GLOBAL|SESSION] var = value`, `SET @@var = value`,
//!   `SET @user_var = value`, `SET TRANSACTION ...`
//! - `BEGIN`, `START TRANSACTION`, `COMMIT`, `ROLLBACK`, `USE db`
//!
//! `?` placeholders may stand wherever a value may. Anything else is refused by the
//! caller with error 1105.

use super::{
    lexer::{Tok, tokenize},
    packet::Value,
};

/// A value position: a literal, a placeholder, a system variable or a function.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(Value),
    Param(usize),
    /// A system variable: `global` is true for `@@global.x`.
    SysVar {
        name: String,
        global: bool,
    },
    Func(String),
}

/// The columns of `mysql.tidb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TidbColumn {
    Name,
    Value,
    Comment,
}

impl TidbColumn {
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "variable_name" => Some(TidbColumn::Name),
            "variable_value" => Some(TidbColumn::Value),
            "comment" => Some(TidbColumn::Comment),
            _ => None,
        }
    }

    pub fn real_name(self) -> &'static str {
        match self {
            TidbColumn::Name => "VARIABLE_NAME",
            TidbColumn::Value => "VARIABLE_VALUE",
            TidbColumn::Comment => "COMMENT",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub column: TidbColumn,
    pub like: bool,
    pub value: Expr,
}

/// One `SET` assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub name: String,
    pub global: bool,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT <exprs>` with no table; each item with the label the client shows.
    SelectExprs(Vec<(Expr, String)>),
    SelectTidb {
        columns: Vec<(TidbColumn, String)>,
        filter: Option<Filter>,
        limit: Option<u64>,
    },
    UpdateTidb {
        value: Expr,
        filter: Filter,
    },
    /// System variable assignments (user variables and `SET NAMES` need no action).
    Set(Vec<Assignment>),
    /// Statements answered with a plain OK.
    Noop,
}

/// A parsed statement and how many `?` it has.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub statement: Statement,
    pub params: usize,
}

struct Parser<'a> {
    sql: &'a str,
    toks: Vec<(Tok, usize, usize)>,
    pos: usize,
    params: usize,
}

type Res<T> = Result<T, String>;

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.0.clone());
        self.pos += 1;
        t
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.is_kw(kw);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect_kw(&mut self, kw: &str) -> Res<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(format!("expected {}", kw.to_uppercase()))
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let yes = self.peek() == Some(&Tok::Punct(c));
        if yes {
            self.pos += 1;
        }
        yes
    }

    /// An identifier, quoted or not.
    fn ident(&mut self) -> Res<String> {
        match self.next() {
            Some(Tok::Word(w) | Tok::Quoted(w)) => Ok(w),
            _ => Err("expected an identifier".into()),
        }
    }

    /// The original text from token `from` up to the current position.
    fn text_since(&self, from: usize) -> String {
        let start = self.toks[from].1;
        let end = self.toks[self.pos - 1].2;
        self.sql[start..end].to_string()
    }

    fn expr(&mut self) -> Res<Expr> {
        let negative = self.eat_punct('-');
        let e = match self.next() {
            Some(Tok::Str(s)) => Expr::Lit(Value::Text(s)),
            Some(Tok::Num(n)) => {
                let text = if negative { format!("-{n}") } else { n };
                match text.parse::<i64>() {
                    Ok(i) => Expr::Lit(Value::Int(i)),
                    Err(_) => Expr::Lit(Value::Text(text)),
                }
            }
            Some(Tok::Param) => {
                self.params += 1;
                Expr::Param(self.params - 1)
            }
            Some(Tok::SysVar(v)) => sys_var(&v),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Expr::Lit(Value::Null),
            Some(Tok::Word(w)) if self.eat_punct('(') => {
                if !self.eat_punct(')') {
                    return Err(format!("function {w} takes no arguments here"));
                }
                Expr::Func(w.to_ascii_lowercase())
            }
            // Bare words in SET (`ON`, `utf8mb4`, `DEFAULT`) are values.
            Some(Tok::Word(w)) => Expr::Lit(Value::Text(w)),
            _ => return Err("expected a value".into()),
        };
        if negative && !matches!(e, Expr::Lit(_)) {
            return Err("unsupported expression".into());
        }
        Ok(e)
    }

    fn limit(&mut self) -> Res<Option<u64>> {
        if !self.eat_kw("limit") {
            return Ok(None);
        }
        match self.next() {
            Some(Tok::Num(n)) => n.parse().map(Some).map_err(|_| "bad LIMIT".into()),
            _ => Err("bad LIMIT".into()),
        }
    }

    /// `mysql.tidb`, or `tidb` when the session's database is `mysql`.
    fn tidb_table(&mut self, db: Option<&str>) -> Res<()> {
        let first = self.ident()?;
        let (schema, table) = if self.eat_punct('.') {
            (first, self.ident()?)
        } else {
            (db.unwrap_or_default().to_string(), first)
        };
        if schema.eq_ignore_ascii_case("mysql") && table.eq_ignore_ascii_case("tidb") {
            Ok(())
        } else {
            Err(format!("table {schema}.{table} is not available"))
        }
    }

    fn filter(&mut self) -> Res<Filter> {
        let column = self.ident()?;
        let column =
            TidbColumn::parse(&column).ok_or_else(|| format!("unknown column {column}"))?;
        let like = if self.eat_punct('=') {
            false
        } else if self.eat_kw("like") {
            true
        } else {
            return Err("expected = or LIKE".into());
        };
        Ok(Filter {
            column,
            like,
            value: self.expr()?,
        })
    }

    fn select(&mut self, db: Option<&str>) -> Res<Statement> {
        // Decide between a table query and expressions by looking for FROM.
        let has_from = self.toks[self.pos..]
            .iter()
            .any(|t| matches!(&t.0, Tok::Word(w) if w.eq_ignore_ascii_case("from")));
        if !has_from {
            let mut items = Vec::new();
            loop {
                let from = self.pos;
                let e = self.expr()?;
                let mut label = self.text_since(from);
                let implicit =
                    matches!(self.peek(), Some(Tok::Word(w)) if !w.eq_ignore_ascii_case("limit"));
                if self.eat_kw("as") || implicit {
                    label = match self.next() {
                        Some(Tok::Word(a) | Tok::Quoted(a) | Tok::Str(a)) => a,
                        _ => return Err("expected an alias".into()),
                    };
                }
                items.push((e, label));
                if !self.eat_punct(',') {
                    break;
                }
            }
            self.limit()?;
            return Ok(Statement::SelectExprs(items));
        }
        let mut columns = Vec::new();
        loop {
            if self.eat_punct('*') {
                for c in [TidbColumn::Name, TidbColumn::Value, TidbColumn::Comment] {
                    columns.push((c, c.real_name().to_string()));
                }
            } else {
                let name = self.ident()?;
                let col =
                    TidbColumn::parse(&name).ok_or_else(|| format!("unknown column {name}"))?;
                let label = if self.eat_kw("as") {
                    self.ident()?
                } else {
                    name
                };
                columns.push((col, label));
            }
            if !self.eat_punct(',') {
                break;
            }
        }
        self.expect_kw("from")?;
        self.tidb_table(db)?;
        let filter = if self.eat_kw("where") {
            Some(self.filter()?)
        } else {
            None
        };
        let limit = self.limit()?;
        if self.eat_kw("for") {
            self.expect_kw("update")?;
        }
        Ok(Statement::SelectTidb {
            columns,
            filter,
            limit,
        })
    }

    fn update(&mut self, db: Option<&str>) -> Res<Statement> {
        self.tidb_table(db)?;
        self.expect_kw("set")?;
        let column = self.ident()?;
        if TidbColumn::parse(&column) != Some(TidbColumn::Value) {
            return Err("only variable_value can be updated".into());
        }
        if !self.eat_punct('=') {
            return Err("expected =".into());
        }
        let value = self.expr()?;
        self.expect_kw("where")?;
        let filter = self.filter()?;
        if filter.column != TidbColumn::Name || filter.like {
            return Err("the WHERE clause must be variable_name = <value>".into());
        }
        Ok(Statement::UpdateTidb { value, filter })
    }

    fn set(&mut self) -> Res<Statement> {
        if self.eat_kw("names") || self.eat_kw("charset") {
            self.expr()?;
            if self.eat_kw("collate") {
                self.expr()?;
            }
            return Ok(Statement::Noop);
        }
        if self.eat_kw("character") {
            self.expect_kw("set")?;
            self.expr()?;
            return Ok(Statement::Noop);
        }
        let mut out = Vec::new();
        loop {
            let mut global = self.eat_kw("global");
            if !global && !self.eat_kw("session") {
                self.eat_kw("local");
            }
            if self.eat_kw("transaction") {
                // SET TRANSACTION ISOLATION LEVEL ... / READ ONLY: accepted as is.
                self.pos = self.toks.len();
                return Ok(Statement::Set(out));
            }
            let name = match self.next() {
                Some(Tok::UserVar(_)) => None,
                Some(Tok::SysVar(v)) => match sys_var(&v) {
                    Expr::SysVar { name, global: g } => {
                        global |= g;
                        Some(name)
                    }
                    _ => None,
                },
                Some(Tok::Word(w) | Tok::Quoted(w)) => Some(w.to_ascii_lowercase()),
                _ => return Err("expected a variable".into()),
            };
            if !(self.eat_punct('=') || (self.eat_punct(':') && self.eat_punct('='))) {
                return Err("expected =".into());
            }
            let value = self.expr()?;
            if let Some(name) = name {
                out.push(Assignment {
                    name,
                    global,
                    value,
                });
            }
            if !self.eat_punct(',') {
                return Ok(Statement::Set(out));
            }
        }
    }
}

fn sys_var(raw: &str) -> Expr {
    let lower = raw.to_ascii_lowercase();
    let (global, name) = match lower.split_once('.') {
        Some(("global", n)) => (true, n.to_string()),
        Some(("session" | "local", n)) => (false, n.to_string()),
        _ => (false, lower.clone()),
    };
    Expr::SysVar { name, global }
}

/// Parses one statement; `db` is the session's current database. The error says why
/// the statement is not one the simulated TiDB knows.
pub fn parse(sql: &str, db: Option<&str>) -> Result<Parsed, String> {
    let mut toks = tokenize(sql)?;
    while matches!(toks.last(), Some((Tok::Punct(';'), ..))) {
        toks.pop();
    }
    if toks.is_empty() {
        return Err("Query was empty".into());
    }
    let mut p = Parser {
        sql,
        toks,
        pos: 0,
        params: 0,
    };
    let statement = if p.eat_kw("select") {
        p.select(db)?
    } else if p.eat_kw("update") {
        p.update(db)?
    } else if p.eat_kw("set") {
        p.set()?
    } else if p.eat_kw("begin") || p.eat_kw("commit") || p.eat_kw("rollback") {
        p.eat_kw("work");
        Statement::Noop
    } else if p.eat_kw("start") {
        p.expect_kw("transaction")?;
        Statement::Noop
    } else if p.eat_kw("use") {
        p.ident()?;
        Statement::Noop
    } else {
        return Err("statement not supported".into());
    };
    if !p.at_end() {
        return Err(format!(
            "unexpected {:?}",
            &sql[p.toks[p.pos].1..].chars().take(40).collect::<String>()
        ));
    }
    Ok(Parsed {
        statement,
        params: p.params,
    })
}

/// SQL `LIKE` with `%` and `_` (and `\` escaping), case-sensitive as `utf8mb4_bin` is.
pub fn like(value: &str, pattern: &str) -> bool {
    fn go(v: &[char], p: &[char]) -> bool {
        match p.first() {
            None => v.is_empty(),
            Some('%') => (0..=v.len()).any(|i| go(&v[i..], &p[1..])),
            Some('_') => !v.is_empty() && go(&v[1..], &p[1..]),
            Some('\\') if p.len() > 1 => v.first() == Some(&p[1]) && go(&v[1..], &p[2..]),
            Some(c) => v.first() == Some(c) && go(&v[1..], &p[1..]),
        }
    }
    let v: Vec<char> = value.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&v, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_statements_parse() {
        let q = parse(
            r#"select VARIABLE_NAME, VARIABLE_VALUE from mysql.tidb where VARIABLE_NAME like "tikv_gc_life_time";"#,
            None,
        )
        .unwrap();
        match q.statement {
            Statement::SelectTidb {
                columns, filter, ..
            } => {
                assert_eq!(columns[0].1, "VARIABLE_NAME");
                let f = filter.unwrap();
                assert!(f.like);
                assert_eq!(f.value, Expr::Lit(Value::Text("tikv_gc_life_time".into())));
            }
            other => panic!("{other:?}"),
        }
        let u = parse(
            "update mysql.tidb set VARIABLE_VALUE = '10m' where VARIABLE_NAME = 'tikv_gc_life_time';",
            None,
        )
        .unwrap();
        assert!(matches!(u.statement, Statement::UpdateTidb { .. }));
    }

    #[test]
    fn placeholders_backticks_and_case_are_tolerated() {
        let q = parse(
            "SELECT `variable_value` FROM `mysql`.`tidb` WHERE `variable_name`=?",
            None,
        )
        .unwrap();
        assert_eq!(q.params, 1);
        let u = parse(
            "update  MYSQL.TIDB set variable_value = ? /* c */ where variable_name = ?",
            None,
        )
        .unwrap();
        assert_eq!(u.params, 2);
        assert!(
            parse(
                "select variable_value from tidb where variable_name='x'",
                Some("mysql")
            )
            .is_ok()
        );
        assert!(
            parse(
                "select variable_value from tidb where variable_name='x'",
                None
            )
            .is_err()
        );
    }

    #[test]
    fn expression_selects_keep_their_labels() {
        let q = parse("select @@version_comment limit 1", None).unwrap();
        let Statement::SelectExprs(items) = q.statement else {
            panic!()
        };
        assert_eq!(items[0].1, "@@version_comment");
        let q = parse("SELECT @@max_allowed_packet,@@wait_timeout,@@socket", None).unwrap();
        let Statement::SelectExprs(items) = q.statement else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        assert_eq!(items[2].1, "@@socket");
        let q = parse("SELECT version() AS v, 1", None).unwrap();
        let Statement::SelectExprs(items) = q.statement else {
            panic!()
        };
        assert_eq!(items[0], (Expr::Func("version".into()), "v".into()));
        assert_eq!(items[1], (Expr::Lit(Value::Int(1)), "1".into()));
    }

    #[test]
    fn set_statements() {
        assert_eq!(
            parse("SET NAMES utf8mb4 COLLATE utf8mb4_bin", None)
                .unwrap()
                .statement,
            Statement::Noop
        );
        let Statement::Set(a) = parse("SET GLOBAL tidb_gc_life_time = '72h'", None)
            .unwrap()
            .statement
        else {
            panic!()
        };
        assert!(a[0].global);
        assert_eq!(a[0].name, "tidb_gc_life_time");
        let Statement::Set(a) = parse("set @@session.autocommit=1, @x = 2", None)
            .unwrap()
            .statement
        else {
            panic!()
        };
        assert_eq!(a.len(), 1);
        assert!(!a[0].global);
    }

    #[test]
    fn other_statements_are_refused() {
        assert!(parse("DROP TABLE mysql.tidb", None).is_err());
        assert!(parse("select * from mysql.user", None).is_err());
        assert!(
            parse(
                "update mysql.tidb set comment='x' where variable_name='y'",
                None
            )
            .is_err()
        );
        assert_eq!(parse("  ; ", None).unwrap_err(), "Query was empty");
    }

    #[test]
    fn like_patterns() {
        assert!(like("tikv_gc_life_time", "tikv_gc_life_time"));
        assert!(like("tikv_gc_life_time", "tikv%"));
        assert!(like("tikv_gc_life_time", "tikv_gc_lif__time"));
        assert!(!like("tikv_gc_life_time", "TIKV%"));
        assert!(like("a_b", "a\\_b"));
        assert!(!like("axb", "a\\_b"));
    }
}
