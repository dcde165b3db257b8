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

pub fn prune(obj: &mut Value, schema: &Value) -> Vec<String> {
    super::schema::prune(obj, schema)
}

pub fn apply_defaults(obj: &mut Value, schema: &Value) {
    super::schema::apply_defaults(obj, schema)
}

pub fn validate_schema(obj: &Value, schema: &Value) -> Vec<FieldCause> {
    super::schema::validate(obj, schema)
}

/// Object metadata rules, with the name rule each kind uses upstream.
pub fn validate_meta(rt: &ResourceType, obj: &Value) -> Vec<FieldCause> {
    use super::{registry::Builtin, schema::meta::NameRule};
    let rule = match rt.builtin() {
        Some(Builtin::Namespace) => NameRule::Dns1123Label,
        Some(
            Builtin::Role
            | Builtin::RoleBinding
            | Builtin::ClusterRole
            | Builtin::ClusterRoleBinding,
        ) => NameRule::PathSegment,
        _ => NameRule::Dns1123Subdomain,
    };
    let mut causes =
        super::schema::meta::validate_object_meta(&obj["metadata"], rt.namespaced, rule);
    // A Job's name becomes a label value on its pods, so it is held to 63 characters.
    if rt.builtin() == Some(Builtin::Job) {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if name.len() > 63 {
            causes.push(FieldCause::invalid(
                "metadata.name",
                &Value::from(name),
                "must be no more than 63 characters",
            ));
        }
    }
    causes
}

/// The `meta.k8s.io/v1` Table for objects of `rt`: printer columns for custom resources,
/// the familiar kubectl columns for built-in kinds.
pub fn table(
    rt: &ResourceType,
    objects: &[Value],
    include: Option<&str>,
    now: jiff::Timestamp,
    list_meta: Value,
) -> Value {
    use super::table::{IncludeObject, PrinterColumn, builtin_table, crd_table};
    let include =
        IncludeObject::from_query(include.unwrap_or_default()).unwrap_or(IncludeObject::Metadata);
    match rt.custom() {
        Some(info) => {
            let columns: Vec<PrinterColumn> = info
                .printer_columns
                .iter()
                .filter_map(|c| serde_json::from_value(c.clone()).ok())
                .collect();
            crd_table(&columns, objects, include, now, list_meta)
        }
        None => builtin_table(&rt.group, &rt.kind, objects, include, now, list_meta),
    }
}

fn openapi_resources(registry: &super::registry::Registry) -> Vec<super::openapi::OpenApiResource> {
    registry
        .all()
        .iter()
        .map(|t| super::openapi::OpenApiResource {
            group: t.group.clone(),
            version: t.version.clone(),
            kind: t.kind.clone(),
            list_kind: t.list_kind.clone(),
            plural: t.plural.clone(),
            namespaced: t.namespaced,
            subresources: t.subresources.clone(),
            schema: t.custom().and_then(|c| c.schema.clone()),
        })
        .collect()
}

/// `/openapi/v2`: protobuf when asked for (kubectl always asks), JSON otherwise.
pub fn openapi_v2(
    registry: &super::registry::Registry,
    accept: &str,
) -> http::Response<super::http::Body> {
    use super::openapi::{V2_PROTOBUF_CONTENT_TYPE, v2_document, v2_protobuf};
    let doc = v2_document(&openapi_resources(registry));
    if accept.contains("protobuf") {
        let mut resp = http::Response::new(super::http::full(v2_protobuf(&doc)));
        resp.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static(V2_PROTOBUF_CONTENT_TYPE),
        );
        resp
    } else {
        super::http::json_response(200, &doc, &[])
    }
}

pub fn openapi_v3_index(registry: &super::registry::Registry) -> Value {
    super::openapi::v3_index(&openapi_resources(registry))
}

/// The document of one group-version, or None when it is not served.
pub fn openapi_v3(
    registry: &super::registry::Registry,
    group: &str,
    version: &str,
) -> Option<Value> {
    if registry.in_group_version(group, version).is_empty() {
        return None;
    }
    Some(super::openapi::v3_group_version(
        &openapi_resources(registry),
        group,
        version,
    ))
}
