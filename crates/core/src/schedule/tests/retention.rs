//! Retention through `decide`: both policies, their precedence, the safety rules, and
//! the metrics facts.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::BackupConditionType as C;

use super::support::*;
use crate::schedule::{ConditionType, decide, tso_time};

const NOW: &str = "2026-11-21T12:00:30Z";

/// An hourly schedule whose last run was at 12:00, so no tick is due at [`NOW`].
fn hourly(
    edit: impl FnOnce(&mut tibr_api::pingcap::v1alpha1::BackupScheduleSpec),
) -> tibr_api::BackupSchedule {
    schedule("h", "0 * * * *", "2026-11-20T00:00:00Z")
        .last_backup("h-2026-11-21t12-00-00", "2026-11-21T12:00:00Z")
        .edit(edit)
}

/// A complete run for `hh:00` on 2026-11-21, committed half a minute after its tick.
fn complete(s: &tibr_api::BackupSchedule, hour: u8) -> tibr_api::Backup {
    let tick = format!("2026-11-21T{hour:02}:00:00Z");
    run(s, &tick).complete_at(&format!("2026-11-21T{hour:02}:00:30Z"))
}

fn failed(s: &tibr_api::BackupSchedule, hour: u8) -> tibr_api::Backup {
    let tick = format!("2026-11-21T{hour:02}:00:00Z");
    run(s, &tick).failed_at(&format!("2026-11-21T{hour:02}:05:00Z"))
}

#[test]
fn tso_physical_time() {
    assert_eq!(
        tso_time(&tso("2026-11-21T12:00:30Z")),
        Some(ts("2026-11-21T12:00:30Z"))
    );
    // The logical low bits do not move the time.
    let with_logical = ((ts("2026-11-21T12:00:30Z").as_millisecond() as u64) << 18) + 7;
    assert_eq!(
        tso_time(&with_logical.to_string()),
        Some(ts("2026-11-21T12:00:30Z"))
    );
    assert_eq!(
        tso_time("400036290571534337")
            .map(|t| t.to_string())
            .as_deref(),
        Some("2018-05-11T05:42:23.794Z")
    );
    assert_eq!(tso_time(""), None);
    assert_eq!(tso_time("0"), None);
    assert_eq!(tso_time("2018-05-11 01:42:23"), None);
}

#[test]
fn max_reserved_time_deletes_by_commit_time() {
    let s = hourly(|spec| spec.max_reserved_time = Some("3h".into()));
    let backups = [
        complete(&s, 7),
        failed(&s, 8),
        complete(&s, 9), // committed 09:00:30, cut-off 09:00:30: not older, kept
        complete(&s, 11),
        complete(&s, 12),
    ];
    let plan = decide(&s, &backups, ts(NOW));
    assert_eq!(
        deleted(&plan),
        ["h-2026-11-21t07-00-00", "h-2026-11-21t08-00-00"]
    );
    assert!(
        plan.delete[0]
            .reason
            .contains("older than maxReservedTime 3h0m0s"),
        "{}",
        plan.delete[0].reason
    );
    assert!(
        plan.delete[1].reason.starts_with("this failed run is from"),
        "{}",
        plan.delete[1].reason
    );
    let (status, reason, _) = condition(&plan, ConditionType::Retention);
    assert_eq!((status, reason), ("True", "MaxReservedTime"));
    assert_eq!(plan.metrics.deleted_by_retention, 2);
    // The 09:00 backup's data is exactly 3h old: not older yet, so it goes on the next
    // look, a second later, not at the next tick.
    assert_eq!(plan.requeue, Some(Duration::from_secs(1)));
    let plan = decide(&s, &backups, ts("2026-11-21T12:00:31Z"));
    assert_eq!(deleted(&plan)[2], "h-2026-11-21t09-00-00");
    // Then the next look is the 13:00 tick, which comes before 11:00's expiry (14:00:30).
    let rest = [complete(&s, 11), complete(&s, 12)];
    let plan = decide(&s, &rest, ts("2026-11-21T12:00:31Z"));
    assert_eq!(plan.requeue, Some(Duration::from_secs(3569)));
}

