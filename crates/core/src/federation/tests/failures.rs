//! Failures of spec-federation §2.5 that concern the manager: every member is torn down at
//! the first one and GC and PD scheduling are let go at once, nothing is created after
//! it, and the VolumeBackup is `Failed` only once every member is terminal.

use tibr_api::{BackupConditionType as T, VolumeBackupConditionType as V};

use super::sim::World;
use super::*;

fn initialized() -> tibr_api::Backup {
    member("k8s1", Phase::Execute).cond(T::VolumeBackupInitialized, "2026-05-01T09:51:00Z")
}

#[test]
fn the_pause_failing_tears_the_first_member_down_and_fails_once_it_is_terminal() {
    let init = member("k8s1", Phase::Initialize).failed_with(
        T::VolumeBackupInitializeFailed,
        "PauseGcAndSchedulersFailed",
        "GC safepoint 0 exceeds TS 0",
    );
    let v = running(&["k8s1"]);
    let plan = run(&v, &observed(&[("k8s1", init.clone())]));
    assert_eq!(
        patches(&plan),
        [("k8s1".to_string(), teardown_and_resume())]
    );
    assert!(creates(&plan).is_empty(), "no member after a failure");
    assert!(
        conditions(&plan).is_empty(),
        "the first member is not terminal yet"
    );
    let entry = &plan.status.backups[0];
    assert_eq!(entry.reason.as_deref(), Some("PauseGcAndSchedulersFailed"));
    assert_eq!(
        entry.message.as_deref(),
        Some("GC safepoint 0 exceeds TS 0")
    );

    let torn = init
        .phase(Phase::Teardown)
        .resume()
        .cond(T::Failed, "2026-05-01T09:58:30Z");
    let plan = run(&v, &observed(&[("k8s1", torn)]));
    assert!(plan.actions.is_empty(), "{}", plan.summary());
    assert_eq!(
        conditions(&plan),
        [cond("Failed", "True", "VolumeBackupMemberFailed")]
    );
    let why = message(&plan, V::Failed);
    assert!(
        why.contains("Backup ns1/fed-vbk1 in Kubernetes cluster k8s1 VolumeBackupInitializeFailed: GC safepoint 0 exceeds TS 0"),
        "{why}"
    );
    assert!(
        why.contains("ns2/fed-vbk1 in Kubernetes cluster k8s2 was never created"),
        "{why}"
    );
    assert_eq!(plan.status.time_completed.as_ref().unwrap().0, now());
    assert_eq!(plan.status.time_taken.as_deref(), Some("10m0s"));
    assert_eq!(plan.status.commit_ts, None);
    assert_eq!(plan.requeue, None, "a failed VolumeBackup is never retried");
}

#[test]
fn the_init_job_deleted_or_past_its_deadline_tears_everyone_down_at_once() {
    for reason in ["InitializeJobDeleted", "InitializeJobCompletedOrFailed"] {
        let init = initialized()
            .cond(T::VolumeBackupSnapshotsCreated, "2026-05-01T09:52:00Z")
            .failed_with(
                T::VolumeBackupInitializeFailed,
                reason,
                "the pause ended early",
            );
        let o = observed(&[
            ("k8s1", init),
            (
                "k8s2",
                member("k8s2", Phase::Execute)
                    .cond(T::VolumeBackupSnapshotsCreated, "2026-05-01T09:52:00Z"),
            ),
            (
                "k8s3",
                member("k8s3", Phase::Execute).cond(T::Running, "2026-05-01T09:52:00Z"),
            ),
        ]);
        let plan = run(&running(&CLUSTERS), &o);
        assert_eq!(
            patches(&plan),
            [
                ("k8s1".to_string(), teardown_and_resume()),
                ("k8s2".to_string(), teardown()),
                ("k8s3".to_string(), teardown())
            ],
            "{reason}"
        );
        assert!(
            conditions(&plan).is_empty(),
            "{reason}: members are still running"
        );
    }
}

#[test]
fn a_member_failing_while_the_cluster_is_paused_resumes_at_once() {
    let o = observed(&[
        ("k8s1", initialized()),
        (
            "k8s2",
            member("k8s2", Phase::Execute).failed_with(
                T::VolumeBackupFailed,
                "FileExistedInExternalStorage",
                "backupmeta exists at s3://my-bucket/daily/vbk1-k8s2",
            ),
        ),
        ("k8s3", member("k8s3", Phase::Execute)),
    ]);
    let plan = run(&running(&CLUSTERS), &o);
    assert_eq!(
        patches(&plan),
        [
            ("k8s1".to_string(), teardown_and_resume()),
            ("k8s2".to_string(), teardown()),
            ("k8s3".to_string(), teardown())
        ]
    );
    assert_eq!(
        plan.status.backups[1].reason.as_deref(),
        Some("FileExistedInExternalStorage")
    );
    assert!(conditions(&plan).is_empty());
    assert_eq!(
        plan.requeue,
        Some(settings().paused_poll_interval),
        "the pause is still being let go"
    );
}

#[test]
fn an_invalid_member_is_not_patched_but_the_others_are_torn_down() {
    let o = observed(&[
        ("k8s1", initialized()),
        ("k8s2", member("k8s2", Phase::Execute)),
        (
            "k8s3",
            member("k8s3", Phase::Execute).failed_with(
                T::Invalid,
                "InvalidSpec",
                "spec.br.cluster: volume-snapshot backups are taken across Kubernetes clusters",
            ),
        ),
    ]);
    let plan = run(&running(&CLUSTERS), &o);
    assert_eq!(
        patches(&plan),
        [
            ("k8s1".to_string(), teardown_and_resume()),
            ("k8s2".to_string(), teardown())
        ]
    );
}

