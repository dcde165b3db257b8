use serde_json::{Value, json};

use super::super::{builtin_merge_schema, custom_resource_merge_schema};
use super::*;

pub(super) const T1: &str = "2025-01-01T00:00:01Z";
pub(super) const T2: &str = "2025-01-01T00:00:02Z";
pub(super) const T3: &str = "2025-01-01T00:00:03Z";

pub(super) fn cm_schema() -> Value {
    builtin_merge_schema("", "ConfigMap")
}

pub(super) fn config_map(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": data})
}

/// What the store adds when it persists a created object.
pub(super) fn persisted(mut obj: Value) -> Value {
    obj["metadata"]["uid"] = json!("uid-1");
    obj["metadata"]["resourceVersion"] = json!("1");
    obj
}

pub(super) fn apply(
    live: Option<&Value>,
    cfg: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    server_side_apply(live, cfg, manager, force, &cm_schema(), now, None)
}

pub(super) fn entry(manager: &str, op: &str, time: Option<&str>, fields: Value) -> Value {
    let mut e = json!({"manager": manager, "operation": op, "apiVersion": "v1"});
    if let Some(time) = time {
        e["time"] = json!(time);
    }
    e["fieldsType"] = json!("FieldsV1");
    e["fieldsV1"] = fields;
    e
}

pub(super) fn managed(obj: &Value) -> Value {
    obj["metadata"]
        .get("managedFields")
        .cloned()
        .unwrap_or(Value::Null)
}

pub(super) fn edit(
    live: &Value,
    manager: &str,
    now: &str,
    change: impl FnOnce(&mut Value),
) -> Value {
    let mut new = live.clone();
    change(&mut new);
    record_update(live, &mut new, manager, now, &cm_schema(), None);
    new
}

