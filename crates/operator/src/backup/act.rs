//! Writes only: carries out a [`Plan`] in a fixed order — finalizer added, Jobs deleted
//! and created, GC life time written, data deleted in process —, hands what happened to
//! `settle`, and writes what that returns: status, annotation, Events, and the finalizer
//! removed last (once nothing else can fail). Nothing here decides.
//!
//! Every write to the Backup carries the `metadata.resourceVersion` it was decided on: if
//! the agent (the other status writer) changed the Backup meanwhile, the API refuses the
//! write with 409, and the reconcile reads and decides again rather than overwrite what
//! the agent wrote. Status is a JSON merge patch through the status subresource holding
//! only the fields the operator writes.

use jiff::Timestamp;
use k8s_openapi::api::{batch::v1::Job, core::v1::ConfigMap};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, Patch, PostParams, Preconditions, PropagationPolicy},
};
use serde_json::{Map, Value, json};
use tibr_api::{
    Backup, constants::BACKUP_PROTECTION_FINALIZER, pingcap::v1alpha1::GcLifeTimeRecord,
};
use tibr_core::backup::{
    decide::{FinalizerChange, JobAction, Outcomes, Plan, Retry, StatusUpdate, settle},
    gc_restore::GcWrite,
    labels::{Component, GC_NOT_RESTORED_ANNOTATION},
};

use crate::{
    Context, NAME, clean,
    error::{Error, Result, is_conflict, is_not_found},
    events, gc,
    metrics::{CleanLabels, OutcomeLabels},
};

/// Carries out `plan`'s writes, settles what happened (`tibr_core::backup::decide::settle`)
/// and writes that; returns how soon to look again.
pub async fn act(
    ctx: &Context,
    mut backup: Backup,
    plan: Plan,
    now: Timestamp,
) -> Result<Option<std::time::Duration>> {
    let namespace = backup.namespace().unwrap_or_default();
    let name = backup.name_any();
    let api: Api<Backup> = Api::namespaced(ctx.client.clone(), &namespace);

    if plan.finalizer == Some(FinalizerChange::Add) {
        backup = set_finalizer(&api, &backup, true).await?;
    }
    if let Some(config_map) = &plan.clustermeta {
        create_config_map(ctx, &namespace, config_map).await?;
    }
    for action in &plan.jobs {
        run_job_action(ctx, &namespace, action).await?;
    }
    let starts_clean_job = plan.jobs.iter().any(|a| match a {
        JobAction::Create(j) => {
            j.labels()
                .get(tibr_api::constants::labels::COMPONENT)
                .map(String::as_str)
                == Some(Component::Clean.as_str())
        }
        JobAction::Delete { .. } => false,
    });
    if starts_clean_job {
        count_clean(ctx, "job", "started");
    }
    let mut outcomes = Outcomes::default();
    if let Some(write) = &plan.gc_write {
        outcomes.gc_write = Some(write_gc(ctx, &namespace, write).await);
    }
    if let Some(clean) = &plan.clean_in_process {
        let result = clean::clean_in_process(
            &ctx.client,
            &namespace,
            clean,
            ctx.settings.s3_endpoint.as_deref(),
        )
        .await;
        outcomes.clean = Some(result.map(|report| report.deleted));
    }

    let settled = settle(&backup, plan, &outcomes, now);
    if let Some(outcome) = settled.gc_outcome {
        count_gc(ctx, outcome);
    }
    if let Some(outcome) = settled.clean_outcome {
        count_clean(ctx, "operator", outcome);
    }
    if settled.data_kept {
        ctx.metrics.data_kept.inc();
    }
    backup = write_status(
        &api,
        &backup,
        &settled.status,
        settled.gc_record.clone(),
        now,
    )
    .await?;
    if let Some(reason) = &settled.gc_given_up {
        backup = annotate(&api, &backup, GC_NOT_RESTORED_ANNOTATION, reason).await?;
    }
    let about = backup.object_ref(&());
    for event in &settled.events {
        events::publish(ctx, &about, event).await;
    }
    if settled.release_finalizer {
        set_finalizer(&api, &backup, false).await?;
        tracing::info!(backup.namespace = %namespace, backup.name = %name, "released the Backup");
    }
    let backup_id = format!("{namespace}/{name}");
    match settled.retry {
        Some(Retry::GcRestore(message)) => Err(Error::GcRestore {
            backup: backup_id,
            message,
        }),
        Some(Retry::Clean(message)) => Err(Error::Clean {
            backup: backup_id,
            message,
        }),
        None => Ok(settled.requeue),
    }
}

/// Logs in to TiDB (the password read from its Secret now) and sets the value.
async fn write_gc(
    ctx: &Context,
    namespace: &str,
    write: &GcWrite,
) -> std::result::Result<(), String> {
    let endpoint = gc::endpoint(&ctx.client, namespace, &write.connection).await?;
    ctx.gc.write(&endpoint, &write.value).await
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

/// The volume file the execute Job reads; one left by an earlier pass is kept (the plan
/// would build the same).
async fn create_config_map(ctx: &Context, namespace: &str, config_map: &ConfigMap) -> Result<()> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), namespace);
    let name = config_map.name_any();
    let params = PostParams {
        field_manager: Some(NAME.into()),
        ..PostParams::default()
    };
    match api.create(&params, config_map).await {
        Ok(_) => Ok(()),
        Err(e) if is_conflict(&e) => Ok(()),
        Err(e) => Err(Error::kube(
            format!("creating ConfigMap {namespace}/{name}"),
            e,
        )),
    }
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
        .patch_status(&name, &crate::patch_params(), &Patch::Merge(&patch))
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
    api.patch(&name, &crate::patch_params(), &Patch::Merge(&patch))
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
    api.patch(&name, &crate::patch_params(), &Patch::Merge(&patch))
        .await
        .map_err(|e| Error::kube(format!("annotating Backup {name}"), e))
}
