//! Jobs whose pod the API server refuses: the refusal on the Backup, once per new text, a
//! look again, and the condition put back once the pod exists.

use k8s_openapi::api::core::v1::Event;
use tibr_api::BackupConditionType as T;

use super::*;

const NO_SA: &str = "Error creating: pods \"backup-demo1-backup-s3-\" is forbidden: error looking up service account test1/tidb-backup-manager: serviceaccount \"tidb-backup-manager\" not found";
const QUOTA: &str = "Error creating: pods \"backup-demo1-backup-s3-\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=10, limited: pods=10";

fn event(reason: &str, type_: &str, at: &str, message: &str) -> Event {
    serde_json::from_value(json!({
        "metadata": {"name": format!("e-{reason}-{at}")},
        "involvedObject": {"kind": "Job", "name": "backup-demo1-backup-s3"},
        "reason": reason, "type": type_, "message": message, "lastTimestamp": at
    }))
    .unwrap()
}

/// The Job `name`, taken up by the Job controller at `started`, with `pods` live pods and
/// `events` read (as the operator reads them only when it has none).
fn job_with(name: &str, started: &str, pods: i32, events: &[Event]) -> JobInfo {
    let j: Job = serde_json::from_value(json!({
        "metadata": {"name": name, "uid": "u1", "creationTimestamp": started},
        "status": {"startTime": started, "active": if pods > 0 { json!(pods) } else { Value::Null }}
    }))
    .unwrap();
    let mut info = JobInfo::from_job(&j, &[]);
    if info.awaits_pod() {
        info.note_events(events);
    }
    info
}

fn refused(message: &str) -> JobInfo {
    job_with(
        "backup-demo1-backup-s3",
        "2026-03-01T11:59:00Z",
        0,
        &[event(
            "FailedCreate",
            "Warning",
            "2026-03-01T11:59:30Z",
            message,
        )],
    )
}

fn with_backup_job(job: JobInfo) -> Observed {
    Observed {
        backup_job: Some(job),
        ..observed()
    }
}

/// A status at `phase` whose `Scheduled` says `reason`/`message`.
fn scheduled_as(phase_: &str, reason: &str, message: &str) -> Value {
    let mut conditions = vec![
        json!({"type": "Scheduled", "status": "True", "reason": reason,
        "message": message, "lastTransitionTime": "2026-03-01T11:00:00Z", "observedGeneration": 1}),
    ];
    if phase_ != "Scheduled" {
        conditions.push(condition(phase_, "True"));
    }
    json!({"phase": phase_, "conditions": conditions})
}

#[test]
fn a_refused_pod_is_the_scheduled_condition_with_a_warning_once_per_text() {
    let b = backup(phase("Scheduled"), json!({"metadata": {"generation": 1}}));
    let plan = run(&b, &with_backup_job(refused(NO_SA)));
    assert!(plan.jobs.is_empty(), "the Job keeps trying on its own");
    assert_eq!(
        conditions(&plan),
        [cond("Scheduled", "True", "FailedCreate")]
    );
    let text = message(&plan, T::Scheduled);
    assert!(
        text.starts_with("Job backup-demo1-backup-s3 cannot create its pod: "),
        "{text}"
    );
    assert!(
        text.contains("serviceaccount \"tidb-backup-manager\" not found"),
        "{text}"
    );
    assert!(text.contains("apply deploy/backup-rbac.yaml"), "{text}");
    assert_eq!(events(&plan), [(EventKind::Warning, "FailedCreate".into())]);
    assert_eq!(plan.events[0].note, text);
    assert_eq!(plan.requeue, secs(30), "looked at again, to see it clear");

    // Recorded already: the same text again is no news.
    let seen = backup(
        scheduled_as("Scheduled", "FailedCreate", &text),
        json!({"metadata": {"generation": 1}}),
    );
    let again = run(&seen, &with_backup_job(refused(NO_SA)));
    assert!(again.events.is_empty(), "{:?}", again.events);
    assert_eq!(again.requeue, secs(30));
    // A new refusal is.
    let quota = run(&seen, &with_backup_job(refused(QUOTA)));
    assert_eq!(
        events(&quota),
        [(EventKind::Warning, "FailedCreate".into())]
    );
    let text = message(&quota, T::Scheduled);
    assert!(
        text.contains("exceeded quota") && !text.contains("backup-rbac"),
        "{text}"
    );
}

#[test]
fn a_named_service_account_gets_its_own_hint() {
    let b = backup(
        phase("Scheduled"),
        json!({"spec": {"serviceAccount": "robot"}}),
    );
    let job = refused(
        "Error creating: pods \"backup-demo1-backup-s3-\" is forbidden: error looking up service account test1/robot: serviceaccount \"robot\" not found",
    );
    let text = message(&run(&b, &with_backup_job(job)), T::Scheduled);
    assert!(
        text.contains("create ServiceAccount robot or fix spec.serviceAccount"),
        "{text}"
    );
}

#[test]
fn a_refusal_followed_by_a_pod_is_no_refusal() {
    let b = backup(phase("Scheduled"), json!({}));
    let job = job_with(
        "backup-demo1-backup-s3",
        "2026-03-01T11:59:00Z",
        0,
        &[
            event("FailedCreate", "Warning", "2026-03-01T11:59:10Z", NO_SA),
            event(
                "SuccessfulCreate",
                "Normal",
                "2026-03-01T11:59:40Z",
                "Created pod: x",
            ),
        ],
    );
    let plan = run(&b, &with_backup_job(job));
    assert!(
        plan.status.is_empty() && plan.events.is_empty(),
        "{plan:#?}"
    );
}

