//! Writes only: carries out a [`Plan`] in a fixed order — finalizer added, Jobs deleted
//! and created, GC life time restored, data deleted in process, status written, Events
//! recorded, finalizer removed last (once nothing else can fail).
//!
//! Every write to the Backup carries the `metadata.resourceVersion` it was decided on: if
//! the agent (the other status writer) changed the Backup meanwhile, the API refuses the
//! write with 409, and the reconcile reads and decides again rather than overwrite what
//! the agent wrote. Status is a JSON merge patch through the status subresource holding
//! only the fields the operator writes.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy},
};
use serde_json::{Map, Value, json};
use tibr_api::{
    Backup, BackupConditionType, constants::BACKUP_PROTECTION_FINALIZER,
    pingcap::v1alpha1::GcLifeTimeRecord,
};
use tibr_core::{
    backup::{
        decide::{FinalizerChange, JobAction, Plan, PlannedEvent, StatusUpdate, reasons},
        gc_restore::GcRestore,
        labels::{Component, GC_NOT_RESTORED_ANNOTATION},
        status::NewCondition,
    },
    gc::{self as gc_plan, Restore},
};

use crate::{
    Context, NAME, clean,
    error::{Error, Result, is_conflict, is_not_found},
    events, gc,
    metrics::{CleanLabels, OutcomeLabels},
};

