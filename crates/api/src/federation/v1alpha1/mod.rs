//! `federation.pingcap.com/v1alpha1`: `VolumeBackup` and `VolumeBackupSchedule`.

mod volume_backup;
mod volume_backup_schedule;

pub use volume_backup::{
    VolumeBackup, VolumeBackupBrConfig, VolumeBackupMemberCluster, VolumeBackupMemberSpec,
    VolumeBackupMemberStatus, VolumeBackupSpec, VolumeBackupStatus,
};
pub use volume_backup_schedule::{
    VolumeBackupSchedule, VolumeBackupScheduleSpec, VolumeBackupScheduleStatus,
};
