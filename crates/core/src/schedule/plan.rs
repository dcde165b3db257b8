//! What [`decide`](super::decide) returns: data for the controller's `act` step to apply,
//! and for its metrics and Events.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use tibr_api::{Backup, ConditionStatus, pingcap::v1alpha1::BackupScheduleStatus};

use crate::reconcile::{Event, update_condition};

/// Everything one reconcile of a schedule should do; `R` is what a tick creates, `St` the
/// schedule's status.
#[derive(Debug, Clone)]
pub struct SchedulePlan<R = Backup, St = BackupScheduleStatus> {
    /// The run to create, if a tick is due and nothing holds it back.
    pub create: Option<Creation<R>>,
    /// Backups retention deletes (each then follows its own `cleanPolicy`), oldest first.
    pub delete: Vec<Deletion>,
    /// The status to write (the observed one with this decision applied). Write it after
    /// creating the Backup: if the write is lost, the next decision reads the tick back
    /// from the Backup itself.
    pub status: St,
    /// The schedule's conditions, every type every time (see [`ConditionType`]).
    pub conditions: Vec<ScheduleCondition>,
    /// Events to record on the schedule. Messages avoid the current time, so that the same
    /// situation on successive reconciles aggregates into one Event with a count.
    pub events: Vec<Event>,
    /// When to look again, if nothing else triggers a reconcile first: the next tick, the
    /// next retention expiry, or a poll while waiting on a predecessor. `None` when only a
    /// change to the schedule can help (e.g. an unparsable `spec.schedule`).
    pub requeue: Option<Duration>,
    /// Facts for the metrics endpoint.
    pub metrics: ScheduleMetrics,
}

/// A run to create for a tick.
#[derive(Debug, Clone)]
pub struct Creation<R = Backup> {
    /// The tick it is for (also in its name and [`TICK_ANNOTATION`](super::TICK_ANNOTATION)).
    pub tick: Timestamp,
    /// Earlier ticks that came due since the last run and are folded into this one.
    pub skipped: u64,
    /// The object to create. "Already exists" means an earlier attempt at the same tick
    /// succeeded: treat it as success, never as a reason to pick another name.
    pub backup: R,
}

/// A Backup retention deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub name: String,
    /// Why, for the deletion Event.
    pub reason: String,
}

/// A BackupSchedule condition type, kept in `status.conditions` (a tibr extension) by
/// [`apply_conditions`] in the Kubernetes `metav1.Condition` shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionType {
    /// True when the spec can produce Backups (schedule, name, template).
    Valid,
    /// True while `spec.pause` is set.
    Paused,
    /// True while a due tick waits for an earlier Backup still in flight.
    Blocked,
    /// True when the retention policy is usable; its reason says which policy applies
    /// and whether the newest-complete safety rule is holding a backup back.
    Retention,
}

impl ConditionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::Valid => "Valid",
            ConditionType::Paused => "Paused",
            ConditionType::Blocked => "Blocked",
            ConditionType::Retention => "Retention",
        }
    }
}

/// One condition as decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleCondition {
    pub type_: ConditionType,
    pub status: ConditionStatus,
    /// CamelCase, for machines.
    pub reason: &'static str,
    /// A sentence for humans.
    pub message: String,
}

/// A spec field that stops something from working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// The field to fix, e.g. `spec.schedule`.
    pub field: String,
    /// CamelCase reason, used for the condition and the Event.
    pub reason: &'static str,
    pub message: String,
}

impl std::fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What the metrics endpoint exports for the schedule. Counters (`created`,
/// `deleted_by_retention`, `skipped_ticks`) are increments for this decision, to be
/// added once the `act` step has carried it out; the rest are gauges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleMetrics {
    /// When the newest Complete backup finished.
    pub last_success: Option<Timestamp>,
    /// When the next backup is due (see `status.nextBackupTime`).
    pub next_backup: Option<Timestamp>,
    /// Backups present by state (retention's deletions not yet applied).
    pub complete: u32,
    pub failed: u32,
    pub in_flight: u32,
    /// Failed or Invalid runs newer than the newest Complete one: how many runs in a row
    /// have not produced a backup. Alert on it.
    pub consecutive_failures: u32,
    /// Failed or Invalid runs with the time they failed, so the controller can count
    /// each failure once (count those later than the last one it counted).
    pub failed_runs: Vec<(String, Timestamp)>,
    /// Since when a due tick has been waiting on a predecessor (`None` when not blocked).
    pub blocked_since: Option<Timestamp>,
    /// Increment: 1 when this decision creates a Backup.
    pub created: u32,
    /// Increment: Backups deleted by retention.
    pub deleted_by_retention: u32,
    /// Increment: due ticks folded into this decision's catch-up run.
    pub skipped_ticks: u64,
}

/// Sets `new` in `conditions` by the one rule every condition follows
/// ([`update_condition`]). Returns whether anything changed, so unchanged status is not
/// written.
pub fn apply_conditions(
    conditions: &mut Vec<Condition>,
    new: &[ScheduleCondition],
    generation: Option<i64>,
    now: Timestamp,
) -> bool {
    let mut changed = false;
    for n in new {
        let status = n.status.as_str();
        match conditions.iter_mut().find(|c| c.type_ == n.type_.as_str()) {
            Some(c) => {
                changed |= update_condition(c, status, n.reason, &n.message, generation, now)
            }
            None => {
                conditions.push(Condition {
                    type_: n.type_.as_str().to_string(),
                    status: status.to_string(),
                    reason: n.reason.to_string(),
                    message: n.message.clone(),
                    last_transition_time: Time(now),
                    observed_generation: generation,
                });
                changed = true;
            }
        }
    }
    changed
}
