//! Go's value formatting, as it shows up inside API server messages.
//!
//! The server's messages embed values through `fmt` verbs: `%v` for numbers, `%q` for
//! strings and `%#v` for decoded JSON maps and slices. Clients and users match on that
//! text, so it is reproduced here rather than printed as JSON.

use serde_json::Value;

use crate::cause::{CauseReason, FieldCause};

/// Go's `%v` for a `float64`: shortest round-trip digits, in exponent form (`1e+06`)
/// when the decimal exponent is below -4 or at least 6.
pub(crate) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".to_string()
        } else {
            "0".to_string()
        };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("exponent form has an e");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if (-4..6).contains(&exp) {
        return format!("{f}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// Go's `strconv.Quote` for the characters API objects actually contain.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number as the server holds it after decoding: integers that fit `int64`
/// stay integers, everything else is a `float64`.
pub(crate) enum GoNumber {
    Int(i64),
    Float(f64),
}

pub(crate) fn go_number(v: &Value) -> Option<GoNumber> {
    let n = v.as_number()?;
    match n.as_i64() {
        Some(i) => Some(GoNumber::Int(i)),
        None => n.as_f64().map(GoNumber::Float),
    }
}

/// How `field.Error` prints a bad value: simple types with `%v`, strings with `%q`,
/// everything else with `%#v`.
pub(crate) fn go_render(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => go_quote(s),
        _ => go_sharp_v(v),
    }
}

/// Go's `%#v` of a decoded JSON value held in an `interface{}`.
fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => go_quote(s),
        Value::Number(_) => match go_number(v) {
            Some(GoNumber::Int(i)) => i.to_string(),
            Some(GoNumber::Float(f)) => go_float(f),
            None => v.to_string(),
        },
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_sharp_v).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        Value::Object(map) => {
            // fmt prints map entries sorted by key.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", go_quote(k), go_sharp_v(&map[*k])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
    }
}

/// A cause whose value is already rendered the Go way.
pub(crate) fn cause(reason: CauseReason, field: &str, rendered: &str, detail: &str) -> FieldCause {
    let mut message = format!("{}: {rendered}", reason.text());
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(detail);
    }
    FieldCause {
        reason,
        message,
        field: field.to_string(),
    }
}

pub(crate) fn invalid(field: &str, value: &Value, detail: &str) -> FieldCause {
    cause(
        CauseReason::FieldValueInvalid,
        field,
        &go_render(value),
        detail,
    )
}

pub(crate) fn type_invalid(field: &str, value: &Value, detail: &str) -> FieldCause {
    cause(
        CauseReason::FieldValueTypeInvalid,
        field,
        &go_render(value),
        detail,
    )
}

pub(crate) fn duplicate(field: &str, value: &Value) -> FieldCause {
    cause(
        CauseReason::FieldValueDuplicate,
        field,
        &go_render(value),
        "",
    )
}

/// `field.NotSupported`: every supported value is quoted, whatever its JSON type.
pub(crate) fn not_supported(field: &str, value: &Value, supported: &[String]) -> FieldCause {
    let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
    let detail = if quoted.is_empty() {
        String::new()
    } else {
        format!("supported values: {}", quoted.join(", "))
    };
    cause(
        CauseReason::FieldValueNotSupported,
        field,
        &go_render(value),
        &detail,
    )
}

/// `field.TooLong`; the server says "byte" for a limit of one.
pub(crate) fn too_long(field: &str, max: usize) -> FieldCause {
    let mut c = FieldCause::too_long(field, max);
    if max == 1 {
        c.message = "Too long: may not be more than 1 byte".to_string();
    }
    c
}

/// `field.TooMany`; the server says "item" for a limit of one.
pub(crate) fn too_many(field: &str, actual: usize, max: usize) -> FieldCause {
    let mut c = FieldCause::too_many(field, actual, max);
    if max == 1 {
        c.message = format!("Too many: {actual}: must have at most 1 item");
    }
    c
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn floats_print_like_go_percent_v() {
        let cases = [
            (5.0, "5"),
            (3.5, "3.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e21, "1e+21"),
            (-2.25, "-2.25"),
        ];
        for (f, want) in cases {
            assert_eq!(go_float(f), want, "{f}");
        }
    }

    #[test]
    fn values_render_like_field_error() {
        assert_eq!(go_render(&json!("a\"b\n")), r#""a\"b\n""#);
        assert_eq!(go_render(&json!(3)), "3");
        assert_eq!(go_render(&json!(2.5)), "2.5");
        assert_eq!(go_render(&json!(null)), "null");
        assert_eq!(
            go_render(&json!({"b": 1, "a": "x"})),
            r#"map[string]interface {}{"a":"x", "b":1}"#
        );
        assert_eq!(go_render(&json!(["x", 1])), r#"[]interface {}{"x", 1}"#);
    }

    #[test]
    fn singular_limits_use_singular_nouns() {
        assert_eq!(
            too_long("a", 1).message,
            "Too long: may not be more than 1 byte"
        );
        assert_eq!(
            too_long("a", 2).message,
            "Too long: may not be more than 2 bytes"
        );
        assert_eq!(
            too_many("a", 3, 1).message,
            "Too many: 3: must have at most 1 item"
        );
        assert_eq!(
            too_many("a", 3, 2).message,
            "Too many: 3: must have at most 2 items"
        );
    }
}
