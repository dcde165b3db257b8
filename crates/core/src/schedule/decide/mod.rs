//! The decision for one reconcile of a BackupSchedule: which Backup to create, which to
//! delete, what status, conditions and Events to write, and when to look again.
//!
//! - `spec`: what stops the schedule altogether (`Valid`).
//! - `wait`: a due tick behind a run in flight (`Blocked`), and missed ticks.
//! - retention is `super::retention`; `metrics`: facts for the metrics endpoint.

mod metrics;
mod spec;
mod wait;

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use tibr_api::{ConditionStatus, constants::labels};

use super::{
    kind::ScheduleKind,
    plan::{ConditionType, Creation, ScheduleCondition, ScheduleMetrics, SchedulePlan},
    retention::{RetentionPolicy, select},
    runs::{Run, RunState},
};
use crate::duration::format_go_duration;
use crate::reconcile::{Event, reasons};

/// Counting missed ticks stops here (a minutely schedule down for a week); the message
/// then says "at least".
pub const MISSED_TICKS_COUNT_CAP: u64 = 10_000;
/// A predecessor in flight for this many schedule periods is reported as stuck...
pub const STUCK_AFTER_PERIODS: u32 = 2;
/// ...but never before it has been in flight this long (frequent schedules of big
/// clusters legitimately overlap a few ticks).
pub const STUCK_AFTER_AT_LEAST: Duration = Duration::from_secs(3600);
/// While waiting on a predecessor, look again at least this often (its completion also
/// triggers a reconcile through the watch on Backups).
pub const WAIT_POLL: Duration = Duration::from_secs(60);

