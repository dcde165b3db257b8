//! The checks the API server runs on a CRD's `openAPIV3Schema` when the CRD is created:
//! structurality (every node typed, value validations only restating what the structure
//! specifies), then the defaults, then the generic schema rules in [`super::crd_checks`].
//!
//! Paths are printed as the server prints them. A `v1` CRD whose versions all share one
//! schema is validated as `spec.validation.openAPIV3Schema` (the server converts it to
//! its internal form first), so that is the base of [`check_structural`]; a CRD whose
//! versions differ reports `spec.versions[i].schema.openAPIV3Schema`
//! ([`check_structural_at`]).
//!
//! Deviations: the `status`-subresource restrictions on the root schema need the CRD
//! and are left to the caller; a bad `pattern` reports the Rust regex error text.

use regex::Regex;
use serde_json::Value;

use super::crd_checks;
use super::gofmt;
use super::node::{Additional, Node};
use super::path;
use crate::cause::FieldCause;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Level {
    Root,
    Item,
    Field,
}

/// [`check_structural_at`] with the path of a CRD whose versions share one schema.
pub(crate) fn check_structural(schema: &Value) -> Vec<FieldCause> {
    check_structural_at(schema, "spec.validation.openAPIV3Schema")
}

/// All CRD-creation errors for `schema`, with paths under `base`.
pub(crate) fn check_structural_at(schema: &Value, base: &str) -> Vec<FieldCause> {
    let root = Node(schema);
    let mut out = Vec::new();
    if root.nullable() {
        out.push(FieldCause::forbidden(
            &path::child(base, "nullable"),
            "nullable cannot be true at the root",
        ));
    }
    let mut structural = Vec::new();
    invariants(root, Level::Root, base, &mut structural);
    completeness(root, Some(root), base, base, &mut structural);
    structural.sort_by_key(FieldCause::full_message);
    if structural.is_empty() {
        out.extend(crd_checks::default_errors(root, base));
    } else {
        out.extend(structural);
    }
    out.extend(crd_checks::schema_errors(root, base));
    out
}

/// Keywords that carry meaning in the server's structural model; others are ignored.
const STRUCTURAL_KEYS: [&str; 35] = [
    "type",
    "title",
    "description",
    "nullable",
    "default",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
    "properties",
    "items",
    "additionalProperties",
    "format",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
];

/// Unset in the server's Go structs: absent, `null`, `false`, `""`, `[]` or `{}`.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

fn set_keys(s: Node<'_>) -> Vec<&str> {
    let Some(map) = s.0.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter(|(k, v)| STRUCTURAL_KEYS.contains(&k.as_str()) && !is_zero(v))
        .map(|(k, _)| k.as_str())
        .collect()
}

/// `anyOf: [{type: integer}, {type: string}]` exactly, the int-or-string idiom.
fn is_int_or_string_any_of(any_of: &[Value]) -> bool {
    let only_type = |v: &Value, t: &str| set_keys(Node(v)) == ["type"] && Node(v).ty() == t;
    any_of.len() == 2 && only_type(&any_of[0], "integer") && only_type(&any_of[1], "string")
}

