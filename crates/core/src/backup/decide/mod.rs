//! What the operator does about a Backup, as one pure function:
//! [`decide`]`(&Backup, &Observed, &Settings, now) -> Plan`.
//!
//! The operator observes (reads the Backup, its Jobs and their pods, the TidbCluster, the
//! Secrets it names, its namespace), calls [`decide`], and carries the [`Plan`] out. The
//! plan is data, so every branch is tested here without an API server.
//!
//! - `active`: a Backup that is not being deleted: validation, waiting for what it needs,
//!   the backup Job, failure detection and `backoffRetryPolicy`, TiKV GC life time after
//!   the end.
//! - `deletion`: a Backup being deleted: stopping its Job, GC life time, its clean policy,
//!   the clean Job, and the namespace-deletion path (docs/adr/0003).
//! - `no_pod`: a backup or clean Job whose pod the API server refuses (`FailedCreate`).
//! - `observed`: the observation, and how Jobs and pods become [`JobInfo`].
//!
//! Waiting is a plan with a requeue; nothing here is an error.

mod active;
mod deletion;
mod no_pod;
mod observed;
mod settle;
#[cfg(test)]
mod tests;
mod volume;

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use tibr_api::{
    Backup, BackupConditionType,
    constants::BACKUP_PROTECTION_FINALIZER,
    pingcap::v1alpha1::{
        BackoffRetryRecord, BackupSpec, BackupStatus, CleanPolicy as WirePolicy, GcLifeTimeRecord,
    },
};

pub use observed::{
    FAILED_CREATE, JobInfo, JobState, JobWarning, Observed, ObservedVolumes, SecretInfo,
};
pub use settle::{Outcomes, Retry, Settled, settle};
pub use volume::needs_volumes;

use super::{
    CleanSettings,
    gc_restore::GcWrite,
    status::{NewCondition, amend_condition, set_condition},
};
use crate::reconcile::{Event, reasons, sooner};

/// How the operator is configured, as far as decisions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The image of backup and clean Job pods (the agent).
    pub agent_image: String,
    /// Requeue while waiting for something outside the operator's hands: a Secret or
    /// TidbCluster that does not exist yet, a cluster that is not Ready.
    pub wait_interval: Duration,
    /// Requeue while a Job the operator deleted is going away.
    pub short_interval: Duration,
    /// Requeue as a safety net when nothing else is expected to wake the Backup up.
    pub resync_interval: Duration,
    /// How long after its clean Job failed for good a new clean Job starts.
    pub clean_retry_after: Duration,
    /// How long past its deletion a Backup may wait on work the operator does itself
    /// (restoring GC life time, cleaning in a namespace being deleted) before the operator
    /// gives up, says so loudly, and lets it go.
    pub deletion_patience: Duration,
    /// How long after a backup ended the operator keeps retrying to put the GC life time
    /// back (TiDB unreachable); then it records why it gave up and stops.
    pub gc_restore_patience: Duration,
}

impl Settings {
    /// TiDB Operator's defaults where it has them, ours otherwise.
    pub fn new(agent_image: impl Into<String>) -> Self {
        Settings {
            agent_image: agent_image.into(),
            wait_interval: Duration::from_secs(30),
            short_interval: Duration::from_secs(2),
            resync_interval: Duration::from_secs(300),
            clean_retry_after: Duration::from_secs(600),
            deletion_patience: Duration::from_secs(3600),
            gc_restore_patience: Duration::from_secs(3600),
        }
    }
}

/// Everything the operator should do about one Backup now, in the order it does it:
/// finalizer added, Jobs deleted and created, GC life time written, data cleaned in
/// process; then [`settle`] turns how those went into the status, annotation, Events and
/// finalizer release to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub finalizer: Option<FinalizerChange>,
    pub jobs: Vec<JobAction>,
    /// Put TiKV's GC life time back (the agent that raised it is gone).
    pub gc_write: Option<GcWrite>,
    /// The GC life time record to store, already decided (marked restored).
    pub gc_record: Option<GcLifeTimeRecord>,
    /// The operator gives up restoring the GC life time, for this reason (recorded as an
    /// annotation, which also stops further attempts).
    pub gc_given_up: Option<String>,
    /// How the GC life time decision went, for metrics.
    pub gc_outcome: Option<&'static str>,
    pub clean_in_process: Option<InProcessClean>,
    pub keep_data: Option<KeptData>,
    /// Volume snapshots: the volume file, created before the execute Job that reads it.
    pub clustermeta: Option<Box<k8s_openapi::api::core::v1::ConfigMap>>,
    pub status: StatusUpdate,
    pub events: Vec<Event>,
    /// The reconcile ends in this error, to be retried with back-off, once the rest is done.
    pub retry_error: Option<String>,
    /// Reconcile again after this long (the shortest wait that applies).
    pub requeue: Option<Duration>,
}

