//! `Backup` (`backups.pingcap.com`, short name `bk`): one backup of a TidbCluster.

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, LocalObjectReference, PodSecurityContext, ResourceRequirements, Toleration,
    Volume, VolumeMount,
};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    BackoffRetryPolicy, BackupStatus, BrConfig, CleanOption, DumplingConfig, StorageProvider,
    TidbAccessConfig,
};
use crate::{
    conditions::{BackupCondition, BackupConditionType},
    schema::wire_enum,
};

wire_enum! {
    /// What a snapshot backup covers. There is no incremental type: an incremental backup is
    /// a `full` one with `--lastbackupts` in `br.options`.
    pub enum BackupType (schema = open, default = Full) {
        /// Every table, except the system schemas.
        Full = "full",
        /// The database named by `br.db`.
        Db = "db",
        /// The table named by `br.db` and `br.table`.
        Table = "table",
        /// Raw key-value data; not supported for backups.
        Raw = "raw",
        /// Restore only; not supported for backups.
        TiflashReplica = "tiflash-replica",
    }
}

wire_enum! {
    /// How the backup is taken.
    pub enum BackupMode (schema = closed, default = Snapshot) {
        /// A consistent copy of the data at one point in time, taken by BR.
        Snapshot = "snapshot",
        /// A continuous log backup task (point-in-time recovery), run by BR.
        Log = "log",
        /// EBS volume snapshots, coordinated across Kubernetes clusters by the federation.
        VolumeSnapshot = "volume-snapshot",
    }
}

wire_enum! {
    /// What happens to the backup data when the Backup is deleted. Any other value keeps
    /// the data, exactly like `Retain`.
    pub enum CleanPolicy (schema = open, default = Retain) {
        /// Keep the data.
        Retain = "Retain",
        /// Delete the data only if the backup failed.
        OnFailure = "OnFailure",
        /// Delete the data.
        Delete = "Delete",
    }
}

impl CleanPolicy {
    /// The policy that applies: an unknown value means `Retain`.
    pub fn effective(&self) -> CleanPolicy {
        match self {
            CleanPolicy::Other(_) => CleanPolicy::Retain,
            known => known.clone(),
        }
    }
}

wire_enum! {
    /// The step a member Backup of a federated volume backup is asked to take.
    pub enum FederalVolumeBackupPhase (schema = open) {
        /// Pause GC and PD scheduling for the whole TiDB cluster (first member only).
        Initialize = "initialize",
        /// Take this data plane's EBS snapshots.
        Execute = "execute",
        /// Resume GC and PD scheduling, and finish.
        Teardown = "teardown",
    }
}

wire_enum! {
    /// Which sizes of a volume snapshot backup are computed (this can take long on big
    /// clusters). Any other value computes none.
    pub enum CalcSizeLevel (schema = open) {
        /// The full and the incremental size.
        All = "all",
        /// The full size only.
        Full = "full",
        /// The incremental size only.
        Incremental = "incremental",
    }
}

