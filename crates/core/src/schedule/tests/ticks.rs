//! Tick computation: UTC, zones, daylight-saving changes, `@every`, windows.

use jiff::Timestamp;

use super::support::ts;
use crate::schedule::Cron;

fn cron(spec: &str) -> Cron {
    Cron::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn ticks(spec: &str, after: &str, until: &str) -> Vec<String> {
    cron(spec)
        .ticks_between(ts(after), ts(until), 10_000)
        .iter()
        .map(Timestamp::to_string)
        .collect()
}

// New York, 2026: clocks go 02:00 EST -> 03:00 EDT on Sunday 8 March (07:00Z), and
// 02:00 EDT -> 01:00 EST on Sunday 1 November (06:00Z).

#[test]
fn spring_forward_a_time_in_the_gap_runs_when_the_gap_ends() {
    assert_eq!(
        ticks(
            "CRON_TZ=America/New_York 30 2 * * *",
            "2026-03-06T12:00:00Z",
            "2026-03-10T00:00:00Z"
        ),
        [
            "2026-03-07T07:30:00Z", // 02:30 EST
            "2026-03-08T07:00:00Z", // 02:30 does not exist: 03:00 EDT, when the gap ends
            "2026-03-09T06:30:00Z", // 02:30 EDT
        ]
    );
}

#[test]
fn spring_forward_times_in_the_gap_collapse_into_one_tick() {
    // 02:00, 02:30 (missing) and 03:00 all land on 07:00Z: one tick, not three.
    assert_eq!(
        ticks(
            "CRON_TZ=America/New_York 0,30 2,3 * * *",
            "2026-03-08T05:00:00Z",
            "2026-03-08T09:00:00Z"
        ),
        ["2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"]
    );
    let c = cron("CRON_TZ=America/New_York 0,30 2,3 * * *");
    assert_eq!(
        c.next_after(ts("2026-03-08T07:00:00Z")),
        Some(ts("2026-03-08T07:30:00Z"))
    );
    assert_eq!(
        c.latest_at_or_before(ts("2026-03-08T07:10:00Z")),
        Some(ts("2026-03-08T07:00:00Z"))
    );
}

#[test]
fn fall_back_a_repeated_time_runs_once_at_its_first_occurrence() {
    assert_eq!(
        ticks(
            "CRON_TZ=America/New_York 30 1 * * *",
            "2026-10-31T00:00:00Z",
            "2026-11-03T00:00:00Z"
        ),
        [
            "2026-10-31T05:30:00Z", // 01:30 EDT
            "2026-11-01T05:30:00Z", // 01:30 EDT; 01:30 EST (06:30Z) does not run again
            "2026-11-02T06:30:00Z", // 01:30 EST
        ]
    );
}

#[test]
fn fall_back_hourly_skips_the_repeated_hour() {
    assert_eq!(
        ticks(
            "CRON_TZ=America/New_York 0 * * * *",
            "2026-11-01T03:30:00Z",
            "2026-11-01T08:30:00Z"
        ),
        [
            "2026-11-01T04:00:00Z", // 00:00 EDT
            "2026-11-01T05:00:00Z", // 01:00 EDT
            "2026-11-01T07:00:00Z", // 02:00 EST; 01:00 EST (06:00Z) was already run
            "2026-11-01T08:00:00Z",
        ]
    );
}

#[test]
fn searching_from_inside_the_repeated_hour() {
    let daily = cron("CRON_TZ=America/New_York 30 1 * * *");
    // 06:15Z is 01:15 EST, the second 01:15 of the night; 01:30's only run is behind.
    assert_eq!(
        daily.next_after(ts("2026-11-01T06:15:00Z")),
        Some(ts("2026-11-02T06:30:00Z"))
    );
    // 06:45Z is 01:45 EST: the latest run is 01:30 EDT, an hour and a quarter earlier.
    assert_eq!(
        daily.latest_at_or_before(ts("2026-11-01T06:45:00Z")),
        Some(ts("2026-11-01T05:30:00Z"))
    );
    let hourly = cron("CRON_TZ=America/New_York 0 * * * *");
    assert_eq!(
        hourly.next_after(ts("2026-11-01T06:15:00Z")),
        Some(ts("2026-11-01T07:00:00Z"))
    );
    assert_eq!(
        hourly.latest_at_or_before(ts("2026-11-01T06:59:59Z")),
        Some(ts("2026-11-01T05:00:00Z"))
    );
}

#[test]
fn a_year_in_new_york_every_wall_time_once_in_order() {
    // Four wall times a night in the hours that change: every night has 4 runs, except
    // the spring-forward night, where the missing 02:15 and 02:45 share one tick at
    // 03:00 EDT. On the fall-back night the second 01:15 and 01:45 do not run again.
    let c = cron("CRON_TZ=America/New_York 15,45 1,2 * * *");
    let all = c.ticks_between(
        ts("2025-12-31T12:00:00Z"),
        ts("2026-12-31T12:00:00Z"),
        10_000,
    );
    assert_eq!(all.len(), 365 * 4 - 1);
    for pair in all.windows(2) {
        assert!(pair[0] < pair[1], "ticks must strictly increase: {pair:?}");
        assert_eq!(c.next_after(pair[0]), Some(pair[1]));
        let just_before = pair[1] - jiff::SignedDuration::from_secs(1);
        assert_eq!(c.latest_at_or_before(just_before), Some(pair[0]));
    }
    let spring: Vec<String> = all
        .iter()
        .filter(|t| t.to_string().starts_with("2026-03-08"))
        .map(Timestamp::to_string)
        .collect();
    assert_eq!(
        spring,
        [
            "2026-03-08T06:15:00Z",
            "2026-03-08T06:45:00Z",
            "2026-03-08T07:00:00Z"
        ]
    );
    let fall: Vec<String> = all
        .iter()
        .filter(|t| t.to_string().starts_with("2026-11-01"))
        .map(Timestamp::to_string)
        .collect();
    // 01:15 and 01:45 EDT, then 02:15 and 02:45 EST.
    assert_eq!(
        fall,
        [
            "2026-11-01T05:15:00Z",
            "2026-11-01T05:45:00Z",
            "2026-11-01T07:15:00Z",
            "2026-11-01T07:45:00Z"
        ]
    );
}

#[test]
fn shanghai_has_no_daylight_saving() {
    assert_eq!(
        ticks(
            "CRON_TZ=Asia/Shanghai 0 2 * * *",
            "2026-03-07T00:00:00Z",
            "2026-03-10T00:00:00Z"
        ),
        [
            "2026-03-07T18:00:00Z",
            "2026-03-08T18:00:00Z",
            "2026-03-09T18:00:00Z"
        ]
    );
    assert_eq!(
        ticks(
            "TZ=Asia/Shanghai 0 2 * * *",
            "2026-10-31T00:00:00Z",
            "2026-11-02T00:00:00Z"
        ),
        ["2026-10-31T18:00:00Z", "2026-11-01T18:00:00Z"]
    );
}

#[test]
fn every_is_anchored_on_the_epoch_whatever_the_zone() {
    for spec in ["@every 1h", "TZ=Asia/Shanghai @every 1h"] {
        assert_eq!(
            cron(spec).next_after(ts("2026-11-21T07:03:00Z")),
            Some(ts("2026-11-21T08:00:00Z")),
            "{spec}"
        );
    }
    let seven = cron("@every 7m");
    let t = ts("2026-11-21T07:03:00Z");
    let next = seven.next_after(t).unwrap();
    assert_eq!(next.as_second() % 420, 0);
    assert!(next > t && next.as_second() - t.as_second() <= 420);
    // The same tick from anywhere in the interval: a restart computes the same ticks.
    for offset in [1, 60, 419] {
        let later = next - jiff::SignedDuration::from_secs(offset);
        assert_eq!(seven.next_after(later), Some(next));
    }
    assert_eq!(
        seven.next_after(next),
        Some(next + jiff::SignedDuration::from_secs(420))
    );
    assert_eq!(seven.latest_at_or_before(next), Some(next));
}

#[test]
fn due_window_counts_first_and_latest() {
    let every = cron("@every 1m");
    let due = every.due_between(
        ts("2026-11-21T07:00:00Z"),
        ts("2026-11-21T10:00:30Z"),
        10_000,
    );
    assert_eq!(due.count, 180);
    assert!(!due.capped);
    assert_eq!(due.first, Some(ts("2026-11-21T07:01:00Z")));
    assert_eq!(due.latest, Some(ts("2026-11-21T10:00:00Z")));

    let two = cron("*/2 * * * *");
    let due = two.due_between(
        ts("2026-11-21T07:02:00Z"),
        ts("2026-11-21T10:31:00Z"),
        10_000,
    );
    assert_eq!(due.count, 104);
    assert_eq!(due.first, Some(ts("2026-11-21T07:04:00Z")));
    assert_eq!(due.latest, Some(ts("2026-11-21T10:30:00Z")));

    let capped = two.due_between(ts("2026-11-21T07:02:00Z"), ts("2026-11-21T10:31:00Z"), 50);
    assert_eq!((capped.count, capped.capped), (50, true));
    assert_eq!(capped.latest, Some(ts("2026-11-21T10:30:00Z")));
    let capped_every =
        every.due_between(ts("2026-11-21T07:00:00Z"), ts("2026-11-21T10:00:30Z"), 50);
    assert_eq!((capped_every.count, capped_every.capped), (50, true));

    // Nothing due: the end of the window is before the next tick.
    let none = two.due_between(ts("2026-11-21T07:02:00Z"), ts("2026-11-21T07:03:59Z"), 10);
    assert_eq!((none.count, none.first, none.latest), (0, None, None));
    // The window's start is excluded, its end included.
    let edge = two.due_between(ts("2026-11-21T07:02:00Z"), ts("2026-11-21T07:04:00Z"), 10);
    assert_eq!(
        (edge.count, edge.latest),
        (1, Some(ts("2026-11-21T07:04:00Z")))
    );
}

#[test]
fn rare_dates_are_found_far_ahead_and_behind() {
    let leap = cron("0 0 29 2 *");
    assert_eq!(
        leap.latest_at_or_before(ts("2027-06-01T00:00:00Z")),
        Some(ts("2024-02-29T00:00:00Z"))
    );
    // 29 February that is also a Sunday (day-of-week `*/7` is a star, so AND).
    let rare = cron("0 0 29 2 */7");
    assert_eq!(
        rare.next_after(ts("2026-01-01T00:00:00Z")),
        Some(ts("2032-02-29T00:00:00Z"))
    );
}
