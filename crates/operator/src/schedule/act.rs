//! Writes only: carries out a [`SchedulePlan`] in a fixed order — the tick's Backup
//! created, retention's Backups deleted, the status written, Events recorded, metrics
//! counted. The Backup comes before the status: if the status write is lost, the next
//! decision reads the tick back from the Backup and neither repeats nor loses it.

use jiff::Timestamp;
use k8s_openapi::{api::core::v1::ObjectReference, apimachinery::pkg::apis::meta::v1::Time};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::{Map, Value, json};
use tibr_api::{Backup, BackupSchedule, ConditionStatus, constants::labels};
use tibr_core::{
    backup::decide::PlannedEvent,
    schedule::{
        ConditionType, EventType, ScheduleCondition, ScheduleEvent, SchedulePlan, apply_conditions,
    },
};

use super::metrics::{Done, ScheduleLabels};
use crate::{
    Context, NAME,
    error::{Error, Result, is_conflict, is_not_found},
    events,
};

/// Carries out `plan` for `schedule`. A failed create or delete is reported (condition,
/// Warning Event) and returned as the error, after the rest of the plan is done, so the
/// controller retries with back-off.
pub async fn act(
    ctx: &Context,
    schedule: &BackupSchedule,
    plan: SchedulePlan,
    now: Timestamp,
) -> Result<()> {
    let namespace = schedule.namespace().unwrap_or_default();
    let name = schedule.name_any();
    let backups: Api<Backup> = Api::namespaced(ctx.client.clone(), &namespace);
    let observed = schedule.status.clone().unwrap_or_default();
    let mut status = plan.status.clone();
    let mut conditions = plan.conditions.clone();
    // Each with the Backup it concerns, if any (see `backup_named`).
    let mut events: Vec<(PlannedEvent, Option<ObjectReference>)> =
        plan.events.iter().map(|e| (planned(e), None)).collect();
    let mut done = Done::default();
    let mut failure: Option<Error> = None;

    if let Some(creation) = &plan.create {
        let backup = creation.backup.name_any();
        let params = PostParams {
            field_manager: Some(NAME.into()),
            ..PostParams::default()
        };
        match backups.create(&params, &creation.backup).await {
            Ok(_) => {
                done.created = true;
                done.skipped_ticks = creation.skipped;
                events.push((
                    PlannedEvent::normal(
                        "SuccessfulCreate",
                        "Create",
                        format!(
                            "created Backup {backup} for the run due at {}",
                            creation.tick
                        ),
                    ),
                    Some(backup_named(&namespace, &backup)),
                ));
            }
            // The name is the tick's: an earlier attempt (before a restart or a lost
            // status write) already created it.
            Err(e) if is_conflict(&e) => {
                if let Some(note) = foreign(&backups, &backup, &name).await {
                    events.push((
                        PlannedEvent::warning("TickNameTaken", "Create", note),
                        Some(backup_named(&namespace, &backup)),
                    ));
                }
            }
            Err(e) => {
                // Nothing was created: the status must not claim the run was taken.
                status.last_backup = observed.last_backup.clone();
                status.last_backup_time = observed.last_backup_time.clone();
                status.all_backup_clean_time = observed.all_backup_clean_time.clone();
                status.next_backup_time = Some(Time(creation.tick));
                let message = format!(
                    "could not create Backup {backup} for the run due at {}: {}; retrying",
                    creation.tick,
                    kube_reason(&e)
                );
                set(
                    &mut conditions,
                    ConditionType::Blocked,
                    "CreateFailed",
                    &message,
                );
                events.push((
                    PlannedEvent::warning("FailedCreate", "Create", message),
                    None,
                ));
                failure = Some(Error::kube(
                    format!("creating Backup {namespace}/{backup}"),
                    e,
                ));
            }
        }
    }

    for deletion in &plan.delete {
        match backups
            .delete(&deletion.name, &DeleteParams::background())
            .await
        {
            Ok(_) => {
                done.deleted += 1;
                events.push((
                    PlannedEvent::normal(
                        "SuccessfulDelete",
                        "Delete",
                        format!(
                            "deleted Backup {} ({}); its cleanPolicy decides what happens to its data",
                            deletion.name, deletion.reason
                        ),
                    ),
                    Some(backup_named(&namespace, &deletion.name)),
                ));
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                events.push((
                    PlannedEvent::warning(
                        "FailedDelete",
                        "Delete",
                        format!(
                            "could not delete Backup {} for retention: {}; retrying",
                            deletion.name,
                            kube_reason(&e)
                        ),
                    ),
                    Some(backup_named(&namespace, &deletion.name)),
                ));
                failure.get_or_insert(Error::kube(
                    format!("deleting Backup {namespace}/{}", deletion.name),
                    e,
                ));
            }
        }
    }

    let mut all_conditions = observed.conditions.clone();
    apply_conditions(
        &mut all_conditions,
        &conditions,
        schedule.metadata.generation,
        now,
    );
    status.conditions = all_conditions;
    if status != observed {
        write_status(ctx, schedule, &observed, &status).await?;
    }

    for (event, related) in events {
        let about = events::schedule_ref(schedule);
        events::publish_ref(ctx, &about, related, &event, &namespace, &name).await;
    }
    let key = ScheduleLabels {
        namespace: namespace.clone(),
        schedule: name.clone(),
    };
    ctx.metrics.schedules.record(&key, &plan.metrics, done);
    failure.map_or(Ok(()), Err)
}

/// Why the existing Backup `backup` is not this schedule's run, when it is not: someone
/// made a Backup with the tick's name. The tick counts as taken either way (the next tick
/// gets a new name), but that must not pass silently.
async fn foreign(backups: &Api<Backup>, backup: &str, schedule: &str) -> Option<String> {
    let existing = backups.get_opt(backup).await.ok()??;
    let owner = existing.labels().get(labels::BACKUP_SCHEDULE);
    (owner.map(String::as_str) != Some(schedule)).then(|| {
        format!(
            "Backup {backup} already exists and was not made by this schedule (its label \
             {} is {}); the run it would have been is skipped",
            labels::BACKUP_SCHEDULE,
            owner.map_or("absent".to_string(), |o| format!("{o:?}"))
        )
    })
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

fn set(
    conditions: &mut [ScheduleCondition],
    type_: ConditionType,
    reason: &'static str,
    message: &str,
) {
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        c.status = ConditionStatus::True;
        c.reason = reason;
        c.message = message.to_string();
    }
}

/// A reference to the schedule's Backup `name`, as the Event's related object. kube's
/// Recorder folds Events with the same type, reason, action, regarding and related object
/// into one series that keeps the first note: without it every run's "created Backup ..."
/// would be counted on the first run's Event and read as that run.
fn backup_named(namespace: &str, name: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("pingcap.com/v1alpha1".into()),
        kind: Some("Backup".into()),
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectReference::default()
    }
}

fn planned(e: &ScheduleEvent) -> PlannedEvent {
    match e.type_ {
        EventType::Normal => PlannedEvent::normal(e.reason, "Schedule", e.message.clone()),
        EventType::Warning => PlannedEvent::warning(e.reason, "Schedule", e.message.clone()),
    }
}

/// The API server's message for a refused request, else the error itself.
fn kube_reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}
