use serde_json::json;

use super::*;

fn ok(doc: Value, patch: Value) -> Value {
    json_patch(&doc, &patch).unwrap_or_else(|e| panic!("patch {patch} failed: {e:?}"))
}

fn unprocessable(doc: Value, patch: Value) -> String {
    match json_patch(&doc, &patch) {
        Err(PatchError::Unprocessable(msg)) => msg,
        other => panic!("patch {patch}: expected 422, got {other:?}"),
    }
}

#[test]
fn operations_follow_rfc_6902() {
    let doc = json!({"a": {"b": 1, "c": [1, 2, 3]}, "x~y": 1, "p/q": 2});
    let cases = [
        (
            json!([{"op": "add", "path": "/a/d", "value": 4}]),
            json!({"a": {"b": 1, "c": [1, 2, 3], "d": 4}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "add", "path": "/a/b", "value": 9}]),
            json!({"a": {"b": 9, "c": [1, 2, 3]}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "add", "path": "/a/c/1", "value": 9}]),
            json!({"a": {"b": 1, "c": [1, 9, 2, 3]}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "add", "path": "/a/c/3", "value": 9}]),
            json!({"a": {"b": 1, "c": [1, 2, 3, 9]}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "add", "path": "/a/c/-", "value": 9}]),
            json!({"a": {"b": 1, "c": [1, 2, 3, 9]}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "add", "path": "/a/c/-1", "value": 9}]),
            json!({"a": {"b": 1, "c": [1, 2, 3, 9]}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "remove", "path": "/a/c/0"}]),
            json!({"a": {"b": 1, "c": [2, 3]}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "remove", "path": "/a/c/-1"}]),
            json!({"a": {"b": 1, "c": [1, 2]}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "remove", "path": "/x~0y"}, {"op": "remove", "path": "/p~1q"}]),
            json!({"a": {"b": 1, "c": [1, 2, 3]}}),
        ),
        (
            json!([{"op": "replace", "path": "/a/b", "value": [true]}]),
            json!({"a": {"b": [true], "c": [1, 2, 3]}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "replace", "path": "/a/zz", "value": 0}]),
            json!({"a": {"b": 1, "c": [1, 2, 3], "zz": 0}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "move", "from": "/a/b", "path": "/b"}]),
            json!({"a": {"c": [1, 2, 3]}, "x~y": 1, "p/q": 2, "b": 1}),
        ),
        (
            json!([{"op": "move", "from": "/a/c/0", "path": "/a/c/-"}]),
            json!({"a": {"b": 1, "c": [2, 3, 1]}, "x~y": 1, "p/q": 2}),
        ),
        (
            json!([{"op": "copy", "from": "/a/c", "path": "/d"}]),
            json!({"a": {"b": 1, "c": [1, 2, 3]}, "x~y": 1, "p/q": 2, "d": [1, 2, 3]}),
        ),
        (
            json!([{"op": "copy", "from": "/a/nope", "path": "/d"}]),
            json!({"a": {"b": 1, "c": [1, 2, 3]}, "x~y": 1, "p/q": 2, "d": null}),
        ),
        (
            json!([{"op": "add", "path": "/n"}]),
            json!({"a": {"b": 1, "c": [1, 2, 3]}, "x~y": 1, "p/q": 2, "n": null}),
        ),
        (
            json!([{"op": "test", "path": "/a/c", "value": [1, 2, 3]}, {"op": "test", "path": "/x~0y", "value": 1}]),
            doc.clone(),
        ),
        (
            json!([{"op": "replace", "path": "", "value": {"k": 1}}]),
            json!({"k": 1}),
        ),
        (json!(null), doc.clone()),
        (json!([]), doc.clone()),
    ];
    for (patch, want) in cases {
        assert_eq!(ok(doc.clone(), patch.clone()), want, "patch {patch}");
    }
}

#[test]
fn key_order_is_kept_when_replacing_in_place() {
    let out = ok(
        json!({"a": 1, "b": 2, "c": 3}),
        json!([{"op": "add", "path": "/b", "value": 9}]),
    );
    assert_eq!(
        serde_json::to_string(&out).unwrap(),
        r#"{"a":1,"b":9,"c":3}"#
    );
}

