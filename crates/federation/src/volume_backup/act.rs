//! Writes only: carries out a [`Plan`] — the finalizer first, then each member write in the
//! plan's order in its own cluster —, reports how each went, hands that to `settle`, and
//! writes what it returns: Events, the status, the finalizer released last. Nothing here
//! decides; an error becomes the outcome `settle` weighs.
//!
//! Writes to the VolumeBackup carry the `resourceVersion` it was decided on, so a write
//! based on a stale read is refused (409) and the reconcile reads and decides again;
//! member writes need no such guard, since every decision is re-made from the members as
//! read. A member is deleted only while it still has the uid that was observed.

use std::time::Duration;

use jiff::Timestamp;
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, Patch, Preconditions},
};
use serde_json::{Value, json};
use tibr_api::{
    Backup, VolumeBackup, constants::BACKUP_PROTECTION_FINALIZER,
    federation::v1alpha1::VolumeBackupStatus,
};
use tibr_core::federation::{
    ActionOutcome, FinalizerChange, MemberAction, MemberWrite, Outcomes, Plan, settle,
};

use crate::{
    context::Context,
    error::{Error, Result, code},
    events, patch_params, post_params,
    registry::Reach,
};

/// Carries out `plan`, settles and writes; returns how soon to look again.
pub(super) async fn act(
    ctx: &Context,
    mut vbk: VolumeBackup,
    plan: Plan,
    now: Timestamp,
) -> Result<Option<Duration>> {
    let namespace = vbk.namespace().unwrap_or_default();
    let name = vbk.name_any();
    let api: Api<VolumeBackup> = Api::namespaced(ctx.client.clone(), &namespace);
    let before = vbk.clone();
    let mut outcomes = Outcomes::default();
    if plan.finalizer == Some(FinalizerChange::Add) {
        match set_finalizer(&api, &vbk, true).await {
            Ok(updated) => {
                vbk = updated;
                outcomes.finalizer = Some(Ok(()));
            }
            Err(e) if code(&e) == Some(409) => {
                return Err(Error::kube(
                    format!("adding the finalizer of VolumeBackup {namespace}/{name}"),
                    e,
                ));
            }
            Err(e) => outcomes.finalizer = Some(Err(e.to_string())),
        }
    }
    // Members are written only under the finalizer, so that a deletion can find them.
    if !matches!(outcomes.finalizer, Some(Err(_))) {
        for action in &plan.actions {
            outcomes.actions.push(Some(member_write(ctx, action).await));
        }
    }

    let settled = settle(&vbk, plan, &outcomes, &ctx.settings.core, now);
    // Events first: a member written is told about even if the status write below has to
    // be made again after a conflict.
    let about = vbk.object_ref(&());
    for event in &settled.events {
        events::publish(ctx, &about, event).await;
    }
    if settled.status_changed {
        vbk = write_status(&api, &vbk, &settled.status).await?;
        log_phase(&before, &vbk);
    }
    ctx.metrics.transitions(&before, &vbk, now);
    if settled.release_finalizer {
        set_finalizer(&api, &vbk, false).await.map_err(|e| {
            Error::kube(
                format!("removing the finalizer of VolumeBackup {namespace}/{name}"),
                e,
            )
        })?;
        tracing::info!(volume_backup.namespace = %namespace, volume_backup.name = %name, "released the VolumeBackup");
    }
    match settled.retry {
        Some(message) => Err(Error::Member {
            volume_backup: format!("{namespace}/{name}"),
            message,
        }),
        None => Ok(settled.requeue),
    }
}

