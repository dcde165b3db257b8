//! A data plane's part of a VolumeBackup, end to end, driven by hand with `kubectl` exactly
//! as TiDB's federation manager drives it (spec-federation §2.4): the member `fed-vbk1` in
//! two data planes goes through `initialize`, `execute` and `teardown`; every condition, Job
//! and status field appears in order; the simulated PD shows GC and scheduling paused from
//! the init Job's start until the resume was asked; the snapshots are in the embedded EC2,
//! tagged with their Backup; the files are in S3. Deleting the members with `Delete` leaves
//! no snapshot and no object.

mod support;

use std::time::Duration;

use serde_json::json;
use support::volume::{PLANES, Planes, counts};

const NAME: &str = "fed-vbk1";

#[tokio::test]
async fn two_data_planes_follow_the_protocol_to_complete_and_delete_leaves_nothing() {
    let p = Planes::start(Duration::from_secs(2)).await;
    let [first, second] = PLANES;

    // 1. The federation creates the initialize member in the first plane.
    p.apply_member(first, NAME, "initialize", json!({})).await;
    p.wait_condition(first, NAME, "VolumeBackupInitialized", 60)
        .await;
    let init = p.plane(first).job("backup-fed-vbk1-init").await.unwrap();
    assert_eq!(
        init.spec.as_ref().unwrap().active_deadline_seconds,
        Some(600),
        "the init Job's deadline bounds the pause"
    );
    assert!(p.paused(), "GC and scheduling are paused once Initialized");
    assert!(
        p.plane(first).job("backup-fed-vbk1").await.is_none(),
        "no snapshot before execute"
    );

    // 2. Every plane executes: the first is switched, the second created in execute.
    p.patch_spec(first, NAME, json!({"federalVolumeBackupPhase": "execute"}))
        .await;
    p.apply_member(second, NAME, "execute", json!({})).await;
    for plane in PLANES {
        p.wait_condition(plane, NAME, "VolumeBackupSnapshotsCreated", 60)
            .await;
    }
    assert!(
        p.paused(),
        "still paused until the federation asks to resume"
    );

    // 3. All snapshots requested: resume on the member that paused.
    p.patch_spec(first, NAME, json!({"resumeGcSchedule": true}))
        .await;
    p.wait_condition(first, NAME, "VolumeBackupInitializeComplete", 30)
        .await;
    tibr_testkit::wait_until(30, "GC and scheduling to run again", || async {
        (!p.paused()).then_some(())
    })
    .await;

    // 4. Snapshots complete in both planes, then teardown ends each member Complete.
    for plane in PLANES {
        p.wait_condition(plane, NAME, "VolumeBackupComplete", 60)
            .await;
        p.patch_spec(plane, NAME, json!({"federalVolumeBackupPhase": "teardown"}))
            .await;
        p.plane(plane).wait_phase(NAME, "Complete", 60).await;
    }

    let expected_first = [
        ("Scheduled", "JobCreated"),
        ("Running", ""),
        ("VolumeBackupInitialized", ""),
        ("VolumeBackupSnapshotsCreated", ""),
        ("VolumeBackupInitializeComplete", "GcAndSchedulingResumed"),
        ("VolumeBackupComplete", ""),
        ("Complete", "VolumeBackupTornDown"),
    ];
    let types =
        |c: Vec<(String, String)>| -> Vec<String> { c.into_iter().map(|(t, _)| t).collect() };
    let first_conditions = p.conditions(first, NAME).await;
    let mut want: Vec<&str> = expected_first.iter().map(|(t, _)| *t).collect();
    let mut got = types(first_conditions.clone());
    want.sort();
    got.sort();
    assert_eq!(got, want, "{first_conditions:?}");
    assert!(
        first_conditions.contains(&(
            "VolumeBackupInitializeComplete".into(),
            "GcAndSchedulingResumed".into()
        )),
        "{first_conditions:?}"
    );
    let second_conditions = types(p.conditions(second, NAME).await);
    for t in ["VolumeBackupInitialized", "VolumeBackupInitializeComplete"] {
        assert!(
            !second_conditions.iter().any(|c| c == t),
            "only the first plane pauses: {second_conditions:?}"
        );
    }

    // The record of each plane: commit ts (the resolved ts in backupmeta), sizes from the
    // blocks, its own prefix holding clustermeta, backupmeta and the TidbCluster manifest.
    let mut commits = Vec::new();
    for plane in PLANES {
        let b = p.plane(plane).backup(NAME).await;
        let s = b.status.unwrap();
        let commit: u64 = s.commit_ts.as_deref().unwrap().parse().unwrap();
        assert!(commit > 0);
        commits.push(commit);
        assert!(
            s.backup_size.unwrap() > 0,
            "{plane}: allocated blocks counted"
        );
        assert!(s.incremental_backup_size.unwrap() > 0);
        assert_eq!(
            s.backup_path.as_deref(),
            Some(format!("s3://my-bucket/vbk1-{plane}").as_str())
        );
        assert!(s.time_taken.is_some() && s.backup_size_readable.is_some());
        let progress = s
            .progresses
            .iter()
            .find(|x| x.step.as_deref() == Some("Full Backup"))
            .unwrap();
        assert_eq!(progress.progress, Some(100.0));
        let objects = p.objects(&format!("vbk1-{plane}"));
        for want in [
            "clustermeta",
            "backupmeta",
            "manifests/test1/TidbCluster/demo1.yaml",
        ] {
            assert!(
                objects.contains(&format!("vbk1-{plane}/{want}")),
                "{plane}: {want} in {objects:?}"
            );
        }
    }
    // Four volumes per plane (two stores, a data and a raft volume each), every snapshot
    // tagged with its Backup; none of the instances' root volumes.
    let snapshots = p.snapshots_of(NAME);
    assert_eq!(snapshots.len(), 8, "{snapshots:?}");
    for s in &snapshots {
        assert_eq!(
            s.tags.get("tibr.dev/tidb-cluster").map(String::as_str),
            Some("demo1")
        );
        assert!(s.tags.contains_key("tibr.dev/backup-uid"));
        assert!(
            s.tags.contains_key("kubernetes.io/created-for/pvc/name"),
            "the volume's tags are copied: {:?}",
            s.tags
        );
    }
    // One pause and one resume of each, by the same BR, and nothing expired.
    let history = p.pd_history();
    let c = counts(&history);
    for event in [
        "gc_paused",
        "gc_resumed",
        "schedulers_paused",
        "schedulers_resumed",
    ] {
        assert_eq!(c.get(event), Some(&1), "{history:?}");
    }
    assert!(!c.contains_key("gc_expired") && !c.contains_key("schedulers_expired"));

    // Deleting the members with cleanPolicy Delete leaves no snapshot and no object.
    for plane in PLANES {
        p.plane(plane).delete_backup(NAME).await;
    }
    for plane in PLANES {
        p.plane(plane).wait_gone(NAME, 90).await;
    }
    assert!(
        p.snapshots_of(NAME).is_empty(),
        "{:?}",
        p.snapshots_of(NAME)
    );
    for plane in PLANES {
        assert!(p.objects(&format!("vbk1-{plane}")).is_empty());
    }
    p.stop().await;
}

