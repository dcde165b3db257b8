//! Resource requests: the verbs on objects and collections, their subresources, and the
//! conversions at the API boundary (stored core Events served as `events.k8s.io/v1`,
//! custom resources served at the requested version).

use std::{borrow::Cow, sync::Arc};

use bytes::Bytes;
use http::{HeaderMap, Method, Response};
use serde_json::{Value, json};

use super::{
    Body, Representation, error_response, json_response,
    mutate::{create, delete, delete_collection, finalize, patch, token, update},
    representation, watch,
};
use crate::{
    builtin,
    cluster::{Cluster, Identity, now},
    engines,
    error::{ApiError, ApiResult},
    ops::{self, FieldValidation, ListOptions, WriteOptions},
    protobuf,
    registry::{Builtin, ResourceType},
    request::{Query, ResourcePath},
    selector::{FieldSelector, LabelSelector},
};

pub(crate) struct Ctx<'a> {
    pub(crate) cluster: &'a Arc<Cluster>,
    pub(crate) method: &'a Method,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) query: &'a Query,
    pub(crate) body: Bytes,
}

impl Ctx<'_> {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(super) fn body_value(&self) -> ApiResult<Value> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        let ct = self.header("content-type").unwrap_or("application/json");
        if ct.starts_with(protobuf::MEDIA_TYPE) {
            protobuf::decode_request(&self.body).map_err(|e| {
                let message = format!(
                    "the protobuf request body could not be decoded: {e}; send the object as \
                     YAML or JSON instead, e.g. `kubectl apply -f object.yaml`"
                );
                ApiError::new(415, "UnsupportedMediaType", message)
            })
        } else if ct.contains("yaml") {
            decode_yaml(&self.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
        } else {
            serde_json::from_slice(&self.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))
        }
    }

    pub(super) fn write_options(&self, subresource: Option<&str>) -> ApiResult<WriteOptions> {
        let dry_run = match self.query.get("dryRun") {
            None => false,
            Some("All") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "unsupported dryRun value {other:?}: only \"All\""
                )));
            }
        };
        // Without `fieldManager` the real server names the writer after its User-Agent.
        let manager = self
            .query
            .get("fieldManager")
            .map(str::to_string)
            .or_else(|| {
                self.header("user-agent")
                    .map(|ua| ua.split('/').next().unwrap_or(ua).to_string())
            })
            .unwrap_or_default();
        Ok(WriteOptions {
            dry_run,
            field_manager: manager,
            field_validation: FieldValidation::parse(self.query.get("fieldValidation")),
            subresource: subresource.map(str::to_string),
            force: self.query.flag("force"),
            now: now(),
        })
    }
}

/// The type whose storage the verbs operate on (core Events for `events.k8s.io`).
pub(super) fn storage_type(cluster: &Cluster, rt: &ResourceType) -> Arc<ResourceType> {
    if rt.builtin() == Some(Builtin::EventV1)
        && let Some(core) = cluster.lock().registry.lookup("", "v1", "events")
    {
        return core;
    }
    Arc::new(rt.clone())
}

/// A YAML request body. kubectl sends JSON under the YAML media type (server-side
/// apply); JSON is read as JSON first because the YAML parser refuses integers beyond
/// 64 bits, which Go's decoder reads as floats (a CRD's int64 `minimum` prints as
/// `-9223372036854776000`).
fn decode_yaml(body: &[u8]) -> Result<Value, String> {
    if body.trim_ascii_start().starts_with(b"{")
        && let Ok(v) = serde_json::from_slice(body)
    {
        return Ok(v);
    }
    yaml_serde::from_slice(body).map_err(|e| e.to_string())
}

/// A stored object as served through `rt`: the stored value itself when it is already
/// in `rt`'s version, so lists serialize without copying every object.
pub(crate) fn encode<'a>(rt: &ResourceType, stored: &'a Value) -> Cow<'a, Value> {
    if rt.builtin() == Some(Builtin::EventV1) {
        return Cow::Owned(builtin::event_core_to_v1(stored));
    }
    let version = rt.api_version();
    if stored.get("apiVersion").and_then(Value::as_str) == Some(version.as_str()) {
        return Cow::Borrowed(stored);
    }
    let mut out = stored.clone();
    out["apiVersion"] = json!(version);
    Cow::Owned(out)
}

/// A request body in `rt`'s version turned into the stored form.
pub(super) fn decode(rt: &ResourceType, body: Value) -> ApiResult<Value> {
    if rt.builtin() == Some(Builtin::EventV1) && body.is_object() {
        builtin::decode(Builtin::EventV1, &body).map_err(ApiError::bad_request)?;
        return Ok(builtin::event_v1_to_core(&body));
    }
    Ok(body)
}

