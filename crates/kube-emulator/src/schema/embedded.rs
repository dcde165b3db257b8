//! Checks on nested `x-kubernetes-embedded-resource` objects: they need a valid
//! `apiVersion` and `kind`, and their `metadata` must be valid object metadata
//! (names checked as path segments, as the server does for embedded objects).

use serde_json::{Map, Value};

use super::gofmt;
use super::meta::{NameRule, is_dns1035_label, validate_object_meta_at};
use super::node::{Additional, Node};
use super::path;
use crate::cause::FieldCause;

pub(crate) fn validate(obj: &Value, s: Node) -> Vec<FieldCause> {
    let mut out = Vec::new();
    walk("", obj, s, &mut out);
    out
}

fn walk(at: &str, x: &Value, s: Node, out: &mut Vec<FieldCause>) {
    match x {
        Value::Object(map) => {
            if s.embedded() {
                out.extend(validate_resource(at, map));
            }
            for (k, v) in map {
                if let Some(p) = s.prop(k) {
                    walk(&path::child(at, k), v, p, out);
                } else if let Additional::Schema(a) = s.additional() {
                    walk(&path::key(at, k), v, a, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = s.items() {
                for (i, v) in items.iter().enumerate() {
                    walk(&path::index(at, i), v, item_schema, out);
                }
            }
        }
        _ => {}
    }
}

fn validate_resource(at: &str, x: &Map<String, Value>) -> Vec<FieldCause> {
    let mut out = Vec::new();
    for required in ["apiVersion", "kind"] {
        if !x.contains_key(required) {
            out.push(FieldCause::required(&path::child(at, required), ""));
        }
    }
    for (k, v) in x {
        let here = path::child(at, k);
        match k.as_str() {
            "apiVersion" => match v.as_str() {
                None => out.push(gofmt::invalid(&here, v, "must be a string")),
                Some("") => out.push(gofmt::invalid(&here, v, "must not be empty")),
                Some(gv) if gv.matches('/').count() > 1 => {
                    let detail = format!("unexpected GroupVersion string: {gv}");
                    out.push(gofmt::invalid(&here, v, &detail));
                }
                Some(_) => {}
            },
            "kind" => match v.as_str() {
                None => out.push(gofmt::invalid(&here, v, "must be a string")),
                Some("") => out.push(gofmt::invalid(&here, v, "must not be empty")),
                Some(kind) => {
                    let errs = is_dns1035_label(&kind.to_lowercase());
                    if !errs.is_empty() {
                        let detail = format!(
                            "may have mixed case, but should otherwise match: {}",
                            errs.join(",")
                        );
                        out.push(gofmt::invalid(&here, v, &detail));
                    }
                }
            },
            "metadata" => {
                if !v.is_object() {
                    let detail = format!(
                        "json: cannot unmarshal {} into Go value of type v1.ObjectMeta",
                        json_kind(v)
                    );
                    out.push(gofmt::invalid(&here, v, &detail));
                    continue;
                }
                let mut meta = v.clone();
                if meta
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    // The server fills a placeholder: embedded objects need no name.
                    meta["name"] = Value::from("fakename");
                }
                let namespaced = meta
                    .get("namespace")
                    .and_then(Value::as_str)
                    .is_some_and(|n| !n.is_empty());
                out.extend(validate_object_meta_at(
                    &meta,
                    namespaced,
                    NameRule::PathSegment,
                    &here,
                ));
            }
            _ => {}
        }
    }
    out
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Array(_) => "array",
        _ => "null",
    }
}
