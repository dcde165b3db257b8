//! Merge skeletons of the built-in kinds the emulator serves: only the paths whose patch
//! strategy, merge key or list type differs from the defaults (maps merge, lists are atomic).
//!
//! The annotations are those of the upstream Go struct tags (`patchStrategy`,
//! `patchMergeKey`, `+listType`, `+listMapKey`, `+mapType`, `+structType`) in
//! `k8s.io/api` and `k8s.io/apiextensions-apiserver`. Note the cases where the two kinds of
//! annotation disagree upstream and are kept that way: `status.hostIPs` and Job
//! `status.conditions` merge by key under strategic merge patch but are atomic lists for
//! server-side apply; ServiceAccount `imagePullSecrets` has no merge key at all.

use serde_json::{Value, json};

use super::schema::{ALWAYS_PRESENT_MARKER, TYPED_MARKER};

fn object(properties: Value) -> Value {
    json!({"type": "object", "properties": properties})
}

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}

fn atomic_struct() -> Value {
    json!({"type": "object", "x-kubernetes-map-type": "atomic"})
}

fn atomic_list() -> Value {
    json!({"type": "array", "x-kubernetes-list-type": "atomic"})
}

/// A list of maps merged by `merge_key` under strategic merge patch (with `strategy`) and
/// keyed by `keys` under server-side apply.
fn keyed_list(items: Value, merge_key: &str, strategy: &str, keys: &[&str]) -> Value {
    json!({
        "type": "array",
        "items": items,
        "x-kubernetes-patch-merge-key": merge_key,
        "x-kubernetes-patch-strategy": strategy,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": keys,
    })
}

fn conditions() -> Value {
    keyed_list(json!({"type": "object"}), "type", "merge", &["type"])
}

/// `metav1.ObjectMeta`.
fn object_meta() -> Value {
    object(json!({
        "labels": string_map(),
        "annotations": string_map(),
        "finalizers": {
            "type": "array",
            "items": {"type": "string"},
            "x-kubernetes-patch-strategy": "merge",
            "x-kubernetes-list-type": "set",
        },
        "ownerReferences": keyed_list(json!({"type": "object"}), "uid", "merge", &["uid"]),
        "managedFields": atomic_list(),
    }))
}

/// `metav1.LabelSelector` is `+structType=atomic`.
fn label_selector() -> Value {
    atomic_struct()
}

fn container() -> Value {
    let port = object(json!({
        // The second list-map key has a default, so applied configurations may omit it.
        "protocol": {"type": "string", "default": "TCP"},
    }));
    object(json!({
        "command": atomic_list(),
        "args": atomic_list(),
        "envFrom": atomic_list(),
        "resizePolicy": atomic_list(),
        "ports": keyed_list(port, "containerPort", "merge", &["containerPort", "protocol"]),
        "env": keyed_list(json!({"type": "object"}), "name", "merge", &["name"]),
        "volumeMounts": keyed_list(json!({"type": "object"}), "mountPath", "merge", &["mountPath"]),
        "volumeDevices": keyed_list(json!({"type": "object"}), "devicePath", "merge", &["devicePath"]),
        "resources": object(json!({
            "limits": string_map(),
            "requests": string_map(),
            "claims": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
        })),
    }))
}

/// Marks a field the Go type serializes without `omitempty`.
fn never_omitted(mut schema: Value) -> Value {
    schema[ALWAYS_PRESENT_MARKER] = Value::Bool(true);
    schema
}

