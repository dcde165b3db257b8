//! The decision over time: first run, downtime, restarts, predecessors, pause, invalid
//! specs. Every test drives `decide` with an injected clock.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::{BackupConditionType as C, pingcap::v1alpha1::BackupMode};

use super::support::*;
use crate::reconcile::EventKind;
use crate::schedule::{ConditionType, apply_conditions, decide};

const SCHED: &str = "sched";

fn seed() -> tibr_api::BackupSchedule {
    schedule(SCHED, "*/2 * * * *", "2026-11-21T07:00:30Z")
}

#[test]
fn nothing_before_the_first_tick_then_a_backup_named_after_it() {
    let s = seed();
    let plan = decide(&s, &[], ts("2026-11-21T07:01:00Z"));
    assert!(plan.create.is_none());
    assert!(plan.events.is_empty(), "{:?}", plan.events);
    assert_eq!(
        plan.status.next_backup_time,
        Some(Time(ts("2026-11-21T07:02:00Z")))
    );
    assert_eq!(plan.requeue, Some(Duration::from_secs(60)));
    assert_eq!(condition(&plan, ConditionType::Valid).0, "True");
    assert!(
        condition(&plan, ConditionType::Valid)
            .2
            .contains("time zone UTC")
    );
    assert_eq!(condition(&plan, ConditionType::Blocked).0, "False");

    // Reconciled late, at 07:02:10: the Backup is for the 07:02 tick, not for "now".
    let plan = decide(&s, &[], ts("2026-11-21T07:02:10Z"));
    let c = plan.create.as_ref().expect("due");
    assert_eq!(c.tick, ts("2026-11-21T07:02:00Z"));
    assert_eq!(c.skipped, 0);
    assert_eq!(
        c.backup.metadata.name.as_deref(),
        Some("sched-2026-11-21t07-02-00")
    );
    assert_eq!(
        plan.status.last_backup.as_deref(),
        Some("sched-2026-11-21t07-02-00")
    );
    assert_eq!(
        plan.status.last_backup_time,
        Some(Time(ts("2026-11-21T07:02:00Z")))
    );
    assert_eq!(
        plan.status.next_backup_time,
        Some(Time(ts("2026-11-21T07:04:00Z")))
    );
    assert_eq!(plan.requeue, Some(Duration::from_secs(110)));
    assert_eq!(plan.metrics.created, 1);
    assert!(!event_reasons(&plan).contains(&"MissedTicks"));
}

#[test]
fn hours_of_downtime_give_one_catch_up_and_report_the_rest() {
    let s = seed().last_backup("sched-2026-11-21t07-02-00", "2026-11-21T07:02:00Z");
    let done = run(&s, "2026-11-21T07:02:00Z").complete_at("2026-11-21T07:02:30Z");
    // The operator was down from 07:03 to 10:31.
    let plan = decide(&s, &[done], ts("2026-11-21T10:31:00Z"));
    let c = plan.create.as_ref().expect("catch-up");
    assert_eq!(c.tick, ts("2026-11-21T10:30:00Z"));
    assert_eq!(c.skipped, 103);
    assert_eq!(plan.metrics.skipped_ticks, 103);
    let missed = plan
        .events
        .iter()
        .find(|e| e.reason == "MissedTicks")
        .expect("reported");
    assert_eq!(missed.kind, EventKind::Warning);
    assert!(
        missed
            .note
            .starts_with("103 run(s) due from 2026-11-21T07:04:00Z on were missed"),
        "{}",
        missed.note
    );
    assert!(missed.note.contains("2026-11-21T10:30:00Z"));
    assert_eq!(
        plan.status.next_backup_time,
        Some(Time(ts("2026-11-21T10:32:00Z")))
    );
}

