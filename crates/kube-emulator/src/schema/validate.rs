//! Validation of a custom resource against its structural schema, following the
//! kube-openapi schema validator the API server runs and the way the server turns its
//! errors into field causes.
//!
//! Quirks kept on purpose, because clients see them: a type error carries the *type
//! name* of the bad value (`Invalid value: "string": spec.x in body must be of type
//! integer: "string"`); `allOf`/`anyOf`/`oneOf`/`not` failures have the field `<nil>`;
//! bounds on an integer value are truncated to integers; `null` never matches an
//! `enum`; `maxLength` counts characters although the message says bytes.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;
use serde_json::Value;

use super::gofmt::{self, GoNumber, go_float, go_quote};
use super::node::{Additional, Node};
use super::{embedded, formats, listtype, path};
use crate::cause::FieldCause;

/// Validates `obj` against `schema` the way the server validates a custom resource:
/// schema errors, then `x-kubernetes-list-type` uniqueness, then the `apiVersion`,
/// `kind` and `metadata` of nested embedded resources. The root `metadata` is the
/// caller's job ([`super::meta::validate_object_meta`]).
pub(crate) fn validate(obj: &Value, schema: &Value) -> Vec<FieldCause> {
    let mut causes = validate_at(obj, schema, "");
    causes.extend(listtype::validate(obj, Node(schema)));
    causes.extend(embedded::validate(obj, Node(schema)));
    causes
}

/// Schema validation only, with field paths under `base`, as the server validates a
/// schema's `default` values (`base` = `...properties[spec].default`).
pub(crate) fn validate_at(value: &Value, schema: &Value, base: &str) -> Vec<FieldCause> {
    node_errors(value, Node(schema), "")
        .into_iter()
        .map(|e| e.into_cause(base))
        .collect()
}

/// One kube-openapi error, before it becomes a field cause.
#[derive(Debug)]
struct OErr {
    /// The validator's path: `spec.x`, `spec.items[0].y`, `.spec` for required fields.
    name: String,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Required,
    Enum {
        value: Value,
        values: Vec<String>,
    },
    TooLong {
        max: usize,
    },
    TooMany {
        actual: usize,
        max: usize,
    },
    TypeInvalid {
        value: Value,
        message: String,
    },
    Invalid {
        value: Value,
        message: String,
    },
    /// `allOf`/`anyOf`/`oneOf`/`not`: not a field error on the server's side.
    Composite {
        message: String,
    },
}

impl OErr {
    fn new(name: &str, body: Body) -> Self {
        OErr {
            name: name.to_string(),
            body,
        }
    }

    fn into_cause(self, base: &str) -> FieldCause {
        let root = if base.is_empty() { "<nil>" } else { base };
        let field = match self.name.as_str() {
            "" | "." => root.to_string(),
            name => path::child(base, name.strip_prefix('.').unwrap_or(name)),
        };
        match self.body {
            Body::Required => FieldCause::required(&field, ""),
            Body::Enum { value, values } => gofmt::not_supported(&field, &value, &values),
            Body::TooLong { max } => gofmt::too_long(&field, max),
            Body::TooMany { actual, max } => gofmt::too_many(&field, actual, max),
            Body::TypeInvalid { value, message } => gofmt::type_invalid(&field, &value, &message),
            Body::Invalid { value, message } => gofmt::invalid(&field, &value, &message),
            Body::Composite { message } => gofmt::invalid(root, &Value::from(""), &message),
        }
    }
}

fn in_body(name: &str, rest: &str) -> String {
    format!("{name} in body {rest}")
}

fn invalid_type(name: &str, type_name: &str, value: &str) -> OErr {
    OErr::new(
        name,
        Body::TypeInvalid {
            value: Value::from(value),
            message: in_body(
                name,
                &format!("must be of type {type_name}: {}", go_quote(value)),
            ),
        },
    )
}

fn invalid(name: &str, value: Value, rest: &str) -> OErr {
    OErr::new(
        name,
        Body::Invalid {
            value,
            message: in_body(name, rest),
        },
    )
}

