//! `tibr-agent backup` as a Job pod in the sandbox, with the BR stand-in and MariaDB as TiDB:
//! the seed's static-key Backup end to end, the GC life time raised only while BR runs (and
//! never lowered), BR failures, and an agent that is stopped or killed mid-backup.

#[path = "support/agent.rs"]
mod agent;

use std::time::Duration;

use agent::*;
use serde_json::{Value, json};
use tibr_api::{Backup, BackupConditionType, ConditionStatus};
use tibr_tidb::testing::MariaDb;

/// The seed's static-key Backup (`backup-aws-s3.yaml`), `${tidb_*}` filled in with MariaDB.
fn seed_spec(db: &MariaDb, prefix: &str) -> Value {
    json!({
        "backupType": "full",
        "br": {"cluster": "demo1", "clusterNamespace": "test1"},
        "from": {"host": "127.0.0.1", "port": db.port, "user": tibr_tidb::testing::USER,
                 "secretName": TIDB_SECRET},
        "s3": {"provider": "aws", "secretName": S3_SECRET, "region": "us-west-1",
               "bucket": "my-bucket", "prefix": prefix}
    })
}

/// BR takes a few seconds (4 MiB at about 1 MiB/s), with frequent progress.
fn slow_br() -> Vec<Value> {
    vars(&[
        ("BR_SIM_DATA_BYTES", "4MiB"),
        ("BR_SIM_REGION_BYTES", "128KiB"),
        ("BR_SIM_STORE_SPEED", "384KiB"),
        ("BR_SIM_PROGRESS_INTERVAL_MS", "100"),
        ("TIBR_PROGRESS_INTERVAL", "300ms"),
    ])
}

fn quick_br() -> Vec<Value> {
    vars(&[
        ("BR_SIM_DATA_BYTES", "1MiB"),
        ("BR_SIM_REGION_BYTES", "64KiB"),
        ("BR_SIM_PROGRESS_INTERVAL_MS", "50"),
    ])
}

fn status(b: &Backup) -> Value {
    serde_json::to_value(b.status.clone().unwrap_or_default()).unwrap()
}

fn condition(b: &Backup, t: BackupConditionType) -> &tibr_api::BackupCondition {
    b.status
        .as_ref()
        .and_then(|s| s.condition(&t))
        .unwrap_or_else(|| panic!("no {t:?} condition in {}", status(b)))
}