fn invariants(s: Node, lvl: Level, at: &str, out: &mut Vec<FieldCause>) {
    let field = |name: &str| path::child(at, name);
    if s.ty() == "array" && s.items().is_none() {
        out.push(FieldCause::required(&field("items"), "must be specified"));
    }
    if let Some(items) = s.items() {
        invariants(items, Level::Item, &field("items"), out);
    }
    if let Some(props) = s.properties() {
        for (k, p) in props {
            invariants(
                Node(p),
                Level::Field,
                &path::key(&field("properties"), k),
                out,
            );
        }
    }
    let additional = s.additional();
    if !matches!(additional, Additional::Absent) && lvl == Level::Root {
        out.push(FieldCause::forbidden(
            &field("additionalProperties"),
            "must not be used at the root",
        ));
    }
    if let Additional::Schema(a) = additional {
        invariants(a, Level::Field, &field("additionalProperties"), out);
    }
    if s.int_or_string() {
        let detail = "must be false if x-kubernetes-int-or-string is true";
        for key in [
            "x-kubernetes-preserve-unknown-fields",
            "x-kubernetes-embedded-resource",
        ] {
            if s.flag(key) {
                out.push(gofmt::invalid(&field(key), &Value::Bool(true), detail));
            }
        }
    }
    let skip_any_of = is_int_or_string_any_of(s.list("anyOf"));
    let skip_first_all_of_any_of = s
        .list("allOf")
        .first()
        .is_some_and(|first| is_int_or_string_any_of(Node(first).list("anyOf")));
    value_validation(s, skip_any_of, skip_first_all_of_any_of, lvl, at, out);

    let check_metadata = lvl == Level::Root || s.embedded();
    let ty = s.ty();
    if s.embedded() && ty != "object" {
        let detail = "must be object if x-kubernetes-embedded-resource is true";
        if ty.is_empty() {
            out.push(FieldCause::required(&field("type"), detail));
        } else {
            out.push(gofmt::invalid(&field("type"), &Value::from(ty), detail));
        }
    } else if ty.is_empty() && !s.int_or_string() && !s.preserve_unknown() {
        let detail = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        out.push(FieldCause::required(&field("type"), detail));
    }
    if s.embedded() && !matches!(additional, Additional::Absent) {
        let detail = "must not be used if x-kubernetes-embedded-resource is set";
        out.push(FieldCause::forbidden(
            &field("additionalProperties"),
            detail,
        ));
    }
    if lvl == Level::Root && !ty.is_empty() && ty != "object" {
        out.push(gofmt::invalid(
            &field("type"),
            &Value::from(ty),
            "must be object at the root",
        ));
    }
    for key in ["kind", "apiVersion"] {
        if let Some(p) = s.prop(key)
            && check_metadata
            && p.ty() != "string"
        {
            let at = path::child(&path::key(&field("properties"), key), "type");
            out.push(gofmt::invalid(&at, &Value::from(p.ty()), "must be string"));
        }
    }
    if let Some(meta) = s.prop("metadata") {
        metadata_invariants(
            meta,
            check_metadata,
            lvl,
            &path::key(&field("properties"), "metadata"),
            out,
        );
    }
    if s.embedded() && !s.preserve_unknown() && s.properties().is_none_or(|p| p.is_empty()) {
        let detail = "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields";
        out.push(FieldCause::required(&field("properties"), detail));
    }
}

fn metadata_invariants(
    s: Node,
    check_metadata: bool,
    lvl: Level,
    at: &str,
    out: &mut Vec<FieldCause>,
) {
    if check_metadata && s.ty() != "object" {
        out.push(gofmt::invalid(
            &path::child(at, "type"),
            &Value::from(s.ty()),
            "must be object",
        ));
    }
    if lvl != Level::Root {
        return;
    }
    // At the root, metadata may only restate its type and restrict name/generateName.
    let names_only = s.properties().is_some_and(|p| {
        let named = p
            .keys()
            .filter(|k| *k == "name" || *k == "generateName")
            .count();
        named > 0 && named == p.len()
    });
    let extra = set_keys(s).into_iter().any(|k| match k {
        "type" | "default" => false,
        "properties" => !names_only,
        _ => true,
    });
    if extra {
        let detail = "must not specify anything other than name and generateName, but metadata is implicitly specified";
        out.push(FieldCause::forbidden(at, detail));
    }
}

fn value_validation(
    v: Node,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    lvl: Level,
    at: &str,
    out: &mut Vec<FieldCause>,
) {
    if !skip_any_of {
        for (i, alt) in v.list("anyOf").iter().enumerate() {
            nested(
                Node(alt),
                false,
                lvl,
                &path::index(&path::child(at, "anyOf"), i),
                out,
            );
        }
    }
    for (i, alt) in v.list("allOf").iter().enumerate() {
        let skip = skip_first_all_of_any_of && i == 0;
        nested(
            Node(alt),
            skip,
            lvl,
            &path::index(&path::child(at, "allOf"), i),
            out,
        );
    }
    for (i, alt) in v.list("oneOf").iter().enumerate() {
        nested(
            Node(alt),
            false,
            lvl,
            &path::index(&path::child(at, "oneOf"), i),
            out,
        );
    }
    if let Some(not) = v.get("not").filter(|n| n.is_object()) {
        nested(Node(not), false, lvl, &path::child(at, "not"), out);
    }
    let pattern = v.str("pattern");
    if !pattern.is_empty()
        && let Err(e) = Regex::new(pattern)
    {
        let detail = format!("must be a valid regular expression, but isn't: {e}");
        out.push(gofmt::invalid(
            &path::child(at, "pattern"),
            &Value::from(pattern),
            &detail,
        ));
    }
}

