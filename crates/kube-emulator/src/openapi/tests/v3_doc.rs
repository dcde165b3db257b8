//! The OpenAPI v3 index and group-version documents, checked the way kubectl reads them.

use serde_json::{Value, json};

use super::*;
use crate::openapi::{v3_group_version, v3_index};

fn doc() -> Value {
    v3_group_version(&all_resources(), "pingcap.com", "v1alpha1")
}

/// Resolves a `#/components/schemas/...` reference inside the document.
fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let name = reference
        .strip_prefix("#/components/schemas/")
        .expect("local component reference");
    at(doc, &format!("/components/schemas/{}", esc(name)))
}

/// Finds the schema whose gvk list contains the gvk of the given path's operations, as
/// kubectl explain's template does.
fn schema_for_path<'a>(doc: &'a Value, path: &str) -> &'a Value {
    let item = at(doc, &format!("/paths/{}", esc(path)));
    let gvk = ["get", "post", "put", "patch", "delete"]
        .iter()
        .find_map(|m| {
            item.get(*m)
                .and_then(|op| op.get("x-kubernetes-group-version-kind"))
        })
        .expect("an operation with a gvk");
    at(doc, "/components/schemas")
        .as_object()
        .unwrap()
        .values()
        .find(|s| {
            s["x-kubernetes-group-version-kind"]
                .as_array()
                .is_some_and(|l| l.contains(gvk))
        })
        .expect("a schema with the operation's gvk")
}

fn all_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                assert_eq!(map.len(), 1, "a $ref with siblings: {map:?}");
                out.push(r.clone());
            }
            map.values().for_each(|v| all_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| all_refs(v, out)),
        _ => {}
    }
}

