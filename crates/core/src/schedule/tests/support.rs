//! Builders for schedule tests: a schedule like the seed's, and its Backups in any state.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use tibr_api::{
    Backup, BackupCondition, BackupConditionType as C, BackupSchedule, ConditionStatus,
    pingcap::v1alpha1::{
        BackupMode, BackupScheduleSpec, BackupScheduleStatus, BackupSpec, BackupStatus, BrConfig,
        S3Provider, S3StorageProvider, StorageProvider,
    },
};

use crate::schedule::{SchedulePlan, build_backup};

pub fn ts(s: &str) -> Timestamp {
    s.parse()
        .unwrap_or_else(|e| panic!("bad timestamp {s}: {e}"))
}

/// The TSO of an instant (logical part zero).
pub fn tso(s: &str) -> String {
    ((ts(s).as_millisecond() as u64) << 18).to_string()
}

/// The seed's schedule (`demo1-backup-schedule-s3` shortened), created at `created`.
pub fn schedule(name: &str, cron: &str, created: &str) -> BackupSchedule {
    BackupSchedule {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("test1".into()),
            uid: Some("uid-1".into()),
            creation_timestamp: Some(Time(ts(created))),
            ..ObjectMeta::default()
        },
        spec: BackupScheduleSpec {
            schedule: cron.into(),
            backup_template: Box::new(BackupSpec {
                br: Some(BrConfig {
                    cluster: "demo1".into(),
                    cluster_namespace: Some("test1".into()),
                    ..BrConfig::default()
                }),
                storage: StorageProvider {
                    s3: Some(S3StorageProvider {
                        provider: S3Provider::Aws,
                        region: Some("us-west-1".into()),
                        path: None,
                        bucket: Some("my-bucket".into()),
                        endpoint: None,
                        storage_class: None,
                        acl: None,
                        secret_name: Some("s3-secret".into()),
                        prefix: Some("my-folder".into()),
                        sse: None,
                        options: vec![],
                        force_path_style: None,
                    }),
                    ..StorageProvider::default()
                },
                ..BackupSpec::default()
            }),
            ..BackupScheduleSpec::default()
        },
        status: None,
    }
}

pub trait ScheduleExt: Sized {
    fn edit(self, f: impl FnOnce(&mut BackupScheduleSpec)) -> Self;
    fn last_backup(self, name: &str, tick: &str) -> Self;
    fn with_status(self, f: impl FnOnce(&mut BackupScheduleStatus)) -> Self;
    fn labelled(self, key: &str, value: &str) -> Self;
}

impl ScheduleExt for BackupSchedule {
    fn edit(mut self, f: impl FnOnce(&mut BackupScheduleSpec)) -> Self {
        f(&mut self.spec);
        self
    }
    fn last_backup(self, name: &str, tick: &str) -> Self {
        self.with_status(|s| {
            s.last_backup = Some(name.into());
            s.last_backup_time = Some(Time(ts(tick)));
        })
    }
    fn with_status(mut self, f: impl FnOnce(&mut BackupScheduleStatus)) -> Self {
        f(self.status.get_or_insert_with(Default::default));
        self
    }
    fn labelled(mut self, key: &str, value: &str) -> Self {
        self.metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }
}

/// The Backup `schedule` made for `tick`, created at the tick, not yet seen by the Backup
/// controller.
pub fn run(schedule: &BackupSchedule, tick: &str) -> Backup {
    let mut b = build_backup(schedule, ts(tick)).expect("buildable");
    b.metadata.creation_timestamp = Some(Time(ts(tick)));
    b
}

pub trait BackupExt: Sized {
    fn phase(self, phase: C) -> Self;
    /// Complete, with data committed at `at` and finished a minute later.
    fn complete_at(self, at: &str) -> Self;
    fn failed_at(self, at: &str) -> Self;
    fn deleting(self) -> Self;
    fn log_mode(self) -> Self;
}

impl BackupExt for Backup {
    fn phase(mut self, phase: C) -> Self {
        let status = self.status.get_or_insert_with(BackupStatus::default);
        status.conditions.push(BackupCondition {
            command: None,
            type_: phase.clone(),
            status: ConditionStatus::True,
            last_transition_time: None,
            reason: None,
            message: None,
            observed_generation: None,
        });
        status.phase = Some(phase);
        self
    }
    fn complete_at(self, at: &str) -> Self {
        let mut b = self.phase(C::Complete);
        let status = b.status.as_mut().expect("set by phase");
        status.commit_ts = Some(tso(at));
        status.time_completed = Some(Time(ts(at) + jiff::SignedDuration::from_secs(60)));
        b
    }
    fn failed_at(self, at: &str) -> Self {
        let mut b = self.phase(C::Failed);
        let status = b.status.as_mut().expect("set by phase");
        status
            .conditions
            .last_mut()
            .expect("pushed")
            .last_transition_time = Some(Time(ts(at)));
        b
    }
    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = self.metadata.creation_timestamp.clone();
        self
    }
    fn log_mode(mut self) -> Self {
        self.spec.backup_mode = Some(BackupMode::Log);
        self
    }
}

/// The names of the Backups the plan deletes.
pub fn deleted<R, St>(plan: &SchedulePlan<R, St>) -> Vec<&str> {
    plan.delete.iter().map(|d| d.name.as_str()).collect()
}

/// The reasons of the plan's Events.
pub fn event_reasons<R, St>(plan: &SchedulePlan<R, St>) -> Vec<&str> {
    plan.events.iter().map(|e| e.reason.as_str()).collect()
}

/// The condition of a type, as (status, reason, message).
pub fn condition<R, St>(
    plan: &SchedulePlan<R, St>,
    type_: crate::schedule::ConditionType,
) -> (&str, &'static str, &str) {
    let c = plan
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_:?} condition"));
    (c.status.as_str(), c.reason, c.message.as_str())
}