/// One member through the whole protocol in the first plane (a one-plane federation).
async fn one_plane_backup(p: &Planes, name: &str, object: serde_json::Value) {
    let plane = PLANES[0];
    p.apply_member_object(plane, name, "initialize", object)
        .await;
    p.wait_condition(plane, name, "VolumeBackupInitialized", 60)
        .await;
    p.patch_spec(plane, name, json!({"federalVolumeBackupPhase": "execute"}))
        .await;
    p.wait_condition(plane, name, "VolumeBackupSnapshotsCreated", 60)
        .await;
    p.patch_spec(plane, name, json!({"resumeGcSchedule": true}))
        .await;
    p.wait_condition(plane, name, "VolumeBackupComplete", 60)
        .await;
    p.patch_spec(plane, name, json!({"federalVolumeBackupPhase": "teardown"}))
        .await;
    p.plane(plane).wait_phase(name, "Complete", 60).await;
}

/// Who signed the EC2 calls of `operation` since `from` (an index into the call log).
fn signers(p: &Planes, from: usize, operation: &str) -> std::collections::BTreeSet<String> {
    p.sandbox.ec2().calls()[from..]
        .iter()
        .filter(|c| c.operation == operation && c.error.is_none())
        .filter_map(|c| c.principal.clone())
        .collect()
}

/// The seed document's three ways to grant access reach EC2 (BR's snapshot requests, the
/// agent's tags and block lists) and S3 with the identity each promises: the Secret's keys,
/// the role kube2iam hands the pod, the web identity of an annotated ServiceAccount.
#[tokio::test]
async fn the_three_credential_variants_reach_ec2_and_s3() {
    let p = Planes::start(Duration::from_secs(1)).await;
    let no_secret = json!({"s3": {"secretName": null}});
    // The federation copies the VolumeBackup's annotations to its members, and the
    // operator copies a Backup's annotations to its pods.
    let kube2iam = json!({"metadata": {"annotations": {"iam.amazonaws.com/role": support::ROLE}},
                          "spec": no_secret.clone()});
    let variants = [
        ("fed-keys", json!({})),
        ("fed-kube2iam", kube2iam),
        ("fed-irsa", json!({"spec": no_secret})),
    ];
    for (name, extra) in variants {
        if name == "fed-irsa" {
            // Annotated only now: a web identity in the pod would take precedence over
            // kube2iam's instance metadata, and the kube2iam run would prove nothing.
            p.shell
                .ok(&[
                    "--context",
                    PLANES[0],
                    "-n",
                    "test1",
                    "annotate",
                    "serviceaccount",
                    "tidb-backup-manager",
                    &format!("eks.amazonaws.com/role-arn={}", support::ROLE),
                ])
                .await;
        }
        let from = p.sandbox.ec2().calls().len();
        one_plane_backup(&p, name, extra).await;
        let prefix = format!("{}-{}", name.trim_start_matches("fed-"), PLANES[0]);
        let s3 = p.sandbox.cloud.credentials.uses();
        let s3_signers: std::collections::BTreeSet<String> = s3
            .into_iter()
            .filter(|(_, dir)| dir.starts_with(&format!("my-bucket/{prefix}/")))
            .map(|(who, _)| who)
            .collect();
        for operation in ["CreateSnapshots", "CreateTags", "ListSnapshotBlocks"] {
            let who = signers(&p, from, operation);
            assert!(!who.is_empty(), "{name}: no {operation}");
            for signer in who.iter().chain(&s3_signers) {
                match name {
                    "fed-keys" => assert_eq!(signer, "user/sandbox", "{name} {operation}"),
                    "fed-kube2iam" => assert!(
                        signer.starts_with("assumed-role/user/test1-backup-fed-kube2iam"),
                        "{name} {operation}: {signer}: kube2iam names the session after the pod"
                    ),
                    _ => assert!(
                        signer.starts_with("assumed-role/user/")
                            && !signer.contains("backup-fed-irsa"),
                        "{name} {operation}: {signer}: a web identity session"
                    ),
                }
            }
        }
    }
    p.stop().await;
}
