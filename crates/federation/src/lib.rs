//! tibr's federation manager: the `VolumeBackup` controller of the control plane, which
//! backs up one TiDB cluster spread over several Kubernetes clusters by driving one member
//! `Backup` per data plane (docs/adr/0008-federation-decisions.md).
//!
//! Every decision is `tibr_core::federation`'s; this crate reads, writes and wakes:
//!
//! - `registry`: one client per context of the federation kubeconfig, reloaded when the
//!   file changes, and whether each member cluster answers.
//! - `watch`: the member clusters' Backups watched, each change waking the VolumeBackup
//!   that owns the member at once instead of at the next poll.
//! - `volume_backup`: `observe -> tibr_core::federation::decide -> act -> settle -> write`.
//! - `leader`: the Lease that lets one manager act at a time.
//! - `metrics`: TiDB's `fed_volume_backup_*` series (dashboards keep working) and ours.
//!
//! [`run()`] starts all of it and returns when `shutdown` resolves (or the Lease is lost);
//! the binary is a thin command line around it, and tests and the sandbox call it
//! in-process.

mod context;
mod error;
mod events;
mod leader;
mod metrics;
mod registry;
mod run;
mod schedule;
mod settings;
mod volume_backup;
mod watch;

pub use run::run;
pub use settings::{LeaderElection, Settings};

/// The field manager and Event reporter name of the manager.
pub const NAME: &str = "tibr-federation";

/// Every write the manager sends is made under [`NAME`], so `managedFields` name it.
pub(crate) fn post_params() -> kube::api::PostParams {
    kube::api::PostParams {
        field_manager: Some(NAME.into()),
        ..kube::api::PostParams::default()
    }
}

/// See [`post_params`].
pub(crate) fn patch_params() -> kube::api::PatchParams {
    kube::api::PatchParams {
        field_manager: Some(NAME.into()),
        ..kube::api::PatchParams::default()
    }
}

/// Where the federation kubeconfig is read by default: the `kubeconfig` key of the Secret
/// mounted at TiDB's mount path, so TiDB's Helm values and Secrets work unchanged.
pub const DEFAULT_KUBECONFIG: &str = "/etc/br-federation/federation-kubeconfig/kubeconfig";

/// The Lease that elects the acting manager (TiDB's name, so two managers of either kind
/// never act together when installed with the default release name).
pub const LEASE_NAME: &str = "br-federation-manager";