#[test]
fn apply_creates_and_records_the_applied_fields() {
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "c", "namespace": "ns", "labels": {"app": "x"}},
                     "data": {"a": "1", "b": "2"}});
    let out = apply(None, &cfg, "kubectl", false, T1).unwrap();
    let fields =
        json!({"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}});
    assert_eq!(
        managed(&out),
        json!([entry("kubectl", "Apply", Some(T1), fields)])
    );
    let mut without = out.clone();
    without["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    assert_eq!(without, cfg);
    assert_eq!(
        serde_json::to_string(&managed(&out)[0]).unwrap(),
        format!(
            r#"{{"manager":"kubectl","operation":"Apply","apiVersion":"v1","time":"{T1}","fieldsType":"FieldsV1","fieldsV1":{{"f:data":{{"f:a":{{}},"f:b":{{}}}},"f:metadata":{{"f:labels":{{"f:app":{{}}}}}}}}}}"#
        )
    );
}

#[test]
fn applying_the_same_configuration_twice_is_a_no_op() {
    let cfg = config_map(json!({"a": "1"}));
    let live = persisted(apply(None, &cfg, "kubectl", false, T1).unwrap());
    let again = apply(Some(&live), &cfg, "kubectl", false, T2).unwrap();
    assert_eq!(again, live);
}

#[test]
fn conflicts_shared_ownership_and_force() {
    let live = persisted(
        apply(
            None,
            &config_map(json!({"a": "1", "b": "1"})),
            "kubectl",
            false,
            T1,
        )
        .unwrap(),
    );
    let edited = edit(&live, "kubectl-edit", T2, |o| o["data"]["a"] = json!("2"));
    assert_eq!(
        managed(&edited),
        json!([
            entry("kubectl", "Apply", Some(T1), json!({"f:data": {"f:b": {}}})),
            entry(
                "kubectl-edit",
                "Update",
                Some(T2),
                json!({"f:data": {"f:a": {}}})
            ),
        ])
    );

    let err = apply(
        Some(&edited),
        &config_map(json!({"a": "3", "b": "1"})),
        "kubectl",
        false,
        T3,
    )
    .unwrap_err();
    let want = ApplyConflict {
        manager: "\"kubectl-edit\" using v1".into(),
        field: ".data.a".into(),
    };
    assert_eq!(err, ApplyError::Conflicts(vec![want.clone()]));
    assert_eq!(
        err.message(),
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.a"
    );
    assert_eq!(
        want.cause_message(),
        "conflict with \"kubectl-edit\" using v1"
    );

    // Applying the value that is already there shares the field instead of conflicting.
    let shared = apply(
        Some(&edited),
        &config_map(json!({"a": "2", "b": "1"})),
        "kubectl",
        false,
        T3,
    )
    .unwrap();
    assert_eq!(shared["data"], json!({"a": "2", "b": "1"}));
    assert_eq!(
        managed(&shared),
        json!([
            entry(
                "kubectl",
                "Apply",
                Some(T1),
                json!({"f:data": {"f:a": {}, "f:b": {}}})
            ),
            entry(
                "kubectl-edit",
                "Update",
                Some(T2),
                json!({"f:data": {"f:a": {}}})
            ),
        ])
    );

    // Forcing takes the field over; the editor is left with nothing and disappears.
    let forced = apply(
        Some(&edited),
        &config_map(json!({"a": "3", "b": "1"})),
        "kubectl",
        true,
        T3,
    )
    .unwrap();
    assert_eq!(forced["data"], json!({"a": "3", "b": "1"}));
    assert_eq!(
        managed(&forced),
        json!([entry(
            "kubectl",
            "Apply",
            Some(T3),
            json!({"f:data": {"f:a": {}, "f:b": {}}})
        )])
    );
}

#[test]
fn several_conflicts_are_grouped_by_manager() {
    let live = persisted(
        apply(
            None,
            &config_map(json!({"x": "1", "y": "1", "z": "1"})),
            "kubectl",
            false,
            T1,
        )
        .unwrap(),
    );
    let live = edit(&live, "b-editor", T2, |o| o["data"]["y"] = json!("2"));
    let live = edit(&live, "a-editor", T3, |o| {
        o["data"]["x"] = json!("2");
        o["data"]["z"] = json!("2");
    });
    let err = apply(
        Some(&live),
        &config_map(json!({"x": "9", "y": "9", "z": "9"})),
        "kubectl",
        false,
        T3,
    )
    .unwrap_err();
    assert_eq!(
        err.message(),
        "Apply failed with 3 conflicts: conflicts with \"a-editor\" using v1:\n- .data.x\n- .data.z\nconflicts with \"b-editor\" using v1:\n- .data.y"
    );
}

#[test]
fn fields_dropped_from_the_configuration_are_removed_unless_someone_else_owns_them() {
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "c", "labels": {"app": "x"}}, "data": {"a": "1", "b": "2"}});
    let live = persisted(apply(None, &cfg, "kubectl", false, T1).unwrap());
    // Another applier states b with the same value: both own it now.
    let helm_cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"b": "2"}});
    let live = apply(Some(&live), &helm_cfg, "helm", false, T2).unwrap();
    let slim =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
    let out = apply(Some(&live), &slim, "kubectl", false, T3).unwrap();
    assert_eq!(out["data"], json!({"b": "2"}));
    assert!(
        out["metadata"].get("labels").is_none(),
        "emptied labels map is removed: {out}"
    );
    assert_eq!(out["metadata"]["uid"], "uid-1");
    assert_eq!(
        managed(&out),
        json!([
            entry("helm", "Apply", None, json!({"f:data": {"f:b": {}}})),
            entry("kubectl", "Apply", Some(T3), json!({"f:data": {}})),
        ])
    );
}

#[test]
fn a_null_in_the_configuration_clears_the_field_but_owns_it() {
    let live = persisted(
        apply(
            None,
            &config_map(json!({"a": "1", "b": "2"})),
            "kubectl",
            false,
            T1,
        )
        .unwrap(),
    );
    let out = apply(
        Some(&live),
        &config_map(json!({"a": null, "b": "2"})),
        "kubectl",
        false,
        T2,
    )
    .unwrap();
    assert_eq!(out["data"], json!({"b": "2"}));
    assert_eq!(
        managed(&out)[0]["fieldsV1"],
        json!({"f:data": {"f:a": {}, "f:b": {}}})
    );
}