#[test]
fn a_restart_between_create_and_status_write_creates_no_duplicate() {
    // The 07:02 Backup was created; the status write was lost.
    let s = seed();
    let created = run(&s, "2026-11-21T07:02:00Z");
    for now in ["2026-11-21T07:02:05Z", "2026-11-21T07:03:59Z"] {
        let plan = decide(&s, std::slice::from_ref(&created), ts(now));
        assert!(plan.create.is_none(), "{now}: the tick was already taken");
        // The status is repaired from the Backup itself.
        assert_eq!(
            plan.status.last_backup.as_deref(),
            Some("sched-2026-11-21t07-02-00")
        );
        assert_eq!(
            plan.status.last_backup_time,
            Some(Time(ts("2026-11-21T07:02:00Z")))
        );
        assert_eq!(
            plan.status.next_backup_time,
            Some(Time(ts("2026-11-21T07:04:00Z")))
        );
    }
    // Even with a status older than the Backup (written before the lost one).
    let s_old = seed().last_backup("sched-2026-11-21t07-00-00", "2026-11-21T07:00:00Z");
    let plan = decide(
        &s_old,
        std::slice::from_ref(&created),
        ts("2026-11-21T07:03:00Z"),
    );
    assert!(plan.create.is_none());
    assert_eq!(
        plan.status.last_backup.as_deref(),
        Some("sched-2026-11-21t07-02-00")
    );

    // Only the annotation survives (the name is what TiDB Operator would have used):
    // still recognised.
    let mut renamed = created.clone();
    renamed.metadata.name = Some("sched-2026-11-21t07-02-07".into());
    let plan = decide(&s, &[renamed], ts("2026-11-21T07:03:00Z"));
    assert!(plan.create.is_none());
    assert_eq!(
        plan.status.last_backup_time,
        Some(Time(ts("2026-11-21T07:02:00Z")))
    );

    // Once it is done, the next tick is taken normally: once.
    let done = created.complete_at("2026-11-21T07:02:40Z");
    let plan = decide(&s, &[done], ts("2026-11-21T07:04:01Z"));
    let c = plan.create.expect("next tick");
    assert_eq!((c.tick, c.skipped), (ts("2026-11-21T07:04:00Z"), 0));
}

#[test]
fn a_predecessor_running_through_several_ticks_holds_them_visibly_then_one_run() {
    let s = seed().last_backup("sched-2026-11-21t07-02-00", "2026-11-21T07:02:00Z");
    let running = run(&s, "2026-11-21T07:02:00Z").phase(C::Running);

    for now in ["2026-11-21T07:04:30Z", "2026-11-21T07:09:00Z"] {
        let plan = decide(&s, std::slice::from_ref(&running), ts(now));
        assert!(plan.create.is_none(), "{now}: must wait");
        let (status, reason, message) = condition(&plan, ConditionType::Blocked);
        assert_eq!((status, reason), ("True", "WaitingForBackup"));
        assert!(
            message.contains("the run due at 2026-11-21T07:04:00Z waits for Backup sched-2026-11-21t07-02-00 (Running since 2026-11-21T07:02:00Z)"),
            "{message}"
        );
        let event = plan
            .events
            .iter()
            .find(|e| e.reason == "WaitingForBackup")
            .unwrap();
        assert_eq!(event.kind, EventKind::Warning);
        assert_eq!(event.note, message);
        // The overdue tick is what status shows, and the wait is polled.
        assert_eq!(
            plan.status.next_backup_time,
            Some(Time(ts("2026-11-21T07:04:00Z")))
        );
        assert_eq!(plan.metrics.blocked_since, Some(ts("2026-11-21T07:04:00Z")));
        assert_eq!(plan.requeue, Some(Duration::from_secs(60)));
        assert!(plan.status.last_backup_time == s.status.as_ref().unwrap().last_backup_time);
    }

    // It completes at 07:09:30; the next reconcile takes one run for the latest tick.
    let done = running.complete_at("2026-11-21T07:09:30Z");
    let plan = decide(&s, &[done], ts("2026-11-21T07:09:40Z"));
    let c = plan.create.as_ref().expect("released");
    assert_eq!((c.tick, c.skipped), (ts("2026-11-21T07:08:00Z"), 2));
    assert_eq!(condition(&plan, ConditionType::Blocked).0, "False");
    assert!(event_reasons(&plan).contains(&"MissedTicks"));
}

#[test]
fn a_failed_or_invalid_predecessor_does_not_block() {
    let s = seed().last_backup("sched-2026-11-21t07-02-00", "2026-11-21T07:02:00Z");
    for pred in [
        run(&s, "2026-11-21T07:02:00Z").failed_at("2026-11-21T07:03:00Z"),
        run(&s, "2026-11-21T07:02:00Z").phase(C::Invalid),
        run(&s, "2026-11-21T07:02:00Z").deleting(),
    ] {
        let plan = decide(&s, &[pred], ts("2026-11-21T07:04:05Z"));
        assert!(plan.create.is_some());
    }
}

