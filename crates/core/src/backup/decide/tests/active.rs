//! Backups that are not being deleted.

use super::*;
use tibr_api::BackupConditionType as T;

#[test]
fn a_new_backup_gets_its_job_and_scheduled() {
    let plan = run(&backup(Value::Null, json!({})), &observed());
    let job = created_job(&plan).expect("a Job");
    assert_eq!(job.metadata.name.as_deref(), Some("backup-demo1-backup-s3"));
    assert_eq!(conditions(&plan), [cond("Scheduled", "True", "JobCreated")]);
    assert_eq!(
        events(&plan),
        [(EventKind::Normal, "SuccessfulCreate".into())]
    );
    assert_eq!(plan.finalizer, None, "Retain backups carry no finalizer");
    assert_eq!(plan.requeue, secs(300));

    let delete = backup(Value::Null, json!({"spec": {"cleanPolicy": "Delete"}}));
    assert_eq!(
        run(&delete, &observed()).finalizer,
        Some(FinalizerChange::Add)
    );
    let on_failure = backup(Value::Null, json!({"spec": {"cleanPolicy": "OnFailure"}}));
    assert_eq!(
        run(&on_failure, &observed()).finalizer,
        Some(FinalizerChange::Add)
    );
    let protected = backup(
        Value::Null,
        json!({"spec": {"cleanPolicy": "Delete"}, "metadata": {"finalizers": ["tidb.pingcap.com/backup-protection"]}}),
    );
    assert_eq!(run(&protected, &observed()).finalizer, None);
}

#[test]
fn an_unknown_clean_policy_is_retain_with_a_warning() {
    let b = backup(Value::Null, json!({"spec": {"cleanPolicy": "Sometimes"}}));
    let plan = run(&b, &observed());
    assert_eq!(plan.finalizer, None);
    assert!(created_job(&plan).is_some());
    let e = plan
        .events
        .iter()
        .find(|e| e.reason == "UnknownCleanPolicy")
        .unwrap();
    assert_eq!(e.kind, EventKind::Warning);
    assert!(
        e.note.contains("\"Sometimes\"") && e.note.contains("Retain"),
        "{}",
        e.note
    );
}

#[test]
fn a_backup_at_a_bucket_root_runs_with_a_warning_naming_the_field() {
    let b = backup(Value::Null, json!({"spec": {"s3": {"prefix": ""}}}));
    let plan = run(&b, &observed());
    assert!(created_job(&plan).is_some());
    let e = plan
        .events
        .iter()
        .find(|e| e.reason == "SpecWarning")
        .unwrap();
    assert_eq!(e.kind, EventKind::Warning);
    assert!(
        e.note
            .starts_with("spec.s3.prefix: empty: the backup is written at the root of bucket"),
        "{}",
        e.note
    );
}

#[test]
fn a_location_outside_the_named_bucket_is_invalid_before_anything_is_written() {
    for (s3, field) in [
        (json!({"prefix": "x/../keep"}), "spec.s3.prefix"),
        (json!({"bucket": "my-bucket/../safety"}), "spec.s3.bucket"),
        (json!({"prefix": "p?x=1"}), "spec.s3.prefix"),
    ] {
        let b = backup(
            Value::Null,
            json!({"spec": {"s3": s3, "cleanPolicy": "Delete"}}),
        );
        let plan = run(&b, &observed());
        assert!(plan.jobs.is_empty(), "{field}");
        assert_eq!(conditions(&plan), [cond("Invalid", "True", "InvalidSpec")]);
        assert!(
            plan.events.iter().any(|e| e.note.contains(field)),
            "{field}: {:?}",
            plan.events
        );
    }
}

