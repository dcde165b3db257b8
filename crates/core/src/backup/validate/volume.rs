//! The rules for `backupMode: volume-snapshot`, a data plane's part of a VolumeBackup:
//! TiDB Operator's (a TidbCluster stretched across Kubernetes clusters, with TiKV stores; a
//! full backup; the federation's phase), plus the bounds its own code only applies
//! silently (the snapshot deletion rate), named here instead.

use std::time::Duration;

use tibr_api::{
    TidbCluster,
    pingcap::v1alpha1::{BackupSpec, BackupType, CalcSizeLevel, FederalVolumeBackupPhase},
};

use super::Errors;
use crate::backup::view::{FederalPhase, VolumeSettings};
use crate::field::FieldError;

/// The init Job's deadline when the spec gives none.
pub const DEFAULT_INIT_DEADLINE: Duration = Duration::from_secs(600);
/// EBS snapshots deleted per second when the spec gives none, and its accepted range.
pub const DEFAULT_DELETE_RATIO: f64 = 1.0;
pub const DELETE_RATIO_RANGE: (f64, f64) = (0.1, 2.0);

/// Checks the volume-snapshot fields of `spec` (at `f("…")`); `cluster` is the TidbCluster,
/// when read.
pub(super) fn check(
    errors: &mut Errors,
    warnings: &mut Vec<FieldError>,
    f: &dyn Fn(&str) -> String,
    spec: &BackupSpec,
    cluster: Option<&TidbCluster>,
) -> Option<VolumeSettings> {
    let before = errors.0.len();
    let phase = match &spec.federal_volume_backup_phase {
        Some(FederalVolumeBackupPhase::Initialize) => Some(FederalPhase::Initialize),
        Some(FederalVolumeBackupPhase::Execute) => Some(FederalPhase::Execute),
        Some(FederalVolumeBackupPhase::Teardown) => Some(FederalPhase::Teardown),
        Some(FederalVolumeBackupPhase::Other(p)) => {
            errors.push(
                &f("federalVolumeBackupPhase"),
                format!("unknown phase {p:?}: the federation manager sets initialize, execute or teardown"),
            );
            None
        }
        None => {
            errors.push(
                &f("federalVolumeBackupPhase"),
                "required for volume-snapshot backups: they are one data plane's part of a VolumeBackup, and the federation manager sets the phase (initialize, execute, teardown)",
            );
            None
        }
    };
    if !matches!(spec.backup_type, None | Some(BackupType::Full)) {
        errors.push(
            &f("backupType"),
            "volume-snapshot backups snapshot whole volumes: only full is possible",
        );
    }
    let init_deadline = match spec.volume_backup_init_job_max_active_seconds {
        None => DEFAULT_INIT_DEADLINE,
        Some(s) if s > 0 => Duration::from_secs(s.unsigned_abs()),
        Some(s) => {
            errors.push(
                &f("volumeBackupInitJobMaxActiveSeconds"),
                format!("{s} is not a duration: give the longest time, in seconds, GC and PD scheduling may stay paused"),
            );
            DEFAULT_INIT_DEADLINE
        }
    };
    let (full_size, incremental_size) =
        match spec.calc_size_level.clone().unwrap_or(CalcSizeLevel::All) {
            CalcSizeLevel::All => (true, true),
            CalcSizeLevel::Full => (true, false),
            CalcSizeLevel::Incremental => (false, true),
            // TiDB Operator computes no size for any other value ("none" in its docs).
            CalcSizeLevel::Other(_) => (false, false),
        };
    let ratio = spec
        .clean_option
        .as_ref()
        .and_then(|c| c.snapshots_delete_ratio);
    let (low, high) = DELETE_RATIO_RANGE;
    let delete_ratio = match ratio {
        None => DEFAULT_DELETE_RATIO,
        Some(r) if (low..=high).contains(&r) => r,
        Some(r) => {
            warnings.push(FieldError::new(
                f("cleanOption.snapshotsDeleteRatio"),
                format!("{r} is outside {low}..{high} snapshots per second; {DEFAULT_DELETE_RATIO} is used, as TiDB Operator does"),
            ));
            DEFAULT_DELETE_RATIO
        }
    };
    if let Some(tc) = cluster {
        if !tc.across_k8s() {
            errors.push(
                &f("br.cluster"),
                "volume-snapshot backups are taken across Kubernetes clusters: the TidbCluster needs spec.acrossK8s: true",
            );
        }
        let replicas = tc.spec.tikv.as_ref().and_then(|t| t.replicas).unwrap_or(0);
        if replicas <= 0 && tc.tikv_store_count() == 0 {
            errors.push(
                &f("br.cluster"),
                "the TidbCluster has no TiKV: there is no volume to snapshot",
            );
        }
    }
    match phase {
        Some(phase) if errors.0.len() == before => Some(VolumeSettings {
            phase,
            resume_gc: spec.resume_gc_schedule == Some(true),
            init_deadline,
            full_size,
            incremental_size,
            delete_ratio,
        }),
        _ => None,
    }
}
