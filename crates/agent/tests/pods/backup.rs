//! `tibr-agent backup` as a Job pod in the sandbox, with the BR stand-in and MariaDB as TiDB:
//! the seed's static-key Backup end to end, the GC life time raised only while BR runs (and
//! never lowered), BR failures, and two backups of one cluster at once.

use std::time::Duration;

use crate::support::*;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use tibr_api::{BackupConditionType, ConditionStatus};
use tibr_tidb::testing::MariaDb;

pub async fn the_seeds_static_key_backup_completes_with_gc_held_only_while_br_runs() {
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
            env.job_logs(&job).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(env.wait_job(&job, 30).await, "{}", env.job_logs(&job).await);
    let logs = env.job_logs(&job).await;
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
        env.s3.secret_key.as_str(),
        env.s3.access_key.as_str(),
        db.password(),
    ];
    assert_no_secrets("the pod logs", &logs, &secrets);
    assert_no_secrets("the Events", &env.events_json().await, &secrets);
    assert_no_secrets("the status", &status(&b).to_string(), &secrets);
    env.stop().await;
}

pub async fn a_longer_gc_life_time_is_never_lowered() {
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
    let logs = env.job_logs("backup-long-gc").await;
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

pub async fn a_br_failure_is_reported_with_brs_message_and_gc_restored() {
    let db = MariaDb::shared().lease().await;
    let env = Env::start().await;
    env.sandbox_secrets(db.password()).await;
    env.create_backup("fails", seed_spec(&db, "fails")).await;
    let mut job_env = operator_env(true, true, "us-west-1");
    job_env.extend(quick_br());
    job_env.extend(vars(&[("BR_SIM_FAIL_AT_PERCENT", "50")]));
    env.create_job(backup_job("fails", job_env)).await;
    let ok = env.wait_job("backup-fails", 90).await;
    let logs = env.job_logs("backup-fails").await;
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
        &[env.s3.secret_key.as_str(), db.password()],
    );
    env.stop().await;
}

pub async fn two_backups_of_one_cluster_restore_the_original_once_both_are_done() {
    let db = MariaDb::shared().lease().await;
    let env = Env::start().await;
    env.sandbox_secrets(db.password()).await;
    env.create_backup("long", seed_spec(&db, "long")).await;
    env.create_backup("short", seed_spec(&db, "short")).await;
    // The long one raises first and runs for several seconds.
    let mut long_env = operator_env(true, true, "us-west-1");
    long_env.extend(vars(&[
        ("BR_SIM_DATA_BYTES", "6MiB"),
        ("BR_SIM_REGION_BYTES", "128KiB"),
        ("BR_SIM_STORE_SPEED", "256KiB"),
    ]));
    env.create_job(backup_job("long", long_env)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let b = env.backup("long").await;
        if b.status.as_ref().and_then(|s| s.phase.clone()) == Some(BackupConditionType::Running) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the long backup never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(db.gc_life_time(), "72h0m0s");

    // The short one finds 72h, knows the original from the long one's record, and when it
    // ends first it leaves the value for the long one.
    let mut short_env = operator_env(true, true, "us-west-1");
    short_env.extend(quick_br());
    env.create_job(backup_job("short", short_env)).await;
    assert!(
        env.wait_job("backup-short", 60).await,
        "{}",
        env.job_logs("backup-short").await
    );
    let short = env.backup("short").await;
    let long_phase = env.backup("long").await.status.unwrap().phase;
    assert_eq!(
        long_phase,
        Some(BackupConditionType::Running),
        "the test needs the long backup to outlast the short one"
    );
    assert_eq!(
        db.gc_life_time(),
        "72h0m0s",
        "not restored under the long backup's feet"
    );
    let short_gc = short.status.clone().unwrap().gc_life_time.unwrap();
    assert_eq!(
        short_gc.original, "10m0s",
        "inherited, not the 72h it found"
    );
    assert!(short_gc.needs_restore(), "handed over: {short_gc:?}");
    let reasons = env.event_reasons("short").await;
    assert!(
        reasons.contains(&"GCLifeTimeLeftRaised".to_string()),
        "{reasons:?}"
    );

    // The long one ends last and restores the original.
    assert!(
        env.wait_job("backup-long", 90).await,
        "{}",
        env.job_logs("backup-long").await
    );
    assert_eq!(db.gc_life_time(), "10m0s");
    let long_gc = env
        .backup("long")
        .await
        .status
        .unwrap()
        .gc_life_time
        .unwrap();
    assert!(long_gc.restored, "{long_gc:?}");
    // What the operator then finds for the short one's record: nothing left to do.
    assert_eq!(
        tibr_core::gc::plan_restore(&short_gc, &db.gc_life_time(), &[]),
        tibr_core::gc::Restore::AlreadyRestored
    );
    env.stop().await;
}

pub async fn a_backup_that_cannot_be_read_does_not_stop_the_gc_step_of_others() {
    let db = MariaDb::shared().lease().await;
    let env = Env::start().await;
    env.sandbox_secrets(db.password()).await;
    // Stored under a CRD from before integer ranges: the agent cannot read it.
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(env.client.clone());
    let mut crd = serde_json::to_value(crds.get("backups.pingcap.com").await.unwrap()).unwrap();
    let concurrency = &mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"]["br"]["properties"]["concurrency"];
    concurrency.as_object_mut().unwrap().remove("maximum");
    crds.replace(
        "backups.pingcap.com",
        &kube::api::PostParams::default(),
        &serde_json::from_value(crd).unwrap(),
    )
    .await
    .unwrap();
    let mut spec = seed_spec(&db, "unreadable");
    spec["br"]["concurrency"] = serde_json::json!(99_999_999_999u64);
    let unreadable: kube::api::DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
        "metadata": {"name": "unreadable", "namespace": NS}, "spec": spec,
    }))
    .unwrap();
    kube::Api::<kube::api::DynamicObject>::namespaced_with(
        env.client.clone(),
        NS,
        &kube::api::ApiResource::erase::<tibr_api::Backup>(&()),
    )
    .create(&kube::api::PostParams::default(), &unreadable)
    .await
    .unwrap();

    env.create_backup("beside", seed_spec(&db, "beside")).await;
    let mut job_env = operator_env(true, true, "us-west-1");
    job_env.extend(quick_br());
    env.create_job(backup_job("beside", job_env)).await;
    let ok = env.wait_job("backup-beside", 90).await;
    let logs = env.job_logs("backup-beside").await;
    assert!(ok, "{logs}");
    let b = env.backup("beside").await;
    assert_eq!(
        b.status.as_ref().unwrap().phase,
        Some(BackupConditionType::Complete)
    );
    // Raised (the peers were read) and put back.
    assert!(b.status.unwrap().gc_life_time.unwrap().restored);
    assert_eq!(db.gc_life_time(), "10m0s");
    assert!(
        logs.lines()
            .any(|l| l.contains("this Backup cannot be read")
                && l.contains("unreadable")
                && l.contains("spec.br.concurrency")),
        "{logs}"
    );
    env.stop().await;
}