#[test]
fn failing_operations_report_the_go_library_messages() {
    let doc = json!({"metadata": {"name": "x", "finalizers": ["a"]}, "list": [1]});
    let cases = [
        (
            json!([{"op": "remove", "path": "/metadata/labels"}]),
            "error in remove for path: '/metadata/labels': Unable to remove nonexistent key: labels: missing value",
        ),
        (
            json!([{"op": "add", "path": "/spec/x", "value": 1}]),
            "add operation does not apply: doc is missing path: \"/spec/x\": missing value",
        ),
        (
            json!([{"op": "test", "path": "/metadata/name", "value": "y"}]),
            "testing value /metadata/name failed: test failed",
        ),
        (
            json!([{"op": "test", "path": "/metadata/finalizers", "value": null}]),
            "testing value /metadata/finalizers failed: test failed",
        ),
        (
            json!([{"op": "test", "path": "/metadata/labels", "value": {}}]),
            "testing value /metadata/labels failed: test failed",
        ),
        (
            json!([{"op": "test", "path": "/spec/x", "value": null}]),
            "test operation does not apply: is missing path: /spec/x: missing value",
        ),
        (
            json!([{"op": "add", "path": "/list/5", "value": 1}]),
            "error in add for path: '/list/5': Unable to access invalid index: 5: invalid index referenced",
        ),
        (
            json!([{"op": "add", "path": "/list/x", "value": 1}]),
            "error in add for path: '/list/x': value was not a proper array index: 'x': strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (
            json!([{"op": "replace", "path": "/list/1", "value": 1}]),
            "replace operation does not apply: doc is missing key: /list/1: missing value",
        ),
        (
            json!([{"op": "remove", "path": "/list/1"}]),
            "error in remove for path: '/list/1': Unable to access invalid index: 1: invalid index referenced",
        ),
        (
            json!([{"op": "move", "from": "/nope", "path": "/x"}]),
            "error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value",
        ),
        (
            json!([{"op": "frobnicate", "path": "/x"}]),
            "Unexpected kind: frobnicate",
        ),
        (json!([{"path": "/x"}]), "Unexpected kind: unknown"),
        (
            json!([{"op": "add", "value": 1}]),
            "add operation failed to decode path: missing value",
        ),
        (
            json!([{"op": "replace", "value": 1}]),
            "replace operation failed to decode path: operation missing path field: missing value",
        ),
        (
            json!([{"op": "copy", "path": "/x"}]),
            "copy operation failed to decode from: operation, missing from field: missing value",
        ),
        (
            json!([{"op": "add", "path": "", "value": 1}]),
            "add operation does not apply: doc is missing path: \"\": missing value",
        ),
    ];
    for (patch, want) in cases {
        assert_eq!(
            unprocessable(doc.clone(), patch.clone()),
            want,
            "patch {patch}"
        );
    }
}

#[test]
fn a_failed_operation_leaves_no_partial_result() {
    let doc = json!({"a": 1});
    let patch =
        json!([{"op": "add", "path": "/b", "value": 2}, {"op": "test", "path": "/a", "value": 2}]);
    assert!(json_patch(&doc, &patch).is_err());
    assert_eq!(doc, json!({"a": 1}));
}

#[test]
fn malformed_documents_are_bad_requests() {
    let doc = json!({});
    for patch in [json!({"op": "add"}), json!("x"), json!([1]), json!([[]])] {
        assert!(
            matches!(json_patch(&doc, &patch), Err(PatchError::BadRequest(_))),
            "{patch}"
        );
    }
    let many: Vec<Value> = (0..=MAX_OPERATIONS)
        .map(|_| json!({"op": "test", "path": "/a"}))
        .collect();
    assert!(matches!(
        json_patch(&doc, &Value::Array(many)),
        Err(PatchError::TooLarge(_))
    ));
}

/// The sequence kube-rs's `finalizer` helper sends: guard on the current state, then add,
/// and later remove by index with a guard on that index.
#[test]
fn kube_rs_finalizer_sequence() {
    let fresh = json!({"metadata": {"name": "br", "resourceVersion": "7"}});
    let first = json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["tibr.pingcap.com/cleanup"]}
    ]);
    let with_one = ok(fresh.clone(), first.clone());
    assert_eq!(
        with_one["metadata"]["finalizers"],
        json!(["tibr.pingcap.com/cleanup"])
    );
    // An explicit null stored in the object reads as absent too.
    let null_stored = json!({"metadata": {"name": "br", "finalizers": null}});
    assert_eq!(
        ok(null_stored, first.clone())["metadata"]["finalizers"],
        json!(["tibr.pingcap.com/cleanup"])
    );
    // Replaying the first-finalizer patch after someone else added one must fail the guard.
    assert_eq!(
        unprocessable(with_one.clone(), first),
        "testing value /metadata/finalizers failed: test failed"
    );
    let second = json!([
        {"op": "test", "path": "/metadata/finalizers", "value": ["tibr.pingcap.com/cleanup"]},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "other"}
    ]);
    let with_two = ok(with_one, second);
    assert_eq!(
        with_two["metadata"]["finalizers"],
        json!(["tibr.pingcap.com/cleanup", "other"])
    );
    let removal = json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "tibr.pingcap.com/cleanup"},
        {"op": "remove", "path": "/metadata/finalizers/0"}
    ]);
    let after = ok(with_two.clone(), removal.clone());
    assert_eq!(after["metadata"]["finalizers"], json!(["other"]));
    assert_eq!(
        unprocessable(after, removal),
        "testing value /metadata/finalizers/0 failed: test failed"
    );
}