#[test]
fn invalid_specs_get_a_condition_and_an_event_naming_the_field() {
    let b = backup(Value::Null, json!({"spec": {"s3": {"bucket": ""}}}));
    let plan = run(&b, &observed());
    assert!(plan.jobs.is_empty());
    assert_eq!(conditions(&plan), [cond("Invalid", "True", "InvalidSpec")]);
    assert!(message(&plan, T::Invalid).contains("spec.s3.bucket: must not be empty"));
    let e = &plan.events[0];
    assert_eq!(
        (e.kind, e.reason.as_str()),
        (EventKind::Warning, "InvalidSpec")
    );
    assert!(e.note.contains("spec.s3.bucket"));

    // Terminal for this generation: nothing more, no repeated Event.
    let seen = json!({"phase": "Invalid", "conditions": [{"type": "Invalid", "status": "True", "reason": "InvalidSpec", "observedGeneration": 1}]});
    assert_eq!(
        run(
            &backup(seen.clone(), json!({"spec": {"s3": {"bucket": ""}}})),
            &observed()
        ),
        Plan::default()
    );
    // TiDB Operator's Invalid (no generation) stays terminal too.
    assert_eq!(
        run(&backup(phase("Invalid"), json!({})), &observed()),
        Plan::default()
    );

    // A spec edit (generation 2) is validated again: fixed, the backup goes ahead.
    let fixed = backup(seen.clone(), json!({"metadata": {"generation": 2}}));
    let plan = run(&fixed, &observed());
    assert_eq!(
        conditions(&plan),
        [
            cond("Invalid", "False", "SpecCorrected"),
            cond("Scheduled", "True", "JobCreated")
        ]
    );
    assert!(created_job(&plan).is_some());
    // Still wrong in another way: Invalid again, with the new field and a new Event.
    let still = backup(
        seen,
        json!({"metadata": {"generation": 2}, "spec": {"s3": {"acl": "everyone"}}}),
    );
    let plan = run(&still, &observed());
    assert!(message(&plan, T::Invalid).contains("spec.s3.acl"));
    assert_eq!(events(&plan), [(EventKind::Warning, "InvalidSpec".into())]);
}

#[test]
fn a_missing_tidb_cluster_is_retried_never_invalid() {
    let o = Observed {
        cluster: None,
        ..observed()
    };
    let plan = run(&backup(Value::Null, json!({})), &o);
    assert_eq!(
        conditions(&plan),
        [cond("RetryFailed", "True", "TidbClusterNotFound")]
    );
    assert!(message(&plan, T::RetryFailed).contains("TidbCluster test1/demo1"));
    assert_eq!(plan.requeue, secs(30));
    assert_eq!(
        events(&plan),
        [(EventKind::Warning, "TidbClusterNotFound".into())]
    );

    // Waiting again with the same condition does not repeat the Event.
    let waiting = json!({"phase": "RetryFailed", "conditions": [{"type": "RetryFailed", "status": "True",
        "reason": "TidbClusterNotFound", "message": message(&plan, T::RetryFailed), "observedGeneration": 1}]});
    let again = run(&backup(waiting.clone(), json!({})), &o);
    assert!(again.events.is_empty());
    assert_eq!(again.requeue, secs(30));
    // Once it exists, the Job is created.
    assert!(created_job(&run(&backup(waiting, json!({})), &observed())).is_some());
}

#[test]
fn a_cluster_that_is_not_ready_is_waited_for_visibly() {
    let o = Observed {
        cluster: Some(fixtures::cluster_with(json!({}), false)),
        ..observed()
    };
    let plan = run(&backup(Value::Null, json!({})), &o);
    assert!(plan.jobs.is_empty());
    assert_eq!(
        conditions(&plan),
        [cond("RetryFailed", "True", "TidbClusterNotReady")]
    );
    assert!(message(&plan, T::RetryFailed).contains("TiKV store(s) are not up"));
    assert_eq!(
        events(&plan),
        [(EventKind::Normal, "WaitingForTidbCluster".into())]
    );
}

