//! The failures of spec-federation §2.5 that concern one data plane, each in its own sandbox:
//! what the member Backup says, and — read from the simulated PD — that GC and PD scheduling
//! run again whatever happened; snapshots are never left behind after `Delete`.

mod support;

use std::time::Duration;

use serde_json::json;
use support::volume::{Planes, counts, env};
use tibr_cloud_sim::ec2::Throttle;

const NAME: &str = "fed-vbk1";
const FIRST: &str = "dp-1";

/// The first plane's member in `initialize` until GC and scheduling are paused.
async fn initialized(p: &Planes, extra: serde_json::Value) {
    p.apply_member(FIRST, NAME, "initialize", extra).await;
    p.wait_condition(FIRST, NAME, "VolumeBackupInitialized", 60)
        .await;
    assert!(p.paused());
}

async fn resumed(p: &Planes) {
    tibr_testkit::wait_until(30, "GC and PD scheduling to run again", || async {
        (!p.paused()).then_some(())
    })
    .await;
}

fn reason(conditions: &[(String, String)], type_: &str) -> String {
    conditions
        .iter()
        .find(|(t, _)| t == type_)
        .map(|(_, r)| r.clone())
        .unwrap_or_else(|| panic!("no {type_} in {conditions:?}"))
}

/// Resolved ts disabled: BR cannot pause (`GC safepoint … exceed TS 0`), nothing is paused,
/// and teardown ends the member Failed.
#[tokio::test]
async fn an_init_br_that_cannot_pause_fails_the_member_and_pauses_nothing() {
    let p = Planes::start(Duration::from_secs(1)).await;
    p.sandbox.pd.pd().set_resolved_ts_enabled(false);
    p.apply_member(FIRST, NAME, "initialize", json!({})).await;
    let b = p
        .wait_condition(FIRST, NAME, "VolumeBackupInitializeFailed", 60)
        .await;
    let c = b
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_.as_str() == "VolumeBackupInitializeFailed")
        .unwrap();
    assert_eq!(c.reason.as_deref(), Some("PauseGcAndSchedulersFailed"));
    assert!(
        c.message
            .as_deref()
            .unwrap_or_default()
            .contains("exceed TS 0"),
        "BR's own words: {c:?}"
    );
    assert!(!p.paused());
    assert!(!counts(&p.pd_history()).contains_key("schedulers_paused"));
    p.patch_spec(
        FIRST,
        NAME,
        json!({"federalVolumeBackupPhase": "teardown", "resumeGcSchedule": true}),
    )
    .await;
    p.plane(FIRST).wait_phase(NAME, "Failed", 60).await;
    p.stop().await;
}

/// The init Job's deadline passes before the resume is asked: the Job's pod is stopped, BR
/// lifts the pause, and the member fails, naming why.
#[tokio::test]
async fn the_init_deadline_ends_the_pause_and_fails_the_member() {
    let p = Planes::start(Duration::from_secs(1)).await;
    initialized(&p, json!({"volumeBackupInitJobMaxActiveSeconds": 4})).await;
    let b = p
        .wait_condition(FIRST, NAME, "VolumeBackupInitializeFailed", 60)
        .await;
    let conditions: Vec<(String, String)> = b
        .status
        .unwrap()
        .conditions
        .into_iter()
        .map(|c| (c.type_.as_str().to_string(), c.reason.unwrap_or_default()))
        .collect();
    assert_eq!(
        reason(&conditions, "VolumeBackupInitializeFailed"),
        "InitializeJobCompletedOrFailed"
    );
    resumed(&p).await;
    let c = counts(&p.pd_history());
    assert_eq!(
        c.get("schedulers_resumed"),
        Some(&1),
        "BR lifted the pause itself"
    );
    p.stop().await;
}

/// Someone deletes the init Job: BR lifts the pause as its pod stops, and the member fails.
#[tokio::test]
async fn a_deleted_init_job_fails_the_member_and_the_pause_ends() {
    let p = Planes::start(Duration::from_secs(1)).await;
    initialized(&p, json!({})).await;
    p.shell
        .ok(&[
            "--context",
            FIRST,
            "-n",
            "test1",
            "delete",
            "job",
            "backup-fed-vbk1-init",
        ])
        .await;
    p.wait_condition(FIRST, NAME, "VolumeBackupInitializeFailed", 60)
        .await;
    assert_eq!(
        reason(
            &p.conditions(FIRST, NAME).await,
            "VolumeBackupInitializeFailed"
        ),
        "InitializeJobDeleted"
    );
    resumed(&p).await;
    p.stop().await;
}

