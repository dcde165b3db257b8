//! The JSONPath dialect of kubectl and CRD printer columns (client-go `jsonpath`), for
//! single expressions: `.a.b`, `.a[0].b`, `.a[-1]`, `.a[1:3]`, `.a[*].b`, `.*`,
//! `..name`, `.a['x.y']`, `.a\.b`, and filters `[?(@.type=="Ready")]`, `[?(@.x)]`.
//!
//! Evaluation allows missing keys (printer columns do): a missing key, an index out of
//! range or a step applied to the wrong kind of value yields no result. Deviation:
//! client-go's `{range}`/`{end}` templates and literal text are not supported.

use std::cmp::Ordering;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unrecognized JSONPath {path:?}: {reason}")]
pub(crate) struct JsonPathError {
    pub(crate) path: String,
    pub(crate) reason: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Fields(Vec<String>),
    Wildcard,
    Recursive(String),
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    AllItems,
    Filter(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Path(Vec<Step>),
    Literal(Value),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Operand,
    /// `None` for an existence test.
    op: Option<(String, Operand)>,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath {
    steps: Vec<Step>,
}

struct Parser<'a> {
    src: &'a str,
    chars: Vec<char>,
    pos: usize,
}

const TERMINATORS: &[char] = &[
    '.', '[', ']', ',', '{', '}', '$', '@', ')', '=', '!', '<', '>', ' ', '\t', '\n',
];

impl Parser<'_> {
    fn error(&self, reason: &str) -> JsonPathError {
        JsonPathError {
            path: self.src.to_string(),
            reason: reason.to_string(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn name(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' && self.chars.get(self.pos + 1).is_some() {
                out.push(self.chars[self.pos + 1]);
                self.pos += 2;
                continue;
            }
            if TERMINATORS.contains(&c) {
                break;
            }
            out.push(c);
            self.pos += 1;
        }
        out
    }

    fn steps(&mut self, stop_at_operator: bool) -> Result<Vec<Step>, JsonPathError> {
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    self.pos += 1;
                    if self.eat('.') {
                        let name = self.name();
                        if name.is_empty() {
                            return Err(self.error("missing field name after '..'"));
                        }
                        steps.push(Step::Recursive(name));
                    } else if self.eat('*') {
                        steps.push(Step::Wildcard);
                    } else {
                        let name = self.name();
                        if !name.is_empty() {
                            steps.push(Step::Field(name));
                        }
                    }
                }
                Some('[') => {
                    self.pos += 1;
                    steps.push(self.bracket()?);
                }
                None => return Ok(steps),
                Some(_) if stop_at_operator => return Ok(steps),
                Some(c) => return Err(self.error(&format!("unexpected {c:?}"))),
            }
        }
    }

    fn quoted(&mut self) -> Result<String, JsonPathError> {
        let quote = self
            .peek()
            .ok_or_else(|| self.error("unterminated string"))?;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some('\\') => {
                    out.extend(self.chars.get(self.pos + 1));
                    self.pos += 2;
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn integer(&mut self) -> Option<i64> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.parse().ok()
    }

    fn bracket(&mut self) -> Result<Step, JsonPathError> {
        self.skip_spaces();
        let step = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Step::AllItems
            }
            Some('\'' | '"') => {
                let mut names = vec![self.quoted()?];
                self.skip_spaces();
                while self.eat(',') {
                    self.skip_spaces();
                    names.push(self.quoted()?);
                    self.skip_spaces();
                }
                if names.len() == 1 {
                    Step::Field(names.remove(0))
                } else {
                    Step::Fields(names)
                }
            }
            Some('?') => {
                self.pos += 1;
                if !self.eat('(') {
                    return Err(self.error("expected '(' after '?'"));
                }
                let filter = self.filter()?;
                if !self.eat(')') {
                    return Err(self.error("unterminated filter"));
                }
                Step::Filter(Box::new(filter))
            }
            _ => {
                let start = self.integer();
                if self.eat(':') {
                    Step::Slice(start, self.integer())
                } else {
                    Step::Index(start.ok_or_else(|| self.error("invalid array index"))?)
                }
            }
        };
        self.skip_spaces();
        if !self.eat(']') {
            return Err(self.error("unterminated '['"));
        }
        Ok(step)
    }

    fn operand(&mut self) -> Result<Operand, JsonPathError> {
        self.skip_spaces();
        match self.peek() {
            Some('@') => {
                self.pos += 1;
                Ok(Operand::Path(self.steps(true)?))
            }
            Some('\'' | '"') => Ok(Operand::Literal(Value::from(self.quoted()?))),
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| !c.is_whitespace() && !TERMINATORS.contains(&c) || c == '.')
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<Value>(&text)
                    .ok()
                    .filter(|v| v.is_number() || v.is_boolean())
                    .map(Operand::Literal)
                    .ok_or_else(|| self.error(&format!("unrecognized filter operand {text:?}")))
            }
        }
    }

    fn filter(&mut self) -> Result<Filter, JsonPathError> {
        let left = self.operand()?;
        self.skip_spaces();
        let op: String = ["==", "!=", "<=", ">=", "<", ">"]
            .iter()
            .find(|op| self.chars[self.pos..].starts_with(&op.chars().collect::<Vec<_>>()))
            .map(|s| s.to_string())
            .unwrap_or_default();
        if op.is_empty() {
            self.skip_spaces();
            return Ok(Filter { left, op: None });
        }
        self.pos += op.len();
        let right = self.operand()?;
        self.skip_spaces();
        Ok(Filter {
            left,
            op: Some((op, right)),
        })
    }
}