/// Field selectors each kind supports beyond `metadata.name` and `metadata.namespace`.
pub(crate) fn supported_fields(rt: &ResourceType) -> &'static [&'static str] {
    match rt.builtin() {
        Some(Builtin::Pod) => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        Some(Builtin::Event) => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        Some(Builtin::EventV1) => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "reason",
            "reportingController",
            "type",
        ],
        Some(Builtin::Secret) => &["type"],
        Some(Builtin::Namespace) => &["status.phase"],
        Some(Builtin::Job) => &["status.successful"],
        _ => &[],
    }
}

pub(crate) fn selectors(
    rt: &ResourceType,
    query: &Query,
) -> ApiResult<(LabelSelector, FieldSelector)> {
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or_default())?;
    let mut fields_raw = query.get("fieldSelector").unwrap_or_default().to_string();
    if rt.builtin() == Some(Builtin::EventV1) {
        // Selectors name v1 fields; stored events are core/v1.
        fields_raw = fields_raw
            .replace("regarding.", "involvedObject.")
            .replace("reportingController", "reportingComponent");
    }
    let fields = FieldSelector::parse(&fields_raw, supported_fields(rt))?;
    Ok((labels, fields))
}

/// A list of `rt`'s kind (`kind`, `apiVersion`, `metadata`, `items`), its items serialized
/// where they are.
#[derive(serde::Serialize)]
pub(crate) struct ListBody<'a, T: serde::Serialize> {
    kind: &'a str,
    #[serde(rename = "apiVersion")]
    api_version: String,
    metadata: Value,
    items: &'a [T],
}

pub(crate) fn list_body<'a, T: serde::Serialize>(
    rt: &'a ResourceType,
    items: &'a [T],
    metadata: Value,
) -> ListBody<'a, T> {
    ListBody {
        kind: &rt.list_kind,
        api_version: rt.api_version(),
        metadata,
        items,
    }
}

pub(crate) fn partial_metadata(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
}

pub(crate) async fn handle(
    ctx: Ctx<'_>,
    path: ResourcePath,
    identity: &Identity,
) -> Response<Body> {
    match dispatch(&ctx, &path, identity).await {
        Ok(resp) => resp,
        Err(err) => error_response(&err),
    }
}

fn not_served() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

async fn dispatch(
    ctx: &Ctx<'_>,
    path: &ResourcePath,
    identity: &Identity,
) -> ApiResult<Response<Body>> {
    let rt = ctx
        .cluster
        .lock()
        .registry
        .lookup(&path.group, &path.version, &path.plural)
        .ok_or_else(not_served)?;
    if (!rt.namespaced && path.namespace.is_some())
        || (rt.namespaced && path.namespace.is_none() && path.name.is_some())
    {
        return Err(not_served());
    }
    let ns = path.namespace.as_deref();
    let m = ctx.method;
    match (path.subresource.as_deref(), path.name.as_deref()) {
        (None, Some(name)) if m == Method::GET => get(ctx, &rt, ns, name),
        (None, None) if m == Method::GET => {
            if ctx.query.flag("watch") {
                watch::serve(ctx, &rt, ns).await
            } else {
                list(ctx, &rt, ns)
            }
        }
        (None, None) if m == Method::POST => create(ctx, &rt, ns),
        (None, Some(name)) if m == Method::PUT => update(ctx, &rt, ns, name, None),
        (None, Some(name)) if m == Method::PATCH => patch(ctx, &rt, ns, name, None),
        (None, Some(name)) if m == Method::DELETE => delete(ctx, &rt, ns, name),
        (None, None) if m == Method::DELETE => delete_collection(ctx, &rt, ns),
        (Some("status"), Some(name)) if rt.has_status() => match *m {
            Method::GET => get(ctx, &rt, ns, name),
            Method::PUT => update(ctx, &rt, ns, name, Some("status")),
            Method::PATCH => patch(ctx, &rt, ns, name, Some("status")),
            _ => Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            )),
        },
        (Some("log"), Some(name)) if rt.builtin() == Some(Builtin::Pod) && m == Method::GET => {
            super::logs::serve(ctx.cluster, ctx.query, ns.unwrap_or_default(), name).await
        }
        (Some("token"), Some(name))
            if rt.builtin() == Some(Builtin::ServiceAccount) && m == Method::POST =>
        {
            token(ctx, ns.unwrap_or_default(), name)
        }
        (Some("finalize"), Some(name))
            if rt.builtin() == Some(Builtin::Namespace) && m == Method::PUT =>
        {
            finalize(ctx, &rt, name)
        }
        (Some(_), _) => Err(not_served()),
        _ => {
            let _ = identity;
            Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ))
        }
    }
}

