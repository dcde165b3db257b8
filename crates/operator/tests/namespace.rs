//! Deleting a namespace that still holds Backups whose policy deletes their data
//! (docs/adr/0003): `kubectl delete ns` finishes on its own, the data is deleted when the
//! operator has credentials, and kept — with a Warning that outlives the namespace — when
//! the backup used an IAM identity. No secret value appears anywhere on the way.

mod common;

use common::{Env, wait_for};
use k8s_openapi::api::core::v1::{Event, Namespace};
use kube::{Api, ResourceExt, api::ListParams};
use serde_json::json;

const PROTECTION: &str = "tidb.pingcap.com/backup-protection";

/// Runs the real kubectl against the sandbox.
async fn kubectl(env: &Env, args: &[&str]) -> (bool, String) {
    let kubeconfig = env.dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, env.cluster.kubeconfig_yaml()).unwrap();
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new("/usr/bin/kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(env.dir.path().join("kubectl-cache"))
            .args(args)
            .env_remove("KUBECONFIG")
            .output(),
    )
    .await
    .expect("kubectl finishes")
    .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Events about the namespace, recorded in `default` because they must outlive it.
async fn namespace_events(env: &Env, ns: &str) -> Vec<(String, String, String)> {
    let api: Api<Event> = Api::namespaced(env.client.clone(), "default");
    api.list(&ListParams::default().fields(&format!("involvedObject.name={ns}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default(),
            )
        })
        .collect()
}

async fn protected(env: &Env, ns: &str, name: &str) {
    wait_for(
        20,
        &format!("the protection finalizer on {ns}/{name}"),
        || async {
            let b = env.get(ns, name).await?;
            b.finalizers().iter().any(|f| f == PROTECTION).then_some(())
        },
    )
    .await;
}

/// No value of any Secret shows up in logs, Events, Backups or Jobs.
async fn assert_no_secret_values(env: &Env, values: &[&str]) {
    let logs = common::logs();
    let events: Api<Event> = Api::all(env.client.clone());
    let events =
        serde_json::to_string(&events.list(&ListParams::default()).await.unwrap().items).unwrap();
    let backups: Api<tibr_api::Backup> = Api::all(env.client.clone());
    let backups =
        serde_json::to_string(&backups.list(&ListParams::default()).await.unwrap().items).unwrap();
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::all(env.client.clone());
    let jobs =
        serde_json::to_string(&jobs.list(&ListParams::default()).await.unwrap().items).unwrap();
    for value in values {
        assert!(
            !logs.contains(value),
            "a secret value is in the operator's logs"
        );
        assert!(!events.contains(value), "a secret value is in an Event");
        assert!(!backups.contains(value), "a secret value is in a Backup");
        assert!(!jobs.contains(value), "a secret value is in a Job");
    }
    assert!(logs.contains("tibr-operator starting"), "logs are captured");
}

#[tokio::test]
async fn deleting_the_namespace_deletes_the_data_with_the_kept_credentials() {
    let mut env = Env::start().await;
    env.start_operator().await;
    let ns = "doomed";
    env.namespace(ns).await;
    env.s3_secret(ns, false).await;
    env.tidb_secret(ns).await;
    let store = env.put_objects("doomed-data", 25).await;
    assert_eq!(store.list("doomed-data").await.unwrap().len(), 25);
    // Data nobody asked to delete, beside it, must survive.
    env.put_objects("doomed-data-neighbour", 3).await;
    env.backup(
        ns,
        "nightly",
        "doomed-data",
        json!({"cleanPolicy": "Delete"}),
    )
    .await;
    env.wait_phase(ns, "nightly", "Complete", 60).await;
    protected(&env, ns, "nightly").await;
    wait_for(20, "the credentials finalizer", || async {
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(env.client.clone(), ns);
        let s = secrets.get("s3-secret").await.ok()?;
        s.finalizers()
            .iter()
            .any(|f| f == "tidb.pingcap.com/backup-credentials")
            .then_some(())
    })
    .await;

    let (ok, out) = kubectl(&env, &["delete", "namespace", ns, "--timeout=90s"]).await;
    assert!(ok, "kubectl delete namespace: {out}");
    let namespaces: Api<Namespace> = Api::all(env.client.clone());
    assert!(namespaces.get_opt(ns).await.unwrap().is_none(), "{out}");

    assert!(
        store.list("doomed-data").await.unwrap().is_empty(),
        "the data is gone"
    );
    assert_eq!(store.list("doomed-data-neighbour").await.unwrap().len(), 3);
    let events = namespace_events(&env, ns).await;
    assert!(
        events.iter().any(|(t, r, m)| t == "Normal"
            && r == "BackupDataDeleted"
            && m.contains("deleted 25 objects at s3://my-bucket/doomed-data")),
        "{events:?}"
    );
    let s3 = (env.s3.access_key.clone(), env.s3.secret_key.clone());
    let password = env.tidb.password().to_string();
    assert_no_secret_values(&env, &[&s3.0, &s3.1, &password]).await;
    env.stop().await;
}