#[test]
fn missing_secrets_and_keys_are_named() {
    let cases = [
        (
            SECRET_S3,
            None,
            "GetS3SecretFailed",
            "Secret test1/s3-secret (spec.s3.secretName) not found",
        ),
        (
            SECRET_S3,
            Some(vec!["access_key"]),
            "s3KeyNotExist",
            "Secret test1/s3-secret (spec.s3.secretName) has no key secret_key",
        ),
        (
            SECRET_TIDB,
            None,
            "GetTidbSecretFailed",
            "Secret test1/backup-demo1-tidb-secret (spec.from.secretName) not found",
        ),
        (
            SECRET_TIDB,
            Some(vec!["pass"]),
            "KeyNotExist",
            "has no key password",
        ),
    ];
    for (secret, keys, reason, text) in cases {
        let mut o = observed();
        match keys {
            None => {
                o.secrets.remove(secret);
            }
            Some(k) => {
                o.secrets.insert(secret.into(), SecretInfo::with_keys(&k));
            }
        }
        let plan = run(&backup(Value::Null, json!({})), &o);
        assert!(plan.jobs.is_empty(), "{reason}");
        assert_eq!(conditions(&plan), [cond("RetryFailed", "True", reason)]);
        assert!(
            message(&plan, T::RetryFailed).contains(text),
            "{}",
            message(&plan, T::RetryFailed)
        );
        assert_eq!(plan.requeue, secs(30));
    }
    // The IRSA variant names no S3 Secret and needs none.
    let mut o = observed();
    o.secrets.remove(SECRET_S3);
    assert!(created_job(&decide(&fixtures::irsa(), &o, &settings(), now())).is_some());
}

#[test]
fn running_jobs_are_waited_for() {
    let o = Observed {
        backup_job: Some(running_job()),
        ..observed()
    };
    let plan = run(&backup(phase("Running"), json!({})), &o);
    assert!(plan.jobs.is_empty() && plan.status.is_empty());
    assert_eq!(plan.requeue, secs(300));
    // Created, but `Scheduled` was never written (a conflict): it is written now.
    let plan = run(&backup(Value::Null, json!({})), &o);
    assert!(plan.jobs.is_empty());
    assert_eq!(conditions(&plan), [cond("Scheduled", "True", "JobCreated")]);
}

#[test]
fn a_pod_killed_before_reporting_is_retried_with_backoff() {
    let o = Observed {
        backup_job: Some(failed_job("2026-03-01T11:59:00Z")),
        ..observed()
    };
    let plan = run(&backup(phase("Running"), json!({})), &o);
    assert!(plan.jobs.is_empty());
    assert_eq!(
        conditions(&plan),
        [cond("RetryFailed", "True", "RetryFailedBackup")]
    );
    let record = plan.status.new_retry.clone().expect("a retry record");
    assert_eq!(record.retry_num, Some(1));
    assert_eq!(record.detect_failed_at.unwrap().0, now());
    assert_eq!(
        record.expected_retry_at.unwrap().0,
        at("2026-03-01T12:05:00Z")
    );
    assert_eq!(
        record.retry_reason.as_deref(),
        Some("Job backup-demo1-backup-s3 has failed")
    );
    assert_eq!(record.original_reason.as_deref(), Some("Error"));
    let text = message(&plan, T::RetryFailed);
    assert!(
        text.contains("exit code 137") && text.contains("retry 1 of 2"),
        "{text}"
    );
    assert_eq!(
        events(&plan),
        [(EventKind::Warning, "BackupPodLost".into())]
    );
    assert_eq!(plan.requeue, secs(300));
}

fn pending_retry(expected: &str) -> Value {
    json!({"phase": "RetryFailed",
           "conditions": [condition("Running", "True"), condition("RetryFailed", "True")],
           "backoffRetryStatus": [{"retryNum": 1, "detectFailedAt": "2026-03-01T11:55:00Z", "expectedRetryAt": expected}]})
}

#[test]
fn a_pending_retry_waits_then_replaces_the_job() {
    let o = Observed {
        backup_job: Some(failed_job("2026-03-01T11:55:00Z")),
        ..observed()
    };
    let plan = run(
        &backup(pending_retry("2026-03-01T12:00:30Z"), json!({})),
        &o,
    );
    assert!(plan.jobs.is_empty() && plan.status.is_empty());
    assert_eq!(plan.requeue, secs(30));

    // Due: the failed Job goes, the retry is marked, Restart is recorded.
    let plan = run(
        &backup(pending_retry("2026-03-01T12:00:00Z"), json!({})),
        &o,
    );
    assert_eq!(deleted_jobs(&plan), ["backup-demo1-backup-s3"]);
    assert_eq!(plan.status.retry_started_at, Some(now()));
    assert_eq!(conditions(&plan), [cond("Restart", "True", "BackoffRetry")]);
    assert_eq!(
        events(&plan),
        [(EventKind::Normal, "RetryingBackup".into())]
    );
    assert_eq!(plan.requeue, secs(2));

    // Due and the Job is already gone: the new Job is created in the same pass.
    let plan = run(
        &backup(pending_retry("2026-03-01T12:00:00Z"), json!({})),
        &observed(),
    );
    assert!(created_job(&plan).is_some());
    assert_eq!(
        conditions(&plan),
        [
            cond("Restart", "True", "BackoffRetry"),
            cond("Scheduled", "True", "JobCreated")
        ]
    );

    // Started, old Job still there (its deletion did not go through): it is deleted again.
    let mut started = pending_retry("2026-03-01T11:59:00Z");
    started["backoffRetryStatus"][0]["realRetryAt"] = json!("2026-03-01T11:59:30Z");
    let plan = run(&backup(started.clone(), json!({})), &o);
    assert_eq!(deleted_jobs(&plan), ["backup-demo1-backup-s3"]);
    // Started and the old Job is gone: the retry's Job is created.
    assert!(created_job(&run(&backup(started, json!({})), &observed())).is_some());
}

