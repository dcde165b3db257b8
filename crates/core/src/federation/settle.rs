//! After the act step: the plan and how each of its writes went ([`Outcomes`]) become what
//! to write ([`Settled`]): the status (a create that failed takes nothing into it), the
//! conditions, the Events about the writes, whether the finalizer goes, and whether the
//! reconcile ends in an error to retry or just looks again later.

use std::time::Duration;

use jiff::Timestamp;
use tibr_api::{VolumeBackup, federation::v1alpha1::VolumeBackupStatus};

use super::{FinalizerChange, MemberAction, MemberWrite, Plan, Settings, status::apply_conditions};
use crate::reconcile::{Event, reasons, sooner};

/// How one member write went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    Created,
    /// The create found a Backup of that name (created since the observation): the next
    /// observation says whose it is.
    AlreadyExisted,
    Patched,
    Deleted,
    /// Patch or delete: the Backup is gone (or has another uid).
    NotFound,
    /// The member's API server refused it; its message.
    Refused(String),
    /// The member's API server could not be reached; the error.
    Unreachable(String),
}

/// What the act step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Adding the finalizer, when the plan did: `None` if it was not attempted.
    pub finalizer: Option<Result<(), String>>,
    /// One per plan action, in the plan's order; `None`: not attempted (the act step stops
    /// after a failed finalizer, and may stop early on cancellation).
    pub actions: Vec<Option<ActionOutcome>>,
}

/// Everything to write once the plan was carried out.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// The status to write; write it only when `status_changed`.
    pub status: VolumeBackupStatus,
    pub status_changed: bool,
    pub events: Vec<Event>,
    /// Remove the finalizer, after the status is written.
    pub release_finalizer: bool,
    /// End the reconcile in this error (retried with back-off).
    pub retry: Option<String>,
    pub requeue: Option<Duration>,
}

/// Settles `plan` (decided for `vbk`) with what the act step reported.
pub fn settle(
    vbk: &VolumeBackup,
    plan: Plan,
    outcomes: &Outcomes,
    settings: &Settings,
    now: Timestamp,
) -> Settled {
    let observed = vbk.status.clone().unwrap_or_default();
    let mut events = plan.events;
    let mut requeue = plan.requeue;
    if plan.finalizer == Some(FinalizerChange::Add)
        && let Some(why) = match &outcomes.finalizer {
            Some(Ok(())) => None,
            Some(Err(why)) => Some(why.clone()),
            None => Some("the finalizer was not added".to_string()),
        }
    {
        // Nothing else was attempted: the members are written only under the finalizer,
        // so that a deletion can always find them.
        events.push(Event::warning(
            reasons::FAILED_UPDATE,
            "AddFinalizer",
            format!("could not add the finalizer, so nothing was done: {why}; retrying"),
        ));
        return Settled {
            status_changed: false,
            status: observed,
            events,
            release_finalizer: false,
            retry: Some(why),
            requeue,
        };
    }

    let mut status = plan.status;
    let mut retry: Option<String> = None;
    for (i, action) in plan.actions.iter().enumerate() {
        let outcome = outcomes.actions.get(i).cloned().flatten();
        let label = label(action);
        let done = match (&action.write, &outcome) {
            (MemberWrite::Create(b), Some(ActionOutcome::Created)) => {
                let phase = b
                    .spec
                    .federal_volume_backup_phase
                    .as_ref()
                    .map(|p| p.as_str())
                    .unwrap_or_default();
                events.push(Event::normal(
                    reasons::SUCCESSFUL_CREATE,
                    "CreateMember",
                    format!("created {label} in phase {phase}"),
                ));
                true
            }
            (MemberWrite::Create(_), Some(ActionOutcome::AlreadyExisted)) => true,
            (MemberWrite::Patch(p), Some(ActionOutcome::Patched)) => {
                events.push(Event::normal(
                    reasons::MEMBER_UPDATED,
                    "UpdateMember",
                    format!("set {} on {label}", p.describe()),
                ));
                true
            }
            (MemberWrite::Delete { .. }, Some(ActionOutcome::Deleted)) => {
                events.push(Event::normal(
                    reasons::SUCCESSFUL_DELETE,
                    "DeleteMember",
                    format!(
                        "deleted {label}; its cleanPolicy decides what happens to its snapshots \
                         and files"
                    ),
                ));
                true
            }
            (MemberWrite::Delete { .. }, Some(ActionOutcome::NotFound)) => true,
            // Gone since the observation: the next one says what that means.
            (MemberWrite::Patch(_), Some(ActionOutcome::NotFound)) => {
                sooner(&mut requeue, settings.short_interval);
                false
            }
            (write, Some(ActionOutcome::Refused(why))) => {
                let (reason, verb) = match write {
                    MemberWrite::Create(_) => (reasons::FAILED_CREATE, "create"),
                    MemberWrite::Patch(_) => (reasons::FAILED_UPDATE, "update"),
                    MemberWrite::Delete { .. } => (reasons::FAILED_DELETE, "delete"),
                };
                let note = format!("could not {verb} {label}: {why}; retrying");
                events.push(Event::warning(reason, "WriteMember", note.clone()));
                retry.get_or_insert(note);
                false
            }
            (_, Some(ActionOutcome::Unreachable(why))) => {
                events.push(Event::warning(
                    reasons::KUBERNETES_CLUSTER_UNREACHABLE,
                    "WriteMember",
                    format!(
                        "cannot reach Kubernetes cluster {} to write {label}: {why}; retrying",
                        action.k8s_cluster_name
                    ),
                ));
                sooner(&mut requeue, settings.unreachable_min);
                false
            }
            // Not attempted, or an outcome that does not fit the write: not done.
            _ => false,
        };
        if !done && matches!(action.write, MemberWrite::Create(_)) {
            undo_entry(&mut status, &observed, &action.k8s_cluster_name);
        }
    }
    apply_conditions(&mut status, &plan.conditions, vbk.metadata.generation, now);
    events.dedup();
    Settled {
        status_changed: status != observed,
        status,
        events,
        release_finalizer: plan.finalizer == Some(FinalizerChange::Remove) && retry.is_none(),
        retry,
        requeue,
    }
}

fn label(a: &MemberAction) -> String {
    format!(
        "Backup {}/{} in Kubernetes cluster {}",
        a.namespace, a.name, a.k8s_cluster_name
    )
}

/// A member that was not created takes nothing into the status: its entry is what it was
/// before the decision, or none.
fn undo_entry(status: &mut VolumeBackupStatus, observed: &VolumeBackupStatus, cluster: &str) {
    let of = |e: &tibr_api::federation::v1alpha1::VolumeBackupMemberStatus| {
        e.k8s_cluster_name.as_deref() == Some(cluster)
    };
    match observed.backups.iter().find(|e| of(e)) {
        Some(before) => {
            if let Some(e) = status.backups.iter_mut().find(|e| of(e)) {
                *e = before.clone();
            }
        }
        None => status.backups.retain(|e| !of(e)),
    }
}
