//! What `spec.schedule` accepts and refuses, and what the fields mean.

use super::support::ts;
use crate::schedule::Cron;

/// The first tick after the ecosystem probe's base time (Sat 2026-11-21 07:03 UTC).
fn next(spec: &str) -> String {
    let cron = Cron::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
    cron.next_after(ts("2026-11-21T07:03:00Z"))
        .expect("fires")
        .to_string()
}

#[test]
fn accepts_what_tidb_operator_accepts() {
    let cases = [
        ("*/2 * * * *", "2026-11-21T07:04:00Z"),
        ("0 0 * * *", "2026-11-22T00:00:00Z"),
        ("0 2 * * 1-5", "2026-11-23T02:00:00Z"),
        ("0 0 1,15 * *", "2026-12-01T00:00:00Z"),
        ("30 4 * jan,DEC mon-FRI", "2026-12-01T04:30:00Z"),
        ("0 0 ? * ?", "2026-11-22T00:00:00Z"),
        ("0 0 * * SUN", "2026-11-22T00:00:00Z"),
        ("0 0 * * 0", "2026-11-22T00:00:00Z"),
        ("5/15 * * * *", "2026-11-21T07:05:00Z"),
        ("10-40/15 7 * * *", "2026-11-21T07:10:00Z"),
        ("0 0 29 2 *", "2028-02-29T00:00:00Z"),
        ("  0 0 * * *  ", "2026-11-22T00:00:00Z"),
        ("@yearly", "2027-01-01T00:00:00Z"),
        ("@annually", "2027-01-01T00:00:00Z"),
        ("@monthly", "2026-12-01T00:00:00Z"),
        ("@weekly", "2026-11-22T00:00:00Z"),
        ("@daily", "2026-11-22T00:00:00Z"),
        ("@midnight", "2026-11-22T00:00:00Z"),
        ("@hourly", "2026-11-21T08:00:00Z"),
        ("@every 1h", "2026-11-21T08:00:00Z"),
        ("@every 5s", "2026-11-21T07:03:05Z"),
        ("CRON_TZ=Asia/Shanghai 0 2 * * *", "2026-11-21T18:00:00Z"),
        ("TZ=America/New_York 30 1 * * *", "2026-11-22T06:30:00Z"),
        ("CRON_TZ=UTC @daily", "2026-11-22T00:00:00Z"),
    ];
    for (spec, want) in cases {
        assert_eq!(next(spec), want, "{spec}");
    }
}

#[test]
fn step_from_a_single_value_runs_to_the_end_of_the_field() {
    let cron = Cron::parse("5/15 * * * *").unwrap();
    let ticks = cron.ticks_between(ts("2026-11-21T06:59:00Z"), ts("2026-11-21T08:00:00Z"), 10);
    let minutes: Vec<i8> = ticks
        .iter()
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).minute())
        .collect();
    assert_eq!(minutes, [5, 20, 35, 50]);
}

#[test]
fn day_fields_or_when_both_restricted_and_when_either_is_star() {
    // Both restricted: the 13th OR any Friday, so the next Friday comes first.
    assert_eq!(next("0 0 13 * FRI"), "2026-11-27T00:00:00Z");
    // Both restricted: the 1st OR any Monday.
    assert_eq!(next("0 0 1 * MON"), "2026-11-23T00:00:00Z");
    // A day-of-week written with `*` (even with a step) switches to AND, as in robfig:
    // days 1-7 that are Sun/Tue/Thu/Sat. Under OR it would be Sunday Nov 22.
    assert_eq!(next("0 0 1-7 * */2"), "2026-12-01T00:00:00Z");
    // Same with `*/2` in day-of-month: odd days that are Mondays (Nov 23 is odd).
    assert_eq!(next("0 0 */2 * MON"), "2026-11-23T00:00:00Z");
    // Under AND, a Monday on an odd day in December: Dec 7 and Dec 21 qualify.
    assert_eq!(next("0 0 */2 12 MON"), "2026-12-07T00:00:00Z");
}

