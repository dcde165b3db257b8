//! Table-driven tests of [`super::check_structural`]: exact messages and paths.

use serde_json::{Value, json};

use super::{check_structural, check_structural_at};
use crate::cause::FieldCause;

const B: &str = "spec.validation.openAPIV3Schema";

fn messages(causes: &[FieldCause]) -> Vec<String> {
    causes.iter().map(FieldCause::full_message).collect()
}

/// A root object schema with `props` as its properties.
fn root(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

fn realistic() -> Value {
    root(json!({
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["mode"],
            "x-kubernetes-validations": [{"rule": "self.mode != 'x'", "message": "no x"}],
            "properties": {
                "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                "size": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}],
                         "pattern": "^[0-9]+%?$"},
                "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                             "x-kubernetes-preserve-unknown-fields": true},
                "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                          "items": {"type": "object", "required": ["name"],
                                    "properties": {"name": {"type": "string"}, "port": {"type": "integer", "format": "int32"}}}},
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "options": {"type": "object", "default": {"retries": 2},
                            "properties": {"retries": {"type": "integer", "minimum": 0}}}
            }
        },
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
    }))
}

#[test]
fn a_realistic_schema_passes() {
    assert_eq!(
        messages(&check_structural(&realistic())),
        Vec::<String>::new()
    );
}

#[test]
fn crd_schema_errors_match_the_server() {
    let cases: Vec<(&str, Value, Vec<String>)> = vec![
        (
            "untyped field",
            root(json!({"spec": {"properties": {}}})),
            vec![format!(
                "{B}.properties[spec].type: Required value: must not be empty for specified object fields"
            )],
        ),
        (
            "non-object root",
            json!({"type": "string"}),
            vec![format!(
                r#"{B}.type: Invalid value: "string": must be object at the root"#
            )],
        ),
        (
            "nullable root",
            json!({"type": "object", "nullable": true}),
            vec![format!(
                "{B}.nullable: Forbidden: nullable cannot be true at the root"
            )],
        ),
        (
            "array without items",
            root(json!({"list": {"type": "array"}})),
            vec![format!(
                "{B}.properties[list].items: Required value: must be specified"
            )],
        ),
        (
            "additionalProperties with properties",
            root(json!({"spec": {"type": "object",
            "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}}})),
            vec![format!(
                "{B}.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"
            )],
        ),
        (
            "typed value validation",
            root(json!({"spec": {"type": "object", "allOf": [{"type": "object"}]}})),
            vec![format!(
                "{B}.properties[spec].allOf[0].type: Forbidden: must be empty to be structural"
            )],
        ),
        (
            "value validation on an unspecified field",
            json!({"type": "object", "properties": {"spec": {"type": "object"}},
            "anyOf": [{"properties": {"foo": {}}}]}),
            vec![format!(
                "{B}.properties[foo]: Required value: because it is defined in {B}.anyOf[0].properties[foo]"
            )],
        ),
        (
            "errors are sorted",
            root(json!({"b": {}, "a": {}})),
            vec![
                format!(
                    "{B}.properties[a].type: Required value: must not be empty for specified object fields"
                ),
                format!(
                    "{B}.properties[b].type: Required value: must not be empty for specified object fields"
                ),
            ],
        ),
        (
            "invalid default",
            root(
                json!({"spec": {"type": "object", "properties": {"replicas": {"type": "integer", "default": "x"}}}}),
            ),
            vec![format!(
                r#"{B}.properties[spec].properties[replicas].default: Invalid value: "string":  in body must be of type integer: "string""#
            )],
        ),
        (
            "unpruned default",
            root(
                json!({"spec": {"type": "object", "properties": {"opts": {"type": "object",
            "properties": {"a": {"type": "string"}}, "default": {"bogus": 1}}}}}),
            ),
            vec![format!(
                r#"{B}.properties[spec].properties[opts].default: Invalid value: map[string]interface {{}}{{"bogus":1}}: must not have unknown fields"#
            )],
        ),
        (
            "default on metadata",
            root(json!({"metadata": {"type": "object", "default": {}}})),
            vec![format!(
                "{B}.properties[metadata].default: Forbidden: must not be set in top-level metadata"
            )],
        ),
        (
            "metadata restricted beyond names",
            root(
                json!({"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}),
            ),
            vec![format!(
                "{B}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"
            )],
        ),
        (
            "metadata restricting the name",
            root(
                json!({"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}}),
            ),
            vec![],
        ),
        (
            "uniqueItems",
            root(
                json!({"list": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}}),
            ),
            vec![format!(
                "{B}.properties[list].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic"
            )],
        ),
        (
            "preserve false",
            root(
                json!({"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": false}}),
            ),
            vec![format!(
                "{B}.properties[spec].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"
            )],
        ),
        (
            "unknown type",
            root(json!({"spec": {"type": "map"}})),
            vec![format!(
                r#"{B}.properties[spec].type: Unsupported value: "map": supported values: "array", "boolean", "integer", "number", "object", "string""#
            )],
        ),
        (
            "$ref",
            root(json!({"spec": {"type": "object", "$ref": "#/definitions/x"}})),
            vec![format!(
                "{B}.properties[spec].$ref: Forbidden: $ref is not supported"
            )],
        ),
        (
            "list map without keys",
            root(
                json!({"ports": {"type": "array", "x-kubernetes-list-type": "map",
            "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}),
            ),
            vec![format!(
                "{B}.properties[ports].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"
            )],
        ),
        (
            "list map key neither required nor defaulted",
            root(
                json!({"ports": {"type": "array", "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"], "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}),
            ),
            vec![format!(
                "{B}.properties[ports].items.properties[name].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"
            )],
        ),
        (
            "embedded resource without type",
            root(json!({"t": {"x-kubernetes-embedded-resource": true,
            "x-kubernetes-preserve-unknown-fields": true}})),
            vec![format!(
                "{B}.properties[t].type: Required value: must be object if x-kubernetes-embedded-resource is true"
            )],
        ),
        (
            "additionalProperties at the root",
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            vec![format!(
                "{B}.additionalProperties: Forbidden: must not be used at the root"
            )],
        ),
    ];
    for (name, schema, want) in cases {
        assert_eq!(messages(&check_structural(&schema)), want, "{name}");
    }
}

#[test]
fn other_bases_and_bad_patterns() {
    let base = "spec.versions[1].schema.openAPIV3Schema";
    let got = check_structural_at(&root(json!({"spec": {}})), base);
    assert_eq!(
        messages(&got),
        vec![format!(
            "{base}.properties[spec].type: Required value: must not be empty for specified object fields"
        )]
    );
    let got = check_structural(&root(json!({"p": {"type": "string", "pattern": "("}})));
    assert_eq!(got.len(), 1);
    let prefix = format!(
        r#"{B}.properties[p].pattern: Invalid value: "(": must be a valid regular expression, but isn't: "#
    );
    assert!(
        got[0].full_message().starts_with(&prefix),
        "{}",
        got[0].full_message()
    );
}