/// The Backup protection finalizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalizerChange {
    Add,
    Remove,
}

/// A Job to create or delete.
#[derive(Debug, Clone, PartialEq)]
pub enum JobAction {
    Create(Box<Job>),
    /// Delete with foreground propagation (the Job goes after its pods), only if it still
    /// has this uid. Already gone counts as done.
    Delete {
        name: String,
        uid: Option<String>,
    },
}

/// Status changes, applied to a freshly read status with [`StatusUpdate::apply`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusUpdate {
    /// In order: the last one sets `status.phase` (except `Restart`).
    pub conditions: Vec<NewCondition>,
    /// A retry decided now.
    pub new_retry: Option<BackoffRetryRecord>,
    /// The pending retry started at this time.
    pub retry_started_at: Option<Timestamp>,
    /// Earlier conditions rewritten in place, without becoming the phase.
    pub amended: Vec<NewCondition>,
}

impl StatusUpdate {
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
            && self.amended.is_empty()
            && self.new_retry.is_none()
            && self.retry_started_at.is_none()
    }

    /// Applies the changes; returns whether anything changed.
    pub fn apply(
        &self,
        status: &mut BackupStatus,
        generation: Option<i64>,
        now: Timestamp,
    ) -> bool {
        let mut changed = false;
        if let Some(at) = self.retry_started_at
            && let Some(last) = status.backoff_retry_status.last_mut()
            && last.real_retry_at.is_none()
        {
            last.real_retry_at = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at));
            changed = true;
        }
        if let Some(record) = &self.new_retry {
            status.backoff_retry_status.push(record.clone());
            changed = true;
        }
        for c in &self.amended {
            changed |= amend_condition(status, c, generation, now);
        }
        for c in &self.conditions {
            changed |= set_condition(status, c.clone(), generation, now);
        }
        changed
    }
}

/// Delete a backup's data from the operator's own process, because its namespace is being
/// deleted and no clean Job can be created there (docs/adr/0003).
#[derive(Debug, Clone, PartialEq)]
pub struct InProcessClean {
    /// `status.backupPath`, for messages.
    pub backup_path: String,
    /// Where the data is: `status.backupPath` reached with the settings of `spec.s3`
    /// (credentials excluded).
    pub target: crate::storage::Target,
    /// The Secret (in the Backup's namespace) with `access_key` and `secret_key`.
    pub secret_name: String,
    pub options: CleanSettings,
    /// Past the patience: if this attempt fails, keep the data and let the Backup go.
    pub give_up_on_failure: bool,
}

/// The data stays where it is and the Backup goes: nobody can delete it for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptData {
    pub backup_path: String,
    pub reason: String,
}

/// Decides what to do about `backup` now.
pub fn decide(backup: &Backup, observed: &Observed, settings: &Settings, now: Timestamp) -> Plan {
    let mut plan = if backup.metadata.deletion_timestamp.is_some() {
        deletion::decide(backup, observed, settings, now)
    } else {
        active::decide(backup, observed, settings, now)
    };
    // Emit each Event once per plan.
    plan.events.dedup();
    plan
}

/// Whether a Backup is settled: finished (or `Invalid` for its generation) with no GC life
/// time left to restore, or being deleted without the operator's finalizer. Its plan
/// depends on nothing but the Backup itself, so the operator decides it without observing
/// anything else and then only waits for a change: completed Backups (schedules keep
/// hundreds) cost no API requests.
pub fn is_settled(backup: &Backup) -> bool {
    if backup.metadata.deletion_timestamp.is_some() {
        return !has_protection(backup);
    }
    let finished = is_true(backup, BackupConditionType::Complete)
        || is_true(backup, BackupConditionType::Failed);
    let gc_pending = backup
        .status
        .as_ref()
        .and_then(|s| s.gc_life_time.as_ref())
        .is_some_and(|r| r.needs_restore())
        && !backup
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(super::labels::GC_NOT_RESTORED_ANNOTATION));
    (finished && !gc_pending) || active::invalid_for_this_generation(backup)
}

