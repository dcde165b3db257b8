//! CRD-creation checks beyond structurality: `default` values must be pruned and
//! valid, and the generic rules on schema keywords (no `$ref`, no `uniqueItems`,
//! `additionalProperties` exclusive with `properties`, list/map type consistency...).
//!
//! Deviation: defaults inside embedded resources' `metadata` are checked against the
//! schema only, not coerced into object metadata first.

use serde_json::Value;

use super::gofmt;
use super::node::{Additional, Node};
use super::path;
use super::prune::prune_schema;
use super::validate::validate_at;
use crate::cause::FieldCause;

const META_FIELDS: [&str; 3] = ["metadata", "kind", "apiVersion"];
const OPENAPI_V3_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];

/// Every `default` must survive pruning unchanged and validate against its schema.
pub(crate) fn default_errors(root: Node, base: &str) -> Vec<FieldCause> {
    let mut out = Vec::new();
    defaults_at(root, true, false, base, &mut out);
    out
}

fn defaults_at(
    s: Node,
    resource_root: bool,
    inside_meta: bool,
    at: &str,
    out: &mut Vec<FieldCause>,
) {
    let embedded = resource_root || s.embedded();
    let inside_meta = inside_meta && !embedded;
    if let Some(default) = s.default() {
        let default_path = path::child(at, "default");
        if !inside_meta {
            let mut pruned = default.clone();
            prune_schema(&mut pruned, s, s.embedded());
            if &pruned != default {
                out.push(gofmt::invalid(
                    &default_path,
                    default,
                    "must not have unknown fields",
                ));
            }
        }
        out.extend(validate_at(default, s.0, &default_path));
    }
    // Defaults under additionalProperties are rejected elsewhere, so not followed here.
    if let Some(items) = s.items() {
        defaults_at(items, false, inside_meta, &path::child(at, "items"), out);
    }
    if let Some(props) = s.properties() {
        for (k, p) in props {
            let sub_inside_meta = inside_meta || (embedded && META_FIELDS.contains(&k.as_str()));
            defaults_at(
                Node(p),
                false,
                sub_inside_meta,
                &path::key(&path::child(at, "properties"), k),
                out,
            );
        }
    }
}

/// The state the server threads through its schema walk.
#[derive(Clone)]
struct Walk {
    allow_defaults: bool,
    disallow_reason: String,
    inside_resource_meta: bool,
}

impl Walk {
    fn forbid_defaults(&self, reason: String) -> Walk {
        Walk {
            allow_defaults: false,
            disallow_reason: reason,
            ..self.clone()
        }
    }
}

/// The generic keyword rules, in the server's order.
pub(crate) fn schema_errors(root: Node, base: &str) -> Vec<FieldCause> {
    let mut out = Vec::new();
    let walk = Walk {
        allow_defaults: true,
        disallow_reason: String::new(),
        inside_resource_meta: false,
    };
    schema_node(root, base, &walk, true, &mut out);
    out
}

