//! Shared fixtures for the OpenAPI tests.

mod kubectl;
mod proto_wire;
mod v2_doc;
mod v3_doc;

use serde_json::{Value, json};

use super::OpenApiResource;

/// A trimmed-down `Backup` CRD schema exercising what the converters treat specially.
pub(super) fn backup_schema() -> Value {
    json!({
        "description": "Backup is a backup of a TiDB cluster.",
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "description": "Describes the backup to take.",
                "type": "object",
                "required": ["br", "backupType", "cleanPolicy"],
                "properties": {
                    "backupType": {
                        "description": "The kind of backup.",
                        "type": "string",
                        "enum": ["full", "db", "table"],
                        "default": "full",
                    },
                    "br": {
                        "description": "BR tool settings.",
                        "type": "object",
                        "required": ["cluster"],
                        "properties": {
                            "cluster": {"description": "Name of the TiDB cluster.", "type": "string"},
                            "concurrency": {
                                "description": "Worker threads.",
                                "type": "integer",
                                "format": "int32",
                                "minimum": 1,
                                "default": 4,
                            },
                            "options": {
                                "description": "Extra br arguments.",
                                "type": "array",
                                "items": {"type": "string"},
                            },
                        },
                    },
                    "resources": {
                        "description": "Requests and limits.",
                        "type": "object",
                        "additionalProperties": {
                            "anyOf": [{"type": "integer"}, {"type": "string"}],
                            "x-kubernetes-int-or-string": true,
                        },
                    },
                    "retries": {
                        "description": "Retry budget.",
                        "x-kubernetes-int-or-string": true,
                    },
                    "cleanPolicy": {
                        "description": "What to do with the data on deletion.",
                        "type": "string",
                        "nullable": true,
                    },
                    "podTemplate": {
                        "description": "Free-form pod overrides.",
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": true,
                        "properties": {"hidden": {"type": "string"}},
                    },
                    "tolerations": {
                        "description": "Pod tolerations.",
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "key": {"type": "string"},
                                "effect": {"type": "string", "enum": ["NoSchedule", "NoExecute"]},
                            },
                        },
                        "x-kubernetes-list-type": "atomic",
                    },
                    "template": {
                        "description": "An embedded object.",
                        "type": "object",
                        "x-kubernetes-embedded-resource": true,
                        "x-kubernetes-preserve-unknown-fields": true,
                    },
                    "exampleOnly": {
                        "type": "string",
                        "example": "dropped",
                        "externalDocs": {"url": "https://example.invalid"},
                    },
                },
                "oneOf": [{"required": ["br"]}],
            },
            "status": {
                "description": "Observed state.",
                "type": "object",
                "properties": {
                    "phase": {"type": "string"},
                    "conditions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["type", "status"],
                            "properties": {
                                "type": {"type": "string"},
                                "status": {"type": "string"},
                                "message": {"type": "string", "nullable": true},
                            },
                        },
                    },
                },
            },
        },
    })
}

pub(super) fn backup() -> OpenApiResource {
    OpenApiResource {
        group: "pingcap.com".into(),
        version: "v1alpha1".into(),
        kind: "Backup".into(),
        list_kind: "BackupList".into(),
        plural: "backups".into(),
        namespaced: true,
        subresources: vec!["status".into()],
        schema: Some(backup_schema()),
    }
}

/// A cluster-scoped custom resource in the same group, with a minimal schema.
pub(super) fn backup_schedule_cluster() -> OpenApiResource {
    OpenApiResource {
        group: "pingcap.com".into(),
        version: "v1alpha1".into(),
        kind: "ClusterThing".into(),
        list_kind: "ClusterThingList".into(),
        plural: "clusterthings".into(),
        namespaced: false,
        subresources: vec!["scale".into()],
        schema: Some(json!({
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}},
        })),
    }
}

/// A built-in kind the emulator publishes no schema for.
pub(super) fn pod() -> OpenApiResource {
    OpenApiResource {
        group: String::new(),
        version: "v1".into(),
        kind: "Pod".into(),
        list_kind: "PodList".into(),
        plural: "pods".into(),
        namespaced: true,
        subresources: vec!["status".into(), "log".into()],
        schema: None,
    }
}

pub(super) fn all_resources() -> Vec<OpenApiResource> {
    vec![backup(), backup_schedule_cluster(), pod()]
}

/// Follows a JSON pointer, failing the test with the path when it is missing.
pub(super) fn at<'a>(doc: &'a Value, pointer: &str) -> &'a Value {
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("{pointer} missing from the document"))
}

/// Escapes a key for use in a JSON pointer.
pub(super) fn esc(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
