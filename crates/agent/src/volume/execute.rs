//! The execute Job: BR snapshots this data plane's TiKV volumes while the init Job holds GC
//! and PD scheduling paused.
//!
//! Order: claim the prefix (refused when `backupmeta` or `clustermeta` is already there, so
//! no other backup's record is overwritten), write `clustermeta` and the TidbCluster's
//! manifest, record `backupPath` and `Running`, run BR with the watcher of `watch` beside it,
//! then size the snapshots. `backupPath` is written only once the prefix is this backup's:
//! a Backup refused for a taken prefix can be deleted without touching the other's data.

use bytes::Bytes;
use tibr_api::{BackupConditionType, TidbCluster};
use tibr_core::backup::br::{redact_args, volume_backup_args};
use tibr_core::backup::job::volume::CLUSTERMETA_KEY;
use tibr_core::backup::status::{NewCondition, set_condition};
use tibr_core::progress::ProgressUpdate;
use tibr_core::reconcile::reasons;
use tibr_core::volume::{VolumeMeta, summary::parse_ebs_summary, tags::snapshot_tags};
use tokio::sync::{mpsc, oneshot, watch};

use super::watch::{BACKUPMETA, STEP, Watcher, read_meta};
use super::{Context, cloud, cluster_tls, size};
use crate::signals::Signals;
use crate::{Completion, Failure, Outcome, storage};

pub(super) async fn run(cx: &Context<'_>, signals: &mut Signals) -> Outcome {
    match execute(cx, signals).await {
        Ok(outcome) => outcome,
        Err(f) => Outcome::VolumeFailed(Failure::new(&f.reason, cx.secrets.scrub(&f.message))),
    }
}

async fn execute(cx: &Context<'_>, signals: &mut Signals) -> Result<Outcome, Failure> {
    let started = jiff::Timestamp::now();
    let volume_file = read_volume_file(cx).await?;
    let failed = |reason: &str| {
        let reason = reason.to_string();
        move |e: tibr_storage::StorageError| Failure::new(&reason, e.to_string())
    };
    let store = storage::open(&cx.valid.storage.target())
        .map_err(failed(reasons::BACKUP_DATA_TO_REMOTE_FAILED))?;
    for name in [BACKUPMETA, CLUSTERMETA_KEY] {
        let key = store
            .key(name)
            .map_err(failed(reasons::BACKUP_DATA_TO_REMOTE_FAILED))?;
        if store
            .exists(&key)
            .await
            .map_err(failed(reasons::BACKUP_DATA_TO_REMOTE_FAILED))?
        {
            return Err(Failure::new(
                reasons::FILE_EXISTED_IN_EXTERNAL_STORAGE,
                format!(
                    "{} exists: another backup was written under this prefix; it is left as it is, and this backup is not taken",
                    store.url(&key)
                ),
            ));
        }
    }
    let key = store
        .key(CLUSTERMETA_KEY)
        .map_err(failed(reasons::BACKUP_DATA_TO_REMOTE_FAILED))?;
    store
        .put(&key, Bytes::from(volume_file.clone()))
        .await
        .map_err(failed(reasons::BACKUP_DATA_TO_REMOTE_FAILED))?;
    if let Some(tc) = cx.cluster {
        write_manifest(&store, tc)
            .await
            .map_err(failed(reasons::BACKUP_DATA_TO_REMOTE_FAILED))?;
    } else {
        tracing::warn!(
            "the TidbCluster could not be read: its manifest is not saved with the backup"
        );
    }
    let path = cx.valid.storage.path();
    let running = NewCondition::true_(BackupConditionType::Running, "", "");
    cx.writer
        .update(|s, generation, now| {
            s.backup_path = Some(path.clone());
            set_condition(s, running.clone(), generation, now);
            true
        })
        .await
        .map_err(|e| Failure::new(reasons::UPDATE_STATUS_FAILED, e.to_string()))?;

    let work = &cx.args.work_dir;
    let volumes_path = work.join("backup-volumes.json");
    let progress_path = work.join("backup-progress.txt");
    let _ = tokio::fs::remove_file(&progress_path).await;
    tokio::fs::write(&volumes_path, &volume_file)
        .await
        .map_err(|e| {
            Failure::new(
                reasons::VOLUME_FILE_UNREADABLE,
                format!("writing {}: {e}", volumes_path.display()),
            )
        })?;
    let br_args = volume_backup_args(
        cx.valid,
        cluster_tls(cx),
        &volumes_path.to_string_lossy(),
        &progress_path.to_string_lossy(),
    );
    tracing::info!(br = %cx.args.br_path.display(), args = ?redact_args(&br_args), "snapshotting the TiKV volumes through BR");

    let cloud = cloud(cx.valid).await;
    let (progress, progress_rx) = watch::channel(Vec::new());
    let writing = tokio::spawn(crate::br::write_progress(
        cx.writer.clone(),
        progress_rx,
        cx.args.progress_interval,
    ));
    let (stop_watching, stop) = oneshot::channel();
    let watching = tokio::spawn(
        Watcher {
            writer: cx.writer.clone(),
            store: store.clone(),
            cloud: cloud.clone(),
            tags: snapshot_tags(cx.backup),
            progress_file: progress_path,
            poll: cx.args.snapshot_poll,
            progress: progress.clone(),
        }
        .run(stop),
    );
    let (lines_tx, mut lines) = mpsc::unbounded_channel();
    // BR's own progress lines are not the backup's progress: the progress file is.
    let (br_progress, _) = watch::channel(Vec::new());
    let br = crate::br::run(
        &cx.args.br_path,
        &br_args,
        cx.secrets,
        &br_progress,
        Some(&lines_tx),
        signals,
    );
    tokio::pin!(br);
    let mut summary = None;
    let result = loop {
        tokio::select! {
            result = &mut br => break result,
            Some(line) = lines.recv() => {
                summary = parse_ebs_summary(&line).or(summary);
            }
        }
    };
    while let Ok(line) = lines.try_recv() {
        summary = parse_ebs_summary(&line).or(summary);
    }
    let _ = stop_watching.send(());
    let seen = watching.await.ok();
    let meta = match seen.as_ref().and_then(|s| s.meta.clone()) {
        Some(meta) => Some(meta),
        None => read_meta(&store).await.ok().flatten(),
    };
    if meta.is_some() && !seen.as_ref().is_some_and(|s| s.tagged) {
        let note =
            "the snapshots could not be tagged with their Backup: backupmeta alone finds them";
        tracing::warn!("{note}");
        cx.writer
            .event(true, reasons::SNAPSHOT_TAGS_NOT_SET, "Backup", note)
            .await;
    }
    let succeeded = matches!(&result, Ok(br) if br.success()) && meta.is_some();
    if succeeded {
        progress.send_replace(vec![ProgressUpdate {
            step: STEP.into(),
            percent: 100.0,
        }]);
    }
    drop(progress);
    let _ = writing.await;
    let br =
        result.map_err(|e| Failure::new(reasons::BACKUP_DATA_TO_REMOTE_FAILED, e.to_string()))?;
    if !br.success() {
        let said = match meta.as_ref().map_or(0, |m| m.snapshots().len()) {
            0 => "no snapshot was requested".to_string(),
            n => format!(
                "BR had requested {n} snapshot(s) and deletes what it created when it fails; deleting the Backup deletes any left"
            ),
        };
        if let Some(stop) = br.stopped_by {
            return Ok(Outcome::Interrupted {
                stop,
                note: format!(
                    "stopped by {}; {}; {said}",
                    stop.name(),
                    br.failure_message()
                ),
            });
        }
        return Err(Failure::new(
            reasons::BACKUP_DATA_TO_REMOTE_FAILED,
            format!("{}; {said}", br.failure_message()),
        ));
    }
    let Some(meta) = meta else {
        return Err(Failure::new(
            reasons::BACKUP_DATA_TO_REMOTE_FAILED,
            format!(
                "BR reported success but wrote no readable backupmeta under {}",
                store.url(store.prefix())
            ),
        ));
    };
    complete(cx, &cloud, &meta, summary.map(|s| s.resolved_ts), started).await
}

