//! Waiting is never silent, through the whole product: a backup Job that cannot create its
//! pod (the ServiceAccount was never created), a TiDB that does not answer, and specs that
//! could only fail later (an `ftp://` endpoint, an image reference with a space) each show
//! on the Backup, with its condition and a Warning Event, naming what is wrong. And each
//! wait ends as it should: the ServiceAccount or TiDB appears and the backup completes with
//! the condition put back, the deadline passes and it fails saying why, or a stop ends it.

mod support;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams},
};
use serde_json::{Value, json};
use support::*;
use tibr_sandbox::sandbox::apply;

const SA: &str = "tidb-backup-manager";
const TIDB_PASSWORD: &str = "planted-tidb-password-0003";

/// The seed's static-key Backup, named `name` (and its prefix), with TiDB at `host:port`.
fn seed(env: &Env, name: &str, host: &str, port: u16) -> Value {
    let mut v = env.seed_backups(host, port, "root")[0].value().unwrap();
    v["metadata"]["name"] = json!(name);
    v["spec"]["s3"]["prefix"] = json!(name);
    v
}

/// The Warning Events about Backup `name` with `reason`, as their notes.
async fn warnings(env: &Env, name: &str, reason: &str) -> Vec<String> {
    let prefix = format!("Warning {reason}: ");
    env.events(Some(name))
        .await
        .into_iter()
        .filter_map(|e| e.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_missing_service_account_is_shown_on_the_backup_and_the_backup_completes_once_it_exists()
{
    let env = Env::start().await;
    env.seed_secrets(env.sandbox.tidb.password()).await;
    // As if deploy/backup-rbac.yaml had never been applied (its Role stays, unused).
    Api::<ServiceAccount>::namespaced(env.client.clone(), NS)
        .delete(SA, &DeleteParams::default())
        .await
        .unwrap();
    let t = &env.sandbox.tidb;
    env.create_backup(seed(&env, "no-sa", &t.host(), t.port()))
        .await;

    let missing = format!("serviceaccount \"{SA}\" not found");
    let (_, message) = wait_for(60, "the Backup to say its pod is refused", || async {
        let b = env.get("no-sa").await?;
        let (status, reason, message) = condition(&b, "Scheduled")?;
        (b.phase().map(|p| p.as_str()) == Some("Scheduled")
            && status == "True"
            && reason == "FailedCreate")
            .then_some((b, message))
    })
    .await;
    assert!(
        message.starts_with("Job backup-no-sa cannot create its pod: Error creating: pods \"backup-no-sa-\" is forbidden")
            && message.contains(&missing)
            && message.contains("apply deploy/backup-rbac.yaml"),
        "{message}"
    );
    let notes = warnings(&env, "no-sa", "FailedCreate").await;
    assert_eq!(
        notes,
        std::slice::from_ref(&message),
        "one Warning for one refusal"
    );

    // The Job keeps trying; with its ServiceAccount it gets its pod and the backup runs.
    apply::apply(&env.client, NS, apply::BACKUP_RBAC)
        .await
        .unwrap();
    let b = env.wait_phase("no-sa", "Complete", 120).await;
    let (status, reason, message) = condition(&b, "Scheduled").unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "JobCreated"),
        "{message}"
    );
    assert!(message.contains("got its pod"), "{message}");
    assert_eq!(
        warnings(&env, "no-sa", "FailedCreate").await.len(),
        1,
        "the same refusal, repeated by the Job, is not repeated on the Backup"
    );
    let (_, operator_calls) = assert_rbac_covers_what_ran(&env);
    assert!(operator_calls > 0);
    env.stop().await;
}

