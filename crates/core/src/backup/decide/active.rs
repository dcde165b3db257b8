//! A Backup that is not being deleted.
//!
//! 1. Finished (`Complete` or `Failed`): nothing but the GC life time, if a dead pod left
//!    it raised.
//! 2. A retry is pending: wait for its time, then replace the failed Job.
//! 3. A backup Job exists: wait while it runs (saying so when its pod is refused, see
//!    `no_pod`); a Job that ended without the agent reporting (pod killed, evicted, OOM)
//!    is an unreported failure (`backoffRetryPolicy`).
//!    A Job that vanished while the Backup was `Scheduled`/`Prepare`/`Running` (deleted by
//!    hand) is one too: TiDB Operator leaves such a Backup `Running` forever.
//! 4. No Job yet: validate (`Invalid` is terminal for the generation it was found in: a
//!    spec edit, which bumps `metadata.generation`, is validated again), then wait for the
//!    TidbCluster, its readiness and the Secrets (`RetryFailed`, never `Invalid`), then
//!    create the Job (`Scheduled`).

use jiff::Timestamp;
use tibr_api::{
    Backup, BackupConditionType as Type,
    constants::defaults,
    pingcap::v1alpha1::{BackupMode, BackupStatus},
};

use super::{
    FinalizerChange, JobAction, JobInfo, JobState, Observed, Plan, Settings, has_protection,
    is_clean_candidate, is_true, name, no_pod, settle, unknown_clean_policy, volume,
};
use crate::backup::{
    ValidBackup,
    gc_restore::{self, GcReading},
    job::backup_job,
    labels::GC_NOT_RESTORED_ANNOTATION,
    retry::{self, FailureDecision},
    status::NewCondition,
    validate,
};
use crate::gc::{Restore, mark_restored, plan_restore};
use crate::reconcile::{Event, reasons};

pub(super) fn decide(backup: &Backup, obs: &Observed, s: &Settings, now: Timestamp) -> Plan {
    if backup.spec.mode() == BackupMode::VolumeSnapshot {
        return volume::decide(backup, obs, s, now);
    }
    let mut plan = Plan::default();
    if is_clean_candidate(&backup.spec) && !has_protection(backup) {
        plan.finalizer = Some(FinalizerChange::Add);
    }
    let status = backup.status.clone().unwrap_or_default();
    if no_pod::agent_reported(backup) {
        no_pod::clear_backup_refusal(backup, &crate::names::backup_job(name(backup)), &mut plan);
    }

    if is_true(backup, Type::Complete) || is_true(backup, Type::Failed) {
        // Keep trying for a while after the end; then one last attempt, which records why
        // it gave up instead of failing forever against a TiDB that is gone.
        let ended = [Type::Complete, Type::Failed]
            .iter()
            .filter_map(|t| backup.condition(t))
            .filter(|c| c.is_true())
            .filter_map(|c| c.last_transition_time.as_ref().map(|t| t.0))
            .max()
            .unwrap_or(now);
        let within = retry::add(ended, s.gc_restore_patience) > now;
        restore_gc_after_end(backup, obs, s, &mut plan, within, now);
        return plan;
    }
    if invalid_for_this_generation(backup) {
        return plan;
    }

    let job = obs.backup_job.as_ref();
    if job.is_some_and(|j| j.deleting) {
        plan.requeue_after(s.short_interval);
        return plan;
    }
    if let Some(pending) = retry::pending(&status.backoff_retry_status) {
        let due = pending
            .expected_retry_at
            .as_ref()
            .is_none_or(|t| t.0 <= now);
        if !due {
            let at = pending.expected_retry_at.as_ref().map_or(now, |t| t.0);
            plan.requeue_after(retry::until(now, at));
            return plan;
        }
        start_retry(backup, job, pending.retry_num.unwrap_or(1), now, &mut plan);
        if job.is_some() {
            plan.requeue_after(s.short_interval);
            return plan;
        }
        create(backup, obs, s, &mut plan);
        return plan;
    }

    let phase = status.phase.clone();
    let running = matches!(phase, Some(Type::Scheduled | Type::Prepare | Type::Running));
    match job {
        // A Job older than the latest retry is the failed one it replaces.
        Some(j) if started_before_last_retry(j, &status) => {
            plan.jobs.push(JobAction::Delete {
                name: j.name.clone(),
                uid: j.uid.clone(),
            });
            plan.requeue_after(s.short_interval);
        }
        Some(j) if j.state == JobState::Active => {
            if !running && j.pod_creation_failure.is_none() {
                // The Job was created but writing `Scheduled` did not happen (a conflict).
                plan.condition(
                    backup,
                    NewCondition::true_(
                        Type::Scheduled,
                        reasons::JOB_CREATED,
                        format!("Job {} is running the backup", j.name),
                    ),
                    None,
                );
            }
            no_pod::backup_job(backup, j, s, now, &mut plan);
        }
        Some(j) => {
            let retry_reason = if j.state == JobState::Succeeded {
                format!("Job {} ended without the backup reporting a result", j.name)
            } else {
                format!("Job {} has failed", j.name)
            };
            let original = j.failure_reason.clone().unwrap_or_else(|| "Failed".into());
            let detail = j.failure.clone().unwrap_or_default();
            unreported_failure(
                backup,
                obs,
                s,
                now,
                &retry_reason,
                &original,
                &detail,
                &mut plan,
            );
        }
        None if running => {
            let job_name = crate::names::backup_job(name(backup));
            let retry_reason = format!(
                "Job {job_name} disappeared while the backup was {}",
                phase.as_ref().map_or("", |p| p.as_str())
            );
            unreported_failure(
                backup,
                obs,
                s,
                now,
                &retry_reason,
                "JobDeleted",
                "",
                &mut plan,
            );
        }
        None => create(backup, obs, s, &mut plan),
    }
    plan
}

