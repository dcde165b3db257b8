//! Which of a schedule's Backups retention deletes.
//!
//! The policy, as TiDB Operator has it: `maxReservedTime` (a Go duration, measured on when
//! each backup's data is from: its commit TSO, else its tick) wins over `maxBackups` (a
//! count; 0 or unset keeps everything) when both are set. With neither, nothing is
//! deleted. A `maxReservedTime` that does not parse deletes nothing — it does not fall
//! back to `maxBackups`, which could delete what the intended time window keeps.
//!
//! Safety rules tibr adds, because retention must never be what loses the last good
//! backup:
//! 1. The newest `Complete` backup is never deleted, even when every backup is older
//!    than `maxReservedTime` (e.g. the schedule is paused or every recent run failed).
//!    It goes once a newer backup completes.
//! 2. `maxBackups` counts `Complete` backups only, so a series of failures cannot push
//!    good backups out. Failed and Invalid runs are kept while they are newer than the
//!    newest Complete one (they explain why there is no newer backup), at most
//!    `maxBackups` of them; older ones are deleted. Under `maxReservedTime` they simply
//!    expire like the others.
//! 3. A Backup still in flight is never deleted, nor one already being deleted.
//! 4. Runs marked `skipGC` (VolumeBackups) are neither deleted nor counted.
//! 5. Log backups are never deleted by retention, by count or by age (TiDB Operator's
//!    count policy deletes them, issue #6320). While the schedule has one,
//!    `maxReservedTime` also keeps the newest Complete backup from before the window, so
//!    every point in the window stays restorable (snapshot + log).
//!
//! Deleting a Backup hands its data to that Backup's own `cleanPolicy`: retention only
//! names the Backups to delete.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::{
    plan::{Deletion, SpecProblem},
    runs::{Run, RunState},
};
use crate::duration::{format_go_duration, parse_go_duration};

/// The retention policy in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetentionPolicy {
    /// Neither field set (or `maxBackups: 0`): keep everything.
    KeepAll,
    /// Delete backups whose data is older than this.
    MaxReservedTime(Duration),
    /// Keep this many Complete backups.
    MaxBackups(u32),
}

impl RetentionPolicy {
    /// Reads the policy; an unusable field is a problem, and then nothing is deleted.
    pub fn of(
        max_reserved_time: Option<&str>,
        max_backups: Option<i32>,
    ) -> Result<RetentionPolicy, SpecProblem> {
        if let Some(text) = max_reserved_time {
            return parse_go_duration(text)
                .map(RetentionPolicy::MaxReservedTime)
                .map_err(|e| SpecProblem {
                    field: "spec.maxReservedTime".into(),
                    reason: "InvalidMaxReservedTime",
                    message: format!("{e}; retention deletes nothing until it is fixed"),
                });
        }
        match max_backups {
            None | Some(0) => Ok(RetentionPolicy::KeepAll),
            Some(n) if n > 0 => Ok(RetentionPolicy::MaxBackups(n as u32)),
            Some(n) => Err(SpecProblem {
                field: "spec.maxBackups".into(),
                reason: "InvalidMaxBackups",
                message: format!(
                    "{n} is negative; use 0 to keep every backup; retention deletes nothing until it is fixed"
                ),
            }),
        }
    }

    /// How the policy reads in messages.
    pub fn describe(&self) -> String {
        match self {
            RetentionPolicy::KeepAll => "no retention limit: every backup is kept".to_string(),
            RetentionPolicy::MaxReservedTime(d) => {
                format!("backups are kept for {}", format_go_duration(*d))
            }
            RetentionPolicy::MaxBackups(n) => format!("the {n} newest complete backups are kept"),
        }
    }
}

/// What retention decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// Backups to delete, oldest first.
    pub delete: Vec<Deletion>,
    /// The newest Complete backup, kept by safety rule 1 although the policy would delete
    /// it: its name and when its data is from.
    pub held: Option<(String, Timestamp)>,
    /// The earliest future moment a kept backup expires (time policy only).
    pub next_expiry: Option<Timestamp>,
}

