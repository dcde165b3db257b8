//! A backup or clean Job that cannot get its pod. The API server refuses the pod (its
//! ServiceAccount does not exist — `deploy/backup-rbac.yaml` was never applied —, a quota,
//! an admission webhook), and Kubernetes' Job controller only says so in `FailedCreate`
//! Events on the Job, retrying on its own. Without this the Backup would sit in `Scheduled`
//! with no word; here the refusal becomes the reason and message of the condition of the
//! step it blocks (`Scheduled` for the backup, `Clean=False` for the clean) — the phase stays
//! one TiDB Operator has — with a Warning Event each time the text changes.
//!
//! Once the pod exists the condition is put back, so it never outlives the problem: through
//! the phase while the Backup is still at that step, in place (`StatusUpdate::amended`) once
//! the agent has moved it on.

use jiff::Timestamp;
use tibr_api::{Backup, BackupConditionType as Type, constants::defaults};

use super::{Event, FAILED_CREATE, JobInfo, Plan, Settings, reasons};
use crate::backup::{retry, status::NewCondition};

/// The backup Job is unfinished: report a refused pod, or clear one reported before.
pub(super) fn backup_job(
    backup: &Backup,
    job: &JobInfo,
    s: &Settings,
    now: Timestamp,
    plan: &mut Plan,
) {
    let phase = backup.status.as_ref().and_then(|st| st.phase.clone());
    match &job.pod_creation_failure {
        // The backup Job never replaces a pod (backoffLimit 0), so a refusal comes before
        // the agent ever ran: the Backup is at `Scheduled`.
        Some(w) if matches!(phase, None | Some(Type::Scheduled)) => {
            let note = refusal(backup, job, &w.message);
            plan.condition(
                backup,
                NewCondition::true_(Type::Scheduled, &w.reason, note.clone()),
                Some(Event::warning(&w.reason, "CreatePod", note)),
            );
            plan.requeue_after(s.wait_interval);
        }
        Some(_) => plan.requeue_after(s.wait_interval),
        None if job.awaits_pod() => plan.requeue_after(pending(job, s, now)),
        None => {
            // Once the agent reported, `decide` has done this already.
            if job.live_pods > 0 && !agent_reported(backup) {
                clear_backup_refusal(backup, &job.name, plan);
            }
            plan.requeue_after(s.resync_interval);
        }
    }
}

/// `Scheduled` still carries a refusal although a pod exists or the agent has reported:
/// say the Job got its pod after all.
pub(super) fn clear_backup_refusal(backup: &Backup, job_name: &str, plan: &mut Plan) {
    let Some(status) = backup.status.as_ref() else {
        return;
    };
    let refused = status
        .condition(&Type::Scheduled)
        .is_some_and(|c| c.reason.as_deref() == Some(FAILED_CREATE));
    if !refused {
        return;
    }
    // The reason the Job was created with: an init Job's is how its creation is remembered.
    let reason = if job_name == crate::names::init_job(super::name(backup)) {
        reasons::INITIALIZE_JOB_CREATED
    } else {
        reasons::JOB_CREATED
    };
    let fixed = NewCondition::true_(
        Type::Scheduled,
        reason,
        format!("created Job {job_name}; it got its pod after earlier attempts were refused"),
    );
    if status.phase == Some(Type::Scheduled) {
        plan.condition(backup, fixed, None);
    } else {
        plan.status.amended.push(fixed);
    }
}

/// Whether the agent reported from a pod of this run, so the pod was created (a Backup
/// the operator failed, `AlreadyFailed`, may never have had one).
pub(super) fn agent_reported(backup: &Backup) -> bool {
    let Some(status) = backup.status.as_ref() else {
        return false;
    };
    match &status.phase {
        Some(Type::Prepare | Type::Running | Type::Complete) => true,
        Some(Type::Failed) => status
            .condition(&Type::Failed)
            .is_some_and(|c| c.reason.as_deref() != Some(reasons::ALREADY_FAILED)),
        _ => false,
    }
}

/// The clean Job is unfinished: the same for the `Clean=False` condition.
pub(super) fn clean_job(
    backup: &Backup,
    job: &JobInfo,
    s: &Settings,
    now: Timestamp,
    plan: &mut Plan,
) {
    match &job.pod_creation_failure {
        Some(w) => {
            let note = refusal(backup, job, &w.message);
            plan.condition(
                backup,
                NewCondition::false_(Type::Clean, &w.reason, note.clone()),
                Some(Event::warning(&w.reason, "CreatePod", note)),
            );
            plan.requeue_after(s.wait_interval);
        }
        None if job.awaits_pod() => plan.requeue_after(pending(job, s, now)),
        None => {
            let refused = backup
                .status
                .as_ref()
                .and_then(|st| st.condition(&Type::Clean))
                .is_some_and(|c| !c.is_true() && c.reason.as_deref() == Some(FAILED_CREATE));
            if refused && job.live_pods > 0 {
                plan.condition(
                    backup,
                    NewCondition::false_(
                        Type::Clean,
                        reasons::CLEAN_JOB_CREATED,
                        format!(
                            "Job {} got its pod after earlier attempts were refused; it is deleting the data",
                            job.name
                        ),
                    ),
                    None,
                );
            }
            plan.requeue_after(s.resync_interval);
        }
    }
}

/// The Job's message, with what to do when the refusal is the missing ServiceAccount.
fn refusal(backup: &Backup, job: &JobInfo, message: &str) -> String {
    let account = backup
        .spec
        .service_account
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or(defaults::SERVICE_ACCOUNT);
    let hint = if message.contains(&format!("serviceaccount \"{account}\" not found")) {
        if account == defaults::SERVICE_ACCOUNT {
            format!(
                "; apply deploy/backup-rbac.yaml in this namespace (it creates ServiceAccount {account}) or name another one in spec.serviceAccount"
            )
        } else {
            format!("; create ServiceAccount {account} or fix spec.serviceAccount")
        }
    } else {
        String::new()
    };
    format!(
        "Job {} cannot create its pod: {message}{hint}. The Job keeps trying",
        job.name
    )
}

/// A Job taken up without a pod and no refusal on record: the Job controller may write its
/// Event just after the status that brought us here, so look again soon, then less often.
fn pending(job: &JobInfo, s: &Settings, now: Timestamp) -> std::time::Duration {
    match job.started {
        Some(t) if retry::add(t, s.wait_interval) > now => s.short_interval,
        _ => s.wait_interval,
    }
}