/// `Invalid` stays until the spec changes: a condition found for an older generation is
/// re-examined. Conditions written by TiDB Operator carry no generation and stay terminal,
/// as they were there.
pub(super) fn invalid_for_this_generation(backup: &Backup) -> bool {
    let Some(c) = backup.condition(&Type::Invalid).filter(|c| c.is_true()) else {
        return false;
    };
    match (c.observed_generation, backup.metadata.generation) {
        (Some(seen), Some(current)) => seen >= current,
        _ => true,
    }
}

fn started_before_last_retry(job: &JobInfo, status: &BackupStatus) -> bool {
    let Some(started) = status
        .backoff_retry_status
        .last()
        .and_then(|r| r.real_retry_at.as_ref())
    else {
        return false;
    };
    job.created.is_some_and(|c| c < started.0)
}

fn start_retry(
    backup: &Backup,
    job: Option<&JobInfo>,
    retry_num: i64,
    now: Timestamp,
    plan: &mut Plan,
) {
    if let Some(j) = job {
        plan.jobs.push(JobAction::Delete {
            name: j.name.clone(),
            uid: j.uid.clone(),
        });
    }
    plan.status.retry_started_at = Some(now);
    let note = format!("retry {retry_num}: the backup runs again in a new pod");
    plan.condition(
        backup,
        NewCondition::true_(Type::Restart, reasons::BACKOFF_RETRY, note.clone()),
        Some(Event::normal(reasons::RETRYING_BACKUP, "Retry", note)),
    );
}

#[allow(clippy::too_many_arguments)]
fn unreported_failure(
    backup: &Backup,
    obs: &Observed,
    s: &Settings,
    now: Timestamp,
    retry_reason: &str,
    original_reason: &str,
    detail: &str,
    plan: &mut Plan,
) {
    let policy = retry::policy_of(&backup.spec);
    let records = backup
        .status
        .as_ref()
        .map(|s| s.backoff_retry_status.as_slice())
        .unwrap_or_default();
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" [{detail}]")
    };
    match retry::on_unreported_failure(&policy, records, now, retry_reason, original_reason) {
        FailureDecision::Retry(record) => {
            let at = record.expected_retry_at.as_ref().map_or(now, |t| t.0);
            let shown = at.round(jiff::Unit::Second).unwrap_or(at);
            let note = format!(
                "{retry_reason} ({original_reason}) before the backup reported a result{detail}; retry {} of {} at {shown}",
                record.retry_num.unwrap_or(1),
                policy.max_retry_times
            );
            plan.status.new_retry = Some(record);
            plan.condition(
                backup,
                NewCondition::true_(
                    Type::RetryFailed,
                    reasons::RETRY_FAILED_BACKUP,
                    note.clone(),
                ),
                Some(Event::warning(
                    reasons::BACKUP_POD_LOST,
                    "DetectFailure",
                    note,
                )),
            );
            plan.requeue_after(retry::until(now, at));
        }
        FailureDecision::GiveUp(message) => {
            let note = format!("{message}{detail}");
            plan.condition(
                backup,
                NewCondition::true_(Type::Failed, reasons::ALREADY_FAILED, note.clone()),
                Some(Event::warning(
                    reasons::ALREADY_FAILED,
                    "DetectFailure",
                    note,
                )),
            );
            restore_gc_after_end(backup, obs, s, plan, true, now);
        }
    }
}

