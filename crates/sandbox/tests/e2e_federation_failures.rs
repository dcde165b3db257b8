//! The federation manager in a sandbox with three data planes when things go wrong, each
//! case in its own sandbox: BR cannot pause, one data plane cannot take its snapshots, a
//! data plane stops answering mid-backup and comes back, a cluster name the kubeconfig does
//! not know. What the VolumeBackup says is checked against the simulated PD (what was paused,
//! resumed or left to expire) and EC2 (what is left after deletion, per `cleanPolicy`); no
//! secret value appears in any log, Event or status.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::{Api, Client, api::ListParams};
use serde_json::{Value, json};
use support::{logs, volume::Planes};
use tibr_api::federation::v1alpha1::VolumeBackup;
use tibr_testkit::{proxy::Proxy, status::assert_no_secrets};

const CONTROL: &str = "control";
const NS: &str = "test1";

/// A VolumeBackup of `demo1` over `clusters`, as the seed's static-key example writes it.
fn volume_backup(name: &str, clusters: &[&str], clean_policy: &str) -> Value {
    json!({
        "apiVersion": "federation.pingcap.com/v1alpha1",
        "kind": "VolumeBackup",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "clusters": clusters.iter().map(|c| json!({
                "k8sClusterName": c, "tcName": "demo1", "tcNamespace": NS})).collect::<Vec<_>>(),
            "template": {
                "br": {"sendCredToTikv": true},
                "s3": {"provider": "aws", "secretName": "s3-secret", "region": "us-west-2",
                       "bucket": "my-bucket", "prefix": name},
                "toolImage": "pingcap/br:v8.5.0",
                "cleanPolicy": clean_policy,
            },
        },
    })
}

struct Control {
    vbks: Api<VolumeBackup>,
    client: Client,
}

impl Control {
    async fn of(p: &Planes) -> Control {
        let client = p.sandbox.cluster(CONTROL).unwrap().client().await.unwrap();
        Control {
            vbks: Api::namespaced(client.clone(), NS),
            client,
        }
    }

    async fn create(&self, vbk: Value) {
        let vbk: VolumeBackup = serde_json::from_value(vbk).unwrap();
        self.vbks.create(&Default::default(), &vbk).await.unwrap();
    }

    /// Waits for `phase`; on timeout, fails with the VolumeBackup's status and Events.
    async fn wait_phase(&self, name: &str, phase: &str, secs: u64) -> VolumeBackup {
        let reached = tibr_testkit::poll(Duration::from_secs(secs), || async {
            let v = self.vbks.get_opt(name).await.ok().flatten()?;
            (v.status.as_ref()?.phase.as_ref()?.as_str() == phase).then_some(v)
        })
        .await;
        match reached {
            Ok(v) => v,
            Err(_) => {
                self.stuck(name, &format!("not {phase} after {secs}s"))
                    .await
            }
        }
    }

    /// Fails with the VolumeBackup's status, its Events and the manager's recent logs.
    async fn stuck(&self, name: &str, what: &str) -> ! {
        let now = self.vbks.get_opt(name).await.ok().flatten();
        panic!(
            "VolumeBackup {name} {what}: {:#?}\nEvents: {:#?}\nlogs:\n{}",
            now.and_then(|v| v.status),
            self.events(name).await,
            support::tail(&logs(), 120)
        )
    }

    async fn wait_condition(&self, name: &str, type_: &str, secs: u64) -> VolumeBackup {
        let reached = tibr_testkit::poll(Duration::from_secs(secs), || async {
            let v = self.vbks.get_opt(name).await.ok().flatten()?;
            let has = v
                .status
                .as_ref()?
                .conditions
                .iter()
                .any(|c| c.type_.as_str() == type_ && c.is_true());
            has.then_some(v)
        })
        .await;
        match reached {
            Ok(v) => v,
            Err(_) => {
                self.stuck(name, &format!("without {type_} after {secs}s"))
                    .await
            }
        }
    }

    async fn delete_and_wait_gone(&self, name: &str) {
        self.vbks.delete(name, &Default::default()).await.unwrap();
        tibr_testkit::wait_until(120, &format!("VolumeBackup {name} to be gone"), || async {
            self.vbks.get_opt(name).await.ok()?.is_none().then_some(())
        })
        .await;
    }

