//! The protocol against real API servers: a control plane and three data planes, the manager
//! in this process, and the test in the role of each data plane's operator.
//!
//! Every poll of the manager is an hour away in these tests (`Fed::settings`), and the test
//! never touches a VolumeBackup after creating it: whatever the manager does after a member
//! changed, it did because the member's watch woke it, not a resync.

mod common;

use common::{CLUSTERS, Fed, NS, condition, phase, phase_of, resumes};
use kube::api::DeleteParams;
use serde_json::json;

const TSOS: [&str; 3] = [
    "450000000000000003",
    "450000000000000001",
    "450000000000000002",
];
const GIB: i64 = 1 << 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_backup_runs_to_complete_driven_by_member_watches() {
    let fed = Fed::start(3).await;
    let manager = fed.start_manager(fed.settings()).await;
    fed.create_vbk("vbk1", &CLUSTERS).await;
    let (k8s1, k8s2, k8s3) = (fed.plane("k8s1"), fed.plane("k8s2"), fed.plane("k8s3"));

    // The initialize member, as TiDB's manager writes it.
    let init = k8s1
        .wait_member("vbk1", "the initialize member", |b| {
            phase(b).as_deref() == Some("initialize")
        })
        .await;
    let spec = serde_json::to_value(&init.spec).unwrap();
    assert_eq!(spec["backupMode"], "volume-snapshot");
    assert_eq!(spec["br"]["cluster"], "tc1");
    assert_eq!(spec["br"]["clusterNamespace"], "ns1");
    assert_eq!(spec["s3"]["prefix"], "daily/vbk1-k8s1");
    assert_eq!(spec["volumeBackupInitJobMaxActiveSeconds"], 300);
    assert_eq!(
        init.metadata.annotations.as_ref().unwrap()["iam.amazonaws.com/role"],
        "arn:aws:iam::123456789012:role/backup"
    );
    assert_eq!(
        init.metadata
            .managed_fields
            .as_ref()
            .and_then(|f| f[0].manager.clone())
            .as_deref(),
        Some("tibr-federation")
    );
    // The status written after that decision: nothing else was created by it.
    let running = fed
        .wait_vbk("vbk1", "Running with the init member recorded", |v| {
            phase_of(v) == "Running" && v.status.as_ref().unwrap().backups.len() == 1
        })
        .await;
    assert!(
        running
            .metadata
            .finalizers
            .unwrap()
            .contains(&"tidb.pingcap.com/backup-protection".to_string())
    );
    assert!(k8s2.member("vbk1").await.is_none() && k8s3.member("vbk1").await.is_none());

    // GC and PD scheduling paused: the other members at once, the first one to execute.
    k8s1.report("vbk1", "VolumeBackupInitialized", json!({}))
        .await;
    let initialized = k8s1.member("vbk1").await.unwrap();
    for p in [k8s2, k8s3] {
        let m = p
            .wait_member("vbk1", "the execute member", |b| {
                phase(b).as_deref() == Some("execute")
            })
            .await;
        assert_eq!(
            serde_json::to_value(&m.spec).unwrap()["s3"]["prefix"],
            format!("daily/vbk1-{}", p.name)
        );
        // Only the initialize member carries the template's deadline (the CRD's default
        // fills the field in the others).
        assert_ne!(m.spec.volume_backup_init_job_max_active_seconds, Some(300));
        // Ordered after the report that caused it.
        let reported = initialized.status.as_ref().unwrap().conditions[0]
            .last_transition_time
            .clone()
            .unwrap();
        assert!(m.metadata.creation_timestamp.unwrap().0 >= reported.0);
    }
    k8s1.wait_member("vbk1", "the initialize member sent to execute", |b| {
        phase(b).as_deref() == Some("execute") && !resumes(b)
    })
    .await;

    // The resume comes with the last member's snapshots, not before.
    for p in [k8s1, k8s2] {
        p.report("vbk1", "VolumeBackupSnapshotsCreated", json!({}))
            .await;
    }
    fed.wait_vbk("vbk1", "k8s2's snapshots seen", |v| {
        v.status.as_ref().unwrap().backups[1]
            .phase
            .as_ref()
            .is_some_and(|p| p.as_str() == "VolumeBackupSnapshotsCreated")
    })
    .await;
    assert!(!resumes(&k8s1.member("vbk1").await.unwrap()));
    k8s3.report("vbk1", "VolumeBackupSnapshotsCreated", json!({}))
        .await;
    k8s1.wait_member("vbk1", "resumeGcSchedule", common::resumes)
        .await;
    k8s1.report("vbk1", "VolumeBackupInitializeComplete", json!({}))
        .await;
    let snapshots = fed.wait_phase("vbk1", "SnapshotsCreated").await;
    let status = snapshots.status.unwrap();
    assert!(status.time_paused.is_some() && status.time_resumed.is_some());
    assert!(status.pause_window.is_some(), "{status:?}");

    // Each member completes; all are torn down; the VolumeBackup completes.
    for (i, p) in [k8s1, k8s2, k8s3].into_iter().enumerate() {
        p.report(
            "vbk1",
            "VolumeBackupComplete",
            json!({"commitTs": TSOS[i], "backupSize": (i as i64 + 1) * GIB,
                   "backupPath": format!("s3://my-bucket/daily/vbk1-{}", p.name)}),
        )
        .await;
    }
    for p in [k8s1, k8s2, k8s3] {
        p.wait_member("vbk1", "teardown", |b| {
            phase(b).as_deref() == Some("teardown")
        })
        .await;
        p.report("vbk1", "Complete", json!({})).await;
    }
    let done = fed.wait_phase("vbk1", "Complete").await;
    let status = done.status.clone().unwrap();
    assert_eq!(status.commit_ts.as_deref(), Some("450000000000000001"));
    assert_eq!(status.backup_size, Some(6 * GIB));
    assert_eq!(
        status
            .backups
            .iter()
            .map(|b| (
                b.k8s_cluster_name.clone().unwrap(),
                b.backup_path.clone().unwrap()
            ))
            .collect::<Vec<_>>(),
        CLUSTERS
            .iter()
            .map(|c| (c.to_string(), format!("s3://my-bucket/daily/vbk1-{c}")))
            .collect::<Vec<_>>()
    );
    assert!(condition(&done, "Complete").unwrap().1 == "AllMembersComplete");

    let events = fed.events("vbk1").await;
    for expected in [
        "Normal SuccessfulCreate: created Backup ns1/fed-vbk1 in Kubernetes cluster k8s1 in phase initialize",
        "Normal SuccessfulCreate: created Backup ns2/fed-vbk1 in Kubernetes cluster k8s2 in phase execute",
        "Normal MemberUpdated: set resumeGcSchedule on Backup ns1/fed-vbk1 in Kubernetes cluster k8s1",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} in {events:#?}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Normal AllMembersComplete:"))
    );

    // TiDB's series, under their names; ours.
    let tc = format!("namespace=\"{NS}\",tc=\"tc1,tc2,tc3\"");
    manager
        .wait_metric(
            &format!("fed_volume_backup_status{{{tc},status=\"Complete\"}}"),
            1.0,
        )
        .await;
    assert_eq!(
        manager
            .metric(&format!(
                "fed_volume_backup_status{{{tc},status=\"Failed\"}}"
            ))
            .await,
        Some(0.0)
    );
    assert_eq!(
        manager
            .metric(&format!("fed_volume_backup_total_size_gb{{{tc}}}"))
            .await,
        Some(6.0)
    );
    assert_eq!(
        manager
            .metric("tibr_federation_pause_window_seconds_count")
            .await,
        Some(1.0)
    );
    assert_eq!(
        manager
            .metric("tibr_federation_member_reachable{cluster=\"k8s3\"}")
            .await,
        Some(1.0)
    );
    let text = manager.metrics().await;
    assert!(
        !text.contains("tibr_federation_reconcile_errors_total{"),
        "no reconcile failed, so nothing was retried:\n{text}"
    );

    let (by_manager, by_member) = fed.assert_calls_documented();
    assert!(by_manager > 0 && by_member > 0);
    fed.assert_no_secrets().await;
    manager.stop().await.unwrap();
    fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_member_resumes_and_tears_down_at_once_and_fails_the_backup_only_at_the_end() {
    let fed = Fed::start(3).await;
    let manager = fed.start_manager(fed.settings()).await;
    fed.create_vbk("vbk2", &CLUSTERS).await;
    let (k8s1, k8s2, k8s3) = (fed.plane("k8s1"), fed.plane("k8s2"), fed.plane("k8s3"));
    k8s1.wait_member("vbk2", "the initialize member", |_| true)
        .await;
    k8s1.report("vbk2", "VolumeBackupInitialized", json!({}))
        .await;
    k8s3.wait_member("vbk2", "the execute member", |_| true)
        .await;
    k8s1.report("vbk2", "VolumeBackupSnapshotsCreated", json!({}))
        .await;

    // BR fails in k8s3: the resume and every teardown are written by the same decision.
    k8s3.report("vbk2", "VolumeBackupFailed", json!({})).await;
    let failed = k8s3.member("vbk2").await.unwrap();
    let mut status = serde_json::to_value(failed.status.unwrap()).unwrap();
    status["conditions"][0]["reason"] = json!("BackupDataToRemoteFailed");
    status["conditions"][0]["message"] = json!("br exited with code 1");
    k8s3.backups("ns3")
        .patch_status(
            "fed-vbk2",
            &Default::default(),
            &kube::api::Patch::Merge(&json!({"status": status})),
        )
        .await
        .unwrap();
    k8s1.wait_member("vbk2", "teardown and resume", |b| {
        phase(b).as_deref() == Some("teardown") && resumes(b)
    })
    .await;
    for p in [k8s2, k8s3] {
        p.wait_member("vbk2", "teardown", |b| {
            phase(b).as_deref() == Some("teardown")
        })
        .await;
    }
    let seen = fed
        .wait_vbk("vbk2", "k8s3's failure recorded", |v| {
            v.status.as_ref().unwrap().backups[2].reason.as_deref()
                == Some("BackupDataToRemoteFailed")
        })
        .await;
    assert_eq!(
        phase_of(&seen),
        "Running",
        "members still run: not Failed yet"
    );

    // Two members end; the VolumeBackup waits for the third.
    k8s3.report("vbk2", "Failed", json!({})).await;
    k8s1.report("vbk2", "Failed", json!({})).await;
    let waiting = fed
        .wait_vbk("vbk2", "k8s1's end recorded", |v| {
            v.status.as_ref().unwrap().backups[0]
                .phase
                .as_ref()
                .is_some_and(|p| p.as_str() == "Failed")
        })
        .await;
    assert_eq!(phase_of(&waiting), "Running");
    k8s2.report("vbk2", "Complete", json!({})).await;
    let done = fed.wait_phase("vbk2", "Failed").await;
    let (_, reason, message) = condition(&done, "Failed").unwrap();
    assert_eq!(reason, "VolumeBackupMemberFailed");
    assert!(
        message.contains("Kubernetes cluster k8s3") && message.contains("br exited with code 1"),
        "{message}"
    );
    fed.wait_event("vbk2", "VolumeBackupMemberFailed", "k8s3")
        .await;
    manager
        .wait_metric(
            &format!("fed_volume_backup_status{{namespace=\"{NS}\",tc=\"tc1,tc2,tc3\",status=\"Failed\"}}"),
            1.0,
        )
        .await;
    manager.stop().await.unwrap();
    fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_volume_backup_deletes_every_member_then_lets_go() {
    let fed = Fed::start(3).await;
    let manager = fed.start_manager(fed.settings()).await;
    fed.create_vbk("vbk3", &CLUSTERS).await;
    let k8s1 = fed.plane("k8s1");
    k8s1.wait_member("vbk3", "the initialize member", |_| true)
        .await;
    k8s1.report("vbk3", "VolumeBackupInitialized", json!({}))
        .await;
    for p in &fed.planes {
        p.wait_member("vbk3", "a member", |_| true).await;
    }
    fed.vbks()
        .delete("vbk3", &DeleteParams::default())
        .await
        .unwrap();
    common::wait_until(common::WAIT, "VolumeBackup vbk3 gone", || async {
        fed.vbk("vbk3").await.is_none().then_some(())
    })
    .await;
    for p in &fed.planes {
        assert!(
            p.member("vbk3").await.is_none(),
            "{} still has its member",
            p.name
        );
    }
    let events = fed.events("vbk3").await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.starts_with("Normal SuccessfulDelete: deleted Backup"))
            .count(),
        3,
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Normal MembersDeleted:"))
    );
    manager
        .wait_metric(
            &format!("fed_volume_backup_cleanup_status{{namespace=\"{NS}\",tc=\"tc1,tc2,tc3\",status=\"Cleaned\"}}"),
            1.0,
        )
        .await;
    fed.assert_calls_documented();
    manager.stop().await.unwrap();
    fed.stop().await;
}