#[test]
fn a_stuck_predecessor_is_called_stuck_and_still_not_run_beside() {
    let s = seed().last_backup("sched-2026-11-21t07-02-00", "2026-11-21T07:02:00Z");
    let running = run(&s, "2026-11-21T07:02:00Z").phase(C::Running);
    // Just before the hour: waiting; the poll is bounded by when it would turn stuck.
    let plan = decide(
        &s,
        std::slice::from_ref(&running),
        ts("2026-11-21T08:01:30Z"),
    );
    assert_eq!(
        condition(&plan, ConditionType::Blocked).1,
        "WaitingForBackup"
    );
    assert_eq!(plan.requeue, Some(Duration::from_secs(30)));
    // An hour in flight (more than two 2-minute periods, and the one-hour floor).
    let plan = decide(
        &s,
        std::slice::from_ref(&running),
        ts("2026-11-21T08:02:00Z"),
    );
    assert!(plan.create.is_none());
    let (status, reason, message) = condition(&plan, ConditionType::Blocked);
    assert_eq!((status, reason), ("True", "PredecessorStuck"));
    assert!(
        message.contains("has been in flight longer than 1h0m0s"),
        "{message}"
    );
    assert!(
        message.contains("kubectl describe backup sched-2026-11-21t07-02-00"),
        "{message}"
    );
    assert!(event_reasons(&plan).contains(&"PredecessorStuck"));

    // RetryFailed (e.g. its Secret is missing) is stuck at once.
    let retrying = run(&s, "2026-11-21T07:02:00Z").phase(C::RetryFailed);
    let plan = decide(&s, &[retrying], ts("2026-11-21T07:04:10Z"));
    let (_, reason, message) = condition(&plan, ConditionType::Blocked);
    assert_eq!(reason, "PredecessorStuck");
    assert!(message.contains("RetryFailed"), "{message}");
    assert!(plan.create.is_none());

    // Deleting it frees the schedule: one run.
    let gone = run(&s, "2026-11-21T07:02:00Z")
        .phase(C::RetryFailed)
        .deleting();
    let plan = decide(&s, &[gone], ts("2026-11-21T08:02:10Z"));
    assert_eq!(plan.create.unwrap().tick, ts("2026-11-21T08:02:00Z"));
}

#[test]
fn a_group_member_in_flight_holds_the_schedule() {
    let group = "tidb.pingcap.com/backup-schedule-group";
    let s = seed().labelled(group, "g1");
    let other = schedule("other", "*/5 * * * *", "2026-11-21T06:00:00Z").labelled(group, "g1");
    let theirs = run(&other, "2026-11-21T07:00:00Z").phase(C::Prepare);
    let plan = decide(
        &s,
        std::slice::from_ref(&theirs),
        ts("2026-11-21T07:02:05Z"),
    );
    assert!(plan.create.is_none());
    let (_, reason, message) = condition(&plan, ConditionType::Blocked);
    assert_eq!(reason, "WaitingForBackup");
    assert!(
        message.contains(
            "Backup other-2026-11-21t07-00-00 of schedule other (same backup-schedule-group g1)"
        ),
        "{message}"
    );
    // Not in a group: other schedules' Backups are none of its business.
    let plan = decide(&seed(), &[theirs], ts("2026-11-21T07:02:05Z"));
    assert!(plan.create.is_some());
}

#[test]
fn pause_stops_creation_keeps_retention_and_unpause_catches_up_once() {
    let s = seed()
        .last_backup("sched-2026-11-21t07-02-00", "2026-11-21T07:02:00Z")
        .edit(|spec| {
            spec.pause = Some(true);
            spec.max_backups = Some(1);
        });
    let older = run(&s, "2026-11-21T07:00:00Z").complete_at("2026-11-21T07:00:20Z");
    let newer = run(&s, "2026-11-21T07:02:00Z").complete_at("2026-11-21T07:02:20Z");
    let backups = [older, newer];

    let plan = decide(&s, &backups, ts("2026-11-21T08:00:00Z"));
    assert!(plan.create.is_none());
    assert_eq!(plan.status.next_backup_time, None);
    assert_eq!(condition(&plan, ConditionType::Paused).0, "True");
    assert_eq!(condition(&plan, ConditionType::Blocked).0, "False");
    assert_eq!(deleted(&plan), ["sched-2026-11-21t07-00-00"]);
    assert_eq!(
        plan.status.last_backup_time,
        Some(Time(ts("2026-11-21T07:02:00Z")))
    );
    assert!(!event_reasons(&plan).contains(&"MissedTicks"));

    let unpaused = s.edit(|spec| spec.pause = Some(false));
    let plan = decide(&unpaused, &backups, ts("2026-11-21T08:00:30Z"));
    let c = plan.create.as_ref().expect("catch-up");
    assert_eq!((c.tick, c.skipped), (ts("2026-11-21T08:00:00Z"), 28));
    assert_eq!(condition(&plan, ConditionType::Paused).0, "False");
    assert!(event_reasons(&plan).contains(&"MissedTicks"));
}