#[test]
fn objects_without_managed_fields_get_a_before_first_apply_owner() {
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "c", "uid": "u", "resourceVersion": "5"},
                      "data": {"a": "1", "b": "1"}});
    let err = apply(
        Some(&live),
        &config_map(json!({"a": "2"})),
        "kubectl",
        false,
        T2,
    )
    .unwrap_err();
    assert_eq!(
        err.message(),
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using v1: .data.a"
    );
    let out = apply(
        Some(&live),
        &config_map(json!({"a": "2"})),
        "kubectl",
        true,
        T2,
    )
    .unwrap();
    assert_eq!(out["data"], json!({"a": "2", "b": "1"}));
    assert_eq!(
        managed(&out),
        json!([
            entry("kubectl", "Apply", Some(T2), json!({"f:data": {"f:a": {}}})),
            entry(
                "before-first-apply",
                "Update",
                Some(T2),
                json!({"f:data": {".": {}, "f:b": {}}})
            ),
        ])
    );
}

#[test]
fn invalid_configurations_are_rejected() {
    let invalid = [
        json!({"kind": "ConfigMap", "metadata": {"name": "c"}}),
        json!({"apiVersion": "v1", "metadata": {"name": "c"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "managedFields": []}}),
        json!([]),
    ];
    for cfg in invalid {
        assert!(
            matches!(
                apply(None, &cfg, "m", false, T1),
                Err(ApplyError::Invalid(_))
            ),
            "{cfg}"
        );
    }
    let pod = builtin_merge_schema("", "Pod");
    let dup = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                     "spec": {"containers": [{"name": "a"}, {"name": "a"}]}});
    assert_eq!(
        server_side_apply(None, &dup, "m", false, &pod, T1, None),
        Err(ApplyError::Invalid(
            ".spec.containers[name=\"a\"]: duplicate entries for key".into()
        ))
    );
    let keyless = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                         "spec": {"containers": [{"image": "x"}]}});
    assert!(matches!(
        server_side_apply(None, &keyless, "m", false, &pod, T1, None),
        Err(ApplyError::Invalid(_))
    ));
}

#[test]
fn set_lists_are_owned_per_value() {
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["a"]}});
    let live = persisted(apply(None, &cfg, "op", false, T1).unwrap());
    let live = edit(&live, "ctrl", T2, |o| {
        o["metadata"]["finalizers"] = json!(["a", "b"])
    });
    assert_eq!(
        managed(&live),
        json!([
            entry(
                "op",
                "Apply",
                Some(T1),
                json!({"f:metadata": {"f:finalizers": {"v:\"a\"": {}}}})
            ),
            entry(
                "ctrl",
                "Update",
                Some(T2),
                json!({"f:metadata": {"f:finalizers": {"v:\"b\"": {}}}})
            ),
        ])
    );
    let bare = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let out = apply(Some(&live), &bare, "op", false, T3).unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
    assert_eq!(
        managed(&out),
        json!([entry(
            "ctrl",
            "Update",
            Some(T2),
            json!({"f:metadata": {"f:finalizers": {"v:\"b\"": {}}}})
        )])
    );
}

pub(super) fn lists_schema() -> Value {
    custom_resource_merge_schema(
        &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "args": {"type": "array", "items": {"type": "string"}},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "selector": {"type": "object", "x-kubernetes-map-type": "atomic"},
        }}}}),
    )
}

