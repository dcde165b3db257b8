//! The Backup controller in a sandbox cluster: Jobs, phases, validation, waiting for
//! Secrets, failures reported and not, backoff retries and restoring TiKV's GC life time.

mod common;

use common::{AGENT_IMAGE, Env, NS, condition, wait_for};
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use serde_json::json;

#[tokio::test]
async fn a_backup_gets_its_job_and_the_agent_completes_it() {
    let env = Env::with_operator(true).await;
    env.backup(
        NS,
        "b1",
        "b1",
        json!({"env": [{"name": "STUB_SLEEP", "value": "1"}]}),
    )
    .await;

    let job = wait_for(20, "Job backup-b1", || async {
        env.jobs(NS).get_opt("backup-b1").await.unwrap()
    })
    .await;
    let scheduled = env.get(NS, "b1").await.unwrap();
    let phase = scheduled.phase().map(|p| p.as_str().to_string());
    assert!(
        matches!(
            phase.as_deref(),
            Some("Scheduled" | "Prepare" | "Running" | "Complete")
        ),
        "{phase:?}"
    );
    let (status, reason, _) = condition(&scheduled, "Scheduled").expect("Scheduled written");
    assert_eq!((status.as_str(), reason.as_str()), ("True", "JobCreated"));

    // The Job as the agent contract says.
    let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    let main = &pod.containers[0];
    assert_eq!(main.image.as_deref(), Some(AGENT_IMAGE));
    assert_eq!(
        main.args.as_deref().unwrap(),
        ["backup", "--namespace=test1", "--backup-name=b1"]
    );
    assert_eq!(
        pod.init_containers.as_ref().unwrap()[0].image.as_deref(),
        Some("pingcap/br:v8.5.0")
    );
    let owner = &job.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("Backup", Some(true))
    );
    let labels = job.labels();
    assert_eq!(labels["tidb.pingcap.com/backup"], "b1");
    assert_eq!(labels["app.kubernetes.io/component"], "backup");

    let done = env.wait_phase(NS, "b1", "Complete", 60).await;
    // Who wrote the status, as `kubectl get --show-managed-fields` shows it.
    let writers: Vec<(String, Option<String>)> = done
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|m| (m.manager.clone().unwrap_or_default(), m.subresource.clone()))
        .collect();
    assert!(
        writers.contains(&("tibr-operator".into(), Some("status".into()))),
        "{writers:?}"
    );
    let status = done.status.unwrap();
    assert_eq!(status.backup_path.as_deref(), Some("s3://my-bucket/b1"));
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_.as_str() == "Scheduled")
    );
    let events = env.events(NS, Some("b1")).await;
    assert!(
        events
            .iter()
            .any(|e| e == "Normal SuccessfulCreate: created Job backup-b1"),
        "{events:?}"
    );

    // Metrics and health, as the Deployment's probes and Prometheus read them.
    assert_eq!(env.http_get("/healthz").await.0, 200);
    assert_eq!(env.http_get("/readyz").await.0, 200);
    let metrics = wait_for(30, "the phase gauge", || async {
        let (_, body) = env.http_get("/metrics").await;
        body.contains("tibr_operator_backups{phase=\"Complete\"} 1")
            .then_some(body)
    })
    .await;
    assert!(
        metrics.contains("tibr_operator_reconciles_total{controller=\"backup\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("tibr_operator_reconcile_duration_seconds_bucket"));
    env.stop().await;
}

#[tokio::test]
async fn invalid_specs_get_a_condition_and_an_event() {
    let mut env = Env::start().await;
    env.start_operator().await;
    env.backup(
        NS,
        "bad",
        "bad",
        json!({"s3": {"acl": "everyone"}, "tikvGCLifeTime": "3 days"}),
    )
    .await;
    let b = env.wait_phase(NS, "bad", "Invalid", 20).await;
    let (_, reason, message) = condition(&b, "Invalid").unwrap();
    assert_eq!(reason, "InvalidSpec");
    assert!(
        message.contains("spec.s3.acl") && message.contains("spec.tikvGCLifeTime"),
        "{message}"
    );
    let events = wait_for(10, "the InvalidSpec Event", || async {
        let e = env.events(NS, Some("bad")).await;
        e.iter()
            .any(|e| e.starts_with("Warning InvalidSpec: "))
            .then_some(e)
    })
    .await;
    assert!(
        events.iter().any(|e| e.contains("spec.s3.acl")),
        "{events:?}"
    );
    assert!(env.jobs(NS).get_opt("backup-bad").await.unwrap().is_none());
    env.stop().await;
}

#[tokio::test]
async fn a_missing_secret_is_retried_and_its_creation_unblocks_the_backup() {
    let mut env = Env::start().await;
    env.tidb_secret(NS).await;
    env.start_operator().await;
    env.backup(NS, "early", "early", json!({})).await;
    let b = env.wait_phase(NS, "early", "RetryFailed", 20).await;
    let (_, reason, message) = condition(&b, "RetryFailed").unwrap();
    assert_eq!(reason, "GetS3SecretFailed");
    assert!(message.contains("Secret test1/s3-secret"), "{message}");
    assert!(
        env.jobs(NS)
            .get_opt("backup-early")
            .await
            .unwrap()
            .is_none()
    );

    // The Secret watch wakes the Backup long before its 30 s requeue.
    env.s3_secret(NS, true).await;
    wait_for(10, "Job backup-early after the Secret appeared", || async {
        env.jobs(NS).get_opt("backup-early").await.unwrap()
    })
    .await;
    env.wait_phase(NS, "early", "Complete", 60).await;
    env.stop().await;
}

#[tokio::test]
async fn a_failure_the_agent_reported_is_never_retried() {
    let env = Env::with_operator(true).await;
    env.backup(
        NS,
        "broken",
        "broken",
        json!({"env": [{"name": "STUB_MODE", "value": "fail"}],
               "backoffRetryPolicy": {"minRetryDuration": "1s"}}),
    )
    .await;
    env.wait_phase(NS, "broken", "Failed", 60).await;
    // Wait for the Job to fail, then for a decision taken after that: a retry would be
    // decided there (backoffRetryStatus), if the failure were not final.
    wait_for(30, "Job backup-broken failed", || async {
        let job = env.jobs(NS).get_opt("backup-broken").await.unwrap()?;
        job.status?
            .conditions?
            .iter()
            .any(|c| c.type_ == "Failed" && c.status == "True")
            .then_some(())
    })
    .await;
    decided_again(&env, "broken").await;
    let b = env.get(NS, "broken").await.unwrap();
    let status = b.status.unwrap();
    assert_eq!(status.phase.unwrap().as_str(), "Failed");
    assert!(
        status.backoff_retry_status.is_empty(),
        "{:?}",
        status.backoff_retry_status
    );
    assert!(
        !status
            .conditions
            .iter()
            .any(|c| c.type_.as_str() == "Restart")
    );
    let (_, reason, _) = condition(&env.get(NS, "broken").await.unwrap(), "Failed").unwrap();
    assert_eq!(reason, "BackupDataToRemoteFailed");
    env.stop().await;
}

#[tokio::test]
async fn a_killed_pod_is_retried_then_fails_and_gc_life_time_is_put_back() {
    let mut env = Env::start().await;
    env.s3_secret(NS, true).await;
    env.tidb_secret(NS).await;
    // The dying backup raised the GC life time (the stub records it, as the agent does).
    env.tidb.set_variable("tikv_gc_life_time", "72h0m0s");
    env.start_operator().await;
    env.backup(
        NS,
        "killed",
        "killed",
        json!({"env": [{"name": "STUB_MODE", "value": "die"}, {"name": "STUB_GC_RAISED", "value": "72h"}],
               "backoffRetryPolicy": {"minRetryDuration": "1s", "maxRetryTimes": 2, "retryTimeout": "10m"}}),
    )
    .await;

    // First failure: a retry is scheduled, and the GC life time is handed over, untouched.
    let b = wait_for(60, "the first retry", || async {
        let b = env.get(NS, "killed").await?;
        (condition(&b, "Restart").is_some()).then_some(b)
    })
    .await;
    let (_, reason, _) = condition(&b, "RetryFailed").unwrap();
    assert_eq!(reason, "RetryFailedBackup");
    assert_eq!(
        env.tidb.gc_life_time(),
        "72h0m0s",
        "a retry inherits the raised value"
    );

    let failed = env.wait_phase(NS, "killed", "Failed", 90).await;
    let (_, reason, message) = condition(&failed, "Failed").unwrap();
    assert_eq!(reason, "AlreadyFailed");
    assert!(message.contains("maxRetryTimes is 2"), "{message}");
    let retries = failed.status.as_ref().unwrap().backoff_retry_status.clone();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(retries.iter().all(|r| r.real_retry_at.is_some()));
    assert_eq!(retries[1].retry_num, Some(2));

    // No retry will run: the operator puts the original value back and records it.
    let b = wait_for(30, "gcLifeTime.restored", || async {
        let b = env.get(NS, "killed").await?;
        b.status
            .as_ref()?
            .gc_life_time
            .as_ref()?
            .restored
            .then_some(b)
    })
    .await;
    assert_eq!(env.tidb.gc_life_time(), "10m0s");
    assert_eq!(b.status.unwrap().gc_life_time.unwrap().original, "10m0s");
    let events = env.events(NS, Some("killed")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Normal GcLifeTimeRestored")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Warning BackupPodLost")),
        "{events:?}"
    );
    let jobs = env
        .jobs(NS)
        .list(&ListParams::default().labels("tidb.pingcap.com/backup=killed"))
        .await
        .unwrap();
    assert_eq!(jobs.items.len(), 1, "one Job at a time");
    env.stop().await;
}

