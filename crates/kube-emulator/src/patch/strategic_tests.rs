use serde_json::{Value, json};

use super::super::builtin_merge_schema;
use super::*;

fn pod_with(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

fn patched(doc: &Value, patch: Value) -> Value {
    let schema = builtin_merge_schema("", "Pod");
    strategic_merge_patch(doc, &patch, &schema).unwrap_or_else(|e| panic!("{patch}: {e:?}"))
}

fn names(list: &Value) -> Vec<String> {
    let list = list.as_array().expect("a list");
    list.iter()
        .map(|i| {
            i.get("name")
                .map_or_else(|| i.to_string(), |n| n.as_str().unwrap().to_string())
        })
        .collect()
}

fn two_containers() -> Value {
    pod_with(json!({"containers": [
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
        {"name": "b", "image": "b:1"},
    ]}))
}

#[test]
fn kubectl_apply_shapes_on_containers() {
    let doc = two_containers();
    let cases = [
        // An image change, as `kubectl apply` sends it.
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                            "containers": [{"name": "b", "image": "b:2"}]}}),
            json!([
                {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                {"name": "b", "image": "b:2"},
            ]),
        ),
        // A container removed from the manifest.
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}],
                            "containers": [{"$patch": "delete", "name": "b"}]}}),
            json!([{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]),
        ),
        // A container added at the end of the manifest.
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
                            "containers": [{"name": "c", "image": "c:1"}]}}),
            json!([
                {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                {"name": "b", "image": "b:1"},
                {"name": "c", "image": "c:1"},
            ]),
        ),
        // A nested keyed list: env Y dropped, Z added, order from the manifest.
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                            "containers": [{"name": "a",
                                            "$setElementOrder/env": [{"name": "Z"}, {"name": "X"}],
                                            "env": [{"name": "Z", "value": "3"}, {"$patch": "delete", "name": "Y"}]}]}}),
            json!([
                {"name": "a", "image": "a:1", "env": [{"name": "Z", "value": "3"}, {"name": "X", "value": "1"}]},
                {"name": "b", "image": "b:1"},
            ]),
        ),
        // A field removed from a container (null deletes).
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                            "containers": [{"name": "a", "env": null}]}}),
            json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]),
        ),
    ];
    for (patch, want) in cases {
        assert_eq!(
            patched(&doc, patch.clone())["spec"]["containers"],
            want,
            "{patch}"
        );
    }
}

#[test]
fn list_order_rules() {
    let doc = pod_with(json!({"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}));
    let cases = [
        // Without $setElementOrder, items the live list lacks go in front (upstream quirk).
        (
            json!({"spec": {"containers": [{"name": "n"}]}}),
            vec!["n", "a", "b", "c"],
        ),
        (
            json!({"spec": {"containers": [{"name": "b", "image": "x"}, {"name": "n"}]}}),
            vec!["a", "b", "n", "c"],
        ),
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}}),
            vec!["c", "a", "b"],
        ),
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}),
            vec!["b", "a", "c"],
        ),
    ];
    for (patch, want) in cases {
        assert_eq!(
            names(&patched(&doc, patch.clone())["spec"]["containers"]),
            want,
            "{patch}"
        );
    }
    // Server-only items keep their place relative to the live list.
    let doc = pod_with(
        json!({"containers": [{"name": "1", "x": "a"}, {"name": "2"}, {"name": "9"}, {"name": "3"}, {"name": "4"}]}),
    );
    let patch = json!({"spec": {"$setElementOrder/containers": [{"name": "2"}, {"name": "1"}, {"name": "4"}, {"name": "3"}]}});
    assert_eq!(
        names(&patched(&doc, patch)["spec"]["containers"]),
        ["2", "1", "9", "4", "3"]
    );
}

