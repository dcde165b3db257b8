//! The harnesses every tibr test suite shares, so that starting a cluster with pods, waiting
//! for a Backup and reading what pods logged are written once:
//!
//! - [`World`]: one emulated cluster with our CRDs and `TidbCluster test1/demo1`, Job pods
//!   run as processes, the sandbox S3 (and, when asked, the cloud) and a simulated TiDB;
//!   the operator's and the agent's tests start it, the end-to-end tests use the sandbox.
//! - [`Ns`]: one namespace of a cluster as tests use it: Backups, Secrets, Jobs, Events,
//!   pod logs, the objects in S3, waiting for phases.
//! - `wait_until` (from the emulator) is the one way to wait for something.
//! - [`procs`], [`logs`], [`status`]: processes, this process's log lines, conditions.
//! - [`shell`]: a user's shell with `sandbox.env` loaded and the real kubectl.
//! - [`rbac_table`]: the table of API calls in `deploy/README.md`.
//! - [`br`]: the BR stand-in's knobs tests set in pods.
//! - [`proxy`]: a link to a cluster the test can cut, as a cluster that stops answering.
//!
//! It depends on the emulators only, never on the operator, the agent or the sandbox, so
//! each of those can test with it without a dependency cycle.

pub mod br;
pub mod logs;
mod ns;
pub mod procs;
pub mod proxy;
pub mod rbac_table;
pub mod shell;
pub mod status;
mod world;

use std::path::{Path, PathBuf};

pub use kube_emulator::testing::{Kubectl, Output, TestCluster, api_error, poll, wait_until};
pub use ns::{Ns, S3Access};
pub use tibr_api::seeds;
pub use tibr_storage::testing::{Moto, unique_name};
pub use world::{World, WorldOptions};

/// The namespace of the seed documents' examples.
pub const NS: &str = "test1";
/// The ServiceAccount backup and clean pods run as (`deploy/backup-rbac.yaml`).
pub const BACKUP_SERVICE_ACCOUNT: &str = "tidb-backup-manager";
/// The seed's Secret names.
pub const TIDB_SECRET: &str = "backup-demo1-tidb-secret";
pub const S3_SECRET: &str = "s3-secret";

/// The workspace root, where users run the sandbox from (for `deploy/`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace of this crate")
}

/// `deploy/crds` of the workspace.
pub fn crds_dir() -> PathBuf {
    workspace().join("deploy").join("crds")
}