fn keyword_errors(s: Node, at: &str, walk: &Walk, out: &mut Vec<FieldCause>) {
    let field = |name: &str| path::child(at, name);
    let ty = s.ty();
    if !ty.is_empty() && !OPENAPI_V3_TYPES.contains(&ty) {
        let supported: Vec<String> = OPENAPI_V3_TYPES.iter().map(|t| t.to_string()).collect();
        out.push(gofmt::not_supported(
            &field("type"),
            &Value::from(ty),
            &supported,
        ));
    }
    if s.has("default") && !walk.allow_defaults {
        let mut detail = "must not be set".to_string();
        if !walk.disallow_reason.is_empty() {
            detail = format!("{detail} {}", walk.disallow_reason);
        }
        out.push(FieldCause::forbidden(&field("default"), &detail));
    }
    let unsupported = [
        ("id", "id is not supported"),
        ("additionalItems", "additionalItems is not supported"),
        ("patternProperties", "patternProperties is not supported"),
        ("definitions", "definitions is not supported"),
        ("dependencies", "dependencies is not supported"),
        ("$ref", "$ref is not supported"),
    ];
    for (key, detail) in unsupported {
        if s.get(key)
            .is_some_and(|v| !v.is_null() && v != "" && v.as_object().is_none_or(|o| !o.is_empty()))
        {
            out.push(FieldCause::forbidden(&field(key), detail));
        }
    }
    if ty == "null" {
        out.push(FieldCause::forbidden(
            &field("type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if s.get("items").is_some_and(Value::is_array) {
        out.push(FieldCause::forbidden(
            &field("items"),
            "items must be a schema object and not an array",
        ));
    }
    if walk.inside_resource_meta && s.embedded() {
        out.push(FieldCause::forbidden(
            &field("x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
}

fn schema_node(s: Node, at: &str, walk: &Walk, is_root: bool, out: &mut Vec<FieldCause>) {
    let field = |name: &str| path::child(at, name);
    keyword_errors(s, at, walk, out);
    if s.flag("uniqueItems") {
        let detail =
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic";
        out.push(FieldCause::forbidden(&field("uniqueItems"), detail));
    }
    let additional = s.additional();
    if !matches!(additional, Additional::Absent) {
        let has_props = s.properties().is_some_and(|p| !p.is_empty());
        if has_props && !matches!(additional, Additional::Bool(true)) {
            let detail = "additionalProperties and properties are mutual exclusive";
            out.push(FieldCause::forbidden(
                &field("additionalProperties"),
                detail,
            ));
        }
        if let Additional::Schema(a) = additional {
            let sub = if walk.inside_resource_meta {
                walk.forbid_defaults(
                    "inside additionalProperties applying to object metadata".to_string(),
                )
            } else {
                walk.clone()
            };
            schema_node(a, &field("additionalProperties"), &sub, false, out);
        }
    }
    if let Some(props) = s.properties() {
        for (k, p) in props {
            let mut sub = walk.clone();
            if (is_root || s.embedded()) && META_FIELDS.contains(&k.as_str()) {
                sub.inside_resource_meta = true;
                if is_root {
                    sub = sub.forbid_defaults(format!("in top-level {k}"));
                }
            }
            schema_node(
                Node(p),
                &path::key(&field("properties"), k),
                &sub,
                false,
                out,
            );
        }
    }
    if let Some(not) = s.get("not").filter(|v| v.is_object()) {
        schema_node(Node(not), &field("not"), walk, false, out);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for (i, alt) in s.list(key).iter().enumerate() {
            schema_node(Node(alt), &path::index(&field(key), i), walk, false, out);
        }
    }
    if let Some(items) = s.items() {
        schema_node(items, &field("items"), walk, false, out);
    }
    for (i, item) in s.list("items").iter().enumerate() {
        schema_node(
            Node(item),
            &path::index(&field("items"), i),
            walk,
            false,
            out,
        );
    }
    if s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        let key = "x-kubernetes-preserve-unknown-fields";
        out.push(gofmt::invalid(
            &field(key),
            &Value::Bool(false),
            "must be true or undefined",
        ));
    }
    list_and_map_type_errors(s, at, out);
}

fn type_must_be(s: Node, at: &str, want: &str, detail: &str, out: &mut Vec<FieldCause>) {
    let ty = s.ty();
    if ty == want {
        return;
    }
    let at = path::child(at, "type");
    if ty.is_empty() {
        out.push(FieldCause::required(&at, detail));
    } else {
        out.push(gofmt::invalid(&at, &Value::from(ty), detail));
    }
}

fn list_and_map_type_errors(s: Node, at: &str, out: &mut Vec<FieldCause>) {
    let field = |name: &str| path::child(at, name);
    let map_type = s.get("x-kubernetes-map-type").and_then(Value::as_str);
    if let Some(map_type) = map_type {
        type_must_be(
            s,
            at,
            "object",
            "must be object if x-kubernetes-map-type is specified",
            out,
        );
        if map_type != "atomic" && map_type != "granular" {
            let supported = ["atomic".to_string(), "granular".to_string()];
            out.push(gofmt::not_supported(
                &field("x-kubernetes-map-type"),
                &Value::from(map_type),
                &supported,
            ));
        }
    }
    let list_type = s.get("x-kubernetes-list-type").and_then(Value::as_str);
    let items = s.items();
    if let Some(list_type) = list_type {
        if s.ty() != "array" {
            type_must_be(
                s,
                at,
                "array",
                "must be array if x-kubernetes-list-type is specified",
                out,
            );
        } else if list_type == "set"
            && let Some(items) = items
        {
            let detail = "must be atomic as item of a list with x-kubernetes-list-type=set";
            let item_list_type = items
                .get("x-kubernetes-list-type")
                .cloned()
                .unwrap_or(Value::Null);
            let item_at = field("items");
            if items.ty() == "array" && !item_list_type.is_null() && item_list_type != "atomic" {
                out.push(gofmt::invalid(
                    &path::child(&item_at, "x-kubernetes-list-type"),
                    &item_list_type,
                    detail,
                ));
            }
            if items.ty() == "object" && items.str("x-kubernetes-map-type") != "atomic" {
                // The server reports the item's list type here, not its map type.
                out.push(gofmt::invalid(
                    &path::child(&item_at, "x-kubernetes-map-type"),
                    &item_list_type,
                    detail,
                ));
            }
        }
        if !["atomic", "set", "map"].contains(&list_type) {
            let supported = ["atomic".to_string(), "set".to_string(), "map".to_string()];
            out.push(gofmt::not_supported(
                &field("x-kubernetes-list-type"),
                &Value::from(list_type),
                &supported,
            ));
        }
    }
    let keys = s.list("x-kubernetes-list-map-keys");
    if !keys.is_empty() {
        let detail = "must be map if x-kubernetes-list-map-keys is non-empty";
        match list_type {
            None => out.push(FieldCause::required(
                &field("x-kubernetes-list-type"),
                detail,
            )),
            Some(t) if t != "map" => out.push(gofmt::invalid(
                &field("x-kubernetes-list-type"),
                &Value::from(t),
                detail,
            )),
            _ => {}
        }
    }
    if list_type == Some("map") {
        list_map_errors(s, at, keys, out);
    }
    if matches!(list_type, Some("set" | "map"))
        && let Some(items) = items
    {
        map_set_item_errors(s, items, list_type.unwrap_or_default(), at, keys, out);
    }
}

fn list_map_errors(s: Node, at: &str, keys: &[Value], out: &mut Vec<FieldCause>) {
    let field = |name: &str| path::child(at, name);
    if keys.is_empty() {
        out.push(FieldCause::required(
            &field("x-kubernetes-list-map-keys"),
            "must not be empty if x-kubernetes-list-type is map",
        ));
    }
    let Some(items) = s.items() else {
        if s.get("items").is_some_and(Value::is_array) {
            let detail = "must only have a single schema if x-kubernetes-list-type is map";
            out.push(gofmt::invalid(&field("items"), &s.0["items"], detail));
        } else {
            out.push(FieldCause::required(
                &field("items"),
                "must have a schema if x-kubernetes-list-type is map",
            ));
        }
        return;
    };
    if items.ty() != "object" {
        let detail = "must be object if parent array's x-kubernetes-list-type is map";
        out.push(gofmt::invalid(
            &path::child(&field("items"), "type"),
            &Value::from(items.ty()),
            detail,
        ));
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    let keys_value = Value::Array(keys.to_vec());
    for k in keys.iter().filter_map(Value::as_str) {
        match items.prop(k) {
            Some(p) if p.ty() == "array" || p.ty() == "object" => {
                let at = path::child(
                    &path::key(&path::child(&field("items"), "properties"), k),
                    "type",
                );
                let detail =
                    "must be a scalar type if parent array's x-kubernetes-list-type is map";
                out.push(gofmt::invalid(&at, &Value::from(items.ty()), detail));
            }
            Some(_) => {}
            None => {
                let detail = "entries must all be names of item properties";
                out.push(gofmt::invalid(
                    &field("x-kubernetes-list-map-keys"),
                    &keys_value,
                    detail,
                ));
            }
        }
        if seen.contains(&k) {
            let detail = "must not contain duplicate entries";
            out.push(gofmt::invalid(
                &field("x-kubernetes-list-map-keys"),
                &keys_value,
                detail,
            ));
        }
        seen.push(k);
    }
}

/// Items of sets and maps cannot be null, and map keys need a value on every item.
fn map_set_item_errors(
    s: Node,
    items: Node,
    list_type: &str,
    at: &str,
    keys: &[Value],
    out: &mut Vec<FieldCause>,
) {
    let items_at = path::child(at, "items");
    if items.nullable() {
        let detail = format!("cannot be nullable when x-kubernetes-list-type is {list_type}");
        out.push(FieldCause::forbidden(
            &path::child(&items_at, "nullable"),
            &detail,
        ));
    }
    if list_type != "map" || s.items().is_none() {
        return;
    }
    let required: Vec<&str> = items
        .list("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for k in keys.iter().filter_map(Value::as_str) {
        let Some(p) = items.prop(k) else { continue };
        let key_at = path::key(&path::child(&items_at, "properties"), k);
        if !required.contains(&k) && !p.has("default") {
            let detail = "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property";
            out.push(FieldCause::required(
                &path::child(&key_at, "default"),
                detail,
            ));
        }
        if p.nullable() {
            let detail = "this property is in x-kubernetes-list-map-keys, so it cannot be nullable";
            out.push(FieldCause::forbidden(
                &path::child(&key_at, "nullable"),
                detail,
            ));
        }
    }
}
