//! The happy path of spec-federation §2.4, step by step: what the manager does at each
//! report of the data planes, and nothing before its time.

use tibr_api::{BackupConditionType as T, VolumeBackupConditionType as V};

use super::sim::World;
use super::*;
use crate::federation::{FinalizerChange, is_settled};

#[test]
fn step_1_finalizer_running_and_the_initialize_member_in_the_first_cluster() {
    let plan = run(&vbk(), &observed(&[]));
    assert_eq!(plan.finalizer, Some(FinalizerChange::Add));
    assert_eq!(
        conditions(&plan),
        [cond("Running", "True", "VolumeBackupStarted")]
    );
    assert_eq!(plan.status.time_started.as_ref().unwrap().0, now());
    assert_eq!(
        creates(&plan),
        [("k8s1".to_string(), "initialize".to_string())]
    );
    let a = &plan.actions[0];
    assert_eq!((a.namespace.as_str(), a.name.as_str()), ("ns1", "fed-vbk1"));
    // Paused soon: the manager looks more often while GC and scheduling may be paused.
    assert_eq!(plan.requeue, Some(settings().paused_poll_interval));
    assert_eq!(
        plan.status
            .backups
            .iter()
            .map(|e| e.k8s_cluster_name.as_deref())
            .collect::<Vec<_>>(),
        [Some("k8s1")],
        "the entry of the member being created (settle removes it if the create fails)"
    );
}

#[test]
fn while_the_first_data_plane_pauses_nothing_else_happens() {
    let init = member("k8s1", Phase::Initialize).cond(T::Scheduled, "2026-05-01T09:50:10Z");
    let plan = run(&running(&["k8s1"]), &observed(&[("k8s1", init)]));
    assert!(plan.actions.is_empty(), "{}", plan.summary());
    assert!(plan.conditions.is_empty());
    assert_eq!(plan.requeue, Some(settings().paused_poll_interval));
    assert_eq!(plan.status.backups[0].phase, Some(T::Scheduled));
}

