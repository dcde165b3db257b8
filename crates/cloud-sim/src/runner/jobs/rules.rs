//! The Job controller's rules, as pure functions: pod states, back-off, conditions, and
//! the pod a Job's template makes.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::{
    api::{
        batch::v1::{Job, JobCondition},
        core::v1::Pod,
    },
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use crate::runner::status::time;

/// The longest wait before a Job replaces a failed pod.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(360);

pub(super) fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

pub(super) fn terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

pub(super) fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// When a failed pod's last container finished.
pub(super) fn finished_at(pod: &Pod) -> Option<Timestamp> {
    pod.status
        .iter()
        .flat_map(|s| {
            s.container_statuses
                .iter()
                .flatten()
                .chain(s.init_container_statuses.iter().flatten())
        })
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .map(|t| t.0)
        .max()
}

/// The longest wait before a Job tries again to create a pod the API server refused
/// (Kubernetes' `MaxJobApiBackOff`: the Job controller's work queue retries the sync).
pub(super) const MAX_API_BACKOFF: Duration = Duration::from_secs(60);

/// The back-off before attempt `n + 1` after `n` failed pods.
pub(super) fn backoff(base: Duration, n: u32) -> Duration {
    doubling(base, n, MAX_BACKOFF)
}

/// The back-off before creating a pod again after `n` refusals.
pub(super) fn api_backoff(base: Duration, n: u32) -> Duration {
    doubling(base, n, MAX_API_BACKOFF)
}

fn doubling(base: Duration, n: u32, cap: Duration) -> Duration {
    if n == 0 {
        return Duration::ZERO;
    }
    base.saturating_mul(2u32.saturating_pow(n - 1)).min(cap)
}

pub(super) fn remaining(since: Option<Timestamp>, wait: Duration, now: Timestamp) -> Duration {
    let Some(since) = since else {
        return Duration::ZERO;
    };
    let elapsed: Duration = now
        .duration_since(since)
        .try_into()
        .unwrap_or(Duration::ZERO);
    wait.saturating_sub(elapsed)
}

pub(super) fn condition_true(conds: &[JobCondition], kind: &str) -> bool {
    conds.iter().any(|c| c.type_ == kind && c.status == "True")
}

/// Sets a condition, keeping its transition time when its status does not change.
pub(super) fn set_condition(
    conds: &mut Vec<Value>,
    kind: &str,
    ok: bool,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let status = if ok { "True" } else { "False" };
    let at = time(now);
    let existing = conds.iter_mut().find(|c| c["type"] == kind);
    match existing {
        Some(c) => {
            if c["status"] != status {
                c["lastTransitionTime"] = json!(at);
            }
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["message"] = json!(message);
            c["lastProbeTime"] = json!(at);
        }
        None => conds.push(json!({
            "type": kind, "status": status, "reason": reason, "message": message,
            "lastProbeTime": at, "lastTransitionTime": at,
        })),
    }
}

pub(super) fn past_backoff_on_failure(job: &Job, active: &[&Pod]) -> bool {
    let spec = job.spec.as_ref();
    let on_failure = spec
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.restart_policy.as_deref())
        == Some("OnFailure");
    if !on_failure {
        return false;
    }
    let limit = spec.and_then(|s| s.backoff_limit).unwrap_or(6);
    let restarts: i32 = active
        .iter()
        .flat_map(|p| p.status.iter())
        .flat_map(|s| {
            s.container_statuses
                .iter()
                .flatten()
                .chain(s.init_container_statuses.iter().flatten())
        })
        .map(|c| c.restart_count)
        .sum();
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

pub(super) fn pod_from_template(job: &Job) -> Pod {
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", job.name_any())),
            namespace: job.namespace(),
            labels: meta.labels,
            annotations: meta.annotations,
            owner_references: Some(vec![OwnerReference {
                api_version: Job::api_version(&()).to_string(),
                kind: Job::kind(&()).to_string(),
                name: job.name_any(),
                uid: job.uid().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_secs(10);
        assert_eq!(backoff(base, 0), Duration::ZERO);
        assert_eq!(backoff(base, 1), Duration::from_secs(10));
        assert_eq!(backoff(base, 3), Duration::from_secs(40));
        assert_eq!(backoff(base, 30), MAX_BACKOFF);
        let api = Duration::from_secs(1);
        assert_eq!(api_backoff(api, 1), Duration::from_secs(1));
        assert_eq!(api_backoff(api, 6), Duration::from_secs(32));
        assert_eq!(api_backoff(api, 7), MAX_API_BACKOFF);
    }

    #[test]
    fn conditions_keep_transition_time() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let t1: Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let mut conds = Vec::new();
        set_condition(&mut conds, "FailureTarget", true, "R", "m", t0);
        set_condition(&mut conds, "FailureTarget", true, "R", "m2", t1);
        assert_eq!(conds.len(), 1);
        assert_eq!(conds[0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
        assert_eq!(conds[0]["message"], "m2");
    }

    #[test]
    fn pods_copy_the_template_and_point_at_the_job() {
        let job: Job = serde_json::from_value(json!({
            "metadata": {"name": "backup", "namespace": "ns", "uid": "u1"},
            "spec": {"template": {"metadata": {"labels": {"a": "b"}, "annotations": {"x": "y"}},
                     "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}
        }))
        .unwrap();
        let pod = pod_from_template(&job);
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("backup-"));
        assert_eq!(pod.labels()["a"], "b");
        assert_eq!(pod.annotations()["x"], "y");
        let owner = &pod.owner_references()[0];
        assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("Job", "u1"));
        assert_eq!(
            (owner.controller, owner.block_owner_deletion),
            (Some(true), Some(true))
        );
    }
}
