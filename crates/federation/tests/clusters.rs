//! Member clusters that stop answering, kubeconfigs that change under the running manager,
//! contexts without a usable client, deletion with a cluster gone, and leader election.
//! Every poll is an hour away (`Fed::settings`) but the waits on a cluster that does not
//! answer, which the decisions keep short here.

mod common;

use std::time::Duration;

use common::{CLUSTERS, Fed, SYSTEM, condition, phase, phase_of, resumes, wait_until};
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, api::DeleteParams};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cluster_that_stops_answering_is_waited_for_loudly_and_picked_up_again() {
    let fed = Fed::start(3).await;
    let manager = fed.start_manager(fed.settings()).await;
    fed.create_vbk("vbk1", &CLUSTERS).await;
    let (k8s1, k8s2) = (fed.plane("k8s1"), fed.plane("k8s2"));
    k8s1.wait_member("vbk1", "the initialize member", |_| true)
        .await;
    k8s1.report("vbk1", "VolumeBackupInitialized", json!({}))
        .await;
    for p in &fed.planes {
        p.wait_member("vbk1", "a member", |_| true).await;
    }
    manager
        .wait_metric("tibr_federation_member_reachable{cluster=\"k8s2\"}", 1.0)
        .await;

    // k8s2 stops answering the manager; every data plane goes on and reports snapshots.
    k8s2.proxy.cut();
    for p in &fed.planes {
        p.report("vbk1", "VolumeBackupSnapshotsCreated", json!({}))
            .await;
    }
    manager
        .wait_metric("tibr_federation_member_reachable{cluster=\"k8s2\"}", 0.0)
        .await;
    let warning = fed
        .wait_event("vbk1", "KubernetesClusterUnreachable", "k8s2")
        .await;
    assert!(warning.starts_with("Warning "), "{warning}");
    let waiting = fed
        .wait_vbk("vbk1", "k8s2's entry saying it does not answer", |v| {
            v.status.as_ref().unwrap().backups[1].reason.as_deref()
                == Some("KubernetesClusterUnreachable")
        })
        .await;
    assert_eq!(phase_of(&waiting), "Running");
    // Decided without k8s2's snapshots: no resume.
    assert!(!resumes(&k8s1.member("vbk1").await.unwrap()));

    // Back: the protocol goes on.
    k8s2.proxy.restore();
    k8s1.wait_member("vbk1", "resumeGcSchedule", resumes).await;
    manager
        .wait_metric("tibr_federation_member_reachable{cluster=\"k8s2\"}", 1.0)
        .await;
    fed.wait_vbk("vbk1", "k8s2's entry read again", |v| {
        let e = &v.status.as_ref().unwrap().backups[1];
        e.reason.is_none()
            && e.phase
                .as_ref()
                .is_some_and(|p| p.as_str() == "VolumeBackupSnapshotsCreated")
    })
    .await;
    fed.assert_no_secrets().await;
    manager.stop().await.unwrap();
    fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_reload_adds_a_cluster_and_the_volume_backup_naming_it_starts() {
    let fed = Fed::start(3).await;
    fed.write_kubeconfig(&["k8s1", "k8s2"]);
    let manager = fed.start_manager(fed.settings()).await;
    fed.create_vbk("vbk1", &CLUSTERS).await;
    let invalid = fed.wait_phase("vbk1", "Invalid").await;
    let (_, reason, message) = condition(&invalid, "Invalid").unwrap();
    assert_eq!(reason, "UnknownKubernetesCluster");
    assert!(
        message.contains("k8s3") && message.contains("k8s1") && message.contains("k8s2"),
        "{message}"
    );
    assert!(fed.plane("k8s1").member("vbk1").await.is_none());

    // A file that is no kubeconfig (here with a token in it) changes nothing, and is not
    // quoted anywhere.
    let planted = "planted-kubeconfig-token-0003";
    fed.swap_in(&format!(
        "users:\n- name: x\n  user: {{token: {planted}\n  oops: [\n"
    ));
    manager
        .wait_metric(
            "tibr_federation_kubeconfig_loads_total{outcome=\"failed\"}",
            1.0,
        )
        .await;
    assert_eq!(
        manager.metric("tibr_federation_member_clusters").await,
        Some(2.0)
    );
    tibr_testkit::status::assert_no_secrets("the logs", &common::logs(), &[planted]);

    // k8s3 added: the registry's wake starts the VolumeBackup (its own look again is an
    // hour away).
    fed.write_kubeconfig(&CLUSTERS);
    fed.plane("k8s1")
        .wait_member("vbk1", "the initialize member", |b| {
            phase(b).as_deref() == Some("initialize")
        })
        .await;
    let running = fed.wait_phase("vbk1", "Running").await;
    assert_eq!(condition(&running, "Invalid").unwrap().0, "False");
    assert_eq!(
        manager.metric("tibr_federation_member_clusters").await,
        Some(3.0)
    );
    fed.assert_no_secrets().await;
    manager.stop().await.unwrap();
    fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_without_a_usable_client_is_reported_and_nothing_is_paused() {
    let fed = Fed::start(3).await;
    // k8s3's certificate authority is not base64: no client can be built for it.
    let good = std::fs::read_to_string(&fed.kubeconfig).unwrap();
    let mut doc: serde_json::Value = yaml_serde::from_str(&good).unwrap();
    doc["clusters"][2]["cluster"]["certificate-authority-data"] = json!("not base64 at all!");
    fed.swap_in(&yaml_serde::to_string(&doc).unwrap());
    let manager = fed.start_manager(fed.settings()).await;
    manager
        .wait_metric("tibr_federation_member_reachable{cluster=\"k8s3\"}", 0.0)
        .await;
    fed.create_vbk("vbk1", &CLUSTERS).await;
    let warning = fed
        .wait_event("vbk1", "KubernetesClusterUnreachable", "k8s3")
        .await;
    assert!(warning.contains("no client can be built"), "{warning}");
    assert!(warning.contains("nothing is paused"), "{warning}");
    assert_eq!(phase_of(&fed.vbk("vbk1").await.unwrap()), "Running");
    assert!(fed.plane("k8s1").member("vbk1").await.is_none());

    fed.swap_in(&good);
    fed.plane("k8s1")
        .wait_member("vbk1", "the initialize member", |_| true)
        .await;
    manager.stop().await.unwrap();
    fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_waits_for_a_silent_cluster_until_its_context_is_removed() {
    let fed = Fed::start(3).await;
    let manager = fed.start_manager(fed.settings()).await;
    fed.create_vbk("vbk1", &CLUSTERS).await;
    let k8s1 = fed.plane("k8s1");
    k8s1.wait_member("vbk1", "the initialize member", |_| true)
        .await;
    k8s1.report("vbk1", "VolumeBackupInitialized", json!({}))
        .await;
    for p in &fed.planes {
        p.wait_member("vbk1", "a member", |_| true).await;
    }

    // k8s3 does not answer: the deletion waits for it, and says how to give up.
    fed.plane("k8s3").proxy.cut();
    fed.vbks()
        .delete("vbk1", &DeleteParams::default())
        .await
        .unwrap();
    // A reconcile between the cut and the deletion may first warn that the backup cannot be
    // carried on; the deletion's own warning is the one that says how to give up.
    let warning = fed
        .wait_event(
            "vbk1",
            "KubernetesClusterUnreachable",
            "remove this context",
        )
        .await;
    assert!(warning.contains("k8s3"), "{warning}");
    for p in &fed.planes[..2] {
        wait_until(
            common::WAIT,
            &format!("the member in {} deleted", p.name),
            || async { p.member("vbk1").await.is_none().then_some(()) },
        )
        .await;
    }
    assert!(fed.vbk("vbk1").await.is_some(), "waits for k8s3");

    // Its context removed: the member there is left, said so, and the deletion ends.
    fed.write_kubeconfig(&["k8s1", "k8s2"]);
    wait_until(common::WAIT, "VolumeBackup vbk1 gone", || async {
        fed.vbk("vbk1").await.is_none().then_some(())
    })
    .await;
    let kept = fed.wait_event("vbk1", "MemberDataKept", "k8s3").await;
    assert!(
        kept.contains("kubectl --context k8s3 -n ns3 get backup fed-vbk1"),
        "{kept}"
    );
    assert!(fed.plane("k8s3").member("vbk1").await.is_some());
    manager.stop().await.unwrap();
    fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_manager_acts_at_a_time_and_a_successor_takes_over_on_handover() {
    let fed = Fed::start(1).await;
    let settings = |pod: &str| {
        let mut s = fed.settings();
        s.pod_name = Some(pod.to_string());
        s.leader_election = Some(tibr_federation::LeaderElection {
            namespace: Some(SYSTEM.to_string()),
            lease_duration: Duration::from_secs(2),
            renew_deadline: Duration::from_millis(1500),
            retry_period: Duration::from_millis(200),
            ..tibr_federation::LeaderElection::default()
        });
        s
    };
    let leases: Api<Lease> = Api::namespaced(fed.client.clone(), SYSTEM);
    let holder = || async {
        leases
            .get_opt(tibr_federation::LEASE_NAME)
            .await
            .unwrap()
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity)
    };
    let a = fed.start_manager(settings("manager-a")).await;
    a.wait_metric("tibr_federation_leader", 1.0).await;
    assert_eq!(holder().await.as_deref(), Some("manager-a"));
    let b = fed.start_manager(settings("manager-b")).await;

    fed.create_vbk("vbk1", &["k8s1"]).await;
    let k8s1 = fed.plane("k8s1");
    k8s1.wait_member("vbk1", "the initialize member", |_| true)
        .await;
    assert_eq!(b.metric("tibr_federation_leader").await, Some(0.0));
    assert_eq!(holder().await.as_deref(), Some("manager-a"));

    // a hands the Lease back on shutdown; b takes it and carries the backup on.
    a.stop().await.unwrap();
    b.wait_metric("tibr_federation_leader", 1.0).await;
    assert_eq!(holder().await.as_deref(), Some("manager-b"));
    k8s1.report("vbk1", "VolumeBackupInitialized", json!({}))
        .await;
    k8s1.wait_member("vbk1", "the member sent to execute by b", |m| {
        phase(m).as_deref() == Some("execute")
    })
    .await;
    fed.assert_calls_documented();
    b.stop().await.unwrap();
    fed.stop().await;
}