#[test]
fn refuses_with_a_message_naming_the_problem() {
    let cases = [
        ("", "is empty"),
        ("   ", "is empty"),
        ("*/2 * * * * *", "6 fields"),
        ("0 */2 * * * * 2026", "seconds or year field"),
        ("* * * *", "4 fields"),
        ("daily", "1 field;"),
        (
            "60 * * * *",
            "minute field \"60\": 60 is above the maximum 59",
        ),
        (
            "* 24 * * *",
            "hour field \"24\": 24 is above the maximum 23",
        ),
        (
            "* * 0 * *",
            "day-of-month field \"0\": 0 is below the minimum 1",
        ),
        ("* * 32 * *", "above the maximum 31"),
        (
            "* * * 13 *",
            "month field \"13\": 13 is above the maximum 12",
        ),
        ("* * * 0 *", "month field \"0\": 0 is below the minimum 1"),
        ("* * * * 7", "Sunday is 0 or SUN"),
        ("*/0 * * * *", "step in \"*/0\" must be at least 1"),
        ("1-5/x * * * *", "step \"x\" is not a number"),
        ("5-1 * * * *", "runs backwards"),
        ("1,,2 * * * *", "empty element"),
        ("1, * * * *", "empty element"),
        ("1/2/3 * * * *", "more than one '/'"),
        ("1-2-3 * * * *", "more than one '-'"),
        ("*-5 * * * *", "\"*\" is not a valid value"),
        ("-5 * * * *", "missing a value"),
        ("* * * FOO *", "use 1-12 or JAN-DEC"),
        ("* * * * MONDAY", "use 0-6 or SUN-SAT"),
        ("0 0 L * *", "\"L\" is not a valid value"),
        ("0 0 * * MON#2", "is not a valid value"),
        ("0 0 15W * *", "is not a valid value"),
        ("+5 * * * *", "\"+5\" is not a valid value"),
        ("0 0 31 2 *", "never run"),
        ("0 0 30,31 2 *", "never run"),
        ("0 0 31 4,6,9,11 *", "never run"),
        ("@fortnightly", "unknown descriptor \"@fortnightly\""),
        ("@Daily", "unknown descriptor"),
        ("@every", "write @every, a space and a Go duration"),
        ("@every1h", "write @every, a space and a Go duration"),
        ("@every 500ms", "whole number of seconds, at least 1s"),
        ("@every 1.5s", "whole number of seconds"),
        ("@every 0s", "at least 1s"),
        ("@every 3d", "invalid duration \"3d\""),
        ("@every -1h", "invalid duration"),
        (
            "CRON_TZ=Mars/Base 0 0 * * *",
            "CRON_TZ=Mars/Base: unknown time zone",
        ),
        ("TZ=EST5EDTX @daily", "TZ=EST5EDTX: unknown time zone"),
        ("CRON_TZ= 0 0 * * *", "CRON_TZ= needs an IANA zone name"),
        ("TZ=UTC", "must be followed by the schedule"),
        ("CRON_TZ=Local 0 0 * * *", "\"Local\" is not accepted"),
        ("CRON_TZ=UTC TZ=UTC 0 0 * * *", "6 fields"),
    ];
    for (spec, want) in cases {
        let err = Cron::parse(spec)
            .err()
            .unwrap_or_else(|| panic!("{spec:?} must be refused"))
            .to_string();
        assert!(
            err.contains(want),
            "{spec:?}: {err:?} should contain {want:?}"
        );
    }
}

#[test]
fn the_zone_is_reported_and_defaults_to_utc() {
    assert_eq!(Cron::parse("0 0 * * *").unwrap().zone().name(), "UTC");
    assert_eq!(
        Cron::parse("CRON_TZ=Asia/Shanghai 0 0 * * *")
            .unwrap()
            .zone()
            .name(),
        "Asia/Shanghai"
    );
    assert_eq!(
        Cron::parse("@every 1h30m").unwrap().every(),
        Some(std::time::Duration::from_secs(5400))
    );
}
