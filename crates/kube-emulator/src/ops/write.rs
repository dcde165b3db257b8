//! create, update (PUT) and patch.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{
    WriteOptions, Written,
    admit::{Admitted, admit, is_noop},
    delete::remove_object,
};
use crate::{
    cluster::{State, rfc3339},
    engines::{self, ApplyRequest},
    error::{ApiError, ApiResult},
    hooks,
    registry::{Builtin, ResourceType},
};

const GENERATE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn generated_name(prefix: &str) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| GENERATE_ALPHABET[rng.random_range(0..GENERATE_ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

fn check_type(rt: &ResourceType, body: &Value) -> ApiResult<()> {
    if let Some(av) = body["apiVersion"].as_str()
        && av != rt.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if let Some(kind) = body["kind"].as_str()
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    Ok(())
}

/// Puts the URL's namespace into the object, refusing a different one in the body.
fn place(rt: &ResourceType, namespace: Option<&str>, body: &mut Value) -> ApiResult<()> {
    if !body["metadata"].is_object() {
        body["metadata"] = json!({});
    }
    if rt.namespaced {
        let ns = namespace.ok_or_else(|| {
            ApiError::bad_request("a namespace must be given in the request path")
        })?;
        match body["metadata"]["namespace"].as_str() {
            Some(n) if !n.is_empty() && n != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => body["metadata"]["namespace"] = json!(ns),
        }
    } else {
        body["metadata"]
            .as_object_mut()
            .map(|m| m.remove("namespace"));
    }
    Ok(())
}

/// Creation inside a namespace needs it to exist and not be terminating.
pub(crate) fn check_namespace(
    state: &State,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
) -> ApiResult<()> {
    let ns = state.store.get(
        &crate::registry::GroupResource::new("", "namespaces"),
        "",
        namespace,
    );
    match ns {
        None => Err(ApiError::not_found("", "namespaces", namespace)),
        Some(ns) if !ns["metadata"]["deletionTimestamp"].is_null() => Err(
            ApiError::namespace_terminating(&rt.group, &rt.plural, name, namespace),
        ),
        Some(_) => Ok(()),
    }
}

pub(crate) fn create(
    state: &mut State,
    rt: &ResourceType,
    namespace: Option<&str>,
    mut body: Value,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    if !body.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    check_type(rt, &body)?;
    place(rt, namespace, &mut body)?;
    let mut name = body["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Admission runs before a name is generated, so its refusals quote `generateName`.
    let mut admitted_as = name.clone();
    if name.is_empty() {
        if let Some(prefix) = body["metadata"]["generateName"]
            .as_str()
            .filter(|p| !p.is_empty())
        {
            admitted_as = prefix.to_string();
            name = generated_name(prefix);
            body["metadata"]["name"] = json!(name);
        } else {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                "",
                vec![crate::cause::FieldCause::required(
                    "metadata.name",
                    "name or generateName is required",
                )],
            ));
        }
    }
    let ns = body["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if rt.namespaced {
        check_namespace(state, rt, &ns, &admitted_as)?;
    }
    if rt.builtin() == Some(Builtin::Pod) {
        hooks::admit_pod(state, &ns, &admitted_as, &mut body)?;
    }
    let admitted = admit(rt, None, body, opts, true)?;
    if state.store.get(&rt.storage, &ns, &name).is_some() {
        return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
    }
    insert_new(state, rt, admitted, opts)
}

/// Stores an admitted new object (unless dry-run) and runs what follows a write.
fn insert_new(
    state: &mut State,
    rt: &ResourceType,
    admitted: Admitted,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    if opts.dry_run {
        return Ok(Written {
            object: admitted.object,
            warnings: admitted.warnings,
            created: true,
        });
    }
    let stored = state.store.put(&rt.storage, admitted.object);
    hooks::after_write(state, rt, &stored, opts.now);
    Ok(Written {
        object: (*stored).clone(),
        warnings: admitted.warnings,
        created: true,
    })
}

fn check_identity(
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
    body: &mut Value,
) -> ApiResult<()> {
    place(rt, namespace, body)?;
    match body["metadata"]["name"].as_str() {
        Some(n) if !n.is_empty() && n != name => Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        ))),
        _ => {
            body["metadata"]["name"] = json!(name);
            Ok(())
        }
    }
}

pub(crate) fn update(
    state: &mut State,
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
    mut body: Value,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    if !body.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    check_type(rt, &body)?;
    check_identity(rt, namespace, name, &mut body)?;
    let old = super::read::get(state, rt, namespace, name)?;
    let rv = body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if rv.is_empty() {
        if rt.custom().is_some() {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                name,
                vec![crate::cause::FieldCause::invalid(
                    "metadata.resourceVersion",
                    &json!("0x0"),
                    "must be specified for an update",
                )],
            ));
        }
    } else if rv
        != old["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
    {
        return Err(ApiError::stale(&rt.group, &rt.plural, name));
    }
    let admitted = admit(rt, Some(&old), body, opts, true)?;
    commit_update(state, rt, &old, admitted.object, admitted.warnings, opts)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchKind {
    pub(crate) fn from_content_type(ct: &str) -> Option<Self> {
        let ct = ct.split(';').next().unwrap_or_default().trim();
        match ct {
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchKind::Apply)
            }
            _ => None,
        }
    }
}