/// Applies `policy` to the schedule's runs at `now`.
pub fn select(policy: &RetentionPolicy, runs: &[Run<'_>], now: Timestamp) -> Retention {
    // Only finished snapshot runs are candidates (rules 3 and 4), and never one marked
    // `skipGC`.
    let mut finished: Vec<&Run<'_>> = runs
        .iter()
        .filter(|r| !r.is_log && !r.skip_gc)
        .filter(|r| {
            matches!(
                r.state,
                RunState::Complete | RunState::Failed | RunState::Invalid
            )
        })
        .collect();
    match policy {
        RetentionPolicy::KeepAll => Retention::default(),
        RetentionPolicy::MaxReservedTime(keep) => {
            finished.sort_by_key(|r| r.data_time);
            let has_log = runs
                .iter()
                .any(|r| r.is_log && r.state != RunState::Deleting);
            by_age(&finished, *keep, has_log, now)
        }
        RetentionPolicy::MaxBackups(n) => {
            finished.sort_by_key(|r| r.order_key());
            by_count(&finished, *n as usize)
        }
    }
}

/// `runs` sorted oldest data first.
fn by_age(runs: &[&Run<'_>], keep: Duration, has_log: bool, now: Timestamp) -> Retention {
    let mut out = Retention::default();
    let keep_signed = SignedDuration::try_from(keep).unwrap_or(SignedDuration::MAX);
    // A window reaching before the representable past expires nothing.
    let Ok(cutoff) = now.checked_sub(keep_signed) else {
        return out;
    };
    let completes: Vec<&&Run<'_>> = runs
        .iter()
        .filter(|r| r.state == RunState::Complete)
        .collect();
    let newest = completes.last().map(|r| r.name);
    // With a log backup, the newest snapshot from before the window is the base a
    // point-in-time restore to the window's start replays the log onto.
    let pitr_base = has_log
        .then(|| {
            completes
                .iter()
                .rev()
                .find(|r| r.data_time.is_some_and(|t| t <= cutoff))
                .map(|r| r.name)
        })
        .flatten();
    let window = format_go_duration(keep);
    for run in runs {
        let Some(when) = run.data_time else {
            // No way to tell its age: keep it.
            continue;
        };
        let expired = when < cutoff;
        if Some(run.name) == newest {
            if expired {
                out.held = Some((run.name.to_string(), when));
            }
            continue;
        }
        if Some(run.name) == pitr_base {
            continue;
        }
        if expired {
            let what = match run.state {
                RunState::Complete => "its data is from",
                _ => "this failed run is from",
            };
            out.delete.push(Deletion {
                name: run.name.to_string(),
                reason: format!("{what} {when}, older than maxReservedTime {window}"),
            });
        } else if let Ok(expiry) = when.checked_add(keep_signed) {
            out.next_expiry = Some(out.next_expiry.map_or(expiry, |e| e.min(expiry)));
        }
    }
    out
}

/// `runs` sorted oldest first.
fn by_count(runs: &[&Run<'_>], keep: usize) -> Retention {
    let mut out = Retention::default();
    let completes: Vec<&&Run<'_>> = runs
        .iter()
        .filter(|r| r.state == RunState::Complete)
        .collect();
    let newest_complete = completes.last().copied();
    let failures: Vec<&&Run<'_>> = runs
        .iter()
        .filter(|r| r.state != RunState::Complete)
        .collect();
    // Failures older than the newest Complete backup are superseded by it; of the newer
    // ones (the current streak) the newest `keep` stay for inspection.
    let streak_start = failures
        .iter()
        .position(|r| newest_complete.is_none_or(|c| r.order_key() > c.order_key()))
        .unwrap_or(failures.len());
    let streak_kept_from = streak_start.max(failures.len().saturating_sub(keep));
    let mut delete: Vec<(&Run<'_>, String)> = Vec::new();
    for (i, run) in failures.iter().enumerate() {
        if i < streak_start {
            let by = newest_complete.map(|c| c.name).unwrap_or_default();
            delete.push((
                run,
                format!("failed run superseded by the newer complete backup {by}"),
            ));
        } else if i < streak_kept_from {
            delete.push((
                run,
                format!("failed run beyond the {keep} newest failed runs kept under maxBackups"),
            ));
        }
    }
    let excess = completes.len().saturating_sub(keep);
    for run in &completes[..excess] {
        delete.push((
            run,
            format!("beyond maxBackups {keep}: a newer complete backup took its place"),
        ));
    }
    delete.sort_by_key(|(r, _)| r.order_key());
    out.delete = delete
        .into_iter()
        .map(|(r, reason)| Deletion {
            name: r.name.to_string(),
            reason,
        })
        .collect();
    out
}
