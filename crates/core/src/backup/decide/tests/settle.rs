//! `settle()` tables: a plan and what the act step reported in, what to write out. The act
//! step only carries out writes; every consequence of how they went is decided here.

use std::time::Duration;

use serde_json::json;

use super::deletion::{PATH, deleting, terminating, with_path};
use super::*;
use crate::backup::decide::{Outcomes, Retry, Settled, settle};

fn settled(b: &Backup, o: &Observed, outcomes: Outcomes) -> Settled {
    settle(b, run(b, o), &outcomes, now())
}

fn reasons_of(s: &Settled) -> Vec<(EventKind, String)> {
    s.events
        .iter()
        .map(|e| (e.kind, e.reason.clone()))
        .collect()
}

/// A dead pod left the GC life time raised and the Backup is being deleted (Retain).
fn owing_gc() -> Backup {
    let mut status = with_path(phase("Running"));
    status["gcLifeTime"] = json!({"original": "10m0s", "raisedTo": "72h", "restored": false});
    deleting("Retain", status, NOW)
}

#[test]
fn a_gc_write_that_worked_marks_the_record_and_lets_the_backup_go() {
    let s = settled(
        &owing_gc(),
        &observed(),
        Outcomes {
            gc_write: Some(Ok(())),
            ..Outcomes::default()
        },
    );
    let record = s.gc_record.clone().expect("the record is marked restored");
    assert!(record.restored);
    assert_eq!(
        reasons_of(&s),
        [(EventKind::Normal, "GcLifeTimeRestored".into())]
    );
    assert!(
        s.events[0]
            .note
            .contains("put tikv_gc_life_time back to 10m0s")
    );
    assert!(s.release_finalizer && s.retry.is_none());
    assert_eq!(s.gc_outcome, Some("restored"));
}

#[test]
fn a_gc_write_that_failed_is_retried_while_it_must_be_and_given_up_after() {
    let failed = Outcomes {
        gc_write: Some(Err("connection refused".into())),
        ..Outcomes::default()
    };
    let s = settled(&owing_gc(), &observed(), failed.clone());
    assert_eq!(s.retry, Some(Retry::GcRestore("connection refused".into())));
    assert!(
        !s.release_finalizer,
        "nothing goes while the restore is retried"
    );
    assert_eq!(s.gc_record, None);
    assert!(
        s.events[0].note.ends_with("trying again"),
        "{}",
        s.events[0].note
    );
    // In a namespace being deleted the attempt is the last: recorded, and the Backup goes.
    let s = settled(&owing_gc(), &terminating(), failed);
    assert_eq!(s.retry, None);
    assert!(s.release_finalizer);
    let given_up = s.gc_given_up.expect("the reason is recorded");
    assert!(given_up.ends_with("the operator gave up"), "{given_up}");
    assert_eq!(s.gc_outcome, Some("failed"));
}

#[test]
fn an_unreachable_tidb_at_observation_is_the_same_failure() {
    let o = Observed {
        gc: Some(GcReading::Failed("no answer within 10s".into())),
        ..observed()
    };
    let s = settled(&owing_gc(), &o, Outcomes::default());
    assert_eq!(
        s.retry,
        Some(Retry::GcRestore("no answer within 10s".into()))
    );
    assert_eq!(
        reasons_of(&s),
        [(EventKind::Warning, "GcLifeTimeNotRestored".into())]
    );
}

#[test]
fn decisions_taken_on_the_reading_need_no_write() {
    // TiDB already has the original value: only the record is marked.
    let o = Observed {
        gc: Some(GcReading::Read {
            current: "10m0s".into(),
            peers: vec![],
        }),
        ..observed()
    };
    let plan = run(&owing_gc(), &o);
    assert!(plan.gc_write.is_none());
    let s = settle(&owing_gc(), plan, &Outcomes::default(), now());
    assert!(s.gc_record.unwrap().restored);
    assert_eq!(s.gc_outcome, Some("already_restored"));
    // Someone else set another value: left alone, with the reason kept on the Backup.
    let o = Observed {
        gc: Some(GcReading::Read {
            current: "30m".into(),
            peers: vec![],
        }),
        ..observed()
    };
    let s = settled(&owing_gc(), &o, Outcomes::default());
    assert!(s.gc_given_up.is_some());
    assert_eq!(s.gc_outcome, Some("left_alone"));
}

fn cleaning() -> (Backup, Observed) {
    (
        deleting("Delete", with_path(phase("Complete")), NOW),
        terminating(),
    )
}

#[test]
fn an_in_process_clean_that_worked_is_clean_and_says_what_it_deleted() {
    let (b, o) = cleaning();
    let s = settled(
        &b,
        &o,
        Outcomes {
            clean: Some(Ok(42)),
            ..Outcomes::default()
        },
    );
    let c = &s.status.conditions[0];
    assert_eq!(
        (c.type_.as_str(), c.reason.as_deref()),
        ("Clean", Some("CleanedByOperator"))
    );
    assert!(
        c.message
            .as_deref()
            .unwrap()
            .starts_with(&format!("deleted 42 objects at {PATH}"))
    );
    assert_eq!(
        reasons_of(&s),
        [(EventKind::Normal, "BackupDataDeleted".into())]
    );
    assert_eq!(
        s.events[0].subject,
        EventSubject::Namespace,
        "outlives the namespace"
    );
    assert!(s.release_finalizer);
    assert_eq!(s.clean_outcome, Some("succeeded"));
}

#[test]
fn an_in_process_clean_that_failed_is_retried_then_the_data_is_kept() {
    let (b, o) = cleaning();
    let failed = Outcomes {
        clean: Some(Err("AccessDenied".into())),
        ..Outcomes::default()
    };
    let s = settled(&b, &o, failed.clone());
    assert_eq!(s.retry, Some(Retry::Clean("AccessDenied".into())));
    assert!(!s.release_finalizer);
    assert_eq!(s.status.conditions[0].type_.as_str(), "CleanFailed");
    assert_eq!(s.clean_outcome, Some("failed"));
    // Past the patience the data is kept, said where it outlives the namespace, and the
    // Backup goes.
    let late = deleting(
        "Delete",
        with_path(phase("Complete")),
        "2026-03-01T10:00:00Z",
    );
    let s = settled(&late, &o, failed);
    assert_eq!(s.retry, None);
    assert!(s.release_finalizer && s.data_kept);
    assert_eq!(
        reasons_of(&s),
        [(EventKind::Warning, "BackupDataKept".into())]
    );
    assert_eq!(s.clean_outcome, Some("gave_up"));
}

#[test]
fn plans_with_nothing_that_can_fail_settle_as_they_are() {
    let b = backup(phase("Scheduled"), json!({}));
    let plan = run(&b, &observed());
    let s = settle(&b, plan.clone(), &Outcomes::default(), now());
    assert_eq!(s.status, plan.status);
    assert_eq!(s.events, plan.events);
    assert_eq!(s.requeue, plan.requeue);
    assert_eq!(s.requeue.map(|r| r > Duration::ZERO), Some(true));
}