fn pod_spec() -> Value {
    object(json!({
        "volumes": keyed_list(json!({"type": "object"}), "name", "merge,retainKeys", &["name"]),
        "initContainers": keyed_list(container(), "name", "merge", &["name"]),
        "containers": never_omitted(keyed_list(container(), "name", "merge", &["name"])),
        "ephemeralContainers": keyed_list(container(), "name", "merge", &["name"]),
        "imagePullSecrets": keyed_list(json!({"type": "object"}), "name", "merge", &["name"]),
        "hostAliases": keyed_list(
            object(json!({"hostnames": atomic_list()})),
            "ip",
            "merge",
            &["ip"]
        ),
        "tolerations": atomic_list(),
        "readinessGates": atomic_list(),
        "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}, "x-kubernetes-map-type": "atomic"},
        "topologySpreadConstraints": keyed_list(
            json!({"type": "object"}),
            "topologyKey",
            "merge",
            &["topologyKey", "whenUnsatisfiable"]
        ),
        "schedulingGates": keyed_list(json!({"type": "object"}), "name", "merge", &["name"]),
        "resourceClaims": keyed_list(json!({"type": "object"}), "name", "merge,retainKeys", &["name"]),
        "dnsConfig": object(json!({
            "nameservers": atomic_list(),
            "searches": atomic_list(),
            "options": atomic_list(),
        })),
    }))
}

fn pod_status() -> Value {
    object(json!({
        "conditions": conditions(),
        "podIPs": keyed_list(json!({"type": "object"}), "ip", "merge", &["ip"]),
        "hostIPs": {
            "type": "array",
            "x-kubernetes-patch-merge-key": "ip",
            "x-kubernetes-patch-strategy": "merge",
            "x-kubernetes-list-type": "atomic",
        },
        "initContainerStatuses": atomic_list(),
        "containerStatuses": atomic_list(),
        "ephemeralContainerStatuses": atomic_list(),
    }))
}

fn pod_template() -> Value {
    object(json!({"metadata": object_meta(), "spec": pod_spec()}))
}

fn kind_body(group: &str, kind: &str) -> Option<Value> {
    let group = if group == "core" { "" } else { group };
    let body = match (group, kind) {
        ("", "Pod") => json!({"spec": pod_spec(), "status": pod_status()}),
        ("", "Namespace") => json!({
            "spec": object(json!({"finalizers": atomic_list()})),
            "status": object(json!({"conditions": conditions()})),
        }),
        ("", "Secret") => json!({"data": string_map(), "stringData": string_map()}),
        ("", "ConfigMap") => json!({"data": string_map(), "binaryData": string_map()}),
        ("", "ServiceAccount") => json!({
            "secrets": keyed_list(json!({"type": "object"}), "name", "merge", &["name"]),
            "imagePullSecrets": atomic_list(),
        }),
        ("", "Event") | ("events.k8s.io", "Event") => json!({}),
        ("", "PersistentVolumeClaim") => json!({
            "spec": object(json!({"accessModes": atomic_list(), "selector": label_selector()})),
            "status": object(json!({
                "accessModes": atomic_list(),
                "conditions": conditions(),
                "allocatedResources": string_map(),
                "allocatedResourceStatuses": string_map(),
            })),
        }),
        ("", "PersistentVolume") => json!({
            "spec": object(json!({
                "accessModes": atomic_list(),
                "mountOptions": atomic_list(),
                "capacity": string_map(),
            })),
        }),
        ("batch", "Job") => json!({
            "spec": object(json!({
                "selector": label_selector(),
                "template": pod_template(),
                "podFailurePolicy": object(json!({"rules": atomic_list()})),
                "successPolicy": object(json!({"rules": atomic_list()})),
            })),
            "status": object(json!({
                "conditions": {
                    "type": "array",
                    "x-kubernetes-patch-merge-key": "type",
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-list-type": "atomic",
                },
                "uncountedTerminatedPods": object(json!({
                    "succeeded": {"type": "array", "x-kubernetes-list-type": "set"},
                    "failed": {"type": "array", "x-kubernetes-list-type": "set"},
                })),
            })),
        }),
        ("coordination.k8s.io", "Lease") => json!({}),
        ("rbac.authorization.k8s.io", "Role") => json!({"rules": atomic_list()}),
        ("rbac.authorization.k8s.io", "ClusterRole") => json!({
            "rules": atomic_list(),
            "aggregationRule": object(json!({"clusterRoleSelectors": atomic_list()})),
        }),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => json!({
            "subjects": atomic_list(),
            "roleRef": atomic_struct(),
        }),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => json!({
            "spec": object(json!({
                "versions": atomic_list(),
                "names": object(json!({"shortNames": atomic_list(), "categories": atomic_list()})),
                "conversion": object(json!({
                    "webhook": object(json!({"conversionReviewVersions": atomic_list()})),
                })),
            })),
            "status": object(json!({
                "conditions": never_omitted(json!({
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                })),
                "acceptedNames": object(json!({"shortNames": atomic_list(), "categories": atomic_list()})),
                "storedVersions": atomic_list(),
            })),
        }),
        _ => return None,
    };
    Some(body)
}

