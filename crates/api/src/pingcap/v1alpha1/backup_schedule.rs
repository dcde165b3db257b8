//! `BackupSchedule` (`backupschedules.pingcap.com`, short name `bks`): Backups taken on a
//! cron schedule, with retention.

use k8s_openapi::{
    api::core::v1::LocalObjectReference,
    apimachinery::pkg::apis::meta::v1::{Condition, Time},
};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BackupSpec, BrConfig, CompactSpec, StorageProvider};

/// When to take backups, from which template, and how many to keep.
// The templates and the storage are boxed: inline they made a BackupSchedule 22 kB, and
// every future holding one (watchers, reconciles) carried that on its stack frames, enough
// to overflow a 2 MiB thread stack in debug builds.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
// One `printcolumn` per column: clippy reads their repeated keys as duplicates.
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "pingcap.com",
    version = "v1alpha1",
    kind = "BackupSchedule",
    plural = "backupschedules",
    shortname = "bks",
    namespaced,
    status = "BackupScheduleStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "Backups of a TiDB cluster taken on a schedule."
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
    description = "The Backup created last"
))]
#[kube(printcolumn(
    name = "LastBackupTime",
    type_ = "date",
    json_path = ".status.lastBackupTime",
    priority = 1,
    description = "When the last Backup was created"
))]
// A string, not a date: the API server prints date columns as ages, and a time in the
// future as "<invalid>".
#[kube(printcolumn(
    name = "NextBackupTime",
    type_ = "string",
    json_path = ".status.nextBackupTime",
    priority = 1,
    description = "When the next Backup is due, in UTC (tibr extension)"
))]
#[kube(printcolumn(
    name = "Age",
    type_ = "date",
    json_path = ".metadata.creationTimestamp"
))]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::schema::tidy)]
pub struct BackupScheduleSpec {
    /// When to back up: a cron expression with five fields (minute hour day-of-month month
    /// day-of-week, e.g. `*/2 * * * *`), or `@hourly`, `@daily`, `@weekly`, `@monthly`,
    /// `@yearly`, `@every <Go duration>` (e.g. `@every 6h`, counted from the Unix epoch).
    /// Evaluated in UTC unless prefixed with `CRON_TZ=<IANA zone> ` or `TZ=<IANA zone> `
    /// (e.g. `CRON_TZ=Asia/Shanghai 0 2 * * *`). Each run's Backup is named
    /// `<schedule>-<tick in UTC, YYYY-MM-DDtHH-MM-SS>`; runs missed while the operator was
    /// down, the schedule paused or a previous Backup still running are folded into one.
    pub schedule: String,
    /// Stop creating backups while true. Retention keeps running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<bool>,
    /// Keep at most this many backups, deleting the oldest; 0 or unset keeps all. Ignored
    /// when `maxReservedTime` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backups: Option<i32>,
    /// Delete backups older than this Go duration (e.g. `24h`; `d` is not a unit). Wins over
    /// `maxBackups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reserved_time: Option<String>,
    /// With `compactBackupTemplate`: how often the log backup is compacted (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_interval: Option<String>,
    /// The Backup each run creates. Its storage prefix gets a per-run sub-directory
    /// `<cluster>-pd.<namespace>-2379-<time>` so that runs never share a location.
    pub backup_template: Box<BackupSpec>,
    /// If set, the schedule also keeps one log backup running from this template, which
    /// retention truncates together with the snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_backup_template: Option<Box<BackupSpec>>,
    /// If set (with `logBackupTemplate`), the log backup is compacted periodically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_backup_template: Option<Box<CompactSpec>>,
    /// Compactions never start before this timestamp (TSO or datetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_compact_start_ts: Option<String>,
    /// Dumpling templates only: StorageClass used when the template names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Dumpling templates only: VolumeAttributesClass used when the template names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_attributes_class_name: Option<String>,
    /// Dumpling templates only: volume size used when the template gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_size: Option<String>,
    /// Image pull Secrets for the Backups created, replacing the template's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    /// Accepted for compatibility; the templates' `br` is what the Backups use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub br: Option<Box<BrConfig>>,
    /// Accepted for compatibility; the templates' storage is what the Backups use.
    #[serde(flatten)]
    pub storage: Box<StorageProvider>,
    /// tibr extension: ServiceAccount for the Backups created when `backupTemplate` names
    /// none. TiDB Operator has no such field (its API server drops it), yet its published
    /// IRSA example sets it here, so tibr honours it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
}

/// The observed state of a BackupSchedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::schema::tidy)]
pub struct BackupScheduleStatus {
    /// Name of the Backup created last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<String>,
    /// When the last Backup was created; the schedule's next run is computed from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup_time: Option<Time>,
    /// When retention deleted the last remaining Backup (then `lastBackup` is cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_backup_clean_time: Option<Time>,
    /// Name of the schedule's log Backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_backup: Option<String>,
    /// When the log Backup was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_backup_start_ts: Option<Time>,
    /// Name of the compaction created last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_compact: Option<String>,
    /// The log has been compacted up to this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_compact_progress: Option<Time>,
    /// When the last compaction was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_compact_execution_ts: Option<Time>,
    /// tibr extension: when the schedule will next create a Backup (absent while paused
    /// or while the spec is invalid). When a Backup is overdue because an earlier one is
    /// still running, this is the overdue tick, in the past.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_backup_time: Option<Time>,
    /// tibr extension: `Valid` (the spec can produce Backups), `Paused`, `Blocked` (a due
    /// run waits for an earlier Backup still in flight) and `Retention` (the retention
    /// policy in force, or why none is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