/// The run is over and no retry will follow: if a dead pod left TiKV's GC life time
/// raised, the operator puts it back, deciding on what it read from TiDB (the agent's own
/// rule, [`crate::gc::plan_restore`]); the write itself is the act step's.
pub(super) fn restore_gc_after_end(
    backup: &Backup,
    obs: &Observed,
    s: &Settings,
    plan: &mut Plan,
    must_succeed: bool,
    now: Timestamp,
) {
    let owed = backup
        .status
        .as_ref()
        .and_then(|st| st.gc_life_time.as_ref())
        .is_some_and(|r| r.needs_restore())
        && !backup.annotations_contains(GC_NOT_RESTORED_ANNOTATION);
    if owed && obs.backup_job.as_ref().is_some_and(JobInfo::is_active) {
        // The agent is alive and restores it itself on its way out.
        plan.requeue_after(s.resync_interval);
        return;
    }
    let Some(record) = gc_restore::pending(backup, obs.backup_job.as_ref()) else {
        return;
    };
    let connection = match gc_restore::connection(backup, obs.cluster.as_ref()) {
        Ok(connection) => connection,
        Err(reason) => {
            plan.events.push(Event::warning(
                reasons::GC_LIFE_TIME_NOT_RESTORED,
                "RestoreGcLifeTime",
                format!(
                    "tikv_gc_life_time may still be {} (raised by this backup); {reason}. Set it back to {} by hand",
                    record.raised_to.clone().unwrap_or_default(),
                    record.original
                ),
            ));
            return;
        }
    };
    let (current, peers) = match &obs.gc {
        Some(GcReading::Read { current, peers }) => (current, peers),
        Some(GcReading::Failed(message)) => {
            settle::gc_failed(plan, &record, message, must_succeed);
            return;
        }
        // Observed before the restore was due: look again soon, with a reading.
        None => {
            plan.requeue_after(s.short_interval);
            return;
        }
    };
    match plan_restore(&record, current, peers) {
        Restore::Set { value } => {
            plan.gc_write = Some(gc_restore::GcWrite {
                connection,
                value,
                record,
                must_succeed,
            });
        }
        Restore::AlreadyRestored => {
            let mut record = record;
            mark_restored(&mut record, now);
            plan.gc_record = Some(record);
            plan.gc_outcome = Some("already_restored");
        }
        Restore::HandOver { to } => {
            // The last backup out restores; if it dies too, this Backup (still owing the
            // restore) finds the value restored or restores it on a later pass.
            plan.gc_outcome = Some("handed_over");
            plan.events.push(Event::normal(
                reasons::GC_LIFE_TIME_HANDED_OVER,
                "RestoreGcLifeTime",
                format!(
                    "tikv_gc_life_time stays raised while backup(s) {} of the same TiDB cluster run; the last one restores {}",
                    to.join(", "),
                    record.original
                ),
            ));
            plan.requeue_after(s.wait_interval);
        }
        Restore::Skip { reason } => {
            // Someone else changed the value: it is left alone, the record stays open, and
            // the annotation says why and stops further attempts.
            plan.gc_outcome = Some("left_alone");
            plan.events.push(Event::warning(
                reasons::GC_LIFE_TIME_NOT_RESTORED,
                "RestoreGcLifeTime",
                reason.clone(),
            ));
            plan.gc_given_up = Some(reason);
        }
        Restore::Nothing => {}
    }
}

trait AnnotationsExt {
    fn annotations_contains(&self, key: &str) -> bool;
}

impl AnnotationsExt for Backup {
    fn annotations_contains(&self, key: &str) -> bool {
        self.metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(key))
    }
}

/// The valid spec and its TidbCluster, once everything the backup needs exists; otherwise
/// the plan says what is missing (`Invalid`, or `RetryFailed` while waiting).
pub(super) fn ready<'o>(
    backup: &Backup,
    obs: &'o Observed,
    s: &Settings,
    plan: &mut Plan,
) -> Option<(ValidBackup, &'o tibr_api::TidbCluster)> {
    let valid = match validate(backup, obs.cluster.as_ref()) {
        Ok(v) => v,
        Err(errors) => {
            let note = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            plan.condition(
                backup,
                NewCondition::true_(Type::Invalid, reasons::INVALID_SPEC, note.clone()),
                Some(Event::warning(reasons::INVALID_SPEC, "Validate", note)),
            );
            return None;
        }
    };
    if is_true(backup, Type::Invalid) {
        plan.condition(
            backup,
            NewCondition::false_(
                Type::Invalid,
                reasons::SPEC_CORRECTED,
                "the spec was edited and is valid now",
            ),
            None,
        );
    }
    let cluster_ref = format!("{}/{}", valid.cluster.namespace, valid.cluster.name);
    let Some(cluster) = obs.cluster.as_ref() else {
        let note = format!("TidbCluster {cluster_ref} (spec.br.cluster) not found");
        retry_failed(backup, s, plan, reasons::TIDB_CLUSTER_NOT_FOUND, note, true);
        return None;
    };
    if !cluster.is_ready() {
        let why = cluster
            .status
            .as_ref()
            .and_then(|st| st.conditions.iter().find(|c| c.type_ == "Ready"))
            .and_then(|c| c.message.clone())
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        let note = format!("waiting for TidbCluster {cluster_ref} to be Ready{why}");
        retry_failed(
            backup,
            s,
            plan,
            reasons::TIDB_CLUSTER_NOT_READY,
            note,
            false,
        );
        return None;
    }
    if let Some((reason, note)) = missing_secret(&valid, obs) {
        retry_failed(backup, s, plan, reason, note, true);
        return None;
    }
    Some((valid, cluster))
}

