//! The state machine driven by hand-set times.

use super::*;

const T0: i64 = 1_750_000_000_000;

fn pd() -> PdState {
    PdState::new(PdConfig::default(), T0)
}

fn pause_all(pd: &mut PdState, delay: i64, by: &str, now: i64) {
    for name in pd.scheduler_names() {
        pd.pause_scheduler(&name, delay, by, now).unwrap();
    }
}

#[test]
fn tso_is_monotonic_and_resolved_ts_trails_it() {
    let mut pd = pd();
    let a = pd.tso(T0);
    let b = pd.tso(T0);
    // The clock going backwards does not take the TSO with it.
    let c = pd.tso(T0 - 5_000);
    assert_eq!(a, compose_ts(T0, 0));
    assert!(a < b && b < c, "{a} {b} {c}");
    assert_eq!(physical_ms(c), T0);
    let resolved = pd.min_resolved_ts(T0);
    assert_eq!(resolved, compose_ts(T0 - 2_000, 0));
    assert!(resolved < a);
    // Monotonic even if asked with an older clock.
    assert_eq!(pd.min_resolved_ts(T0 - 10_000), resolved);
}

#[test]
fn disabled_resolved_ts_reads_zero_and_is_recorded() {
    let mut pd = pd();
    pd.set_resolved_ts_enabled(false, T0 + 1);
    assert_eq!(pd.min_resolved_ts(T0 + 2), 0);
    // The GC safepoint is far above 0, so BR's check of TS 0 against it must fail.
    assert!(pd.gc_safe_point(T0 + 2) > 0);
    pd.set_resolved_ts_enabled(true, T0 + 3);
    assert!(pd.min_resolved_ts(T0 + 4) > 0);
    let events: Vec<Event> = pd
        .snapshot(T0 + 5)
        .history
        .iter()
        .map(|t| t.event)
        .collect();
    assert_eq!(
        events,
        [Event::ResolvedTsDisabled, Event::ResolvedTsEnabled]
    );
}

#[test]
fn a_service_safepoint_holds_gc_until_its_ttl_passes_unrefreshed() {
    let mut pd = pd();
    let sp = pd.min_resolved_ts(T0) - 1;
    let gc_before = pd.gc_safe_point(T0);
    assert!(gc_before < sp);
    pd.update_service_safe_point("br-1", 120, sp, T0).unwrap();
    // Refreshed at 40 s and 80 s: still held at 199 s, gone at 200 s (80 s + 120 s).
    pd.update_service_safe_point("br-1", 120, sp, T0 + 40_000)
        .unwrap();
    pd.update_service_safe_point("br-1", 120, sp, T0 + 80_000)
        .unwrap();
    // Far later than the life time: GC would have passed sp had it not been held.
    let held = pd.snapshot(T0 + 199_999);
    assert_eq!(held.service("br-1").unwrap().expires_at_ms, T0 + 200_000);
    assert!(held.gc_safe_point <= sp);
    let gone = pd.snapshot(T0 + 900_000);
    assert!(gone.service("br-1").is_none());
    assert!(gone.gc_safe_point > sp, "GC moves on once released");
    let expired = gone.events(Event::GcExpired);
    assert_eq!(expired.len(), 1);
    // Recorded at the deadline, not when it was noticed.
    assert_eq!(expired[0].at_ms, T0 + 200_000);
    assert_eq!(expired[0].by.as_deref(), Some("br-1"));
    assert_eq!(
        gone.events(Event::GcPaused).len(),
        1,
        "refreshes are not pauses"
    );
}