#[test]
fn retries_run_out_into_already_failed_and_gc_is_restored() {
    let mut status = phase("Running");
    status["backoffRetryStatus"] = json!([
        {"retryNum": 1, "detectFailedAt": "2026-03-01T11:30:00Z", "realRetryAt": "2026-03-01T11:35:00Z"},
        {"retryNum": 2, "detectFailedAt": "2026-03-01T11:40:00Z", "realRetryAt": "2026-03-01T11:50:00Z"}
    ]);
    status["gcLifeTime"] = json!({"original": "10m0s", "raisedTo": "72h", "restored": false});
    let o = Observed {
        backup_job: Some(failed_job("2026-03-01T11:59:00Z")),
        ..observed()
    };
    let plan = run(&backup(status, json!({})), &o);
    assert_eq!(conditions(&plan), [cond("Failed", "True", "AlreadyFailed")]);
    assert!(message(&plan, T::Failed).contains("maxRetryTimes is 2"));
    assert!(plan.status.new_retry.is_none());
    let gc = plan.gc_write.expect("GC life time is put back");
    assert!(gc.must_succeed);
    assert_eq!(gc.record.original, "10m0s");
    assert_eq!(gc.connection.password_secret, SECRET_TIDB);
}

#[test]
fn failures_the_agent_reported_are_final() {
    let mut status = json!({"phase": "Failed", "conditions": [condition("Running", "True"),
        {"type": "Failed", "status": "True", "reason": "BackupDataToRemoteFailed"}]});
    let o = Observed {
        backup_job: Some(failed_job("2026-03-01T11:59:00Z")),
        ..observed()
    };
    assert_eq!(run(&backup(status.clone(), json!({})), &o), Plan::default());
    // The agent died after writing Failed but before restoring GC: the operator does it.
    status["gcLifeTime"] = json!({"original": "10m0s", "raisedTo": "72h", "restored": false});
    let plan = run(&backup(status.clone(), json!({})), &o);
    assert!(plan.jobs.is_empty() && plan.status.is_empty());
    assert!(plan.gc_write.is_some());
    // ...unless it is still running (it restores on its way out), or was told to leave it.
    let busy = Observed {
        backup_job: Some(running_job()),
        ..observed()
    };
    assert!(
        run(&backup(status.clone(), json!({})), &busy)
            .gc_write
            .is_none()
    );
    let annotated = json!({"metadata": {"annotations": {"tidb.pingcap.com/gc-life-time-not-restored": "changed"}}});
    assert!(
        run(&backup(status.clone(), annotated), &o)
            .gc_write
            .is_none()
    );
    status["gcLifeTime"]["restored"] = json!(true);
    assert_eq!(run(&backup(status, json!({})), &o), Plan::default());
    // Complete is final too.
    assert_eq!(
        run(&backup(phase("Complete"), json!({})), &observed()),
        Plan::default()
    );
}