/// Carries out `plan`; returns how soon to look again when something here (not the plan)
/// is waiting: a GC life time handed over to another running backup.
pub async fn act(
    ctx: &Context,
    mut backup: Backup,
    plan: Plan,
    now: Timestamp,
) -> Result<Option<std::time::Duration>> {
    let namespace = backup.namespace().unwrap_or_default();
    let name = backup.name_any();
    let api: Api<Backup> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut status = plan.status.clone();
    let mut events = plan.events.clone();
    let mut release = plan.finalizer == Some(FinalizerChange::Remove);
    let mut deferred: Option<Error> = None;

    if plan.finalizer == Some(FinalizerChange::Add) {
        backup = set_finalizer(&api, &backup, true).await?;
    }
    for action in &plan.jobs {
        run_job_action(ctx, &namespace, action).await?;
    }

    let mut gc_record: Option<GcLifeTimeRecord> = None;
    let mut gc_note: Option<String> = None;
    let mut look_again = None;
    if let Some(gc) = &plan.gc_restore {
        let marked = || {
            let mut record = gc.record.clone();
            gc_plan::mark_restored(&mut record, now);
            Some(record)
        };
        match restore_gc(ctx, &backup, gc).await {
            Ok(GcOutcome::Restored(to)) => {
                gc_record = marked();
                count_gc(ctx, "restored");
                events.push(PlannedEvent::normal(
                    reasons::GC_LIFE_TIME_RESTORED,
                    "RestoreGcLifeTime",
                    format!(
                        "put tikv_gc_life_time back to {to}: the backup pod that raised it to {} is gone",
                        gc.record.raised_to.clone().unwrap_or_default()
                    ),
                ));
            }
            Ok(GcOutcome::AlreadyRestored) => {
                gc_record = marked();
                count_gc(ctx, "already_restored");
            }
            Ok(GcOutcome::HandedOver(to)) => {
                // The last backup out restores; if it dies too, this Backup (still owing
                // the restore) finds the value restored or restores it on a later pass.
                count_gc(ctx, "handed_over");
                events.push(PlannedEvent::normal(
                    reasons::GC_LIFE_TIME_HANDED_OVER,
                    "RestoreGcLifeTime",
                    format!(
                        "tikv_gc_life_time stays raised while backup(s) {} of the same TiDB cluster run; the last one restores {}",
                        to.join(", "),
                        gc.record.original
                    ),
                ));
                look_again = Some(ctx.settings.backup.wait_interval);
            }
            Ok(GcOutcome::LeftAlone(reason)) => {
                count_gc(ctx, "left_alone");
                events.push(PlannedEvent::warning(
                    reasons::GC_LIFE_TIME_NOT_RESTORED,
                    "RestoreGcLifeTime",
                    reason.clone(),
                ));
                gc_note = Some(reason);
            }
            Ok(GcOutcome::Nothing) => {}
            Err(message) => {
                count_gc(ctx, "failed");
                let note = format!(
                    "could not put tikv_gc_life_time back to {} (this backup raised it to {}): {message}",
                    gc.record.original,
                    gc.record.raised_to.clone().unwrap_or_default()
                );
                events.push(PlannedEvent::warning(
                    reasons::GC_LIFE_TIME_NOT_RESTORED,
                    "RestoreGcLifeTime",
                    if gc.must_succeed {
                        format!("{note}; trying again")
                    } else {
                        format!("{note}; set it back by hand")
                    },
                ));
                if gc.must_succeed {
                    deferred = Some(Error::GcRestore {
                        backup: format!("{namespace}/{name}"),
                        message,
                    });
                } else {
                    gc_note = Some(format!("{note}; the operator gave up"));
                }
            }
        }
    }

    if let Some(job) = plan.jobs.iter().find_map(|a| match a {
        JobAction::Create(j) => Some(j),
        JobAction::Delete { .. } => None,
    }) && job
        .labels()
        .get(tibr_api::constants::labels::COMPONENT)
        .map(String::as_str)
        == Some(Component::Clean.as_str())
    {
        count_clean(ctx, "job", "started");
    }

    if let Some(clean) = &plan.clean_in_process {
        match clean::clean_in_process(
            &ctx.client,
            &namespace,
            clean,
            ctx.settings.s3_endpoint.as_deref(),
        )
        .await
        {
            Ok(report) => {
                count_clean(ctx, "operator", "succeeded");
                let note = format!(
                    "deleted {} objects at {} from the operator, since no clean Job can run in a namespace being deleted",
                    report.deleted, clean.backup_path
                );
                status.conditions.push(NewCondition::true_(
                    BackupConditionType::Clean,
                    reasons::CLEANED_BY_OPERATOR,
                    note.clone(),
                ));
                events.push(
                    PlannedEvent::normal(
                        reasons::BACKUP_DATA_DELETED,
                        "CleanData",
                        format!("Backup {namespace}/{name}: {note}"),
                    )
                    .on_namespace(),
                );
                release = true;
            }
            Err(message) if clean.give_up_on_failure => {
                count_clean(ctx, "operator", "gave_up");
                ctx.metrics.data_kept.inc();
                events.push(
                    PlannedEvent::warning(
                        reasons::BACKUP_DATA_KEPT,
                        "CleanData",
                        format!(
                            "namespace {namespace} is being deleted; deleting the data of Backup {namespace}/{name} at {} kept failing ({message}), so it is kept: delete it by hand if it is not needed",
                            clean.backup_path
                        ),
                    )
                    .on_namespace(),
                );
                release = true;
            }
            Err(message) => {
                count_clean(ctx, "operator", "failed");
                status.conditions.push(NewCondition::true_(
                    BackupConditionType::CleanFailed,
                    reasons::CLEAN_BACKUP_DATA_FAILED,
                    message.clone(),
                ));
                events.push(
                    PlannedEvent::warning(
                        reasons::CLEAN_FAILED,
                        "CleanData",
                        format!("Backup {namespace}/{name}: deleting the data at {} failed, trying again: {message}", clean.backup_path),
                    )
                    .on_namespace(),
                );
                deferred = Some(Error::Clean {
                    backup: format!("{namespace}/{name}"),
                    message,
                });
            }
        }
    }
    if plan.keep_data.is_some() {
        ctx.metrics.data_kept.inc();
    }

    backup = write_status(&api, &backup, &status, gc_record, now).await?;
    if let Some(reason) = gc_note {
        backup = annotate(&api, &backup, GC_NOT_RESTORED_ANNOTATION, &reason).await?;
    }
    for event in &events {
        events::publish(ctx, &backup, event).await;
    }
    if release && deferred.is_none() {
        set_finalizer(&api, &backup, false).await?;
        tracing::info!(backup.namespace = %namespace, backup.name = %name, "released the Backup");
    }
    deferred.map_or(Ok(look_again), Err)
}

fn count_gc(ctx: &Context, outcome: &'static str) {
    ctx.metrics
        .gc_restores
        .get_or_create(&OutcomeLabels { outcome })
        .inc();
}

fn count_clean(ctx: &Context, by: &'static str, outcome: &'static str) {
    ctx.metrics
        .clean_runs
        .get_or_create(&CleanLabels { by, outcome })
        .inc();
}

