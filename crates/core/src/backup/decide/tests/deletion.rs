//! Backups being deleted: the clean policy matrix, the clean Job, stopping a running
//! backup, and the namespace-deletion path.

use super::*;
use tibr_api::BackupConditionType as T;

pub(super) const PATH: &str = "s3://my-bucket/my-folder";

/// The seed Backup being deleted, with the protection finalizer, `policy`, a status, and
/// the deletion at `deleted`.
pub(super) fn deleting(policy: &str, status: Value, deleted: &str) -> Backup {
    backup(
        status,
        json!({"metadata": {"deletionTimestamp": deleted, "finalizers": ["tidb.pingcap.com/backup-protection"]},
               "spec": {"cleanPolicy": policy}}),
    )
}

pub(super) fn with_path(mut status: Value) -> Value {
    status["backupPath"] = json!(PATH);
    status
}

#[derive(Debug, PartialEq)]
enum Outcome {
    /// The running backup Job is deleted first.
    StopJob,
    /// A clean Job is created and `Clean=False` written.
    CleanJob,
    /// `Clean=True` (nothing to clean) and the finalizer goes.
    NothingToClean,
    /// The finalizer goes, the data stays.
    Release,
}

fn outcome(plan: &Plan) -> Outcome {
    if deleted_jobs(plan) == ["backup-demo1-backup-s3"] {
        assert!(plan.finalizer.is_none());
        return Outcome::StopJob;
    }
    if let Some(job) = created_job(plan) {
        assert_eq!(job.metadata.name.as_deref(), Some("clean-demo1-backup-s3"));
        assert_eq!(
            conditions(plan),
            [cond("Clean", "False", "CleanJobCreated")]
        );
        assert!(plan.finalizer.is_none());
        return Outcome::CleanJob;
    }
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove), "{plan:#?}");
    if conditions(plan) == [cond("Clean", "True", "NothingToClean")] {
        return Outcome::NothingToClean;
    }
    assert!(plan.status.is_empty(), "{plan:#?}");
    Outcome::Release
}

#[test]
fn clean_policy_matrix() {
    use Outcome::*;
    let complete = with_path(phase("Complete"));
    let failed = with_path(phase("Failed"));
    let running = with_path(phase("Running"));
    let invalid = phase("Invalid");
    let table = [
        ("Delete", &complete, CleanJob),
        ("Delete", &failed, CleanJob),
        ("Delete", &running, StopJob),
        ("Delete", &invalid, NothingToClean),
        ("OnFailure", &complete, Release),
        ("OnFailure", &failed, CleanJob),
        ("OnFailure", &running, StopJob),
        ("OnFailure", &invalid, NothingToClean),
        ("Retain", &complete, Release),
        ("Retain", &failed, Release),
        ("Retain", &running, StopJob),
        ("Retain", &invalid, Release),
        ("Sometimes", &complete, Release),
        ("Sometimes", &failed, Release),
        ("Sometimes", &running, StopJob),
        ("Sometimes", &invalid, Release),
    ];
    for (policy, status, want) in table {
        let o = Observed {
            backup_job: (status["phase"] == "Running").then(running_job),
            ..observed()
        };
        let plan = run(&deleting(policy, status.clone(), NOW), &o);
        assert_eq!(outcome(&plan), want, "{policy} × {}", status["phase"]);
        let warned = plan.events.iter().any(|e| e.reason == "UnknownCleanPolicy");
        assert_eq!(
            warned,
            policy == "Sometimes" && want == Release,
            "{policy} × {}",
            status["phase"]
        );
    }
}

#[test]
fn backups_without_the_finalizer_are_left_to_the_api_server() {
    let b = backup(
        with_path(phase("Complete")),
        json!({"metadata": {"deletionTimestamp": NOW, "finalizers": ["someone.else/x"]}, "spec": {"cleanPolicy": "Delete"}}),
    );
    assert_eq!(run(&b, &observed()), Plan::default());
}

