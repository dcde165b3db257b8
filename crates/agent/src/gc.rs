//! The GC life time steps around BR (`spec.from` set): read, record, raise; later restore.
//! The decisions are `tibr_core::gc`'s; this module does the talking (TiDB, status, Events).

use std::path::Path;
use std::time::Duration;

use kube::api::ListParams;
use tibr_api::{TidbCluster, pingcap::v1alpha1::GcLifeTimeRecord};
use tibr_core::backup::{TidbAccess, ValidBackup};
use tibr_core::gc::{self, Peer, Restore};
use tibr_tidb::{Password, TidbEndpoint, TlsMaterial};

use crate::Failure;
use crate::secrets::Secrets;
use crate::status::StatusWriter;

/// A raise that may have to be undone.
#[derive(Debug, Clone)]
pub struct Held {
    endpoint: TidbEndpoint,
    record: GcLifeTimeRecord,
}

/// How the restore went, for the final status and Events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// Done (or nothing to do); the sentence says what happened, if anything.
    Done(Option<String>),
    /// Left raised on purpose (other backups hold it, or someone else changed it).
    Left(String),
    /// Could not be restored; the operator retries from the record.
    Failed(String),
}

/// TiDB's address and account from `spec.from`, the password from the environment and TLS
/// material from the mounted client Secret when the cluster's TiDB requires TLS.
pub fn endpoint(
    from: &TidbAccess,
    cluster: Option<&TidbCluster>,
    secrets: &Secrets,
    tls_dir: &Path,
) -> Result<TidbEndpoint, Failure> {
    let password = secrets.tidb_password().ok_or_else(|| {
        Failure::new(
            "ConnectTidbFailed",
            format!(
                "{} is not set: the backup Job must pass the password from Secret {} (key password)",
                crate::secrets::PASSWORD_VAR,
                from.secret_name
            ),
        )
    })?;
    // Without the TidbCluster (not readable here), the mounted Secret says TLS is on.
    let tls_on = match cluster {
        Some(tc) => tc.tidb_client_tls(),
        None => tls_dir.join("ca.crt").exists() || tls_dir.join("tls.crt").exists(),
    };
    let tls = if tls_on {
        let skip = cluster.is_some_and(TidbCluster::skip_tidb_client_ca);
        Some(TlsMaterial::from_dir(tls_dir, skip).map_err(|e| {
            Failure::new(
                "ConnectTidbFailed",
                format!("TiDB client TLS material: {e}"),
            )
        })?)
    } else {
        None
    };
    Ok(TidbEndpoint {
        host: from.host.clone(),
        port: from.port,
        user: from.user.clone(),
        password: Password::new(password),
        tls,
    })
}

/// Other Backups in this namespace that target the same TiDB cluster. Each is read on its
/// own: one that cannot be read is left out with a warning naming it, where a typed list
/// would fail, and with it the GC life time step of every backup in the namespace.
async fn peers(writer: &StatusWriter, me: &ValidBackup) -> Result<Vec<Peer>, kube::Error> {
    let resource = kube::api::ApiResource::erase::<tibr_api::Backup>(&());
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(writer.api().clone().into_client(), &me.namespace, &resource);
    let list = api.list(&ListParams::default()).await?;
    let raw = list
        .items
        .iter()
        .map(|o| serde_json::to_value(o).unwrap_or_default());
    let (backups, skipped) = tibr_core::unreadable::read_each::<tibr_api::Backup>(raw);
    for s in skipped {
        tracing::warn!(
            backup.namespace = %s.namespace,
            backup.name = %s.name,
            "left out of the Backups sharing the GC life time: this Backup cannot be read: {}",
            s.why
        );
    }
    Ok(gc::peers(&me.cluster, &me.namespace, &me.name, &backups))
}

/// Connects to TiDB for the raise, waiting up to `timeout` (the part worth interrupting),
/// with the wait shown on the Backup.
pub async fn connect(
    writer: &StatusWriter,
    endpoint: &TidbEndpoint,
    timeout: Duration,
) -> Result<tibr_tidb::Conn, Failure> {
    let options = tibr_tidb::ConnectOptions::with_deadline(timeout);
    crate::tidb_wait::connect(writer, endpoint, &options)
        .await
        .map_err(|e| Failure::new("ConnectTidbFailed", e.to_string()))
}

/// A raise recorded by an earlier run of this backup, to be undone now.
pub fn held(endpoint: TidbEndpoint, record: GcLifeTimeRecord) -> Held {
    Held { endpoint, record }
}

