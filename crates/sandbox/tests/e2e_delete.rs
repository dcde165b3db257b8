//! Deleting Backups through the whole product: every `cleanPolicy` for a complete and a failed
//! backup, with the real clean Job deleting exactly the data the seed says; a running backup
//! deleted (BR is stopped before anything is cleaned); and the seed's namespace deleted with a
//! `Delete` backup in it, which finishes on its own and leaves the prefix empty.

mod support;

use std::{collections::BTreeSet, time::Duration};

use k8s_openapi::api::{batch::v1::Job, core::v1::Namespace};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams},
};
use serde_json::{Value, json};
use support::*;

/// The seed's static-key Backup on the sandbox's TiDB, renamed, with a clean policy and
/// extra pod environment.
fn seed_backup(env: &Env, name: &str, policy: &str, pod_env: Value) -> Value {
    let mut v = env.seed_backups_on_sandbox_tidb()[0].value().unwrap();
    v["metadata"]["name"] = json!(name);
    v["spec"]["s3"]["prefix"] = json!(name);
    v["spec"]["cleanPolicy"] = json!(policy);
    v["spec"]["env"] = pod_env;
    v
}

/// `(policy, complete?)` → whether the seed says deleting the Backup deletes its data.
fn deletes_data(policy: &str, complete: bool) -> bool {
    match policy {
        "Delete" => true,
        "OnFailure" => !complete,
        // Retain, and any value that is none of the three.
        _ => false,
    }
}

#[tokio::test]
async fn each_clean_policy_deletes_exactly_what_the_seed_says() {
    let env = Env::start().await;
    env.seed_secrets(env.sandbox.tidb.password()).await;
    let mut cases = Vec::new();
    for policy in ["Retain", "OnFailure", "Delete", "Sometimes"] {
        for complete in [true, false] {
            let name = format!(
                "{}-{}",
                policy.to_lowercase(),
                if complete { "complete" } else { "failed" }
            );
            // A failed backup: BR fails half way, after writing some data files.
            let pod_env = if complete {
                json!([])
            } else {
                json!([{"name": "BR_SIM_FAIL_AT_PERCENT", "value": "50"}])
            };
            env.create_backup(seed_backup(&env, &name, policy, pod_env))
                .await;
            cases.push((name, policy, complete));
        }
    }
    for (name, policy, complete) in &cases {
        let b = env
            .wait_phase(name, if *complete { "Complete" } else { "Failed" }, 90)
            .await;
        assert!(
            !env.objects("my-bucket", name).is_empty(),
            "{name} wrote data to delete or keep"
        );
        let protected = b
            .finalizers()
            .iter()
            .any(|f| f == "tidb.pingcap.com/backup-protection");
        assert_eq!(
            protected,
            matches!(*policy, "Delete" | "OnFailure"),
            "{name}: the finalizer is there exactly when deleting may delete data"
        );
        if !complete {
            let (_, reason, _) = condition(&b, "Failed").unwrap();
            assert_eq!(reason, "BackupDataToRemoteFailed", "{name}");
        }
    }
    let unknown = env.events(Some("sometimes-complete")).await;
    assert!(
        unknown
            .iter()
            .any(|e| e.starts_with("Warning UnknownCleanPolicy")),
        "{unknown:?}"
    );

    for (name, _, _) in &cases {
        env.delete_backup(name).await;
    }
    // Watch the clean Jobs come and go while the Backups are deleted.
    let jobs: Api<Job> = Api::namespaced(env.client.clone(), NS);
    let mut clean_jobs = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        for j in jobs.list(&ListParams::default()).await.unwrap().items {
            if j.name_any().starts_with("clean-") {
                clean_jobs.insert(j.name_any());
            }
        }
        if env
            .backups()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Backups left: {:?}\n{}",
            env.backups()
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .iter()
                .map(|b| (b.name_any(), status_json(b)))
                .collect::<Vec<_>>(),
            tail(&logs(), 40)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pod_logs = env.pod_logs();
    for (name, policy, complete) in &cases {
        let left = env.objects("my-bucket", name);
        if deletes_data(policy, *complete) {
            assert!(left.is_empty(), "{name}: {left:?}\n{pod_logs}");
            assert!(
                clean_jobs.contains(&format!("clean-{name}")),
                "{name} was cleaned by its clean Job: {clean_jobs:?}"
            );
        } else {
            assert!(!left.is_empty(), "{name}'s data is kept");
            assert!(!clean_jobs.contains(&format!("clean-{name}")), "{name}");
        }
    }
    assert!(
        pod_logs.contains("deleted ") && pod_logs.contains("object(s) under s3://my-bucket/"),
        "the clean pods report what they deleted"
    );
    assert_eq!(env.sandbox.tidb.gc_life_time(), "10m0s");
    assert_no_secrets(
        "the operator's logs",
        &logs(),
        &[&env.sandbox.s3.secret_key, env.sandbox.tidb.password()],
    );
    let (agent, operator) = assert_rbac_covers_what_ran(&env);
    assert!(agent > 0 && operator > 0);
    env.stop().await;
}

