//! After the act step: how creating the tick's Backup and retention's deletions went
//! ([`Outcomes`]) and the plan become the status, conditions and Events to write
//! ([`Settled`]). A create that failed leaves the status as it was (the run was not taken)
//! and says so in `Blocked`; a name taken by someone else's Backup is reported, and the
//! tick counts as taken. The act step decides none of this.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::{ConditionStatus, pingcap::v1alpha1::BackupScheduleStatus};

use super::kind::ScheduleKind;
use super::plan::{ConditionType, ScheduleMetrics, SchedulePlan, apply_conditions};
use crate::reconcile::{Event, Related, reasons};

/// How a create went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Yes,
    /// A Backup of that name exists (the API's 409).
    Exists,
    /// Refused; the API server's message.
    Failed(String),
}

/// How a deletion went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Yes,
    /// Already gone.
    Gone,
    /// Refused; the API server's message.
    Failed(String),
}

/// What the act step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    pub create: Option<Created>,
    /// One per planned deletion, in the plan's order.
    pub delete: Vec<Deleted>,
}

/// Everything to write once the plan was carried out.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled<St = BackupScheduleStatus> {
    /// The status to write, conditions included.
    pub status: St,
    pub events: Vec<Event>,
    pub metrics: ScheduleMetrics,
    /// Increments for the counters: what was really done.
    pub created: bool,
    pub skipped_ticks: u64,
    pub deleted: u32,
    /// The first failure, to end the reconcile with (retried with back-off).
    pub failure: Option<String>,
    pub requeue: Option<Duration>,
}

/// Settles `plan` (decided for `schedule`) with what the act step reported.
pub fn settle<S: ScheduleKind>(
    schedule: &S,
    plan: SchedulePlan<S::Run, S::Status>,
    outcomes: &Outcomes,
    now: Timestamp,
) -> Settled<S::Status> {
    let kind = S::RUN_KIND;
    // A schedule's run, as the related object of an Event about it.
    let run = |name: &str| Related {
        api_version: S::RUN_API_VERSION.into(),
        kind: kind.into(),
        name: name.into(),
    };
    let observed = S::times(&schedule.status());
    let mut status = S::times(&plan.status);
    let mut conditions = plan.conditions;
    let mut events = plan.events;
    let mut failure = None;
    let (mut created, mut skipped_ticks, mut deleted) = (false, 0, 0);

    if let (Some(creation), Some(outcome)) = (&plan.create, &outcomes.create) {
        let name = S::run_meta(&creation.backup)
            .name
            .clone()
            .unwrap_or_default();
        match outcome {
            Created::Yes => {
                created = true;
                skipped_ticks = creation.skipped;
                events.push(
                    Event::normal(
                        reasons::SUCCESSFUL_CREATE,
                        "Create",
                        format!("created {kind} {name} for the run due at {}", creation.tick),
                    )
                    .about(run(&name)),
                );
            }
            // The decision saw none of the schedule's runs with this name, so the Backup
            // is someone else's: the tick counts as taken, but not in silence.
            Created::Exists => events.push(
                Event::warning(
                    reasons::TICK_NAME_TAKEN,
                    "Create",
                    format!(
                        "{kind} {name} already exists and was not made by this schedule (it is \
                         not among the schedule's runs: someone else's, or unreadable); the run \
                         it would have been is skipped"
                    ),
                )
                .about(run(&name)),
            ),
            Created::Failed(reason) => {
                // Nothing was created: the status must not claim the run was taken.
                status.last_backup = observed.last_backup.clone();
                status.last_backup_time = observed.last_backup_time.clone();
                status.all_backup_clean_time = observed.all_backup_clean_time.clone();
                status.next_backup_time = Some(Time(creation.tick));
                let message = format!(
                    "could not create {kind} {name} for the run due at {}: {reason}; retrying",
                    creation.tick
                );
                if let Some(c) = conditions
                    .iter_mut()
                    .find(|c| c.type_ == ConditionType::Blocked)
                {
                    c.status = ConditionStatus::True;
                    c.reason = reasons::CREATE_FAILED;
                    c.message = message.clone();
                }
                events.push(Event::warning(reasons::FAILED_CREATE, "Create", &message));
                failure = Some(message);
            }
        }
    }

    for (deletion, outcome) in plan.delete.iter().zip(&outcomes.delete) {
        match outcome {
            Deleted::Yes => {
                deleted += 1;
                events.push(
                    Event::normal(
                        reasons::SUCCESSFUL_DELETE,
                        "Delete",
                        format!(
                            "deleted {kind} {} ({}); its cleanPolicy decides what happens to its data",
                            deletion.name, deletion.reason
                        ),
                    )
                    .about(run(&deletion.name)),
                );
            }
            Deleted::Gone => {}
            Deleted::Failed(reason) => {
                let message = format!(
                    "could not delete {kind} {} for retention: {reason}; retrying",
                    deletion.name
                );
                events.push(
                    Event::warning(reasons::FAILED_DELETE, "Delete", &message)
                        .about(run(&deletion.name)),
                );
                failure.get_or_insert(message);
            }
        }
    }

    let mut all = observed.conditions.clone();
    apply_conditions(&mut all, &conditions, schedule.meta().generation, now);
    status.conditions = all;
    let mut typed = plan.status;
    S::set_times(&mut typed, status);
    Settled {
        status: typed,
        events,
        metrics: plan.metrics,
        created,
        skipped_ticks,
        deleted,
        failure,
        requeue: plan.requeue,
    }
}