/// The JSON type of a decoded value and the format the validator infers for it.
fn type_info(data: &Value) -> (&'static str, &'static str) {
    match data {
        Value::Null => ("null", ""),
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Number(_) => match gofmt::go_number(data) {
            Some(GoNumber::Int(_)) => ("integer", "int64"),
            _ => ("number", "float64"),
        },
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
    }
}

/// Integral and exactly representable, as go-openapi's `IsFloat64AJSONInteger`.
fn is_json_integer(f: f64) -> bool {
    f.is_finite() && f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0
}

fn schema_types(s: Node<'_>) -> Vec<&str> {
    if s.int_or_string() {
        vec!["integer", "string"]
    } else if s.ty().is_empty() {
        Vec::new()
    } else {
        vec![s.ty()]
    }
}

fn type_error(data: &Value, s: Node, name: &str) -> Option<OErr> {
    let types = schema_types(s);
    let format = formats::effective(s.str("format")).unwrap_or("");
    if types.is_empty() && format.is_empty() {
        return None;
    }
    if data.is_null() {
        let rejects_null = !types.is_empty() && !types.contains(&"null") && !s.nullable();
        return rejects_null.then(|| invalid_type(name, &types.join(","), "null"));
    }
    let (sch_type, data_format) = type_info(data);
    let is_float_int = types.contains(&"integer")
        && matches!(gofmt::go_number(data), Some(GoNumber::Float(f)) if is_json_integer(f));
    let is_int_float = sch_type == "integer" && types.contains(&"number");
    let textual = data.is_string() || data.is_array();
    let type_ok = types.contains(&sch_type) || is_float_int || is_int_float;
    if !(textual || format.is_empty() || type_ok || data_format == format) {
        return Some(invalid_type(name, format, data_format));
    }
    let numeric = types.contains(&"number") || types.contains(&"integer");
    if !numeric && !format.is_empty() && textual {
        return None;
    }
    (!type_ok).then(|| invalid_type(name, &types.join(","), sch_type))
}

thread_local! {
    static PATTERNS: RefCell<HashMap<String, Result<Regex, String>>> = RefCell::new(HashMap::new());
}

/// `Ok(matches)`, or the compile error: patterns are compiled once per thread.
fn pattern_matches(pattern: &str, s: &str) -> Result<bool, String> {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let compiled = cache
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(pattern).map_err(|e| e.to_string()));
        compiled
            .as_ref()
            .map(|re| re.is_match(s))
            .map_err(Clone::clone)
    })
}

fn string_error(s: &str, schema: Node, name: &str) -> Option<OErr> {
    let chars = s.chars().count() as u64;
    if let Some(max) = schema.u64("maxLength")
        && chars > max
    {
        return Some(OErr::new(name, Body::TooLong { max: max as usize }));
    }
    if let Some(min) = schema.u64("minLength")
        && chars < min
    {
        return Some(invalid(
            name,
            Value::from(s),
            &format!("should be at least {min} chars long"),
        ));
    }
    let pattern = schema.str("pattern");
    if pattern.is_empty() {
        return None;
    }
    match pattern_matches(pattern, s) {
        Ok(true) => None,
        Ok(false) => Some(invalid(
            name,
            Value::from(s),
            &format!("should match '{pattern}'"),
        )),
        Err(e) => Some(invalid(
            name,
            Value::from(s),
            &format!("should match '{pattern}, but pattern is invalid: {e}'"),
        )),
    }
}

fn bound_error(data: &Value, s: Node, name: &str, key: &str, out: &mut Vec<OErr>) {
    let Some(limit) = s.f64(key) else { return };
    let minimum = key == "minimum";
    let exclusive = s.flag(if minimum {
        "exclusiveMinimum"
    } else {
        "exclusiveMaximum"
    });
    let (failed, shown) = match gofmt::go_number(data) {
        Some(GoNumber::Int(i)) => {
            // kube-openapi compares integers against the bound truncated to int64.
            let b = limit as i64;
            let failed = match (minimum, exclusive) {
                (true, false) => i < b,
                (true, true) => i <= b,
                (false, false) => i > b,
                (false, true) => i >= b,
            };
            (failed, b.to_string())
        }
        Some(GoNumber::Float(f)) => {
            let failed = match (minimum, exclusive) {
                (true, false) => f < limit,
                (true, true) => f <= limit,
                (false, false) => f > limit,
                (false, true) => f >= limit,
            };
            (failed, go_float(limit))
        }
        None => return,
    };
    if failed {
        let relation = match (minimum, exclusive) {
            (true, false) => "greater than or equal to",
            (true, true) => "greater than",
            (false, false) => "less than or equal to",
            (false, true) => "less than",
        };
        out.push(invalid(
            name,
            data.clone(),
            &format!("should be {relation} {shown}"),
        ));
    }
}