/// The merge schema of a built-in kind (`group` is `""` or `"core"` for the core group).
/// For any other kind the result only describes `metadata` and is marked as untyped, which
/// is the right base for a custom resource; see [`custom_resource_merge_schema`].
pub(crate) fn builtin_merge_schema(group: &str, kind: &str) -> Value {
    let Some(Value::Object(mut properties)) = kind_body(group, kind) else {
        return object(json!({"metadata": object_meta()}));
    };
    properties.insert("metadata".into(), object_meta());
    let mut schema = object(Value::Object(properties));
    schema[TYPED_MARKER] = Value::Bool(true);
    schema
}

/// A custom resource's merge schema: its CRD's structural `openAPIV3Schema` with the
/// `metadata` annotations every object shares (CRD schemas may not describe metadata).
pub(crate) fn custom_resource_merge_schema(open_api_v3: &Value) -> Value {
    let mut schema = match open_api_v3 {
        Value::Object(_) => open_api_v3.clone(),
        _ => json!({"type": "object"}),
    };
    if !schema.get("properties").is_some_and(Value::is_object) {
        schema["properties"] = json!({});
    }
    schema["properties"]["metadata"] = object_meta();
    schema
}

#[cfg(test)]
mod tests {
    use super::super::schema::{
        ListType, child, items, list_type, patch_merge_key, patch_strategy,
    };
    use super::*;