#[test]
fn stopping_the_backup_job_comes_first_and_is_waited_for() {
    let o = Observed {
        backup_job: Some(running_job()),
        ..observed()
    };
    let plan = run(&deleting("Delete", with_path(phase("Running")), NOW), &o);
    assert_eq!(deleted_jobs(&plan), ["backup-demo1-backup-s3"]);
    assert_eq!(
        events(&plan),
        [(EventKind::Normal, "StoppingBackupJob".into())]
    );
    assert!(plan.status.is_empty() && plan.finalizer.is_none());
    let going = Observed {
        backup_job: Some(job(
            "backup-demo1-backup-s3",
            json!([]),
            json!({"deletionTimestamp": NOW}),
            &[],
        )),
        ..observed()
    };
    let plan = run(
        &deleting("Delete", with_path(phase("Running")), NOW),
        &going,
    );
    assert!(plan.jobs.is_empty() && plan.status.is_empty());
    assert_eq!(plan.requeue, secs(2));
    // Gone: the data is dealt with. An interrupted run counts as failed for OnFailure.
    let plan = run(
        &deleting("Delete", with_path(phase("Running")), NOW),
        &observed(),
    );
    assert_eq!(outcome(&plan), Outcome::CleanJob);
    let plan = run(
        &deleting("OnFailure", with_path(phase("Running")), NOW),
        &observed(),
    );
    assert_eq!(outcome(&plan), Outcome::CleanJob);
    let plan = run(
        &deleting("Retain", with_path(phase("Running")), NOW),
        &observed(),
    );
    assert_eq!(outcome(&plan), Outcome::Release);
}

#[test]
fn the_clean_job_runs_reports_and_is_replaced_after_failing() {
    let status = with_path(phase("Complete"));
    let active = Observed {
        clean_job: Some(job("clean-demo1-backup-s3", json!([]), json!({}), &[])),
        ..observed()
    };
    let plan = run(&deleting("Delete", status.clone(), NOW), &active);
    assert!(plan.jobs.is_empty() && plan.status.is_empty() && plan.finalizer.is_none());

    // The agent wrote Clean=True: the finalizer goes.
    let mut cleaned = status.clone();
    cleaned["conditions"] = json!([condition("Complete", "True"), condition("Clean", "True")]);
    cleaned["phase"] = json!("Clean");
    assert_eq!(
        run(&deleting("Delete", cleaned, NOW), &active).finalizer,
        Some(FinalizerChange::Remove)
    );

    // All its pods failed a minute ago: CleanFailed, and a new Job in nine minutes.
    let failed = Observed {
        clean_job: Some(job(
            "clean-demo1-backup-s3",
            json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "lastTransitionTime": "2026-03-01T11:59:00Z"}]),
            json!({}),
            &[],
        )),
        ..observed()
    };
    let plan = run(&deleting("Delete", status.clone(), NOW), &failed);
    assert_eq!(
        conditions(&plan),
        [cond("CleanFailed", "True", "CleanJobFailed")]
    );
    let text = message(&plan, T::CleanFailed);
    assert!(
        text.contains(PATH) && text.contains("BackoffLimitExceeded"),
        "{text}"
    );
    assert!(
        text.contains("remove the finalizer tidb.pingcap.com/backup-protection"),
        "{text}"
    );
    assert_eq!(events(&plan), [(EventKind::Warning, "CleanFailed".into())]);
    assert_eq!(plan.requeue, secs(540));
    assert!(plan.finalizer.is_none());

    // Ten minutes on, the failed Job is replaced (deleted now, created next time).
    let later = decide(
        &deleting("Delete", status.clone(), NOW),
        &failed,
        &settings(),
        at("2026-03-01T12:09:30Z"),
    );
    assert_eq!(deleted_jobs(&later), ["clean-demo1-backup-s3"]);

    // A missing credentials Secret is said plainly instead of starting a pod that cannot run.
    let mut o = observed();
    o.secrets.remove(SECRET_S3);
    let plan = run(&deleting("Delete", status, NOW), &o);
    assert!(plan.jobs.is_empty());
    assert_eq!(
        conditions(&plan),
        [cond("CleanFailed", "True", "GetS3SecretFailed")]
    );
    assert!(message(&plan, T::CleanFailed).contains("Secret test1/s3-secret"));
}

