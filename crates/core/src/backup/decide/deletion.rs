//! A Backup being deleted that still carries the protection finalizer.
//!
//! 1. A running backup Job is stopped first (foreground delete), and the operator waits
//!    until it is gone: cleaning under a BR still writing would leave files behind.
//! 2. If the dead pod left TiKV's GC life time raised, it is put back.
//! 3. The clean policy decides whether the data goes: `Delete` always, `OnFailure` unless
//!    the backup is `Complete` (a run interrupted by the deletion failed too, and its
//!    partial data restores nothing), `Retain` (and any unknown value, with a Warning) never.
//! 4. Nothing written (`status.backupPath` empty) is `Clean` at once.
//! 5. Otherwise the clean Job `clean-<name>` deletes the data (`Clean=False` while it
//!    runs); the agent reports `Clean=True` and the finalizer goes. A clean Job that fails
//!    for good (all its pods) is shown as `CleanFailed`, and replaced by a fresh one after
//!    `clean_retry_after`: the data was asked to go, so the operator keeps trying, and
//!    says how to keep it instead.
//! 6. In a namespace being deleted no Job can be created: the operator deletes the data
//!    itself with the credentials Secret it kept alive, or, with no credentials it can use
//!    (IAM identities belong to pods), keeps the data, says so where it outlives the
//!    namespace, and lets the Backup go (docs/adr/0003).

use jiff::Timestamp;
use tibr_api::{
    Backup, BackupConditionType as Type,
    constants::{BACKUP_PROTECTION_FINALIZER, defaults},
    pingcap::v1alpha1::{BackupMode, CleanPolicy as WirePolicy, S3StorageProvider},
};

use super::{
    FinalizerChange, InProcessClean, JobAction, JobInfo, KeptData, Observed, Plan, Settings,
    active::{restore_gc_after_end, unknown_policy_event},
    has_protection, is_true, name, namespace, no_pod,
};
use crate::backup::{job::clean_job, retry, status::NewCondition};
use crate::reconcile::{Event, reasons};
use crate::storage::{Location, Target, s3_target};

pub(super) fn decide(backup: &Backup, obs: &Observed, s: &Settings, now: Timestamp) -> Plan {
    let mut plan = Plan::default();
    if !has_protection(backup) {
        return plan;
    }
    let deleted_at = backup
        .metadata
        .deletion_timestamp
        .as_ref()
        .map_or(now, |t| t.0);
    let patience_over = retry::add(deleted_at, s.deletion_patience) < now;
    let terminating = obs.namespace_terminating;

    // The backup Job, and a volume-snapshot backup's init Job (whose end resumes GC and
    // PD scheduling), are stopped first.
    let jobs = [&obs.backup_job, &obs.init_job];
    if jobs.iter().any(|j| j.as_ref().is_some_and(|j| j.deleting)) {
        plan.requeue_after(s.short_interval);
        return plan;
    }
    let active: Vec<&JobInfo> = jobs
        .iter()
        .filter_map(|j| j.as_ref())
        .filter(|j| j.is_active())
        .collect();
    if !active.is_empty() {
        for j in active {
            plan.jobs.push(JobAction::Delete {
                name: j.name.clone(),
                uid: j.uid.clone(),
            });
            plan.events.push(Event::normal(
                reasons::STOPPING_BACKUP,
                "DeleteJob",
                format!(
                    "stopping Job {}: the Backup is being deleted, and its data is dealt with once the Job is gone",
                    j.name
                ),
            ));
        }
        plan.requeue_after(s.short_interval);
        return plan;
    }

    restore_gc_after_end(
        backup,
        obs,
        s,
        &mut plan,
        !(terminating || patience_over),
        now,
    );

    let policy = backup.spec.clean_policy.clone().unwrap_or_default();
    let delete_data = match &policy {
        WirePolicy::Delete => true,
        // Anything short of Complete is a failed backup here: a run interrupted by this
        // deletion left partial data that restores nothing (TiDB Operator keeps it).
        WirePolicy::OnFailure => !is_true(backup, Type::Complete),
        WirePolicy::Retain => false,
        WirePolicy::Other(value) => {
            plan.events.push(unknown_policy_event(value));
            false
        }
    };
    if !delete_data || is_true(backup, Type::Clean) {
        plan.finalizer = Some(FinalizerChange::Remove);
        return plan;
    }
    let Some(path) = backup
        .status
        .as_ref()
        .and_then(|st| st.backup_path.clone())
        .filter(|p| !p.trim().is_empty())
    else {
        plan.condition(
            backup,
            NewCondition::true_(
                Type::Clean,
                reasons::NOTHING_TO_CLEAN,
                "status.backupPath is empty: this backup wrote no data",
            ),
            None,
        );
        plan.finalizer = Some(FinalizerChange::Remove);
        return plan;
    };

    if terminating {
        in_namespace_deletion(backup, obs, &path, patience_over, &mut plan);
        return plan;
    }
    with_clean_job(backup, obs, s, now, &path, &mut plan);
    plan
}

