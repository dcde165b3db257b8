//! What the operator observed about a Backup's surroundings, reduced to what decisions
//! need. Secrets are described by their key names only: values never enter a decision.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{Event, Pod},
};
use tibr_api::TidbCluster;

use crate::backup::gc_restore::GcReading;

/// The world around one Backup, read just before deciding.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The TidbCluster `spec.br` names; `None` when it does not exist.
    pub cluster: Option<TidbCluster>,
    /// The Secrets the Backup names that exist, by name.
    pub secrets: BTreeMap<String, SecretInfo>,
    /// `backup-<name>`, if it exists.
    pub backup_job: Option<JobInfo>,
    /// `clean-<name>`, if it exists.
    pub clean_job: Option<JobInfo>,
    /// Whether the Backup's namespace is being deleted.
    pub namespace_terminating: bool,
    /// TiDB's GC life time and the cluster's other Backups, read when a restore may be due
    /// (`crate::backup::gc_restore::pending`).
    pub gc: Option<GcReading>,
    /// Volume snapshots: the init Job `backup-<name>-init`, if it exists.
    pub init_job: Option<JobInfo>,
    /// Volume snapshots: what the volume file is built from, read when the execute Job is
    /// about to be created.
    pub volumes: Option<ObservedVolumes>,
}

/// A data plane's TiDB cluster as the volume file needs it.
#[derive(Debug, Clone, Default)]
pub struct ObservedVolumes {
    /// The TidbCluster as stored, whole.
    pub tidb_cluster: serde_json::Value,
    pub tikv_pods: Vec<Pod>,
    pub pvcs: Vec<k8s_openapi::api::core::v1::PersistentVolumeClaim>,
    pub pvs: Vec<k8s_openapi::api::core::v1::PersistentVolume>,
}

/// A Secret, without its values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretInfo {
    pub keys: BTreeSet<String>,
    pub deleting: bool,
}

impl SecretInfo {
    pub fn with_keys(keys: &[&str]) -> Self {
        SecretInfo {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            deleting: false,
        }
    }
}

/// Where a Job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Not finished (pending, running, or failing but with pods still terminating).
    Active,
    /// `Complete=True`.
    Succeeded,
    /// `Failed=True`: no more pods will be started.
    Failed,
}

/// A Job, reduced to what decisions need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    pub name: String,
    pub uid: Option<String>,
    pub created: Option<Timestamp>,
    pub state: JobState,
    /// Being deleted (it has a deletion timestamp).
    pub deleting: bool,
    /// When it succeeded or failed.
    pub finished_at: Option<Timestamp>,
    /// Pods that failed.
    pub failed_pods: i32,
    /// The most specific short reason for a failure: the pod's (`Evicted`), the
    /// container's (`OOMKilled`, `Error`), else the Job's (`BackoffLimitExceeded`).
    pub failure_reason: Option<String>,
    /// A sentence on how it failed, naming the pod and exit code.
    pub failure: Option<String>,
    /// When the Job controller first took it up (`status.startTime`).
    pub started: Option<Timestamp>,
    /// Pods it has, running or going away (`status.active` + `status.terminating`).
    pub live_pods: i32,
    /// Why it has no pod, from its Events: filled in (by [`JobInfo::note_events`]) only
    /// while [`JobInfo::awaits_pod`].
    pub pod_creation_failure: Option<JobWarning>,
}

/// A Warning the Job controller recorded about a Job (`FailedCreate`), as Kubernetes wrote
/// it: the message quotes the API server's refusal (a missing ServiceAccount, a quota, an
/// admission webhook).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobWarning {
    pub reason: String,
    pub message: String,
}

/// The Job controller's Event reasons for creating a pod, and failing to.
pub const FAILED_CREATE: &str = "FailedCreate";
const SUCCESSFUL_CREATE: &str = "SuccessfulCreate";