    /// "Type Reason: message" of the Events about `name`.
    async fn events(&self, name: &str) -> Vec<String> {
        kube_emulator::testing::events(&self.client, NS, Some(name)).await
    }

    async fn events_json(&self) -> String {
        let list = Api::<Event>::namespaced(self.client.clone(), NS)
            .list(&ListParams::default())
            .await
            .unwrap();
        serde_json::to_string(&list.items).unwrap()
    }
}

/// What the simulated PD recorded: (event, at_ms).
fn pd_events(p: &Planes) -> Vec<(String, i64)> {
    p.sandbox
        .pd
        .pd()
        .snapshot()
        .history
        .iter()
        .map(|h| {
            let e = serde_json::to_value(h.event).unwrap();
            (e.as_str().unwrap_or_default().to_string(), h.at_ms)
        })
        .collect()
}

fn count(events: &[(String, i64)], name: &str) -> usize {
    events.iter().filter(|(e, _)| e == name).count()
}

/// No secret value in the manager's or the operators' logs, the pods' logs, the Events of
/// every cluster, or the VolumeBackups' status.
async fn no_secrets_anywhere(p: &Planes, control: &Control) {
    let secrets = [p.sandbox.s3.secret_key.as_str(), p.sandbox.tidb.password()];
    assert_no_secrets("the manager's and operators' logs", &logs(), &secrets);
    let mut events = control.events_json().await;
    let mut pods = String::new();
    for ns in &p.ns {
        events.push_str(&ns.events_json().await);
        pods.push_str(&ns.pod_logs());
    }
    assert_no_secrets("the pods' logs", &pods, &secrets);
    assert_no_secrets("the Events", &events, &secrets);
    let statuses = control.vbks.list(&Default::default()).await.unwrap();
    let statuses: Vec<_> = statuses.items.iter().map(|v| &v.status).collect();
    assert_no_secrets(
        "the statuses",
        &serde_json::to_string(&statuses).unwrap(),
        &secrets,
    );
}

/// BR in the first cluster cannot pause (resolved ts is off): nothing is paused, no member
/// is created in any other cluster, and the VolumeBackup fails naming the cluster and BR's
/// reason. Deleting it leaves nothing.
#[tokio::test]
async fn an_init_that_cannot_pause_fails_the_backup_and_starts_no_other_member() {
    let p = Planes::start_n(Duration::from_secs(1), 3).await;
    let control = Control::of(&p).await;
    p.sandbox.pd.pd().set_resolved_ts_enabled(false);
    control
        .create(volume_backup(
            "vbk-init",
            &["dp-1", "dp-2", "dp-3"],
            "Delete",
        ))
        .await;
    let v = control.wait_phase("vbk-init", "Failed", 120).await;
    let failed = v
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_.as_str() == "Failed")
        .unwrap();
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("dp-1"), "{message}");
    assert!(message.contains("exceed TS 0"), "BR's own words: {message}");
    assert_eq!(count(&pd_events(&p), "schedulers_paused"), 0);
    assert!(!p.paused());
    for plane in ["dp-2", "dp-3"] {
        assert!(p.plane(plane).get("fed-vbk-init").await.is_none());
    }
    let created: Vec<String> = control
        .events("vbk-init")
        .await
        .into_iter()
        .filter(|e| e.contains("SuccessfulCreate"))
        .collect();
    assert_eq!(
        created.len(),
        1,
        "only the first cluster's member: {created:?}"
    );
    assert!(created[0].contains("dp-1"), "{created:?}");

    control.delete_and_wait_gone("vbk-init").await;
    assert!(p.plane("dp-1").get("fed-vbk-init").await.is_none());
    assert!(p.snapshots_of("fed-vbk-init").is_empty());
    no_secrets_anywhere(&p, &control).await;
    p.stop().await;
}