#[tokio::test]
async fn an_unreachable_tidb_is_shown_with_its_address_and_deadline_then_fails_clearly() {
    let env = Env::start().await;
    env.seed_secrets(TIDB_PASSWORD).await;
    // A port nothing listens on: every attempt is refused at once.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut backup = seed(&env, "no-tidb", "127.0.0.1", port);
    backup["spec"]["env"] = json!([{"name": "TIBR_TIDB_CONNECT_TIMEOUT", "value": "8s"}]);
    env.create_backup(backup).await;

    let address = format!("127.0.0.1:{port}");
    let (b, message) = wait_for(60, "the Backup to say TiDB is unreachable", || async {
        let b = env.get("no-tidb").await?;
        let (_, reason, message) = condition(&b, "Prepare")?;
        (b.phase().map(|p| p.as_str()) == Some("Prepare") && reason == "TidbUnreachable")
            .then_some((b, message))
    })
    .await;
    assert!(
        message.starts_with(&format!(
            "cannot connect to TiDB at {address} as \"root\": "
        )),
        "{message}"
    );
    assert!(message.contains("retrying every 5s until "), "{message}");
    // The deadline counts from the first attempt, just after `Prepare` was written.
    let until: jiff::Timestamp = message
        .split("until ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let prepared = b
        .status
        .as_ref()
        .and_then(|s| s.condition(&tibr_api::BackupConditionType::Prepare))
        .and_then(|c| c.last_transition_time.clone())
        .unwrap()
        .0;
    let ahead = until.duration_since(prepared);
    assert!(
        ahead >= jiff::SignedDuration::from_secs(6) && ahead <= jiff::SignedDuration::from_secs(10),
        "{until} is {ahead} after Prepare at {prepared}"
    );
    let notes = wait_for(20, "a TidbUnreachable Warning", || async {
        let notes = warnings(&env, "no-tidb", "TidbUnreachable").await;
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert!(
        notes[0].contains(&address) && notes[0].contains("until "),
        "{notes:?}"
    );

    // At the deadline the backup fails, saying why.
    let b = wait_for(60, "the Backup to fail", || async {
        let b = env.get("no-tidb").await?;
        (b.phase().map(|p| p.as_str()) == Some("Failed")).then_some(b)
    })
    .await;
    let (_, reason, failed) = condition(&b, "Failed").unwrap();
    assert_eq!(reason, "ConnectTidbFailed", "{failed}");
    assert!(failed.contains(&address), "{failed}");

    let status = status_json(&b);
    assert_no_secrets("the Backup's status", &status, &[TIDB_PASSWORD]);
    assert_no_secrets("Events", &env.all_events_json().await, &[TIDB_PASSWORD]);
    assert_no_secrets("the operator's logs", &logs(), &[TIDB_PASSWORD]);
    assert_no_secrets("the pods' logs", &env.pod_logs(), &[TIDB_PASSWORD]);
    env.stop().await;
}

#[tokio::test]
async fn a_tidb_that_comes_up_clears_the_wait_and_the_backup_completes() {
    let env = Env::start().await;
    let t = &env.sandbox.tidb;
    env.seed_secrets(t.password()).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    env.create_backup(seed(&env, "late-tidb", "127.0.0.1", port))
        .await;
    wait_for(60, "the Backup to say TiDB is unreachable", || async {
        let b = env.get("late-tidb").await?;
        let (_, reason, _) = condition(&b, "Prepare")?;
        (reason == "TidbUnreachable").then_some(())
    })
    .await;
    // TiDB "comes up" at the address the Backup names: a relay to the sandbox's TiDB.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let tidb = format!("{}:{}", t.host(), t.port());
    let relay = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let tidb = tidb.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(tidb).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let b = env.wait_phase("late-tidb", "Complete", 90).await;
    let (status, reason, message) = condition(&b, "Prepare").unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "TidbReachable"),
        "{message}"
    );
    assert!(
        message.starts_with(&format!("connected to TiDB at 127.0.0.1:{port} after ")),
        "{message}"
    );
    relay.abort();
    env.stop().await;
}

#[tokio::test]
async fn a_stop_ends_the_wait_for_tidb() {
    let env = Env::start().await;
    env.seed_secrets(TIDB_PASSWORD).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // The default wait, ten minutes: only the stop can end it within this test.
    env.create_backup(seed(&env, "stopped", "127.0.0.1", port))
        .await;
    wait_for(60, "the Backup to say TiDB is unreachable", || async {
        let b = env.get("stopped").await?;
        let (_, reason, _) = condition(&b, "Prepare")?;
        (reason == "TidbUnreachable").then_some(())
    })
    .await;
    // What the kubelet does when the pod is deleted: SIGTERM, SIGKILL 30 s later.
    let pods = env.pods_of("backup-stopped").await;
    assert_eq!(pods.len(), 1);
    Api::<k8s_openapi::api::core::v1::Pod>::namespaced(env.client.clone(), NS)
        .delete(&pods[0].name_any(), &DeleteParams::default())
        .await
        .unwrap();
    let notes = wait_for(20, "the agent to say it was stopped", || async {
        let notes = warnings(&env, "stopped", "BackupInterrupted").await;
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert!(notes[0].contains("SIGTERM"), "{notes:?}");
    let b = env.get("stopped").await.unwrap();
    assert!(
        condition(&b, "Failed").is_none(),
        "a stopped wait is not a failed backup: {}",
        status_json(&b)
    );
    env.stop().await;
}

#[tokio::test]
async fn specs_that_would_fail_later_are_invalid_at_once_naming_the_field() {
    let env = Env::start().await;
    env.seed_secrets(env.sandbox.tidb.password()).await;
    let t = &env.sandbox.tidb;
    let mut ftp = seed(&env, "ftp-endpoint", &t.host(), t.port());
    ftp["spec"]["s3"]["endpoint"] = json!("ftp://x");
    let mut spaced = seed(&env, "spaced-image", &t.host(), t.port());
    spaced["spec"]["toolImage"] = json!("a b");
    env.create_backup(ftp).await;
    env.create_backup(spaced).await;

    for (name, want) in [
        (
            "ftp-endpoint",
            "spec.s3.endpoint: \"ftp://x\" is not a URL BR can use: the scheme must be http or https",
        ),
        (
            "spaced-image",
            "spec.toolImage: \"a b\" is not an image reference: it contains white space",
        ),
    ] {
        let b = env.wait_phase(name, "Invalid", 60).await;
        let (status, reason, message) = condition(&b, "Invalid").unwrap();
        assert_eq!((status.as_str(), reason.as_str()), ("True", "InvalidSpec"));
        assert!(message.starts_with(want), "{name}: {message}");
        let notes = wait_for(20, "an InvalidSpec Warning", || async {
            let notes = warnings(&env, name, "InvalidSpec").await;
            (!notes.is_empty()).then_some(notes)
        })
        .await;
        assert!(notes[0].starts_with(want), "{notes:?}");
    }
    let jobs = Api::<k8s_openapi::api::batch::v1::Job>::namespaced(env.client.clone(), NS)
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(jobs.items.is_empty(), "no Job for an invalid spec");
    env.stop().await;
}