#[test]
fn a_job_deleted_by_hand_counts_as_a_lost_pod() {
    let plan = run(&backup(phase("Running"), json!({})), &observed());
    assert!(
        plan.jobs.is_empty(),
        "no Job is created behind the user's back at once"
    );
    assert_eq!(
        conditions(&plan),
        [cond("RetryFailed", "True", "RetryFailedBackup")]
    );
    let record = plan.status.new_retry.unwrap();
    assert_eq!(record.original_reason.as_deref(), Some("JobDeleted"));
    assert!(
        record
            .retry_reason
            .unwrap()
            .contains("disappeared while the backup was Running")
    );
    // With no retries allowed, it fails at once.
    let none = backup(
        phase("Prepare"),
        json!({"spec": {"backoffRetryPolicy": {"maxRetryTimes": 0}}}),
    );
    assert_eq!(
        conditions(&run(&none, &observed())),
        [cond("Failed", "True", "AlreadyFailed")]
    );
}

#[test]
fn a_job_that_succeeded_without_a_report_is_an_unreported_failure() {
    let done = job(
        "backup-demo1-backup-s3",
        json!([{"type": "Complete", "status": "True", "lastTransitionTime": "2026-03-01T11:59:00Z"}]),
        json!({}),
        &[],
    );
    let o = Observed {
        backup_job: Some(done),
        ..observed()
    };
    let plan = run(&backup(phase("Running"), json!({})), &o);
    let record = plan.status.new_retry.unwrap();
    assert!(
        record
            .retry_reason
            .unwrap()
            .contains("without the backup reporting")
    );
}

#[test]
fn a_job_being_deleted_is_waited_for() {
    let going = job(
        "backup-demo1-backup-s3",
        json!([]),
        json!({"deletionTimestamp": NOW}),
        &[],
    );
    let o = Observed {
        backup_job: Some(going),
        ..observed()
    };
    let plan = run(&backup(phase("Running"), json!({})), &o);
    assert!(plan.jobs.is_empty() && plan.status.is_empty());
    assert_eq!(plan.requeue, secs(2));
}

#[test]
fn settled_backups_need_no_observation() {
    use crate::backup::decide::is_settled;
    assert!(is_settled(&backup(phase("Complete"), json!({}))));
    assert!(is_settled(&backup(phase("Failed"), json!({}))));
    assert!(is_settled(&backup(phase("Invalid"), json!({}))));
    assert!(!is_settled(&backup(phase("Running"), json!({}))));
    assert!(!is_settled(&backup(Value::Null, json!({}))));
    let mut gc = phase("Failed");
    gc["gcLifeTime"] = json!({"original": "10m0s", "raisedTo": "72h", "restored": false});
    assert!(!is_settled(&backup(gc, json!({}))));
    let deleting = json!({"metadata": {"deletionTimestamp": NOW}});
    assert!(is_settled(&backup(phase("Running"), deleting)));
    let protected = json!({"metadata": {"deletionTimestamp": NOW, "finalizers": ["tidb.pingcap.com/backup-protection"]}});
    assert!(!is_settled(&backup(phase("Complete"), protected)));
    // A settled Backup's plan is the same with or without observing anything.
    let done = backup(
        phase("Complete"),
        json!({"spec": {"cleanPolicy": "Delete"}}),
    );
    assert_eq!(run(&done, &observed()), run(&done, &Observed::default()));
}

#[test]
fn gc_restores_are_retried_for_a_while_then_tried_once_more() {
    let mut status = json!({"phase": "Failed", "conditions": [
        {"type": "Failed", "status": "True", "reason": "AlreadyFailed", "lastTransitionTime": "2026-03-01T11:30:00Z"}]});
    status["gcLifeTime"] = json!({"original": "10m0s", "raisedTo": "72h", "restored": false});
    assert!(
        run(&backup(status.clone(), json!({})), &observed())
            .gc_write
            .unwrap()
            .must_succeed
    );
    status["conditions"][0]["lastTransitionTime"] = json!("2026-03-01T10:30:00Z");
    let last = run(&backup(status, json!({})), &observed())
        .gc_write
        .unwrap();
    assert!(
        !last.must_succeed,
        "an hour after the end, the next failure is recorded, not retried"
    );
}

#[test]
fn plans_summarise_in_one_line() {
    let plan = run(
        &backup(Value::Null, json!({"spec": {"cleanPolicy": "Delete"}})),
        &observed(),
    );
    assert_eq!(
        plan.summary(),
        "add finalizer, create Job backup-demo1-backup-s3, Scheduled=True (JobCreated), event SuccessfulCreate, requeue 300s"
    );
    assert_eq!(Plan::default().summary(), "nothing");
}
