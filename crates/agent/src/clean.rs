//! `tibr-agent clean`: delete everything under the backup's path (spec-backup §4.8), after a
//! volume-snapshot backup's EBS snapshots (`volume::snapshots`), with
//! `spec.cleanOption`, progress in `status.progresses` (step `Clean`), `Clean=True` on
//! success and `CleanFailed` (exit 1, so the Job's next pod tries again) on failure.
//!
//! An empty `status.backupPath` means no data was ever written: that is `Clean`, not
//! `Failed` as in TiDB Operator (a Backup rejected before it ran must still be deletable).

use futures::TryStreamExt;
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

/// `spec.cleanOption` as the storage crate takes it.
pub fn options(valid: &ValidBackup) -> CleanOptions {
    let c = &valid.clean;
    CleanOptions {
        page_size: usize::try_from(c.page_size).unwrap_or(usize::MAX),
        retry_count: c.retry_count,
        backoff: c.backoff_enabled,
        batch: !c.disable_batch,
        batch_concurrency: c.batch_concurrency as usize,
        routine_concurrency: c.routine_concurrency as usize,
    }
}

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
    let total = match count(&store).await {
        Ok(n) => n,
        Err(e) => return failed(format!("listing {path}: {e}")),
    };
    tracing::info!(path = %path, objects = total, "deleting the backup's objects");

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
    let options = options(&valid);
    let result = clean_backup(&store, &options, |p| {
        // Objects can be retried across rounds: stay below 100 % until the end.
        let percent = if total == 0 {
            0.0
        } else {
            ((p.deleted as f64 / total as f64) * 100.0).min(99.99)
        };
        tx.send_replace(vec![ProgressUpdate {
            step: STEP.into(),
            percent: (percent * 100.0).round() / 100.0,
        }]);
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

/// How many objects are under the store's prefix (streamed, not collected: a backup can have
/// millions); at a bucket root, none are counted (only named objects are deleted there).
async fn count(store: &Store) -> Result<u64, String> {
    if store.location().is_bucket_root() {
        return Ok(0);
    }
    let path = object_store::path::Path::parse(store.prefix()).map_err(|e| e.to_string())?;
    store
        .object_store()
        .list(Some(&path))
        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await
        .map_err(|e| e.to_string())
}