pub(crate) fn patch(
    state: &mut State,
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
    kind: PatchKind,
    patch: Value,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    if kind == PatchKind::Strategic && rt.custom().is_some() {
        return Err(ApiError::unsupported_media_type(
            "application/strategic-merge-patch+json",
        ));
    }
    let existing = state
        .store
        .get(&rt.storage, namespace.unwrap_or_default(), name);
    if kind == PatchKind::Apply {
        return apply(state, rt, namespace, name, existing, patch, opts);
    }
    let old = existing.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
    let mut base = (*old).clone();
    base["apiVersion"] = json!(rt.api_version());
    let mut patched = match kind {
        PatchKind::Merge => {
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            engines::merge_patch(&base, &patch)
        }
        PatchKind::Json => engines::json_patch(&base, &patch)?,
        PatchKind::Strategic => engines::strategic_merge_patch(&base, &patch, rt)?,
        PatchKind::Apply => unreachable!("handled above"),
    };
    check_patched_rv(rt, &old, &patched, name)?;
    check_identity(rt, namespace, name, &mut patched)?;
    let admitted = admit(rt, Some(&old), patched, opts, true)?;
    commit_update(state, rt, &old, admitted.object, admitted.warnings, opts)
}

fn check_patched_rv(rt: &ResourceType, old: &Value, patched: &Value, name: &str) -> ApiResult<()> {
    let want = patched["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if !want.is_empty()
        && want
            != old["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
    {
        return Err(ApiError::stale(&rt.group, &rt.plural, name));
    }
    Ok(())
}

fn apply(
    state: &mut State,
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
    existing: Option<Arc<Value>>,
    applied: Value,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    if opts.field_manager.is_empty() {
        return Err(ApiError::unprocessable(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    if !applied.is_object() {
        return Err(ApiError::bad_request("an apply patch must be an object"));
    }
    check_type(rt, &applied)?;
    let now = rfc3339(opts.now);
    let mut result = engines::server_side_apply(
        rt,
        ApplyRequest {
            live: existing.as_deref(),
            applied: &applied,
            manager: &opts.field_manager,
            force: opts.force,
            now: &now,
            subresource: opts.subresource.as_deref(),
        },
    )?;
    check_identity(rt, namespace, name, &mut result)?;
    match existing {
        None => {
            if opts.subresource.is_some() {
                return Err(ApiError::not_found(&rt.group, &rt.plural, name));
            }
            let ns = namespace.unwrap_or_default();
            if rt.namespaced {
                check_namespace(state, rt, ns, name)?;
            }
            let admitted = admit(rt, None, result, opts, false)?;
            insert_new(state, rt, admitted, opts)
        }
        Some(old) => {
            check_patched_rv(rt, &old, &applied, name)?;
            let admitted = admit(rt, Some(&old), result, opts, false)?;
            commit_update(state, rt, &old, admitted.object, admitted.warnings, opts)
        }
    }
}

/// A deleting object whose last finalizer is gone is removed by the write that removed it.
fn finalized(rt: &ResourceType, obj: &Value) -> bool {
    let meta = &obj["metadata"];
    if meta["deletionTimestamp"].is_null() {
        return false;
    }
    let no_finalizers = meta["finalizers"].as_array().is_none_or(Vec::is_empty);
    let grace_done = meta["deletionGracePeriodSeconds"].as_i64().unwrap_or(0) == 0;
    let ns_done = rt.builtin() != Some(Builtin::Namespace)
        || obj["spec"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty);
    no_finalizers && grace_done && ns_done
}

pub(super) fn commit_update(
    state: &mut State,
    rt: &ResourceType,
    old: &Value,
    mut new: Value,
    warnings: Vec<String>,
    opts: &WriteOptions,
) -> ApiResult<Written> {
    if is_noop(old, &new) {
        return Ok(Written {
            object: old.clone(),
            warnings,
            created: false,
        });
    }
    if opts.dry_run {
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        return Ok(Written {
            object: new,
            warnings,
            created: false,
        });
    }
    if finalized(rt, &new) {
        let (ns, name) = crate::store::key_of(&new);
        let gone = remove_object(state, rt, &ns, &name, Some(new))
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
        return Ok(Written {
            object: (*gone).clone(),
            warnings,
            created: false,
        });
    }
    let stored = state.store.put(&rt.storage, new);
    hooks::after_write(state, rt, &stored, opts.now);
    Ok(Written {
        object: (*stored).clone(),
        warnings,
        created: false,
    })
}