/// Reads the value, records the original in status, then raises it if it is too short. Not
/// to be interrupted: every step is bounded by the driver's query timeout, and stopping
/// between the record and the raise would leave a raise nobody undoes.
pub async fn raise(
    writer: &StatusWriter,
    me: &ValidBackup,
    from: &TidbAccess,
    endpoint: TidbEndpoint,
    mut conn: tibr_tidb::Conn,
    own: Option<&GcLifeTimeRecord>,
) -> Result<Held, Failure> {
    let current = tibr_tidb::gc_life_time(&mut conn)
        .await
        .map_err(|e| Failure::new("GetTikvGCLifeTimeFailed", e.to_string()))?;
    let peers = peers(writer, me).await.map_err(|e| {
        Failure::new(
            "GetTikvGCLifeTimeFailed",
            format!("listing the other Backups of the cluster: {e}"),
        )
    })?;
    let plan = gc::plan_raise(
        &current,
        from.gc_life_time,
        own,
        &peers,
        jiff::Timestamp::now(),
    )
    .map_err(|e| Failure::new("ParseOldTikvGCLifeTimeFailed", e.to_string()))?;
    // The record goes first: if we die after the raise, the original is not lost.
    let record = plan.record.clone();
    writer
        .update(|status, _, _| {
            let changed = status.gc_life_time.as_ref() != Some(&record);
            status.gc_life_time = Some(record.clone());
            changed
        })
        .await
        .map_err(|e| {
            Failure::new(
                "SetTikvGCLifeTimeFailed",
                format!("could not record the original GC life time in status, so it was not raised: {e}"),
            )
        })?;
    tracing::info!(current = %current, "{}", plan.explanation);
    let held = Held {
        endpoint,
        record: plan.record.clone(),
    };
    if let Some(value) = &plan.set {
        if let Err(e) = tibr_tidb::set_gc_life_time(&mut conn, value).await {
            conn.close().await;
            return Err(Failure::new("SetTikvGCLifeTimeFailed", e.to_string()).holding(held));
        }
        writer
            .event(
                false,
                "GCLifeTimeRaised",
                "RaiseGCLifeTime",
                &plan.explanation,
            )
            .await;
    }
    conn.close().await;
    Ok(held)
}

/// Puts the original value back if this backup is responsible for it; never fails the
/// caller (the outcome says what happened).
pub async fn restore(
    writer: &StatusWriter,
    me: &ValidBackup,
    held: &Held,
    timeout: Duration,
) -> Restored {
    if !held.record.needs_restore() {
        return Restored::Done(None);
    }
    let attempt = tokio::time::timeout(timeout, restore_once(writer, me, held, timeout));
    let outcome = match attempt.await {
        Ok(outcome) => outcome,
        Err(_) => Restored::Failed(format!(
            "restoring TiKV's GC life time to {} did not finish within {}",
            held.record.original,
            tibr_core::duration::format_go_duration(timeout)
        )),
    };
    match &outcome {
        Restored::Done(Some(msg)) | Restored::Left(msg) => tracing::info!("{msg}"),
        Restored::Failed(msg) => tracing::error!("{msg}"),
        Restored::Done(None) => {}
    }
    match &outcome {
        Restored::Done(Some(msg)) => {
            writer
                .event(false, "GCLifeTimeRestored", "RestoreGCLifeTime", msg)
                .await
        }
        Restored::Left(msg) => {
            writer
                .event(false, "GCLifeTimeLeftRaised", "RestoreGCLifeTime", msg)
                .await
        }
        Restored::Failed(msg) => {
            writer
                .event(true, "ResetTikvGCLifeTimeFailed", "RestoreGCLifeTime", msg)
                .await
        }
        Restored::Done(None) => {}
    }
    outcome
}

async fn restore_once(
    writer: &StatusWriter,
    me: &ValidBackup,
    held: &Held,
    timeout: Duration,
) -> Restored {
    let original = &held.record.original;
    let failed = |e: &dyn std::fmt::Display| {
        Restored::Failed(format!(
            "TiKV's GC life time could not be restored to {original}: {e}; it stays recorded in \
             status.gcLifeTime and the operator retries"
        ))
    };
    let mut conn = match tibr_tidb::connect(&held.endpoint, timeout).await {
        Ok(c) => c,
        Err(e) => return failed(&e),
    };
    let current = match tibr_tidb::gc_life_time(&mut conn).await {
        Ok(v) => v,
        Err(e) => return failed(&e),
    };
    let peers = match peers(writer, me).await {
        Ok(p) => p,
        Err(e) => return failed(&format!("listing the other Backups of the cluster: {e}")),
    };
    let plan = gc::plan_restore(&held.record, &current, &peers);
    let (mark, outcome) = match plan {
        Restore::Nothing => (false, Restored::Done(None)),
        Restore::AlreadyRestored => (
            true,
            Restored::Done(Some(format!(
                "TiKV's GC life time is {current}, the original value"
            ))),
        ),
        Restore::Set { value } => match tibr_tidb::set_gc_life_time(&mut conn, &value).await {
            Ok(()) => (
                true,
                Restored::Done(Some(format!(
                    "restored TiKV's GC life time from {current} to {value}"
                ))),
            ),
            Err(e) => (false, failed(&e)),
        },
        Restore::HandOver { to } => (
            false,
            Restored::Left(format!(
                "TiKV's GC life time stays {current}: backup(s) {} of the same cluster still \
                 need it and will restore {original} when they end",
                to.join(", ")
            )),
        ),
        Restore::Skip { reason } => (true, Restored::Left(reason)),
    };
    conn.close().await;
    if mark {
        let result = writer
            .update(|status, _, now| match status.gc_life_time.as_mut() {
                Some(r) if !r.restored => {
                    gc::mark_restored(r, now);
                    true
                }
                _ => false,
            })
            .await;
        if let Err(e) = result {
            // The value is back; only the record lags. The operator will find it restored.
            tracing::warn!(error = %e, "could not mark the GC life time record restored");
        }
    }
    outcome
}
