//! TiKV's GC life time through the whole product, against MariaDB standing in for TiDB's
//! `mysql.tidb` (a real MySQL server: its protocol, privileges and TLS): raised to 72h while BR
//! runs and put back to 10m0s after, never lowered when already longer, and, when the agent is
//! killed mid-backup with no chance to clean up, put back by the operator — over TLS with a
//! client certificate, as a TidbCluster with `tlsClient` asks.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::*;
use tibr_api::TidbCluster;
use tibr_tidb::testing::{self, MariaDb};

/// The seed's static-key Backup against MariaDB as `user`, renamed, with `env` for the pod.
fn seed_on(env: &Env, db: &MariaDb, user: &str, name: &str, pod_env: Value) -> Value {
    let mut v = env.seed_backups("127.0.0.1", db.port, user)[0]
        .value()
        .unwrap();
    v["metadata"]["name"] = json!(name);
    v["spec"]["s3"]["prefix"] = json!(name);
    v["spec"]["env"] = pod_env;
    v
}

/// BR takes a few seconds, reporting progress often.
fn slow_br() -> Value {
    json!(br::vars(br::SLOW_BR))
}

/// Samples the Backup's phase and TiDB's value until the Backup ends: the values seen while
/// it was `Running`, and the final Backup.
async fn run_and_sample(env: &Env, db: &MariaDb, name: &str) -> (Vec<String>, tibr_api::Backup) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let b = env.get(name).await.unwrap();
        match b.phase().map(|p| p.as_str()) {
            Some("Running") => seen.push(db.gc_life_time()),
            Some("Complete" | "Failed") => return (seen, b),
            _ => {}
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} did not end:\n{}",
            env.pod_logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn gc_life_time_is_72h_while_br_runs_and_10m0s_after() {
    let db = MariaDb::shared().lease().await;
    let env = Env::start().await;
    env.seed_secrets(db.password()).await;
    env.create_backup(seed_on(&env, &db, testing::USER, "held", slow_br()))
        .await;
    let (seen, b) = run_and_sample(&env, &db, "held").await;
    assert_eq!(
        b.phase().map(|p| p.as_str()),
        Some("Complete"),
        "{}",
        env.pod_logs()
    );
    assert!(
        seen.iter().any(|v| v == "72h0m0s"),
        "raised to 72h while BR ran: {seen:?}"
    );
    assert_eq!(db.gc_life_time(), "10m0s", "and put back after");
    let gc = b.status.unwrap().gc_life_time.unwrap();
    assert_eq!(gc.original, "10m0s");
    assert_eq!(gc.raised_to.as_deref(), Some("72h0m0s"));
    assert!(gc.restored && gc.restored_at.is_some(), "{gc:?}");
    let events = env.events(Some("held")).await;
    for reason in ["GCLifeTimeRaised", "GCLifeTimeRestored"] {
        assert!(
            events.iter().any(|e| e.contains(&format!(" {reason}:"))),
            "{reason}: {events:?}"
        );
    }
    assert_no_secrets("the operator's logs", &logs(), &[db.password()]);
    assert_no_secrets("the pods' logs", &env.pod_logs(), &[db.password()]);
    env.stop().await;
}

#[tokio::test]
async fn a_longer_gc_life_time_is_never_lowered() {
    let db = MariaDb::shared().lease().await;
    db.set_gc_life_time("100h");
    let env = Env::start().await;
    env.seed_secrets(db.password()).await;
    env.create_backup(seed_on(&env, &db, testing::USER, "long", slow_br()))
        .await;
    let (seen, b) = run_and_sample(&env, &db, "long").await;
    assert_eq!(b.phase().map(|p| p.as_str()), Some("Complete"));
    assert!(!seen.is_empty(), "sampled while running");
    assert!(seen.iter().all(|v| v == "100h"), "{seen:?}");
    assert_eq!(db.gc_life_time(), "100h");
    let gc = b.status.unwrap().gc_life_time.unwrap();
    assert_eq!(
        (gc.original.as_str(), gc.raised_to.as_deref()),
        ("100h", None)
    );
    assert!(!gc.needs_restore());
    env.stop().await;
}