pub(super) fn respond_object(
    ctx: &Ctx<'_>,
    rt: &ResourceType,
    code: u16,
    stored: &Value,
    warnings: &[String],
) -> ApiResult<Response<Body>> {
    let obj = encode(rt, stored);
    Ok(match representation(ctx.header("accept")) {
        Representation::Object => json_response(code, &obj, warnings),
        Representation::PartialMetadata => json_response(code, &partial_metadata(&obj), warnings),
        Representation::Table => {
            let table = engines::table(
                rt,
                &[obj.as_ref()],
                ctx.query.get("includeObject"),
                now(),
                json!({}),
            );
            json_response(code, &table, warnings)
        }
    })
}

fn get(
    ctx: &Ctx<'_>,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
) -> ApiResult<Response<Body>> {
    let srt = storage_type(ctx.cluster, rt);
    let obj = ops::get(&ctx.cluster.lock(), &srt, ns, name)?;
    respond_object(ctx, rt, 200, &obj, &[])
}

fn list(ctx: &Ctx<'_>, rt: &ResourceType, ns: Option<&str>) -> ApiResult<Response<Body>> {
    let srt = storage_type(ctx.cluster, rt);
    let (labels, fields) = selectors(rt, ctx.query)?;
    let repr = representation(ctx.header("accept"));
    // A Table is answered whole (docs/adr/0010-table-lists-answered-whole.md): kubectl's
    // own request rate limit, not the server, is what made paged tables slow.
    let limit = match repr {
        Representation::Table => None,
        _ => ctx.query.number("limit").map(|l| l.max(0) as usize),
    };
    let opts = ListOptions {
        labels,
        fields,
        limit,
        continue_token: ctx.query.get("continue").map(str::to_string),
    };
    if let (Some(rv), Some("Exact")) = (
        ctx.query.get("resourceVersion"),
        ctx.query.get("resourceVersionMatch"),
    ) {
        let current = ctx.cluster.lock().store.resource_version();
        if rv != current.to_string() {
            return Err(ApiError::gone(format!(
                "too old resource version: {rv} ({current})"
            )));
        }
    }
    let listed = ops::list(&ctx.cluster.lock(), &srt, ns, &opts)?;
    let mut meta = json!({"resourceVersion": listed.resource_version.to_string()});
    if let Some(token) = &listed.continue_token {
        meta["continue"] = json!(token);
    }
    if let Some(remaining) = listed.remaining {
        meta["remainingItemCount"] = json!(remaining);
    }
    let items: Vec<Cow<Value>> = listed.items.iter().map(|o| encode(rt, o)).collect();
    let response = match repr {
        Representation::Table => {
            let rows: Vec<&Value> = items.iter().map(|i| i.as_ref()).collect();
            let table = engines::table(rt, &rows, ctx.query.get("includeObject"), now(), meta);
            json_response(200, &table, &[])
        }
        Representation::PartialMetadata => json_response(
            200,
            &json!({
                "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                "items": items.iter().map(|i| partial_metadata(i)).collect::<Vec<_>>()
            }),
            &[],
        ),
        // Built-in lists carry no per-item type fields, as the real server encodes them.
        Representation::Object if rt.custom().is_none() => {
            let items: Vec<Value> = items
                .into_iter()
                .map(|i| {
                    let mut i = i.into_owned();
                    if let Some(o) = i.as_object_mut() {
                        o.remove("kind");
                        o.remove("apiVersion");
                    }
                    i
                })
                .collect();
            json_response(200, &list_body(rt, &items, meta), &[])
        }
        Representation::Object => json_response(200, &list_body(rt, &items, meta), &[]),
    };
    Ok(response)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn yaml_bodies_read_json_numbers_beyond_64_bits_as_floats() {
        let body = br#" {"minimum": -9223372036854776000, "n": 3}"#;
        let v = super::decode_yaml(body).unwrap();
        assert_eq!(v["minimum"].as_f64(), Some(-9.223372036854776e18));
        assert_eq!(v["n"], json!(3));
        let yaml = super::decode_yaml(b"a: 1\nb: [x]\n").unwrap();
        assert_eq!(yaml, json!({"a": 1, "b": ["x"]}));
        assert!(super::decode_yaml(b"a: [").is_err());
    }
}