fn multiple_of_error(data: &Value, s: Node, name: &str) -> Option<OErr> {
    let factor = s.f64("multipleOf")?;
    let (failed, shown) = match gofmt::go_number(data)? {
        GoNumber::Int(i) => {
            if factor < 0.0 {
                return Some(invalid_positive(name, factor));
            }
            let f = factor as i64;
            (f != 0 && i % f != 0, f.to_string())
        }
        GoNumber::Float(v) => {
            if factor < 0.0 {
                return Some(invalid_positive(name, factor));
            }
            let mult = if factor < 1.0 {
                1.0 / factor * v
            } else {
                v / factor
            };
            (!is_json_integer(mult), go_float(factor))
        }
    };
    failed.then(|| {
        invalid(
            name,
            data.clone(),
            &format!("should be a multiple of {shown}"),
        )
    })
}

fn invalid_positive(name: &str, factor: f64) -> OErr {
    OErr::new(
        name,
        Body::Invalid {
            value: Value::from(factor),
            message: format!(
                "factor MultipleOf declared for {name} must be positive: {}",
                go_float(factor)
            ),
        },
    )
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (gofmt::go_number(a), gofmt::go_number(b)) {
        (Some(GoNumber::Int(x)), Some(GoNumber::Int(y))) => x == y,
        (Some(x), Some(y)) => {
            let f = |n: GoNumber| match n {
                GoNumber::Int(i) => i as f64,
                GoNumber::Float(f) => f,
            };
            f(x) == f(y)
        }
        _ => a == b,
    }
}

fn enum_error(data: &Value, s: Node, name: &str) -> Option<OErr> {
    let allowed = s.list("enum");
    if allowed.is_empty() {
        return None;
    }
    let matched = !data.is_null()
        && allowed
            .iter()
            .any(|e| !e.is_null() && numbers_equal(data, e));
    if matched {
        return None;
    }
    let values = allowed
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    Some(OErr::new(
        name,
        Body::Enum {
            value: data.clone(),
            values,
        },
    ))
}

fn array_errors(items: &[Value], s: Node, name: &str, out: &mut Vec<OErr>) {
    if let Some(item_schema) = s.items() {
        for (i, v) in items.iter().enumerate() {
            out.extend(node_errors(v, item_schema, &path::index(name, i)));
        }
    }
    let size = items.len();
    if let Some(min) = s.u64("minItems")
        && (size as u64) < min
    {
        out.push(invalid(
            name,
            Value::from(size),
            &format!("should have at least {min} items"),
        ));
    }
    if let Some(max) = s.u64("maxItems")
        && (size as u64) > max
    {
        out.push(OErr::new(
            name,
            Body::TooMany {
                actual: size,
                max: max as usize,
            },
        ));
    }
    if s.flag("uniqueItems") {
        let duplicated = items
            .iter()
            .enumerate()
            .any(|(i, a)| items[..i].iter().any(|b| b == a));
        if duplicated {
            out.push(invalid(
                name,
                Value::from(""),
                "shouldn't contain duplicates",
            ));
        }
    }
}