/// Decides what to do for `schedule` at `now`.
///
/// `backups` are the schedule's runs (label `tidb.pingcap.com/backup-schedule=<name>`)
/// and, when the schedule belongs to a group (label
/// `tidb.pingcap.com/backup-schedule-group`), the other group members' runs, which only
/// count as possible predecessors. Everything else is ignored.
pub fn decide<S: ScheduleKind>(
    schedule: &S,
    backups: &[S::Run],
    now: Timestamp,
) -> SchedulePlan<S::Run, S::Status> {
    let meta = schedule.meta();
    let name = meta.name.as_deref().unwrap_or_default();
    let observed = S::times(&schedule.status());
    let mut status = observed.clone();
    let mut events = Vec::new();
    let mut metrics = ScheduleMetrics::default();

    let schedule_label = |b: &S::Run| {
        let m: &ObjectMeta = S::run_meta(b);
        m.labels
            .as_ref()
            .and_then(|l| l.get(labels::BACKUP_SCHEDULE))
            .cloned()
    };
    let runs: Vec<Run<'_>> = backups
        .iter()
        .filter(|b| schedule_label(b).as_deref() == Some(name))
        .map(|b| S::read_run(name, b))
        .collect();
    let group = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(labels::BACKUP_SCHEDULE_GROUP))
        .filter(|g| !g.is_empty());
    let group_runs: Vec<(String, Run<'_>)> = match group {
        None => Vec::new(),
        Some(_) => backups
            .iter()
            .filter_map(|b| {
                let owner = schedule_label(b).filter(|s| s != name)?;
                let run = S::read_run(&owner, b);
                Some((owner, run))
            })
            .collect(),
    };

    let (cron, mut problems) = spec::check(schedule);

    // The latest tick already taken, read from the Backups themselves, so that a status
    // write lost after a create (restart, conflict) never leads to a second Backup.
    let taken = runs
        .iter()
        .filter(|r| !r.is_log)
        .filter_map(|r| r.tick.map(|t| (t, r)))
        .max_by_key(|(t, _)| *t);
    if let Some((tick, run)) = taken
        && run.state != RunState::Deleting
        && observed
            .last_backup_time
            .as_ref()
            .is_none_or(|t| t.0 < tick)
    {
        status.last_backup = Some(run.name.to_string());
        status.last_backup_time = Some(Time(tick));
        if observed
            .all_backup_clean_time
            .as_ref()
            .is_some_and(|t| t.0 < tick)
        {
            status.all_backup_clean_time = None;
        }
    }
    let anchor = [
        taken.map(|(t, _)| t),
        observed.last_backup_time.as_ref().map(|t| t.0),
        observed.all_backup_clean_time.as_ref().map(|t| t.0),
        meta.creation_timestamp.as_ref().map(|t| t.0),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(now);

    // Ticks.
    let paused = schedule.paused();
    let mut create = None;
    let mut blocked: Option<wait::Blocked> = None;
    let mut next_backup = None;
    let mut wait_requeue = None;
    if let (Some(cron), true) = (&cron, problems.is_empty()) {
        if anchor > now {
            events.push(Event::warning(
                reasons::CLOCK_SKEW,
                "Schedule",
                format!(
                    "the schedule's last run is recorded at {anchor}, after the current time; \
                     no run starts before the clock passes it"
                ),
            ));
        }
        let due = cron.due_between(anchor, now, MISSED_TICKS_COUNT_CAP);
        match (due.first, due.latest) {
            _ if paused => {}
            (Some(first), Some(latest)) => {
                match wait::find_blocker(&runs, &group_runs, group.map(String::as_str)) {
                    Some(pred) => {
                        let b = wait::blocked_on(cron, &pred, first, now);
                        events.push(Event::warning(b.reason, "Schedule", b.message.clone()));
                        metrics.blocked_since = Some(first);
                        next_backup = Some(first);
                        wait_requeue = Some(b.requeue);
                        blocked = Some(b);
                    }
                    None => match schedule.build_run(latest) {
                        Ok(backup) => {
                            let skipped = due.count.saturating_sub(1);
                            if skipped > 0 {
                                events.push(wait::missed_ticks(skipped, due.capped, first, latest));
                            }
                            status.last_backup = S::run_meta(&backup).name.clone();
                            status.last_backup_time = Some(Time(latest));
                            status.all_backup_clean_time = None;
                            metrics.created = 1;
                            metrics.skipped_ticks = skipped;
                            next_backup = cron.next_after(latest);
                            create = Some(Creation {
                                tick: latest,
                                skipped,
                                backup,
                            });
                        }
                        Err(p) => problems.push(p),
                    },
                }
            }
            _ => next_backup = cron.next_after(anchor.max(now)),
        }
    }
    for p in &problems {
        events.push(Event::warning(p.reason, "Schedule", p.to_string()));
    }
    if create.is_some() {
        // Once per run, not at every reconcile: each run is where the note applies.
        events.extend(schedule.template_notes());
    }
    if !problems.is_empty() {
        next_backup = None;
    }

    // Retention runs whatever else happens: paused, blocked or invalid.
    let mut retention_condition = ScheduleCondition {
        type_: ConditionType::Retention,
        status: ConditionStatus::True,
        reason: reasons::KEEP_ALL,
        message: String::new(),
    };
    let mut delete = Vec::new();
    let mut next_expiry = None;
    match RetentionPolicy::of(schedule.max_reserved_time(), schedule.max_backups()) {
        Err(p) => {
            events.push(Event::warning(p.reason, "Schedule", p.to_string()));
            retention_condition.status = ConditionStatus::False;
            retention_condition.reason = p.reason;
            retention_condition.message = p.to_string();
        }
        Ok(policy) => {
            let r = select(&policy, &runs, now);
            retention_condition.reason = match policy {
                RetentionPolicy::KeepAll => reasons::KEEP_ALL,
                RetentionPolicy::MaxReservedTime(_) => reasons::MAX_RESERVED_TIME,
                RetentionPolicy::MaxBackups(_) => reasons::MAX_BACKUPS,
            };
            retention_condition.message = policy.describe();
            if let (Some((kept, when)), RetentionPolicy::MaxReservedTime(d)) = (&r.held, &policy) {
                let message = format!(
                    "every complete backup is older than maxReservedTime {}; {kept} (data from \
                     {when}), the newest, is kept until a newer backup completes",
                    format_go_duration(*d)
                );
                retention_condition.reason = reasons::NEWEST_COMPLETE_KEPT;
                retention_condition.message = message.clone();
                events.push(Event::warning(
                    reasons::NEWEST_COMPLETE_KEPT,
                    "Schedule",
                    message,
                ));
            }
            delete = r.delete;
            next_expiry = r.next_expiry;
            if S::DELETE_ONE_AT_A_TIME {
                let deleting = runs
                    .iter()
                    .filter(|r| r.state == RunState::Deleting)
                    .map(|r| r.name)
                    .collect::<Vec<_>>();
                let due = delete.len();
                delete.truncate(usize::from(deleting.is_empty()));
                if due > delete.len() {
                    let now_deleting = deleting
                        .first()
                        .copied()
                        .or(delete.first().map(|d| d.name.as_str()));
                    retention_condition.reason = reasons::RETENTION_BEHIND;
                    retention_condition.message = format!(
                        "{}; {due} {}(s) due for deletion, deleted one at a time so that EC2 \
                         can keep up with their snapshots (now: {})",
                        policy.describe(),
                        S::RUN_KIND,
                        now_deleting.unwrap_or_default()
                    );
                }
            }
        }
    }
    let live_snapshots: Vec<&Run<'_>> = runs
        .iter()
        .filter(|r| !r.is_log && r.state != RunState::Deleting)
        .collect();
    if create.is_none()
        && !delete.is_empty()
        && live_snapshots
            .iter()
            .all(|r| delete.iter().any(|d| d.name == r.name))
    {
        // Retention removes every Backup (only possible when none is Complete): the
        // anchor moves to now, as TiDB Operator records it.
        status.last_backup = None;
        status.last_backup_time = None;
        status.all_backup_clean_time = Some(Time(now));
    }
    status.next_backup_time = if paused { None } else { next_backup.map(Time) };

    metrics::fill_metrics(
        &mut metrics,
        &runs,
        status.next_backup_time.as_ref().map(|t| t.0),
    );
    metrics.deleted_by_retention = delete.len() as u32;

    let requeue = [
        status
            .next_backup_time
            .as_ref()
            .filter(|_| blocked.is_none())
            .map(|t| t.0),
        next_expiry,
    ]
    .into_iter()
    .flatten()
    .map(|t| until(now, t))
    .chain(wait_requeue)
    .min();

    let conditions = vec![
        spec::valid_condition(&problems, cron.as_ref(), schedule.cron_text()),
        spec::flag(
            ConditionType::Paused,
            paused,
            (
                reasons::PAUSED,
                "spec.pause is true: no new backups; retention keeps running",
            ),
            (reasons::ACTIVE, "backups are taken at each tick"),
        ),
        match &blocked {
            Some(b) => ScheduleCondition {
                type_: ConditionType::Blocked,
                status: ConditionStatus::True,
                reason: b.reason,
                message: b.message.clone(),
            },
            None => spec::flag(
                ConditionType::Blocked,
                false,
                ("", ""),
                (reasons::NOT_BLOCKED, "no due run is waiting"),
            ),
        },
        retention_condition,
    ];

    let mut typed = schedule.status();
    S::set_times(&mut typed, status);
    SchedulePlan {
        create,
        delete,
        status: typed,
        conditions,
        events,
        requeue,
        metrics,
    }
}

/// Time from `from` to `to`, at least one second (a zero requeue would spin).
fn until(from: Timestamp, to: Timestamp) -> Duration {
    let d = to.duration_since(from);
    Duration::try_from(d)
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_secs(1))
}
