//! The validated, typed view of a `Backup` spec. Downstream code (Job builders, the BR
//! command line, the agent) reads this, never the raw optional wire fields, so every
//! default and every rule is applied in exactly one place (`validate`).

use std::time::Duration;

use crate::field::FieldError;
use crate::storage::{S3Target, Target};

/// What BR backs up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupScope {
    /// `br backup full`, optionally narrowed by table filters (`--filter`).
    Full { filters: Vec<String> },
    /// `br backup db --db`.
    Db { db: String },
    /// `br backup table --db --table`.
    Table { db: String, table: String },
}

impl BackupScope {
    /// BR's subcommand: `full`, `db` or `table`.
    pub fn command(&self) -> &'static str {
        match self {
            BackupScope::Full { .. } => "full",
            BackupScope::Db { .. } => "db",
            BackupScope::Table { .. } => "table",
        }
    }
}

/// The TiDB cluster a backup targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRef {
    pub name: String,
    pub namespace: String,
}

impl ClusterRef {
    /// The TidbCluster a Backup names, valid spec or not: `spec.br.cluster` in
    /// `spec.br.clusterNamespace`, which defaults to the Backup's namespace. `None` without a
    /// cluster name. The one place this default lives (watches, peers, connections use it).
    pub fn of(backup: &tibr_api::Backup) -> Option<ClusterRef> {
        let br = backup.spec.br.as_ref()?;
        let name = br.cluster.trim();
        if name.is_empty() {
            return None;
        }
        let namespace = br
            .cluster_namespace
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .or_else(|| backup.metadata.namespace.clone())
            .unwrap_or_default();
        Some(ClusterRef {
            name: name.to_string(),
            namespace,
        })
    }

    /// PD's client address as TiDB Operator's services expose it.
    pub fn pd_address(&self) -> String {
        format!("{}-pd.{}:2379", self.name, self.namespace)
    }
}

/// How to reach TiDB for the GC life time step (`spec.from`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TidbAccess {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Secret (in the Backup's namespace) whose key `password` holds the password.
    pub secret_name: String,
    pub tls_client_secret_name: Option<String>,
    /// The GC life time to hold during the backup (`spec.tikvGCLifeTime`, default 72h).
    pub gc_life_time: Duration,
}

/// S3 or an S3-compatible service (`spec.s3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Storage {
    /// Where, and how to reach it.
    pub target: S3Target,
    /// Secret with keys `access_key` and `secret_key`; `None` means IAM (kube2iam, IRSA).
    pub secret_name: Option<String>,
}

/// Where the backup is written. Only S3-compatible storage is supported today; the
/// enum leaves room for GCS, Azure Blob Storage and local volumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    S3(S3Storage),
}

impl Storage {
    /// The storage target, without credentials.
    pub fn target(&self) -> Target {
        match self {
            Storage::S3(s3) => Target::S3(s3.target.clone()),
        }
    }

    /// `s3://bucket/prefix`, shown as `status.backupPath`.
    pub fn path(&self) -> String {
        match self {
            Storage::S3(s3) => s3.target.backup_path(),
        }
    }
}

/// BR settings that become flags (`spec.br` and `spec.commitTs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrSettings {
    pub log_level: Option<String>,
    pub status_addr: Option<String>,
    pub concurrency: Option<u32>,
    pub rate_limit: Option<u64>,
    pub time_ago: Option<String>,
    pub checksum: Option<bool>,
    pub check_requirements: Option<bool>,
    pub send_credentials_to_tikv: Option<bool>,
    /// `spec.commitTs`: back up as of this TSO or time (`--backupts`).
    pub backup_ts: Option<String>,
    /// `spec.br.options`, passed last and verbatim (`--lastbackupts` for incremental backups).
    pub options: Vec<String>,
}

/// A data plane's step in a VolumeBackup (`spec.federalVolumeBackupPhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FederalPhase {
    /// Pause GC and PD scheduling for the whole TiDB cluster (the first data plane only).
    Initialize,
    /// Snapshot this data plane's TiKV volumes.
    Execute,
    /// Resume GC and PD scheduling, and finish.
    Teardown,
}

/// `backupMode: volume-snapshot`, as a data plane takes part in a VolumeBackup.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeSettings {
    pub phase: FederalPhase,
    /// The federation asks for GC and PD scheduling to resume (`spec.resumeGcSchedule`).
    pub resume_gc: bool,
    /// The init Job's `activeDeadlineSeconds`: the longest GC and scheduling stay paused.
    pub init_deadline: Duration,
    /// Which sizes to compute (`spec.calcSizeLevel`).
    pub full_size: bool,
    pub incremental_size: bool,
    /// EBS snapshots deleted per second when cleaning.
    pub delete_ratio: f64,
}

/// What happens to the data when the Backup is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanPolicy {
    Retain,
    OnFailure,
    Delete,
}

/// How the clean Job deletes (`spec.cleanOption` with TiDB Operator's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanSettings {
    pub page_size: u64,
    pub retry_count: u32,
    pub backoff_enabled: bool,
    pub batch_concurrency: u32,
    pub routine_concurrency: u32,
    pub disable_batch: bool,
}

/// `spec.backoffRetryPolicy` for failures the agent could not report (pod killed, evicted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub min_retry_duration: Duration,
    pub max_retry_times: u32,
    pub retry_timeout: Duration,
}

/// A `Backup` whose spec passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidBackup {
    pub name: String,
    pub namespace: String,
    pub scope: BackupScope,
    pub cluster: ClusterRef,
    pub from: Option<TidbAccess>,
    pub storage: Storage,
    pub br: BrSettings,
    pub clean_policy: CleanPolicy,
    /// The value the user wrote when it is not one of the three policies (it means Retain).
    pub unknown_clean_policy: Option<String>,
    pub clean: CleanSettings,
    pub retry: RetryPolicy,
    pub service_account: String,
    pub tool_image: Option<String>,
    /// What is allowed but deserves a word (a backup at a bucket root).
    pub warnings: Vec<FieldError>,
    /// Set for `backupMode: volume-snapshot`.
    pub volume: Option<VolumeSettings>,
}

impl ValidBackup {
    /// Whether deleting the Backup may have to delete data (so it carries the finalizer).
    pub fn is_clean_candidate(&self) -> bool {
        matches!(
            self.clean_policy,
            CleanPolicy::Delete | CleanPolicy::OnFailure
        )
    }
}