#[test]
fn without_a_commit_ts_the_tick_is_the_age() {
    let s = hourly(|spec| spec.max_reserved_time = Some("2h".into()));
    let mut old = complete(&s, 8);
    old.status.as_mut().unwrap().commit_ts = None;
    let plan = decide(&s, &[old, complete(&s, 12)], ts(NOW));
    assert_eq!(deleted(&plan), ["h-2026-11-21t08-00-00"]);
}

#[test]
fn max_backups_keeps_the_newest_complete_ones() {
    let s = hourly(|spec| spec.max_backups = Some(2));
    let backups = [
        complete(&s, 9),
        complete(&s, 10),
        complete(&s, 11),
        complete(&s, 12),
    ];
    let plan = decide(&s, &backups, ts(NOW));
    assert_eq!(
        deleted(&plan),
        ["h-2026-11-21t09-00-00", "h-2026-11-21t10-00-00"]
    );
    assert!(plan.delete[0].reason.starts_with("beyond maxBackups 2"));
    assert_eq!(condition(&plan, ConditionType::Retention).1, "MaxBackups");
    // `0` keeps everything.
    let s = hourly(|spec| spec.max_backups = Some(0));
    assert!(decide(&s, &backups, ts(NOW)).delete.is_empty());
}

#[test]
fn max_reserved_time_wins_over_max_backups() {
    let s = hourly(|spec| {
        spec.max_reserved_time = Some("24h".into());
        spec.max_backups = Some(1);
    });
    let backups = [complete(&s, 9), complete(&s, 10), complete(&s, 12)];
    let plan = decide(&s, &backups, ts(NOW));
    assert!(plan.delete.is_empty(), "{:?}", plan.delete);
    assert_eq!(
        condition(&plan, ConditionType::Retention).1,
        "MaxReservedTime"
    );
}

#[test]
fn the_newest_complete_backup_is_never_deleted() {
    // Paused for a day: everything is older than maxReservedTime.
    let s = hourly(|spec| {
        spec.max_reserved_time = Some("3h".into());
        spec.pause = Some(true);
    });
    let later = ts("2026-11-22T18:00:00Z");
    let backups = [complete(&s, 10), complete(&s, 11), failed(&s, 12)];
    let plan = decide(&s, &backups, later);
    assert_eq!(
        deleted(&plan),
        ["h-2026-11-21t10-00-00", "h-2026-11-21t12-00-00"]
    );
    let (status, reason, message) = condition(&plan, ConditionType::Retention);
    assert_eq!((status, reason), ("True", "NewestCompleteKept"));
    assert!(
        message.contains(
            "h-2026-11-21t11-00-00 (data from 2026-11-21T11:00:30Z), the newest, is kept"
        ),
        "{message}"
    );
    assert!(event_reasons(&plan).contains(&"NewestCompleteKept"));
    // Not every Backup went, so the schedule keeps its last run.
    assert_eq!(plan.status.all_backup_clean_time, None);

    // maxReservedTime: 0 (Go accepts it) still keeps one.
    let s = hourly(|spec| spec.max_reserved_time = Some("0".into()));
    let plan = decide(&s, &[complete(&s, 11), complete(&s, 12)], ts(NOW));
    assert_eq!(deleted(&plan), ["h-2026-11-21t11-00-00"]);
}

#[test]
fn failures_do_not_push_good_backups_out_of_max_backups() {
    let s = hourly(|spec| spec.max_backups = Some(2));
    let backups = [
        failed(&s, 5), // older than the newest complete: superseded
        complete(&s, 6),
        complete(&s, 7),
        failed(&s, 8), // the current failure streak: 8..12, newest 2 kept
        failed(&s, 9),
        failed(&s, 10),
        failed(&s, 11),
        failed(&s, 12),
    ];
    let plan = decide(&s, &backups, ts(NOW));
    assert_eq!(
        deleted(&plan),
        [
            "h-2026-11-21t05-00-00",
            "h-2026-11-21t08-00-00",
            "h-2026-11-21t09-00-00",
            "h-2026-11-21t10-00-00"
        ]
    );
    assert!(
        plan.delete[0]
            .reason
            .contains("superseded by the newer complete backup h-2026-11-21t07-00-00")
    );
    assert!(
        plan.delete[1]
            .reason
            .contains("beyond the 2 newest failed runs")
    );
    assert_eq!(plan.metrics.consecutive_failures, 5);
    assert_eq!(plan.metrics.complete, 2);
    assert_eq!(plan.metrics.failed, 6);
    assert_eq!(plan.metrics.last_success, Some(ts("2026-11-21T07:01:30Z")));
    assert_eq!(plan.metrics.failed_runs.len(), 6);
    assert!(plan.metrics.failed_runs.contains(&(
        "h-2026-11-21t12-00-00".to_string(),
        ts("2026-11-21T12:05:00Z")
    )));
}