#[tokio::test]
async fn the_seeds_static_key_backup_completes_with_gc_held_only_while_br_runs() {
    let db = MariaDb::shared().lease().await;
    let env = Env::start().await;
    env.sandbox_secrets(db.password()).await;
    let name = "demo1-backup-s3";
    env.create_backup(name, seed_spec(&db, "my-folder")).await;
    let mut job_env = operator_env(true, true, "us-west-1");
    job_env.extend(slow_br());
    env.create_job(backup_job(name, job_env)).await;

    // Watch the phase and the cluster's value while the Job runs.
    let mut raised_while_running = false;
    let mut progress_seen = Vec::new();
    let job = format!("backup-{name}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let b = env.backup(name).await;
        let phase = b.status.as_ref().and_then(|s| s.phase.clone());
        if phase == Some(BackupConditionType::Running) {
            let gc = db.gc_life_time();
            if gc == "72h0m0s" {
                raised_while_running = true;
            }
            if let Some(p) = b.status.as_ref().and_then(|s| s.progresses.first()) {
                progress_seen.push(p.progress.unwrap_or_default());
            }
        }
        if matches!(
            phase,
            Some(BackupConditionType::Complete | BackupConditionType::Failed)
        ) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no end in sight:\n{}",
            env.logs(&job).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(env.wait_job(&job, 30).await, "{}", env.logs(&job).await);
    let logs = env.logs(&job).await;
    let b = env.backup(name).await;
    let s = b.status.clone().unwrap();
    assert_eq!(
        s.phase,
        Some(BackupConditionType::Complete),
        "{}\n{logs}",
        status(&b)
    );
    assert!(
        raised_while_running,
        "tikv_gc_life_time was 72h while BR ran\n{logs}"
    );
    assert_eq!(
        db.gc_life_time(),
        "10m0s",
        "and is back to the original after"
    );
    assert!(
        progress_seen.iter().any(|p| *p > 0.0 && *p < 100.0),
        "progress was reported while BR ran: {progress_seen:?}"
    );

    // The conditions of the happy path, in TiDB's vocabulary.
    for t in [
        BackupConditionType::Prepare,
        BackupConditionType::Running,
        BackupConditionType::Complete,
    ] {
        assert_eq!(condition(&b, t).status, ConditionStatus::True);
    }
    assert!(s.condition(&BackupConditionType::Restart).is_none());

    // What the status says is what backupmeta says.
    assert_eq!(s.backup_path.as_deref(), Some("s3://my-bucket/my-folder"));
    let meta = tibr_storage::read_backup_meta(&env.store("my-bucket", "my-folder"), "my-folder")
        .await
        .expect("backupmeta in the sandbox's S3");
    assert_eq!(
        s.commit_ts.as_deref(),
        Some(meta.commit_ts_string().as_str())
    );
    assert_eq!(s.backup_size, Some(meta.backup_size as i64));
    assert!(meta.backup_size > 0);
    assert_eq!(
        s.backup_size_readable.as_deref(),
        Some(tibr_core::backup::status::readable_size(meta.backup_size).as_str())
    );
    assert!(s.time_started.is_some() && s.time_completed.is_some());
    let taken = s.time_taken.clone().unwrap();
    assert!(
        tibr_core::duration::parse_go_duration(&taken).is_ok(),
        "Go duration: {taken}"
    );
    let full = s
        .progresses
        .iter()
        .find(|p| p.step.as_deref() == Some("Full Backup"))
        .expect("a Full Backup step");
    assert_eq!(full.progress, Some(100.0));

    // The GC life time record: original, raise, restore.
    let gc = s.gc_life_time.clone().expect("status.gcLifeTime");
    assert_eq!(gc.original, "10m0s");
    assert_eq!(gc.raised_to.as_deref(), Some("72h0m0s"));
    assert!(gc.raised_at.is_some());
    assert!(gc.restored && gc.restored_at.is_some(), "{gc:?}");

    // The objects BR wrote.
    let objects = env.objects("my-bucket", "my-folder");
    assert!(
        objects.contains(&"my-folder/backupmeta".to_string()),
        "{objects:?}"
    );
    assert!(objects.iter().any(|k| k.ends_with(".sst")), "{objects:?}");

    // BR's command line, as the agent logged it and as BR received it.
    assert!(
        logs.contains(
            r#"args=["backup", "full", "--pd=demo1-pd.test1:2379", "--storage=s3://my-bucket/my-folder", "--s3.region=us-west-1", "--s3.provider=aws", "--s3.storage-class=STANDARD_IA"]"#
        ),
        "{logs}"
    );
    let arguments = logs
        .lines()
        .find(|l| l.contains("] [arguments] ["))
        .unwrap_or_else(|| panic!("BR logs its arguments:\n{logs}"));
    assert_eq!(br_field(arguments, "__command"), Some("br backup full"));
    assert_eq!(
        br_field(arguments, "storage"),
        Some("s3://my-bucket/my-folder")
    );
    assert_eq!(br_field(arguments, "s3.storage-class"), Some("STANDARD_IA"));
    assert_eq!(br_field(arguments, "s3.acl"), None, "no ACL unless asked");
    assert!(
        logs.contains("Full Backup success summary"),
        "BR's lines reach the pod log"
    );

    let reasons = env.event_reasons(name).await;
    assert!(
        reasons.contains(&"GCLifeTimeRaised".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"GCLifeTimeRestored".to_string()),
        "{reasons:?}"
    );

    // No secret value anywhere a human or another process can read.
    let secrets = [
        env.sandbox.s3.secret_key.as_str(),
        env.sandbox.s3.access_key.as_str(),
        db.password(),
    ];
    assert_no_secrets("the pod logs", &logs, &secrets);
    assert_no_secrets("the Events", &env.events().await, &secrets);
    assert_no_secrets("the status", &status(&b).to_string(), &secrets);
    env.stop().await;
}

#[tokio::test]
async fn a_longer_gc_life_time_is_never_lowered() {
    let db = MariaDb::shared().lease().await;
    db.set_gc_life_time("100h");
    let env = Env::start().await;
    env.sandbox_secrets(db.password()).await;
    env.create_backup("long-gc", seed_spec(&db, "long-gc"))
        .await;
    let mut job_env = operator_env(true, true, "us-west-1");
    job_env.extend(quick_br());
    env.create_job(backup_job("long-gc", job_env)).await;
    let ok = env.wait_job("backup-long-gc", 90).await;
    let logs = env.logs("backup-long-gc").await;
    assert!(ok, "{logs}");
    let b = env.backup("long-gc").await;
    assert_eq!(
        b.status.as_ref().unwrap().phase,
        Some(BackupConditionType::Complete)
    );
    assert_eq!(db.gc_life_time(), "100h", "left as it was");
    let gc = b.status.unwrap().gc_life_time.unwrap();
    assert_eq!(gc.original, "100h");
    assert_eq!(gc.raised_to, None);
    assert!(!gc.needs_restore());
    let reasons = env.event_reasons("long-gc").await;
    assert!(
        !reasons.contains(&"GCLifeTimeRaised".to_string()),
        "{reasons:?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_br_failure_is_reported_with_brs_message_and_gc_restored() {
    let db = MariaDb::shared().lease().await;
    let env = Env::start().await;
    env.sandbox_secrets(db.password()).await;
    env.create_backup("fails", seed_spec(&db, "fails")).await;
    let mut job_env = operator_env(true, true, "us-west-1");
    job_env.extend(quick_br());
    job_env.extend(vars(&[("BR_SIM_FAIL_AT_PERCENT", "50")]));
    env.create_job(backup_job("fails", job_env)).await;
    let ok = env.wait_job("backup-fails", 90).await;
    let logs = env.logs("backup-fails").await;
    assert!(!ok, "the Job fails when BR fails:\n{logs}");
    let b = env.backup("fails").await;
    let s = b.status.clone().unwrap();
    assert_eq!(s.phase, Some(BackupConditionType::Failed), "{}", status(&b));
    let failed = condition(&b, BackupConditionType::Failed);
    assert_eq!(failed.reason.as_deref(), Some("BackupDataToRemoteFailed"));
    let message = failed.message.clone().unwrap();
    assert!(
        message.contains("simulated failure injected by BR_SIM_FAIL_AT_PERCENT=50"),
        "{message}"
    );
    assert!(message.contains("BR exited with status 1"), "{message}");
    assert!(
        message.contains("restored TiKV's GC life time"),
        "{message}"
    );
    assert_eq!(db.gc_life_time(), "10m0s");
    assert!(s.gc_life_time.unwrap().restored);
    assert!(s.commit_ts.is_none() && s.time_completed.is_none());
    let reasons = env.event_reasons("fails").await;
    assert!(
        reasons.contains(&"BackupDataToRemoteFailed".to_string()),
        "{reasons:?}"
    );
    assert_no_secrets(
        "the failure",
        &format!("{message}{logs}"),
        &[env.sandbox.s3.secret_key.as_str(), db.password()],
    );
    env.stop().await;
}

/// The agent's process id, found by its command line.
fn agent_pid(backup: &str) -> Option<i32> {
    let wanted = format!("--backup-name={backup}");
    find_process(|_, args| {
        args.first().is_some_and(|a| a.ends_with("/tibr-agent")) && args.contains(&wanted)
    })
}

/// The BR process the agent `agent` started.
fn br_pid(agent: i32) -> Option<i32> {
    find_process(|pid, args| {
        parent(pid) == Some(agent) && args.first().is_some_and(|a| a.ends_with("/br"))
    })
}

/// The parent process id, from `/proc/<pid>/stat` (the field after the command's `)`).
fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Kills a pod's processes when the test ends, however it ends: a BR left hanging at 30 %
/// would otherwise outlive a failed test.
struct KillGroup(nix::unistd::Pid);

impl Drop for KillGroup {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(self.0, nix::sys::signal::Signal::SIGKILL);
    }
}

fn find_process(matches: impl Fn(i32, &[String]) -> bool) -> Option<i32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if matches(pid, &args) {
            return Some(pid);
        }
    }
    None
}

