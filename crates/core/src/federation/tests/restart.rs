//! A manager that restarts at any point decides from what it observes only: no member is
//! created twice, no resume is lost, a teardown goes on.

use tibr_api::BackupConditionType as T;

use super::sim::{Reach, World};
use super::*;

/// The data planes' side of the happy path, one report batch between reconciles.
fn script() -> Vec<fn(&mut World)> {
    vec![
        |_| {},
        |w| w.report("k8s1", T::VolumeBackupInitialized),
        |w| w.report("k8s2", T::VolumeBackupSnapshotsCreated),
        |w| {
            w.report("k8s1", T::VolumeBackupSnapshotsCreated);
            w.report("k8s3", T::VolumeBackupSnapshotsCreated);
        },
        |w| w.report("k8s1", T::VolumeBackupInitializeComplete),
        |w| {
            w.snapshots_done("k8s1", "300", 10);
            w.snapshots_done("k8s2", "200", 20);
            w.snapshots_done("k8s3", "250", 30);
        },
        |w| {
            for c in CLUSTERS {
                w.report(c, T::Complete);
            }
        },
    ]
}

/// Each member's `(federalVolumeBackupPhase, resumeGcSchedule)`, in cluster order.
type Specs = Vec<(Option<Phase>, Option<bool>)>;

/// Runs the script; with `crash`, every reconcile is first run by a manager that dies
/// after its writes to the members and before its status write, then by a fresh one.
fn play(crash: bool) -> Vec<(World, Specs)> {
    let mut w = World::new(vbk());
    let mut trace = Vec::new();
    for dp in script() {
        dp(&mut w);
        w.tick(10);
        if crash {
            w.lose_status_writes = true;
            w.step();
            w.lose_status_writes = false;
        }
        w.step();
        let specs = CLUSTERS
            .iter()
            .map(|c| {
                w.planes[*c].1.as_ref().map_or((None, None), |b| {
                    (
                        b.spec.federal_volume_backup_phase.clone(),
                        b.spec.resume_gc_schedule,
                    )
                })
            })
            .collect();
        trace.push((clone(&w), specs));
    }
    trace
}

fn clone(w: &World) -> World {
    let mut c = World::new(w.vbk.clone());
    c.planes = w.planes.clone();
    c.created = w.created.clone();
    c.attempts = w.attempts.clone();
    c.now = w.now;
    c
}

#[test]
fn a_restart_at_every_step_creates_no_member_twice_and_loses_no_resume() {
    let calm = play(false);
    let crashing = play(true);
    for (step, ((a, a_specs), (b, b_specs))) in calm.iter().zip(&crashing).enumerate() {
        assert_eq!(
            a_specs, b_specs,
            "step {step}: the members were driven alike"
        );
        assert_eq!(
            a.created, b.created,
            "step {step}: each member created once"
        );
        assert_eq!(
            a.attempts, b.attempts,
            "step {step}: and never asked for again"
        );
        assert_eq!(a.phase(), b.phase(), "step {step}");
    }
    let (last, _) = crashing.last().unwrap();
    assert_eq!(last.attempts, ["k8s1", "k8s2", "k8s3"]);
    assert_eq!(last.phase(), Some("Complete"));
    assert_eq!(
        last.vbk.status.as_ref().unwrap().commit_ts.as_deref(),
        Some("200")
    );
}

#[test]
fn with_its_first_status_write_lost_the_manager_does_not_create_the_first_member_again() {
    // The member exists, the VolumeBackup never recorded it (nor Running).
    let plan = run(
        &vbk().protected(),
        &observed(&[("k8s1", member("k8s1", Phase::Initialize))]),
    );
    assert!(creates(&plan).is_empty(), "{}", plan.summary());
    assert_eq!(
        conditions(&plan),
        [cond("Running", "True", "VolumeBackupStarted")]
    );
    assert_eq!(
        plan.status.backups[0].k8s_cluster_name.as_deref(),
        Some("k8s1")
    );
}

#[test]
fn members_created_but_not_recorded_are_found_not_created_again() {
    let init =
        member("k8s1", Phase::Execute).cond(T::VolumeBackupInitialized, "2026-05-01T09:51:00Z");
    let o = observed(&[
        ("k8s1", init),
        ("k8s2", member("k8s2", Phase::Execute)),
        ("k8s3", member("k8s3", Phase::Execute)),
    ]);
    let plan = run(&running(&["k8s1"]), &o);
    assert!(plan.actions.is_empty(), "{}", plan.summary());
    assert_eq!(plan.status.backups.len(), 3, "the status learns them");
}

#[test]
fn a_resume_that_did_not_reach_the_first_member_is_asked_again() {
    let mut w = World::new(vbk());
    w.step();
    w.report("k8s1", T::VolumeBackupInitialized);
    w.step();
    for c in CLUSTERS {
        w.report(c, T::VolumeBackupSnapshotsCreated);
    }
    w.set_reach("k8s1", Reach::Down);
    let (_, settled) = w.step();
    assert_eq!(w.member("k8s1").spec.resume_gc_schedule, None);
    assert!(settled.requeue.is_some() && settled.retry.is_none());
    w.set_reach("k8s1", Reach::Up);
    let (plan, _) = w.step();
    assert_eq!(patches(&plan), [("k8s1".to_string(), resume())]);
    assert_eq!(w.member("k8s1").spec.resume_gc_schedule, Some(true));
}

#[test]
fn a_teardown_begun_goes_on_after_a_restart_even_if_its_cause_is_gone() {
    // The previous manager saw a failure and reached two members before it died; what
    // it saw is no longer visible (a member read once as missing is back).
    let o = observed(&[
        (
            "k8s1",
            member("k8s1", Phase::Teardown)
                .resume()
                .cond(T::VolumeBackupInitialized, "2026-05-01T09:51:00Z"),
        ),
        ("k8s2", member("k8s2", Phase::Teardown)),
        (
            "k8s3",
            member("k8s3", Phase::Execute).cond(T::Running, "2026-05-01T09:52:00Z"),
        ),
    ]);
    let plan = run(&running(&CLUSTERS), &o);
    assert_eq!(patches(&plan), [("k8s3".to_string(), teardown())]);
    assert!(creates(&plan).is_empty());
}

#[test]
fn snapshots_created_is_recorded_even_when_learnt_at_the_end() {
    // The manager was down from before the resume until every member completed.
    let done = |c: &str| {
        member(c, Phase::Execute)
            .cond(T::VolumeBackupSnapshotsCreated, "2026-05-01T09:52:00Z")
            .completed("7", 1)
            .cond(T::VolumeBackupComplete, "2026-05-01T09:58:00Z")
    };
    let init = done("k8s1")
        .resume()
        .cond(T::VolumeBackupInitialized, "2026-05-01T09:51:00Z")
        .cond(T::VolumeBackupInitializeComplete, "2026-05-01T09:52:10Z");
    let o = observed(&[
        ("k8s1", init),
        ("k8s2", done("k8s2")),
        ("k8s3", done("k8s3")),
    ]);
    let plan = run(&running(&CLUSTERS), &o);
    assert_eq!(
        conditions(&plan),
        [cond("SnapshotsCreated", "True", "AllSnapshotsCreated")]
    );
    assert_eq!(patches(&plan).len(), 3);
    assert_eq!(plan.status.pause_window.as_deref(), Some("1m10s"));
}