#[tokio::test]
async fn deleting_a_running_backup_stops_br_before_its_data_is_cleaned() {
    let env = Env::start().await;
    env.seed_secrets(env.sandbox.tidb.password()).await;
    let hang = json!(br::vars(br::HANGING_BR));
    env.create_backup(seed_backup(&env, "running", "Delete", hang))
        .await;
    let br = wait_for(60, "BR hanging at 30 %", || async {
        let b = env.get("running").await?;
        let s = b.status.as_ref()?;
        if !s
            .progresses
            .iter()
            .any(|p| p.progress.unwrap_or(0.0) >= 30.0)
        {
            return None;
        }
        processes(|a| {
            a[0].ends_with("/br") && a.iter().any(|x| x == "--storage=s3://my-bucket/running")
        })
        .first()
        .map(|(pid, _)| *pid)
    })
    .await;
    assert_eq!(env.sandbox.tidb.gc_life_time(), "72h0m0s");
    assert!(
        !env.objects("my-bucket", "running").is_empty(),
        "partial data"
    );

    env.delete_backup("running").await;
    let alive = |pid: i32| std::path::Path::new(&format!("/proc/{pid}")).exists();
    let mut br_stopped_at = None;
    let mut clean_job_at = None;
    let started = tokio::time::Instant::now();
    while env.get("running").await.is_some() {
        if br_stopped_at.is_none() && !alive(br) {
            br_stopped_at = Some(started.elapsed());
        }
        if clean_job_at.is_none() && env.job("clean-running").await.is_some() {
            clean_job_at = Some(started.elapsed());
            assert!(
                br_stopped_at.is_some(),
                "the clean Job started while BR (pid {br}) still ran"
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the Backup is still there:\n{}",
            tail(&logs(), 40)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(br_stopped_at.is_some() && clean_job_at.is_some());
    assert!(
        env.objects("my-bucket", "running").is_empty(),
        "the partial data is gone"
    );
    let events = env.events(Some("running")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Normal StoppingBackupJob")),
        "{events:?}"
    );
    // The agent, stopped with SIGTERM, stopped BR and put the GC life time back itself.
    assert_eq!(env.sandbox.tidb.gc_life_time(), "10m0s");
    env.stop().await;
}

#[tokio::test]
async fn deleting_the_seeds_namespace_finishes_on_its_own_and_empties_the_prefix() {
    let env = Env::start().await;
    env.seed_secrets(env.sandbox.tidb.password()).await;
    env.create_backup(seed_backup(&env, "doomed", "Delete", json!([])))
        .await;
    env.wait_phase("doomed", "Complete", 60).await;
    assert!(!env.objects("my-bucket", "doomed").is_empty());

    // `kubectl delete namespace test1`: the Backup, its Secrets and the TidbCluster go
    // together, and no clean Job can start in a namespace being deleted.
    let namespaces: Api<Namespace> = Api::all(env.client.clone());
    namespaces
        .delete(NS, &DeleteParams::default())
        .await
        .unwrap();
    wait_for(60, "namespace test1 to be gone", || async {
        namespaces
            .get_opt(NS)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        env.objects("my-bucket", "doomed").is_empty(),
        "the data is deleted"
    );
    let about_namespace: Vec<String> =
        Api::<k8s_openapi::api::core::v1::Event>::namespaced(env.client.clone(), "default")
            .list(&ListParams::default().fields("involvedObject.name=test1"))
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|e| e.reason)
            .collect();
    assert!(
        about_namespace.iter().any(|r| r == "BackupDataDeleted"),
        "{about_namespace:?}"
    );
    env.stop().await;
}