#[test]
fn step_4_paused_execute_everywhere() {
    let init =
        member("k8s1", Phase::Initialize).cond(T::VolumeBackupInitialized, "2026-05-01T09:51:00Z");
    let plan = run(&running(&["k8s1"]), &observed(&[("k8s1", init)]));
    assert_eq!(
        creates(&plan),
        [
            ("k8s2".to_string(), "execute".to_string()),
            ("k8s3".to_string(), "execute".to_string())
        ]
    );
    assert_eq!(
        patches(&plan),
        [(
            "k8s1".to_string(),
            MemberPatch {
                phase: Some(Phase::Execute),
                resume_gc_schedule: None
            }
        )]
    );
    assert_eq!(
        plan.status.time_paused.as_ref().unwrap().0,
        ts("2026-05-01T09:51:00Z")
    );
    assert_eq!(plan.status.time_resumed, None);
    let execute = plan
        .actions
        .iter()
        .find_map(|a| match &a.write {
            MemberWrite::Create(b) if a.k8s_cluster_name == "k8s2" => Some(b),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        execute.spec.volume_backup_init_job_max_active_seconds, None,
        "only the initialize member carries the init deadline"
    );
}

fn executing(snapshots: &[&str]) -> Observed {
    let with = |c: &str, b: tibr_api::Backup| {
        if snapshots.contains(&c) {
            b.cond(T::VolumeBackupSnapshotsCreated, "2026-05-01T09:52:00Z")
        } else {
            b
        }
    };
    let init =
        member("k8s1", Phase::Execute).cond(T::VolumeBackupInitialized, "2026-05-01T09:51:00Z");
    observed(&[
        ("k8s1", with("k8s1", init)),
        ("k8s2", with("k8s2", member("k8s2", Phase::Execute))),
        ("k8s3", with("k8s3", member("k8s3", Phase::Execute))),
    ])
}

#[test]
fn step_9_resume_only_once_every_member_requested_its_snapshots() {
    let v = running(&CLUSTERS);
    for partial in [&["k8s1"][..], &["k8s1", "k8s2"], &["k8s2", "k8s3"]] {
        let plan = run(&v, &executing(partial));
        assert!(plan.actions.is_empty(), "{partial:?}: {}", plan.summary());
        assert_eq!(plan.requeue, Some(settings().paused_poll_interval));
    }
    let plan = run(&v, &executing(&CLUSTERS));
    assert_eq!(patches(&plan), [("k8s1".to_string(), resume())]);
    assert!(
        plan.conditions.is_empty(),
        "not before the first data plane lets go"
    );
}

#[test]
fn step_11_snapshots_created_once_the_pause_is_over() {
    let mut o = executing(&CLUSTERS);
    let init = member("k8s1", Phase::Execute)
        .resume()
        .cond(T::VolumeBackupInitialized, "2026-05-01T09:51:00Z")
        .cond(T::VolumeBackupSnapshotsCreated, "2026-05-01T09:52:00Z")
        .cond(T::VolumeBackupInitializeComplete, "2026-05-01T09:52:30Z");
    o = with_access(o, "k8s1", Access::Reachable(Some(Box::new(init))));
    let plan = run(&running(&CLUSTERS), &o);
    assert!(plan.actions.is_empty(), "{}", plan.summary());
    assert_eq!(
        conditions(&plan),
        [cond("SnapshotsCreated", "True", "AllSnapshotsCreated")]
    );
    assert!(message(&plan, V::SnapshotsCreated).contains("paused for 1m30s"));
    assert_eq!(
        plan.status.time_resumed.as_ref().unwrap().0,
        ts("2026-05-01T09:52:30Z")
    );
    assert_eq!(plan.status.pause_window.as_deref(), Some("1m30s"));
    assert_eq!(
        plan.requeue,
        Some(settings().poll_interval),
        "nothing is paused any more"
    );
    // Said once: the same observation with the condition set plans nothing.
    let v = running(&CLUSTERS).with(V::SnapshotsCreated, "2026-05-01T09:53:00Z");
    assert!(run(&v, &o).conditions.is_empty());
}

#[test]
fn the_whole_sequence_ends_complete_with_the_smallest_commit_ts_and_the_sum_of_sizes() {
    let mut w = World::new(vbk());
    w.step();
    assert_eq!(w.created, ["k8s1"]);
    assert_eq!(w.phase(), Some("Running"));
    w.tick(20);
    w.report("k8s1", T::VolumeBackupInitialized);
    w.step();
    assert_eq!(w.created, ["k8s1", "k8s2", "k8s3"]);
    assert_eq!(
        w.member("k8s1").spec.federal_volume_backup_phase,
        Some(Phase::Execute)
    );
    w.tick(40);
    for c in CLUSTERS {
        w.report(c, T::VolumeBackupSnapshotsCreated);
    }
    w.step();
    assert_eq!(w.member("k8s1").spec.resume_gc_schedule, Some(true));
    w.tick(3);
    w.report("k8s1", T::VolumeBackupInitializeComplete);
    w.step();
    assert_eq!(w.phase(), Some("SnapshotsCreated"));
    assert_eq!(
        w.vbk.status.as_ref().unwrap().pause_window.as_deref(),
        Some("43s")
    );
    w.tick(3600);
    w.snapshots_done("k8s1", "449982842012549122", 3_000_000_000);
    w.snapshots_done("k8s2", "449982841988431874", 2_000_000_000);
    let (plan, _) = w.step();
    assert!(plan.actions.is_empty(), "not before every member completed");
    w.snapshots_done("k8s3", "449982842000000000", 500_000_000);
    let (plan, _) = w.step();
    assert_eq!(
        patches(&plan),
        [
            ("k8s1".to_string(), teardown()),
            ("k8s2".to_string(), teardown()),
            ("k8s3".to_string(), teardown())
        ]
    );
    assert_eq!(
        w.phase(),
        Some("SnapshotsCreated"),
        "not complete before the teardown"
    );
    for c in CLUSTERS {
        w.report(c, T::Complete);
    }
    w.tick(5);
    w.step();
    let status = w.vbk.status.clone().unwrap();
    assert_eq!(w.phase(), Some("Complete"));
    // Parsed as numbers: the smallest is k8s2's, though it is not the smallest as text.
    assert_eq!(status.commit_ts.as_deref(), Some("449982841988431874"));
    assert_eq!(status.backup_size, Some(5_500_000_000));
    assert_eq!(status.backup_size_readable.as_deref(), Some("5.5 GB"));
    assert_eq!(status.time_taken.as_deref(), Some("1h1m8s"));
    assert_eq!(status.time_completed.as_ref().unwrap().0, w.now);
    assert_eq!(status.backups.len(), 3);
    assert_eq!(
        status.backups[1].commit_ts.as_deref(),
        Some("449982841988431874")
    );
    assert_eq!(
        status.backups[1].backup_path.as_deref(),
        Some("s3://my-bucket/daily/vbk1-k8s2")
    );
    assert!(is_settled(&w.vbk));
    let (plan, settled) = w.step();
    assert_eq!(plan.summary(), "nothing");
    assert!(!settled.status_changed);
}

#[test]
fn commit_ts_compares_as_numbers_and_a_bad_one_fails_with_the_member_named() {
    let done = |c: &str, ts: &str, size: i64| {
        member(c, Phase::Teardown)
            .completed(ts, size)
            .cond(T::Complete, "2026-05-01T09:59:00Z")
    };
    let v = running(&CLUSTERS);
    let plan = run(
        &v,
        &observed(&[
            ("k8s1", done("k8s1", "99", 1)),
            ("k8s2", done("k8s2", "100", 2)),
            ("k8s3", done("k8s3", "1000", 3)),
        ]),
    );
    assert_eq!(plan.status.commit_ts.as_deref(), Some("99"));
    assert_eq!(plan.status.backup_size, Some(6));
    assert_eq!(
        conditions(&plan),
        [cond("Complete", "True", "AllMembersComplete")]
    );
    for bad in ["", "12ab", "-5", "0"] {
        let plan = run(
            &v,
            &observed(&[
                ("k8s1", done("k8s1", "99", 1)),
                ("k8s2", done("k8s2", bad, 2)),
                ("k8s3", done("k8s3", "1000", 3)),
            ]),
        );
        assert_eq!(
            conditions(&plan),
            [cond("Failed", "True", "MemberCommitTsInvalid")],
            "{bad:?}"
        );
        let why = message(&plan, V::Failed);
        assert!(
            why.contains("ns2/fed-vbk1 in Kubernetes cluster k8s2")
                && why.contains(&format!("{bad:?}")),
            "{why}"
        );
        assert_eq!(plan.status.commit_ts, None);
        assert_eq!(plan.status.backup_size, Some(6), "sizes are still added up");
    }
}

#[test]
fn complete_and_failed_are_settled() {
    for end in [V::Complete, V::Failed] {
        let v = running(&CLUSTERS).with(end.clone(), "2026-05-01T09:59:00Z");
        assert!(is_settled(&v));
        // Even with members still listed as running: nothing is done for them.
        let o = executing(&[]);
        let plan = run(&v, &o);
        assert_eq!(plan.summary(), "nothing", "{end:?}");
        assert_eq!(plan.status, v.status.clone().unwrap());
    }
    assert!(!is_settled(&running(&CLUSTERS)));
    assert!(!is_settled(
        &running(&CLUSTERS).with(V::Complete, NOW).deleting()
    ));
}

#[test]
fn members_spec_is_read_not_labels_a_stock_tidb_member_is_driven_too() {
    // A member written by TiDB's manager: no label or annotation of ours, TiDB's name.
    let mut init =
        member("k8s1", Phase::Initialize).cond(T::VolumeBackupInitialized, "2026-05-01T09:51:00Z");
    init.metadata.labels = None;
    init.metadata.annotations = None;
    let plan = run(&running(&["k8s1"]), &observed(&[("k8s1", init)]));
    assert_eq!(creates(&plan).len(), 2);
}
