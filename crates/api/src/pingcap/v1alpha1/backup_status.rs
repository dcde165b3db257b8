//! What is known about a Backup: where its data is, how it went, and what it changed.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::conditions::{BackupCondition, BackupConditionType, LogSubCommandType};

/// The observed state of a Backup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::schema::tidy)]
pub struct BackupStatus {
    /// Where the backup data is, e.g. `s3://my-bucket/my-folder`. Empty means nothing was
    /// written yet, so there is nothing to clean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_path: Option<String>,
    /// When the backup started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_started: Option<Time>,
    /// When the backup completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_completed: Option<Time>,
    /// Log mode: when the task's state was last read from the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_synced: Option<Time>,
    /// `timeCompleted - timeStarted` as a Go duration, e.g. `5m3s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_taken: Option<String>,
    /// `backupSize` in SI units, e.g. `12 GB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_size_readable: Option<String>,
    /// Size of the backup data in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_size: Option<i64>,
    /// `incrementalBackupSize` in SI units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental_backup_size_readable: Option<String>,
    /// Volume snapshot mode: bytes in blocks changed since the volumes' previous snapshots,
    /// i.e. what this backup really added. Unrelated to BR incremental backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental_backup_size: Option<i64>,
    /// The TSO the backup is consistent at; for a log backup, the TSO its log starts at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_ts: Option<String>,
    /// Log mode: log data before this TSO has been deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_success_truncate_until: Option<String>,
    /// Log mode: the TSO up to which the log has been backed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_checkpoint_ts: Option<String>,
    /// Where the backup is: `Scheduled`, `Prepare`, `Running`, `Complete`, `Failed`,
    /// `RetryFailed`, `Invalid`, `Clean`, `CleanFailed`; log backups also `Paused`, `Stopped`,
    /// `Repeatable`; volume snapshots `VolumeBackupInitialized`,
    /// `VolumeBackupInitializeFailed`, `VolumeBackupSnapshotsCreated`,
    /// `VolumeBackupInitializeComplete`, `VolumeBackupComplete`, `VolumeBackupFailed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<BackupConditionType>,
    /// Observed facts, one per type; `phase` is the type of the latest one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<BackupCondition>,
    /// Log mode: the latest run of each subcommand, keyed by subcommand.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_sub_command_statuses: BTreeMap<LogSubCommandType, LogSubCommandStatus>,
    /// Progress of the backup's steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub progresses: Vec<Progress>,
    /// The latest BR operations seen for this Backup (at most 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub br_operations: Vec<BrOperation>,
    /// One record per retry after the backup pod died without reporting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backoff_retry_status: Vec<BackoffRetryRecord>,
    /// tibr extension: TiKV's GC life time as this backup found it, and whether it has been
    /// put back. Written before the value is raised, so that it can be restored even if the
    /// backup pod dies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gc_life_time: Option<GcLifeTimeRecord>,
}

impl BackupStatus {
    /// The condition of the given type, if any.
    pub fn condition(&self, type_: &BackupConditionType) -> Option<&BackupCondition> {
        self.conditions.iter().find(|c| &c.type_ == type_)
    }
}

/// The latest run of one log backup subcommand.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogSubCommandStatus {
    /// The subcommand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<LogSubCommandType>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_started: Option<Time>,
    /// When it completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_completed: Option<Time>,
    /// For `log-truncate`: the TSO it is truncating to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_truncating_until: Option<String>,
    /// Where the subcommand is, in the vocabulary of `status.phase`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<BackupConditionType>,
    /// Observed facts about the subcommand, one per type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<BackupCondition>,
}

/// Progress of one step of a backup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The step, as BR names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Percent done, 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    /// When the value was last updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// One BR process seen working for this Backup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrOperation {
    /// The operation's ID as BR logged it.
    #[serde(
        rename = "operationID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub operation_id: Option<String>,
    /// When BR says the operation started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// The BR command, e.g. `log truncate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// When the operation was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<Time>,
}

/// One retry after the backup pod died without reporting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackoffRetryRecord {
    /// Which retry this is, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_num: Option<i64>,
    /// When the failure was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_failed_at: Option<Time>,
    /// The earliest time the retry may start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_retry_at: Option<Time>,
    /// When the retry actually started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_retry_at: Option<Time>,
    /// Why a retry was needed, e.g. which Job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_reason: Option<String>,
    /// The reason the Job or pod gave for failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_reason: Option<String>,
}

/// tibr extension: what a backup did to TiKV's GC life time (`tikv_gc_life_time` in
/// `mysql.tidb`). Recorded before the value is raised; `restored` turns true once the
/// original value is back, by the backup pod or, if the pod died, by the operator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GcLifeTimeRecord {
    /// The value found before the backup changed anything, e.g. `10m`. This, not whatever
    /// the cluster holds later, is what gets restored.
    pub original: String,
    /// The value set for the backup's duration; absent when the original was long enough
    /// and nothing was changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raised_to: Option<String>,
    /// When the raise was recorded (just before it was made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raised_at: Option<Time>,
    /// Whether the original value is in place again (also true when nothing was raised).
    #[serde(default)]
    pub restored: bool,
    /// When the original value was put back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_at: Option<Time>,
}

impl GcLifeTimeRecord {
    /// Whether the cluster may still hold the raised value, so it has to be put back.
    pub fn needs_restore(&self) -> bool {
        self.raised_to.is_some() && !self.restored
    }
}
