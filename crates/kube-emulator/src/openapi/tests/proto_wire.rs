//! Checks the protobuf encoding with a wire-format reader written independently of the
//! encoder: it knows only the wire rules and the gnostic field numbers the assertions name.

use serde_json::json;

use super::*;
use crate::openapi::{v2_document, v2_protobuf};

#[derive(Debug, Clone, PartialEq)]
enum Wire {
    Varint(u64),
    Fixed64(u64),
    Bytes(Vec<u8>),
    Fixed32(u32),
}

fn read_varint(bytes: &[u8], pos: &mut usize) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = bytes[*pos];
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return value;
        }
    }
    panic!("varint longer than ten bytes");
}

/// Splits a message into (field number, value) pairs, failing on malformed input.
fn parse(bytes: &[u8]) -> Vec<(u64, Wire)> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < bytes.len() {
        let key = read_varint(bytes, &mut pos);
        let value = match key & 7 {
            0 => Wire::Varint(read_varint(bytes, &mut pos)),
            1 => {
                let v = u64::from_le_bytes(bytes[pos..pos + 8].try_into().unwrap());
                pos += 8;
                Wire::Fixed64(v)
            }
            2 => {
                let len = read_varint(bytes, &mut pos) as usize;
                assert!(pos + len <= bytes.len(), "length runs past the message");
                let v = bytes[pos..pos + len].to_vec();
                pos += len;
                Wire::Bytes(v)
            }
            5 => {
                let v = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap());
                pos += 4;
                Wire::Fixed32(v)
            }
            other => panic!("unexpected wire type {other}"),
        };
        out.push((key >> 3, value));
    }
    out
}

fn all(bytes: &[u8], field: u64) -> Vec<Vec<u8>> {
    parse(bytes)
        .into_iter()
        .filter(|(f, _)| *f == field)
        .map(|(_, v)| match v {
            Wire::Bytes(b) => b,
            other => panic!("field {field} is {other:?}, not length-delimited"),
        })
        .collect()
}

fn one(bytes: &[u8], field: u64) -> Vec<u8> {
    let mut found = all(bytes, field);
    assert_eq!(found.len(), 1, "field {field} should occur once");
    found.remove(0)
}

fn text(bytes: &[u8], field: u64) -> String {
    String::from_utf8(one(bytes, field)).unwrap()
}

fn texts(bytes: &[u8], field: u64) -> Vec<String> {
    all(bytes, field)
        .into_iter()
        .map(|b| String::from_utf8(b).unwrap())
        .collect()
}

/// The value of the `Named*` entry (name in 1, value in 2) called `name` among `field`.
fn named(bytes: &[u8], field: u64, name: &str) -> Vec<u8> {
    all(bytes, field)
        .into_iter()
        .find(|entry| text(entry, 1) == name)
        .map(|entry| one(&entry, 2))
        .unwrap_or_else(|| panic!("no entry {name:?} in field {field}"))
}

fn names(bytes: &[u8], field: u64) -> Vec<String> {
    all(bytes, field).iter().map(|e| text(e, 1)).collect()
}

fn document() -> Vec<u8> {
    v2_protobuf(&v2_document(&all_resources()))
}

const BACKUP_PATH: &str = "/apis/pingcap.com/v1alpha1/namespaces/{namespace}/backups/{name}";

#[test]
fn tiny_documents_have_the_exact_bytes_gnostic_would_write() {
    assert_eq!(v2_protobuf(&json!({"swagger": "2.0"})), b"\x0a\x032.0");
    // Definitions(9) > NamedSchema(1){name(1), Schema(2){type(22) > TypeItem{value(1)}}}.
    let doc = json!({"definitions": {"a": {"type": "string"}}});
    let expected = b"\x4a\x12\x0a\x10\x0a\x01a\x12\x0b\xb2\x01\x08\x0a\x06string";
    assert_eq!(v2_protobuf(&doc), expected.to_vec());
}

#[test]
fn swagger_version_and_info_survive() {
    let doc = document();
    assert_eq!(text(&doc, 1), "2.0");
    let info = one(&doc, 2);
    assert_eq!(text(&info, 1), "Kubernetes");
    assert_eq!(text(&info, 2), crate::openapi::KUBERNETES_VERSION);
}

#[test]
fn patch_operation_carries_gvk_yaml_and_field_validation() {
    let doc = document();
    let paths = one(&doc, 8);
    let item = named(&paths, 2, BACKUP_PATH);
    let patch = one(&item, 8);
    let gvk = named(&patch, 13, "x-kubernetes-group-version-kind");
    assert_eq!(
        text(&gvk, 2),
        "group: pingcap.com\nkind: Backup\nversion: v1alpha1\n"
    );
    let action = named(&patch, 13, "x-kubernetes-action");
    assert_eq!(text(&action, 2), "patch\n");

    // ParametersItem(8) > Parameter(1) > NonBodyParameter(2) > QueryParameterSubSchema(3).
    let mut query_names = Vec::new();
    let mut body_seen = false;
    for item in all(&patch, 8) {
        let parameter = one(&item, 1);
        if let Some(body) = all(&parameter, 1).pop() {
            body_seen = true;
            assert_eq!(text(&body, 2), "body");
            let schema = one(&body, 5);
            assert_eq!(
                text(&schema, 1),
                "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
            );
            continue;
        }
        let non_body = one(&parameter, 2);
        let query = one(&non_body, 3);
        assert_eq!(text(&query, 2), "query");
        assert!(
            parse(&query).contains(&(20, Wire::Varint(1))),
            "uniqueItems is set"
        );
        query_names.push(text(&query, 4));
    }
    assert!(body_seen);
    assert_eq!(
        query_names,
        ["dryRun", "fieldManager", "fieldValidation", "force"]
    );
    assert_eq!(
        texts(&patch, 7),
        [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml"
        ]
    );
}