    fn at<'a>(schema: &'a Value, path: &[&str]) -> &'a Value {
        path.iter().fold(schema, |node, step| {
            if *step == "[]" {
                items(node)
            } else {
                child(node, step)
            }
        })
    }

    #[test]
    fn pod_paths_carry_the_upstream_tags() {
        let pod = builtin_merge_schema("", "Pod");
        let map = |keys: &[&str]| ListType::Map(keys.iter().map(|k| k.to_string()).collect());
        type Case<'a> = (
            Vec<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            bool,
            ListType,
        );
        let cases: Vec<Case> = vec![
            (
                vec!["metadata", "finalizers"],
                Some("merge"),
                None,
                false,
                ListType::Set,
            ),
            (
                vec!["metadata", "ownerReferences"],
                Some("merge"),
                Some("uid"),
                false,
                map(&["uid"]),
            ),
            (
                vec!["metadata", "managedFields"],
                None,
                None,
                false,
                ListType::Atomic,
            ),
            (
                vec!["spec", "containers"],
                Some("merge"),
                Some("name"),
                false,
                map(&["name"]),
            ),
            (
                vec!["spec", "initContainers"],
                Some("merge"),
                Some("name"),
                false,
                map(&["name"]),
            ),
            (
                vec!["spec", "ephemeralContainers"],
                Some("merge"),
                Some("name"),
                false,
                map(&["name"]),
            ),
            (
                vec!["spec", "containers", "[]", "env"],
                Some("merge"),
                Some("name"),
                false,
                map(&["name"]),
            ),
            (
                vec!["spec", "containers", "[]", "ports"],
                Some("merge"),
                Some("containerPort"),
                false,
                map(&["containerPort", "protocol"]),
            ),
            (
                vec!["spec", "containers", "[]", "volumeMounts"],
                Some("merge"),
                Some("mountPath"),
                false,
                map(&["mountPath"]),
            ),
            (
                vec!["spec", "containers", "[]", "volumeDevices"],
                Some("merge"),
                Some("devicePath"),
                false,
                map(&["devicePath"]),
            ),
            (
                vec!["spec", "volumes"],
                Some("merge"),
                Some("name"),
                true,
                map(&["name"]),
            ),
            (
                vec!["spec", "imagePullSecrets"],
                Some("merge"),
                Some("name"),
                false,
                map(&["name"]),
            ),
            (
                vec!["spec", "hostAliases"],
                Some("merge"),
                Some("ip"),
                false,
                map(&["ip"]),
            ),
            (
                vec!["spec", "tolerations"],
                None,
                None,
                false,
                ListType::Atomic,
            ),
            (
                vec!["status", "conditions"],
                Some("merge"),
                Some("type"),
                false,
                map(&["type"]),
            ),
            (
                vec!["status", "containerStatuses"],
                None,
                None,
                false,
                ListType::Atomic,
            ),
            (
                vec!["status", "hostIPs"],
                Some("merge"),
                Some("ip"),
                false,
                ListType::Atomic,
            ),
        ];
        for (path, strategy, key, retain, list) in cases {
            let node = at(&pod, &path);
            assert_eq!(patch_strategy(node), (strategy, retain), "{path:?}");
            assert_eq!(patch_merge_key(node), key, "{path:?}");
            assert_eq!(list_type(node), list, "{path:?}");
        }
        assert_eq!(
            at(
                &pod,
                &["spec", "containers", "[]", "ports", "[]", "protocol"]
            )["default"],
            "TCP"
        );
        assert_eq!(pod[TYPED_MARKER], true);
    }

    #[test]
    fn other_kinds_carry_the_upstream_tags() {
        let job = builtin_merge_schema("batch", "Job");
        let containers = at(&job, &["spec", "template", "spec", "containers"]);
        assert_eq!(patch_merge_key(containers), Some("name"));
        assert_eq!(
            list_type(at(&job, &["status", "conditions"])),
            ListType::Atomic
        );
        assert_eq!(
            patch_merge_key(at(&job, &["status", "conditions"])),
            Some("type")
        );
        let sa = builtin_merge_schema("core", "ServiceAccount");
        assert_eq!(patch_merge_key(at(&sa, &["secrets"])), Some("name"));
        assert_eq!(list_type(at(&sa, &["imagePullSecrets"])), ListType::Atomic);
        let binding = builtin_merge_schema("rbac.authorization.k8s.io", "RoleBinding");
        assert_eq!(
            at(&binding, &["roleRef"])["x-kubernetes-map-type"],
            "atomic"
        );
        let crd = builtin_merge_schema("apiextensions.k8s.io", "CustomResourceDefinition");
        assert_eq!(patch_merge_key(at(&crd, &["status", "conditions"])), None);
        assert_eq!(
            list_type(at(&crd, &["status", "conditions"])),
            ListType::Map(vec!["type".into()])
        );
        for (group, kind) in [
            ("", "Namespace"),
            ("", "Secret"),
            ("", "ConfigMap"),
            ("", "Event"),
            ("events.k8s.io", "Event"),
            ("", "PersistentVolumeClaim"),
            ("", "PersistentVolume"),
            ("coordination.k8s.io", "Lease"),
            ("rbac.authorization.k8s.io", "Role"),
            ("rbac.authorization.k8s.io", "ClusterRole"),
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ] {
            let schema = builtin_merge_schema(group, kind);
            assert_eq!(schema[TYPED_MARKER], true, "{group}/{kind}");
            assert_eq!(
                list_type(at(&schema, &["metadata", "finalizers"])),
                ListType::Set
            );
        }
    }

    #[test]
    fn unknown_kinds_get_untyped_metadata_only() {
        let schema = builtin_merge_schema("pingcap.com", "Backup");
        assert!(schema.get(TYPED_MARKER).is_none());
        assert_eq!(
            list_type(at(&schema, &["metadata", "finalizers"])),
            ListType::Set
        );
        let cr = custom_resource_merge_schema(
            &json!({"type": "object", "properties": {"spec": {"type": "object"}}}),
        );
        assert_eq!(cr["properties"]["spec"], json!({"type": "object"}));
        assert_eq!(
            patch_merge_key(at(&cr, &["metadata", "ownerReferences"])),
            Some("uid")
        );
    }
}
