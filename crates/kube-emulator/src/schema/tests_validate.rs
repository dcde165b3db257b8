//! Table-driven tests of [`super::validate`] and [`super::meta`]: exact messages.

use serde_json::{Value, json};

use super::meta::{self, NameRule};
use super::{validate, validate_at};
use crate::cause::{CauseReason, FieldCause};

fn messages(causes: &[FieldCause]) -> Vec<String> {
    causes.iter().map(FieldCause::full_message).collect()
}

/// A root schema with one `spec` property holding `props`.
fn spec_schema(props: Value) -> Value {
    json!({"type": "object", "properties": {"spec": {"type": "object", "properties": props}}})
}

#[test]
fn schema_errors_use_the_servers_messages() {
    let cases: Vec<(&str, Value, Value, Vec<&str>)> = vec![
        (
            "type",
            json!({"x": {"type": "integer"}}),
            json!({"x": "a"}),
            vec![
                r#"spec.x: Invalid value: "string": spec.x in body must be of type integer: "string""#,
            ],
        ),
        (
            "float for integer",
            json!({"x": {"type": "integer"}}),
            json!({"x": 1.5}),
            vec![
                r#"spec.x: Invalid value: "number": spec.x in body must be of type integer: "number""#,
            ],
        ),
        (
            "integral float is an integer",
            json!({"x": {"type": "integer"}}),
            json!({"x": 2.0}),
            vec![],
        ),
        (
            "integer is a number",
            json!({"x": {"type": "number"}}),
            json!({"x": 2}),
            vec![],
        ),
        (
            "null",
            json!({"x": {"type": "integer"}}),
            json!({"x": null}),
            vec![
                r#"spec.x: Invalid value: "null": spec.x in body must be of type integer: "null""#,
            ],
        ),
        (
            "nullable null",
            json!({"x": {"type": "integer", "nullable": true}}),
            json!({"x": null}),
            vec![],
        ),
        (
            "required",
            json!({"a": {"type": "string"}}),
            json!({}),
            vec![],
        ),
        (
            "enum",
            json!({"mode": {"type": "string", "enum": ["a", "b"]}}),
            json!({"mode": "x"}),
            vec![r#"spec.mode: Unsupported value: "x": supported values: "a", "b""#],
        ),
        (
            "numeric enum",
            json!({"n": {"type": "integer", "enum": [1, 2]}}),
            json!({"n": 3}),
            vec![r#"spec.n: Unsupported value: 3: supported values: "1", "2""#],
        ),
        (
            "numeric enum matches by value",
            json!({"n": {"type": "number", "enum": [1, 2]}}),
            json!({"n": 1.0}),
            vec![],
        ),
        (
            "null never matches an enum",
            json!({"m": {"type": "string", "nullable": true, "enum": ["a"]}}),
            json!({"m": null}),
            vec![r#"spec.m: Unsupported value: null: supported values: "a""#],
        ),
        (
            "pattern",
            json!({"x": {"type": "string", "pattern": "^a$"}}),
            json!({"x": "x"}),
            vec![r#"spec.x: Invalid value: "x": spec.x in body should match '^a$'"#],
        ),
        (
            "minimum",
            json!({"x": {"type": "integer", "minimum": 5}}),
            json!({"x": 3}),
            vec!["spec.x: Invalid value: 3: spec.x in body should be greater than or equal to 5"],
        ),
        (
            "exclusive minimum",
            json!({"x": {"type": "integer", "minimum": 5, "exclusiveMinimum": true}}),
            json!({"x": 5}),
            vec!["spec.x: Invalid value: 5: spec.x in body should be greater than 5"],
        ),
        (
            "maximum",
            json!({"x": {"type": "number", "maximum": 10}}),
            json!({"x": 10.5}),
            vec!["spec.x: Invalid value: 10.5: spec.x in body should be less than or equal to 10"],
        ),
        (
            "exclusive maximum",
            json!({"x": {"type": "integer", "maximum": 10, "exclusiveMaximum": true}}),
            json!({"x": 10}),
            vec!["spec.x: Invalid value: 10: spec.x in body should be less than 10"],
        ),
        (
            "a 64-bit bound stated as a double is exact",
            json!({"x": {"type": "integer", "format": "int64", "maximum": 9_223_372_036_854_774_784.0}}),
            json!({"x": i64::MAX}),
            vec![
                "spec.x: Invalid value: 9223372036854775807: spec.x in body should be less than or equal to 9223372036854774784",
            ],
        ),
        (
            "a 64-bit bound admits itself",
            json!({"x": {"type": "integer", "format": "int64", "maximum": 9_223_372_036_854_774_784.0}}),
            json!({"x": 9_223_372_036_854_774_784i64}),
            vec![],
        ),
        (
            "integer bounds are truncated",
            json!({"x": {"type": "integer", "minimum": 5.5}}),
            json!({"x": 5}),
            vec![],
        ),
        (
            "multipleOf",
            json!({"x": {"type": "integer", "multipleOf": 5}}),
            json!({"x": 7}),
            vec!["spec.x: Invalid value: 7: spec.x in body should be a multiple of 5"],
        ),
        (
            "maxLength",
            json!({"x": {"type": "string", "maxLength": 3}}),
            json!({"x": "abcd"}),
            vec!["spec.x: Too long: may not be more than 3 bytes"],
        ),
        (
            "maxLength counts characters",
            json!({"x": {"type": "string", "maxLength": 3}}),
            json!({"x": "ééé"}),
            vec![],
        ),
        (
            "minLength",
            json!({"x": {"type": "string", "minLength": 2}}),
            json!({"x": "a"}),
            vec![r#"spec.x: Invalid value: "a": spec.x in body should be at least 2 chars long"#],
        ),
        (
            "maxItems",
            json!({"l": {"type": "array", "maxItems": 1, "items": {"type": "integer"}}}),
            json!({"l": [1, 2]}),
            vec!["spec.l: Too many: 2: must have at most 1 item"],
        ),
        (
            "minItems",
            json!({"l": {"type": "array", "minItems": 2, "items": {"type": "integer"}}}),
            json!({"l": [1]}),
            vec!["spec.l: Invalid value: 1: spec.l in body should have at least 2 items"],
        ),
        (
            "uniqueItems",
            json!({"l": {"type": "array", "uniqueItems": true, "items": {"type": "integer"}}}),
            json!({"l": [1, 1]}),
            vec![r#"spec.l: Invalid value: "": spec.l in body shouldn't contain duplicates"#],
        ),
        (
            "maxProperties",
            json!({"m": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}}}),
            json!({"m": {"a": "1", "b": "2"}}),
            vec!["spec.m: Too many: 2: must have at most 1 item"],
        ),
        (
            "minProperties",
            json!({"m": {"type": "object", "minProperties": 2, "additionalProperties": {"type": "string"}}}),
            json!({"m": {"a": "1"}}),
            vec!["spec.m: Invalid value: 1: spec.m in body should have at least 2 properties"],
        ),
        (
            "date-time",
            json!({"t": {"type": "string", "format": "date-time"}}),
            json!({"t": "nope"}),
            vec![
                r#"spec.t: Invalid value: "nope": spec.t in body must be of type date-time: "nope""#,
            ],
        ),
        (
            "format on a number names the format",
            json!({"t": {"type": "string", "format": "date-time"}}),
            json!({"t": 5}),
            vec![
                r#"spec.t: Invalid value: "int64": spec.t in body must be of type date-time: "int64""#,
            ],
        ),
        (
            "additionalProperties false",
            json!({"o": {"type": "object", "additionalProperties": false,
            "properties": {"a": {"type": "string"}}}}),
            json!({"o": {"a": "x", "b": 1}}),
            vec![r#"spec.o: Invalid value: "b": spec.o.b in body is a forbidden property"#],
        ),
        (
            "int32 is not enforced",
            json!({"n": {"type": "integer", "format": "int32"}}),
            json!({"n": 1_099_511_627_776_i64}),
            vec![],
        ),
        (
            "int-or-string",
            json!({"p": {"x-kubernetes-int-or-string": true}}),
            json!({"p": true}),
            vec![
                r#"spec.p: Invalid value: "boolean": spec.p in body must be of type integer,string: "boolean""#,
            ],
        ),
        (
            "int-or-string string",
            json!({"p": {"x-kubernetes-int-or-string": true}}),
            json!({"p": "80%"}),
            vec![],
        ),
        (
            "array items",
            json!({"items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}),
            json!({"items": [{"name": "a"}, {"name": 1}]}),
            vec![
                r#"spec.items[1].name: Invalid value: "integer": spec.items[1].name in body must be of type string: "integer""#,
            ],
        ),
        (
            "map values",
            json!({"m": {"type": "object", "additionalProperties": {"type": "integer"}}}),
            json!({"m": {"k": "v"}}),
            vec![
                r#"spec.m.k: Invalid value: "string": spec.m.k in body must be of type integer: "string""#,
            ],
        ),
        (
            "preserve-unknown without type",
            json!({"any": {"x-kubernetes-preserve-unknown-fields": true}}),
            json!({"any": [1, "x"]}),
            vec![],
        ),
        (
            "list-type set",
            json!({"s": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}),
            json!({"s": ["a", "b", "a", "a"]}),
            vec![r#"spec.s[2]: Duplicate value: "a""#],
        ),
        (
            "list-type map",
            json!({"m": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}}}}),
            json!({"m": [{"name": "a", "v": 1}, {"name": "b"}, {"name": "a", "v": 2}]}),
            vec![r#"spec.m[2]: Duplicate value: map[string]interface {}{"name":"a"}"#],
        ),
    ];
    for (name, props, spec, want) in cases {
        let got = validate(&json!({"spec": spec}), &spec_schema(props));
        assert_eq!(messages(&got), want, "{name}");
    }
}

#[test]
fn required_fields_and_reasons() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["a", "b"],
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}}, "required": ["spec"]});
    let got = validate(&json!({"spec": {"b": "x"}}), &schema);
    assert_eq!(messages(&got), vec!["spec.a: Required value"]);
    assert_eq!(got[0].reason, CauseReason::FieldValueRequired);
    let got = validate(&json!({"kind": "X"}), &schema);
    assert_eq!(messages(&got), vec!["spec: Required value"]);
}

#[test]
fn junctors_report_on_the_nil_field() {
    let schema =
        spec_schema(json!({"x": {"type": "integer", "oneOf": [{"minimum": 10}, {"maximum": 0}]}}));
    let got = validate(&json!({"spec": {"x": 5}}), &schema);
    assert_eq!(
        messages(&got),
        vec![
            r#"<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found none valid"#,
            "spec.x: Invalid value: 5: spec.x in body should be greater than or equal to 10",
        ]
    );
    let schema = spec_schema(json!({"x": {"type": "integer", "not": {"minimum": 3}}}));
    let got = validate(&json!({"spec": {"x": 5}}), &schema);
    assert_eq!(
        messages(&got),
        vec![r#"<nil>: Invalid value: "": "spec.x" must not validate the schema (not)"#]
    );
    let schema =
        spec_schema(json!({"x": {"type": "integer", "allOf": [{"minimum": 3}, {"maximum": 4}]}}));
    let got = validate(&json!({"spec": {"x": 5}}), &schema);
    assert_eq!(
        messages(&got),
        vec![
            "spec.x: Invalid value: 5: spec.x in body should be less than or equal to 4",
            r#"<nil>: Invalid value: "": "spec.x" must validate all the schemas (allOf)"#,
        ]
    );
}

#[test]
fn embedded_resources_need_type_and_valid_metadata() {
    let schema = spec_schema(
        json!({"template": {"type": "object", "x-kubernetes-embedded-resource": true,
        "x-kubernetes-preserve-unknown-fields": true}}),
    );
    let obj = json!({"spec": {"template": {"apiVersion": "a/b/c", "metadata": {"name": "a/b"}}}});
    assert_eq!(
        messages(&validate(&obj, &schema)),
        vec![
            "spec.template.kind: Required value",
            r#"spec.template.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c"#,
            r#"spec.template.metadata.name: Invalid value: "a/b": may not contain '/'"#,
        ]
    );
}

#[test]
fn defaults_are_validated_under_their_own_path() {
    let schema = json!({"type": "object", "properties": {"replicas": {"type": "integer"}}});
    let got = validate_at(&json!({"replicas": "x"}), &schema, "p.default");
    assert_eq!(
        messages(&got),
        vec![
            r#"p.default.replicas: Invalid value: "string": replicas in body must be of type integer: "string""#
        ]
    );
    let got = validate_at(&json!("x"), &json!({"type": "integer"}), "p.default");
    assert_eq!(
        messages(&got),
        vec![r#"p.default: Invalid value: "string":  in body must be of type integer: "string""#]
    );
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

#[test]
fn object_meta_messages() {
    let long = "a".repeat(64);
    let big = "x".repeat(meta::TOTAL_ANNOTATION_SIZE_LIMIT);
    let cases: Vec<(&str, Value, bool, NameRule, Vec<String>)> = vec![
        ("valid", json!({"name": "a.b", "namespace": "ns"}), true, NameRule::Dns1123Subdomain, vec![]),
        ("bad name", json!({"name": "Foo", "namespace": "ns"}), true, NameRule::Dns1123Subdomain,
         vec![format!(r#"metadata.name: Invalid value: "Foo": {SUBDOMAIN_MSG}"#)]),
        ("label rule", json!({"name": "a.b"}), false, NameRule::Dns1123Label,
         vec![format!(r#"metadata.name: Invalid value: "a.b": {LABEL_MSG}"#)]),
        ("path segment", json!({"name": ".."}), false, NameRule::PathSegment,
         vec![r#"metadata.name: Invalid value: "..": may not be '..'"#.to_string()]),
        ("missing name", json!({"namespace": "ns"}), true, NameRule::Dns1123Subdomain,
         vec!["metadata.name: Required value: name or generateName is required".to_string()]),
        ("generateName with dash", json!({"generateName": "backup-", "name": "backup-x1", "namespace": "ns"}), true,
         NameRule::Dns1123Subdomain, vec![]),
        ("bad generateName", json!({"generateName": "Bad-", "name": "x", "namespace": "ns"}), true, NameRule::Dns1123Subdomain,
         vec![format!(r#"metadata.generateName: Invalid value: "Bad-": {SUBDOMAIN_MSG}"#)]),
        ("namespace required", json!({"name": "a"}), true, NameRule::Dns1123Subdomain,
         vec!["metadata.namespace: Required value".to_string()]),
        ("namespace forbidden", json!({"name": "a", "namespace": "ns"}), false, NameRule::Dns1123Subdomain,
         vec!["metadata.namespace: Forbidden: not allowed on this type".to_string()]),
        ("label key", json!({"name": "a", "labels": {"a/b/c": "v"}}), false, NameRule::Dns1123Subdomain,
         vec![format!(r#"metadata.labels: Invalid value: "a/b/c": a qualified name {QUALIFIED_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"#)]),
        ("label value", json!({"name": "a", "labels": {"k": long}}), false, NameRule::Dns1123Subdomain,
         vec![format!(r#"metadata.labels: Invalid value: "{long}": must be no more than 63 characters"#)]),
        ("annotation size", json!({"name": "a", "annotations": {"k": big}}), false, NameRule::Dns1123Subdomain,
         vec!["metadata.annotations: Too long: may not be more than 262144 bytes".to_string()]),
        ("annotation key", json!({"name": "a", "annotations": {"Example.com/Key": "v", "a b": "v"}}), false,
         NameRule::Dns1123Subdomain, vec![format!(r#"metadata.annotations: Invalid value: "a b": name part {QUALIFIED_MSG}"#)]),
        ("two controllers", json!({"name": "a", "ownerReferences": [
            {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "1", "controller": true},
            {"apiVersion": "v1", "kind": "Pod", "name": "q", "uid": "2", "controller": true}]}), false, NameRule::Dns1123Subdomain,
         vec![r#"metadata.ownerReferences: Invalid value: []interface {}{map[string]interface {}{"apiVersion":"v1", "controller":true, "kind":"Pod", "name":"p", "uid":"1"}, map[string]interface {}{"apiVersion":"v1", "controller":true, "kind":"Pod", "name":"q", "uid":"2"}}: Only one reference can have Controller set to true. Found "true" in references for Pod/p and Pod/q"#.to_string()]),
        ("finalizer", json!({"name": "a", "finalizers": ["bad finalizer"]}), false, NameRule::Dns1123Subdomain,
         vec![format!(r#"metadata.finalizers: Invalid value: "bad finalizer": name part {QUALIFIED_MSG}"#)]),
        ("owner reference", json!({"name": "a", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p"}]}), false,
         NameRule::Dns1123Subdomain, vec![r#"metadata.ownerReferences.uid: Invalid value: "": uid must not be empty"#.to_string()]),
        ("generation", json!({"name": "a", "generation": -1}), false, NameRule::Dns1123Subdomain,
         vec!["metadata.generation: Invalid value: -1: must be greater than or equal to 0".to_string()]),
        ("managed fields", json!({"name": "a", "managedFields": [{"manager": "m", "operation": "Patch"}]}), false,
         NameRule::Dns1123Subdomain,
         vec![r#"metadata.managedFields[0].operation: Invalid value: "Patch": must be `Apply` or `Update`"#.to_string()]),
    ];
    for (name, m, namespaced, rule, want) in cases {
        assert_eq!(
            messages(&meta::validate_object_meta(&m, namespaced, rule)),
            want,
            "{name}"
        );
    }
}

#[test]
fn name_checks_are_exported() {
    assert!(meta::is_dns1123_label("my-name").is_empty());
    assert_eq!(
        meta::is_dns1123_label(&"a".repeat(64)),
        vec!["must be no more than 63 characters".to_string()]
    );
    assert!(meta::is_dns1123_subdomain("example.com").is_empty());
    assert!(meta::is_qualified_name("example.com/MyName").is_empty());
    assert_eq!(
        meta::is_qualified_name("/a"),
        vec!["prefix part must be non-empty".to_string()]
    );
    assert!(meta::is_valid_label_value("").is_empty());
    assert_eq!(meta::is_valid_label_value("-a").len(), 1);
}
