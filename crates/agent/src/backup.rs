//! `tibr-agent backup`: spec-backup §4.2 with the GC life time kept safe (§4.4) and progress
//! reported. Order: read the Backup and its TidbCluster, validate, mark a re-run, `Prepare` +
//! `backupPath`, GC life time (record, then raise), `Running`, BR, GC restore (every path),
//! `backupmeta`, outcome. The final condition is written once, by `report`.

use std::path::Path;

use kube::Api;
use tibr_api::{Backup, BackupConditionType, TidbCluster, pingcap::v1alpha1::BackupStatus};
use tibr_core::backup::status::{NewCondition, set_condition};
use tibr_core::backup::{ValidBackup, br::backup_args, br::redact_args, validate};
use tokio::sync::watch;

use crate::gc::{self, Restored};
use crate::signals::Signals;
use crate::status::StatusWriter;
use crate::{BackupArgs, Completion, Failure, Outcome, secrets::Secrets, storage};

/// Whether this pod is not the first to work on the Backup: the status moved past
/// `Scheduled`, or the operator marked a retry with `Restart`. A Backup with no phase yet
/// (the operator has not recorded `Scheduled` when the pod starts) is a first run.
pub fn is_rerun(status: Option<&BackupStatus>) -> bool {
    let Some(status) = status else {
        return false;
    };
    status.condition(&BackupConditionType::Restart).is_some()
        || !matches!(status.phase, None | Some(BackupConditionType::Scheduled))
}

/// BR before v6.5.1 refuses a prefix holding a partial backup and cannot resume.
fn needs_preclean(cluster: Option<&TidbCluster>) -> bool {
    let Some(tag) = cluster.and_then(TidbCluster::tikv_version) else {
        return false;
    };
    let t = tag.trim_start_matches('v');
    let mut parts = t.split(['.', '-', '+']).map(|p| p.parse::<u64>().ok());
    match (
        parts.next().flatten(),
        parts.next().flatten(),
        parts.next().flatten(),
    ) {
        (Some(a), Some(b), Some(c)) => (a, b, c) < (6, 5, 1),
        _ => false,
    }
}

pub(crate) async fn run(
    client: kube::Client,
    args: &BackupArgs,
    secrets: &Secrets,
    signals: &mut Signals,
) -> Result<(StatusWriter, Outcome), Failure> {
    let api: Api<Backup> = Api::namespaced(client.clone(), &args.target.namespace);
    let backup = api
        .get(&args.target.backup_name)
        .await
        .map_err(|e| Failure::new("GetBackupCRFailed", e.to_string()))?;
    let writer = StatusWriter::new(client.clone(), &backup, secrets.clone());
    let outcome = match prepare_and_run(&client, &writer, &backup, args, secrets, signals).await {
        Ok(outcome) => outcome,
        Err(failure) => Outcome::Failed(failure),
    };
    Ok((writer, outcome))
}

async fn cluster(client: &kube::Client, backup: &Backup) -> Option<TidbCluster> {
    let br = backup.spec.br.as_ref()?;
    let ns = br
        .cluster_namespace
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| backup.metadata.namespace.clone())?;
    match Api::<TidbCluster>::namespaced(client.clone(), &ns)
        .get_opt(br.cluster.trim())
        .await
    {
        Ok(tc) => tc,
        Err(e) => {
            // RBAC may not allow it; the mounted TLS Secrets tell us what we need.
            tracing::warn!(error = %e, "cannot read the TidbCluster; relying on mounted TLS Secrets");
            None
        }
    }
}

