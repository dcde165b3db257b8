//! The Swagger 2.0 document: the CRD schema reduced the way the server reduces it, and the
//! constraints kubectl's v2 parser (kube-openapi `proto.NewOpenAPIData`) imposes.

use serde_json::{Map, Value, json};

use super::*;
use crate::openapi::v2_document;

const BACKUP_DEF: &str = "/definitions/com.pingcap.v1alpha1.Backup";

fn doc() -> Value {
    v2_document(&all_resources())
}

fn spec_prop(doc: &Value, name: &str) -> Value {
    at(
        doc,
        &format!("{BACKUP_DEF}/properties/spec/properties/{name}"),
    )
    .clone()
}

/// Calls `f` on every schema reachable through properties, items and additionalProperties.
fn walk(schema: &Value, path: &str, f: &mut dyn FnMut(&str, &Map<String, Value>)) {
    let Some(map) = schema.as_object() else {
        return;
    };
    f(path, map);
    if let Some(Value::Object(props)) = map.get("properties") {
        for (name, sub) in props {
            walk(sub, &format!("{path}.{name}"), f);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = map.get(key) {
            walk(sub, &format!("{path}[{key}]"), f);
        }
    }
}

#[test]
fn nullable_fields_lose_their_type_and_requiredness() {
    let doc = doc();
    assert_eq!(
        spec_prop(&doc, "cleanPolicy"),
        json!({"description": "What to do with the data on deletion."})
    );
    assert_eq!(
        at(&doc, &format!("{BACKUP_DEF}/properties/spec/required")),
        &json!(["br", "backupType"])
    );
}

#[test]
fn junctors_defaults_and_non_structural_keywords_are_dropped() {
    let doc = doc();
    let spec = at(&doc, &format!("{BACKUP_DEF}/properties/spec"));
    assert!(spec.get("oneOf").is_none());
    assert!(spec_prop(&doc, "backupType").get("default").is_none());
    assert_eq!(
        spec_prop(&doc, "backupType")["enum"],
        json!(["full", "db", "table"])
    );
    assert_eq!(
        spec_prop(&doc, "retries"),
        json!({"description": "Retry budget.", "x-kubernetes-int-or-string": true})
    );
    assert_eq!(spec_prop(&doc, "exampleOnly"), json!({"type": "string"}));
}

#[test]
fn preserved_unknown_fields_hide_their_properties() {
    let doc = doc();
    assert_eq!(
        spec_prop(&doc, "podTemplate"),
        json!({"description": "Free-form pod overrides.", "x-kubernetes-preserve-unknown-fields": true})
    );
    // An embedded resource that preserves unknown fields gets no kube-native properties in v2.
    assert!(spec_prop(&doc, "template").get("properties").is_none());
}

#[test]
fn a_schema_preserving_everything_is_published_as_a_bare_object() {
    let mut resource = backup();
    resource.schema = Some(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    let doc = v2_document(&[resource]);
    assert_eq!(
        at(&doc, BACKUP_DEF),
        &json!({"type": "object", "x-kubernetes-group-version-kind": [{"group": "pingcap.com", "kind": "Backup", "version": "v1alpha1"}]})
    );
}

#[test]
fn every_schema_satisfies_kubectls_v2_parser() {
    let doc = doc();
    let definitions = at(&doc, "/definitions").as_object().unwrap();
    for (name, schema) in definitions {
        walk(schema, name, &mut |path, map| {
            if let Some(Value::String(target)) = map.get("$ref") {
                let target = target
                    .strip_prefix("#/definitions/")
                    .expect("definition reference");
                assert!(
                    definitions.contains_key(target),
                    "{path}: dangling {target}"
                );
                assert!(
                    map.get("type").is_none() && map.get("properties").is_none(),
                    "{path}: $ref with a type"
                );
            }
            let ty = map.get("type").and_then(Value::as_str);
            if ty == Some("array") {
                assert!(
                    map.get("items").is_some_and(Value::is_object),
                    "{path}: array without items"
                );
            }
            if let Some(ty) = ty {
                assert!(
                    ["object", "array", "string", "integer", "number", "boolean"].contains(&ty),
                    "{path}: {ty}"
                );
            }
            for key in ["nullable", "anyOf", "oneOf", "allOf", "not", "default"] {
                assert!(!map.contains_key(key), "{path}: {key} is not v2");
            }
        });
    }
}

#[test]
fn kinds_carry_gvk_lists_and_metadata_references() {
    let doc = doc();
    assert_eq!(
        at(
            &doc,
            &format!("{BACKUP_DEF}/x-kubernetes-group-version-kind")
        ),
        &json!([{"group": "pingcap.com", "kind": "Backup", "version": "v1alpha1"}])
    );
    let metadata = at(&doc, &format!("{BACKUP_DEF}/properties/metadata"));
    assert_eq!(
        metadata["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    let list = at(&doc, "/definitions/com.pingcap.v1alpha1.BackupList");
    assert_eq!(
        list["x-kubernetes-group-version-kind"][0]["kind"],
        "BackupList"
    );
    assert_eq!(
        list["properties"]["items"]["items"]["$ref"],
        "#/definitions/com.pingcap.v1alpha1.Backup"
    );
    assert_eq!(
        list["properties"]["metadata"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
    );
    let object_meta = at(
        &doc,
        "/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    );
    assert!(
        object_meta["description"]
            .as_str()
            .unwrap()
            .starts_with("ObjectMeta is metadata")
    );
    assert_eq!(
        object_meta["properties"]["creationTimestamp"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time"
    );
}

#[test]
fn every_patch_operation_accepts_field_validation() {
    let doc = doc();
    let mut patches = 0;
    for (path, item) in at(&doc, "/paths").as_object().unwrap() {
        let Some(patch) = item.get("patch") else {
            continue;
        };
        patches += 1;
        let names: Vec<&str> = patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["body", "dryRun", "fieldManager", "fieldValidation", "force"],
            "{path}"
        );
        assert!(
            patch["x-kubernetes-group-version-kind"].is_object(),
            "{path}"
        );
        assert_eq!(patch["x-kubernetes-action"], "patch");
    }
    // Backup, its status, ClusterThing, its scale, Pod and its status.
    assert_eq!(patches, 6);
}

#[test]
fn routes_follow_the_servers_naming() {
    let doc = doc();
    let ops = [
        (
            "/apis/pingcap.com/v1alpha1/backups",
            "get",
            "listPingcapComV1alpha1BackupForAllNamespaces",
        ),
        (
            "/apis/pingcap.com/v1alpha1/namespaces/{namespace}/backups",
            "delete",
            "deletePingcapComV1alpha1CollectionNamespacedBackup",
        ),
        (
            "/apis/pingcap.com/v1alpha1/namespaces/{namespace}/backups",
            "post",
            "createPingcapComV1alpha1NamespacedBackup",
        ),
        (
            "/apis/pingcap.com/v1alpha1/namespaces/{namespace}/backups/{name}/status",
            "patch",
            "patchPingcapComV1alpha1NamespacedBackupStatus",
        ),
        (
            "/apis/pingcap.com/v1alpha1/clusterthings/{name}/scale",
            "put",
            "replacePingcapComV1alpha1ClusterThingScale",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}/log",
            "get",
            "readCoreV1NamespacedPodLog",
        ),
    ];
    for (path, method, id) in ops {
        let op = at(&doc, &format!("/paths/{}/{method}", esc(path)));
        assert_eq!(op["operationId"], id, "{path} {method}");
    }
    let scale = at(
        &doc,
        &format!(
            "/paths/{}/get",
            esc("/apis/pingcap.com/v1alpha1/clusterthings/{name}/scale")
        ),
    );
    assert_eq!(
        scale["x-kubernetes-group-version-kind"]["kind"],
        "ClusterThing"
    );
    assert_eq!(
        scale["responses"]["200"]["schema"]["$ref"],
        "#/definitions/io.k8s.api.autoscaling.v1.Scale"
    );
    assert_eq!(scale["tags"], json!(["pingcapCom_v1alpha1"]));
    // The all-namespaces list has only one operation, so all its parameters are shared.
    let all = at(
        &doc,
        &format!("/paths/{}", esc("/apis/pingcap.com/v1alpha1/backups")),
    );
    assert!(all["get"].get("parameters").is_none());
    assert_eq!(all["parameters"].as_array().unwrap().len(), 11);
}

#[test]
fn built_in_kinds_get_paths_but_no_definitions() {
    let doc = doc();
    assert!(
        at(&doc, "/definitions")
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains("Pod"))
    );
    let patch = at(
        &doc,
        &format!(
            "/paths/{}/patch",
            esc("/api/v1/namespaces/{namespace}/pods/{name}")
        ),
    );
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "", "kind": "Pod", "version": "v1"})
    );
    assert!(
        patch["consumes"]
            .as_array()
            .unwrap()
            .contains(&json!("application/strategic-merge-patch+json"))
    );
    assert_eq!(
        patch["responses"]["200"]["schema"],
        json!({"type": "object"})
    );
}