/// The desired backup: what to copy, where to, and how the backup pod runs.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
// One `printcolumn` per column: clippy reads their repeated keys as duplicates.
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "pingcap.com",
    version = "v1alpha1",
    kind = "Backup",
    plural = "backups",
    shortname = "bk",
    namespaced,
    status = "BackupStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "A backup of a TiDB cluster, taken once."
)]
#[kube(printcolumn(
    name = "Type",
    type_ = "string",
    json_path = ".spec.backupType",
    description = "What a snapshot backup covers: full, db or table"
))]
#[kube(printcolumn(
    name = "Mode",
    type_ = "string",
    json_path = ".spec.backupMode",
    description = "snapshot, log or volume-snapshot"
))]
#[kube(printcolumn(
    name = "Status",
    type_ = "string",
    json_path = ".status.phase",
    description = "The phase of the backup"
))]
#[kube(printcolumn(
    name = "BackupPath",
    type_ = "string",
    json_path = ".status.backupPath",
    description = "Where the backup data is"
))]
#[kube(printcolumn(
    name = "BackupSize",
    type_ = "string",
    json_path = ".status.backupSizeReadable",
    description = "Size of the backup data"
))]
#[kube(printcolumn(
    name = "IncrementalBackupSize",
    type_ = "string",
    json_path = ".status.incrementalBackupSizeReadable",
    priority = 10,
    description = "Volume snapshot backups: size of the blocks changed since the previous snapshot"
))]
#[kube(printcolumn(
    name = "CommitTS",
    type_ = "string",
    json_path = ".status.commitTs",
    description = "The TSO the backup is consistent at (log backups: where the log starts)"
))]
#[kube(printcolumn(
    name = "LogTruncateUntil",
    type_ = "string",
    json_path = ".status.logSuccessTruncateUntil",
    description = "Log backups: log data before this TSO has been deleted"
))]
#[kube(printcolumn(
    name = "Started",
    type_ = "date",
    json_path = ".status.timeStarted",
    priority = 1,
    description = "When the backup started"
))]
#[kube(printcolumn(
    name = "Completed",
    type_ = "date",
    json_path = ".status.timeCompleted",
    priority = 1,
    description = "When the backup completed"
))]
#[kube(printcolumn(
    name = "TimeTaken",
    type_ = "string",
    json_path = ".status.timeTaken",
    description = "How long the backup took"
))]
#[kube(printcolumn(
    name = "Age",
    type_ = "date",
    json_path = ".metadata.creationTimestamp"
))]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.logSubcommand) ? !has(self.logStop) : true",
     "message": "logStop is the legacy form of logSubcommand: set only one of them"},
    {"rule": "has(self.logStop) ? !has(self.logSubcommand) : true",
     "message": "logStop is the legacy form of logSubcommand: set only one of them"},
]))]
#[schemars(transform = crate::schema::tidy)]
pub struct BackupSpec {
    /// CPU and memory of the backup pod's containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub resources: Option<ResourceRequirements>,
    /// Extra environment variables of the backup container. A variable named like one the
    /// operator sets (S3_PROVIDER, S3_ENDPOINT, AWS_REGION, AWS_ACL, AWS_STORAGE_CLASS,
    /// AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, GCS_PROJECT_ID,
    /// GCS_OBJECT_ACL, GCS_BUCKET_ACL, GCS_LOCATION, GCS_STORAGE_CLASS,
    /// GCS_SERVICE_ACCOUNT_JSON_KEY, BR_LOG_TO_TERM) replaces it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub env: Vec<EnvVar>,
    /// How to log in to TiDB, to keep TiKV's GC from removing data the backup still reads
    /// (see `tikvGCLifeTime`). Required with TiKV older than v4.0.8, and for Dumpling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TidbAccessConfig>,
    /// Snapshot mode: what to back up, `full` (the default), `db` or `table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_type: Option<BackupType>,
    /// How the backup is taken: `snapshot` (the default), `log` or `volume-snapshot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "snapshot"))]
    pub backup_mode: Option<BackupMode>,
    /// With `from` set: the GC life time (Go duration) TiKV keeps during the backup; 72h when
    /// unset. A shorter GC life time found in TiDB is raised to it for the duration of the
    /// backup and then put back; a longer one is left alone.
    #[serde(
        rename = "tikvGCLifeTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tikv_gc_life_time: Option<String>,
    /// Where the backup is written.
    #[serde(flatten)]
    pub storage: StorageProvider,
    /// Dumpling only: StorageClass of the export's volume; the cluster's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Dumpling only: VolumeAttributesClass of the export's volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_attributes_class_name: Option<String>,
    /// Dumpling only: size of the export's volume; 100Gi when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_size: Option<String>,
    /// BR settings, including the TidbCluster to back up. Without it the Backup is a legacy
    /// Dumpling export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub br: Option<BrConfig>,
    /// Snapshot mode: back up the data as of this timestamp (a TSO such as
    /// `400036290571534337` or a datetime such as `2018-05-11 01:42:23`); now when unset.
    /// Log mode: where the log backup starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_ts: Option<String>,
    /// Log mode: what to do with the log backup task, `log-start` (also resumes a paused
    /// task), `log-pause` or `log-stop`. Cannot be combined with `logStop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "log_subcommand_schema")]
    pub log_subcommand: Option<crate::conditions::LogSubCommandType>,
    /// Log mode: delete log data older than this timestamp (TSO or datetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_truncate_until: Option<String>,
    /// Log mode, deprecated (use `logSubcommand: log-stop`): stop the log backup task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stop: Option<bool>,
    /// Volume snapshot mode: which backup sizes to compute, `all` (the default), `full`,
    /// `incremental`; any other value computes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "all"))]
    pub calc_size_level: Option<CalcSizeLevel>,
    /// Volume snapshot mode, set by the federation manager: the step to take,
    /// `initialize`, `execute` or `teardown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federal_volume_backup_phase: Option<FederalVolumeBackupPhase>,
    /// Volume snapshot mode, set by the federation manager: resume GC and PD scheduling now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_gc_schedule: Option<bool>,
    /// Dumpling settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dumpling: Option<DumplingConfig>,
    /// Tolerations of the backup, clean and stop pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub tolerations: Vec<Toleration>,
    /// The BR image (or the Dumpling image). Without a tag, the TidbCluster's TiKV version is
    /// used as tag; when empty, `pingcap/br:<TiKV version>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_image: Option<String>,
    /// Secrets for pulling the images of the backup pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    /// Table filter rules (e.g. `"*.*"`, `"!db.table"`), each passed to BR as `--filter`.
    /// When set, `br.db` and `br.table` are ignored. Unset backs up every non-system schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub table_filter: Vec<String>,
    /// Affinity of the backup pods (there is no nodeSelector; use node affinity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub affinity: Option<Affinity>,
    /// The TiDB password in the Secret is encrypted with AWS KMS and decrypted in the pod.
    #[serde(rename = "useKMS", default, skip_serializing_if = "Option::is_none")]
    pub use_kms: Option<bool>,
    /// ServiceAccount of the backup, clean and stop pods; `tidb-backup-manager` when empty.
    /// It must exist in the Backup's namespace; annotate it for IRSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Whether the pods mount their ServiceAccount token. When false, the backup container
    /// still gets a token of its own, since it reports status through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// What happens to the data when this Backup is deleted: `Retain` (the default), `Delete`,
    /// or `OnFailure` (delete only a failed backup's data). Any other value retains the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Retain"))]
    pub clean_policy: Option<CleanPolicy>,
    /// How the clean Job deletes the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_option: Option<CleanOption>,
    /// Security context of the backup, clean and stop pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub pod_security_context: Option<Box<PodSecurityContext>>,
    /// PriorityClass of the backup pods; a high one protects them from eviction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Snapshot mode: retries after the backup pod died without reporting. On by default
    /// (300s, 2 retries, 30m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {}))]
    pub backoff_retry_policy: Option<BackoffRetryPolicy>,
    /// Extra volumes of the backup pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub additional_volumes: Vec<Volume>,
    /// Extra volume mounts of the backup container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub additional_volume_mounts: Vec<VolumeMount>,
    /// Volume snapshot mode: deadline in seconds of the initialize Job, which bounds how long
    /// GC and PD scheduling stay paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 600))]
    pub volume_backup_init_job_max_active_seconds: Option<i64>,
}