/// BR fails after some of its snapshot requests: it deletes what it created, the member is
/// `VolumeBackupFailed`, and the failed plane stops its init Job at once, so the pause ends
/// without waiting for the federation.
#[tokio::test]
async fn an_execute_br_that_fails_midway_deletes_its_snapshots_and_ends_the_pause() {
    let p = Planes::start(Duration::from_secs(1)).await;
    initialized(&p, json!({})).await;
    p.apply_member(
        FIRST,
        NAME,
        "execute",
        env(&[("BR_SIM_EBS_FAIL_AFTER_CREATES", "1")]),
    )
    .await;
    let b = p
        .wait_condition(FIRST, NAME, "VolumeBackupFailed", 60)
        .await;
    let failed = b
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|c| c.type_.as_str() == "VolumeBackupFailed")
        .unwrap()
        .clone();
    assert_eq!(failed.reason.as_deref(), Some("BackupDataToRemoteFailed"));
    resumed(&p).await;
    tibr_testkit::wait_until(30, "BR's own cleanup of its snapshots", || async {
        p.sandbox.ec2().snapshots().is_empty().then_some(())
    })
    .await;
    p.stop().await;
}

/// A snapshot ends in `error`: BR fails instead of waiting forever, the pause ends, and
/// nothing is left after the member is deleted.
#[tokio::test]
async fn a_snapshot_in_error_fails_the_member_and_leaves_nothing_after_delete() {
    let p = Planes::start(Duration::from_secs(2)).await;
    initialized(&p, json!({})).await;
    p.sandbox
        .ec2()
        .fail_next_snapshots(1, "the snapshot could not be completed");
    p.apply_member(FIRST, NAME, "execute", json!({})).await;
    p.wait_condition(FIRST, NAME, "VolumeBackupFailed", 90)
        .await;
    resumed(&p).await;
    p.patch_spec(
        FIRST,
        NAME,
        json!({"federalVolumeBackupPhase": "teardown", "resumeGcSchedule": true}),
    )
    .await;
    p.plane(FIRST).wait_phase(NAME, "Failed", 60).await;
    p.plane(FIRST).delete_backup(NAME).await;
    p.plane(FIRST).wait_gone(NAME, 90).await;
    assert!(p.sandbox.ec2().snapshots().is_empty());
    assert!(p.objects("vbk1-dp-1").is_empty());
    p.stop().await;
}

/// The region's pending-snapshot limit: BR retries the refused requests and the backup
/// completes.
#[tokio::test]
async fn the_pending_snapshot_limit_delays_but_does_not_fail_the_backup() {
    let p = Planes::start(Duration::from_secs(2)).await;
    initialized(&p, json!({})).await;
    p.sandbox.ec2().set_pending_limit(Some(2));
    p.apply_member(
        FIRST,
        NAME,
        "execute",
        env(&[("BR_SIM_EBS_PENDING_RETRY_MS", "300")]),
    )
    .await;
    p.wait_condition(FIRST, NAME, "VolumeBackupComplete", 90)
        .await;
    let refused = p
        .sandbox
        .ec2()
        .calls()
        .iter()
        .filter(|c| c.error.as_deref() == Some("PendingSnapshotLimitExceeded"))
        .count();
    assert!(refused > 0, "the limit was hit");
    assert_eq!(p.snapshots_of(NAME).len(), 4);
    p.stop().await;
}

/// Deleting under EC2 throttling, and with `backupmeta` gone: the snapshots are found by the
/// Backup's tag, every one is deleted, and the clean says how they were found.
#[tokio::test]
async fn a_throttled_delete_without_backupmeta_still_leaves_no_snapshot() {
    let p = Planes::start(Duration::from_secs(1)).await;
    initialized(&p, json!({})).await;
    p.patch_spec(FIRST, NAME, json!({"federalVolumeBackupPhase": "execute"}))
        .await;
    p.wait_condition(FIRST, NAME, "VolumeBackupSnapshotsCreated", 60)
        .await;
    p.patch_spec(FIRST, NAME, json!({"resumeGcSchedule": true}))
        .await;
    p.wait_condition(FIRST, NAME, "VolumeBackupComplete", 60)
        .await;
    p.patch_spec(
        FIRST,
        NAME,
        json!({"federalVolumeBackupPhase": "teardown", "cleanOption": {"snapshotsDeleteRatio": 2.0}}),
    )
    .await;
    p.plane(FIRST).wait_phase(NAME, "Complete", 60).await;
    assert_eq!(p.snapshots_of(NAME).len(), 4);

    // s3s-fs keeps each object as a file.
    std::fs::remove_file(p.sandbox.s3.data_dir.join("my-bucket/vbk1-dp-1/backupmeta")).unwrap();
    p.sandbox
        .ec2()
        .set_throttle(Some(Throttle::new(1.0).burst(1).only(&["DeleteSnapshot"])));
    p.plane(FIRST).delete_backup(NAME).await;
    p.plane(FIRST).wait_gone(NAME, 180).await;
    assert!(p.snapshots_of(NAME).is_empty());
    assert!(p.objects("vbk1-dp-1").is_empty());
    let throttled = p
        .sandbox
        .ec2()
        .calls()
        .iter()
        .filter(|c| {
            c.operation == "DeleteSnapshot" && c.error.as_deref() == Some("RequestLimitExceeded")
        })
        .count();
    assert!(throttled > 0, "EC2 throttled the deletions");
    let events = p.plane(FIRST).events(Some(NAME)).await;
    assert!(
        events
            .iter()
            .any(|e| e.contains("found by the Backup's uid tag")),
        "{events:?}"
    );
    p.stop().await;
}
