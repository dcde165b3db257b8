//! Writes only: carries out a [`SchedulePlan`] in a fixed order — the tick's Backup
//! created, retention's Backups deleted —, hands what happened to `settle`, and writes
//! what that returns: the status, Events, metrics. The Backup comes before the status: if
//! the status write is lost, the next decision reads the tick back from the Backup and
//! neither repeats nor loses it. Nothing here decides.

use jiff::Timestamp;
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::{Map, Value, json};
use tibr_api::{Backup, BackupSchedule};
use tibr_core::schedule::{Created, Deleted, Outcomes, SchedulePlan, settle};

use super::metrics::{Done, ScheduleLabels};
use crate::{
    Context, NAME,
    error::{Error, Result, is_conflict, is_not_found},
    events,
};

/// Carries out `plan` for `schedule`: the tick's Backup created, retention's deleted,
/// then what `settle` makes of how that went written (status, Events, metrics). A failed
/// create or delete ends in an error after the rest is done, so the controller retries
/// with back-off.
pub async fn act(
    ctx: &Context,
    schedule: &BackupSchedule,
    plan: SchedulePlan,
    now: Timestamp,
) -> Result<()> {
    let namespace = schedule.namespace().unwrap_or_default();
    let name = schedule.name_any();
    let backups: Api<Backup> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut outcomes = Outcomes::default();

    if let Some(creation) = &plan.create {
        let params = PostParams {
            field_manager: Some(NAME.into()),
            ..PostParams::default()
        };
        outcomes.create = Some(match backups.create(&params, &creation.backup).await {
            Ok(_) => Created::Yes,
            Err(e) if is_conflict(&e) => Created::Exists,
            Err(e) => Created::Failed(kube_reason(&e)),
        });
    }
    for deletion in &plan.delete {
        outcomes.delete.push(
            match backups
                .delete(&deletion.name, &DeleteParams::background())
                .await
            {
                Ok(_) => Deleted::Yes,
                Err(e) if is_not_found(&e) => Deleted::Gone,
                Err(e) => Deleted::Failed(kube_reason(&e)),
            },
        );
    }

    let settled = settle(schedule, plan, &outcomes, now);
    let observed = schedule.status.clone().unwrap_or_default();
    if settled.status != observed {
        write_status(ctx, schedule, &observed, &settled.status).await?;
    }
    let about = schedule.object_ref(&());
    for event in &settled.events {
        events::publish(ctx, &about, event).await;
    }
    let key = ScheduleLabels {
        namespace: namespace.clone(),
        schedule: name.clone(),
    };
    let done = Done {
        created: settled.created,
        skipped_ticks: settled.skipped_ticks,
        deleted: settled.deleted,
    };
    ctx.metrics.schedules.record(&key, &settled.metrics, done);
    match settled.failure {
        Some(message) => Err(Error::Schedule {
            schedule: format!("{namespace}/{name}"),
            message,
        }),
        None => Ok(()),
    }
}

/// A JSON merge patch of the status subresource, guarded by the resourceVersion the
/// decision was made on. Fields the decision cleared are sent as `null` (a merge patch
/// keeps what it does not mention).
async fn write_status(
    ctx: &Context,
    schedule: &BackupSchedule,
    observed: &tibr_api::pingcap::v1alpha1::BackupScheduleStatus,
    status: &tibr_api::pingcap::v1alpha1::BackupScheduleStatus,
) -> Result<()> {
    let namespace = schedule.namespace().unwrap_or_default();
    let name = schedule.name_any();
    let mut fields = match serde_json::to_value(status) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Ok(Value::Object(before)) = serde_json::to_value(observed) {
        for key in before.keys() {
            fields.entry(key.clone()).or_insert(Value::Null);
        }
    }
    let patch = json!({
        "metadata": { "resourceVersion": schedule.resource_version() },
        "status": fields,
    });
    let api: Api<BackupSchedule> = Api::namespaced(ctx.client.clone(), &namespace);
    api.patch_status(
        &name,
        &PatchParams {
            field_manager: Some(NAME.into()),
            ..PatchParams::default()
        },
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|e| {
        Error::kube(
            format!("writing the status of BackupSchedule {namespace}/{name}"),
            e,
        )
    })?;
    Ok(())
}

/// The API server's message for a refused request, else the error itself.
fn kube_reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}
