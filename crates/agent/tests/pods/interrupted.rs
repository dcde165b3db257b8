//! `tibr-agent backup` cut short: killed with no chance to clean up (the record stays for
//! the operator, and the retry restores the original), stopped with SIGTERM (BR stopped, GC
//! restored, no `Failed`), and a GC restore that fails after a good backup.

use std::time::Duration;

use crate::support::*;
use serde_json::json;
use tibr_api::BackupConditionType;
use tibr_tidb::testing::MariaDb;

pub async fn a_killed_agent_leaves_the_original_recorded_and_the_rerun_restores_it() {
    use k8s_openapi::api::batch::v1::Job;
    use kube::api::{DeleteParams, Patch, PatchParams};
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::{Pid, getpgid};
    let db = MariaDb::shared().lease().await;
    let env = Env::start().await;
    let pid = hanging_backup(&env, &db, "killed").await;
    // A node lost or an OOM kill: the agent and BR die at once, no chance to clean up.
    let group = getpgid(Some(Pid::from_raw(pid))).unwrap();
    let _cleanup = KillGroup(group);
    killpg(group, Signal::SIGKILL).unwrap();
    assert!(!env.wait_job("backup-killed", 30).await);

    let b = env.backup("killed").await;
    let s = b.status.clone().unwrap();
    assert_eq!(
        s.phase,
        Some(BackupConditionType::Running),
        "nobody reported: {}",
        status(&b)
    );
    let gc = s.gc_life_time.expect("the record survived the pod");
    assert_eq!(gc.original, "10m0s", "the original, not the raised value");
    assert_eq!(gc.raised_to.as_deref(), Some("72h0m0s"));
    assert!(gc.needs_restore(), "the operator has to restore it: {gc:?}");
    assert_eq!(
        db.gc_life_time(),
        "72h0m0s",
        "still raised until someone acts"
    );

    // The operator's retry: a new Job. TiKV v6.1 makes the agent clear the partial backup
    // first (BR before v6.5.1 cannot resume one).
    let tc = kube::Api::<tibr_api::TidbCluster>::namespaced(env.client.clone(), NS);
    tc.patch(
        "demo1",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"version": "v6.1.0", "tikv": {"version": "v6.1.0"}}})),
    )
    .await
    .unwrap();
    let jobs = kube::Api::<Job>::namespaced(env.client.clone(), NS);
    jobs.delete("backup-killed", &DeleteParams::background())
        .await
        .unwrap();
    while jobs.get_opt("backup-killed").await.unwrap().is_some() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut job_env = operator_env(true, true, "us-west-1");
    job_env.extend(quick_br());
    env.create_job(backup_job("killed", job_env)).await;
    let ok = env.wait_job("backup-killed", 90).await;
    let logs = env.job_logs("backup-killed").await;
    assert!(ok, "{logs}");
    let b = env.backup("killed").await;
    let s = b.status.clone().unwrap();
    assert_eq!(
        s.phase,
        Some(BackupConditionType::Complete),
        "{}",
        status(&b)
    );
    assert!(condition(&b, BackupConditionType::Restart).is_true());
    assert!(logs.contains("deleting the partial backup first"), "{logs}");
    assert_eq!(
        db.gc_life_time(),
        "10m0s",
        "the re-run restored the original\n{logs}"
    );
    let gc = s.gc_life_time.unwrap();
    assert_eq!(gc.original, "10m0s", "not the 72h the re-run found");
    assert!(gc.restored, "{gc:?}");
    env.stop().await;
}

/// Takes UPDATE on `mysql.tidb` from the test user until dropped.
struct NoUpdate<'a>(&'a MariaDb);

impl Drop for NoUpdate<'_> {
    fn drop(&mut self) {
        self.0
            .sql(&format!(
                "GRANT UPDATE ON mysql.tidb TO '{}'@'%'",
                tibr_tidb::testing::USER
            ))
            .expect("give UPDATE back");
    }
}