#[tokio::test]
async fn after_the_agent_is_killed_mid_backup_the_operator_restores_over_tls() {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::{Pid, getpgid};
    let db = MariaDb::shared().lease().await;
    let env = Env::start().await;
    env.seed_secrets(db.password()).await;

    // demo1's TiDB wants client TLS: the backup pod mounts demo1-tidb-client-secret, and the
    // MariaDB account used here refuses a login without the client certificate.
    let tls: Secret = serde_json::from_value(json!({
        "metadata": {"name": "demo1-tidb-client-secret"},
        "stringData": {"ca.crt": db.tls.ca_pem, "tls.crt": db.tls.client_cert_pem,
                       "tls.key": db.tls.client_key_pem},
    }))
    .unwrap();
    kube::Api::<Secret>::namespaced(env.client.clone(), NS)
        .create(&PostParams::default(), &tls)
        .await
        .unwrap();
    kube::Api::<TidbCluster>::namespaced(env.client.clone(), NS)
        .patch(
            "demo1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"tidb": {"tlsClient": {"enabled": true}}}})),
        )
        .await
        .unwrap();

    let mut v = seed_on(
        &env,
        &db,
        testing::X509_USER,
        "killed",
        json!(br::vars(br::HANGING_BR)),
    );
    // No retry: the operator is the only one left to put the value back.
    v["spec"]["backoffRetryPolicy"] = json!({"maxRetryTimes": 0});
    env.create_backup(v).await;

    // BR hangs at 30 % with TiDB's value raised; then the pod dies the hard way (node lost,
    // OOM kill): the agent and BR get SIGKILL, no chance to restore anything.
    let agent = wait_for(
        60,
        "the agent with BR hanging at 30 % and GC raised",
        || async {
            let b = env.get("killed").await?;
            let s = b.status.as_ref()?;
            let hanging = s.phase.as_ref().map(|p| p.as_str()) == Some("Running")
                && s.progresses
                    .iter()
                    .any(|p| p.progress.unwrap_or(0.0) >= 30.0);
            if !hanging || db.gc_life_time() != "72h0m0s" {
                return None;
            }
            processes(|a| {
                a[0].ends_with("/tibr-agent") && a.contains(&"--backup-name=killed".into())
            })
            .first()
            .map(|(pid, _)| *pid)
        },
    )
    .await;
    let record = env
        .get("killed")
        .await
        .unwrap()
        .status
        .unwrap()
        .gc_life_time
        .unwrap();
    assert_eq!(
        (
            record.original.as_str(),
            record.raised_to.as_deref(),
            record.restored
        ),
        ("10m0s", Some("72h0m0s"), false),
        "the original is recorded before the raise"
    );
    let group = getpgid(Some(Pid::from_raw(agent))).unwrap();
    killpg(group, Signal::SIGKILL).unwrap();

    // The operator sees the pod die, has no retry left, and logs in to TiDB itself.
    env.wait_phase("killed", "Failed", 60).await;
    let b = wait_for(60, "the operator's GC restore", || async {
        let b = env.get("killed").await?;
        let gc = b.status.as_ref()?.gc_life_time.as_ref()?;
        gc.restored.then_some(b)
    })
    .await;
    assert_eq!(condition(&b, "Failed").unwrap().1, "AlreadyFailed");
    assert_eq!(db.gc_life_time(), "10m0s", "the original is back");
    let gc = b.status.unwrap().gc_life_time.unwrap();
    assert_eq!(gc.original, "10m0s");
    assert!(gc.restored_at.is_some());
    let events = env.events(Some("killed")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Normal GcLifeTimeRestored")
                && e.contains("put tikv_gc_life_time back to 10m0s")),
        "the operator says it restored the value: {events:?}"
    );
    assert!(
        !env.pod_logs().contains("restored TiKV's GC life time"),
        "the agent had no chance to"
    );
    assert!(
        logs().contains("RestoreGcLifeTime") || logs().contains("GcLifeTimeRestored"),
        "the operator logged it"
    );
    assert_no_secrets("the operator's logs", &logs(), &[db.password()]);
    let (agent, operator) = assert_rbac_covers_what_ran(&env);
    assert!(agent > 0 && operator > 0);
    env.stop().await;
}