async fn prepare_and_run(
    client: &kube::Client,
    writer: &StatusWriter,
    backup: &Backup,
    args: &BackupArgs,
    secrets: &Secrets,
    signals: &mut Signals,
) -> Result<Outcome, Failure> {
    let tc = cluster(client, backup).await;
    let valid = validate(backup, tc.as_ref()).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Failure::new("InvalidSpec", text.join("; "))
    })?;
    if let Some(settings) = &valid.volume {
        let cx = crate::volume::Context {
            writer,
            backup,
            valid: &valid,
            settings,
            cluster: tc.as_ref(),
            args,
            secrets,
        };
        return Ok(crate::volume::run(&cx, signals).await);
    }
    let status = backup.status.clone();
    let rerun = is_rerun(status.as_ref());
    if rerun {
        tracing::info!("this Backup was worked on before: treating this run as a restart");
        writer
            .condition(NewCondition::true_(
                BackupConditionType::Restart,
                "BackupPodRestarted",
                "a new backup pod started after an earlier one ended without finishing",
            ))
            .await
            .map_err(|e| Failure::new("UpdateStatusFailed", e.to_string()))?;
    }
    let started = jiff::Timestamp::now();
    let path = valid.storage.path();
    let prepare = NewCondition::true_(BackupConditionType::Prepare, "", "");
    writer
        .update(|s, generation, now| {
            let mut changed = set_condition(s, prepare.clone(), generation, now);
            if s.backup_path.as_deref() != Some(path.as_str()) {
                s.backup_path = Some(path.clone());
                changed = true;
            }
            changed
        })
        .await
        .map_err(|e| Failure::new("UpdateStatusFailed", e.to_string()))?;

    let target = valid.storage.target();
    let store = storage::open(&target)
        .map_err(|e| Failure::new("BackupDataToRemoteFailed", secrets.scrub(&e.to_string())))?;
    if rerun
        && tibr_storage::backupmeta::backup_meta_exists(&store, store.prefix())
            .await
            .unwrap_or(false)
    {
        // An earlier pod finished BR and died before reporting: the backup is there. If that
        // pod had raised the GC life time, it is put back now.
        let note = "BR had already finished in an earlier run of this backup".to_string();
        let earlier = status.as_ref().and_then(|s| s.gc_life_time.clone());
        let restored = match (&valid.from, earlier.filter(|r| r.needs_restore())) {
            (Some(from), Some(record)) => {
                let endpoint = gc::endpoint(from, tc.as_ref(), secrets, &args.tidb_client_tls_dir)?;
                let held = gc::held(endpoint, record);
                Some(gc::restore(writer, &valid, &held, args.gc_restore_timeout).await)
            }
            _ => None,
        };
        return complete(&store, started, Some(note), restored.as_ref(), None).await;
    }
    if rerun && needs_preclean(tc.as_ref()) {
        tracing::info!(path = %path, "BR before v6.5.1 cannot resume: deleting the partial backup first");
        let options = tibr_storage::CleanOptions::from(&valid.clean);
        tibr_storage::clean_backup(&store, &options, |_| {})
            .await
            .map_err(|e| Failure::new("CleanBackupDataFailed", secrets.scrub(&e.to_string())))?;
    }

    let own = status.as_ref().and_then(|s| s.gc_life_time.clone());
    let held = match &valid.from {
        Some(from) => {
            let endpoint = gc::endpoint(from, tc.as_ref(), secrets, &args.tidb_client_tls_dir)?;
            // Waiting for TiDB may take minutes: a stop ends the wait. Nothing is changed yet.
            let conn = tokio::select! {
                conn = gc::connect(writer, &endpoint, args.tidb_connect_timeout) => conn?,
                stop = signals.next() => return Err(Failure::interrupted(stop)),
            };
            match gc::raise(writer, &valid, from, endpoint, conn, own.as_ref()).await {
                Ok(held) => Some(held),
                Err(mut failure) => {
                    if let Some(held) = failure.held.take() {
                        let restored =
                            gc::restore(writer, &valid, &held, args.gc_restore_timeout).await;
                        failure.add_gc(&restored);
                    }
                    return Err(failure);
                }
            }
        }
        None => None,
    };

    let result = match signals.received() {
        // Stopped before BR started: do not start it.
        Some(stop) => Err(Failure::interrupted(stop)),
        None => run_br(writer, &valid, tc.as_ref(), args, secrets, signals).await,
    };
    let restored = match &held {
        Some(h) => gc::restore(writer, &valid, h, args.gc_restore_timeout).await,
        None => Restored::Done(None),
    };
    let br = match result {
        Ok(br) => br,
        Err(mut failure) => {
            failure.add_gc(&restored);
            return Err(failure);
        }
    };
    if let Some(stop) = br.stopped_by {
        return Ok(Outcome::Interrupted {
            stop,
            note: format!(
                "stopped by {}; {}; {}",
                stop.name(),
                br.failure_message(),
                gc_note(&restored)
            ),
        });
    }
    if !br.success() {
        let mut failure = Failure::new("BackupDataToRemoteFailed", br.failure_message());
        failure.add_gc(&restored);
        return Err(failure);
    }
    complete(&store, started, None, Some(&restored), br.summary.as_ref()).await
}

fn gc_note(restored: &Restored) -> String {
    match restored {
        Restored::Done(Some(m)) | Restored::Left(m) | Restored::Failed(m) => m.clone(),
        Restored::Done(None) => "the GC life time was not changed".into(),
    }
}

