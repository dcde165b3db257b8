//! `pingcap.com/v1alpha1`: `Backup`, `BackupSchedule`, and a partial, read-only `TidbCluster`.

mod backup;
mod backup_schedule;
mod backup_status;
mod br;
mod compact;
mod options;
mod storage;
mod tidbcluster;

pub use backup::{
    Backup, BackupMode, BackupSpec, BackupType, CalcSizeLevel, CleanPolicy,
    FederalVolumeBackupPhase,
};
pub use backup_schedule::{BackupSchedule, BackupScheduleSpec, BackupScheduleStatus};
pub use backup_status::{
    BackoffRetryRecord, BackupStatus, BrOperation, GcLifeTimeRecord, LogSubCommandStatus, Progress,
};
pub use br::{BrConfig, DumplingConfig, TidbAccessConfig};
pub use compact::CompactSpec;
pub use options::{BackoffRetryPolicy, CleanOption};
pub use storage::{
    AzblobStorageProvider, GcsStorageProvider, LocalStorageProvider, S3Provider, S3StorageProvider,
    StorageProvider,
};
pub use tidbcluster::{
    PdSpec, TIDB_CLUSTER_READY, TidbCluster, TidbClusterCondition, TidbClusterRef, TidbClusterSpec,
    TidbClusterStatus, TidbSpec, TidbTlsClient, TikvSpec, TikvStatus, TikvStore, TlsCluster,
    pd_client_address,
};