#[test]
fn ttl_zero_removes_and_a_safepoint_behind_gc_is_refused() {
    let mut pd = pd();
    let gc = pd.gc_safe_point(T0);
    let min = pd
        .update_service_safe_point("late", 60, gc - 1, T0)
        .unwrap();
    assert_eq!(min, gc);
    assert!(pd.snapshot(T0).service("late").is_none());
    // A millisecond moves the GC safepoint by 2^18, so stay well ahead of it.
    let ahead = gc + (1 << 30);
    pd.update_service_safe_point("br-2", 60, ahead, T0 + 1)
        .unwrap();
    pd.update_service_safe_point("br-2", 0, 0, T0 + 2).unwrap();
    let s = pd.snapshot(T0 + 3);
    assert!(s.service_gc_safe_points.is_empty());
    let kinds: Vec<(Event, i64)> = s.history.iter().map(|t| (t.event, t.at_ms)).collect();
    assert_eq!(
        kinds,
        [(Event::GcPaused, T0 + 1), (Event::GcResumed, T0 + 2)]
    );
    assert!(pd.update_service_safe_point("", 60, ahead, T0 + 4).is_err());
}

#[test]
fn schedulers_pause_when_all_are_paused_and_expire_at_the_first_deadline() {
    let mut pd = pd();
    let names = pd.scheduler_names();
    pd.pause_scheduler(&names[0], 120, "br-a", T0).unwrap();
    assert!(
        !pd.snapshot(T0).schedulers.paused,
        "one of three is not all"
    );
    pd.pause_scheduler(&names[1], 120, "br-a", T0 + 10).unwrap();
    pd.pause_scheduler(&names[2], 120, "br-a", T0 + 20).unwrap();
    let paused = pd.snapshot(T0 + 30);
    assert!(paused.schedulers.paused);
    assert_eq!(paused.schedulers.paused_since_ms, Some(T0 + 20));
    assert_eq!(paused.schedulers.paused_until_ms, Some(T0 + 120_000));
    // A refresh of all three moves the deadline; the pause is not re-recorded.
    pause_all(&mut pd, 120, "br-a", T0 + 60_000);
    let refreshed = pd.snapshot(T0 + 61_000);
    assert_eq!(refreshed.schedulers.paused_until_ms, Some(T0 + 180_000));
    assert_eq!(refreshed.schedulers.refreshed_at_ms, Some(T0 + 60_000));
    assert_eq!(refreshed.events(Event::SchedulersPaused).len(), 1);
    let later = pd.snapshot(T0 + 500_000);
    assert!(!later.schedulers.paused);
    assert!(
        later
            .schedulers
            .list
            .iter()
            .all(|s| s.paused_until_ms.is_none())
    );
    let expired = later.events(Event::SchedulersExpired);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].at_ms, T0 + 180_000);
}

#[test]
fn resuming_one_scheduler_ends_the_pause_and_names_who_did() {
    let mut pd = pd();
    pause_all(&mut pd, 30, "br-op", T0);
    pd.pause_scheduler("balance-leader-scheduler", 0, "br-op", T0 + 5_000)
        .unwrap();
    // The others reaching their deadlines later is not a second end.
    let s = pd.snapshot(T0 + 100_000);
    let kinds: Vec<(Event, i64, Option<&str>)> = s
        .history
        .iter()
        .map(|t| (t.event, t.at_ms, t.by.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            (Event::SchedulersPaused, T0, Some("br-op")),
            (Event::SchedulersResumed, T0 + 5_000, Some("br-op")),
        ]
    );
    assert_eq!(
        pd.pause_scheduler("no-such-scheduler", 10, "x", T0),
        Err(PdError::SchedulerNotFound("no-such-scheduler".into()))
    );
    assert!(
        pd.pause_scheduler(&s.schedulers.list[0].name, -1, "x", T0)
            .is_err()
    );
}

#[test]
fn expiries_found_together_are_recorded_in_time_order() {
    let mut pd = pd();
    let sp = pd.min_resolved_ts(T0);
    pause_all(&mut pd, 10, "br", T0);
    pd.update_service_safe_point("br", 5, sp, T0).unwrap();
    let s = pd.snapshot(T0 + 60_000);
    let kinds: Vec<(Event, i64)> = s.history.iter().map(|t| (t.event, t.at_ms)).collect();
    assert_eq!(
        kinds,
        [
            (Event::SchedulersPaused, T0),
            (Event::GcPaused, T0),
            (Event::GcExpired, T0 + 5_000),
            (Event::SchedulersExpired, T0 + 10_000),
        ]
    );
}
