//! The writing verbs of resource requests: create, update, patch, delete,
//! deletecollection, and the `token` and `finalize` subresources.

use http::Response;
use serde_json::{Value, json};

use super::{Body, json_response};
use crate::{
    cluster::{API_AUDIENCE, Cluster, Identity, IssuedToken, now, rfc3339},
    engines,
    error::{ApiError, ApiResult},
    ops::{self, DeleteOptions, Deleted, ListOptions, PatchKind, Propagation, WriteOptions},
    registry::{Builtin, ResourceType},
};

use super::resource::{Ctx, decode, encode, list_body, respond_object, selectors, storage_type};

pub(super) fn create(
    ctx: &Ctx<'_>,
    rt: &ResourceType,
    ns: Option<&str>,
) -> ApiResult<Response<Body>> {
    let srt = storage_type(ctx.cluster, rt);
    let body = decode(rt, ctx.body_value()?)?;
    let opts = ctx.write_options(None)?;
    if let Some(info) = rt.custom() {
        crd_accepts_creates(ctx.cluster, &info.crd_name)?;
    }
    let written = {
        let mut state = ctx.cluster.lock();
        ops::create(&mut state, &srt, ns, body, &opts)?
    };
    ctx.cluster.notify_changed();
    respond_object(ctx, rt, 201, &written.object, &written.warnings)
}

fn crd_accepts_creates(cluster: &Cluster, crd_name: &str) -> ApiResult<()> {
    let state = cluster.lock();
    let crd = state.store.get(
        &crate::registry::GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions"),
        "",
        crd_name,
    );
    if crd.is_some_and(|c| !c["metadata"]["deletionTimestamp"].is_null()) {
        return Err(ApiError::method_not_allowed(
            "create not allowed while custom resource definition is terminating",
        ));
    }
    Ok(())
}

pub(super) fn update(
    ctx: &Ctx<'_>,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> ApiResult<Response<Body>> {
    let srt = storage_type(ctx.cluster, rt);
    let body = decode(rt, ctx.body_value()?)?;
    let opts = ctx.write_options(sub)?;
    let written = {
        let mut state = ctx.cluster.lock();
        ops::update(&mut state, &srt, ns, name, body, &opts)?
    };
    ctx.cluster.notify_changed();
    respond_object(ctx, rt, 200, &written.object, &written.warnings)
}

pub(super) fn patch(
    ctx: &Ctx<'_>,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> ApiResult<Response<Body>> {
    let srt = storage_type(ctx.cluster, rt);
    let ct = ctx.header("content-type").unwrap_or_default().to_string();
    let kind =
        PatchKind::from_content_type(&ct).ok_or_else(|| ApiError::unsupported_media_type(&ct))?;
    let body = ctx.body_value()?;
    let opts = ctx.write_options(sub)?;
    let written = {
        let mut state = ctx.cluster.lock();
        if rt.builtin() == Some(Builtin::EventV1) {
            patch_converted(&mut state, rt, &srt, ns, name, kind, body, &opts)?
        } else {
            ops::patch(&mut state, &srt, ns, name, kind, body, &opts)?
        }
    };
    ctx.cluster.notify_changed();
    let code = if written.created { 201 } else { 200 };
    respond_object(ctx, rt, code, &written.object, &written.warnings)
}

/// Patches a converted kind in its served form, then stores the converted result.
#[allow(clippy::too_many_arguments)]
fn patch_converted(
    state: &mut crate::cluster::State,
    rt: &ResourceType,
    srt: &ResourceType,
    ns: Option<&str>,
    name: &str,
    kind: PatchKind,
    body: Value,
    opts: &WriteOptions,
) -> ApiResult<ops::Written> {
    let stored = ops::get(state, srt, ns, name)?;
    let served = encode(rt, &stored);
    let patched = match kind {
        PatchKind::Merge => engines::merge_patch(&served, &body),
        PatchKind::Json => engines::json_patch(&served, &body)?,
        PatchKind::Strategic => engines::strategic_merge_patch(&served, &body, rt)?,
        PatchKind::Apply => {
            return Err(ApiError::unsupported_media_type(
                "application/apply-patch+yaml",
            ));
        }
    };
    let mut core = decode(rt, patched)?;
    if core["metadata"]["resourceVersion"].is_null() {
        core["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"].clone();
    }
    ops::update(state, srt, ns, name, core, opts)
}

