//! Facts about a schedule's runs for its metrics.

use jiff::Timestamp;

use super::super::{
    plan::ScheduleMetrics,
    runs::{Run, RunState},
};

pub(super) fn fill_metrics(m: &mut ScheduleMetrics, runs: &[Run<'_>], next: Option<Timestamp>) {
    let snapshots = || runs.iter().filter(|r| !r.is_log);
    let count = |s: &[RunState]| snapshots().filter(|r| s.contains(&r.state)).count() as u32;
    m.next_backup = next;
    m.complete = count(&[RunState::Complete]);
    m.failed = count(&[RunState::Failed, RunState::Invalid]);
    m.in_flight = count(&[RunState::InFlight]);
    let newest_complete = snapshots()
        .filter(|r| r.state == RunState::Complete)
        .max_by_key(|r| r.order_key());
    m.last_success = snapshots()
        .filter(|r| r.state == RunState::Complete)
        .filter_map(|r| r.completed)
        .max();
    let failed: Vec<&Run<'_>> = snapshots()
        .filter(|r| matches!(r.state, RunState::Failed | RunState::Invalid))
        .collect();
    m.consecutive_failures = failed
        .iter()
        .filter(|r| newest_complete.is_none_or(|c| r.order_key() > c.order_key()))
        .count() as u32;
    m.failed_runs = failed
        .iter()
        .filter_map(|r| {
            let at = r.failed_at.or(r.completed).or(r.order_key())?;
            Some((r.name.to_string(), at))
        })
        .collect();
}