#[test]
fn failed_only_once_every_member_is_terminal() {
    let mut w = World::new(vbk());
    w.step();
    w.report("k8s1", T::VolumeBackupInitialized);
    w.step();
    w.report("k8s2", T::VolumeBackupFailed);
    let (plan, _) = w.step();
    assert_eq!(patches(&plan).len(), 3, "{}", plan.summary());
    assert_eq!(w.member("k8s1").spec.resume_gc_schedule, Some(true));
    // The data planes end one at a time; a schedule must not see Failed before the last.
    w.report("k8s2", T::Failed);
    w.report("k8s1", T::VolumeBackupInitializeComplete);
    w.report("k8s1", T::Failed);
    let (plan, _) = w.step();
    assert!(plan.actions.is_empty(), "{}", plan.summary());
    assert_eq!(w.phase(), Some("Running"));
    w.report("k8s3", T::Failed);
    w.step();
    assert_eq!(w.phase(), Some("Failed"));
    let status = w.vbk.status.unwrap();
    let failed = status
        .conditions
        .iter()
        .find(|c| c.type_ == V::Failed)
        .unwrap();
    let why = failed.message.clone().unwrap();
    for c in CLUSTERS {
        assert!(
            why.contains(&format!("Kubernetes cluster {c} ")),
            "{c}: {why}"
        );
    }
    assert_eq!(failed.reason.as_deref(), Some("VolumeBackupMemberFailed"));
    assert_eq!(
        status.time_resumed.as_ref().unwrap().0,
        w.now,
        "the pause window is recorded"
    );
}

#[test]
fn no_member_is_created_after_a_failure() {
    let o = observed(&[
        ("k8s1", initialized()),
        (
            "k8s2",
            member("k8s2", Phase::Execute).cond(T::VolumeBackupFailed, "2026-05-01T09:52:00Z"),
        ),
    ]);
    let plan = run(&running(&["k8s1", "k8s2"]), &o);
    assert!(creates(&plan).is_empty(), "{}", plan.summary());
    assert_eq!(
        patches(&plan),
        [
            ("k8s1".to_string(), teardown_and_resume()),
            ("k8s2".to_string(), teardown())
        ]
    );
}

#[test]
fn a_member_deleted_from_under_the_backup_is_a_failure() {
    let o = observed(&[
        ("k8s1", initialized()),
        ("k8s2", member("k8s2", Phase::Execute).deleting()),
        ("k8s3", member("k8s3", Phase::Execute)),
    ]);
    let plan = run(&running(&CLUSTERS), &o);
    assert_eq!(
        patches(&plan),
        [
            ("k8s1".to_string(), teardown_and_resume()),
            ("k8s3".to_string(), teardown())
        ],
        "the one going away is left to its data plane"
    );
}

#[test]
fn a_foreign_backup_holding_the_name_fails_the_backup_at_once_and_is_never_touched() {
    let mut foreign = member("k8s1", Phase::Initialize);
    foreign.spec.backup_mode = None;
    foreign.spec.federal_volume_backup_phase = None;
    let plan = run(&vbk().protected(), &observed(&[("k8s1", foreign)]));
    assert!(plan.actions.is_empty(), "{}", plan.summary());
    assert_eq!(
        conditions(&plan),
        [
            cond("Running", "True", "VolumeBackupStarted"),
            cond("Failed", "True", "VolumeBackupMemberFailed")
        ]
    );
    assert!(message(&plan, V::Failed).contains("taken by a Backup that is no member"));
    assert_eq!(
        plan.status.backups[0].reason.as_deref(),
        Some("MemberNameTaken")
    );
}

#[test]
fn a_spec_broken_while_members_remain_to_be_created_tears_down_at_once() {
    let v = running(&["k8s1", "k8s2"])
        .tweak(json!({"spec": {"template": {"s3": {"bucket": "Bad_Bucket"}}}}));
    let o = observed(&[
        ("k8s1", initialized()),
        ("k8s2", member("k8s2", Phase::Execute)),
    ]);
    let plan = run(&v, &o);
    assert!(
        creates(&plan).is_empty(),
        "nothing is built from a broken template"
    );
    assert_eq!(
        patches(&plan),
        [
            ("k8s1".to_string(), teardown_and_resume()),
            ("k8s2".to_string(), teardown())
        ]
    );
    assert!(
        conditions(&plan).iter().all(|c| c.0 != "Invalid"),
        "not Invalid: it started"
    );
}

#[test]
fn a_spec_broken_once_every_member_exists_changes_nothing_but_is_said() {
    let v =
        running(&CLUSTERS).tweak(json!({"spec": {"template": {"s3": {"bucket": "Bad_Bucket"}}}}));
    let o = observed(&[
        ("k8s1", initialized()),
        ("k8s2", member("k8s2", Phase::Execute)),
        ("k8s3", member("k8s3", Phase::Execute)),
    ]);
    let plan = run(&v, &o);
    assert!(plan.actions.is_empty(), "{}", plan.summary());
    let said = note(&plan, crate::reconcile::reasons::SPEC_WARNING);
    assert!(
        said.contains("spec.template.s3.bucket") && said.contains("goes on"),
        "{said}"
    );
}
