//! Table-driven tests of [`super::prune`] and [`super::apply_defaults`].

use serde_json::{Value, json};

use super::{apply_defaults, prune};

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "optional": {"type": "string"},
                    "nullable": {"type": "string", "nullable": true},
                    "defaulted": {"type": "string", "default": "d"},
                    "items": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}}},
                    "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                            "properties": {"typed": {"type": "object", "properties": {"keep": {"type": "string"}}}}},
                    "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                 "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}}}
                }
            }
        }
    })
}

#[test]
fn prune_removes_unknown_fields_and_reports_them_like_the_server() {
    let cases: Vec<(&str, Value, Value, Vec<&str>)> = vec![
        (
            "known fields stay",
            json!({"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"name": "x"}}),
            json!({"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"name": "x"}}),
            vec![],
        ),
        (
            "unknown fields, sorted",
            json!({"spec": {"zeta": 1, "name": "x", "alpha": 2, "items": [{"a": "1", "bar": 2}]}, "status": {}}),
            json!({"spec": {"name": "x", "items": [{"a": "1"}]}}),
            vec!["spec.alpha", "spec.items[0].bar", "spec.zeta", "status"],
        ),
        (
            "metadata first, in document order",
            json!({"metadata": {"name": "n", "zz": 1, "clusterName": "c",
            "ownerReferences": [{"name": "o", "bogus": true}]}, "spec": {"x": 1}}),
            json!({"metadata": {"name": "n", "ownerReferences": [{"name": "o"}]}, "spec": {}}),
            vec![
                "metadata.zz",
                "metadata.clusterName",
                "metadata.ownerReferences[0].bogus",
                "spec.x",
            ],
        ),
        (
            "map values",
            json!({"spec": {"labels": {"k": {"v": "1", "extra": 2}}}}),
            json!({"spec": {"labels": {"k": {"v": "1"}}}}),
            vec!["spec.labels.k.extra"],
        ),
        (
            "preserve-unknown keeps unknown fields but prunes known ones",
            json!({"spec": {"raw": {"free": {"x": 1}, "typed": {"keep": "k", "drop": 1}}}}),
            json!({"spec": {"raw": {"free": {"x": 1}, "typed": {"keep": "k"}}}}),
            vec!["spec.raw.typed.drop"],
        ),
        (
            "embedded resources keep type meta and prune their metadata",
            json!({"spec": {"template": {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "junk": 1}, "spec": {"x": "1", "y": 2}}}}),
            json!({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": "1"}}}}),
            vec!["spec.template.spec.y", "spec.template.metadata.junk"],
        ),
        (
            "nulls without default are dropped silently",
            json!({"spec": {"optional": null, "nullable": null, "defaulted": null}}),
            json!({"spec": {"nullable": null, "defaulted": null}}),
            vec![],
        ),
        (
            "object under a scalar schema loses its fields",
            json!({"spec": {"name": {"a": 1}}}),
            json!({"spec": {"name": {}}}),
            vec!["spec.name.a"],
        ),
    ];
    for (name, mut obj, want, want_paths) in cases {
        let paths = prune(&mut obj, &schema());
        assert_eq!(obj, want, "{name}");
        assert_eq!(paths, want_paths, "{name}");
    }
}

#[test]
fn prune_keeps_document_order() {
    let mut obj = json!({"spec": {"b": 1, "name": "x", "a": 2, "optional": "o"}});
    prune(&mut obj, &schema());
    assert_eq!(
        serde_json::to_string(&obj).unwrap(),
        r#"{"spec":{"name":"x","optional":"o"}}"#
    );
}

#[test]
fn defaults_apply_as_on_the_server() {
    let schema = json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "default": {},
                "properties": {
                    "mode": {"type": "string", "default": "full"},
                    "nullable": {"type": "string", "nullable": true, "default": "n"},
                    "nested": {"type": "object", "default": {"inner": {}},
                               "properties": {"inner": {"type": "object", "properties": {"level": {"type": "integer", "default": 3}}}}},
                    "list": {"type": "array", "items": {"type": "object", "default": {"x": 1},
                             "properties": {"port": {"type": "integer", "default": 80}}}},
                    "map": {"type": "object", "additionalProperties": {"type": "object",
                            "properties": {"weight": {"type": "integer", "default": 1}}}},
                    "nulldefault": {"type": "string", "default": null}
                }
            }
        }
    });
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "missing spec is defaulted, then its children",
            json!({}),
            json!({"spec": {"mode": "full", "nullable": "n", "nested": {"inner": {"level": 3}}}}),
        ),
        (
            "set values stay",
            json!({"spec": {"mode": "log", "nullable": null, "nested": {}}}),
            json!({"spec": {"mode": "log", "nullable": null, "nested": {}}}),
        ),
        (
            "non-nullable null is replaced",
            json!({"spec": {"mode": null}}),
            json!({"spec": {"mode": "full", "nullable": "n", "nested": {"inner": {"level": 3}}}}),
        ),
        (
            "array items and null items",
            json!({"spec": {"list": [{}, null, {"port": 1}]}}),
            json!({"spec": {"list": [{"port": 80}, {"x": 1, "port": 80}, {"port": 1}], "mode": "full", "nullable": "n",
                "nested": {"inner": {"level": 3}}}}),
        ),
        (
            "map values",
            json!({"spec": {"map": {"a": {}, "b": {"weight": 5}}}}),
            json!({"spec": {"map": {"a": {"weight": 1}, "b": {"weight": 5}}, "mode": "full", "nullable": "n",
                "nested": {"inner": {"level": 3}}}}),
        ),
    ];
    for (name, mut obj, want) in cases {
        apply_defaults(&mut obj, &schema);
        assert_eq!(obj, want, "{name}");
    }
}