#[test]
fn index_lists_group_versions_with_hashed_urls() {
    let index = v3_index(&all_resources());
    let paths = at(&index, "/paths").as_object().unwrap();
    assert_eq!(
        paths.keys().collect::<Vec<_>>(),
        ["api/v1", "apis/pingcap.com/v1alpha1"]
    );
    let url = paths["apis/pingcap.com/v1alpha1"]["serverRelativeURL"]
        .as_str()
        .unwrap();
    let hash = url
        .strip_prefix("/openapi/v3/apis/pingcap.com/v1alpha1?hash=")
        .expect(url);
    assert_eq!(hash.len(), 16);
    assert!(
        hash.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    assert_eq!(v3_index(&all_resources()), index, "the hash is stable");

    let mut changed = all_resources();
    changed[0].schema.as_mut().unwrap()["description"] = json!("Another text.");
    let other = v3_index(&changed);
    assert_ne!(
        other["paths"]["apis/pingcap.com/v1alpha1"],
        index["paths"]["apis/pingcap.com/v1alpha1"]
    );
    assert_eq!(
        other["paths"]["api/v1"], index["paths"]["api/v1"],
        "other documents keep their URL"
    );
}

#[test]
fn kind_schema_is_found_by_gvk_with_descriptions_enums_and_defaults() {
    let doc = doc();
    for path in [
        "/apis/pingcap.com/v1alpha1/namespaces/{namespace}/backups",
        "/apis/pingcap.com/v1alpha1/backups",
    ] {
        let schema = schema_for_path(&doc, path);
        assert_eq!(
            schema["description"],
            "Backup is a backup of a TiDB cluster."
        );
    }
    let schema = schema_for_path(
        &doc,
        "/apis/pingcap.com/v1alpha1/namespaces/{namespace}/backups/{name}",
    );
    let spec = &schema["properties"]["spec"];
    assert_eq!(spec["required"], json!(["br", "backupType", "cleanPolicy"]));
    assert_eq!(spec["oneOf"], json!([{"required": ["br"]}]));
    let backup_type = &spec["properties"]["backupType"];
    assert_eq!(backup_type["enum"], json!(["full", "db", "table"]));
    assert_eq!(backup_type["default"], "full");
    let br = &spec["properties"]["br"];
    assert_eq!(br["description"], "BR tool settings.");
    assert_eq!(br["properties"]["concurrency"]["default"], 4);
    assert_eq!(
        br["properties"]["options"]["items"],
        json!({"type": "string"})
    );
    assert_eq!(spec["properties"]["cleanPolicy"]["nullable"], true);
    assert_eq!(
        spec["properties"]["retries"]["anyOf"],
        json!([{"type": "integer"}, {"type": "string"}])
    );
    assert!(spec["properties"]["exampleOnly"].get("example").is_none());
    let template = &spec["properties"]["template"];
    assert_eq!(template["required"], json!(["kind", "apiVersion"]));
    assert!(template["properties"]["metadata"]["allOf"].is_array());
    let cluster = schema_for_path(
        &doc,
        "/apis/pingcap.com/v1alpha1/clusterthings/{name}/scale",
    );
    assert!(cluster["properties"]["spec"]["properties"]["replicas"].is_object());
}

#[test]
fn metadata_and_every_reference_resolve_inside_the_document() {
    let doc = doc();
    let schema = at(&doc, "/components/schemas/com.pingcap.v1alpha1.Backup");
    let metadata = &schema["properties"]["metadata"];
    assert!(
        metadata["description"]
            .as_str()
            .unwrap()
            .starts_with("Standard object's metadata")
    );
    let object_meta = resolve(&doc, metadata["allOf"][0]["$ref"].as_str().unwrap());
    assert!(object_meta["properties"]["name"]["description"].is_string());
    let created = &object_meta["properties"]["creationTimestamp"];
    assert_eq!(
        resolve(&doc, created["allOf"][0]["$ref"].as_str().unwrap())["format"],
        "date-time"
    );

    let mut refs = Vec::new();
    all_refs(&doc, &mut refs);
    assert!(refs.len() > 20);
    for reference in refs {
        resolve(&doc, &reference);
    }
    let list = at(&doc, "/components/schemas/com.pingcap.v1alpha1.BackupList");
    assert_eq!(
        list["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/com.pingcap.v1alpha1.Backup"
    );
    assert_eq!(
        list["x-kubernetes-group-version-kind"][0]["kind"],
        "BackupList"
    );
}

#[test]
fn patch_operations_list_field_validation_on_the_operation() {
    let doc = doc();
    for (path, item) in at(&doc, "/paths").as_object().unwrap() {
        let Some(patch) = item.get("patch") else {
            continue;
        };
        let names: Vec<&str> = patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["dryRun", "fieldManager", "fieldValidation", "force"],
            "{path}"
        );
        let content = patch["requestBody"]["content"].as_object().unwrap();
        assert!(
            !content.contains_key("application/strategic-merge-patch+json"),
            "CRDs take no SMP"
        );
        assert_eq!(patch["requestBody"]["required"], true);
        let shared: Vec<&str> = item["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            shared.contains(&"pretty") && shared.contains(&"name"),
            "{path}: {shared:?}"
        );
    }
}

#[test]
fn core_documents_describe_paths_without_schemas() {
    let doc = v3_group_version(&all_resources(), "", "v1");
    let paths: Vec<&String> = at(&doc, "/paths").as_object().unwrap().keys().collect();
    assert!(paths.iter().all(|p| p.starts_with("/api/v1/")), "{paths:?}");
    assert!(
        at(&doc, "/components/schemas")
            .get("io.k8s.api.core.v1.Pod")
            .is_none()
    );
    let patch = at(
        &doc,
        &format!(
            "/paths/{}/patch",
            esc("/api/v1/namespaces/{namespace}/pods/{name}")
        ),
    );
    assert!(
        patch["requestBody"]["content"]
            .get("application/strategic-merge-patch+json")
            .is_some()
    );
    let empty = v3_group_version(&all_resources(), "nothing.example", "v1");
    assert_eq!(empty["paths"], json!({}));
}
