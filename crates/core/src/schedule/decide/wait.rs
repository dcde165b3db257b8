//! A due tick and the Backups in flight before it: one run at a time, across the schedule
//! and its `backup-schedule-group`; a wait that lasts too long is called stuck, never
//! overtaken; ticks missed meanwhile fold into one catch-up run.

use std::time::Duration;

use jiff::Timestamp;

use super::super::{
    cron::Cron,
    runs::{Run, RunState},
};
use super::{STUCK_AFTER_AT_LEAST, STUCK_AFTER_PERIODS, WAIT_POLL, until};
use crate::duration::format_go_duration;
use crate::reconcile::{Event, reasons};

/// An in-flight Backup a due tick has to wait for.
pub(super) struct Predecessor<'r, 'a> {
    run: &'r Run<'a>,
    /// `(schedule, group)` when it belongs to another schedule of the group.
    of_group: Option<(&'r str, &'r str)>,
}

/// The longest-running in-flight snapshot Backup of this schedule, else of its group.
pub(super) fn find_blocker<'r, 'a>(
    runs: &'r [Run<'a>],
    group_runs: &'r [(String, Run<'a>)],
    group: Option<&'r str>,
) -> Option<Predecessor<'r, 'a>> {
    let in_flight = |r: &Run<'_>| !r.is_log && r.state == RunState::InFlight;
    let own = runs
        .iter()
        .filter(|r| in_flight(r))
        .min_by_key(|r| r.since())
        .map(|run| Predecessor {
            run,
            of_group: None,
        });
    own.or_else(|| {
        let group = group?;
        group_runs
            .iter()
            .filter(|(_, r)| in_flight(r))
            .min_by_key(|(_, r)| r.since())
            .map(|(owner, run)| Predecessor {
                run,
                of_group: Some((owner.as_str(), group)),
            })
    })
}

pub(super) struct Blocked {
    pub(super) reason: &'static str,
    pub(super) message: String,
    pub(super) requeue: Duration,
}

/// The wait for `pred`, and whether it counts as stuck: in `RetryFailed` (the Backup
/// controller keeps retrying a failure that usually needs a human, such as a missing
/// Secret), or in flight for more than [`STUCK_AFTER_PERIODS`] periods and at least
/// [`STUCK_AFTER_AT_LEAST`]. Either way the schedule keeps waiting: it never starts a
/// second backup of the cluster next to one that may still be running.
pub(super) fn blocked_on(
    cron: &Cron,
    pred: &Predecessor<'_, '_>,
    first_due: Timestamp,
    now: Timestamp,
) -> Blocked {
    let run = pred.run;
    let phase = run.phase_text();
    let since = run.since().unwrap_or(first_due);
    let who = match pred.of_group {
        None => format!("{} {}", run.kind, run.name),
        Some((owner, group)) => format!(
            "{} {} of schedule {owner} (same backup-schedule-group {group})",
            run.kind, run.name
        ),
    };
    let period = cron
        .next_after(first_due)
        .map(|n| until(first_due, n))
        .unwrap_or(STUCK_AFTER_AT_LEAST);
    let threshold = (period * STUCK_AFTER_PERIODS).max(STUCK_AFTER_AT_LEAST);
    let stuck_at = since.checked_add(threshold).unwrap_or(Timestamp::MAX);
    let retrying = run.retrying;
    if retrying || now >= stuck_at {
        let why = if retrying {
            "keeps failing and being retried (RetryFailed)".to_string()
        } else {
            format!(
                "has been in flight longer than {}",
                format_go_duration(threshold)
            )
        };
        return Blocked {
            reason: reasons::PREDECESSOR_STUCK,
            message: format!(
                "the run due at {first_due} is held back: {who} ({phase} since {since}) {why}. \
                 No second backup is started next to it; fix what holds it (kubectl describe \
                 {kind} {name}) or delete it, and the schedule then runs once",
                kind = run.kind.to_lowercase(),
                name = run.name
            ),
            requeue: WAIT_POLL,
        };
    }
    Blocked {
        reason: reasons::WAITING_FOR_BACKUP,
        message: format!(
            "the run due at {first_due} waits for {who} ({phase} since {since}); it starts as \
             soon as that {} is Complete, Failed or Invalid",
            run.kind
        ),
        requeue: WAIT_POLL.min(until(now, stuck_at)),
    }
}

pub(super) fn missed_ticks(
    skipped: u64,
    capped: bool,
    first: Timestamp,
    latest: Timestamp,
) -> Event {
    let count = if capped {
        format!("at least {skipped}")
    } else {
        skipped.to_string()
    };
    Event::warning(
        reasons::MISSED_TICKS,
        "Schedule",
        format!(
            "{count} run(s) due from {first} on were missed (operator down, schedule paused, or \
             an earlier backup still running) and are skipped; one catch-up backup is taken for \
             the latest, {latest}"
        ),
    )
}
