//! Tables for custom resources, following apiextensions' table convertor.
//!
//! A column's cell is the *first* value its JSONPath selects (`.items[*].name` shows
//! one name), `null` when it selects nothing. `string` columns print that value as
//! kubectl's JSONPath printer does (objects and arrays as JSON, a JSON `null` as
//! `<no value>`); the other types keep JSON values of their own type and anything
//! else becomes `null`; `date` columns become ages.

use serde_json::Value;

use super::jsonpath::JsonPath;
use super::{
    CREATION_TIMESTAMP_DESCRIPTION, Column, IncludeObject, PrinterColumn, Row, Table, build_table,
    human_duration, str_at,
};
use crate::schema::gofmt::go_float;

/// The Table for custom resources of a CRD version with these printer columns.
pub(crate) fn crd_table<'a>(
    columns: &[PrinterColumn],
    objects: &[&'a Value],
    include: IncludeObject,
    now: jiff::Timestamp,
    list_metadata: Value,
) -> Table<'a> {
    let default_columns;
    let columns = if columns.is_empty() {
        // The server's stand-in when a CRD declares no columns.
        default_columns = [PrinterColumn {
            name: "Age".to_string(),
            type_: "date".to_string(),
            format: String::new(),
            description: CREATION_TIMESTAMP_DESCRIPTION.to_string(),
            priority: 0,
            json_path: ".metadata.creationTimestamp".to_string(),
        }];
        &default_columns[..]
    } else {
        columns
    };
    let mut headers = vec![Column::name_column()];
    headers.extend(columns.iter().map(|c| Column {
        name: c.name.clone(),
        type_: c.type_.clone(),
        format: c.format.clone(),
        description: if c.description.is_empty() {
            format!(
                "Custom resource definition column (in JSONPath format): {}",
                c.json_path
            )
        } else {
            c.description.clone()
        },
        priority: c.priority,
    }));
    let paths: Vec<Option<JsonPath>> = columns
        .iter()
        .map(|c| JsonPath::parse(&c.json_path).ok())
        .collect();
    let rows = objects
        .iter()
        .map(|&obj| {
            let mut cells = vec![Value::from(str_at(obj, &["metadata", "name"]))];
            for (column, path) in columns.iter().zip(&paths) {
                let first = path.as_ref().and_then(|p| p.find(obj).into_iter().next());
                cells.push(match first {
                    None => Value::Null,
                    Some(v) => cell(&column.type_, v, now),
                });
            }
            Row {
                cells,
                conditions: None,
                object: obj,
            }
        })
        .collect();
    build_table(&headers, rows, include, list_metadata)
}

/// JSON as Go's `encoding/json` writes a decoded value: map keys sorted.
pub(crate) fn go_json(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), go_json(&map[*k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_json).collect::<Vec<_>>().join(",")
        ),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.fract() == 0.0 && f.abs() < 1e21 {
                format!("{f:.0}")
            } else {
                n.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// A float as Go marshals it: integral values without a fraction.
fn json_number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        Value::from(f as i64)
    } else {
        Value::from(f)
    }
}

fn cell(type_: &str, v: &Value, now: jiff::Timestamp) -> Value {
    if type_ == "string" {
        return Value::from(match v {
            Value::String(s) => s.clone(),
            Value::Null => "<no value>".to_string(),
            Value::Object(_) | Value::Array(_) => go_json(v),
            Value::Number(n) if n.is_f64() => go_float(n.as_f64().unwrap_or(0.0)),
            other => other.to_string(),
        });
    }
    match (type_, v) {
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => n
                .as_f64()
                .map(|f| Value::from(f as i64))
                .unwrap_or(Value::Null),
        },
        ("number", Value::Number(n)) => n.as_f64().map(json_number).unwrap_or(Value::Null),
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(s)) => Value::from(date_cell(s, now)),
        _ => Value::Null,
    }
}

/// `metav1.Time` from a query parameter, then its age.
fn date_cell(s: &str, now: jiff::Timestamp) -> String {
    if s.is_empty() || s == "null" {
        return "<unknown>".to_string();
    }
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => human_duration(now.duration_since(t)),
        Err(_) => "<invalid>".to_string(),
    }
}
