//! The custom resources of tibr, wire-compatible with TiDB Operator's: same API groups,
//! versions, kinds, names, fields, defaults and phase strings, so that existing manifests
//! apply unchanged. Types only: no client, no runtime.
//!
//! - [`pingcap::v1alpha1`]: `Backup` (`bk`), `BackupSchedule` (`bks`), and a partial,
//!   read-only `TidbCluster` (`tc`).
//! - [`federation::v1alpha1`]: `VolumeBackup` (`vbk`), `VolumeBackupSchedule` (`vbks`).
//! - [`conditions`]: condition records and TiDB's condition and phase strings.
//! - [`constants`]: finalizer, label and annotation keys, code defaults.
//! - [`crds`]: the CustomResourceDefinitions, as `cargo xtask crds` writes them.
//!
//! String-valued fields with a fixed vocabulary are enums that also keep unknown values
//! (`Other`), so reading an object never fails on a value written by another version; the
//! controllers decide what an unknown value means.

pub mod conditions;
pub mod constants;
mod crds;
pub mod federation;
pub mod pingcap;
mod schema;
#[cfg(feature = "test-support")]
pub mod seeds;

pub use conditions::{
    BackupCondition, BackupConditionType, ConditionStatus, LogSubCommandType,
    VolumeBackupCondition, VolumeBackupConditionType,
};
pub use crds::{crds, owned_crds, stand_in_crds};
pub use federation::v1alpha1::{VolumeBackup, VolumeBackupSchedule};
pub use pingcap::v1alpha1::{Backup, BackupSchedule, TidbCluster};