/// The third cluster's BR is refused CreateSnapshots: its member fails while GC and PD
/// scheduling are paused, the pause is ended at once (the simulated PD records a resume,
/// not an expiry, before the other members' snapshots are complete), every member is torn
/// down, and the VolumeBackup is `Failed` only once every member has ended. With
/// `cleanPolicy: OnFailure`, deleting it cleans the failed members; completed members keep
/// their snapshots, as their own policy says.
#[tokio::test]
async fn a_member_that_cannot_snapshot_ends_the_pause_at_once_and_fails_the_backup_last() {
    let snapshot_time = Duration::from_secs(4);
    let p = Planes::start_n(snapshot_time, 3).await;
    let control = Control::of(&p).await;
    for store in &p.sandbox.stretched[2].stores {
        p.sandbox.ec2().deny_create_snapshots(
            &store.instance_id,
            Some("You are not authorized to perform this operation."),
        );
    }
    control
        .create(volume_backup(
            "vbk-deny",
            &["dp-1", "dp-2", "dp-3"],
            "OnFailure",
        ))
        .await;
    let v = control.wait_phase("vbk-deny", "Failed", 120).await;
    // Terminal phases never change: read now, they were so when the VolumeBackup failed.
    let mut phases = Vec::new();
    let mut conditions = Vec::new();
    for plane in ["dp-1", "dp-2", "dp-3"] {
        let b = p.plane(plane).backup("fed-vbk-deny").await;
        phases.push(
            b.phase()
                .map(|ph| ph.as_str().to_string())
                .unwrap_or_default(),
        );
        conditions.push(p.conditions(plane, "fed-vbk-deny").await);
    }
    // The other members may fail too: a BR still waiting for the pause when it ends fails
    // rather than snapshot an unpaused cluster.
    assert!(
        phases[..2]
            .iter()
            .all(|ph| ph == "Complete" || ph == "Failed")
            && phases[2] == "Failed",
        "every member ended, dp-3 Failed: {phases:?} {conditions:#?}"
    );
    let completed = phases.iter().filter(|ph| *ph == "Complete").count();
    let status = v.status.unwrap();
    let failed = status
        .conditions
        .iter()
        .find(|c| c.type_.as_str() == "Failed")
        .unwrap();
    let message = failed.message.clone().unwrap_or_default();
    assert!(message.contains("dp-3"), "{message}");
    let entry = status
        .backups
        .iter()
        .find(|b| b.k8s_cluster_name.as_deref() == Some("dp-3"))
        .unwrap();
    assert!(entry.message.is_some(), "dp-3's entry says why: {entry:?}");

    let pd = pd_events(&p);
    assert_eq!(count(&pd, "schedulers_paused"), 1, "{pd:?}");
    assert_eq!(count(&pd, "schedulers_resumed"), 1, "{pd:?}");
    assert_eq!(
        count(&pd, "schedulers_expired") + count(&pd, "gc_expired"),
        0
    );
    let resumed_at = pd
        .iter()
        .find(|(e, _)| e == "schedulers_resumed")
        .unwrap()
        .1;
    if let Some(first_done) = p
        .snapshots_of("fed-vbk-deny")
        .iter()
        .map(|s| s.started.as_millisecond() + snapshot_time.as_millis() as i64)
        .min()
    {
        assert!(
            resumed_at < first_done,
            "the pause ended before any healthy snapshot was complete"
        );
    }
    assert!(status.time_resumed.is_some() && status.pause_window.is_some());

    control.delete_and_wait_gone("vbk-deny").await;
    for plane in ["dp-1", "dp-2", "dp-3"] {
        assert!(p.plane(plane).get("fed-vbk-deny").await.is_none());
    }
    assert_eq!(
        p.snapshots_of("fed-vbk-deny").len(),
        4 * completed,
        "the completed members keep their snapshots under OnFailure, the failed ones none"
    );
    no_secrets_anywhere(&p, &control).await;
    p.stop().await;
}