impl JobInfo {
    /// A Job's state from its status, and its failure from its newest failed pod.
    pub fn from_job(job: &Job, pods: &[Pod]) -> JobInfo {
        let status = job.status.clone().unwrap_or_default();
        let conditions = status.conditions.unwrap_or_default();
        let cond = |t: &str| {
            conditions
                .iter()
                .find(|c| c.type_ == t && c.status == "True")
        };
        let (state, finished) = match (cond("Complete"), cond("Failed")) {
            (Some(c), _) => (JobState::Succeeded, c.last_transition_time.clone()),
            (None, Some(c)) => (JobState::Failed, c.last_transition_time.clone()),
            (None, None) => (JobState::Active, None),
        };
        let finished_at = finished.or(status.completion_time).map(|t| t.0);
        let job_reason = cond("Failed").and_then(|c| {
            let reason = c.reason.clone()?;
            Some(match &c.message {
                Some(m) if !m.is_empty() => (reason.clone(), format!("{reason}: {m}")),
                _ => (reason.clone(), reason),
            })
        });
        let pod = pods
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed"))
            .max_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
        let pod_failure = pod.and_then(pod_failure);
        let (failure_reason, failure) = match (pod_failure, job_reason) {
            (Some((r, text)), Some((_, job))) => (Some(r), Some(format!("{text}; Job {job}"))),
            (Some((r, text)), None) => (Some(r), Some(text)),
            (None, Some((r, job))) => (Some(r), Some(format!("Job {job}"))),
            (None, None) => (None, None),
        };
        JobInfo {
            name: job.metadata.name.clone().unwrap_or_default(),
            uid: job.metadata.uid.clone(),
            created: job.metadata.creation_timestamp.as_ref().map(|t| t.0),
            state,
            deleting: job.metadata.deletion_timestamp.is_some(),
            finished_at,
            failed_pods: status.failed.unwrap_or(0),
            failure_reason,
            failure,
            started: status.start_time.map(|t| t.0),
            live_pods: status.active.unwrap_or(0) + status.terminating.unwrap_or(0),
            pod_creation_failure: None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.state == JobState::Active
    }

    /// The Job controller took the Job up and it still has no pod. A healthy Job gets its
    /// pod in the same pass that sets `startTime`, so only a Job whose pod is refused (or
    /// between a failed pod and its replacement) is ever here: the only time its Events
    /// are worth a read.
    pub fn awaits_pod(&self) -> bool {
        self.is_active() && !self.deleting && self.started.is_some() && self.live_pods == 0
    }

    /// Takes in the Job's Events: a refusal to create its pod that no later success
    /// followed.
    pub fn note_events(&mut self, events: &[Event]) {
        self.pod_creation_failure = pod_creation_failure(events);
    }
}

/// The newest pod-creation Event, if it is a refusal. Event times have whole seconds: on a
/// tie the success wins, so a refusal never outlives the pod it was followed by.
fn pod_creation_failure(events: &[Event]) -> Option<JobWarning> {
    let newest = events
        .iter()
        .filter(|e| matches!(e.reason.as_deref(), Some(FAILED_CREATE | SUCCESSFUL_CREATE)))
        .max_by_key(|e| {
            (
                event_time(e),
                e.reason.as_deref() == Some(SUCCESSFUL_CREATE),
            )
        })?;
    if newest.reason.as_deref() != Some(FAILED_CREATE) || newest.type_.as_deref() != Some("Warning")
    {
        return None;
    }
    Some(JobWarning {
        reason: FAILED_CREATE.to_string(),
        message: newest.message.clone().unwrap_or_default(),
    })
}

/// When an Event last happened, whichever of its times its recorder filled in.
fn event_time(e: &Event) -> Option<Timestamp> {
    [
        e.series
            .as_ref()
            .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0)),
        e.last_timestamp.as_ref().map(|t| t.0),
        e.event_time.as_ref().map(|t| t.0),
        e.first_timestamp.as_ref().map(|t| t.0),
        e.metadata.creation_timestamp.as_ref().map(|t| t.0),
    ]
    .into_iter()
    .flatten()
    .max()
}

