//! A volume-snapshot Backup's agent: one data plane's part of a VolumeBackup.
//!
//! - `init`: the init Job (`--initialize`): BR pauses GC and PD scheduling for the whole
//!   TiDB cluster and holds the pause until the Job is deleted.
//! - `execute`: the execute Job: BR snapshots this data plane's TiKV volumes; the agent tags
//!   the snapshots, reports when they are requested and when they are complete, and sizes them.
//! - `snapshots`: what the clean Job does to a volume-snapshot backup's snapshots.
//! - `size`: `spec.calcSizeLevel`, through the EBS direct API. `watch`: what the execute
//!   agent does while BR runs.
//!
//! The final condition is the caller's (`report`), as for every backup.

mod execute;
mod init;
mod size;
pub(crate) mod snapshots;
mod watch;

use tibr_api::{Backup, TidbCluster};
use tibr_core::backup::{Storage, ValidBackup, VolumeSettings};

use crate::signals::Signals;
use crate::status::StatusWriter;
use crate::{BackupArgs, Outcome, secrets::Secrets};

/// What every step of a volume-snapshot backup works with.
pub(crate) struct Context<'a> {
    pub writer: &'a StatusWriter,
    pub backup: &'a Backup,
    pub valid: &'a ValidBackup,
    pub settings: &'a VolumeSettings,
    pub cluster: Option<&'a TidbCluster>,
    pub args: &'a BackupArgs,
    pub secrets: &'a Secrets,
}

/// The init Job's work or the execute Job's, as the command line says.
pub(crate) async fn run(cx: &Context<'_>, signals: &mut Signals) -> Outcome {
    if cx.args.initialize {
        init::run(cx, signals).await
    } else {
        execute::run(cx, signals).await
    }
}

/// EC2 and EBS in the region of the backup's storage, as BR reaches them: BR's snapshots
/// are taken in the region its `--s3.region` names, with the same credentials.
pub(crate) async fn cloud(valid: &ValidBackup) -> tibr_ebs::Cloud {
    let Storage::S3(s3) = &valid.storage;
    tibr_ebs::Cloud::from_env(s3.target.region.as_deref().filter(|r| !r.is_empty())).await
}

/// Whether the cluster's TiKV and PD speak TLS, as the TidbCluster says or, when it could
/// not be read, as the mounted client certificate shows.
pub(crate) fn cluster_tls(cx: &Context<'_>) -> bool {
    match cx.cluster {
        Some(tc) => tc.is_tls_cluster_enabled(),
        None => cx.args.cluster_client_tls_dir.join("tls.crt").exists(),
    }
}