fn delete_options(ctx: &Ctx<'_>, rt: &ResourceType) -> ApiResult<DeleteOptions> {
    let body = ctx.body_value()?;
    let mut opts = DeleteOptions {
        via_batch_v1: rt.group == "batch" && rt.version == "v1",
        ..DeleteOptions::default()
    };
    let policy = body["propagationPolicy"]
        .as_str()
        .or_else(|| ctx.query.get("propagationPolicy"));
    if let Some(p) = policy {
        opts.propagation = Some(Propagation::parse(p).ok_or_else(|| {
            ApiError::bad_request(format!("propagationPolicy: Unsupported value: {p:?}"))
        })?);
    } else if let Some(orphan) = body["orphanDependents"]
        .as_bool()
        .or_else(|| ctx.query.get("orphanDependents").map(|v| v == "true"))
    {
        opts.propagation = Some(if orphan {
            Propagation::Orphan
        } else {
            Propagation::Background
        });
    }
    opts.precondition_uid = body["preconditions"]["uid"].as_str().map(str::to_string);
    opts.precondition_rv = body["preconditions"]["resourceVersion"]
        .as_str()
        .map(str::to_string);
    opts.grace_period_seconds = body["gracePeriodSeconds"]
        .as_i64()
        .or_else(|| ctx.query.number("gracePeriodSeconds"));
    let dry = body["dryRun"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v == "All"))
        || ctx.query.get("dryRun") == Some("All");
    opts.dry_run = dry;
    Ok(opts)
}

pub(super) fn delete(
    ctx: &Ctx<'_>,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
) -> ApiResult<Response<Body>> {
    let srt = storage_type(ctx.cluster, rt);
    let opts = delete_options(ctx, rt)?;
    let deleted = {
        let mut state = ctx.cluster.lock();
        ops::delete(&mut state, &srt, ns, name, &opts, now())?
    };
    ctx.cluster.notify_changed();
    let mut warnings = Vec::new();
    if opts.via_batch_v1 && opts.propagation.is_none() && rt.builtin() == Some(Builtin::Job) {
        warnings.push("child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning".to_string());
    }
    match deleted {
        Deleted::Pending(obj) => respond_object(ctx, rt, 200, &obj, &warnings),
        Deleted::Gone(obj) => {
            // Custom resources answer with the deleted object; built-ins with a Status.
            if rt.custom().is_some()
                || matches!(rt.builtin(), Some(Builtin::Pod | Builtin::Namespace))
            {
                respond_object(ctx, rt, 200, &obj, &warnings)
            } else {
                let status = json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "group": rt.group, "kind": rt.plural,
                                "uid": obj["metadata"]["uid"]}
                });
                Ok(json_response(200, &status, &warnings))
            }
        }
    }
}