/// The volume file the operator built, as the ConfigMap mount holds it.
async fn read_volume_file(cx: &Context<'_>) -> Result<Vec<u8>, Failure> {
    let path = &cx.args.clustermeta;
    let unreadable = |what: String| {
        Failure::new(
            reasons::VOLUME_FILE_UNREADABLE,
            format!("{}: {what}", path.display()),
        )
    };
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| unreadable(e.to_string()))?;
    let meta: VolumeMeta = serde_json::from_slice(&bytes)
        .map_err(|e| unreadable(format!("not a volume file: {e}")))?;
    if meta.tikv.stores.is_empty() {
        return Err(unreadable("names no TiKV store".into()));
    }
    Ok(bytes)
}

/// `manifests/<namespace>/TidbCluster/<name>.yaml`, for whoever restores the backup into a
/// new cluster; never overwritten.
async fn write_manifest(store: &tibr_storage::Store, tc: &TidbCluster) -> tibr_storage::Result<()> {
    let namespace = tc.metadata.namespace.as_deref().unwrap_or_default();
    let name = tc.metadata.name.as_deref().unwrap_or_default();
    let key = store.key(&format!("manifests/{namespace}/TidbCluster/{name}.yaml"))?;
    if store.exists(&key).await? {
        return Ok(());
    }
    let mut tc = tc.clone();
    tc.metadata.managed_fields = None;
    let yaml = yaml_serde::to_string(&tc).map_err(|e| {
        tibr_storage::StorageError::InvalidTarget(format!("the TidbCluster as YAML: {e}"))
    })?;
    store.put(&key, Bytes::from(yaml)).await
}

async fn complete(
    cx: &Context<'_>,
    cloud: &tibr_ebs::Cloud,
    meta: &VolumeMeta,
    summary_ts: Option<u64>,
    started: jiff::Timestamp,
) -> Result<Outcome, Failure> {
    // backupmeta is the record; BR's summary line only cross-checks it.
    let commit_ts = match (meta.resolved_ts(), summary_ts) {
        (Some(ts), Some(s)) if s != ts => {
            tracing::warn!(
                summary = s,
                backupmeta = ts,
                "BR's summary and backupmeta disagree on the resolved ts; reporting backupmeta's"
            );
            ts
        }
        (Some(ts), _) => ts,
        (None, Some(s)) => s,
        (None, None) => {
            return Err(Failure::new(
                reasons::BACKUP_DATA_TO_REMOTE_FAILED,
                "BR reported success without a resolved ts: the backup's commit ts is unknown",
            ));
        }
    };
    let snapshots = meta.snapshots().len();
    tracing::info!(snapshots, "sizing the snapshots");
    let sizes = size::sizes(cloud, meta, cx.settings).await;
    let note = sizes.note(snapshots);
    if let Some(note) = &note {
        tracing::warn!("{note}");
        cx.writer
            .event(true, reasons::SNAPSHOT_SIZE_UNKNOWN, "Backup", note)
            .await;
    }
    Ok(Outcome::VolumeComplete(Completion {
        started,
        completed: jiff::Timestamp::now(),
        commit_ts: commit_ts.to_string(),
        size: sizes.full,
        note: note.unwrap_or_default(),
        gc_not_restored: None,
        incremental_size: Some(sizes.incremental),
    }))
}
