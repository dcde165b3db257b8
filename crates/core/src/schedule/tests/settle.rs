//! `settle()` tables: what the act step reported about the tick's create and retention's
//! deletions, and what the schedule then writes. The act step carries out writes only.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::support::*;
use crate::reconcile::EventKind;
use crate::schedule::{Created, Deleted, Outcomes, Settled, decide, settle};

const SCHED: &str = "sched";

/// Due at 07:02, with a run from 07:00 that retention (maxBackups 1) deletes.
fn due() -> (tibr_api::BackupSchedule, crate::schedule::SchedulePlan) {
    let s = schedule(SCHED, "*/2 * * * *", "2026-11-21T06:59:30Z")
        .edit(|spec| spec.max_backups = Some(1))
        .last_backup("sched-2026-11-21t07-00-00", "2026-11-21T07:00:00Z");
    let older = run(&s, "2026-11-21T07:00:00Z").complete_at("2026-11-21T07:00:00Z");
    let newer_ok = run(&s, "2026-11-21T06:58:00Z").complete_at("2026-11-21T06:58:00Z");
    let plan = decide(&s, &[older, newer_ok], ts("2026-11-21T07:02:05Z"));
    assert!(
        plan.create.is_some() && !plan.delete.is_empty(),
        "the fixture plans both"
    );
    (s, plan)
}

fn settled(created: Created, deleted: Deleted) -> (tibr_api::BackupSchedule, Settled) {
    let (s, plan) = due();
    let n = plan.delete.len();
    let outcomes = Outcomes {
        create: Some(created),
        delete: vec![deleted; n],
    };
    let settled = settle(&s, plan, &outcomes, ts("2026-11-21T07:02:06Z"));
    (s, settled)
}

fn condition<'a>(
    s: &'a Settled,
    type_: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    s.status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap()
}

#[test]
fn a_created_run_is_recorded_and_reported_about_that_run() {
    let (_, s) = settled(Created::Yes, Deleted::Yes);
    assert!(s.created && s.failure.is_none());
    assert_eq!(
        s.status.last_backup.as_deref(),
        Some("sched-2026-11-21t07-02-00")
    );
    let create = s
        .events
        .iter()
        .find(|e| e.reason == "SuccessfulCreate")
        .unwrap();
    assert_eq!(
        create.related.as_ref().unwrap().name,
        "sched-2026-11-21t07-02-00"
    );
    assert!(s.deleted >= 1);
    assert!(s.events.iter().any(|e| e.reason == "SuccessfulDelete"));
    assert_eq!(condition(&s, "Blocked").status, "False");
}

#[test]
fn a_failed_create_takes_no_run_and_says_so_in_blocked() {
    let (schedule, s) = settled(Created::Failed("quota exceeded".into()), Deleted::Yes);
    let observed = schedule.status.unwrap();
    // The status must not claim the run was taken: the next reconcile tries the same tick.
    assert_eq!(s.status.last_backup, observed.last_backup);
    assert_eq!(s.status.last_backup_time, observed.last_backup_time);
    assert_eq!(
        s.status.next_backup_time,
        Some(Time(ts("2026-11-21T07:02:00Z")))
    );
    let blocked = condition(&s, "Blocked");
    assert_eq!(
        (blocked.status.as_str(), blocked.reason.as_str()),
        ("True", "CreateFailed")
    );
    assert!(
        blocked.message.contains("quota exceeded"),
        "{}",
        blocked.message
    );
    let e = s
        .events
        .iter()
        .find(|e| e.reason == "FailedCreate")
        .unwrap();
    assert_eq!(e.kind, EventKind::Warning);
    assert!(!s.created);
    let failure = s
        .failure
        .expect("the reconcile ends in an error, retried with back-off");
    assert!(failure.contains("sched-2026-11-21t07-02-00"), "{failure}");
    // Retention went ahead all the same.
    assert!(s.deleted >= 1);
}

#[test]
fn a_name_taken_by_another_backup_is_reported_and_the_tick_counts_as_taken() {
    let (_, s) = settled(Created::Exists, Deleted::Gone);
    let e = s
        .events
        .iter()
        .find(|e| e.reason == "TickNameTaken")
        .unwrap();
    assert_eq!(e.kind, EventKind::Warning);
    assert_eq!(
        e.related.as_ref().unwrap().name,
        "sched-2026-11-21t07-02-00"
    );
    assert_eq!(
        s.status.last_backup.as_deref(),
        Some("sched-2026-11-21t07-02-00")
    );
    assert!(!s.created && s.failure.is_none());
    assert_eq!(s.deleted, 0, "already gone is not counted");
}

#[test]
fn a_failed_deletion_is_retried_and_reported_about_that_run() {
    let (_, s) = settled(Created::Yes, Deleted::Failed("forbidden".into()));
    let e = s
        .events
        .iter()
        .find(|e| e.reason == "FailedDelete")
        .unwrap();
    assert_eq!(e.kind, EventKind::Warning);
    assert!(e.related.is_some());
    assert!(s.failure.unwrap().contains("forbidden"));
    assert!(s.created, "the create stands");
}