#[test]
fn the_condition_is_put_back_once_the_pod_exists() {
    let stale = "Job backup-demo1-backup-s3 cannot create its pod: ...";
    // Still Scheduled: through the phase, without an Event.
    let b = backup(
        scheduled_as("Scheduled", "FailedCreate", stale),
        json!({"metadata": {"generation": 1}}),
    );
    let running = job_with("backup-demo1-backup-s3", "2026-03-01T11:59:00Z", 1, &[]);
    let plan = run(&b, &with_backup_job(running.clone()));
    assert_eq!(conditions(&plan), [cond("Scheduled", "True", "JobCreated")]);
    assert!(message(&plan, T::Scheduled).contains("got its pod"));
    assert!(plan.events.is_empty());
    assert_eq!(plan.requeue, secs(300));

    // The agent moved on (Prepare, Running, Complete): rewritten in place, phase kept.
    for at in ["Prepare", "Running", "Complete"] {
        let b = backup(
            scheduled_as(at, "FailedCreate", stale),
            json!({"metadata": {"generation": 1}}),
        );
        let plan = run(&b, &with_backup_job(running.clone()));
        assert!(plan.status.conditions.is_empty(), "{at}: {plan:#?}");
        assert_eq!(plan.status.amended.len(), 1, "{at}");
        let mut status = b.status.clone().unwrap();
        assert!(plan.status.apply(&mut status, Some(1), now()));
        assert_eq!(status.phase.as_ref().map(|p| p.as_str()), Some(at));
        let c = status.condition(&T::Scheduled).unwrap();
        assert_eq!(c.reason.as_deref(), Some("JobCreated"), "{at}");
        // Once put back, nothing more.
        let mut fixed = b.clone();
        fixed.status = Some(status);
        assert!(
            run(&fixed, &with_backup_job(running.clone()))
                .status
                .is_empty(),
            "{at}"
        );
    }
    // A Backup the operator failed without a pod keeps its history.
    let b = backup(
        json!({"phase": "Failed", "conditions": [
            {"type": "Scheduled", "status": "True", "reason": "FailedCreate", "message": stale},
            {"type": "Failed", "status": "True", "reason": "AlreadyFailed"}]}),
        json!({}),
    );
    assert!(run(&b, &Observed::default()).status.amended.is_empty());
}

#[test]
fn a_job_without_a_pod_and_no_word_yet_is_looked_at_soon() {
    let b = backup(phase("Scheduled"), json!({}));
    // Taken up a moment ago: its Event may follow its status.
    let young = job_with("backup-demo1-backup-s3", "2026-03-01T11:59:50Z", 0, &[]);
    let plan = run(&b, &with_backup_job(young));
    assert!(plan.status.is_empty() && plan.events.is_empty());
    assert_eq!(plan.requeue, secs(2));
    // Long without a pod and still no word: less often.
    let old = job_with("backup-demo1-backup-s3", "2026-03-01T11:00:00Z", 0, &[]);
    assert_eq!(run(&b, &with_backup_job(old)).requeue, secs(30));
    // Not taken up yet, or with its pod: the Job's own changes wake the Backup.
    assert_eq!(run(&b, &with_backup_job(running_job())).requeue, secs(300));
}

#[test]
fn a_refused_clean_pod_is_the_clean_condition() {
    let b = backup(
        json!({"phase": "Clean", "backupPath": "s3://my-bucket/my-folder",
               "conditions": [condition("Complete", "True"),
                              {"type": "Clean", "status": "False", "reason": "CleanJobCreated"}]}),
        json!({"metadata": {"deletionTimestamp": "2026-03-01T11:58:00Z", "generation": 1,
                            "finalizers": ["tidb.pingcap.com/backup-protection"]},
               "spec": {"cleanPolicy": "Delete"}}),
    );
    let clean = |pods, events: &[Event]| Observed {
        clean_job: Some(job_with(
            "clean-demo1-backup-s3",
            "2026-03-01T11:59:00Z",
            pods,
            events,
        )),
        ..observed()
    };
    let refusal = [event(
        "FailedCreate",
        "Warning",
        "2026-03-01T11:59:30Z",
        NO_SA,
    )];
    let plan = run(&b, &clean(0, &refusal));
    assert!(plan.jobs.is_empty() && plan.finalizer.is_none());
    assert_eq!(conditions(&plan), [cond("Clean", "False", "FailedCreate")]);
    assert!(
        message(&plan, T::Clean).starts_with("Job clean-demo1-backup-s3 cannot create its pod: ")
    );
    assert_eq!(events(&plan), [(EventKind::Warning, "FailedCreate".into())]);
    assert_eq!(plan.requeue, secs(30));

    let mut refused = b.clone();
    let mut status = b.status.clone().unwrap();
    plan.status.apply(&mut status, Some(1), now());
    refused.status = Some(status);
    assert!(
        run(&refused, &clean(0, &refusal)).events.is_empty(),
        "once per text"
    );
    let plan = run(&refused, &clean(1, &[]));
    assert_eq!(
        conditions(&plan),
        [cond("Clean", "False", "CleanJobCreated")]
    );
    assert!(message(&plan, T::Clean).contains("got its pod"));
    assert_eq!(plan.requeue, secs(300));
}