#[test]
fn an_invalid_schedule_says_which_field_and_creates_nothing() {
    let s = seed()
        .edit(|spec| {
            spec.schedule = "61 * * * *".into();
            spec.max_backups = Some(1);
        })
        .last_backup("sched-2026-11-21t07-02-00", "2026-11-21T07:02:00Z");
    let b1 = run(&s, "2026-11-21T07:00:00Z").complete_at("2026-11-21T07:00:20Z");
    let b2 = run(&s, "2026-11-21T07:02:00Z").complete_at("2026-11-21T07:02:20Z");
    let plan = decide(&s, &[b1, b2], ts("2026-11-21T09:00:00Z"));
    assert!(plan.create.is_none());
    assert_eq!(plan.status.next_backup_time, None);
    let (status, reason, message) = condition(&plan, ConditionType::Valid);
    assert_eq!((status, reason), ("False", "InvalidSchedule"));
    assert!(
        message.starts_with(
            "spec.schedule: \"61 * * * *\" minute field \"61\": 61 is above the maximum 59"
        ),
        "{message}"
    );
    let event = plan
        .events
        .iter()
        .find(|e| e.reason == "InvalidSchedule")
        .unwrap();
    assert_eq!(
        (event.kind, event.note.as_str()),
        (EventKind::Warning, message)
    );
    // Retention, being valid, still runs; nothing else brings the schedule back.
    assert_eq!(deleted(&plan), ["sched-2026-11-21t07-00-00"]);
    assert_eq!(plan.requeue, None);
}

#[test]
fn a_template_a_backup_would_refuse_creates_nothing() {
    let s = seed().edit(|spec| {
        spec.backup_template.backup_type = Some(tibr_api::pingcap::v1alpha1::BackupType::Other(
            "bogus".into(),
        ));
        if let Some(s3) = spec.backup_template.storage.s3.as_mut() {
            s3.prefix = Some("runs/../other".into());
        }
    });
    let plan = decide(&s, &[], ts("2026-11-21T07:02:05Z"));
    assert!(plan.create.is_none());
    let (status, reason, message) = condition(&plan, ConditionType::Valid);
    assert_eq!((status, reason), ("False", "InvalidTemplate"));
    assert!(
        message.starts_with("spec.backupTemplate.backupType: unsupported value \"bogus\""),
        "{message}"
    );
    assert!(
        message.contains("spec.backupTemplate.s3.prefix: has a \"..\" segment"),
        "{message}"
    );
    let event = plan
        .events
        .iter()
        .find(|e| e.reason == "InvalidTemplate")
        .unwrap();
    assert_eq!(event.kind, EventKind::Warning);
}

#[test]
fn a_name_too_long_or_a_log_template_creates_nothing() {
    let long = schedule(&"n".repeat(40), "*/2 * * * *", "2026-11-21T07:00:30Z");
    let plan = decide(&long, &[], ts("2026-11-21T07:02:05Z"));
    assert!(plan.create.is_none());
    let (status, reason, message) = condition(&plan, ConditionType::Valid);
    assert_eq!((status, reason), ("False", "NameTooLong"));
    assert!(message.starts_with("metadata.name: "), "{message}");
    assert!(event_reasons(&plan).contains(&"NameTooLong"));

    let log = seed().edit(|spec| spec.backup_template.backup_mode = Some(BackupMode::Log));
    let plan = decide(&log, &[], ts("2026-11-21T07:02:05Z"));
    assert!(plan.create.is_none());
    let (_, reason, message) = condition(&plan, ConditionType::Valid);
    assert_eq!(reason, "InvalidTemplate");
    assert!(
        message.starts_with("spec.backupTemplate.backupMode: "),
        "{message}"
    );
}