#[test]
fn path_parameters_are_path_sub_schemas() {
    let doc = document();
    let item = named(&one(&doc, 8), 2, BACKUP_PATH);
    let mut seen = Vec::new();
    for entry in all(&item, 9) {
        let non_body = one(&one(&entry, 1), 2);
        let fields = parse(&non_body);
        assert_eq!(fields.len(), 1, "a oneof has one member");
        match &fields[0] {
            (4, Wire::Bytes(path)) => {
                assert!(parse(path).contains(&(1, Wire::Varint(1))), "required");
                seen.push(text(path, 4));
            }
            (3, Wire::Bytes(query)) => seen.push(text(query, 4)),
            other => panic!("unexpected parameter kind {other:?}"),
        }
    }
    assert_eq!(seen, ["name", "namespace", "pretty"]);
}

#[test]
fn definitions_keep_properties_required_and_extensions() {
    let doc = document();
    let definitions = one(&doc, 9);
    let backup = named(&definitions, 1, "com.pingcap.v1alpha1.Backup");
    let gvk = named(&backup, 31, "x-kubernetes-group-version-kind");
    assert_eq!(
        text(&gvk, 2),
        "- group: pingcap.com\n  kind: Backup\n  version: v1alpha1\n"
    );
    let props = one(&backup, 25);
    assert_eq!(
        names(&props, 1),
        ["apiVersion", "kind", "metadata", "spec", "status"]
    );
    let metadata = named(&props, 1, "metadata");
    assert_eq!(
        text(&metadata, 1),
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(text(&metadata, 4).starts_with("Standard object's metadata"));

    let spec = named(&props, 1, "spec");
    // The nullable cleanPolicy is no longer required in v2.
    assert_eq!(texts(&spec, 19), ["br", "backupType"]);
    assert_eq!(texts(&one(&spec, 22), 1), ["object"]);
    let spec_props = one(&spec, 25);
    let backup_type = named(&spec_props, 1, "backupType");
    let enums: Vec<String> = all(&backup_type, 20).iter().map(|a| text(a, 2)).collect();
    assert_eq!(enums, ["full\n", "db\n", "table\n"]);
    assert!(all(&backup_type, 5).is_empty(), "defaults are pruned in v2");

    let br = named(&spec_props, 1, "br");
    let concurrency = named(&one(&br, 25), 1, "concurrency");
    assert!(parse(&concurrency).contains(&(9, Wire::Fixed64(1f64.to_bits()))));
    let options = named(&one(&br, 25), 1, "options");
    let item = one(&one(&options, 23), 1);
    assert_eq!(texts(&one(&item, 22), 1), ["string"]);

    let resources = named(&spec_props, 1, "resources");
    let additional = one(&resources, 21);
    let value = one(&additional, 1);
    let flag = named(&value, 31, "x-kubernetes-int-or-string");
    assert_eq!(text(&flag, 2), "true\n");
}

#[test]
fn additional_properties_false_is_written() {
    let doc = json!({"definitions": {"a": {"type": "object", "additionalProperties": false}}});
    let bytes = v2_protobuf(&doc);
    let schema = named(&one(&bytes, 9), 1, "a");
    let additional = one(&schema, 21);
    assert_eq!(parse(&additional), [(2, Wire::Varint(0))]);
}

#[test]
fn long_and_negative_values_use_multi_byte_varints() {
    let long = "x".repeat(300);
    let doc = json!({"definitions": {"a": {"description": long, "minLength": -1}}});
    let bytes = v2_protobuf(&doc);
    let schema = named(&one(&bytes, 9), 1, "a");
    assert_eq!(text(&schema, 4).len(), 300);
    assert!(parse(&schema).contains(&(12, Wire::Varint(u64::MAX))));
}

#[test]
fn security_definitions_are_api_keys() {
    let doc = document();
    let definitions = one(&doc, 13);
    let bearer = named(&definitions, 1, "BearerToken");
    let api_key = one(&bearer, 2);
    assert_eq!(text(&api_key, 1), "apiKey");
    assert_eq!(text(&api_key, 2), "authorization");
    assert_eq!(text(&api_key, 3), "header");
    let requirement = one(&doc, 12);
    assert_eq!(names(&requirement, 1), ["BearerToken"]);
}