pub(super) fn delete_collection(
    ctx: &Ctx<'_>,
    rt: &ResourceType,
    ns: Option<&str>,
) -> ApiResult<Response<Body>> {
    let srt = storage_type(ctx.cluster, rt);
    let opts = delete_options(ctx, rt)?;
    let (labels, fields) = selectors(rt, ctx.query)?;
    let mut deleted = Vec::new();
    {
        let mut state = ctx.cluster.lock();
        let listed = ops::list(
            &state,
            &srt,
            ns,
            &ListOptions {
                labels,
                fields,
                ..ListOptions::default()
            },
        )?;
        for obj in listed.items {
            let (ons, name) = crate::store::key_of(&obj);
            let ons = (!ons.is_empty()).then_some(ons.as_str());
            match ops::delete(&mut state, &srt, ons, &name, &opts, now()) {
                Ok(Deleted::Gone(o) | Deleted::Pending(o)) => {
                    deleted.push(encode(rt, &o).into_owned())
                }
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
    }
    ctx.cluster.notify_changed();
    let rv = ctx.cluster.lock().store.resource_version();
    Ok(json_response(
        200,
        &list_body(rt, &deleted, json!({"resourceVersion": rv.to_string()})),
        &[],
    ))
}

pub(super) fn token(ctx: &Ctx<'_>, ns: &str, sa: &str) -> ApiResult<Response<Body>> {
    let body = ctx.body_value()?;
    let seconds = body["spec"]["expirationSeconds"]
        .as_i64()
        .unwrap_or(3600)
        .max(600);
    let mut audiences: Vec<String> = body["spec"]["audiences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    if audiences.is_empty() {
        audiences.push(API_AUDIENCE.to_string());
    }
    let pod = (body["spec"]["boundObjectRef"]["kind"] == "Pod")
        .then(|| {
            body["spec"]["boundObjectRef"]["name"]
                .as_str()
                .map(str::to_string)
        })
        .flatten();
    let expires = now() + jiff::SignedDuration::from_secs(seconds);
    let token = mint_token(ctx.cluster, ns, sa, &audiences, expires, pod)?;
    let mut response = json!({
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": sa, "namespace": ns, "creationTimestamp": null},
        "spec": body["spec"].clone(),
        "status": {"token": token, "expirationTimestamp": rfc3339(expires)}
    });
    response["spec"]["expirationSeconds"] = json!(seconds);
    response["spec"]["audiences"] = json!(audiences);
    Ok(json_response(201, &response, &[]))
}

/// Issues a token for a ServiceAccount. One meant for the API server authenticates
/// until the sandbox stops (the emulator does not expire its own tokens); one for
/// other audiences (`sts.amazonaws.com`) does not authenticate here, as kube-apiserver
/// refuses tokens not addressed to it, and is kept for its relying party to verify.
pub(crate) fn mint_token(
    cluster: &Cluster,
    ns: &str,
    sa: &str,
    audiences: &[String],
    expires: jiff::Timestamp,
    pod: Option<String>,
) -> ApiResult<String> {
    use rand::distr::{Alphanumeric, SampleString};
    let mut state = cluster.lock();
    let sa_storage = crate::registry::GroupResource::new("", "serviceaccounts");
    if state.store.get(&sa_storage, ns, sa).is_none() {
        return Err(ApiError::not_found("", "serviceaccounts", sa));
    }
    let token = format!("sa.{}", Alphanumeric.sample_string(&mut rand::rng(), 48));
    if audiences.iter().any(|a| a == API_AUDIENCE) {
        state.tokens.insert(
            token.clone(),
            Identity::ServiceAccount {
                namespace: ns.to_string(),
                name: sa.to_string(),
            },
        );
    }
    state.issued.insert(
        token.clone(),
        IssuedToken {
            namespace: ns.to_string(),
            service_account: sa.to_string(),
            audiences: audiences.to_vec(),
            expires,
            pod,
        },
    );
    Ok(token)
}

pub(super) fn finalize(ctx: &Ctx<'_>, rt: &ResourceType, name: &str) -> ApiResult<Response<Body>> {
    let body = ctx.body_value()?;
    let opts = ctx.write_options(None)?;
    let written = {
        let mut state = ctx.cluster.lock();
        let current = ops::get(&state, rt, None, name)?;
        let mut next = (*current).clone();
        next["spec"]["finalizers"] = body["spec"]["finalizers"].clone();
        if let Some(rv) = body["metadata"]["resourceVersion"].as_str() {
            next["metadata"]["resourceVersion"] = json!(rv);
        }
        ops::update(&mut state, rt, None, name, next, &opts)?
    };
    ctx.cluster.notify_changed();
    respond_object(ctx, rt, 200, &written.object, &[])
}