#[test]
fn every_schedules_say_how_they_are_anchored() {
    let s = schedule("e", "@every 5s", "2026-11-21T07:00:00Z");
    let plan = decide(&s, &[], ts("2026-11-21T07:00:07Z"));
    assert!(
        condition(&plan, ConditionType::Valid)
            .2
            .contains("fires every 5s, at multiples of it since 1970-01-01T00:00:00Z")
    );
    let c = plan.create.expect("07:00:05 is due");
    assert_eq!(
        c.backup.metadata.name.as_deref(),
        Some("e-2026-11-21t07-00-05")
    );
    assert_eq!(
        plan.status.next_backup_time,
        Some(Time(ts("2026-11-21T07:00:10Z")))
    );
    assert_eq!(plan.requeue, Some(Duration::from_secs(3)));
}

#[test]
fn a_clock_behind_the_last_run_waits_and_says_so() {
    let s = seed().last_backup("sched-2026-11-21t07-10-00", "2026-11-21T07:10:00Z");
    let plan = decide(&s, &[], ts("2026-11-21T07:05:00Z"));
    assert!(plan.create.is_none());
    assert!(event_reasons(&plan).contains(&"ClockSkew"));
    assert_eq!(
        plan.status.next_backup_time,
        Some(Time(ts("2026-11-21T07:12:00Z")))
    );
}

#[test]
fn a_schedule_in_new_york_across_spring_forward() {
    let s = schedule(
        "ny",
        "CRON_TZ=America/New_York 30 2 * * *",
        "2026-03-01T00:00:00Z",
    )
    .last_backup("ny-2026-03-07t07-30-00", "2026-03-07T07:30:00Z");
    let prev = run(&s, "2026-03-07T07:30:00Z").complete_at("2026-03-07T07:31:00Z");
    let plan = decide(&s, std::slice::from_ref(&prev), ts("2026-03-08T06:59:00Z"));
    assert!(plan.create.is_none());
    assert_eq!(
        plan.status.next_backup_time,
        Some(Time(ts("2026-03-08T07:00:00Z")))
    );
    let plan = decide(&s, &[prev], ts("2026-03-08T07:00:01Z"));
    let c = plan.create.expect("02:30 runs at 03:00 EDT");
    assert_eq!(
        c.backup.metadata.name.as_deref(),
        Some("ny-2026-03-08t07-00-00")
    );
    assert_eq!(
        plan.status.next_backup_time,
        Some(Time(ts("2026-03-09T06:30:00Z")))
    );
}

#[test]
fn conditions_keep_their_transition_time_until_the_status_changes() {
    let mut conditions = Vec::new();
    let s = seed().last_backup("sched-2026-11-21t07-02-00", "2026-11-21T07:02:00Z");
    let running = run(&s, "2026-11-21T07:02:00Z").phase(C::Running);
    let t1 = ts("2026-11-21T07:04:30Z");
    let plan = decide(&s, std::slice::from_ref(&running), t1);
    assert!(apply_conditions(
        &mut conditions,
        &plan.conditions,
        Some(3),
        t1
    ));
    assert_eq!(conditions.len(), 4);
    let blocked = |c: &Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>| {
        c.iter().find(|c| c.type_ == "Blocked").unwrap().clone()
    };
    assert_eq!(blocked(&conditions).last_transition_time, Time(t1));
    assert_eq!(blocked(&conditions).observed_generation, Some(3));

    // Same situation later: nothing changes, so nothing needs writing.
    let t2 = ts("2026-11-21T07:05:30Z");
    let plan = decide(&s, std::slice::from_ref(&running), t2);
    assert!(!apply_conditions(
        &mut conditions,
        &plan.conditions,
        Some(3),
        t2
    ));
    assert_eq!(blocked(&conditions).last_transition_time, Time(t1));

    // Released: Blocked flips, with a new transition time.
    let t3 = ts("2026-11-21T07:06:30Z");
    let plan = decide(&s, &[running.complete_at("2026-11-21T07:06:00Z")], t3);
    assert!(apply_conditions(
        &mut conditions,
        &plan.conditions,
        Some(3),
        t3
    ));
    assert_eq!(blocked(&conditions).status, "False");
    assert_eq!(blocked(&conditions).last_transition_time, Time(t3));
}