/// The third cluster stops answering after the pause has ended, while the snapshots are
/// being copied: a Warning names it, its reachability metric drops, and the backup waits;
/// once it answers again the backup completes. Deleting it with `cleanPolicy: Retain`
/// removes the members and keeps every snapshot.
#[tokio::test]
async fn a_data_plane_silent_mid_backup_is_waited_for_and_the_backup_completes() {
    let p = Planes::start_n(Duration::from_secs(6), 3).await;
    let control = Control::of(&p).await;
    let federation = p.sandbox.federation.as_ref().unwrap();
    let metrics = federation.metrics_addr.to_string();
    // The manager reaches dp-3 through a link the test can cut.
    let dp3 = p.sandbox.cluster("dp-3").unwrap();
    let link = Proxy::start(dp3.addr).await;
    let kubeconfig = std::fs::read_to_string(&federation.kubeconfig).unwrap();
    let rerouted = kubeconfig.replace(&dp3.url(), &format!("https://{}", link.addr));
    assert_ne!(rerouted, kubeconfig);
    std::fs::write(&federation.kubeconfig, rerouted).unwrap();
    wait_metric(
        &metrics,
        "tibr_federation_kubeconfig_loads_total{outcome=\"loaded\"} 2",
    )
    .await;

    control
        .create(volume_backup(
            "vbk-cut",
            &["dp-1", "dp-2", "dp-3"],
            "Retain",
        ))
        .await;
    control
        .wait_condition("vbk-cut", "SnapshotsCreated", 120)
        .await;
    link.cut();
    wait_metric(
        &metrics,
        "tibr_federation_member_reachable{cluster=\"dp-3\"} 0",
    )
    .await;
    tibr_testkit::wait_until(60, "a Warning naming dp-3", || async {
        control
            .events("vbk-cut")
            .await
            .into_iter()
            .find(|e| e.starts_with("Warning") && e.contains("dp-3"))
    })
    .await;
    let v = control.vbks.get("vbk-cut").await.unwrap();
    assert_eq!(
        v.status.as_ref().unwrap().phase.as_ref().unwrap().as_str(),
        "SnapshotsCreated",
        "the backup waits for dp-3"
    );
    link.restore();
    let v = control.wait_phase("vbk-cut", "Complete", 120).await;
    assert_eq!(v.status.unwrap().backups.len(), 3);
    let pd = pd_events(&p);
    assert_eq!(count(&pd, "schedulers_paused"), 1);
    assert_eq!(count(&pd, "schedulers_resumed"), 1);

    control.delete_and_wait_gone("vbk-cut").await;
    for plane in ["dp-1", "dp-2", "dp-3"] {
        assert!(p.plane(plane).get("fed-vbk-cut").await.is_none());
    }
    assert_eq!(
        p.snapshots_of("fed-vbk-cut").len(),
        12,
        "Retain keeps every snapshot"
    );
    assert!(!p.objects("vbk-cut-dp-3").is_empty(), "and every file");
    link.stop();
    no_secrets_anywhere(&p, &control).await;
    p.stop().await;
}

/// A cluster name the kubeconfig does not know: `Invalid`, naming it and the names it
/// knows, with a Warning; nothing is created or paused. It can be deleted at once.
#[tokio::test]
async fn an_unknown_cluster_name_is_invalid_and_nothing_starts() {
    let p = Planes::start_n(Duration::from_secs(1), 3).await;
    let control = Control::of(&p).await;
    control
        .create(volume_backup("vbk-unknown", &["dp-1", "dp-9"], "Delete"))
        .await;
    let v = control.wait_phase("vbk-unknown", "Invalid", 60).await;
    let invalid = v
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_.as_str() == "Invalid")
        .unwrap();
    let message = invalid.message.unwrap_or_default();
    assert_eq!(invalid.reason.as_deref(), Some("UnknownKubernetesCluster"));
    for name in ["dp-9", "dp-1", "dp-2", "dp-3"] {
        assert!(message.contains(name), "{name} in: {message}");
    }
    let events = control.events("vbk-unknown").await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Warning UnknownKubernetesCluster") && e.contains("dp-9")),
        "{events:?}"
    );
    assert!(p.plane("dp-1").get("fed-vbk-unknown").await.is_none());
    assert_eq!(count(&pd_events(&p), "schedulers_paused"), 0);
    control.delete_and_wait_gone("vbk-unknown").await;
    no_secrets_anywhere(&p, &control).await;
    p.stop().await;
}

/// Waits until the manager's metrics hold `line`.
async fn wait_metric(addr: &str, line: &str) {
    tibr_testkit::wait_until(60, &format!("metric {line}"), || async {
        let body = tibr_sandbox::demo::http_get(addr, "/metrics").await.ok()?;
        body.lines().any(|l| l == line).then_some(())
    })
    .await;
}
