//! tibr's operator: the `Backup` and `BackupSchedule` controllers.
//!
//! [`run`] starts everything a deployment needs — the metrics and health endpoints, the
//! Backup and BackupSchedule controllers, and the guard that keeps credentials Secrets alive while Backups
//! still need them — and returns when `shutdown` resolves. The binary is a thin command
//! line around it; the sandbox and the tests call it in-process.
//!
//! - [`backup`]: the Backup controller, `observe -> tibr_core::backup::decide -> act`.
//! - [`schedule`]: the BackupSchedule controller, `list runs -> tibr_core::schedule::decide
//!   -> act`, and the per-schedule metrics.
//! - [`secrets`]: the credentials guard (docs/adr/0003).
//! - [`gc`]: putting TiKV's GC life time back after a dead backup pod.
//! - [`clean`]: deleting a backup's data from the operator's own process.
//!
//! One replica runs: every write carries a resourceVersion precondition, so a second
//! replica during a rollout cannot corrupt a Backup, only waste work; leader election is
//! not needed (see docs/backup.md).

pub mod backup;
pub mod clean;
mod context;
pub mod error;
mod events;
pub mod gc;
pub mod metrics;
mod run;
pub mod schedule;
pub mod secrets;
mod settings;
mod unreadable;

pub use context::Context;
pub use error::Error;
pub use run::{run, run_with};
pub use settings::{Settings, parse_addr};

/// The field manager and event reporter name of the operator.
pub const NAME: &str = "tibr-operator";

/// Every patch the operator sends is made under [`NAME`], so an object's `managedFields`
/// tell its user which fields the operator wrote (without it they show `unknown`).
pub(crate) fn patch_params() -> kube::api::PatchParams {
    kube::api::PatchParams {
        field_manager: Some(NAME.into()),
        ..kube::api::PatchParams::default()
    }
}

/// The agent image of this version: backup and clean Job pods run it.
pub const DEFAULT_AGENT_IMAGE: &str =
    concat!("ghcr.io/tibr/tibr-agent:v", env!("CARGO_PKG_VERSION"));
