use serde_json::{Value, json};

use super::super::{builtin_merge_schema, custom_resource_merge_schema};
use super::tests::{T1, T2, T3, apply, config_map, cr, edit, lists_schema, managed, persisted};
use super::*;

#[test]
fn ordinary_writes_record_what_they_changed() {
    // A create through POST: everything the writer set is recorded; in a typed kind the
    // nested structs are not members themselves, maps and list items are.
    let pod_schema = builtin_merge_schema("", "Pod");
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": "p", "namespace": "n", "uid": "u", "labels": {"app": "x"}},
                         "spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Never"}});
    record_update(
        &Value::Null,
        &mut pod,
        "tibr-operator",
        T1,
        &pod_schema,
        None,
    );
    assert_eq!(
        managed(&pod)[0]["fieldsV1"],
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
               "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}}},
                          "f:restartPolicy": {}}})
    );
    // The same create of a custom resource records the objects too.
    let crd_schema = custom_resource_merge_schema(&json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"br": {"type": "object"}, "mode": {"type": "string"}}},
        "status": {"type": "object"},
    }}));
    let mut backup = json!({"apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
                            "metadata": {"name": "b", "namespace": "n", "uid": "u"},
                            "spec": {"br": {"cluster": "c"}, "mode": "snapshot"}});
    record_update(&Value::Null, &mut backup, "tibr", T1, &crd_schema, None);
    let created = backup.clone();
    assert_eq!(
        managed(&backup),
        json!([{"manager": "tibr", "operation": "Update", "apiVersion": "pingcap.com/v1alpha1", "time": T1,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {".": {}, "f:br": {".": {}, "f:cluster": {}}, "f:mode": {}}}}])
    );
    // A status write is its own entry, marked with the subresource.
    let mut with_status = created.clone();
    with_status["status"] = json!({"phase": "Running"});
    record_update(
        &created,
        &mut with_status,
        "tibr-controller",
        T2,
        &crd_schema,
        Some("status"),
    );
    assert_eq!(
        managed(&with_status)[1],
        json!({"manager": "tibr-controller", "operation": "Update", "apiVersion": "pingcap.com/v1alpha1",
               "time": T2, "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {".": {}, "f:phase": {}}},
               "subresource": "status"})
    );
    // A no-op write changes nothing, not even times.
    let mut same = with_status.clone();
    record_update(&with_status, &mut same, "someone", T3, &crd_schema, None);
    assert_eq!(same, with_status);
    // Removing a field takes it from its owner; an owner left with nothing is dropped.
    let mut removed = with_status.clone();
    removed["spec"].as_object_mut().unwrap().remove("mode");
    removed.as_object_mut().unwrap().remove("status");
    record_update(&with_status, &mut removed, "tibr", T3, &crd_schema, None);
    assert_eq!(
        managed(&removed),
        json!([{"manager": "tibr", "operation": "Update", "apiVersion": "pingcap.com/v1alpha1", "time": T1,
                "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {".": {}, "f:br": {".": {}, "f:cluster": {}}}}}])
    );
}

#[test]
fn managed_fields_can_be_reset_and_then_stay_untracked() {
    let live =
        persisted(apply(None, &config_map(json!({"a": "1"})), "kubectl", false, T1).unwrap());
    let reset = edit(&live, "kubectl", T2, |o| {
        o["metadata"]["managedFields"] = json!([])
    });
    assert!(reset["metadata"].get("managedFields").is_none());
    let later = edit(&reset, "kubectl-edit", T3, |o| o["data"]["a"] = json!("2"));
    assert!(later["metadata"].get("managedFields").is_none());
    let also_reset = edit(&live, "kubectl", T2, |o| {
        o["metadata"]["managedFields"] = json!([{}])
    });
    assert!(also_reset["metadata"].get("managedFields").is_none());
    // Entries sent back unchanged (a read-modify-write) are kept.
    let rmw = edit(&live, "kubectl-edit", T2, |o| o["data"]["b"] = json!("x"));
    assert_eq!(managed(&rmw).as_array().unwrap().len(), 2);
}

#[test]
fn update_managers_beyond_ten_fold_into_ancient_changes() {
    let mut live = persisted(apply(None, &config_map(json!({})), "kubectl", false, T1).unwrap());
    for i in 0..11 {
        let now = format!("2025-01-01T00:01:{i:02}Z");
        live = edit(&live, &format!("m{i:02}"), &now, |o| {
            o["data"][format!("k{i}")] = json!("v")
        });
    }
    let entries = managed(&live);
    let managers: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(
        managers,
        [
            "kubectl",
            "ancient-changes",
            "m02",
            "m03",
            "m04",
            "m05",
            "m06",
            "m07",
            "m08",
            "m09",
            "m10"
        ]
    );
    assert_eq!(
        entries[1]["fieldsV1"],
        json!({"f:data": {"f:k0": {}, "f:k1": {}}})
    );
    assert_eq!(entries[1]["time"], "2025-01-01T00:01:01Z");
}

#[test]
fn entries_are_kept_per_version_and_subresource() {
    let schema = lists_schema();
    let live = persisted(
        server_side_apply(
            None,
            &cr(json!({"tags": ["a"]})),
            "m",
            false,
            &schema,
            T1,
            None,
        )
        .unwrap(),
    );
    let mut v2 = live.clone();
    v2["apiVersion"] = json!("x.io/v2");
    v2["spec"]["tags"] = json!(["a", "b"]);
    record_update(&live, &mut v2, "m", T2, &schema, None);
    let status_cfg = json!({"apiVersion": "x.io/v2", "kind": "Thing", "metadata": {"name": "t"}, "status": {"ok": true}});
    let status = server_side_apply(
        Some(&v2),
        &status_cfg,
        "m",
        false,
        &schema,
        T3,
        Some("status"),
    )
    .unwrap();
    let summary: Vec<(String, String, String, String)> = managed(&status)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
            (
                s("manager"),
                s("operation"),
                s("apiVersion"),
                s("subresource"),
            )
        })
        .collect();
    let row = |a: &str, b: &str, c: &str, d: &str| (a.into(), b.into(), c.into(), d.into());
    assert_eq!(
        summary,
        [
            row("m", "Apply", "x.io/v1", "-"),
            row("m", "Apply", "x.io/v2", "status"),
            row("m", "Update", "x.io/v2", "-"),
        ]
    );
}