#[test]
fn primitive_lists_with_merge_strategy_are_sets() {
    let doc = json!({"metadata": {"name": "p", "finalizers": ["a", "b", "c"]}});
    let cases = [
        (
            json!({"metadata": {"finalizers": ["d"]}}),
            json!(["d", "a", "b", "c"]),
        ),
        (
            json!({"metadata": {"finalizers": ["b", "d"]}}),
            json!(["a", "b", "d", "c"]),
        ),
        (
            json!({"metadata": {"$setElementOrder/finalizers": ["a", "b", "c", "d"], "finalizers": ["d"]}}),
            json!(["a", "b", "c", "d"]),
        ),
        (
            json!({"metadata": {"$setElementOrder/finalizers": ["a", "c"], "$deleteFromPrimitiveList/finalizers": ["b"]}}),
            json!(["a", "c"]),
        ),
        (
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zz"]}}),
            json!(["b", "c"]),
        ),
        (json!({"metadata": {"finalizers": null}}), Value::Null),
    ];
    for (patch, want) in cases {
        let out = patched(&doc, patch.clone());
        assert_eq!(
            out["metadata"]
                .get("finalizers")
                .cloned()
                .unwrap_or(Value::Null),
            want,
            "{patch}"
        );
    }
    // Deleting from a list that does not exist does not create it.
    let out = patched(
        &json!({"metadata": {"name": "p"}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
    );
    assert_eq!(out, json!({"metadata": {"name": "p"}}));
}

#[test]
fn retain_keys_switches_a_volume_source() {
    let doc = pod_with(
        json!({"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "secret": {"secretName": "s"}}]}),
    );
    let patch = json!({"spec": {
        "$setElementOrder/volumes": [{"name": "v"}, {"name": "w"}],
        "volumes": [{"$retainKeys": ["hostPath", "name"], "emptyDir": null, "hostPath": {"path": "/x"}, "name": "v"}],
    }});
    let out = patched(&doc, patch);
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "v", "hostPath": {"path": "/x"}}, {"name": "w", "secret": {"secretName": "s"}}])
    );
    // $retainKeys alone also clears unlisted fields.
    let out = patched(
        &doc,
        json!({"spec": {"volumes": [{"name": "w", "$retainKeys": ["name"]}]}}),
    );
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "v", "emptyDir": {}}, {"name": "w"}])
    );
    // A field in the patch but not in $retainKeys is a malformed patch.
    let schema = builtin_merge_schema("", "Pod");
    let bad = json!({"spec": {"volumes": [{"name": "v", "$retainKeys": ["name"], "hostPath": {"path": "/x"}}]}});
    assert_eq!(
        strategic_merge_patch(&doc, &bad, &schema),
        Err(PatchError::BadRequest(
            "invalid patch format of retainKeys".into()
        ))
    );
}

#[test]
fn maps_merge_and_directives_apply() {
    let doc = json!({
        "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "annotations": {"k": "v"}},
        "spec": {"dnsConfig": {"nameservers": ["1.1.1.1"]}, "tolerations": [{"key": "x"}, {"key": "y"}],
                 "nodeSelector": {"zone": "a"}},
    });
    let cases = [
        (
            json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
            json!({"name": "p", "labels": {"b": "2", "c": "3"}, "annotations": {"k": "v"}}),
            "metadata",
        ),
        (
            json!({"metadata": {"labels": {"$patch": "replace", "z": "9"}}}),
            json!({"name": "p", "labels": {"z": "9"}, "annotations": {"k": "v"}}),
            "metadata",
        ),
        (
            json!({"metadata": {"annotations": {"$patch": "delete"}}}),
            json!({"name": "p", "labels": {"a": "1", "b": "2"}, "annotations": {}}),
            "metadata",
        ),
        (
            json!({"spec": {"tolerations": [{"key": "z"}]}}),
            json!({"dnsConfig": {"nameservers": ["1.1.1.1"]}, "tolerations": [{"key": "z"}], "nodeSelector": {"zone": "a"}}),
            "spec",
        ),
        (
            json!({"spec": {"dnsConfig": {"nameservers": ["8.8.8.8"]}}}),
            json!({"dnsConfig": {"nameservers": ["8.8.8.8"]}, "tolerations": [{"key": "x"}, {"key": "y"}], "nodeSelector": {"zone": "a"}}),
            "spec",
        ),
        (
            json!({"spec": {"nodeSelector": {"disk": "ssd"}}}),
            json!({"dnsConfig": {"nameservers": ["1.1.1.1"]}, "tolerations": [{"key": "x"}, {"key": "y"}], "nodeSelector": {"zone": "a", "disk": "ssd"}}),
            "spec",
        ),
        (
            json!({"spec": {"dnsConfig": "oops"}}),
            json!({"dnsConfig": "oops", "tolerations": [{"key": "x"}, {"key": "y"}], "nodeSelector": {"zone": "a"}}),
            "spec",
        ),
        (
            json!({"spec": {"$unknown": 1, "dnsConfig": null}}),
            json!({"tolerations": [{"key": "x"}, {"key": "y"}], "nodeSelector": {"zone": "a"}}),
            "spec",
        ),
    ];
    for (patch, want, part) in cases {
        assert_eq!(patched(&doc, patch.clone())[part], want, "{patch}");
    }
    assert_eq!(patched(&doc, Value::Null), doc);
}