#[tokio::test]
async fn deleting_the_namespace_keeps_iam_only_data_and_says_so() {
    let mut env = Env::start().await;
    env.start_operator().await;
    let ns = "doomed-iam";
    env.namespace(ns).await;
    env.tidb_secret(ns).await;
    let store = env.put_objects("iam-data", 5).await;
    env.backup(
        ns,
        "irsa",
        "iam-data",
        json!({"cleanPolicy": "Delete", "serviceAccount": "tidb-backup-manager",
               "s3": {"secretName": null}}),
    )
    .await;
    env.wait_phase(ns, "irsa", "Complete", 60).await;
    protected(&env, ns, "irsa").await;

    let (ok, out) = kubectl(&env, &["delete", "namespace", ns, "--timeout=90s"]).await;
    assert!(ok, "kubectl delete namespace: {out}");
    let namespaces: Api<Namespace> = Api::all(env.client.clone());
    assert!(namespaces.get_opt(ns).await.unwrap().is_none());

    assert_eq!(
        store.list("iam-data").await.unwrap().len(),
        5,
        "the data is kept"
    );
    let events = namespace_events(&env, ns).await;
    let kept = events
        .iter()
        .find(|(t, r, _)| t == "Warning" && r == "BackupDataKept")
        .unwrap_or_else(|| panic!("a BackupDataKept Warning: {events:?}"));
    assert!(kept.2.contains("s3://my-bucket/iam-data"), "{}", kept.2);
    assert!(kept.2.contains("doomed-iam/irsa"), "{}", kept.2);
    assert!(common::logs().contains("s3://my-bucket/iam-data"));
    let password = env.tidb.password().to_string();
    assert_no_secret_values(&env, &[&password]).await;
    env.stop().await;
}

#[tokio::test]
async fn secret_values_stay_in_their_secrets() {
    let mut env = Env::start().await;
    env.s3_secret(common::NS, true).await;
    env.tidb_secret(common::NS).await;
    env.tidb.set_variable("tikv_gc_life_time", "72h0m0s");
    env.start_operator().await;
    // A completed backup, deleted through a clean Job; and a killed one whose GC life
    // time the operator restores with the password from its Secret.
    env.backup(
        common::NS,
        "plain",
        "plain",
        json!({"cleanPolicy": "Delete"}),
    )
    .await;
    env.backup(
        common::NS,
        "dead",
        "dead",
        json!({"env": [{"name": "STUB_MODE", "value": "die"}, {"name": "STUB_GC_RAISED", "value": "72h"}],
               "backoffRetryPolicy": {"maxRetryTimes": 0}}),
    )
    .await;
    env.wait_phase(common::NS, "plain", "Complete", 60).await;
    protected(&env, common::NS, "plain").await;
    env.delete_backup(common::NS, "plain").await;
    wait_for(60, "Backup plain to be gone", || async {
        env.get(common::NS, "plain").await.is_none().then_some(())
    })
    .await;
    wait_for(60, "GC life time restored", || async {
        let b = env.get(common::NS, "dead").await?;
        b.status?.gc_life_time?.restored.then_some(())
    })
    .await;
    assert_eq!(env.tidb.gc_life_time(), "10m0s");
    let password = env.tidb.password().to_string();
    assert_no_secret_values(&env, &[common::ACCESS_KEY, common::SECRET_KEY, &password]).await;
    env.stop().await;
}