#[tokio::test]
async fn a_job_deleted_by_hand_does_not_leave_the_backup_running_forever() {
    let env = Env::with_operator(true).await;
    env.backup(
        NS,
        "orphan",
        "orphan",
        json!({"env": [{"name": "STUB_MODE", "value": "sleep"}],
               "backoffRetryPolicy": {"maxRetryTimes": 0}}),
    )
    .await;
    env.wait_phase(NS, "orphan", "Running", 60).await;
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = env.jobs(NS);
    jobs.delete("backup-orphan", &kube::api::DeleteParams::foreground())
        .await
        .unwrap();
    let b = env.wait_phase(NS, "orphan", "Failed", 60).await;
    let (_, reason, message) = condition(&b, "Failed").unwrap();
    assert_eq!(reason, "AlreadyFailed");
    assert!(
        message.contains("disappeared while the backup was Running"),
        "{message}"
    );
    env.stop().await;
}

/// A TiDB whose GC life time someone changed after the backup raised it.
struct ChangedByHand {
    current: String,
    /// The password of Secret backup-demo1-tidb-secret, which the login must carry.
    password: String,
    writes: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl tibr_operator::gc::GcRestorer for ChangedByHand {
    async fn read(&self, endpoint: &tibr_tidb::TidbEndpoint) -> Result<String, String> {
        assert_eq!(
            endpoint.password.expose(),
            self.password,
            "the password comes from the Secret"
        );
        Ok(self.current.clone())
    }

    async fn write(&self, _: &tibr_tidb::TidbEndpoint, value: &str) -> Result<(), String> {
        self.writes.lock().unwrap().push(value.to_string());
        Ok(())
    }
}

#[tokio::test]
async fn a_gc_life_time_changed_by_someone_else_is_left_alone() {
    let mut env = Env::start().await;
    env.s3_secret(NS, true).await;
    env.tidb_secret(NS).await;
    let tidb = std::sync::Arc::new(ChangedByHand {
        current: "24h0m0s".into(),
        password: env.tidb.password().to_string(),
        writes: Default::default(),
    });
    env.start_operator_with(tidb.clone()).await;
    env.backup(
        NS,
        "changed",
        "changed",
        json!({"env": [{"name": "STUB_MODE", "value": "die"}, {"name": "STUB_GC_RAISED", "value": "72h"}],
               "backoffRetryPolicy": {"maxRetryTimes": 0}}),
    )
    .await;
    let b = wait_for(60, "the not-restored annotation", || async {
        let b = env.get(NS, "changed").await?;
        b.annotations()
            .get("tidb.pingcap.com/gc-life-time-not-restored")
            .cloned()
            .map(|why| (b, why))
    })
    .await;
    assert!(b.1.contains("24h0m0s") && b.1.contains("10m0s"), "{}", b.1);
    assert!(
        tidb.writes.lock().unwrap().is_empty(),
        "nothing was written to TiDB"
    );
    assert!(!b.0.status.unwrap().gc_life_time.unwrap().restored);
    let events = env.events(NS, Some("changed")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Warning GcLifeTimeNotRestored")),
        "{events:?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_gc_life_time_another_running_backup_holds_is_handed_over() {
    let mut env = Env::start().await;
    env.s3_secret(NS, true).await;
    env.tidb_secret(NS).await;
    // The other backup is in another namespace: the operator sees every Backup of the
    // TiDB cluster, where the agent sees only its own namespace's.
    env.namespace("test2").await;
    env.s3_secret("test2", true).await;
    env.tidb_secret("test2").await;
    let tidb = std::sync::Arc::new(ChangedByHand {
        current: "72h0m0s".into(),
        password: env.tidb.password().to_string(),
        writes: Default::default(),
    });
    env.start_operator_with(tidb.clone()).await;
    env.backup(
        NS,
        "holder",
        "holder",
        json!({"env": [{"name": "STUB_MODE", "value": "sleep"}, {"name": "STUB_GC_RAISED", "value": "72h"}]}),
    )
    .await;
    wait_for(60, "holder running with its raise recorded", || async {
        let b = env.get(NS, "holder").await?;
        let s = b.status?;
        (s.phase.map(|p| p.as_str().to_string()).as_deref() == Some("Running")
            && s.gc_life_time.is_some())
        .then_some(())
    })
    .await;
    env.backup(
        "test2",
        "dead",
        "dead",
        json!({"env": [{"name": "STUB_MODE", "value": "die"}, {"name": "STUB_GC_RAISED", "value": "72h"}],
               "backoffRetryPolicy": {"maxRetryTimes": 0}}),
    )
    .await;
    let events = wait_for(60, "the hand-over Event", || async {
        let events = env.events("test2", Some("dead")).await;
        events
            .iter()
            .any(|e| e.starts_with("Normal GcLifeTimeHandedOver"))
            .then_some(events)
    })
    .await;
    assert!(
        events
            .iter()
            .any(|e| e.contains("test1/holder") && e.contains("10m0s")),
        "{events:?}"
    );
    assert!(
        tidb.writes.lock().unwrap().is_empty(),
        "the value stays raised while holder runs"
    );
    let dead = env.get("test2", "dead").await.unwrap();
    assert!(
        dead.status
            .clone()
            .unwrap()
            .gc_life_time
            .unwrap()
            .needs_restore(),
        "the record stays open: the operator looks again"
    );
    assert!(
        !dead
            .annotations()
            .contains_key("tidb.pingcap.com/gc-life-time-not-restored"),
        "a hand-over is not a refusal"
    );
    env.stop().await;
}

/// Reconciles of Backups the operator has finished, from its metrics.
async fn reconciles(env: &Env) -> f64 {
    let (_, body) = env.http_get("/metrics").await;
    body.lines()
        .find(|l| l.starts_with("tibr_operator_reconciles_total{controller=\"backup\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Waits for proof that the operator decided about Backup `name` after this moment: a
/// metadata change triggers a reconcile; two of them, each awaited, make sure the last one
/// counted started after the first change (one already running when the first was made
/// could only account for the first count).
async fn decided_again(env: &Env, name: &str) {
    let before = reconciles(env).await;
    for round in 1..=2 {
        let patch = json!({"metadata": {"annotations": {"test.tibr.io/nudge": round.to_string()}}});
        env.backups(NS)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        wait_for(30, "a reconcile after the nudge", || async {
            (reconciles(env).await >= before + f64::from(round)).then_some(())
        })
        .await;
    }
}
