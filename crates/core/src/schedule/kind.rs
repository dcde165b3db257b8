//! What differs between a BackupSchedule (its runs are Backups) and a VolumeBackupSchedule
//! (its runs are VolumeBackups): how a tick's run is built and checked, how a run is read,
//! and where the shared status fields live. Everything else — ticks, one run at a time,
//! missed ticks, pause, retention, conditions — is the same code for both.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
use tibr_api::{
    Backup, BackupSchedule,
    pingcap::v1alpha1::{BackupMode, BackupScheduleStatus},
};

use super::{
    backup::{MAX_SCHEDULE_NAME, build_backup},
    plan::SpecProblem,
    runs::Run,
};
use crate::backup::validate_template;
use crate::reconcile::{Event, reasons};

/// The status fields every schedule has, as the schedule logic reads and writes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleTimes {
    pub last_backup: Option<String>,
    pub last_backup_time: Option<Time>,
    pub all_backup_clean_time: Option<Time>,
    pub next_backup_time: Option<Time>,
    pub conditions: Vec<Condition>,
}

/// `times` and `set_times` for a status type that has the shared fields under their usual
/// names (both schedule kinds' statuses do).
macro_rules! shared_status_fields {
    ($status:ty) => {
        fn times(s: &$status) -> $crate::schedule::ScheduleTimes {
            $crate::schedule::ScheduleTimes {
                last_backup: s.last_backup.clone(),
                last_backup_time: s.last_backup_time.clone(),
                all_backup_clean_time: s.all_backup_clean_time.clone(),
                next_backup_time: s.next_backup_time.clone(),
                conditions: s.conditions.clone(),
            }
        }

        fn set_times(s: &mut $status, t: $crate::schedule::ScheduleTimes) {
            s.last_backup = t.last_backup;
            s.last_backup_time = t.last_backup_time;
            s.all_backup_clean_time = t.all_backup_clean_time;
            s.next_backup_time = t.next_backup_time;
            s.conditions = t.conditions;
        }
    };
}
pub(super) use shared_status_fields;

/// One kind of schedule.
pub trait ScheduleKind {
    /// What a tick creates.
    type Run;
    /// The schedule's status type.
    type Status: Clone + Default + PartialEq + std::fmt::Debug;
    /// The run's kind and apiVersion, for messages and Events.
    const RUN_KIND: &'static str;
    const RUN_API_VERSION: &'static str;
    /// The longest schedule name whose runs' Jobs still get valid names, and the Job name
    /// pattern that sets it, for the message.
    const MAX_NAME: usize;
    const JOB_PATTERN: &'static str;
    /// Retention waits for one deletion to finish before the next (each costs the cloud
    /// API many calls).
    const DELETE_ONE_AT_A_TIME: bool = false;

    fn meta(&self) -> &ObjectMeta;
    /// The observed status (default when none was written).
    fn status(&self) -> Self::Status;
    fn times(status: &Self::Status) -> ScheduleTimes;
    fn set_times(status: &mut Self::Status, times: ScheduleTimes);
    /// `spec.schedule`.
    fn cron_text(&self) -> &str;
    fn paused(&self) -> bool;
    fn max_reserved_time(&self) -> Option<&str>;
    fn max_backups(&self) -> Option<i32>;
    /// Problems of the run template: a tick would only create a run its controller refuses.
    fn template_problems(&self) -> Vec<SpecProblem>;
    /// Warnings about the spec that do not stop it, given with each run created.
    fn template_notes(&self) -> Vec<Event> {
        Vec::new()
    }
    /// The run for `tick`.
    fn build_run(&self, tick: Timestamp) -> Result<Self::Run, SpecProblem>;
    fn run_meta(run: &Self::Run) -> &ObjectMeta;
    /// Reads one of the runs of the schedule named `schedule`.
    fn read_run<'a>(schedule: &str, run: &'a Self::Run) -> Run<'a>;
}

impl ScheduleKind for BackupSchedule {
    type Run = Backup;
    type Status = BackupScheduleStatus;
    const RUN_KIND: &'static str = "Backup";
    const RUN_API_VERSION: &'static str = "pingcap.com/v1alpha1";
    const MAX_NAME: usize = MAX_SCHEDULE_NAME;
    const JOB_PATTERN: &'static str = "backup-<schedule>-YYYY-MM-DDtHH-MM-SS";

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn status(&self) -> BackupScheduleStatus {
        self.status.clone().unwrap_or_default()
    }

    shared_status_fields!(BackupScheduleStatus);

    fn cron_text(&self) -> &str {
        &self.spec.schedule
    }

    fn paused(&self) -> bool {
        self.spec.pause == Some(true)
    }

    fn max_reserved_time(&self) -> Option<&str> {
        self.spec.max_reserved_time.as_deref()
    }

    fn max_backups(&self) -> Option<i32> {
        self.spec.max_backups
    }

    fn template_problems(&self) -> Vec<SpecProblem> {
        let template = &self.spec.backup_template;
        if template.mode() == BackupMode::Log {
            return vec![SpecProblem {
                field: "spec.backupTemplate.backupMode".into(),
                reason: reasons::INVALID_TEMPLATE,
                message: "a log backup runs continuously and cannot be taken per tick; put it \
                          in spec.logBackupTemplate"
                    .to_string(),
            }];
        }
        let namespace = self.metadata.namespace.as_deref().unwrap_or_default();
        validate_template(template, namespace)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| SpecProblem {
                field: e.field,
                reason: reasons::INVALID_TEMPLATE,
                message: e.message,
            })
            .collect()
    }

    fn build_run(&self, tick: Timestamp) -> Result<Backup, SpecProblem> {
        build_backup(self, tick)
    }

    fn run_meta(run: &Backup) -> &ObjectMeta {
        &run.metadata
    }

    fn read_run<'a>(schedule: &str, run: &'a Backup) -> Run<'a> {
        Run::of_backup(schedule, run)
    }
}