async fn run_br(
    writer: &StatusWriter,
    valid: &ValidBackup,
    tc: Option<&TidbCluster>,
    args: &BackupArgs,
    secrets: &Secrets,
    signals: &mut Signals,
) -> Result<crate::br::BrResult, Failure> {
    let cluster_tls = match tc {
        Some(tc) => tc.is_tls_cluster_enabled(),
        None => Path::new(&args.cluster_client_tls_dir)
            .join("tls.crt")
            .exists(),
    };
    let br_args = backup_args(valid, cluster_tls);
    writer
        .condition(NewCondition::true_(BackupConditionType::Running, "", ""))
        .await
        .map_err(|e| Failure::new("UpdateStatusFailed", e.to_string()))?;
    tracing::info!(br = %args.br_path.display(), args = ?redact_args(&br_args), "running BR");
    let (tx, rx) = watch::channel(Vec::new());
    let progress = tokio::spawn(crate::br::write_progress(
        writer.clone(),
        rx,
        args.progress_interval,
    ));
    let result = crate::br::run(&args.br_path, &br_args, secrets, &tx, None, signals).await;
    drop(tx);
    let _ = progress.await;
    result.map_err(|e| Failure::new("BackupDataToRemoteFailed", secrets.scrub(&e.to_string())))
}

async fn complete(
    store: &tibr_storage::Store,
    started: jiff::Timestamp,
    note: Option<String>,
    restored: Option<&Restored>,
    summary: Option<&tibr_core::progress::Summary>,
) -> Result<Outcome, Failure> {
    let meta = tibr_storage::read_backup_meta(store, store.prefix())
        .await
        .map_err(|e| Failure::new("GetBackupMetadataFailed", e.to_string()))?;
    // backupmeta is the record (as in TiDB Operator); BR's summary only cross-checks it.
    if let Some(ts) = summary.and_then(|s| s.backup_ts())
        && ts != meta.commit_ts
    {
        tracing::warn!(
            summary = ts,
            backupmeta = meta.commit_ts,
            "BR's summary and backupmeta disagree on the backup TS; reporting backupmeta's"
        );
    }
    let gc_problem = match restored {
        Some(Restored::Failed(m)) => Some(m.clone()),
        _ => None,
    };
    let gc_note = match restored {
        Some(Restored::Left(m)) => Some(m.clone()),
        _ => None,
    };
    Ok(Outcome::Complete(Completion {
        started,
        completed: jiff::Timestamp::now(),
        commit_ts: meta.commit_ts_string(),
        size: meta.backup_size,
        note: [note, gc_note]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; "),
        gc_not_restored: gc_problem,
        incremental_size: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reruns_are_recognised_from_the_status() {
        let mut s = BackupStatus::default();
        assert!(!is_rerun(None));
        assert!(!is_rerun(Some(&s)), "no phase yet: the first run");
        s.phase = Some(BackupConditionType::Scheduled);
        assert!(!is_rerun(Some(&s)));
        for phase in [
            BackupConditionType::Prepare,
            BackupConditionType::Running,
            BackupConditionType::RetryFailed,
        ] {
            s.phase = Some(phase.clone());
            assert!(is_rerun(Some(&s)), "{phase:?}");
        }
        s.phase = Some(BackupConditionType::Scheduled);
        set_condition(
            &mut s,
            NewCondition::true_(BackupConditionType::Restart, "RetryFailedBackup", ""),
            None,
            jiff::Timestamp::UNIX_EPOCH,
        );
        assert!(is_rerun(Some(&s)), "the operator's retry marker");
    }

    #[test]
    fn only_old_br_needs_the_prefix_cleaned_on_a_rerun() {
        let tc = |version: &str| -> TidbCluster {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "pingcap.com/v1alpha1", "kind": "TidbCluster",
                "metadata": {"name": "demo1", "namespace": "test1"},
                "spec": {"version": version, "tikv": {"baseImage": "pingcap/tikv"}}
            }))
            .unwrap()
        };
        assert!(needs_preclean(Some(&tc("v6.5.0"))));
        assert!(needs_preclean(Some(&tc("v5.4.3"))));
        assert!(!needs_preclean(Some(&tc("v6.5.1"))));
        assert!(!needs_preclean(Some(&tc("v8.5.0"))));
        assert!(!needs_preclean(Some(&tc("latest"))));
        assert!(!needs_preclean(None));
    }
}