/// One member write in its cluster, and how it went. Whether the cluster answered is
/// recorded in the registry either way.
async fn member_write(ctx: &Context, a: &MemberAction) -> ActionOutcome {
    let cluster = &a.k8s_cluster_name;
    let client = match ctx.registry.reach(cluster) {
        Reach::Client(c) => c,
        Reach::Unknown => {
            return ActionOutcome::Unreachable(format!(
                "{cluster} is no context of the federation kubeconfig"
            ));
        }
        Reach::Broken { error, .. } => return ActionOutcome::Unreachable(error),
    };
    let api: Api<Backup> = Api::namespaced(client, &a.namespace);
    let write = async {
        match &a.write {
            MemberWrite::Create(b) => api
                .create(&post_params(), b)
                .await
                .map(|_| ActionOutcome::Created),
            MemberWrite::Patch(p) => api
                .patch(&a.name, &patch_params(), &Patch::Merge(&p.merge_patch()))
                .await
                .map(|_| ActionOutcome::Patched),
            MemberWrite::Delete { uid } => {
                let params = DeleteParams {
                    preconditions: uid.clone().map(|uid| Preconditions {
                        uid: Some(uid),
                        resource_version: None,
                    }),
                    ..DeleteParams::default()
                };
                api.delete(&a.name, &params)
                    .await
                    .map(|_| ActionOutcome::Deleted)
            }
        }
    };
    let outcome = match tokio::time::timeout(ctx.settings.member_timeout, write).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => match (code(&e), &a.write) {
            (Some(409), MemberWrite::Create(_)) => ActionOutcome::AlreadyExisted,
            // Gone, or (the uid precondition) replaced by another Backup of that name.
            (Some(404), MemberWrite::Patch(_) | MemberWrite::Delete { .. })
            | (Some(409), MemberWrite::Delete { .. }) => ActionOutcome::NotFound,
            (Some(c), _) if c < 500 => ActionOutcome::Refused(match &e {
                kube::Error::Api(s) => s.message.clone(),
                other => other.to_string(),
            }),
            _ => ActionOutcome::Unreachable(e.to_string()),
        },
        Err(_) => ActionOutcome::Unreachable(format!(
            "no answer within {}s",
            ctx.settings.member_timeout.as_secs()
        )),
    };
    match &outcome {
        ActionOutcome::Unreachable(e) => {
            ctx.registry.failed(cluster, e);
        }
        _ => ctx.registry.answered(cluster),
    }
    tracing::debug!(cluster = %cluster, backup.namespace = %a.namespace, backup.name = %a.name, outcome = ?outcome, "wrote member");
    outcome
}

/// Writes the whole status the manager owns through the status subresource. A field the
/// new status no longer has is removed explicitly (a merge patch keeps what it omits).
async fn write_status(
    api: &Api<VolumeBackup>,
    vbk: &VolumeBackup,
    status: &VolumeBackupStatus,
) -> Result<VolumeBackup> {
    let old = serde_json::to_value(vbk.status.clone().unwrap_or_default()).unwrap_or_default();
    let mut new = serde_json::to_value(status).unwrap_or_default();
    if let (Value::Object(old), Value::Object(new)) = (&old, &mut new) {
        for key in old.keys() {
            new.entry(key.clone()).or_insert(Value::Null);
        }
    }
    let patch = json!({
        "metadata": {"resourceVersion": vbk.resource_version()},
        "status": new,
    });
    let name = vbk.name_any();
    api.patch_status(&name, &patch_params(), &Patch::Merge(&patch))
        .await
        .map_err(|e| {
            Error::kube(
                format!(
                    "writing the status of VolumeBackup {}/{name}",
                    vbk.namespace().unwrap_or_default()
                ),
                e,
            )
        })
}

async fn set_finalizer(
    api: &Api<VolumeBackup>,
    vbk: &VolumeBackup,
    add: bool,
) -> std::result::Result<VolumeBackup, kube::Error> {
    let mut finalizers = vbk.finalizers().to_vec();
    let has = finalizers.iter().any(|f| f == BACKUP_PROTECTION_FINALIZER);
    match (add, has) {
        (true, false) => finalizers.push(BACKUP_PROTECTION_FINALIZER.into()),
        (false, true) => finalizers.retain(|f| f != BACKUP_PROTECTION_FINALIZER),
        _ => return Ok(vbk.clone()),
    }
    let patch = json!({"metadata": {
        "resourceVersion": vbk.resource_version(),
        "finalizers": finalizers,
    }});
    api.patch(&vbk.name_any(), &patch_params(), &Patch::Merge(&patch))
        .await
}

fn log_phase(before: &VolumeBackup, after: &VolumeBackup) {
    let phase = |v: &VolumeBackup| v.status.as_ref().and_then(|s| s.phase.clone());
    if phase(before) != phase(after) {
        tracing::info!(
            volume_backup.namespace = %after.namespace().unwrap_or_default(),
            volume_backup.name = %after.name_any(),
            phase = phase(after).as_ref().map_or("", |p| p.as_str()),
            "phase changed"
        );
    }
}