async fn run_job_action(ctx: &Context, namespace: &str, action: &JobAction) -> Result<()> {
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), namespace);
    match action {
        JobAction::Create(job) => {
            let name = job.name_any();
            let params = PostParams {
                field_manager: Some(NAME.into()),
                ..PostParams::default()
            };
            match jobs.create(&params, job).await {
                Ok(_) => {
                    tracing::info!(job.namespace = namespace, job.name = %name, "created Job");
                    Ok(())
                }
                // Created by an earlier pass whose status write did not happen.
                Err(e) if is_conflict(&e) => Ok(()),
                Err(e) => Err(Error::kube(format!("creating Job {namespace}/{name}"), e)),
            }
        }
        JobAction::Delete { name, uid } => {
            let params = DeleteParams {
                propagation_policy: Some(PropagationPolicy::Foreground),
                preconditions: uid.clone().map(|uid| Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            match jobs.delete(name, &params).await {
                Ok(_) => {
                    tracing::info!(job.namespace = namespace, job.name = %name, "deleting Job");
                    Ok(())
                }
                // Gone already, or replaced by another Job of the same name.
                Err(e) if is_not_found(&e) || is_conflict(&e) => Ok(()),
                Err(e) => Err(Error::kube(format!("deleting Job {namespace}/{name}"), e)),
            }
        }
    }
}

enum GcOutcome {
    Restored(String),
    AlreadyRestored,
    HandedOver(Vec<String>),
    LeftAlone(String),
    Nothing,
}

/// Logs in to TiDB, reads the value and decides with `tibr_core::gc::plan_restore`, the
/// agent's own rule, against the other Backups of the cluster. A value someone else changed
/// is left alone, and the record stays open: the annotation says why, and stops retries.
async fn restore_gc(
    ctx: &Context,
    backup: &Backup,
    gc: &GcRestore,
) -> std::result::Result<GcOutcome, String> {
    let namespace = backup.namespace().unwrap_or_default();
    let endpoint = gc::endpoint(&ctx.client, &namespace, &gc.connection).await?;
    let current = ctx.gc.read(&endpoint).await?;
    let peers = gc::peers(&ctx.client, ctx.settings.namespace.as_deref(), backup).await?;
    match gc_plan::plan_restore(&gc.record, &current, &peers) {
        Restore::Set { value } => {
            ctx.gc.write(&endpoint, &value).await?;
            Ok(GcOutcome::Restored(value))
        }
        Restore::AlreadyRestored => Ok(GcOutcome::AlreadyRestored),
        Restore::HandOver { to } => Ok(GcOutcome::HandedOver(to)),
        Restore::Skip { reason } => Ok(GcOutcome::LeftAlone(reason)),
        Restore::Nothing => Ok(GcOutcome::Nothing),
    }
}

/// Applies `update` to the Backup's status and writes the fields the operator owns.
async fn write_status(
    api: &Api<Backup>,
    backup: &Backup,
    update: &StatusUpdate,
    gc: Option<GcLifeTimeRecord>,
    now: Timestamp,
) -> Result<Backup> {
    let mut status = backup.status.clone().unwrap_or_default();
    let before = status.phase.clone();
    let mut changed = update.apply(&mut status, backup.metadata.generation, now);
    let mut body = Map::new();
    if let Some(record) = gc {
        body.insert("gcLifeTime".into(), json!(record));
        changed = true;
    }
    if !changed {
        return Ok(backup.clone());
    }
    body.insert("conditions".into(), json!(status.conditions));
    if let Some(phase) = &status.phase {
        body.insert("phase".into(), json!(phase));
    }
    if update.new_retry.is_some() || update.retry_started_at.is_some() {
        body.insert(
            "backoffRetryStatus".into(),
            json!(status.backoff_retry_status),
        );
    }
    let namespace = backup.namespace().unwrap_or_default();
    let name = backup.name_any();
    let patch = json!({
        "metadata": {"resourceVersion": backup.resource_version()},
        "status": Value::Object(body),
    });
    let updated = api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| {
            Error::kube(
                format!("writing the status of Backup {namespace}/{name}"),
                e,
            )
        })?;
    if before != status.phase {
        tracing::info!(
            backup.namespace = %namespace,
            backup.name = %name,
            phase = status.phase.as_ref().map_or("", |p| p.as_str()),
            "phase changed"
        );
    }
    Ok(updated)
}

async fn set_finalizer(api: &Api<Backup>, backup: &Backup, add: bool) -> Result<Backup> {
    let mut finalizers = backup.finalizers().to_vec();
    let has = finalizers.iter().any(|f| f == BACKUP_PROTECTION_FINALIZER);
    match (add, has) {
        (true, false) => finalizers.push(BACKUP_PROTECTION_FINALIZER.into()),
        (false, true) => finalizers.retain(|f| f != BACKUP_PROTECTION_FINALIZER),
        _ => return Ok(backup.clone()),
    }
    let patch = json!({"metadata": {
        "resourceVersion": backup.resource_version(),
        "finalizers": finalizers,
    }});
    let name = backup.name_any();
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| {
            Error::kube(
                format!(
                    "{} the finalizer of Backup {}/{name}",
                    if add { "adding" } else { "removing" },
                    backup.namespace().unwrap_or_default()
                ),
                e,
            )
        })
}

async fn annotate(api: &Api<Backup>, backup: &Backup, key: &str, value: &str) -> Result<Backup> {
    let patch = json!({"metadata": {
        "resourceVersion": backup.resource_version(),
        "annotations": {key: value},
    }});
    let name = backup.name_any();
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| Error::kube(format!("annotating Backup {name}"), e))
}