pub(super) fn terminating() -> Observed {
    Observed {
        namespace_terminating: true,
        ..observed()
    }
}

#[test]
fn in_a_namespace_being_deleted_the_operator_cleans_itself() {
    let plan = run(
        &deleting("Delete", with_path(phase("Complete")), NOW),
        &terminating(),
    );
    assert!(plan.jobs.is_empty(), "no Job can be created there");
    let clean = plan.clean_in_process.expect("cleaned in process");
    assert_eq!(clean.secret_name, SECRET_S3);
    assert_eq!(clean.backup_path, PATH);
    assert_eq!(
        clean.target.backup_path(),
        PATH,
        "the recorded path, not the spec's"
    );
    assert_eq!(clean.options.page_size, 10_000);
    assert!(!clean.give_up_on_failure);
    assert!(
        plan.finalizer.is_none(),
        "released only once the data is gone"
    );

    // Long past the deletion, a failure will not hold the namespace any more.
    let plan = run(
        &deleting(
            "Delete",
            with_path(phase("Complete")),
            "2026-03-01T10:00:00Z",
        ),
        &terminating(),
    );
    assert!(plan.clean_in_process.unwrap().give_up_on_failure);
}

#[test]
fn iam_only_backups_keep_their_data_loudly_when_the_namespace_goes() {
    let b = fixtures::tweak(
        &deleting("Delete", with_path(phase("Complete")), NOW),
        json!({"spec": {"s3": {"secretName": null}}}),
    );
    let plan = run(&b, &terminating());
    assert!(plan.clean_in_process.is_none() && plan.jobs.is_empty());
    let kept = plan.keep_data.clone().expect("data kept");
    assert_eq!(kept.backup_path, PATH);
    assert!(kept.reason.contains("IAM"), "{}", kept.reason);
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
    let e = &plan.events[0];
    assert_eq!(
        (e.kind, e.reason.as_str(), e.subject),
        (
            EventKind::Warning,
            "BackupDataKept",
            EventSubject::Namespace
        )
    );
    assert!(
        e.note.contains(PATH) && e.note.contains("test1/demo1-backup-s3"),
        "{}",
        e.note
    );

    // The credentials Secret is gone (it was never protected): same outcome.
    let mut o = terminating();
    o.secrets.remove(SECRET_S3);
    let plan = run(&deleting("Delete", with_path(phase("Complete")), NOW), &o);
    assert!(plan.keep_data.unwrap().reason.contains("test1/s3-secret"));
    // Nothing written: nothing to keep, nothing to clean.
    let plan = run(&deleting("Delete", phase("Failed"), NOW), &terminating());
    assert_eq!(outcome(&plan), Outcome::NothingToClean);
}

#[test]
fn gc_life_time_is_restored_before_the_backup_goes() {
    let mut status = with_path(phase("Running"));
    status["gcLifeTime"] = json!({"original": "10m0s", "raisedTo": "72h", "restored": false});
    // The pod is gone (stopped): restore, and the rest of the plan goes on.
    let plan = run(&deleting("Retain", status.clone(), NOW), &observed());
    let gc = plan.gc_write.expect("restored");
    assert!(gc.must_succeed);
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
    // In a namespace being deleted it is tried, but cannot hold the namespace.
    let plan = run(&deleting("Retain", status, NOW), &terminating());
    assert!(!plan.gc_write.unwrap().must_succeed);
}

#[test]
fn volume_snapshots_are_kept_loudly_when_the_namespace_goes() {
    // The operator could delete the files, but they list the snapshots: both are kept.
    let b = fixtures::tweak(
        &deleting("Delete", with_path(phase("Complete")), NOW),
        json!({"metadata": {"uid": "u-1"}, "spec": {"backupMode": "volume-snapshot"}}),
    );
    let plan = run(&b, &terminating());
    assert!(plan.clean_in_process.is_none() && plan.jobs.is_empty());
    let kept = plan.keep_data.expect("data kept");
    assert!(
        kept.reason.contains("tibr.dev/backup-uid=u-1"),
        "{}",
        kept.reason
    );
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
}