/// Starts a backup whose BR hangs at 30 %, and waits until it is there with the GC raised.
async fn hanging_backup(env: &Env, db: &MariaDb, name: &str) -> i32 {
    env.sandbox_secrets(db.password()).await;
    env.create_backup(name, seed_spec(db, name)).await;
    let mut job_env = operator_env(true, true, "us-west-1");
    job_env.extend(quick_br());
    job_env.extend(vars(&[
        ("BR_SIM_HANG_AT_PERCENT", "30"),
        ("TIBR_PROGRESS_INTERVAL", "100ms"),
    ]));
    env.create_job(backup_job(name, job_env)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let b = env.backup(name).await;
        let hanging = b.status.as_ref().is_some_and(|s| {
            s.phase == Some(BackupConditionType::Running)
                && s.progresses
                    .iter()
                    .any(|p| p.progress.unwrap_or(0.0) >= 30.0)
        });
        if hanging
            && db.gc_life_time() == "72h0m0s"
            && let Some(pid) = agent_pid(name)
        {
            return pid;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "BR did not reach 30 %:\n{}",
            env.logs(&format!("backup-{name}")).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_killed_agent_leaves_the_original_recorded_and_the_rerun_restores_it() {
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
    let logs = env.logs("backup-killed").await;
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

#[tokio::test]
async fn a_failed_gc_restore_keeps_a_good_backup_complete_and_says_so() {
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
    let logs = env.logs("backup-no-restore").await;
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

#[tokio::test]
async fn sigterm_stops_br_and_still_restores_gc() {
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
            env.sandbox.s3.secret_key.as_str(),
            env.sandbox.s3.access_key.as_str(),
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
    let logs = env.logs("backup-stopped").await;
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
