//! `x-kubernetes-list-type: set|map` uniqueness, checked after schema validation as the
//! API server does, with its field paths (`spec.ports[1]`, map values as `spec.m[key]`).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::gofmt;
use super::node::Node;
use super::path;
use crate::cause::FieldCause;

pub(crate) fn validate(obj: &Value, s: Node) -> Vec<FieldCause> {
    let mut out = Vec::new();
    if let Value::Object(map) = obj {
        walk_map("", s, map, &mut out);
    }
    out
}

fn walk_map(at: &str, s: Node, map: &Map<String, Value>, out: &mut Vec<FieldCause>) {
    if let Some(a) = s.additional_schema() {
        for (k, v) in map {
            walk(&path::key(at, k), a, v, out);
        }
    }
    if let Some(props) = s.properties() {
        for (k, v) in map {
            if let Some(p) = props.get(k) {
                walk(&path::child(at, k), Node(p), v, out);
            }
        }
    }
}

fn walk(at: &str, s: Node, v: &Value, out: &mut Vec<FieldCause>) {
    match v {
        Value::Array(items) => walk_array(at, s, items, out),
        Value::Object(map) => walk_map(at, s, map, out),
        _ => {}
    }
}

fn walk_array(at: &str, s: Node, items: &[Value], out: &mut Vec<FieldCause>) {
    match s.str("x-kubernetes-list-type") {
        "set" => {
            for i in second_occurrences(items) {
                out.push(gofmt::duplicate(&path::index(at, i), &items[i]));
            }
        }
        "map" => out.extend(list_map_errors(at, s, items)),
        _ => {}
    }
    if let Some(item_schema) = s.items() {
        for (i, v) in items.iter().enumerate() {
            walk(&path::index(at, i), item_schema, v, out);
        }
    }
}

/// A key under which equal values collide, with Go's equality: integers and floats
/// differ as scalars but marshal alike inside objects and arrays.
fn identity(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => format!("c{}", crate::table::go_json(v)),
        Value::Number(n) if n.is_f64() => format!("f{n}"),
        other => format!("s{other}"),
    }
}

/// Indices where a value is seen for the second time (later repeats are not reported).
fn second_occurrences_by(keys: &[String]) -> Vec<usize> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let times = seen.entry(k).or_insert(0);
        *times += 1;
        if *times == 2 {
            out.push(i);
        }
    }
    out
}

fn second_occurrences(items: &[Value]) -> Vec<usize> {
    if items.len() <= 1 {
        return Vec::new();
    }
    second_occurrences_by(&items.iter().map(identity).collect::<Vec<_>>())
}

fn list_map_errors(at: &str, s: Node, items: &[Value]) -> Vec<FieldCause> {
    if let Some(i) = items.iter().position(|x| !x.is_null() && !x.is_object()) {
        let detail = "must be an object for an array of list-type map";
        return vec![gofmt::invalid(&path::index(at, i), &items[i], detail)];
    }
    if items.len() <= 1 {
        return Vec::new();
    }
    let key_fields: Vec<&str> = s
        .list("x-kubernetes-list-map-keys")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // The key of each item as the server reports it in the Duplicate error.
    let keys: Vec<Value> = items
        .iter()
        .map(|x| {
            let mut key = Map::new();
            for f in &key_fields {
                if let Some(v) = x.get(*f) {
                    key.insert((*f).to_string(), v.clone());
                }
            }
            Value::Object(key)
        })
        .collect();
    let identities: Vec<String> = if key_fields.len() == 1 {
        // A single key compares as a scalar; an unspecified key is its own value.
        keys.iter()
            .map(|k| {
                k.get(key_fields[0])
                    .map(identity)
                    .unwrap_or_else(|| "unspecified".to_string())
            })
            .collect()
    } else {
        keys.iter().map(identity).collect()
    };
    second_occurrences_by(&identities)
        .into_iter()
        .map(|i| gofmt::duplicate(&path::index(at, i), &keys[i]))
        .collect()
}
