//! `decide()` tables: one Backup state and one observation in, one plan out, at a fixed
//! `now`.

mod active;
mod deletion;
mod no_pod;
mod settle;
mod volume;

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::{batch::v1::Job, core::v1::Pod};
use serde_json::{Value, json};
use tibr_api::{Backup, BackupConditionType};

use super::{FinalizerChange, JobAction, JobInfo, Observed, Plan, SecretInfo, Settings, decide};
use crate::backup::fixtures::{self, SECRET_S3, SECRET_TIDB};
use crate::backup::gc_restore::GcReading;
use crate::reconcile::{EventKind, EventSubject};

const NOW: &str = "2026-03-01T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn settings() -> Settings {
    Settings::new("ghcr.io/tibr/tibr-agent:v0.1.0")
}

/// Everything the seed's static-keys Backup needs exists, the cluster is Ready, and TiDB
/// holds the value the seed's backups raise the GC life time to, with no other backup.
fn observed() -> Observed {
    let mut o = Observed {
        cluster: Some(fixtures::cluster()),
        gc: Some(GcReading::Read {
            current: "72h".into(),
            peers: vec![],
        }),
        ..Observed::default()
    };
    o.secrets.insert(
        SECRET_S3.into(),
        SecretInfo::with_keys(&["access_key", "secret_key"]),
    );
    o.secrets
        .insert(SECRET_TIDB.into(), SecretInfo::with_keys(&["password"]));
    o
}

/// The seed Backup with a status (as JSON) and extra metadata/spec merged in.
fn backup(status: Value, extra: Value) -> Backup {
    let mut b = fixtures::tweak(&fixtures::static_keys(), extra);
    if !status.is_null() {
        b.status = Some(serde_json::from_value(status).unwrap());
    }
    b
}

fn condition(type_: &str, status: &str) -> Value {
    json!({"type": type_, "status": status, "lastTransitionTime": "2026-03-01T11:00:00Z"})
}

/// A status whose phase is `phase`, with that condition `True`.
fn phase(p: &str) -> Value {
    json!({"phase": p, "conditions": [condition(p, "True")]})
}

/// A Job named `backup-demo1-backup-s3` in the given state.
fn job(name: &str, conditions: Value, extra_meta: Value, pods: &[Value]) -> JobInfo {
    let mut meta = json!({"name": name, "uid": format!("{name}-uid"), "creationTimestamp": "2026-03-01T11:00:00Z"});
    if let Value::Object(m) = extra_meta {
        for (k, v) in m {
            meta[k] = v;
        }
    }
    let j: Job =
        serde_json::from_value(json!({"metadata": meta, "status": {"conditions": conditions}}))
            .unwrap();
    let pods: Vec<Pod> = pods
        .iter()
        .map(|p| serde_json::from_value(p.clone()).unwrap())
        .collect();
    JobInfo::from_job(&j, &pods)
}

fn running_job() -> JobInfo {
    job("backup-demo1-backup-s3", json!([]), json!({}), &[])
}

fn failed_job(finished: &str) -> JobInfo {
    job(
        "backup-demo1-backup-s3",
        json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "lastTransitionTime": finished}]),
        json!({"creationTimestamp": "2026-03-01T11:51:00Z"}),
        &[json!({"metadata": {"name": "backup-demo1-backup-s3-abcde"},
                 "status": {"phase": "Failed", "containerStatuses": [{"name": "backup", "image": "a", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 137, "reason": "Error", "signal": 9}}}]}})],
    )
}

fn run(b: &Backup, o: &Observed) -> Plan {
    decide(b, o, &settings(), now())
}

/// The conditions the plan sets, as (type, status, reason).
fn conditions(plan: &Plan) -> Vec<(String, String, String)> {
    plan.status
        .conditions
        .iter()
        .map(|c| {
            (
                c.type_.as_str().to_string(),
                c.status.as_str().to_string(),
                c.reason.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn cond(t: &str, s: &str, r: &str) -> (String, String, String) {
    (t.into(), s.into(), r.into())
}

fn message(plan: &Plan, type_: BackupConditionType) -> String {
    plan.status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .and_then(|c| c.message.clone())
        .unwrap_or_default()
}

fn events(plan: &Plan) -> Vec<(EventKind, String)> {
    plan.events
        .iter()
        .map(|e| (e.kind, e.reason.clone()))
        .collect()
}

fn created_job(plan: &Plan) -> Option<&Job> {
    plan.jobs.iter().find_map(|a| match a {
        JobAction::Create(j) => Some(j.as_ref()),
        JobAction::Delete { .. } => None,
    })
}

fn deleted_jobs(plan: &Plan) -> Vec<String> {
    plan.jobs
        .iter()
        .filter_map(|a| match a {
            JobAction::Delete { name, .. } => Some(name.clone()),
            JobAction::Create(_) => None,
        })
        .collect()
}

fn secs(n: u64) -> Option<Duration> {
    Some(Duration::from_secs(n))
}

#[test]
fn status_updates_apply_retries_and_conditions_in_order() {
    use crate::backup::status::NewCondition;
    let mut plan = Plan::default();
    plan.status.retry_started_at = Some(now());
    plan.status.conditions = vec![
        NewCondition::true_(BackupConditionType::Restart, "BackoffRetry", "retry 1"),
        NewCondition::true_(BackupConditionType::Scheduled, "JobCreated", "created"),
    ];
    let mut status: tibr_api::pingcap::v1alpha1::BackupStatus = serde_json::from_value(json!({
        "phase": "RetryFailed",
        "backoffRetryStatus": [{"retryNum": 1, "detectFailedAt": "2026-03-01T11:00:00Z"}]
    }))
    .unwrap();
    assert!(plan.status.apply(&mut status, Some(3), now()));
    assert_eq!(status.phase, Some(BackupConditionType::Scheduled));
    assert_eq!(
        status.backoff_retry_status[0]
            .real_retry_at
            .as_ref()
            .unwrap()
            .0,
        now()
    );
    assert_eq!(status.conditions[1].observed_generation, Some(3));
    // Applying again changes nothing: the retry already started, the conditions are set.
    assert!(!plan.status.apply(&mut status, Some(3), now()));
    let _ = (EventSubject::Object, FinalizerChange::Add);
}