pub async fn a_failed_gc_restore_keeps_a_good_backup_complete_and_says_so() {
    let db = MariaDb::shared().lease().await;
    let env = Env::start().await;
    env.sandbox_secrets(db.password()).await;
    env.create_backup("no-restore", seed_spec(&db, "no-restore"))
        .await;
    let mut job_env = operator_env(true, true, "us-west-1");
    job_env.extend(slow_br());
    env.create_job(backup_job("no-restore", job_env)).await;
    // Once the value is raised and BR runs, the account loses the right to change it back.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let b = env.backup("no-restore").await;
        let running =
            b.status.as_ref().and_then(|s| s.phase.clone()) == Some(BackupConditionType::Running);
        if running && db.gc_life_time() == "72h0m0s" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "BR never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    db.sql(&format!(
        "REVOKE UPDATE ON mysql.tidb FROM '{}'@'%'",
        tibr_tidb::testing::USER
    ))
    .unwrap();
    let _grant_back = NoUpdate(&db);

    let ok = env.wait_job("backup-no-restore", 90).await;
    let logs = env.job_logs("backup-no-restore").await;
    assert!(ok, "the backup itself succeeded:\n{logs}");
    let b = env.backup("no-restore").await;
    let s = b.status.clone().unwrap();
    assert_eq!(
        s.phase,
        Some(BackupConditionType::Complete),
        "{}",
        status(&b)
    );
    assert!(s.commit_ts.is_some());
    let complete = condition(&b, BackupConditionType::Complete);
    assert_eq!(
        complete.reason.as_deref(),
        Some("ResetTikvGCLifeTimeFailed")
    );
    let message = complete.message.clone().unwrap();
    assert!(
        message.contains("could not be restored to 10m0s"),
        "{message}"
    );
    let gc = s.gc_life_time.unwrap();
    assert!(gc.needs_restore(), "left for the operator to retry: {gc:?}");
    assert_eq!(gc.original, "10m0s");
    assert_eq!(db.gc_life_time(), "72h0m0s");
    let reasons = env.event_reasons("no-restore").await;
    assert!(
        reasons.contains(&"ResetTikvGCLifeTimeFailed".to_string()),
        "{reasons:?}"
    );
    env.stop().await;
}

pub async fn sigterm_stops_br_and_still_restores_gc() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let db = MariaDb::shared().lease().await;
    let env = Env::start().await;
    let pid = hanging_backup(&env, &db, "stopped").await;
    let _cleanup = KillGroup(nix::unistd::getpgid(Some(Pid::from_raw(pid))).unwrap());
    // What other processes on the node can read of BR: no secret in its arguments, and not
    // TiDB's password in its environment (it needs the S3 keys, which it gets there).
    let br = br_pid(pid).expect("BR is running");
    let cmdline = std::fs::read(format!("/proc/{br}/cmdline")).unwrap();
    let environ = String::from_utf8_lossy(&std::fs::read(format!("/proc/{br}/environ")).unwrap())
        .into_owned();
    assert_no_secrets(
        "BR's arguments",
        &String::from_utf8_lossy(&cmdline),
        &[
            env.s3.secret_key.as_str(),
            env.s3.access_key.as_str(),
            db.password(),
        ],
    );
    assert_no_secrets("BR's environment", &environ, &[db.password()]);
    assert!(
        environ.contains("AWS_SECRET_ACCESS_KEY="),
        "BR gets the S3 keys"
    );
    // What the kubelet does when the pod is deleted or evicted.
    kill(Pid::from_raw(pid), Signal::SIGTERM).unwrap();
    let ok = env.wait_job("backup-stopped", 60).await;
    let logs = env.job_logs("backup-stopped").await;
    assert!(!ok, "{logs}");
    assert_eq!(
        db.gc_life_time(),
        "10m0s",
        "restored on the way out\n{logs}"
    );
    let b = env.backup("stopped").await;
    let s = b.status.clone().unwrap();
    assert!(s.gc_life_time.clone().unwrap().restored, "{}", status(&b));
    assert_ne!(
        s.phase,
        Some(BackupConditionType::Failed),
        "a stopped pod is not a failed backup: the retry policy decides"
    );
    assert!(logs.contains("forwarding to BR"), "{logs}");
    assert!(
        logs.contains("got signal to exit"),
        "BR received it:\n{logs}"
    );
    let reasons = env.event_reasons("stopped").await;
    assert!(
        reasons.contains(&"BackupInterrupted".to_string()),
        "{reasons:?}"
    );
    env.stop().await;
}