#[test]
fn keyed_lists_replace_and_merge() {
    let doc = pod_with(
        json!({"containers": [{"name": "a", "image": "a:1", "ports": [{"containerPort": 80, "name": "http"}]}]}),
    );
    let out = patched(
        &doc,
        json!({"spec": {"containers": [{"name": "z", "image": "z:1"}, {"$patch": "replace"}]}}),
    );
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "z", "image": "z:1"}])
    );
    let out = patched(
        &doc,
        json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 90}]}]}}),
    );
    assert_eq!(
        out["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 90}])
    );
    let owners = json!({"metadata": {"name": "p", "ownerReferences": [{"uid": "1", "kind": "A"}, {"uid": "2", "kind": "B"}]}});
    let out = patched(
        &owners,
        json!({"metadata": {"ownerReferences": [{"uid": "2", "controller": true}, {"uid": "1", "$patch": "delete"}]}}),
    );
    assert_eq!(
        out["metadata"]["ownerReferences"],
        json!([{"uid": "2", "kind": "B", "controller": true}])
    );
}

#[test]
fn values_for_absent_fields_lose_their_directives() {
    let doc = pod_with(json!({"containers": [{"name": "a"}]}));
    let patch = json!({"spec": {
        "volumes": [{"name": "v", "$retainKeys": ["emptyDir", "name"], "emptyDir": {}}, {"name": "gone", "$patch": "delete"}],
        "$setElementOrder/initContainers": [{"name": "i"}],
        "initContainers": [{"name": "i", "image": "i:1", "args": null}],
        "securityContext": {"runAsUser": 1, "fsGroup": null},
    }});
    let out = patched(&doc, patch);
    assert_eq!(
        out["spec"],
        json!({
            "containers": [{"name": "a"}],
            "volumes": [{"name": "v", "emptyDir": {}}],
            "initContainers": [{"name": "i", "image": "i:1"}],
            "securityContext": {"runAsUser": 1},
        })
    );
}

#[test]
fn errors_have_the_api_server_classes() {
    let schema = builtin_merge_schema("", "Pod");
    let doc = two_containers();
    let internal = [
        json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}),
        json!({"spec": {"containers": [{"image": "no-name"}]}}),
        json!({"spec": {"containers": [{"$patch": "delete"}]}}),
        json!({"metadata": {"labels": {"$patch": "frobnicate"}}}),
        json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "b", "image": "x"}]}}),
        json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}], "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}),
        json!({"spec": {"containers": ["a"]}}),
    ];
    for patch in internal {
        let got = strategic_merge_patch(&doc, &patch, &schema);
        assert!(
            matches!(got, Err(PatchError::Internal(_))),
            "{patch}: {got:?}"
        );
    }
    let doc_with_lists = json!({"metadata": {"finalizers": [["x"]]}});
    assert_eq!(
        strategic_merge_patch(
            &doc_with_lists,
            &json!({"metadata": {"finalizers": [["y"]]}}),
            &schema
        ),
        Err(PatchError::Unprocessable(
            "lists of lists are not supported".into()
        ))
    );
    let bad_requests = [
        json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
        json!({"metadata": {"$setElementOrderfinalizers": ["a"]}}),
        json!({"metadata": {"labels": {"$retainKeys": "a"}}}),
    ];
    for patch in bad_requests {
        let got = strategic_merge_patch(&doc, &patch, &schema);
        assert!(
            matches!(got, Err(PatchError::BadRequest(_))),
            "{patch}: {got:?}"
        );
    }
    assert!(matches!(
        strategic_merge_patch(&doc, &json!([]), &schema),
        Err(PatchError::BadRequest(_))
    ));
    let msg = match strategic_merge_patch(
        &doc,
        &json!({"metadata": {"labels": {"$patch": "x"}}}),
        &schema,
    ) {
        Err(PatchError::Internal(msg)) => msg,
        other => panic!("{other:?}"),
    };
    assert_eq!(msg, r#"unknown patch type: x in map: {"$patch":"x"}"#);
}

#[test]
fn job_pod_template_uses_pod_rules() {
    let schema = builtin_merge_schema("batch", "Job");
    let doc = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b"}]}}}});
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "2"}]}}}});
    let out = strategic_merge_patch(&doc, &patch, &schema).unwrap();
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "a", "image": "2"}, {"name": "b"}])
    );
    // Unknown kinds know nothing, so lists are replaced.
    let out = strategic_merge_patch(&doc, &patch, &Value::Null).unwrap();
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "a", "image": "2"}])
    );
}