/// `spec.logSubcommand` takes only the subcommands a user may request.
fn log_subcommand_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": ["log-start", "log-stop", "log-pause"],
        "nullable": true,
    })
}

impl BackupSpec {
    /// The mode in effect (`snapshot` when unset).
    pub fn mode(&self) -> BackupMode {
        self.backup_mode.clone().unwrap_or_default()
    }

    /// The clean policy in effect: `Retain` when unset or unknown.
    pub fn clean_policy(&self) -> CleanPolicy {
        self.clean_policy
            .as_ref()
            .map(CleanPolicy::effective)
            .unwrap_or_default()
    }
}

impl Backup {
    /// The condition of the given type, if any.
    pub fn condition(&self, type_: &BackupConditionType) -> Option<&BackupCondition> {
        self.status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| &c.type_ == type_)
    }

    /// `status.phase`, if set.
    pub fn phase(&self) -> Option<&BackupConditionType> {
        self.status.as_ref()?.phase.as_ref()
    }
}

#[cfg(test)]
mod tests {
    /// The operator's cache holds every Backup of the cluster as this struct, 10,000 of them
    /// for a long-running schedule: the volume source of `spec.local` (3.4 KB) and the pod
    /// security context are boxed so that an absent one costs a pointer.
    #[test]
    fn a_backup_stays_small_inline() {
        let size = std::mem::size_of::<super::Backup>();
        assert!(size <= 3 * 1024, "Backup is {size} bytes inline");
    }
}