/// Whether the Backup may have to delete data when it is deleted (so it carries the
/// finalizer). Decided on the raw policy: an Invalid Backup keeps its policy.
pub fn is_clean_candidate(spec: &BackupSpec) -> bool {
    matches!(
        spec.clean_policy.clone().unwrap_or_default(),
        WirePolicy::Delete | WirePolicy::OnFailure
    )
}

/// The clean policy's value when it is none of the three, which means Retain.
pub fn unknown_clean_policy(spec: &BackupSpec) -> Option<String> {
    match &spec.clean_policy {
        Some(WirePolicy::Other(v)) => Some(v.clone()),
        _ => None,
    }
}

pub fn has_protection(backup: &Backup) -> bool {
    backup
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == BACKUP_PROTECTION_FINALIZER)
}

impl Plan {
    /// One line for logs: what the plan does, by name (no Job specs, never a value).
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        match self.finalizer {
            Some(FinalizerChange::Add) => parts.push("add finalizer".into()),
            Some(FinalizerChange::Remove) => parts.push("remove finalizer".into()),
            None => {}
        }
        if self.clustermeta.is_some() {
            parts.push("create the volume file".into());
        }
        for job in &self.jobs {
            parts.push(match job {
                JobAction::Create(j) => format!(
                    "create Job {}",
                    j.metadata.name.as_deref().unwrap_or_default()
                ),
                JobAction::Delete { name, .. } => format!("delete Job {name}"),
            });
        }
        if let Some(w) = &self.gc_write {
            parts.push(format!("set GC life time to {}", w.value));
        }
        if self.gc_record.is_some() {
            parts.push("record the GC life time restored".into());
        }
        if self.gc_given_up.is_some() {
            parts.push("give up the GC life time restore".into());
        }
        if let Some(c) = &self.clean_in_process {
            parts.push(format!("clean {} in process", c.backup_path));
        }
        if let Some(k) = &self.keep_data {
            parts.push(format!("keep {}", k.backup_path));
        }
        if self.status.new_retry.is_some() {
            parts.push("record a retry".into());
        }
        if self.status.retry_started_at.is_some() {
            parts.push("start the retry".into());
        }
        for c in &self.status.conditions {
            parts.push(format!(
                "{}={} ({})",
                c.type_.as_str(),
                c.status.as_str(),
                c.reason.as_deref().unwrap_or_default()
            ));
        }
        for c in &self.status.amended {
            parts.push(format!(
                "amend {} ({})",
                c.type_.as_str(),
                c.reason.as_deref().unwrap_or_default()
            ));
        }
        for e in &self.events {
            parts.push(format!("event {}", e.reason));
        }
        if let Some(r) = self.requeue {
            parts.push(format!("requeue {}s", r.as_secs()));
        }
        if parts.is_empty() {
            "nothing".into()
        } else {
            parts.join(", ")
        }
    }

    /// Adds a condition; the Event goes with it only if the condition changes something
    /// (status, reason, message, generation or phase), so waiting does not repeat Events.
    fn condition(&mut self, backup: &Backup, condition: NewCondition, event: Option<Event>) {
        let mut probe = backup.status.clone().unwrap_or_default();
        self.status.apply(
            &mut probe,
            backup.metadata.generation,
            Timestamp::UNIX_EPOCH,
        );
        let changes = set_condition(
            &mut probe,
            condition.clone(),
            backup.metadata.generation,
            Timestamp::UNIX_EPOCH,
        );
        if changes {
            self.events.extend(event);
        }
        self.status.conditions.push(condition);
    }

    fn requeue_after(&mut self, d: Duration) {
        sooner(&mut self.requeue, d);
    }
}

/// Whether a condition of this type is `True` in the Backup's status.
fn is_true(backup: &Backup, type_: BackupConditionType) -> bool {
    super::status::is_true(backup.status.as_ref(), &type_)
}

fn name(backup: &Backup) -> &str {
    backup.metadata.name.as_deref().unwrap_or_default()
}

fn namespace(backup: &Backup) -> &str {
    backup.metadata.namespace.as_deref().unwrap_or_default()
}
