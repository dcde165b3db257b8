//! Deleting Backups in a sandbox cluster: each clean policy, stopping a running backup
//! before cleaning, and the credentials finalizer on Secrets.

mod common;

use std::time::Duration;

use common::{Env, NS, condition, wait_for};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use serde_json::json;

const PROTECTION: &str = "tidb.pingcap.com/backup-protection";
const CREDENTIALS: &str = "tidb.pingcap.com/backup-credentials";

async fn gone(env: &Env, name: &str, secs: u64) {
    wait_for(secs, &format!("Backup {name} to be gone"), || async {
        env.get(NS, name).await.is_none().then_some(())
    })
    .await;
}

async fn clean_job_events(env: &Env, name: &str) -> Vec<String> {
    env.events(NS, Some(name))
        .await
        .into_iter()
        .filter(|e| e.contains(&format!("created Job clean-{name}")))
        .collect()
}

#[tokio::test]
async fn each_clean_policy_on_deletion() {
    let env = Env::with_operator(true).await;
    env.backup(NS, "keep", "keep", json!({})).await;
    env.backup(NS, "del", "del", json!({"cleanPolicy": "Delete"}))
        .await;
    env.backup(NS, "onf-ok", "onf-ok", json!({"cleanPolicy": "OnFailure"}))
        .await;
    env.backup(
        NS,
        "onf-bad",
        "onf-bad",
        json!({"cleanPolicy": "OnFailure", "env": [{"name": "STUB_MODE", "value": "fail"}]}),
    )
    .await;
    env.backup(NS, "odd", "odd", json!({"cleanPolicy": "Sometimes"}))
        .await;
    for name in ["keep", "del", "onf-ok", "odd"] {
        env.wait_phase(NS, name, "Complete", 60).await;
    }
    env.wait_phase(NS, "onf-bad", "Failed", 60).await;

    // Finalizers only on the Backups that may delete data.
    for (name, protected) in [
        ("keep", false),
        ("del", true),
        ("onf-ok", true),
        ("onf-bad", true),
        ("odd", false),
    ] {
        let b = env.get(NS, name).await.unwrap();
        assert_eq!(
            b.finalizers().iter().any(|f| f == PROTECTION),
            protected,
            "{name}"
        );
    }
    // The Secrets they need are protected while they exist.
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    wait_for(20, "the credentials finalizer on s3-secret", || async {
        let s = secrets.get("s3-secret").await.unwrap();
        s.finalizers()
            .iter()
            .any(|f| f == CREDENTIALS)
            .then_some(())
    })
    .await;
    let odd_events = env.events(NS, Some("odd")).await;
    assert!(
        odd_events
            .iter()
            .any(|e| e.starts_with("Warning UnknownCleanPolicy") && e.contains("Sometimes")),
        "{odd_events:?}"
    );

    for name in ["keep", "del", "onf-ok", "onf-bad", "odd"] {
        env.delete_backup(NS, name).await;
    }
    for name in ["keep", "del", "onf-ok", "onf-bad", "odd"] {
        gone(&env, name, 60).await;
    }
    assert!(clean_job_events(&env, "keep").await.is_empty());
    assert!(clean_job_events(&env, "onf-ok").await.is_empty());
    assert!(clean_job_events(&env, "odd").await.is_empty());
    assert_eq!(clean_job_events(&env, "del").await.len(), 1);
    assert_eq!(clean_job_events(&env, "onf-bad").await.len(), 1);

    // No Backup needs the Secrets any more: the finalizer goes, and they can be deleted.
    wait_for(20, "the credentials finalizer to go", || async {
        let s = secrets.get("s3-secret").await.unwrap();
        (!s.finalizers().iter().any(|f| f == CREDENTIALS)).then_some(())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn deleting_a_running_backup_stops_its_job_before_cleaning() {
    let env = Env::with_operator(true).await;
    env.backup(
        NS,
        "busy",
        "busy",
        json!({"cleanPolicy": "Delete", "env": [{"name": "STUB_MODE", "value": "sleep"}]}),
    )
    .await;
    env.wait_phase(NS, "busy", "Running", 60).await;
    wait_for(20, "the protection finalizer", || async {
        let b = env.get(NS, "busy").await?;
        b.finalizers().iter().any(|f| f == PROTECTION).then_some(())
    })
    .await;
    env.delete_backup(NS, "busy").await;

    // Sample until the Backup is gone: the clean Job never runs beside the backup Job.
    let mut saw_clean = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while env.get(NS, "busy").await.is_some() {
        let backup_job = env.jobs(NS).get_opt("backup-busy").await.unwrap();
        let clean_job = env.jobs(NS).get_opt("clean-busy").await.unwrap();
        if clean_job.is_some() {
            saw_clean = true;
            assert!(
                backup_job.is_none(),
                "the clean Job started while the backup Job was still there"
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Backup busy still there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = env.events(NS, Some("busy")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Normal StoppingBackupJob")),
        "{events:?}"
    );
    assert!(
        saw_clean || events.iter().any(|e| e.contains("created Job clean-busy")),
        "{events:?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_failing_clean_job_shows_clean_failed_and_holds_the_backup() {
    let env = Env::with_operator(true).await;
    env.backup(
        NS,
        "stuck",
        "stuck",
        json!({"cleanPolicy": "Delete", "env": [{"name": "STUB_CLEAN", "value": "fail"}]}),
    )
    .await;
    env.wait_phase(NS, "stuck", "Complete", 60).await;
    wait_for(20, "the protection finalizer", || async {
        let b = env.get(NS, "stuck").await?;
        b.finalizers().iter().any(|f| f == PROTECTION).then_some(())
    })
    .await;
    env.delete_backup(NS, "stuck").await;
    // Every pod of the clean Job fails (6 retries with short back-off in the sandbox).
    let b = wait_for(120, "CleanFailed from the operator", || async {
        let b = env.get(NS, "stuck").await?;
        let (_, reason, _) = condition(&b, "CleanFailed")?;
        (reason == "CleanJobFailed").then_some(b)
    })
    .await;
    let (_, _, message) = condition(&b, "CleanFailed").unwrap();
    assert!(message.contains("a new clean Job starts at"), "{message}");
    assert!(message.contains(PROTECTION), "{message}");
    assert!(
        env.get(NS, "stuck").await.is_some(),
        "the data was asked to go: held"
    );
    env.stop().await;
}
