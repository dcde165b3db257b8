//! The decision for one reconcile of a BackupSchedule: which Backup to create, which to
//! delete, what status, conditions and Events to write, and when to look again.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::{
    Backup, BackupSchedule, ConditionStatus, constants::labels, pingcap::v1alpha1::BackupMode,
};

use super::{
    backup::{build_backup, check_name},
    cron::Cron,
    plan::{
        ConditionType, Creation, EventType, ScheduleCondition, ScheduleEvent, ScheduleMetrics,
        SchedulePlan, SpecProblem,
    },
    retention::{RetentionPolicy, select},
    runs::{Run, RunState},
};
use crate::backup::validate_template;
use crate::duration::format_go_duration;

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
/// `backups` are the schedule's Backups (label `tidb.pingcap.com/backup-schedule=<name>`)
/// and, when the schedule belongs to a group (label
/// `tidb.pingcap.com/backup-schedule-group`), the other group members' Backups, which
/// only count as possible predecessors. Everything else is ignored.
pub fn decide(schedule: &BackupSchedule, backups: &[Backup], now: Timestamp) -> SchedulePlan {
    let name = schedule.metadata.name.as_deref().unwrap_or_default();
    let namespace = schedule.metadata.namespace.as_deref().unwrap_or_default();
    let spec = &schedule.spec;
    let observed = schedule.status.clone().unwrap_or_default();
    let mut status = observed.clone();
    let mut events = Vec::new();
    let mut metrics = ScheduleMetrics::default();

    let schedule_label = |b: &Backup| {
        b.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::BACKUP_SCHEDULE))
            .cloned()
    };
    let runs: Vec<Run<'_>> = backups
        .iter()
        .filter(|b| schedule_label(b).as_deref() == Some(name))
        .map(|b| Run::read(name, b))
        .collect();
    let group = schedule
        .metadata
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
                let run = Run::read(&owner, b);
                Some((owner, run))
            })
            .collect(),
    };

    // What stops the schedule from creating Backups at all.
    let mut problems: Vec<SpecProblem> = Vec::new();
    let cron = Cron::parse(&spec.schedule)
        .map_err(|e| {
            problems.push(SpecProblem {
                field: "spec.schedule".into(),
                reason: "InvalidSchedule",
                message: format!("{:?} {e}", spec.schedule),
            })
        })
        .ok();
    if let Err(p) = check_name(name) {
        problems.push(p);
    }
    if spec.backup_template.mode() == BackupMode::Log {
        problems.push(SpecProblem {
            field: "spec.backupTemplate.backupMode".into(),
            reason: "InvalidTemplate",
            message: "a log backup runs continuously and cannot be taken per tick; put it in \
                      spec.logBackupTemplate"
                .to_string(),
        });
    } else if let Err(errors) = validate_template(&spec.backup_template, namespace) {
        // The rules a Backup is held to: a tick would only create an Invalid Backup.
        problems.extend(errors.into_iter().map(|e| SpecProblem {
            field: e.field,
            reason: "InvalidTemplate",
            message: e.message,
        }));
    }

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
        schedule.metadata.creation_timestamp.as_ref().map(|t| t.0),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(now);

    // Ticks.
    let paused = spec.pause == Some(true);
    let mut create = None;
    let mut blocked: Option<Blocked> = None;
    let mut next_backup = None;
    let mut wait_requeue = None;
    if let (Some(cron), true) = (&cron, problems.is_empty()) {
        if anchor > now {
            events.push(warning(
                "ClockSkew",
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
                match find_blocker(&runs, &group_runs, group.map(String::as_str)) {
                    Some(pred) => {
                        let b = blocked_on(cron, &pred, first, now);
                        events.push(warning(b.reason, b.message.clone()));
                        metrics.blocked_since = Some(first);
                        next_backup = Some(first);
                        wait_requeue = Some(b.requeue);
                        blocked = Some(b);
                    }
                    None => match build_backup(schedule, latest) {
                        Ok(backup) => {
                            let skipped = due.count.saturating_sub(1);
                            if skipped > 0 {
                                events.push(missed_ticks(skipped, due.capped, first, latest));
                            }
                            status.last_backup = backup.metadata.name.clone();
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
        events.push(warning(p.reason, p.to_string()));
    }
    if !problems.is_empty() {
        next_backup = None;
    }

    // Retention runs whatever else happens: paused, blocked or invalid.
    let mut retention_condition = ScheduleCondition {
        type_: ConditionType::Retention,
        status: ConditionStatus::True,
        reason: "KeepAll",
        message: String::new(),
    };
    let mut delete = Vec::new();
    let mut next_expiry = None;
    match RetentionPolicy::of(spec) {
        Err(p) => {
            events.push(warning(p.reason, p.to_string()));
            retention_condition.status = ConditionStatus::False;
            retention_condition.reason = p.reason;
            retention_condition.message = p.to_string();
        }
        Ok(policy) => {
            let r = select(&policy, &runs, now);
            retention_condition.reason = match policy {
                RetentionPolicy::KeepAll => "KeepAll",
                RetentionPolicy::MaxReservedTime(_) => "MaxReservedTime",
                RetentionPolicy::MaxBackups(_) => "MaxBackups",
            };
            retention_condition.message = policy.describe();
            if let (Some((kept, when)), RetentionPolicy::MaxReservedTime(d)) = (&r.held, &policy) {
                let message = format!(
                    "every complete backup is older than maxReservedTime {}; {kept} (data from \
                     {when}), the newest, is kept until a newer backup completes",
                    format_go_duration(*d)
                );
                retention_condition.reason = "NewestCompleteKept";
                retention_condition.message = message.clone();
                events.push(warning("NewestCompleteKept", message));
            }
            delete = r.delete;
            next_expiry = r.next_expiry;
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

    fill_metrics(
        &mut metrics,
        &runs,
        status.next_backup_time.as_ref().map(|t| t.0),
    );
    metrics.deleted_by_retention = delete.len() as u32;

    let requeue_after = [
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
        valid_condition(&problems, cron.as_ref(), &spec.schedule),
        flag(
            ConditionType::Paused,
            paused,
            (
                "Paused",
                "spec.pause is true: no new backups; retention keeps running",
            ),
            ("Active", "backups are taken at each tick"),
        ),
        match &blocked {
            Some(b) => ScheduleCondition {
                type_: ConditionType::Blocked,
                status: ConditionStatus::True,
                reason: b.reason,
                message: b.message.clone(),
            },
            None => flag(
                ConditionType::Blocked,
                false,
                ("", ""),
                ("NotBlocked", "no due run is waiting"),
            ),
        },
        retention_condition,
    ];

    SchedulePlan {
        create,
        delete,
        status,
        conditions,
        events,
        requeue_after,
        metrics,
    }
}

/// An in-flight Backup a due tick has to wait for.
struct Predecessor<'r, 'a> {
    run: &'r Run<'a>,
    /// `(schedule, group)` when it belongs to another schedule of the group.
    of_group: Option<(&'r str, &'r str)>,
}

/// The longest-running in-flight snapshot Backup of this schedule, else of its group.
fn find_blocker<'r, 'a>(
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

struct Blocked {
    reason: &'static str,
    message: String,
    requeue: Duration,
}

/// The wait for `pred`, and whether it counts as stuck: in `RetryFailed` (the Backup
/// controller keeps retrying a failure that usually needs a human, such as a missing
/// Secret), or in flight for more than [`STUCK_AFTER_PERIODS`] periods and at least
/// [`STUCK_AFTER_AT_LEAST`]. Either way the schedule keeps waiting: it never starts a
/// second backup of the cluster next to one that may still be running.
fn blocked_on(
    cron: &Cron,
    pred: &Predecessor<'_, '_>,
    first_due: Timestamp,
    now: Timestamp,
) -> Blocked {
    let run = pred.run;
    let phase = run.phase_text();
    let since = run.since().unwrap_or(first_due);
    let who = match pred.of_group {
        None => format!("Backup {}", run.name),
        Some((owner, group)) => format!(
            "Backup {} of schedule {owner} (same backup-schedule-group {group})",
            run.name
        ),
    };
    let period = cron
        .next_after(first_due)
        .map(|n| until(first_due, n))
        .unwrap_or(STUCK_AFTER_AT_LEAST);
    let threshold = (period * STUCK_AFTER_PERIODS).max(STUCK_AFTER_AT_LEAST);
    let stuck_at = since.checked_add(threshold).unwrap_or(Timestamp::MAX);
    let retrying = run.phase.is_some_and(|p| p.as_str() == "RetryFailed");
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
            reason: "PredecessorStuck",
            message: format!(
                "the run due at {first_due} is held back: {who} ({phase} since {since}) {why}. \
                 No second backup is started next to it; fix what holds it (kubectl describe \
                 backup {name}) or delete it, and the schedule then runs once",
                name = run.name
            ),
            requeue: WAIT_POLL,
        };
    }
    Blocked {
        reason: "WaitingForBackup",
        message: format!(
            "the run due at {first_due} waits for {who} ({phase} since {since}); it starts as \
             soon as that Backup is Complete, Failed or Invalid"
        ),
        requeue: WAIT_POLL.min(until(now, stuck_at)),
    }
}

fn missed_ticks(skipped: u64, capped: bool, first: Timestamp, latest: Timestamp) -> ScheduleEvent {
    let count = if capped {
        format!("at least {skipped}")
    } else {
        skipped.to_string()
    };
    warning(
        "MissedTicks",
        format!(
            "{count} run(s) due from {first} on were missed (operator down, schedule paused, or \
             an earlier backup still running) and are skipped; one catch-up backup is taken for \
             the latest, {latest}"
        ),
    )
}

fn valid_condition(problems: &[SpecProblem], cron: Option<&Cron>, text: &str) -> ScheduleCondition {
    match (problems.first(), cron) {
        (Some(first), _) => ScheduleCondition {
            type_: ConditionType::Valid,
            status: ConditionStatus::False,
            reason: first.reason,
            message: problems
                .iter()
                .map(SpecProblem::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        },
        (None, Some(cron)) => ScheduleCondition {
            type_: ConditionType::Valid,
            status: ConditionStatus::True,
            reason: "Valid",
            message: match cron.every() {
                Some(d) => format!(
                    "schedule {:?} fires every {}, at multiples of it since 1970-01-01T00:00:00Z",
                    text.trim(),
                    format_go_duration(d)
                ),
                None => format!(
                    "schedule {:?} runs in time zone {}",
                    text.trim(),
                    cron.zone().name()
                ),
            },
        },
        // Unreachable: without a cron there is a problem.
        (None, None) => flag(ConditionType::Valid, false, ("", ""), ("Invalid", "")),
    }
}

fn flag(
    type_: ConditionType,
    on: bool,
    when_true: (&'static str, &str),
    when_false: (&'static str, &str),
) -> ScheduleCondition {
    let ((reason, message), status) = if on {
        (when_true, ConditionStatus::True)
    } else {
        (when_false, ConditionStatus::False)
    };
    ScheduleCondition {
        type_,
        status,
        reason,
        message: message.to_string(),
    }
}

fn warning(reason: &'static str, message: String) -> ScheduleEvent {
    ScheduleEvent {
        type_: EventType::Warning,
        reason,
        message,
    }
}

/// Time from `from` to `to`, at least one second (a zero requeue would spin).
fn until(from: Timestamp, to: Timestamp) -> Duration {
    let d = to.duration_since(from);
    Duration::try_from(d)
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_secs(1))
}

fn fill_metrics(m: &mut ScheduleMetrics, runs: &[Run<'_>], next: Option<Timestamp>) {
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
            let kind = if r.state == RunState::Invalid {
                tibr_api::BackupConditionType::Invalid
            } else {
                tibr_api::BackupConditionType::Failed
            };
            let at = r
                .backup
                .condition(&kind)
                .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
                .or(r.completed)
                .or(r.order_key())?;
            Some((r.name.to_string(), at))
        })
        .collect();
}