#[test]
fn running_log_and_deleting_backups_are_never_deleted() {
    let s = hourly(|spec| spec.max_backups = Some(1));
    let mut log = run(&s, "2026-11-20T00:00:00Z").log_mode().phase(C::Running);
    log.metadata.name = Some("log-h".into());
    let stuck = run(&s, "2026-11-21T01:00:00Z").phase(C::Running);
    let going = complete(&s, 2).deleting();
    let backups = [log, stuck, going, complete(&s, 11), complete(&s, 12)];
    let plan = decide(&s, &backups, ts(NOW));
    assert_eq!(deleted(&plan), ["h-2026-11-21t11-00-00"]);

    // By age, too (without the log backup, which would keep 11:00 as its base).
    let s = hourly(|spec| spec.max_reserved_time = Some("50m".into()));
    let plan = decide(&s, &backups[1..], ts(NOW));
    assert_eq!(deleted(&plan), ["h-2026-11-21t11-00-00"]);
}

#[test]
fn with_a_log_backup_the_snapshot_before_the_window_is_kept() {
    let s = hourly(|spec| spec.max_reserved_time = Some("2h".into()));
    let mut log = run(&s, "2026-11-20T00:00:00Z").log_mode().phase(C::Running);
    log.metadata.name = Some("log-h".into());
    // Window starts 10:00:30: 09:00 is the base a restore to 10:00:30 starts from.
    let backups = [
        log,
        complete(&s, 8),
        complete(&s, 9),
        complete(&s, 11),
        complete(&s, 12),
    ];
    let plan = decide(&s, &backups, ts(NOW));
    assert_eq!(deleted(&plan), ["h-2026-11-21t08-00-00"]);
}

#[test]
fn an_unusable_retention_field_deletes_nothing_but_backups_continue() {
    let s = hourly(|spec| {
        spec.max_reserved_time = Some("7d".into());
        spec.max_backups = Some(1);
    });
    let backups = [complete(&s, 9), complete(&s, 10), complete(&s, 12)];
    let plan = decide(&s, &backups, ts("2026-11-21T13:00:05Z"));
    assert!(plan.delete.is_empty());
    assert!(
        plan.create.is_some(),
        "a broken retention setting must not stop backups"
    );
    let (status, reason, message) = condition(&plan, ConditionType::Retention);
    assert_eq!((status, reason), ("False", "InvalidMaxReservedTime"));
    assert!(
        message.starts_with("spec.maxReservedTime: invalid duration \"7d\""),
        "{message}"
    );
    assert_eq!(condition(&plan, ConditionType::Valid).0, "True");
    assert!(event_reasons(&plan).contains(&"InvalidMaxReservedTime"));

    let s = hourly(|spec| spec.max_backups = Some(-1));
    let plan = decide(&s, &backups, ts(NOW));
    assert!(plan.delete.is_empty());
    let (status, reason, message) = condition(&plan, ConditionType::Retention);
    assert_eq!((status, reason), ("False", "InvalidMaxBackups"));
    assert!(
        message.starts_with("spec.maxBackups: -1 is negative"),
        "{message}"
    );
}

#[test]
fn deleting_every_backup_records_all_backup_clean_time() {
    let s = hourly(|spec| spec.max_reserved_time = Some("1h".into()));
    let backups = [failed(&s, 8), failed(&s, 9)];
    let now = ts(NOW);
    let plan = decide(&s, &backups, now);
    assert_eq!(deleted(&plan).len(), 2);
    assert_eq!(plan.status.last_backup, None);
    assert_eq!(plan.status.last_backup_time, None);
    assert_eq!(plan.status.all_backup_clean_time, Some(Time(now)));
    // The anchor does not move backwards: the next tick is still 13:00.
    assert_eq!(
        plan.status.next_backup_time,
        Some(Time(ts("2026-11-21T13:00:00Z")))
    );
}
