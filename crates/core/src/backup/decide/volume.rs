//! A volume-snapshot Backup that is not being deleted: one data plane's part of a
//! VolumeBackup, driven by `spec.federalVolumeBackupPhase` as the federation manager sets it.
//!
//! - `initialize` (the first data plane only): the init Job pauses GC and PD scheduling;
//!   its agent reports `VolumeBackupInitialized`. When `resumeGcSchedule` is set, the Job is
//!   deleted (which ends the pause): `VolumeBackupInitializeComplete`. A Job that ends or
//!   goes away before that is `VolumeBackupInitializeFailed`.
//! - `execute`: the volume file is built from the TiKV pods, PVCs and PVs, handed to the
//!   execute Job, whose agent reports `VolumeBackupSnapshotsCreated` when BR has requested
//!   the snapshots and `VolumeBackupComplete` or `VolumeBackupFailed` when BR ends. The
//!   init Job of the same data plane is still watched (it may be stopped or fail now).
//! - `teardown`: the execute Job is waited for, the init Job stopped, and the Backup ends
//!   `Complete`, or `Failed` when anything failed on the way.
//!
//! A failed data plane stops its init Job at once, so GC and scheduling never stay paused
//! for a backup that cannot complete. Nothing here retries: a VolumeBackup is retried as a
//! whole, never one data plane at a time.

use jiff::Timestamp;
use tibr_api::{Backup, BackupConditionType as Type};

use super::{
    FinalizerChange, JobAction, JobInfo, JobState, Observed, Plan, Settings,
    active::{announce, invalid_for_this_generation, ready},
    has_protection, is_clean_candidate, is_true, name, no_pod,
};
use crate::backup::{
    FederalPhase, ValidBackup,
    job::volume::{clustermeta_config_map, execute_job, init_job},
    status::NewCondition,
};
use crate::reconcile::{Event, reasons};
use crate::volume::{ClusterObjects, build_clustermeta};

pub(super) fn decide(backup: &Backup, obs: &Observed, s: &Settings, now: Timestamp) -> Plan {
    let mut plan = Plan::default();
    if is_clean_candidate(&backup.spec) && !has_protection(backup) {
        plan.finalizer = Some(FinalizerChange::Add);
    }
    let failed = [
        Type::Failed,
        Type::VolumeBackupFailed,
        Type::VolumeBackupInitializeFailed,
    ]
    .into_iter()
    .any(|t| is_true(backup, t));
    if failed {
        // A data plane that failed lets GC and scheduling go at once.
        stop_init_job(obs, &mut plan, s);
    }
    if is_true(backup, Type::Complete) || is_true(backup, Type::Failed) {
        return plan;
    }
    if invalid_for_this_generation(backup) {
        return plan;
    }
    let Some((valid, cluster)) = ready(backup, obs, s, &mut plan) else {
        return plan;
    };
    let Some(settings) = valid.volume.clone() else {
        return plan;
    };
    let had_init = had_init_job(backup);
    match settings.phase {
        FederalPhase::Initialize => {
            if !had_init && obs.init_job.is_none() && !settings.resume_gc {
                let job = init_job(backup, &valid, cluster, &s.agent_image);
                created(
                    backup,
                    &valid,
                    job,
                    reasons::INITIALIZE_JOB_CREATED,
                    &mut plan,
                );
                plan.requeue_after(s.resync_interval);
                return plan;
            }
            watch_init_job(backup, obs, settings.resume_gc, s, now, &mut plan);
        }
        FederalPhase::Execute => {
            if had_init || obs.init_job.is_some() {
                watch_init_job(backup, obs, settings.resume_gc, s, now, &mut plan);
            }
            execute(backup, obs, &valid, cluster, s, now, &mut plan);
        }
        FederalPhase::Teardown => teardown(backup, obs, s, now, &mut plan),
    }
    plan
}

/// Whether this Backup ever had an init Job (its creation is recorded in a condition).
fn had_init_job(backup: &Backup) -> bool {
    backup
        .status
        .iter()
        .flat_map(|st| &st.conditions)
        .any(|c| c.reason.as_deref() == Some(reasons::INITIALIZE_JOB_CREATED))
        || is_true(backup, Type::VolumeBackupInitialized)
}

fn created(
    backup: &Backup,
    valid: &ValidBackup,
    job: k8s_openapi::api::batch::v1::Job,
    reason: &str,
    plan: &mut Plan,
) {
    let job_name = job.metadata.name.clone().unwrap_or_default();
    plan.jobs.push(JobAction::Create(Box::new(job)));
    let note = format!("created Job {job_name}");
    plan.condition(
        backup,
        NewCondition::true_(Type::Scheduled, reason, note.clone()),
        Some(Event::normal(reasons::SUCCESSFUL_CREATE, "CreateJob", note)),
    );
    announce(backup, valid, plan);
}

