//! `tibr-agent clean` as a Job pod in the sandbox: deleting a backup's objects (and nothing
//! next to them), a Backup that never wrote anything, and credentials S3 refuses.

use crate::support::*;
use bytes::Bytes;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use tibr_api::{Backup, BackupConditionType};

fn spec(prefix: &str) -> Value {
    json!({
        "backupType": "full",
        "br": {"cluster": "demo1", "clusterNamespace": "test1"},
        "s3": {"provider": "aws", "secretName": S3_SECRET, "region": "us-west-1",
               "bucket": "my-bucket", "prefix": prefix},
        "cleanPolicy": "Delete",
        "cleanOption": {"pageSize": 7, "batchConcurrency": 2},
    })
}

/// Sets `status.backupPath` as a backup run would have.
async fn recorded_path(env: &Env, name: &str, path: &str) {
    env.backups()
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"backupPath": path}})),
        )
        .await
        .unwrap();
}

fn phase(b: &Backup) -> Option<BackupConditionType> {
    b.status.as_ref().and_then(|s| s.phase.clone())
}

pub async fn clean_deletes_everything_under_the_prefix_and_nothing_beside_it() {
    let env = Env::start().await;
    env.sandbox_secrets("unused").await;
    let name = "to-clean";
    env.create_backup(name, spec("team/to-clean")).await;
    let mut job_env = operator_env(false, true, "us-west-1");
    job_env.extend(quick_br());
    env.create_job(backup_job(name, job_env)).await;
    assert!(
        env.wait_job("backup-to-clean", 90).await,
        "{}",
        env.job_logs("backup-to-clean").await
    );
    let written = env.objects("my-bucket", "team/to-clean");
    assert!(
        written.len() > 7,
        "more than one page to delete: {written:?}"
    );

    // Neighbours: a sibling whose name starts with the prefix, and another directory.
    let store = env.store("my-bucket", "");
    for key in ["team/to-clean-2/keep", "team/to-cleaner", "team/other/keep"] {
        store.put(key, Bytes::from_static(b"keep")).await.unwrap();
    }

    env.create_job(clean_job(name, operator_env(false, true, "us-west-1")))
        .await;
    let ok = env.wait_job("clean-to-clean", 60).await;
    let logs = env.job_logs("clean-to-clean").await;
    assert!(ok, "{logs}");
    assert_eq!(
        env.objects("my-bucket", "team/to-clean"),
        Vec::<String>::new(),
        "{logs}"
    );
    let left = env.objects("my-bucket", "team");
    assert_eq!(
        left,
        ["team/other/keep", "team/to-clean-2/keep", "team/to-cleaner"],
        "only the backup's objects go"
    );
    let b = env.backup(name).await;
    assert_eq!(phase(&b), Some(BackupConditionType::Clean));
    let s = b.status.unwrap();
    let clean = s.condition(&BackupConditionType::Clean).unwrap();
    assert!(clean.is_true());
    assert!(
        clean
            .message
            .as_deref()
            .unwrap()
            .starts_with(&format!("deleted {} object(s)", written.len())),
        "{clean:?}"
    );
    let step = s
        .progresses
        .iter()
        .find(|p| p.step.as_deref() == Some("Clean"))
        .expect("a Clean step");
    assert_eq!(step.progress, Some(100.0));
    assert!(
        env.event_reasons(name)
            .await
            .contains(&"BackupDataCleaned".to_string())
    );
    assert_no_secrets("the clean pod's log", &logs, &[env.s3.secret_key.as_str()]);
    env.stop().await;
}

pub async fn a_backup_that_wrote_nothing_is_clean_not_failed() {
    let env = Env::start().await;
    env.sandbox_secrets("unused").await;
    env.create_backup("never-ran", spec("never-ran")).await;
    env.create_job(clean_job(
        "never-ran",
        operator_env(false, true, "us-west-1"),
    ))
    .await;
    assert!(env.wait_job("clean-never-ran", 60).await);
    let b = env.backup("never-ran").await;
    assert_eq!(phase(&b), Some(BackupConditionType::Clean));
    let clean = b
        .status
        .as_ref()
        .unwrap()
        .condition(&BackupConditionType::Clean)
        .unwrap()
        .clone();
    assert_eq!(clean.reason.as_deref(), Some("BackupPathIsEmpty"));
    assert!(clean.is_true());
    env.stop().await;
}

pub async fn wrong_credentials_are_clean_failed_and_the_job_fails() {
    let env = Env::start().await;
    let wrong = "WrongSecretKey0123456789abcdefghijklmnop";
    let access = env.s3.access_key.clone();
    env.secrets("unused", &access, wrong).await;
    env.create_backup("denied", spec("denied")).await;
    recorded_path(&env, "denied", "s3://my-bucket/denied").await;
    let store = env.store("my-bucket", "");
    store
        .put("denied/backupmeta", Bytes::from_static(b"x"))
        .await
        .unwrap();

    env.create_job(clean_job("denied", operator_env(false, true, "us-west-1")))
        .await;
    let ok = env.wait_job("clean-denied", 60).await;
    let logs = env.job_logs("clean-denied").await;
    assert!(!ok, "the Job fails so that its next pod retries:\n{logs}");
    let b = env.backup("denied").await;
    assert_eq!(phase(&b), Some(BackupConditionType::CleanFailed), "{logs}");
    let failed = b
        .status
        .as_ref()
        .unwrap()
        .condition(&BackupConditionType::CleanFailed)
        .unwrap()
        .clone();
    assert_eq!(failed.reason.as_deref(), Some("CleanBackupDataFailed"));
    let message = failed.message.unwrap();
    assert!(message.contains("s3://my-bucket/denied"), "{message}");
    assert_eq!(
        env.objects("my-bucket", "denied"),
        ["denied/backupmeta"],
        "nothing was deleted"
    );
    let events = env.events_json().await;
    assert!(
        env.event_reasons("denied")
            .await
            .contains(&"CleanBackupDataFailed".to_string())
    );
    for (what, text) in [
        ("the status", message.as_str()),
        ("the log", &logs),
        ("the Events", &events),
    ] {
        assert_no_secrets(what, text, &[wrong]);
    }
    env.stop().await;
}
