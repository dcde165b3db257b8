//! Condition and phase vocabularies of Backup and VolumeBackup, with TiDB Operator's exact
//! strings, and the condition records themselves.
//!
//! TiDB Operator keeps one condition per type and sets `status.phase` to the type of the
//! condition it wrote last (except `Restart`). We keep those strings and that meaning, and
//! add what Kubernetes conventions ask for: `observedGeneration` on each condition, and a
//! `lastTransitionTime` that only moves when `status` changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::schema::wire_enum;

wire_enum! {
    /// The type of a Backup condition, which is also the vocabulary of `status.phase`.
    pub enum BackupConditionType (schema = open) {
        /// The backup Job has been created.
        Scheduled = "Scheduled",
        /// The backup pod started and is preparing (backup path computed, GC life time next).
        Prepare = "Prepare",
        /// BR is running; for a log backup, the log task is running.
        Running = "Running",
        /// The backup finished and its data is in storage.
        Complete = "Complete",
        /// Deletion: the clean Job was created (status False) or the data is gone (True).
        Clean = "Clean",
        /// Log backup only: a subcommand finished and the task can take the next one.
        Repeatable = "Repeatable",
        /// The backup failed; terminal.
        Failed = "Failed",
        /// A retryable failure; the controller tries again.
        RetryFailed = "RetryFailed",
        /// Deletion: removing the backup data failed.
        CleanFailed = "CleanFailed",
        /// The spec is invalid; terminal until the object is recreated.
        Invalid = "Invalid",
        /// Log backup only: the task is paused.
        Paused = "Paused",
        /// Log backup only: the task is stopped.
        Stopped = "Stopped",
        /// Marks a re-run of a snapshot backup; never becomes the phase.
        Restart = "Restart",
        /// Volume snapshot: GC and PD scheduling are paused cluster-wide.
        VolumeBackupInitialized = "VolumeBackupInitialized",
        /// Volume snapshot: pausing GC and PD scheduling failed.
        VolumeBackupInitializeFailed = "VolumeBackupInitializeFailed",
        /// Volume snapshot: this data plane's snapshots exist (they may still be copying).
        VolumeBackupSnapshotsCreated = "VolumeBackupSnapshotsCreated",
        /// Volume snapshot: GC and PD scheduling were resumed safely.
        VolumeBackupInitializeComplete = "VolumeBackupInitializeComplete",
        /// Volume snapshot: this data plane's snapshots completed.
        VolumeBackupComplete = "VolumeBackupComplete",
        /// Volume snapshot: taking this data plane's snapshots failed.
        VolumeBackupFailed = "VolumeBackupFailed",
    }
}

wire_enum! {
    /// The status of a condition.
    pub enum ConditionStatus (schema = open) {
        /// The condition holds.
        True = "True",
        /// The condition does not hold.
        False = "False",
        /// Not known yet.
        Unknown = "Unknown",
    }
}

wire_enum! {
    /// A log backup subcommand, as recorded in conditions and `logSubCommandStatuses`.
    pub enum LogSubCommandType (schema = open) {
        /// Start (or resume) the log backup task.
        Start = "log-start",
        /// Delete log data older than `logTruncateUntil`.
        Truncate = "log-truncate",
        /// Stop the task for good.
        Stop = "log-stop",
        /// Pause the task.
        Pause = "log-pause",
        /// Resume a paused task.
        Resume = "log-resume",
        /// TiDB Operator's marker for a subcommand it could not determine.
        Unknown = "log-unknown",
    }
}

wire_enum! {
    /// The type of a VolumeBackup condition, which is also the vocabulary of its `status.phase`.
    pub enum VolumeBackupConditionType (schema = open) {
        /// The spec is invalid.
        Invalid = "Invalid",
        /// The federated backup started.
        Running = "Running",
        /// Every data plane created its snapshots, and GC and PD scheduling were resumed.
        SnapshotsCreated = "SnapshotsCreated",
        /// Every data plane's backup completed.
        Complete = "Complete",
        /// A data plane's backup failed (or initialization failed).
        Failed = "Failed",
        /// Deletion: every data-plane Backup is gone.
        Cleaned = "Cleaned",
        /// Deletion: cleaning a data-plane Backup failed.
        CleanFailed = "CleanFailed",
    }
}

/// One observed fact about a Backup. TiDB Operator's fields, plus `observedGeneration`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupCondition {
    /// For log backups, the subcommand this condition is about (`log-start`, `log-stop`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<LogSubCommandType>,
    /// What the condition is about; one condition per type. See `status.phase` for the values.
    #[serde(rename = "type")]
    pub type_: BackupConditionType,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// When `status` last changed. Rewriting a condition with the same status keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase word for machines: why the condition is what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A sentence for humans about the condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// tibr extension: the `metadata.generation` of the spec the writer had seen when it set
    /// this condition. Absent on conditions written by TiDB Operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl BackupCondition {
    /// Whether this condition's status is `True`.
    pub fn is_true(&self) -> bool {
        self.status == ConditionStatus::True
    }
}

/// One observed fact about a VolumeBackup. TiDB Operator's fields, plus `observedGeneration`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeBackupCondition {
    /// What the condition is about; one condition per type. See `status.phase` for the values.
    #[serde(rename = "type")]
    pub type_: VolumeBackupConditionType,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// When `status` last changed. Rewriting a condition with the same status keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase word for machines: why the condition is what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A sentence for humans about the condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// tibr extension: the `metadata.generation` of the spec the writer had seen when it set
    /// this condition. Absent on conditions written by TiDB's federation manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl VolumeBackupCondition {
    /// Whether this condition's status is `True`.
    pub fn is_true(&self) -> bool {
        self.status == ConditionStatus::True
    }
}