fn stop_init_job(obs: &Observed, plan: &mut Plan, s: &Settings) {
    if let Some(j) = obs
        .init_job
        .as_ref()
        .filter(|j| j.is_active() && !j.deleting)
    {
        plan.jobs.push(JobAction::Delete {
            name: j.name.clone(),
            uid: j.uid.clone(),
        });
        plan.requeue_after(s.short_interval);
    }
}

/// The init Job's life: stopped when resuming is asked for, a failure when it ends or goes
/// away before that.
fn watch_init_job(
    backup: &Backup,
    obs: &Observed,
    resume: bool,
    s: &Settings,
    now: Timestamp,
    plan: &mut Plan,
) {
    if init_settled(backup) {
        return;
    }
    let init = crate::names::init_job(name(backup));
    match &obs.init_job {
        Some(j) if j.is_active() && resume => {
            if !j.deleting {
                plan.jobs.push(JobAction::Delete {
                    name: j.name.clone(),
                    uid: j.uid.clone(),
                });
            }
            resumed(backup, &init, plan);
        }
        Some(j) if j.is_active() => {
            no_pod::backup_job(backup, j, s, now, plan);
        }
        // Gone with resuming asked for: nothing is paused any more, and the snapshots were
        // requested (or the backup is being torn down).
        None if resume => resumed(backup, &init, plan),
        // Ended by itself (its deadline, BR failing): even with resuming asked for since,
        // when the pause ended is not known, so the snapshots may not be consistent.
        Some(j) => {
            let how = j
                .failure
                .clone()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default();
            let note = format!(
                "Job {init} ended{how} before GC and PD scheduling were to resume: they may have resumed before every snapshot was requested"
            );
            init_failed(
                backup,
                reasons::INITIALIZE_JOB_COMPLETED_OR_FAILED,
                note,
                plan,
            );
        }
        None => {
            let note = format!(
                "Job {init} was deleted before GC and PD scheduling were to resume: they may have resumed before every snapshot was requested"
            );
            init_failed(backup, reasons::INITIALIZE_JOB_DELETED, note, plan);
        }
    }
}

fn resumed(backup: &Backup, init: &str, plan: &mut Plan) {
    let note = format!("stopped Job {init}: GC and PD scheduling run again");
    plan.condition(
        backup,
        NewCondition::true_(
            Type::VolumeBackupInitializeComplete,
            reasons::GC_AND_SCHEDULING_RESUMED,
            note.clone(),
        ),
        Some(Event::normal(
            reasons::GC_AND_SCHEDULING_RESUMED,
            "ResumeGc",
            note,
        )),
    );
}

fn init_failed(backup: &Backup, reason: &str, note: String, plan: &mut Plan) {
    plan.condition(
        backup,
        NewCondition::true_(Type::VolumeBackupInitializeFailed, reason, note.clone()),
        Some(Event::warning(reason, "PauseGc", note)),
    );
}

#[allow(clippy::too_many_arguments)]
fn execute(
    backup: &Backup,
    obs: &Observed,
    valid: &ValidBackup,
    cluster: &tibr_api::TidbCluster,
    s: &Settings,
    now: Timestamp,
    plan: &mut Plan,
) {
    let reported = [Type::VolumeBackupComplete, Type::VolumeBackupFailed]
        .into_iter()
        .any(|t| is_true(backup, t));
    let job_name = crate::names::backup_job(name(backup));
    let had_job = backup
        .status
        .iter()
        .flat_map(|st| &st.conditions)
        .any(|c| c.reason.as_deref() == Some(reasons::JOB_CREATED));
    match &obs.backup_job {
        _ if reported => plan.requeue_after(s.resync_interval),
        Some(j) if j.is_active() => no_pod::backup_job(backup, j, s, now, plan),
        Some(j) => lost(backup, j, plan),
        None if had_job => {
            let note = format!("Job {job_name} disappeared before the backup reported a result");
            volume_failed(backup, reasons::BACKUP_JOB_LOST, note, plan);
        }
        None => {
            let Some(volumes) = &obs.volumes else {
                // Observed before the Job was due: look again with the volumes read.
                plan.requeue_after(s.short_interval);
                return;
            };
            let objects = ClusterObjects {
                tidb_cluster: &volumes.tidb_cluster,
                tikv_pods: &volumes.tikv_pods,
                pvcs: &volumes.pvcs,
                pvs: &volumes.pvs,
            };
            match build_clustermeta(objects) {
                Ok(meta) => {
                    plan.clustermeta = Some(Box::new(clustermeta_config_map(backup, &meta)));
                    let job = execute_job(backup, valid, cluster, &s.agent_image);
                    created(backup, valid, job, reasons::JOB_CREATED, plan);
                    plan.requeue_after(s.resync_interval);
                }
                Err(problems) => {
                    let note = format!(
                        "the TiKV volumes of this Kubernetes cluster cannot be snapshotted: {}",
                        problems.join("; ")
                    );
                    volume_failed(backup, reasons::COLLECT_VOLUMES_FAILED, note, plan);
                }
            }
        }
    }
}