/// (short reason, sentence) for a failed pod.
fn pod_failure(pod: &Pod) -> Option<(String, String)> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref()?;
    if let Some(reason) = status.reason.clone().filter(|r| !r.is_empty()) {
        let message = status.message.clone().unwrap_or_default();
        return Some((
            reason.clone(),
            format!("pod {name}: {reason} {message}").trim().to_string(),
        ));
    }
    let containers = status
        .container_statuses
        .iter()
        .flatten()
        .chain(status.init_container_statuses.iter().flatten());
    for c in containers {
        let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
            continue;
        };
        if t.exit_code == 0 {
            continue;
        }
        let reason = t.reason.clone().unwrap_or_else(|| "Error".into());
        let signal = t
            .signal
            .map(|s| format!(", signal {s}"))
            .unwrap_or_default();
        return Some((
            reason.clone(),
            format!(
                "pod {name}: container {} terminated with exit code {}{signal} ({reason})",
                c.name, t.exit_code
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn failed_jobs_name_their_pod_and_exit_code() {
        let job: Job = serde_json::from_value(json!({
            "metadata": {"name": "backup-b", "uid": "j1", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"failed": 1, "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit",
                 "lastTransitionTime": "2026-01-01T00:03:00Z"}]}
        }))
        .unwrap();
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "backup-b-x1", "creationTimestamp": "2026-01-01T00:00:01Z"},
            "status": {"phase": "Failed", "containerStatuses": [{"name": "backup", "image": "a", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}
        }))
        .unwrap();
        let info = JobInfo::from_job(&job, &[pod]);
        assert_eq!(info.state, JobState::Failed);
        assert_eq!(info.failure_reason.as_deref(), Some("OOMKilled"));
        let text = info.failure.unwrap();
        assert!(
            text.contains("pod backup-b-x1: container backup terminated with exit code 137"),
            "{text}"
        );
        assert!(text.contains("BackoffLimitExceeded"), "{text}");
        assert_eq!(
            info.finished_at,
            Some("2026-01-01T00:03:00Z".parse().unwrap())
        );

        let running: Job = serde_json::from_value(json!({
            "metadata": {"name": "backup-b", "deletionTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"active": 1, "conditions": [{"type": "FailureTarget", "status": "True"}]}
        }))
        .unwrap();
        let info = JobInfo::from_job(&running, &[]);
        assert!(info.is_active() && info.deleting);
        assert_eq!(info.failure, None);
    }

    fn event(reason: &str, type_: &str, at: &str, message: &str) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": format!("backup-b.{reason}{at}"), "namespace": "ns"},
            "involvedObject": {"kind": "Job", "name": "backup-b", "uid": "j1"},
            "reason": reason, "type": type_, "message": message,
            "firstTimestamp": at, "lastTimestamp": at
        }))
        .unwrap()
    }

    #[test]
    fn a_started_job_without_pods_awaits_one_and_its_refusal_is_read() {
        let pending: Job = serde_json::from_value(json!({
            "metadata": {"name": "backup-b", "uid": "j1"},
            "status": {"startTime": "2026-01-01T00:00:00Z"}
        }))
        .unwrap();
        let mut info = JobInfo::from_job(&pending, &[]);
        assert!(info.awaits_pod());
        let refused = "Error creating: pods \"backup-b-\" is forbidden: error looking up service account ns/sa: serviceaccount \"sa\" not found";
        info.note_events(&[
            event("FailedCreate", "Warning", "2026-01-01T00:00:01Z", "older"),
            event("FailedCreate", "Warning", "2026-01-01T00:00:03Z", refused),
            event(
                "SuccessfulCreate",
                "Normal",
                "2026-01-01T00:00:02Z",
                "Created pod: x",
            ),
        ]);
        assert_eq!(
            info.pod_creation_failure,
            Some(JobWarning {
                reason: "FailedCreate".into(),
                message: refused.into()
            })
        );
        // A pod created after the refusals (the same second counts) clears it.
        info.note_events(&[
            event("FailedCreate", "Warning", "2026-01-01T00:00:03Z", refused),
            event(
                "SuccessfulCreate",
                "Normal",
                "2026-01-01T00:00:03Z",
                "Created pod: y",
            ),
        ]);
        assert_eq!(info.pod_creation_failure, None);
        info.note_events(&[event("Completed", "Normal", "2026-01-01T00:00:09Z", "")]);
        assert_eq!(info.pod_creation_failure, None);

        // Not taken up yet, with a pod, or finished: nothing to read.
        let fresh: Job = serde_json::from_value(json!({"metadata": {"name": "backup-b"}})).unwrap();
        assert!(!JobInfo::from_job(&fresh, &[]).awaits_pod());
        let with_pod: Job = serde_json::from_value(json!({
            "metadata": {"name": "backup-b"},
            "status": {"startTime": "2026-01-01T00:00:00Z", "active": 1}
        }))
        .unwrap();
        assert!(!JobInfo::from_job(&with_pod, &[]).awaits_pod());
        let terminating: Job = serde_json::from_value(json!({
            "metadata": {"name": "backup-b"},
            "status": {"startTime": "2026-01-01T00:00:00Z", "terminating": 1}
        }))
        .unwrap();
        assert!(!JobInfo::from_job(&terminating, &[]).awaits_pod());
        let done: Job = serde_json::from_value(json!({
            "metadata": {"name": "backup-b"},
            "status": {"startTime": "2026-01-01T00:00:00Z", "conditions": [{"type": "Complete", "status": "True"}]}
        }))
        .unwrap();
        assert!(!JobInfo::from_job(&done, &[]).awaits_pod());
    }

    #[test]
    fn evicted_pods_say_so() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "status": {"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."}
        }))
        .unwrap();
        let (reason, text) = pod_failure(&pod).unwrap();
        assert_eq!(reason, "Evicted");
        assert!(text.contains("low on resource"));
    }
}