pub(super) fn cr(spec: Value) -> Value {
    json!({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": spec})
}

#[test]
fn list_and_map_types_drive_merging_and_ownership() {
    let schema = lists_schema();
    let first = cr(
        json!({"items": [{"name": "a", "v": 1}, {"name": "b"}, {"name": "c"}],
                         "tags": ["x", "y"], "args": ["1", "2"],
                         "extra": {"k": {"deep": 1}}, "selector": {"m": "1"}}),
    );
    let live = persisted(server_side_apply(None, &first, "one", false, &schema, T1, None).unwrap());
    assert_eq!(
        managed(&live)[0]["fieldsV1"],
        json!({"f:spec": {
            "f:args": {},
            "f:extra": {"f:k": {".": {}, "f:deep": {}}},
            "f:items": {"k:{\"name\":\"a\"}": {".": {}, "f:name": {}, "f:v": {}},
                        "k:{\"name\":\"b\"}": {".": {}, "f:name": {}},
                        "k:{\"name\":\"c\"}": {".": {}, "f:name": {}}},
            "f:selector": {},
            "f:tags": {"v:\"x\"": {}, "v:\"y\"": {}},
        }})
    );
    // A second applier: keyed items and set values merge, atomic values replace, and
    // shared items follow the second applier's order.
    let second = cr(
        json!({"items": [{"name": "c"}, {"name": "a", "w": 2}, {"name": "d"}],
                          "tags": ["z"], "args": ["1", "2"], "selector": {"m": "1"}}),
    );
    let out = server_side_apply(Some(&live), &second, "two", false, &schema, T2, None).unwrap();
    assert_eq!(
        out["spec"],
        json!({"items": [{"name": "b"}, {"name": "c"}, {"name": "a", "v": 1, "w": 2}, {"name": "d"}],
               "tags": ["x", "y", "z"], "args": ["1", "2"], "extra": {"k": {"deep": 1}}, "selector": {"m": "1"}})
    );
    let err = server_side_apply(
        Some(&live),
        &cr(json!({"args": ["3"], "selector": {"n": "2"}})),
        "two",
        false,
        &schema,
        T2,
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.message(),
        "Apply failed with 2 conflicts: conflicts with \"one\":\n- .spec.args\n- .spec.selector"
    );
}

#[test]
fn typed_pod_paths_in_ownership_and_conflicts() {
    let schema = builtin_merge_schema("", "Pod");
    let cfg = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                     "spec": {"containers": [{"name": "c", "image": "i:1", "ports": [{"containerPort": 80}],
                                              "resources": {"limits": {"cpu": "1"}}}]}});
    let live =
        persisted(server_side_apply(None, &cfg, "kubectl", false, &schema, T1, None).unwrap());
    // The defaulted second key of the port list shows up in the item's identity.
    assert_eq!(
        managed(&live)[0]["fieldsV1"],
        json!({"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {
            ".": {}, "f:image": {}, "f:name": {},
            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}},
            "f:resources": {"f:limits": {"f:cpu": {}}},
        }}}})
    );
    let mut edited = live.clone();
    edited["spec"]["containers"][0]["image"] = json!("i:2");
    edited["spec"]["containers"][0]["resources"]["limits"]["memory"] = json!("1Gi");
    record_update(&live, &mut edited, "kubectl-edit", T2, &schema, None);
    assert_eq!(
        managed(&edited)[1]["fieldsV1"],
        json!({"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {
            "f:image": {}, "f:resources": {"f:limits": {"f:memory": {}}},
        }}}})
    );
    let mut changed = cfg.clone();
    changed["spec"]["containers"][0]["image"] = json!("i:3");
    let err = server_side_apply(Some(&edited), &changed, "kubectl", false, &schema, T3, None)
        .unwrap_err();
    assert_eq!(
        err.message(),
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .spec.containers[name=\"c\"].image"
    );
    // An existing object may be applied to without restating its name.
    let nameless = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": "b"}}});
    let out = server_side_apply(
        Some(&edited),
        &nameless,
        "labeler",
        false,
        &schema,
        T3,
        None,
    )
    .unwrap();
    assert_eq!(out["metadata"]["name"], "p");
    assert_eq!(out["metadata"]["labels"], json!({"a": "b"}));
    // Dropping the labels again prunes them but never the object's identity.
    let bare = json!({"apiVersion": "v1", "kind": "Pod"});
    let out = server_side_apply(Some(&out), &bare, "labeler", false, &schema, T3, None).unwrap();
    assert!(out["metadata"].get("labels").is_none(), "{out}");
    assert_eq!(
        (&out["metadata"]["name"], &out["metadata"]["uid"]),
        (&json!("p"), &json!("uid-1"))
    );
}
