//! BackupSchedule: the cron schedule, the Backup each tick creates, retention, and the
//! decision that ties them together — all pure, with "now" passed in.
//!
//! # Ticks and names
//! A tick is an instant the schedule is due (see [`Cron`] for the syntax and `ticks` for
//! the rules across daylight-saving changes and for `@every`). Schedules run in UTC
//! unless `spec.schedule` starts with `CRON_TZ=<zone>` or `TZ=<zone>`. Each tick maps to
//! exactly one Backup name, `<schedule>-<tick, UTC, YYYY-MM-DDtHH-MM-SS>`, so creating a
//! tick's Backup twice fails on the name instead of producing a duplicate.
//!
//! # The anchor
//! Ticks are counted after an anchor: the latest of (a) the tick of the newest Backup the
//! schedule has made (read from the Backups, not only from the status), (b)
//! `status.lastBackupTime` (the tick of the last run), (c) `status.allBackupCleanTime`,
//! (d) the schedule's creation. Because (a) is read from the objects themselves, a
//! restart between creating a Backup and writing the status cannot fire the same tick
//! again; the decision also repairs the status from it.
//!
//! # Missed ticks
//! When several ticks came due since the anchor (operator down, schedule paused, or an
//! earlier Backup still running), they collapse into one catch-up run, for the latest
//! due tick, taken at once; the earlier ones are skipped and reported (a `MissedTicks`
//! Warning Event with the count, and the `skipped` metric). There is no deadline: a run
//! that is late is taken late rather than not at all.
//!
//! # One at a time
//! A due tick waits while any earlier snapshot Backup of the schedule (or, with the label
//! `tidb.pingcap.com/backup-schedule-group`, of its group) is still in flight — neither
//! Complete, Failed nor Invalid. Unlike TiDB Operator, which looks only at
//! `status.lastBackup` (issue #4220), every Backup of the schedule is checked. Waiting is
//! never silent: condition `Blocked=True` and a Warning Event name the Backup, its phase
//! and since when, and `status.nextBackupTime` shows the overdue tick. The predecessor is
//! reported as stuck (`PredecessorStuck`) when it is in `RetryFailed`, or has been in
//! flight for more than two schedule periods and at least an hour. The schedule still
//! waits then: a second BR run next to a live one competes for the same TiKV nodes and,
//! when `from` is set, both juggle TiKV's GC life time. The way out is named in the
//! message: fix or delete the stuck Backup; the schedule then runs once.
//!
//! # Pause
//! `pause: true` creates nothing and leaves the anchor where it was; retention keeps
//! running. Unpausing takes one catch-up run if any tick passed (reported as missed).
//!
//! # Invalid specs
//! An unparsable `spec.schedule`, a schedule name too long for its Jobs' names (TiDB
//! issue #5076), a missing uid or a log-mode `backupTemplate` stop Backup creation:
//! condition `Valid=False` and a Warning Event name the field. An unusable retention
//! field (`maxReservedTime` that is not a Go duration, negative `maxBackups`) only
//! switches retention off — condition `Retention=False` and a Warning Event — while
//! backups keep being taken: a broken retention setting costs storage, a stopped
//! schedule costs backups.
//!
//! # Retention
//! See [`retention`]: TiDB Operator's two policies and their precedence, plus safety
//! rules (the newest Complete backup is never deleted; failures do not count toward
//! `maxBackups`; in-flight and log backups are never deleted).

mod backup;
mod cron;
mod decide;
mod kind;
mod plan;
pub mod retention;
mod runs;
mod settle;
mod ticks;
mod volume;

pub use backup::{
    MAX_SCHEDULE_NAME, TICK_ANNOTATION, backup_name, build_backup, check_name, run_directory,
    stamp, tick_from_name, tick_of,
};
pub use cron::{Cron, CronError, Zone};
pub use decide::{
    MISSED_TICKS_COUNT_CAP, STUCK_AFTER_AT_LEAST, STUCK_AFTER_PERIODS, WAIT_POLL, decide,
};
pub use kind::{ScheduleKind, ScheduleTimes};
pub use plan::{
    ConditionType, Creation, Deletion, ScheduleCondition, ScheduleMetrics, SchedulePlan,
    SpecProblem, apply_conditions,
};
pub use retention::{Retention, RetentionPolicy};
pub use runs::{Run, RunState, tso_time};
pub use settle::{Created, Deleted, Outcomes, Settled, settle};
pub use ticks::DueTicks;
pub use volume::MAX_VOLUME_SCHEDULE_NAME;

#[cfg(test)]
mod tests;
