//! After the act step: what it reported ([`Outcomes`]) and the plan become what to write
//! ([`Settled`]): the status, the GC life time record or the note that the operator gave up
//! on it, the Events, whether the finalizer goes, and whether the reconcile ends in an
//! error to retry. The act step decides none of this.

use std::time::Duration;

use jiff::Timestamp;
use tibr_api::{Backup, BackupConditionType as Type, pingcap::v1alpha1::GcLifeTimeRecord};

use super::{FinalizerChange, Plan, StatusUpdate, name, namespace};
use crate::backup::status::NewCondition;
use crate::gc::mark_restored;
use crate::reconcile::{Event, reasons};

/// What the act step did with the parts of a plan that can fail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// The GC life time write, when the plan had one: done, or why not (no secret).
    pub gc_write: Option<Result<(), String>>,
    /// The in-process clean, when the plan had one: how many objects it deleted, or why it
    /// did not finish.
    pub clean: Option<Result<u64, String>>,
}

/// Why the reconcile ends in an error (retried with back-off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retry {
    /// TiKV's GC life time could not be put back and must be.
    GcRestore(String),
    /// Deleting the data in process failed.
    Clean(String),
}

/// Everything to write once the plan was carried out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settled {
    pub status: StatusUpdate,
    pub gc_record: Option<GcLifeTimeRecord>,
    /// Recorded as the annotation that stops further restore attempts.
    pub gc_given_up: Option<String>,
    pub events: Vec<Event>,
    pub release_finalizer: bool,
    pub retry: Option<Retry>,
    pub requeue: Option<Duration>,
    /// For metrics: how the GC life time decision ended, and how an in-process clean did.
    pub gc_outcome: Option<&'static str>,
    pub clean_outcome: Option<&'static str>,
    pub data_kept: bool,
}

/// Settles `plan` (decided for `backup`) with what the act step reported.
pub fn settle(backup: &Backup, plan: Plan, outcomes: &Outcomes, now: Timestamp) -> Settled {
    let mut plan = plan;
    match (&plan.gc_write, &outcomes.gc_write) {
        (Some(write), Some(Ok(()))) => {
            let mut record = write.record.clone();
            mark_restored(&mut record, now);
            plan.gc_record = Some(record);
            plan.gc_outcome = Some("restored");
            plan.events.push(Event::normal(
                reasons::GC_LIFE_TIME_RESTORED,
                "RestoreGcLifeTime",
                format!(
                    "put tikv_gc_life_time back to {}: the backup pod that raised it to {} is gone",
                    write.value,
                    write.record.raised_to.clone().unwrap_or_default()
                ),
            ));
        }
        (Some(write), Some(Err(message))) => {
            let (record, must_succeed) = (write.record.clone(), write.must_succeed);
            gc_failed(&mut plan, &record, message, must_succeed);
        }
        _ => {}
    }
    let mut retry = plan.retry_error.clone().map(Retry::GcRestore);
    let mut release = plan.finalizer == Some(FinalizerChange::Remove);
    let mut clean_outcome = None;
    let mut data_kept = plan.keep_data.is_some();
    if let (Some(clean), Some(result)) = (plan.clean_in_process.clone(), &outcomes.clean) {
        let (ns, name) = (namespace(backup), name(backup));
        match result {
            Ok(deleted) => {
                clean_outcome = Some("succeeded");
                let note = format!(
                    "deleted {deleted} objects at {} from the operator, since no clean Job can run in a namespace being deleted",
                    clean.backup_path
                );
                plan.status.conditions.push(NewCondition::true_(
                    Type::Clean,
                    reasons::CLEANED_BY_OPERATOR,
                    note.clone(),
                ));
                plan.events.push(
                    Event::normal(
                        reasons::BACKUP_DATA_DELETED,
                        "CleanData",
                        format!("Backup {ns}/{name}: {note}"),
                    )
                    .on_namespace(),
                );
                release = true;
            }
            Err(message) if clean.give_up_on_failure => {
                clean_outcome = Some("gave_up");
                data_kept = true;
                plan.events.push(
                    Event::warning(
                        reasons::BACKUP_DATA_KEPT,
                        "CleanData",
                        format!(
                            "namespace {ns} is being deleted; deleting the data of Backup {ns}/{name} at {} kept failing ({message}), so it is kept: delete it by hand if it is not needed",
                            clean.backup_path
                        ),
                    )
                    .on_namespace(),
                );
                release = true;
            }
            Err(message) => {
                clean_outcome = Some("failed");
                plan.status.conditions.push(NewCondition::true_(
                    Type::CleanFailed,
                    reasons::CLEAN_BACKUP_DATA_FAILED,
                    message.clone(),
                ));
                plan.events.push(
                    Event::warning(
                        reasons::CLEAN_FAILED,
                        "CleanData",
                        format!(
                            "Backup {ns}/{name}: deleting the data at {} failed, trying again: {message}",
                            clean.backup_path
                        ),
                    )
                    .on_namespace(),
                );
                retry = Some(Retry::Clean(message.clone()));
            }
        }
    }
    finish(plan, release, clean_outcome, data_kept, retry)
}

fn finish(
    plan: Plan,
    release: bool,
    clean_outcome: Option<&'static str>,
    data_kept: bool,
    retry: Option<Retry>,
) -> Settled {
    let mut events = plan.events;
    // Each Event once per reconcile.
    events.dedup();
    Settled {
        status: plan.status,
        gc_record: plan.gc_record,
        gc_given_up: plan.gc_given_up,
        events,
        // Nothing goes while something still has to be retried.
        release_finalizer: release && retry.is_none(),
        retry,
        requeue: plan.requeue,
        gc_outcome: plan.gc_outcome,
        clean_outcome,
        data_kept,
    }
}

/// TiKV's GC life time could not be put back (TiDB unreachable, or the write refused):
/// retried while it must be, otherwise given up with the reason recorded.
pub(super) fn gc_failed(
    plan: &mut Plan,
    record: &GcLifeTimeRecord,
    message: &str,
    must_succeed: bool,
) {
    plan.gc_outcome = Some("failed");
    let note = format!(
        "could not put tikv_gc_life_time back to {} (this backup raised it to {}): {message}",
        record.original,
        record.raised_to.clone().unwrap_or_default()
    );
    plan.events.push(Event::warning(
        reasons::GC_LIFE_TIME_NOT_RESTORED,
        "RestoreGcLifeTime",
        if must_succeed {
            format!("{note}; trying again")
        } else {
            format!("{note}; set it back by hand")
        },
    ));
    if must_succeed {
        plan.retry_error = Some(message.to_string());
    } else {
        plan.gc_given_up = Some(format!("{note}; the operator gave up"));
    }
}