fn with_clean_job(
    backup: &Backup,
    obs: &Observed,
    s: &Settings,
    now: Timestamp,
    path: &str,
    plan: &mut Plan,
) {
    let job_name = crate::names::clean_job(name(backup));
    let Some(job) = &obs.clean_job else {
        if let Some(note) = missing_credentials(backup, obs) {
            plan.condition(
                backup,
                NewCondition::true_(
                    Type::CleanFailed,
                    reasons::GET_S3_SECRET_FAILED,
                    note.clone(),
                ),
                Some(Event::warning(
                    reasons::GET_S3_SECRET_FAILED,
                    "CreateCleanJob",
                    note,
                )),
            );
            plan.requeue_after(s.wait_interval);
            return;
        }
        plan.jobs.push(JobAction::Create(Box::new(clean_job(
            backup,
            &s.agent_image,
        ))));
        let note = format!("created Job {job_name} to delete the data at {path}");
        plan.condition(
            backup,
            NewCondition::false_(Type::Clean, reasons::CLEAN_JOB_CREATED, note.clone()),
            Some(Event::normal(
                reasons::SUCCESSFUL_CREATE,
                "CreateCleanJob",
                note,
            )),
        );
        plan.requeue_after(s.resync_interval);
        return;
    };
    if job.deleting {
        plan.requeue_after(s.short_interval);
        return;
    }
    if job.is_active() {
        no_pod::clean_job(backup, job, s, now, plan);
        return;
    }
    // Failed for good, or succeeded without the agent reporting `Clean=True`.
    let retry_at = retry::add(job.finished_at.unwrap_or(now), s.clean_retry_after);
    if retry_at <= now {
        plan.jobs.push(JobAction::Delete {
            name: job.name.clone(),
            uid: job.uid.clone(),
        });
        plan.requeue_after(s.short_interval);
        return;
    }
    let failure = job
        .failure
        .clone()
        .map(|f| format!(" ({f})"))
        .unwrap_or_default();
    let shown = retry_at.round(jiff::Unit::Second).unwrap_or(retry_at);
    let note = format!(
        "Job {job_name} did not delete the data at {path}{failure}; a new clean Job starts at {shown}. To keep the data instead, remove the finalizer {BACKUP_PROTECTION_FINALIZER}"
    );
    plan.condition(
        backup,
        NewCondition::true_(Type::CleanFailed, reasons::CLEAN_JOB_FAILED, note.clone()),
        Some(Event::warning(reasons::CLEAN_FAILED, "CleanData", note)),
    );
    plan.requeue_after(retry::until(now, retry_at));
}

/// The S3 credentials Secret the clean pod needs, when it is missing or incomplete.
fn missing_credentials(backup: &Backup, obs: &Observed) -> Option<String> {
    let secret = backup
        .spec
        .storage
        .s3
        .as_ref()?
        .secret_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())?;
    let ns = namespace(backup);
    let Some(info) = obs.secrets.get(secret) else {
        return Some(format!(
            "Secret {ns}/{secret} (spec.s3.secretName) not found: the clean Job needs it to delete the data"
        ));
    };
    [defaults::S3_ACCESS_KEY_KEY, defaults::S3_SECRET_KEY_KEY]
        .iter()
        .find(|k| !info.keys.contains(**k))
        .map(|k| format!("Secret {ns}/{secret} (spec.s3.secretName) has no key {k}"))
}

fn in_namespace_deletion(
    backup: &Backup,
    obs: &Observed,
    path: &str,
    give_up_on_failure: bool,
    plan: &mut Plan,
) {
    let ns = namespace(backup);
    let keep = |plan: &mut Plan, reason: String| {
        plan.events.push(
            Event::warning(
                reasons::BACKUP_DATA_KEPT,
                "CleanData",
                format!(
                    "namespace {ns} is being deleted and Backup {ns}/{} asked for its data to be deleted, but {reason}; the data at {path} is kept: delete it by hand if it is not needed",
                    name(backup)
                ),
            )
            .on_namespace(),
        );
        plan.keep_data = Some(KeptData {
            backup_path: path.to_string(),
            reason,
        });
        plan.finalizer = Some(FinalizerChange::Remove);
    };
    if backup.spec.backup_mode == Some(BackupMode::VolumeSnapshot) {
        // Deleting the files alone would lose backupmeta, the list of the snapshots.
        let uid = backup.metadata.uid.as_deref().unwrap_or_default();
        keep(
            plan,
            format!(
                "its EBS snapshots are deleted by a clean Job, which cannot start in a namespace being deleted (they carry the tag {}={uid})",
                crate::volume::tags::UID_TAG
            ),
        );
        return;
    }
    let Some(s3) = backup.spec.storage.s3.clone() else {
        keep(
            plan,
            "only S3 data can be deleted by the operator itself".into(),
        );
        return;
    };
    let Some(secret) = s3.secret_name.clone().filter(|s| !s.trim().is_empty()) else {
        keep(
            plan,
            "it has no credentials Secret (spec.s3.secretName): it uses a pod's IAM identity (kube2iam or IRSA), and no pod can start in a namespace being deleted".into(),
        );
        return;
    };
    if missing_credentials(backup, obs).is_some() {
        keep(
            plan,
            format!("its credentials Secret {ns}/{secret} is gone or incomplete"),
        );
        return;
    }
    let target = match recorded_target(&s3, path) {
        Ok(t) => t,
        Err(problem) => {
            keep(plan, problem);
            return;
        }
    };
    plan.clean_in_process = Some(InProcessClean {
        backup_path: path.to_string(),
        target,
        secret_name: secret,
        options: crate::backup::validate::clean_settings(&backup.spec),
        give_up_on_failure,
    });
}

/// Where the data was written (`status.backupPath`), reached with the settings of `spec.s3`,
/// under the same location rules as the backup itself.
fn recorded_target(s3: &S3StorageProvider, path: &str) -> Result<Target, String> {
    let target = s3_target(s3, "spec.s3").map_err(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!(
            "its spec.s3 no longer says how to reach it ({})",
            text.join("; ")
        )
    })?;
    let location = Location::from_url(path, "s3")
        .map_err(|e| format!("status.backupPath {path:?} is not a location it can clean ({e})"))?;
    Ok(Target::S3(target.at(location)))
}