impl JsonPath {
    /// Parses an expression as written in `jsonPath:` (with or without `{}`).
    pub(crate) fn parse(src: &str) -> Result<JsonPath, JsonPathError> {
        let trimmed = src.trim();
        let inner = trimmed
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(trimmed)
            .trim();
        let inner = inner.strip_prefix('$').unwrap_or(inner);
        let mut parser = Parser {
            src,
            chars: inner.chars().collect(),
            pos: 0,
        };
        Ok(JsonPath {
            steps: parser.steps(false)?,
        })
    }

    /// Every value the expression selects, in document order.
    pub(crate) fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        eval(&self.steps, vec![root])
    }
}

fn eval<'a>(steps: &[Step], mut current: Vec<&'a Value>) -> Vec<&'a Value> {
    for step in steps {
        current = current.into_iter().flat_map(|v| apply(step, v)).collect();
    }
    current
}

fn recursive<'a>(v: &'a Value, name: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(map) => {
            if let Some(found) = map.get(name) {
                out.push(found);
            }
            for child in map.values() {
                recursive(child, name, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| recursive(i, name, out)),
        _ => {}
    }
}

fn apply<'a>(step: &Step, v: &'a Value) -> Vec<&'a Value> {
    match step {
        Step::Field(name) => v.get(name.as_str()).into_iter().collect(),
        Step::Fields(names) => names.iter().filter_map(|n| v.get(n.as_str())).collect(),
        Step::Wildcard => match v {
            Value::Object(map) => map.values().collect(),
            Value::Array(items) => items.iter().collect(),
            _ => Vec::new(),
        },
        Step::Recursive(name) => {
            let mut out = Vec::new();
            recursive(v, name, &mut out);
            out
        }
        Step::AllItems => v.as_array().map(|a| a.iter().collect()).unwrap_or_default(),
        Step::Index(i) => {
            let Some(items) = v.as_array() else {
                return Vec::new();
            };
            let i = if *i < 0 { *i + items.len() as i64 } else { *i };
            usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i))
                .into_iter()
                .collect()
        }
        Step::Slice(start, end) => {
            let Some(items) = v.as_array() else {
                return Vec::new();
            };
            let len = items.len() as i64;
            let clamp = |x: i64| (if x < 0 { x + len } else { x }).clamp(0, len) as usize;
            let (s, e) = (clamp(start.unwrap_or(0)), clamp(end.unwrap_or(len)));
            if s < e {
                items[s..e].iter().collect()
            } else {
                Vec::new()
            }
        }
        Step::Filter(filter) => {
            let Some(items) = v.as_array() else {
                return Vec::new();
            };
            items
                .iter()
                .filter(|item| filter_matches(filter, item))
                .collect()
        }
    }
}

fn operand_values<'a>(op: &'a Operand, item: &'a Value) -> Vec<&'a Value> {
    match op {
        Operand::Path(steps) => eval(steps, vec![item]),
        Operand::Literal(v) => vec![v],
    }
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn filter_matches(filter: &Filter, item: &Value) -> bool {
    let lefts = operand_values(&filter.left, item);
    let Some((op, right)) = &filter.op else {
        return !lefts.is_empty();
    };
    let rights = operand_values(right, item);
    let (Some(l), Some(r)) = (lefts.first(), rights.first()) else {
        return false;
    };
    let ord = compare(l, r);
    match op.as_str() {
        "==" => ord == Some(Ordering::Equal),
        "!=" => ord.is_some_and(|o| o != Ordering::Equal),
        "<" => ord == Some(Ordering::Less),
        ">" => ord == Some(Ordering::Greater),
        "<=" => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        ">=" => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        _ => false,
    }
}