/// What a new backup Job is announced with: the Events for values allowed with a warning.
pub(super) fn announce(backup: &Backup, valid: &ValidBackup, plan: &mut Plan) {
    if let Some(policy) = unknown_clean_policy(&backup.spec) {
        plan.events.push(unknown_policy_event(&policy));
    }
    for warning in &valid.warnings {
        plan.events.push(Event::warning(
            reasons::SPEC_WARNING,
            "Validate",
            warning.to_string(),
        ));
    }
}

/// Creates the backup Job once the spec is valid and everything it needs exists.
fn create(backup: &Backup, obs: &Observed, s: &Settings, plan: &mut Plan) {
    let Some((valid, cluster)) = ready(backup, obs, s, plan) else {
        return;
    };
    let job = backup_job(backup, &valid, cluster, &s.agent_image);
    let job_name = job.metadata.name.clone().unwrap_or_default();
    plan.jobs.push(JobAction::Create(Box::new(job)));
    let note = format!("created Job {job_name}");
    plan.condition(
        backup,
        NewCondition::true_(Type::Scheduled, reasons::JOB_CREATED, note.clone()),
        Some(Event::normal(reasons::SUCCESSFUL_CREATE, "CreateJob", note)),
    );
    announce(backup, &valid, plan);
    plan.requeue_after(s.resync_interval);
}

pub(super) fn unknown_policy_event(policy: &str) -> Event {
    Event::warning(
        reasons::UNKNOWN_CLEAN_POLICY,
        "ReadCleanPolicy",
        format!(
            "spec.cleanPolicy {policy:?} is not Retain, OnFailure or Delete; it is treated as Retain: the backup data is kept when this Backup is deleted"
        ),
    )
}

fn retry_failed(
    backup: &Backup,
    s: &Settings,
    plan: &mut Plan,
    reason: &str,
    note: String,
    warning: bool,
) {
    let event = if warning {
        Event::warning(reason, "Prepare", note.clone())
    } else {
        Event::normal(reasons::WAITING_FOR_TIDB_CLUSTER, "Prepare", note.clone())
    };
    plan.condition(
        backup,
        NewCondition::true_(Type::RetryFailed, reason, note),
        Some(event),
    );
    plan.requeue_after(s.wait_interval);
}

/// The first Secret (or key) the backup pod would miss: (reason, message naming the
/// namespace, Secret, key and the field that names it).
fn missing_secret(valid: &ValidBackup, obs: &Observed) -> Option<(&'static str, String)> {
    let ns = &valid.namespace;
    let mut needs: Vec<(&str, &str, Vec<&str>, &'static str, &'static str)> = Vec::new();
    if let Some(from) = &valid.from {
        needs.push((
            from.secret_name.as_str(),
            "spec.from.secretName",
            vec![defaults::TIDB_PASSWORD_KEY],
            reasons::GET_TIDB_SECRET_FAILED,
            reasons::TIDB_KEY_NOT_EXIST,
        ));
    }
    let crate::backup::Storage::S3(s3) = &valid.storage;
    if let Some(secret) = &s3.secret_name {
        needs.push((
            secret.as_str(),
            "spec.s3.secretName",
            vec![defaults::S3_ACCESS_KEY_KEY, defaults::S3_SECRET_KEY_KEY],
            reasons::GET_S3_SECRET_FAILED,
            reasons::S3_KEY_NOT_EXIST,
        ));
    }
    for (secret, field, keys, not_found, no_key) in needs {
        let Some(info) = obs.secrets.get(secret) else {
            return Some((
                not_found,
                format!("Secret {ns}/{secret} ({field}) not found"),
            ));
        };
        if let Some(key) = keys.iter().find(|k| !info.keys.contains(**k)) {
            return Some((
                no_key,
                format!(
                    "Secret {ns}/{secret} ({field}) has no key {key}; it needs {}",
                    keys.join(" and ")
                ),
            ));
        }
    }
    None
}
