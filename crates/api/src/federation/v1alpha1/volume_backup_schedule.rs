//! `VolumeBackupSchedule` (`volumebackupschedules.federation.pingcap.com`, short name
//! `vbks`): VolumeBackups taken on a cron schedule, with retention.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::VolumeBackupSpec;

/// When to take volume backups, from which template, and how many to keep.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
// One `printcolumn` per column: clippy reads their repeated keys as duplicates.
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "federation.pingcap.com",
    version = "v1alpha1",
    kind = "VolumeBackupSchedule",
    plural = "volumebackupschedules",
    shortname = "vbks",
    namespaced,
    status = "VolumeBackupScheduleStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "EBS volume snapshot backups of a federated TiDB cluster taken on a schedule."
)]
#[kube(printcolumn(
    name = "Schedule",
    type_ = "string",
    json_path = ".spec.schedule",
    description = "Cron expression of the schedule"
))]
#[kube(printcolumn(
    name = "MaxBackups",
    type_ = "integer",
    json_path = ".spec.maxBackups",
    description = "How many backups are kept"
))]
#[kube(printcolumn(
    name = "MaxReservedTime",
    type_ = "string",
    json_path = ".spec.maxReservedTime",
    description = "How long backups are kept"
))]
#[kube(printcolumn(
    name = "LastBackup",
    type_ = "string",
    json_path = ".status.lastBackup",
    priority = 1,
    description = "The VolumeBackup created last"
))]
#[kube(printcolumn(
    name = "LastBackupTime",
    type_ = "date",
    json_path = ".status.lastBackupTime",
    priority = 1,
    description = "The scheduled time of the last VolumeBackup"
))]
#[kube(printcolumn(
    name = "NextBackupTime",
    type_ = "string",
    json_path = ".status.nextBackupTime",
    priority = 1,
    description = "When the next VolumeBackup is due (tibr extension)"
))]
#[kube(printcolumn(
    name = "Age",
    type_ = "date",
    json_path = ".metadata.creationTimestamp"
))]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::schema::tidy)]
pub struct VolumeBackupScheduleSpec {
    /// When to back up: a cron expression with five fields (minute hour day-of-month month
    /// day-of-week), or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`,
    /// `@every <Go duration>`, evaluated in UTC.
    pub schedule: String,
    /// Stop creating backups while true. Retention keeps running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<bool>,
    /// Keep at most this many VolumeBackups; 0 or unset keeps all. Ignored when
    /// `maxReservedTime` is set. VolumeBackups with `skipGC: true` are never deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backups: Option<i32>,
    /// Delete VolumeBackups older than this Go duration (e.g. `72h`; `d` is not a unit).
    /// Wins over `maxBackups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reserved_time: Option<String>,
    /// The VolumeBackup each run creates; it needs `template.br` and `template.s3`.
    pub backup_template: VolumeBackupSpec,
}

/// The observed state of a VolumeBackupSchedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::schema::tidy)]
pub struct VolumeBackupScheduleStatus {
    /// Name of the VolumeBackup created last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<String>,
    /// The scheduled time of the last VolumeBackup; the next run is computed from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup_time: Option<Time>,
    /// When retention deleted the last remaining VolumeBackup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_backup_clean_time: Option<Time>,
    /// tibr extension: when the schedule will next create a VolumeBackup (absent while paused
    /// or while the spec is invalid). When a VolumeBackup is overdue because an earlier one
    /// is still running, this is the overdue tick, in the past.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_backup_time: Option<Time>,
    /// tibr extension: `Valid` (the spec can produce VolumeBackups), `Paused`, `Blocked` (a
    /// due run waits for an earlier VolumeBackup still in flight) and `Retention` (the
    /// retention policy in force, whether it is behind, or why none is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
