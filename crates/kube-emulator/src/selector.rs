//! Label and field selectors in their query-string forms.
//!
//! Label selectors: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, comma
//! separated (all must hold). Field selectors: `path=v`, `path==v`, `path!=v`, over the
//! fields each kind supports; an unsupported field is a 400, as upstream.

use serde_json::Value;

use super::error::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector(Vec<LabelReq>);

impl LabelSelector {
    pub(crate) fn parse(input: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top_level(input) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_label_req(part).ok_or_else(|| {
                ApiError::bad_request(format!("unable to parse requirement: {part:?}"))
            })?);
        }
        Ok(LabelSelector(reqs))
    }

    pub(crate) fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => get(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
        })
    }

    /// Builds a selector from a `LabelSelector` object (`matchLabels`, `matchExpressions`).
    #[cfg(test)]
    pub(crate) fn from_object(selector: &Value) -> Self {
        let mut reqs = Vec::new();
        if let Some(labels) = selector["matchLabels"].as_object() {
            for (k, v) in labels {
                reqs.push(LabelReq::Eq(
                    k.clone(),
                    v.as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        for expr in selector["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let key = expr["key"].as_str().unwrap_or_default().to_string();
            let values: Vec<String> = expr["values"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            reqs.push(match expr["operator"].as_str() {
                Some("In") => LabelReq::In(key, values),
                Some("NotIn") => LabelReq::NotIn(key, values),
                Some("DoesNotExist") => LabelReq::NotExists(key),
                _ => LabelReq::Exists(key),
            });
        }
        LabelSelector(reqs)
    }
}

/// Commas inside `( )` belong to a set, not to the list of requirements.
fn split_top_level(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in input.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

fn parse_set(rest: &str) -> Option<Vec<String>> {
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn parse_label_req(part: &str) -> Option<LabelReq> {
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        return valid_key(key).then(|| LabelReq::NotExists(key.to_string()));
    }
    if let Some((k, v)) = part.split_once("!=") {
        let k = k.trim();
        return valid_key(k).then(|| LabelReq::NotEq(k.to_string(), v.trim().to_string()));
    }
    if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
        let k = k.trim();
        return valid_key(k).then(|| LabelReq::Eq(k.to_string(), v.trim().to_string()));
    }
    let mut words = part.splitn(2, char::is_whitespace);
    let key = words.next()?.trim();
    let rest = words.next().unwrap_or("").trim();
    if rest.is_empty() {
        return valid_key(key).then(|| LabelReq::Exists(key.to_string()));
    }
    if let Some(set) = rest.strip_prefix("notin") {
        return Some(LabelReq::NotIn(key.to_string(), parse_set(set)?));
    }
    if let Some(set) = rest.strip_prefix("in") {
        return Some(LabelReq::In(key.to_string(), parse_set(set)?));
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
struct FieldReq {
    path: String,
    value: String,
    negate: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSelector(Vec<FieldReq>);

impl FieldSelector {
    /// Parses and checks every field against `supported` (besides `metadata.name` and
    /// `metadata.namespace`, which every kind supports).
    pub(crate) fn parse(input: &str, supported: &[&str]) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_unescaped(input, ',') {
            if part.trim().is_empty() {
                continue;
            }
            let (path, value, negate) = if let Some((p, v)) = split_once_unescaped(&part, "!=") {
                (p, v, true)
            } else if let Some((p, v)) = split_once_unescaped(&part, "==") {
                (p, v, false)
            } else if let Some((p, v)) = split_once_unescaped(&part, "=") {
                (p, v, false)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{input}'; can't understand '{part}'"
                )));
            };
            let path = path.trim().to_string();
            if path != "metadata.name"
                && path != "metadata.namespace"
                && !supported.contains(&path.as_str())
            {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {path}"
                )));
            }
            reqs.push(FieldReq {
                path,
                value: unescape(value.trim()),
                negate,
            });
        }
        Ok(FieldSelector(reqs))
    }

    pub(crate) fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|r| {
            let actual = field_value(object, &r.path);
            (actual == r.value) != r.negate
        })
    }

    /// The value a `metadata.name=` requirement pins, used to narrow watches cheaply.
    #[cfg(test)]
    pub(crate) fn pinned_name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|r| r.path == "metadata.name" && !r.negate)
            .map(|r| r.value.as_str())
    }
}

/// Field values compare as strings; missing fields are the empty string, as upstream.
fn field_value(object: &Value, path: &str) -> String {
    let mut cur = object;
    for seg in path.split('.') {
        cur = &cur[seg];
    }
    match cur {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn split_unescaped(input: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in input.chars() {
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
}

fn split_once_unescaped<'a>(input: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let bytes = input.as_bytes();
    let mut i = 0;
    while i + op.len() <= bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if &input[i..i + op.len()] == op {
            return Some((&input[..i], &input[i + op.len()..]));
        }
        i += 1;
    }
    None
}

fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for c in v.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn label_operators() {
        let labels = json!({"app": "tidb", "tier": "db", "env": "prod"});
        let cases = [
            ("app=tidb", true),
            ("app==tidb", true),
            ("app!=tidb", false),
            ("app in (tidb,tikv)", true),
            ("app in (pd)", false),
            ("env notin (dev, test)", true),
            ("env notin (prod)", false),
            ("missing notin (x)", true),
            ("tier", true),
            ("!tier", false),
            ("!missing", true),
            ("app=tidb,tier=db", true),
            ("app=tidb,tier=web", false),
            ("app in (tidb,tikv),!missing,env", true),
            ("", true),
        ];
        for (sel, want) in cases {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&labels),
                want,
                "{sel}"
            );
        }
        assert!(LabelSelector::parse("a in (b").is_err());
        assert!(LabelSelector::parse("=x").is_err());
    }

    #[test]
    fn field_selectors_check_support() {
        let obj =
            json!({"metadata": {"name": "a", "namespace": "ns"}, "status": {"phase": "Running"}});
        let sel = FieldSelector::parse("metadata.name=a,metadata.namespace!=other", &[]).unwrap();
        assert!(sel.matches(&obj));
        assert_eq!(sel.pinned_name(), Some("a"));
        assert!(
            !FieldSelector::parse("metadata.name==b", &[])
                .unwrap()
                .matches(&obj)
        );
        let err = FieldSelector::parse("status.phase=Running", &[]).unwrap_err();
        assert_eq!(err.message, "field label not supported: status.phase");
        let sel = FieldSelector::parse("status.phase=Running", &["status.phase"]).unwrap();
        assert!(sel.matches(&obj));
    }

    #[test]
    fn selector_objects() {
        let sel = LabelSelector::from_object(&json!({
            "matchLabels": {"job-name": "j"},
            "matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]
        }));
        assert!(sel.matches(&json!({"job-name": "j"})));
        assert!(!sel.matches(&json!({"job-name": "j", "x": "1"})));
    }
}
