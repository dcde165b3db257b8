//! The seam between request handling and the pure engines (patching, schema processing,
//! field ownership). Request handling only calls these functions.

use serde_json::Value;

use super::{cause::FieldCause, error::ApiError, registry::ResourceType};

pub fn merge_patch(doc: &Value, patch: &Value) -> Value {
    let mut out = doc.clone();
    merge_into(&mut out, patch);
    out
}

fn merge_into(doc: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !doc.is_object() {
                *doc = Value::Object(Default::default());
            }
            let d = doc.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    d.remove(k);
                } else {
                    merge_into(d.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *doc = other.clone(),
    }
}

pub fn json_patch(_doc: &Value, _patch: &Value) -> Result<Value, ApiError> {
    Err(ApiError::unsupported_media_type(
        "application/json-patch+json",
    ))
}

pub fn strategic_merge_patch(
    _doc: &Value,
    _patch: &Value,
    _rt: &ResourceType,
) -> Result<Value, ApiError> {
    Err(ApiError::unsupported_media_type(
        "application/strategic-merge-patch+json",
    ))
}

pub struct ApplyRequest<'a> {
    pub live: Option<&'a Value>,
    pub applied: &'a Value,
    pub manager: &'a str,
    pub force: bool,
    pub now: &'a str,
    pub subresource: Option<&'a str>,
}

pub fn server_side_apply(rt: &ResourceType, req: ApplyRequest<'_>) -> Result<Value, ApiError> {
    let _ = rt;
    Ok(match req.live {
        Some(live) => merge_patch(live, req.applied),
        None => req.applied.clone(),
    })
}

pub fn record_update(
    _rt: &ResourceType,
    _old: Option<&Value>,
    _new: &mut Value,
    _manager: &str,
    _now: &str,
    _subresource: Option<&str>,
) {
}

pub fn prune(_obj: &mut Value, _schema: &Value) -> Vec<String> {
    Vec::new()
}

pub fn apply_defaults(_obj: &mut Value, _schema: &Value) {}

pub fn validate_schema(_obj: &Value, _schema: &Value) -> Vec<FieldCause> {
    Vec::new()
}

pub fn validate_meta(_rt: &ResourceType, _obj: &Value) -> Vec<FieldCause> {
    Vec::new()
}

pub fn table(
    rt: &ResourceType,
    objects: &[Value],
    include: Option<&str>,
    now: jiff::Timestamp,
    list_meta: Value,
) -> Value {
    let _ = (rt, now);
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = serde_json::json!({"cells": [o["metadata"]["name"], o["metadata"]["creationTimestamp"]]});
            if include != Some("None") {
                row["object"] = serde_json::json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]});
            }
            row
        })
        .collect();
    serde_json::json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "", "priority": 0}
        ],
        "rows": rows
    })
}

pub fn openapi_v2(
    _registry: &super::registry::Registry,
    _accept: &str,
) -> http::Response<super::http::Body> {
    super::http::error_response(&ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    ))
}

pub fn openapi_v3_index(_registry: &super::registry::Registry) -> Value {
    serde_json::json!({"paths": {}})
}

pub fn openapi_v3(
    _registry: &super::registry::Registry,
    _group: &str,
    _version: &str,
) -> Option<Value> {
    None
}
