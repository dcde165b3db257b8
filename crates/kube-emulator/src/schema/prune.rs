//! Pruning of unknown fields, as the API server does when it decodes a custom resource.
//!
//! Three passes, in the server's order, and their reported paths in the server's order:
//! unknown `metadata` fields (document order, as its strict decoder meets them), fields
//! unknown to the schema (sorted), and unknown fields in the metadata of nested
//! `x-kubernetes-embedded-resource` objects (sorted). Non-nullable `null`s without a
//! default are dropped silently between the second and third pass, as the server does.
//!
//! Deviation: metadata fields of the wrong JSON type are kept (the server drops them
//! when it round-trips `metadata` through its typed `ObjectMeta`).

use serde_json::{Map, Value};

use super::node::{Additional, Node};
use super::path;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

const OBJECT_META_FIELDS: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

const OWNER_REFERENCE_FIELDS: [&str; 6] = [
    "apiVersion",
    "kind",
    "name",
    "uid",
    "controller",
    "blockOwnerDeletion",
];

const MANAGED_FIELDS_ENTRY_FIELDS: [&str; 7] = [
    "manager",
    "operation",
    "apiVersion",
    "time",
    "fieldsType",
    "fieldsV1",
    "subresource",
];

/// Removes the fields of `obj` that `schema` (a CRD version's `openAPIV3Schema`) does
/// not specify and returns their paths (`spec.foo`, `spec.items[0].bar`), for
/// `fieldValidation=Strict` errors or `Warn` warnings.
pub(crate) fn prune(obj: &mut Value, schema: &Value) -> Vec<String> {
    let root = Node(schema);
    let mut paths = Vec::new();
    if let Some(meta) = obj.get_mut("metadata") {
        prune_object_meta(meta, "metadata", &mut paths);
    }

    let mut unknown = Vec::new();
    prune_value(obj, Some(root), true, "", &mut unknown);
    unknown.sort();
    paths.extend(unknown);

    prune_non_nullable_nulls(obj, Some(root));

    let mut embedded = Vec::new();
    coerce_embedded_meta(obj, Some(root), true, "", &mut embedded);
    embedded.sort();
    paths.extend(embedded);
    paths
}

/// Schema pruning alone, as the server checks that a `default` is already pruned.
pub(super) fn prune_schema(x: &mut Value, s: Node, is_resource_root: bool) {
    prune_value(x, Some(s), is_resource_root, "", &mut Vec::new());
}

/// Keeps only the keys of `map` listed in `known`, recording the others under `at`.
fn retain_known(map: &mut Map<String, Value>, known: &[&str], at: &str, out: &mut Vec<String>) {
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in unknown {
        out.push(path::child(at, &k));
        map.shift_remove(&k);
    }
}

/// Reduces `metadata` to what the server's typed `ObjectMeta` can hold.
fn prune_object_meta(meta: &mut Value, at: &str, out: &mut Vec<String>) {
    let Some(map) = meta.as_object_mut() else {
        return;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in keys {
        let here = path::child(at, &k);
        if !OBJECT_META_FIELDS.contains(&k.as_str()) {
            out.push(here);
            map.shift_remove(&k);
            continue;
        }
        let known: &[&str] = match k.as_str() {
            "ownerReferences" => &OWNER_REFERENCE_FIELDS,
            "managedFields" => &MANAGED_FIELDS_ENTRY_FIELDS,
            _ => continue,
        };
        if let Some(entries) = map.get_mut(&k).and_then(Value::as_array_mut) {
            for (i, entry) in entries.iter_mut().enumerate() {
                if let Some(entry) = entry.as_object_mut() {
                    retain_known(entry, known, &path::index(&here, i), out);
                }
            }
        }
    }
}

fn prune_value(x: &mut Value, s: Option<Node>, root: bool, at: &str, out: &mut Vec<String>) {
    if let Some(n) = s
        && n.preserve_unknown()
    {
        skip_prune(x, n, root, at, out);
        return;
    }
    match x {
        Value::Object(map) => {
            let Some(n) = s else {
                for k in map.keys() {
                    out.push(path::child(at, k));
                }
                map.clear();
                return;
            };
            let embedded = root || n.embedded();
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let here = path::child(at, &k);
                let v = map.get_mut(&k).expect("key listed above");
                if let Some(p) = n.prop(&k) {
                    prune_value(v, Some(p), false, &here, out);
                    continue;
                }
                match n.additional() {
                    Additional::Schema(a) => prune_value(v, Some(a), false, &here, out),
                    Additional::Bool(_) => prune_value(v, None, false, &here, out),
                    Additional::Absent => {
                        // Below the root, even apiVersion/kind/metadata are ordinary fields.
                        if !META_FIELDS.contains(&k.as_str()) || !at.is_empty() {
                            out.push(here);
                        }
                        map.shift_remove(&k);
                    }
                }
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(Node::items);
            for (i, v) in items.iter_mut().enumerate() {
                prune_value(v, item_schema, false, &path::index(at, i), out);
            }
        }
        _ => {}
    }
}

/// Below `x-kubernetes-preserve-unknown-fields`, unknown fields stay but the
/// specified ones are still pruned.
fn skip_prune(x: &mut Value, n: Node, root: bool, at: &str, out: &mut Vec<String>) {
    match x {
        Value::Object(map) => {
            let embedded = root || n.embedded();
            for (k, v) in map.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let here = path::child(at, k);
                if let Some(p) = n.prop(k) {
                    prune_value(v, Some(p), false, &here, out);
                    continue;
                }
                match n.additional() {
                    Additional::Schema(a) => prune_value(v, Some(a), false, &here, out),
                    Additional::Bool(_) => prune_value(v, None, false, &here, out),
                    Additional::Absent => {}
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = n.items() else { return };
            for (i, v) in items.iter_mut().enumerate() {
                skip_prune(v, item_schema, false, &path::index(at, i), out);
            }
        }
        _ => {}
    }
}

/// A `null` for a field that is neither nullable nor defaulted means "unset".
fn prune_non_nullable_nulls(x: &mut Value, s: Option<Node>) {
    match x {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let field_schema = s.and_then(|n| n.prop(&k).or_else(|| n.additional_schema()));
                let v = map.get_mut(&k).expect("key listed above");
                let drop = v.is_null()
                    && field_schema.is_some_and(|f| !f.nullable() && f.default().is_none());
                if drop {
                    map.shift_remove(&k);
                } else {
                    prune_non_nullable_nulls(v, field_schema);
                }
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(Node::items);
            for v in items {
                prune_non_nullable_nulls(v, item_schema);
            }
        }
        _ => {}
    }
}

/// Nested embedded resources get their `metadata` reduced to `ObjectMeta` as well.
fn coerce_embedded_meta(
    x: &mut Value,
    s: Option<Node>,
    root: bool,
    at: &str,
    out: &mut Vec<String>,
) {
    let Some(n) = s else { return };
    match x {
        Value::Object(map) => {
            if n.embedded()
                && !root
                && let Some(meta) = map.get_mut("metadata")
            {
                prune_object_meta(meta, &path::child(at, "metadata"), out);
            }
            for (k, v) in map.iter_mut() {
                if let Some(p) = n.prop(k) {
                    coerce_embedded_meta(v, Some(p), false, &path::child(at, k), out);
                } else if let Some(a) = n.additional_schema() {
                    coerce_embedded_meta(v, Some(a), false, &path::key(at, k), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                coerce_embedded_meta(v, n.items(), false, &path::index(at, i), out);
            }
        }
        _ => {}
    }
}