fn object_errors(map: &serde_json::Map<String, Value>, s: Node, name: &str, out: &mut Vec<OErr>) {
    let count = map.len();
    if let Some(min) = s.u64("minProperties")
        && (count as u64) < min
    {
        out.push(invalid(
            name,
            Value::from(count),
            &format!("should have at least {min} properties"),
        ));
        return;
    }
    if let Some(max) = s.u64("maxProperties")
        && (count as u64) > max
    {
        out.push(OErr::new(
            name,
            Body::TooMany {
                actual: count,
                max: max as usize,
            },
        ));
        return;
    }
    let is_property = |k: &str| s.prop(k).is_some();
    match s.additional() {
        Additional::Bool(false) => {
            for k in map.keys().filter(|k| !is_property(k)) {
                let message = format!("{name}.{k} in body is a forbidden property");
                out.push(OErr::new(
                    name,
                    Body::Invalid {
                        value: Value::from(k.as_str()),
                        message,
                    },
                ));
            }
        }
        Additional::Schema(a) => {
            for (k, v) in map.iter().filter(|(k, _)| !is_property(k)) {
                out.extend(node_errors(v, a, &format!("{name}.{k}")));
            }
        }
        _ => {}
    }
    if let Some(props) = s.properties() {
        for (k, p) in props {
            if let Some(v) = map.get(k) {
                out.extend(node_errors(v, Node(p), &path::child(name, k)));
            }
        }
    }
    for k in s.list("required").iter().filter_map(Value::as_str) {
        if !map.contains_key(k) {
            out.push(OErr::new(&format!("{name}.{k}"), Body::Required));
        }
    }
}

fn composite(message: String) -> OErr {
    OErr::new("", Body::Composite { message })
}

fn junctor_errors(data: &Value, s: Node, name: &str, out: &mut Vec<OErr>) {
    let quoted = go_quote(name);
    let alternatives = |key: &str| -> Vec<Vec<OErr>> {
        s.list(key)
            .iter()
            .map(|alt| node_errors(data, Node(alt), name))
            .collect()
    };
    let fewest =
        |results: Vec<Vec<OErr>>| results.into_iter().min_by_key(Vec::len).unwrap_or_default();

    let any_of = alternatives("anyOf");
    if !any_of.is_empty() && !any_of.iter().any(Vec::is_empty) {
        out.push(composite(format!(
            "{quoted} must validate at least one schema (anyOf)"
        )));
        out.extend(fewest(any_of));
    }
    let one_of = alternatives("oneOf");
    if !one_of.is_empty() {
        let valid = one_of.iter().filter(|r| r.is_empty()).count();
        if valid != 1 {
            let detail = if valid == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {valid} valid alternatives")
            };
            out.push(composite(format!(
                "{quoted} must validate one and only one schema (oneOf). {detail}"
            )));
            if valid == 0 {
                out.extend(fewest(one_of));
            }
        }
    }
    let all_of = alternatives("allOf");
    if !all_of.is_empty() {
        let total = all_of.len();
        let valid = all_of.iter().filter(|r| r.is_empty()).count();
        for r in all_of {
            out.extend(r);
        }
        if valid != total {
            let detail = if valid == 0 { ". None validated" } else { "" };
            out.push(composite(format!(
                "{quoted} must validate all the schemas (allOf){detail}"
            )));
        }
    }
    if let Some(not) = s.get("not").filter(|v| v.is_object())
        && node_errors(data, Node(not), name).is_empty()
    {
        out.push(composite(format!(
            "{quoted} must not validate the schema (not)"
        )));
    }
}

/// All errors for `data` at validator path `name`, in the validator's order: type,
/// junctors, string, format, number, array, enum, object.
fn node_errors(data: &Value, s: Node, name: &str) -> Vec<OErr> {
    let mut out = Vec::new();
    out.extend(type_error(data, s, name));
    if data.is_null() {
        out.extend(enum_error(data, s, name));
        return out;
    }
    junctor_errors(data, s, name, &mut out);
    if let Value::String(text) = data {
        out.extend(string_error(text, s, name));
        if let Some(format) = formats::effective(s.str("format"))
            && !formats::is_valid(format, text)
        {
            out.push(invalid_type(name, format, text));
        }
    }
    if data.is_number() {
        out.extend(multiple_of_error(data, s, name));
        bound_error(data, s, name, "minimum", &mut out);
        bound_error(data, s, name, "maximum", &mut out);
    }
    if let Value::Array(items) = data {
        array_errors(items, s, name, &mut out);
    }
    out.extend(enum_error(data, s, name));
    if let Value::Object(map) = data {
        object_errors(map, s, name, &mut out);
    }
    out
}
