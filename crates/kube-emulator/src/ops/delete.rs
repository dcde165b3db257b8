//! delete and deletecollection, with finalizers, propagation policies and graceful pod
//! termination.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::{
    cluster::{State, rfc3339},
    error::{ApiError, ApiResult},
    hooks,
    registry::{Builtin, ResourceType},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    Orphan,
    Background,
    Foreground,
}

impl Propagation {
    pub(crate) fn parse(v: &str) -> Option<Self> {
        match v {
            "Orphan" => Some(Propagation::Orphan),
            "Background" => Some(Propagation::Background),
            "Foreground" => Some(Propagation::Foreground),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct DeleteOptions {
    pub(crate) propagation: Option<Propagation>,
    pub(crate) precondition_uid: Option<String>,
    pub(crate) precondition_rv: Option<String>,
    pub(crate) grace_period_seconds: Option<i64>,
    pub(crate) dry_run: bool,
    /// Set when the request came through `batch/v1`, whose Jobs orphan their pods unless
    /// told otherwise (a compatibility default of the real server).
    pub(crate) via_batch_v1: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Deleted {
    /// The object is gone; this was its last state.
    Gone(Arc<Value>),
    /// Deletion started; finalizers or graceful termination hold the object.
    Pending(Arc<Value>),
}

const PROTECTED_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

fn finalizer_for(p: Propagation) -> Option<&'static str> {
    match p {
        Propagation::Orphan => Some("orphan"),
        Propagation::Foreground => Some("foregroundDeletion"),
        Propagation::Background => None,
    }
}

pub(crate) fn delete(
    state: &mut State,
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
    now: Timestamp,
) -> ApiResult<Deleted> {
    let ns = namespace.unwrap_or_default();
    let obj = state
        .store
        .get(&rt.storage, ns, name)
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
    let meta = &obj["metadata"];
    if let Some(uid) = &opts.precondition_uid
        && meta["uid"].as_str() != Some(uid.as_str())
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta["uid"].as_str().unwrap_or_default()
            ),
        ));
    }
    if let Some(rv) = &opts.precondition_rv
        && meta["resourceVersion"].as_str() != Some(rv.as_str())
    {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta["resourceVersion"].as_str().unwrap_or_default()
            ),
        ));
    }
    if rt.builtin() == Some(Builtin::Namespace) {
        return delete_namespace(state, rt, &obj, opts, now);
    }
    let deleting = !meta["deletionTimestamp"].is_null();
    let grace = graceful_period(rt, &obj, opts);
    let mut finalizers: Vec<String> = meta["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if deleting {
        // A repeated delete can only shorten a pod's grace period.
        if grace == Some(0) && finalizers.is_empty() {
            if opts.dry_run {
                return Ok(Deleted::Gone(obj));
            }
            let gone = remove_object(state, rt, ns, name, None).expect("object exists");
            return Ok(Deleted::Gone(gone));
        }
        return Ok(Deleted::Pending(obj));
    }
    let policy =
        opts.propagation
            .unwrap_or(if rt.builtin() == Some(Builtin::Job) && opts.via_batch_v1 {
                Propagation::Orphan
            } else {
                Propagation::Background
            });
    if let Some(f) = finalizer_for(policy)
        && !finalizers.iter().any(|x| x == f)
    {
        finalizers.push(f.to_string());
    }
    let graceful = grace.is_some_and(|g| g > 0);
    if finalizers.is_empty() && !graceful {
        if opts.dry_run {
            return Ok(Deleted::Gone(obj));
        }
        let gone = remove_object(state, rt, ns, name, None).expect("object exists");
        return Ok(Deleted::Gone(gone));
    }
    let mut updated = (*obj).clone();
    let grace_secs = grace.unwrap_or(0);
    let at = now + jiff::SignedDuration::from_secs(grace_secs);
    updated["metadata"]["deletionTimestamp"] = json!(rfc3339(at));
    updated["metadata"]["deletionGracePeriodSeconds"] = json!(grace_secs);
    if !finalizers.is_empty() {
        updated["metadata"]["finalizers"] = json!(finalizers);
    }
    if let Some(g) = updated["metadata"]["generation"].as_i64() {
        updated["metadata"]["generation"] = json!(g + 1);
    }
    if opts.dry_run {
        return Ok(Deleted::Pending(Arc::new(updated)));
    }
    let stored = state.store.put(&rt.storage, updated);
    Ok(Deleted::Pending(stored))
}

/// Pods on a node terminate gracefully: the job runner (our kubelet) stops the processes
/// and then deletes the pod with grace period 0.
fn graceful_period(rt: &ResourceType, obj: &Value, opts: &DeleteOptions) -> Option<i64> {
    if rt.builtin() != Some(Builtin::Pod) {
        return None;
    }
    let on_node = obj["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        obj["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    if !on_node || finished {
        return Some(0);
    }
    Some(
        opts.grace_period_seconds
            .or_else(|| obj["spec"]["terminationGracePeriodSeconds"].as_i64())
            .unwrap_or(30)
            .max(0),
    )
}

fn delete_namespace(
    state: &mut State,
    rt: &ResourceType,
    obj: &Arc<Value>,
    opts: &DeleteOptions,
    now: Timestamp,
) -> ApiResult<Deleted> {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    if PROTECTED_NAMESPACES.contains(&name) {
        return Err(ApiError::forbidden(
            "",
            "namespaces",
            name,
            "this namespace may not be deleted",
        ));
    }
    if !obj["metadata"]["deletionTimestamp"].is_null() {
        return Ok(Deleted::Pending(obj.clone()));
    }
    let mut updated = (**obj).clone();
    updated["metadata"]["deletionTimestamp"] = json!(rfc3339(now));
    updated["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    updated["status"]["phase"] = json!("Terminating");
    if opts.dry_run {
        return Ok(Deleted::Pending(Arc::new(updated)));
    }
    let stored = state.store.put(&rt.storage, updated);
    Ok(Deleted::Pending(stored))
}

/// Removes an object from storage and runs what follows a removal.
pub(crate) fn remove_object(
    state: &mut State,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    last: Option<Value>,
) -> Option<Arc<Value>> {
    let gone = state.store.remove_as(&rt.storage, namespace, name, last)?;
    hooks::after_remove(state, rt, &gone);
    Some(gone)
}
