//! The seam between request handling and the pure engines (patching, schema processing,
//! field ownership). Request handling only calls these functions.

use serde_json::Value;

use super::{cause::FieldCause, error::ApiError, registry::ResourceType};

fn patch_error(err: super::patch::PatchError) -> ApiError {
    use super::patch::PatchError;
    match err {
        PatchError::BadRequest(m) => ApiError::bad_request(m),
        PatchError::Unprocessable(m) => ApiError::unprocessable(m),
        PatchError::TooLarge(m) => ApiError::new(413, "RequestEntityTooLarge", m),
        PatchError::Internal(m) => ApiError::internal(m),
    }
}

/// The structure information (list types, merge keys) patches and field ownership need.
fn merge_schema(rt: &ResourceType) -> std::sync::Arc<Value> {
    match rt.custom() {
        Some(info) => info.merge_schema.clone(),
        None => std::sync::Arc::new(super::patch::builtin_merge_schema(&rt.group, &rt.kind)),
    }
}

pub(crate) fn merge_patch(doc: &Value, patch: &Value) -> Value {
    super::patch::merge_patch(doc, patch)
}

pub(crate) fn json_patch(doc: &Value, patch: &Value) -> Result<Value, ApiError> {
    super::patch::json_patch(doc, patch).map_err(patch_error)
}

pub(crate) fn strategic_merge_patch(
    doc: &Value,
    patch: &Value,
    rt: &ResourceType,
) -> Result<Value, ApiError> {
    super::patch::strategic_merge_patch(doc, patch, &merge_schema(rt)).map_err(patch_error)
}

pub(crate) struct ApplyRequest<'a> {
    pub(crate) live: Option<&'a Value>,
    pub(crate) applied: &'a Value,
    pub(crate) manager: &'a str,
    pub(crate) force: bool,
    pub(crate) now: &'a str,
    pub(crate) subresource: Option<&'a str>,
}

/// Server-side apply. Fields the endpoint resets are taken out of the configuration first:
/// `status` on the main resource of kinds with a status subresource, everything but
/// `status` through `/status`.
pub(crate) fn server_side_apply(
    rt: &ResourceType,
    req: ApplyRequest<'_>,
) -> Result<Value, ApiError> {
    use super::patch::ApplyError;
    let mut applied = req.applied.clone();
    if let Some(o) = applied.as_object_mut() {
        if req.subresource == Some("status") {
            o.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"));
            if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.retain(|k, _| {
                    matches!(k.as_str(), "name" | "namespace" | "uid" | "resourceVersion")
                });
            }
        } else if rt.has_status() {
            o.remove("status");
        }
    }
    super::patch::server_side_apply(
        req.live,
        &applied,
        req.manager,
        req.force,
        &merge_schema(rt),
        req.now,
        req.subresource,
    )
    .map_err(|e| match e {
        ApplyError::Invalid(m) => ApiError::bad_request(m),
        ApplyError::Conflicts(conflicts) => {
            let mut err = ApiError::new(409, "Conflict", ApplyError::Conflicts(conflicts.clone()).message());
            let causes: Vec<Value> = conflicts
                .iter()
                .map(|c| serde_json::json!({"reason": "FieldManagerConflict", "message": c.cause_message(), "field": c.field}))
                .collect();
            err.details = Some(serde_json::json!({"causes": causes}));
            err
        }
    })
}

pub(crate) fn record_update(
    rt: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    now: &str,
    subresource: Option<&str>,
) {
    super::patch::record_update(
        old.unwrap_or(&Value::Null),
        new,
        manager,
        now,
        &merge_schema(rt),
        subresource,
    );
}

pub(crate) fn prune(obj: &mut Value, schema: &Value) -> Vec<String> {
    super::schema::prune(obj, schema)
}

pub(crate) fn apply_defaults(obj: &mut Value, schema: &Value) {
    super::schema::apply_defaults(obj, schema)
}

pub(crate) fn validate_schema(obj: &Value, schema: &Value) -> Vec<FieldCause> {
    super::schema::validate(obj, schema)
}

/// Object metadata rules, with the name rule each kind uses upstream.
pub(crate) fn validate_meta(rt: &ResourceType, obj: &Value) -> Vec<FieldCause> {
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
pub(crate) fn table<'a>(
    rt: &ResourceType,
    objects: &[&'a Value],
    include: Option<&str>,
    now: jiff::Timestamp,
    list_meta: Value,
) -> super::table::Table<'a> {
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
            schema: t.custom().and_then(|c| c.schema.as_deref().cloned()),
        })
        .collect()
}

/// `/openapi/v2`: protobuf when asked for (kubectl always asks), JSON otherwise.
pub(crate) fn openapi_v2(
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

pub(crate) fn openapi_v3_index(registry: &super::registry::Registry) -> Value {
    super::openapi::v3_index(&openapi_resources(registry))
}

/// The document of one group-version, or None when it is not served.
pub(crate) fn openapi_v3(
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