/// A schema under `allOf`/`anyOf`/`oneOf`/`not`: value validations only.
fn nested(v: Node, skip_any_of: bool, lvl: Level, at: &str, out: &mut Vec<FieldCause>) {
    let field = |name: &str| path::child(at, name);
    value_validation(v, skip_any_of, false, lvl, at, out);
    if let Some(items) = v.items() {
        nested(items, false, lvl, &field("items"), out);
    }
    if let Some(props) = v.properties() {
        for (k, p) in props {
            nested(
                Node(p),
                false,
                Level::Field,
                &path::key(&field("properties"), k),
                out,
            );
        }
    }
    let forbidden = |key: &str, detail: &str, out: &mut Vec<FieldCause>| {
        out.push(FieldCause::forbidden(&field(key), detail));
    };
    let set = set_keys(v);
    let checks: [(&str, &str); 12] = [
        ("type", "must be empty to be structural"),
        ("additionalProperties", "must be undefined to be structural"),
        ("default", "must be undefined to be structural"),
        ("title", "must be empty to be structural"),
        ("description", "must be empty to be structural"),
        ("nullable", "must be false to be structural"),
        (
            "x-kubernetes-preserve-unknown-fields",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-embedded-resource",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-int-or-string",
            "must be false to be structural",
        ),
        (
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        ),
        (
            "x-kubernetes-list-type",
            "must be undefined to be structural",
        ),
        (
            "x-kubernetes-map-type",
            "must be undefined to be structural",
        ),
    ];
    for (key, detail) in checks {
        let present = if key == "additionalProperties" {
            v.has(key)
        } else {
            set.contains(&key)
        };
        if present {
            forbidden(key, detail, out);
        }
    }
    if set.contains(&"x-kubernetes-validations") {
        forbidden(
            "x-kubernetes-validations",
            "must be empty to be structural",
            out,
        );
    }
    if v.prop("metadata").is_some() {
        let at = path::key(&field("properties"), "metadata");
        out.push(FieldCause::forbidden(
            &at,
            "must not be specified in a nested context",
        ));
    }
}

/// Every field a value validation mentions must exist in the structure. The server
/// checks this for the root's junctors only.
fn completeness(v: Node, s: Option<Node>, s_at: &str, v_at: &str, out: &mut Vec<FieldCause>) {
    let Some(s) = s else { return };
    for (key, alts) in [
        ("allOf", v.list("allOf")),
        ("anyOf", v.list("anyOf")),
        ("oneOf", v.list("oneOf")),
    ] {
        for (i, alt) in alts.iter().enumerate() {
            nested_completeness(
                Node(alt),
                Some(s),
                s_at,
                &path::index(&path::child(v_at, key), i),
                out,
            );
        }
    }
    if let Some(not) = v.get("not").filter(|n| n.is_object()) {
        nested_completeness(Node(not), Some(s), s_at, &path::child(v_at, "not"), out);
    }
}

fn nested_completeness(
    v: Node,
    s: Option<Node>,
    s_at: &str,
    v_at: &str,
    out: &mut Vec<FieldCause>,
) {
    let Some(s) = s else {
        out.push(FieldCause::required(
            s_at,
            &format!("because it is defined in {v_at}"),
        ));
        return;
    };
    completeness(v, Some(s), s_at, v_at, out);
    if let Some(items) = v.items() {
        nested_completeness(
            items,
            s.items(),
            &path::child(s_at, "items"),
            &path::child(v_at, "items"),
            out,
        );
    }
    if let Some(props) = v.properties() {
        for (k, p) in props {
            let s_here = path::key(&path::child(s_at, "properties"), k);
            let v_here = path::key(&path::child(v_at, "properties"), k);
            match s.prop(k) {
                Some(sp) => nested_completeness(Node(p), Some(sp), &s_here, &v_here, out),
                None => out.push(FieldCause::required(
                    &s_here,
                    &format!("because it is defined in {v_here}"),
                )),
            }
        }
    }
}