/// The execute Job ended without the agent reporting: no retry (a VolumeBackup is retried
/// whole), so this data plane failed.
fn lost(backup: &Backup, job: &JobInfo, plan: &mut Plan) {
    let how = if job.state == JobState::Succeeded {
        "ended without the backup reporting a result".to_string()
    } else {
        format!(
            "failed{}",
            job.failure
                .clone()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default()
        )
    };
    let note = format!("Job {} {how}", job.name);
    volume_failed(backup, reasons::BACKUP_JOB_LOST, note, plan);
}

fn volume_failed(backup: &Backup, reason: &str, note: String, plan: &mut Plan) {
    plan.condition(
        backup,
        NewCondition::true_(Type::VolumeBackupFailed, reason, note.clone()),
        Some(Event::warning(reason, "Backup", note)),
    );
}

/// Whether the init Job's end is recorded, either way.
fn init_settled(backup: &Backup) -> bool {
    is_true(backup, Type::VolumeBackupInitializeComplete)
        || is_true(backup, Type::VolumeBackupInitializeFailed)
}

fn teardown(backup: &Backup, obs: &Observed, s: &Settings, now: Timestamp, plan: &mut Plan) {
    if had_init_job(backup) && !init_settled(backup) {
        // How the pause ended decides whether this data plane failed: recorded first.
        watch_init_job(backup, obs, true, s, now, plan);
        plan.requeue_after(s.short_interval);
        return;
    }
    stop_init_job(obs, plan, s);
    let execute_running = obs.backup_job.as_ref().is_some_and(JobInfo::is_active);
    let init_running = obs.init_job.as_ref().is_some_and(JobInfo::is_active);
    if execute_running || init_running {
        plan.requeue_after(s.short_interval);
        return;
    }
    let failures: Vec<String> = [Type::VolumeBackupFailed, Type::VolumeBackupInitializeFailed]
        .into_iter()
        .filter(|t| is_true(backup, t.clone()))
        .map(|t| t.as_str().to_string())
        .collect();
    let (type_, note) = match failures.first() {
        Some(_) => (
            Type::Failed,
            format!("torn down after {}", failures.join(" and ")),
        ),
        None if is_true(backup, Type::VolumeBackupComplete) => (
            Type::Complete,
            "torn down: the snapshots of this data plane are complete".to_string(),
        ),
        // Torn down before this data plane finished (another one failed): nothing here
        // completed.
        None => (
            Type::Failed,
            "torn down before this data plane's snapshots were complete".to_string(),
        ),
    };
    let event = if type_ == Type::Failed {
        Event::warning(reasons::VOLUME_BACKUP_TORN_DOWN, "Teardown", note.clone())
    } else {
        Event::normal(reasons::VOLUME_BACKUP_TORN_DOWN, "Teardown", note.clone())
    };
    plan.condition(
        backup,
        NewCondition::true_(type_, reasons::VOLUME_BACKUP_TORN_DOWN, note),
        Some(event),
    );
}

/// Whether deciding about `backup` needs its data plane's volumes read: a volume-snapshot
/// Backup in `execute` whose Job has not been created yet. Observation reads them only then.
pub fn needs_volumes(backup: &Backup, backup_job: Option<&JobInfo>) -> bool {
    let execute = matches!(
        backup.spec.federal_volume_backup_phase,
        Some(tibr_api::pingcap::v1alpha1::FederalVolumeBackupPhase::Execute)
    );
    let created = backup
        .status
        .iter()
        .flat_map(|st| &st.conditions)
        .any(|c| c.reason.as_deref() == Some(reasons::JOB_CREATED));
    backup.spec.mode() == tibr_api::pingcap::v1alpha1::BackupMode::VolumeSnapshot
        && execute
        && backup_job.is_none()
        && !created
}
