//! `tibr-agent clean`: delete everything under the backup's path (spec-backup §4.8), after a
//! volume-snapshot backup's EBS snapshots (`volume::snapshots`), with
//! `spec.cleanOption`, progress in `status.progresses` (step `Clean`), `Clean=True` on
//! success and `CleanFailed` (exit 1, so the Job's next pod tries again) on failure.
//!
//! An empty `status.backupPath` means no data was ever written: that is `Clean`, not
//! `Failed` as in TiDB Operator (a Backup rejected before it ran must still be deletable).

use kube::Api;
use tibr_api::Backup;
use tibr_core::backup::{ValidBackup, validate};
use tibr_core::progress::ProgressUpdate;
use tibr_storage::{CleanOptions, Store, clean_backup};
use tokio::sync::watch;

use crate::status::StatusWriter;
use crate::{CleanArgs, Failure, Outcome, secrets::Secrets, storage};

/// The step names in `status.progresses`.
pub const STEP: &str = "Clean";
pub const SNAPSHOTS_STEP: &str = "Delete Snapshots";

/// Objects deleted between two progress lines in the log.
const LOG_EVERY: u64 = 10_000;

pub(crate) async fn run(
    client: kube::Client,
    args: &CleanArgs,
    secrets: &Secrets,
) -> Result<(StatusWriter, Outcome), Failure> {
    let api: Api<Backup> = Api::namespaced(client.clone(), &args.target.namespace);
    let backup = api
        .get(&args.target.backup_name)
        .await
        .map_err(|e| Failure::new("GetBackupCRFailed", e.to_string()))?;
    let writer = StatusWriter::new(client, &backup, secrets.clone());
    let outcome = clean(&writer, &backup, args, secrets).await;
    Ok((writer, outcome))
}

async fn clean(
    writer: &StatusWriter,
    backup: &Backup,
    args: &CleanArgs,
    secrets: &Secrets,
) -> Outcome {
    let path = backup
        .status
        .as_ref()
        .and_then(|s| s.backup_path.clone())
        .filter(|p| !p.trim().is_empty());
    let Some(path) = path else {
        return Outcome::Cleaned {
            reason: "BackupPathIsEmpty".into(),
            message: "nothing to delete: the backup never wrote data (status.backupPath is empty)"
                .into(),
        };
    };
    let failed = |message: String| Outcome::CleanFailed {
        message: secrets.scrub(&message),
    };
    let valid = match validate(backup, None) {
        Ok(v) => v,
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return failed(format!(
                "cannot reach {path}: the spec is invalid: {}",
                text.join("; ")
            ));
        }
    };
    let spec_path = valid.storage.path();
    if spec_path != path {
        tracing::warn!(recorded = %path, spec = %spec_path, "the spec's location changed since the backup; deleting where the data was written");
    }
    let target = match storage::target_at(&valid.storage, &path) {
        Ok(t) => t,
        Err(e) => return failed(format!("refusing to clean: {e}")),
    };
    let store = match storage::open(&target) {
        Ok(s) => s,
        Err(e) => return failed(format!("opening {path}: {e}")),
    };
    let mut said = String::new();
    if valid.volume.is_some() {
        match snapshots(writer, backup, &valid, &store, args).await {
            Ok(done) => {
                tracing::info!("{done}");
                said = format!("{done}; ");
            }
            Err(e) => return failed(format!("deleting the snapshots of {path}: {e}")),
        }
    }
    tracing::info!(path = %path, "deleting the backup's objects");

    let (tx, rx) = watch::channel(Vec::new());
    let progress = tokio::spawn(crate::br::write_progress(
        writer.clone(),
        rx,
        args.progress_interval,
    ));
    tx.send_replace(vec![ProgressUpdate {
        step: STEP.into(),
        percent: 0.0,
    }]);
    let options = CleanOptions::from(&valid.clean);
    let mut logged = 0;
    let result = clean_backup(&store, &options, |p| {
        // Without a backupmeta (log backups, volume snapshots) there is no total: the
        // percentage stays at 0 and the log says how far the clean has come.
        if let Some(percent) = p.percent() {
            tx.send_replace(vec![ProgressUpdate {
                step: STEP.into(),
                percent,
            }]);
        }
        if p.deleted >= logged + LOG_EVERY {
            logged = p.deleted;
            tracing::info!(deleted = p.deleted, expected = ?p.expected, round = p.round, "cleaning");
        }
    })
    .await;
    match result {
        Ok(report) => {
            tx.send_replace(vec![ProgressUpdate {
                step: STEP.into(),
                percent: 100.0,
            }]);
            drop(tx);
            let _ = progress.await;
            Outcome::Cleaned {
                reason: String::new(),
                message: format!(
                    "{said}deleted {} object(s) under {} in {} round(s)",
                    report.deleted, report.url, report.rounds
                ),
            }
        }
        Err(e) => {
            drop(tx);
            let _ = progress.await;
            failed(format!("deleting {path}: {e}"))
        }
    }
}

/// A volume-snapshot backup's snapshots, deleted before its files (which list them), with
/// their own step in `status.progresses`.
async fn snapshots(
    writer: &StatusWriter,
    backup: &Backup,
    valid: &ValidBackup,
    store: &Store,
    args: &CleanArgs,
) -> Result<String, String> {
    let cloud = crate::volume::cloud(valid).await;
    let per_second = valid.volume.as_ref().map_or(1.0, |v| v.delete_ratio);
    let (tx, rx) = watch::channel(Vec::new());
    let progress = tokio::spawn(crate::br::write_progress(
        writer.clone(),
        rx,
        args.progress_interval,
    ));
    let result = crate::volume::snapshots::delete(&cloud, store, backup, per_second, |share| {
        tx.send_replace(vec![ProgressUpdate {
            step: SNAPSHOTS_STEP.into(),
            percent: (share * 10_000.0).round() / 100.0,
        }]);
    })
    .await;
    drop(tx);
    let _ = progress.await;
    result.map(|d| d.describe())
}
