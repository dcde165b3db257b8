//! RFC 7386 JSON merge patch, as the API server applies `application/merge-patch+json`.

use serde_json::{Map, Value};

/// Applies a JSON merge patch. A `null` member deletes the key; objects merge recursively;
/// anything else replaces the target. Like the Go library the API server uses, `null`
/// members of objects that are inserted rather than merged (including objects inside
/// arrays) are dropped, while `null` array elements stay.
///
/// A patch that is not an object replaces the whole document; the API server then fails to
/// decode a non-object (or rejects a scalar patch outright), which is the caller's check.
pub(crate) fn merge_patch(doc: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(patch) => {
            let mut target = match doc {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            for (key, value) in patch {
                if value.is_null() {
                    target.shift_remove(key);
                    continue;
                }
                let merged = match target.get(key) {
                    Some(current @ Value::Object(_)) if value.is_object() => {
                        merge_patch(current, value)
                    }
                    _ => without_nulls(value),
                };
                target.insert(key.clone(), merged);
            }
            Value::Object(target)
        }
        other => without_nulls(other),
    }
}

/// Drops `null` members of every object inside `value`.
pub(crate) fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(list) => Value::Array(list.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rfc_7386_appendix_a_cases() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (doc, patch, want) in cases {
            assert_eq!(merge_patch(&doc, &patch), want, "{doc} + {patch}");
        }
    }

    #[test]
    fn kubernetes_shapes() {
        let doc = json!({
            "metadata": {"name": "x", "labels": {"a": "1", "b": "2"}, "finalizers": ["f1", "f2"]},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i:1"}]}}}
        });
        let patch = json!({
            "metadata": {"labels": {"a": null, "c": "3"}, "finalizers": ["f2"]},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i:2", "args": null}]}}}
        });
        let want = json!({
            "metadata": {"name": "x", "labels": {"b": "2", "c": "3"}, "finalizers": ["f2"]},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i:2"}]}}}
        });
        assert_eq!(merge_patch(&doc, &patch), want);
        // Key order of the target is kept and new keys go last, as a later GET shows them.
        let out = merge_patch(&json!({"b": 1, "a": 2}), &json!({"c": 3, "b": 4}));
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"b":4,"a":2,"c":3}"#
        );
    }

    #[test]
    fn nulls_inside_arrays_stay_but_null_members_go() {
        let out = merge_patch(&json!({}), &json!({"a": [null, {"x": null, "y": 1}]}));
        assert_eq!(out, json!({"a": [null, {"y": 1}]}));
    }
}
