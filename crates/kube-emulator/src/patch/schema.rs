//! Reading the merge-relevant parts of an OpenAPI-v3-like schema.
//!
//! Every engine walks the document and the schema side by side. A missing schema node is
//! `Value::Null`, which answers "nothing known" to every question, so callers never have to
//! special-case unknown subtrees.

use serde_json::Value;

/// The answer for any path the schema does not describe.
pub(crate) static UNKNOWN: Value = Value::Null;

/// The schema of `key` inside an object described by `schema`: a declared property first,
/// then the schema shared by all map values.
pub(crate) fn child<'a>(schema: &'a Value, key: &str) -> &'a Value {
    if let Some(prop) = schema.get("properties").and_then(|p| p.get(key)) {
        return prop;
    }
    match schema.get("additionalProperties") {
        Some(extra @ Value::Object(_)) => extra,
        _ => &UNKNOWN,
    }
}

/// The schema of the elements of a list described by `schema`.
pub(crate) fn items(schema: &Value) -> &Value {
    schema.get("items").unwrap_or(&UNKNOWN)
}

fn str_ext<'a>(schema: &'a Value, name: &str) -> Option<&'a str> {
    schema.get(name).and_then(Value::as_str)
}

/// The strategic-merge-patch strategy of a field: the non-`retainKeys` part and whether
/// `retainKeys` was listed (upstream writes e.g. `merge,retainKeys`).
pub(crate) fn patch_strategy(schema: &Value) -> (Option<&str>, bool) {
    let Some(raw) = str_ext(schema, "x-kubernetes-patch-strategy") else {
        return (None, false);
    };
    let mut strategy = None;
    let mut retain = false;
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "retainKeys" {
            retain = true;
        } else {
            strategy = Some(part);
        }
    }
    (strategy, retain)
}

pub(crate) fn patch_merge_key(schema: &Value) -> Option<&str> {
    str_ext(schema, "x-kubernetes-patch-merge-key")
}

/// How server-side apply treats a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// `x-kubernetes-list-type` when present. Without it, the patch strategy stands in the way
/// the API server's schema converter uses it (merge with a key is a map, merge without a key
/// a set); anything else is atomic, the OpenAPI default for lists.
pub(crate) fn list_type(schema: &Value) -> ListType {
    match str_ext(schema, "x-kubernetes-list-type") {
        Some("set") => return ListType::Set,
        Some("map") => {
            let keys: Vec<String> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|keys| {
                    keys.iter()
                        .filter_map(|k| k.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if !keys.is_empty() {
                return ListType::Map(keys);
            }
            if let Some(key) = patch_merge_key(schema) {
                return ListType::Map(vec![key.to_string()]);
            }
            return ListType::Atomic;
        }
        Some(_) => return ListType::Atomic,
        None => {}
    }
    match (patch_strategy(schema).0, patch_merge_key(schema)) {
        (Some("merge"), Some(key)) => ListType::Map(vec![key.to_string()]),
        (Some("merge"), None) => ListType::Set,
        _ => ListType::Atomic,
    }
}

/// `x-kubernetes-map-type: atomic` makes an object one indivisible value; the upstream
/// OpenAPI uses it both for atomic maps and for `+structType=atomic` structs.
pub(crate) fn map_is_atomic(schema: &Value) -> bool {
    str_ext(schema, "x-kubernetes-map-type") == Some("atomic")
}

/// Whether `key` of an object is an entry of a map (a member in its own right for field
/// ownership) rather than a named field of a struct. `typed` says whether the schema is a
/// skeleton of a Go struct, where every unknown key is a struct field the skeleton left out.
pub(crate) fn is_map_entry(parent: &Value, key: &str, typed: bool) -> bool {
    if parent.get("properties").and_then(|p| p.get(key)).is_some() {
        return false;
    }
    if matches!(
        parent.get("additionalProperties"),
        Some(Value::Object(_) | Value::Bool(true))
    ) {
        return true;
    }
    if parent.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return true;
    }
    !typed
}

/// Whether a node describes a Go map (which, unlike a Go struct, can be absent).
pub(crate) fn is_map_type(schema: &Value) -> bool {
    schema.get("properties").is_none()
        && matches!(
            schema.get("additionalProperties"),
            Some(Value::Object(_) | Value::Bool(true))
        )
}

/// The marker [`super::builtin_merge_schema`] puts at the root of skeletons of Go types.
pub(crate) const TYPED_MARKER: &str = "x-tibr-go-struct";

pub(crate) fn is_typed(root: &Value) -> bool {
    root.get(TYPED_MARKER) == Some(&Value::Bool(true))
}

/// Marks a Go field without `omitempty`: the zero value of its struct already holds it (as
/// `null`), so creating the struct never "adds" the field itself.
pub(crate) const ALWAYS_PRESENT_MARKER: &str = "x-tibr-no-omitempty";

pub(crate) fn is_always_present(schema: &Value) -> bool {
    schema.get(ALWAYS_PRESENT_MARKER) == Some(&Value::Bool(true))
}

/// A short name for a JSON value's kind, used in error messages.
pub(crate) fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strategies_and_list_types_are_read_like_the_api_server() {
        let cases = [
            (
                json!({"x-kubernetes-patch-strategy": "merge,retainKeys"}),
                (Some("merge"), true),
            ),
            (
                json!({"x-kubernetes-patch-strategy": "retainKeys"}),
                (None, true),
            ),
            (
                json!({"x-kubernetes-patch-strategy": "replace"}),
                (Some("replace"), false),
            ),
            (json!({}), (None, false)),
        ];
        for (schema, want) in cases {
            assert_eq!(patch_strategy(&schema), want, "{schema}");
        }
        let lists = [
            (json!({"x-kubernetes-list-type": "set"}), ListType::Set),
            (
                json!({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["a", "b"]}),
                ListType::Map(vec!["a".into(), "b".into()]),
            ),
            (
                json!({"x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "k"}),
                ListType::Map(vec!["k".into()]),
            ),
            (
                json!({"x-kubernetes-patch-strategy": "merge"}),
                ListType::Set,
            ),
            (
                json!({"x-kubernetes-list-type": "atomic", "x-kubernetes-patch-strategy": "merge"}),
                ListType::Atomic,
            ),
            (json!({}), ListType::Atomic),
        ];
        for (schema, want) in lists {
            assert_eq!(list_type(&schema), want, "{schema}");
        }
    }

    #[test]
    fn map_entries_and_struct_fields_are_told_apart() {
        let parent =
            json!({"properties": {"spec": {}}, "additionalProperties": {"type": "string"}});
        assert!(!is_map_entry(&parent, "spec", false));
        assert!(is_map_entry(&parent, "other", true));
        let open = json!({"x-kubernetes-preserve-unknown-fields": true});
        assert!(is_map_entry(&open, "x", true));
        assert!(!is_map_entry(&json!({}), "x", true));
        assert!(is_map_entry(&json!({}), "x", false));
        assert_eq!(child(&parent, "spec"), &json!({}));
        assert_eq!(child(&parent, "zzz"), &json!({"type": "string"}));
        assert_eq!(child(&json!({}), "zzz"), &Value::Null);
    }
}
