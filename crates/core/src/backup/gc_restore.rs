//! Putting TiKV's GC life time back when the agent could not (design §3.2): what the
//! operator needs for it beyond the agent's decision.
//!
//! The agent records `status.gcLifeTime` (the original value, what it raised it to) before
//! it raises `tikv_gc_life_time`, and restores it on every exit it lives to see. When the
//! pod dies first and no retry will run, the operator restores it. *Whether* to set the
//! value is the same decision the agent makes, [`crate::gc::plan_restore`] (only a value a
//! backup set is restored, and not while another running backup of the cluster holds it),
//! taken on what the operator read ([`GcReading`]); this module says when a reading is
//! worth taking ([`pending`]), how to log in (from `spec.from` and the TidbCluster's TLS
//! settings), and what to write ([`GcWrite`]).

use tibr_api::{Backup, TidbCluster, constants::defaults, pingcap::v1alpha1::GcLifeTimeRecord};

use super::{ClusterRef, decide::JobInfo, labels::GC_NOT_RESTORED_ANNOTATION};
use crate::gc::Peer;

/// What the operator read from TiDB for a restore that may be due.
#[derive(Debug, Clone, PartialEq)]
pub enum GcReading {
    /// `tikv_gc_life_time` now, and the other Backups of the same TiDB cluster.
    Read { current: String, peers: Vec<Peer> },
    /// TiDB could not be reached or read; why, without any secret.
    Failed(String),
}

/// The raise this Backup still owes a restore for, when the operator may have to make it:
/// recorded and not restored, not given up on (annotation), and no live agent that
/// restores it itself. Observation reads TiDB only then.
pub fn pending(backup: &Backup, backup_job: Option<&JobInfo>) -> Option<GcLifeTimeRecord> {
    let record = backup
        .status
        .as_ref()
        .and_then(|st| st.gc_life_time.clone())
        .filter(GcLifeTimeRecord::needs_restore)?;
    let given_up = backup
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(GC_NOT_RESTORED_ANNOTATION));
    let agent_alive = backup_job.is_some_and(JobInfo::is_active);
    (!given_up && !agent_alive).then_some(record)
}

/// How to log in to TiDB, from `spec.from`; the password stays in its Secret until the
/// operator reads it to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TidbConnection {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Secret in the Backup's namespace, key `password`.
    pub password_secret: String,
    /// Secret with `tls.crt`, `tls.key`, `ca.crt` when TiDB's client TLS is on.
    pub tls_secret: Option<String>,
    /// Do not verify TiDB's certificate (`tlsClient.skipInternalClientCA`).
    pub skip_ca: bool,
}

/// Set the GC life time a dead backup left raised back to `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct GcWrite {
    pub connection: TidbConnection,
    pub value: String,
    pub record: GcLifeTimeRecord,
    /// A failure is an error to retry. Otherwise this is the last attempt: a failure is
    /// reported, recorded on the Backup (annotation), and the operator moves on (a Backup
    /// being deleted cannot wait forever, nor retry against a TiDB that is gone).
    pub must_succeed: bool,
}

/// How to reach TiDB for this Backup, or why it cannot be reached.
pub fn connection(
    backup: &Backup,
    cluster: Option<&TidbCluster>,
) -> Result<TidbConnection, String> {
    let Some(from) = &backup.spec.from else {
        return Err("spec.from is not set any more, so the operator cannot log in to TiDB".into());
    };
    let tls = cluster.is_some_and(TidbCluster::tidb_client_tls);
    let cluster_name = ClusterRef::of(backup).map(|c| c.name).unwrap_or_default();
    Ok(TidbConnection {
        host: from.host.trim().to_string(),
        port: u16::try_from(from.port.unwrap_or(defaults::TIDB_PORT)).unwrap_or(4000),
        user: from
            .user
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| defaults::TIDB_USER.into()),
        password_secret: from.secret_name.trim().to_string(),
        tls_secret: tls.then(|| {
            from.tls_client_secret_name
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| format!("{cluster_name}-tidb-client-secret"))
        }),
        skip_ca: cluster.is_some_and(TidbCluster::skip_tidb_client_ca),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::fixtures;

    #[test]
    fn connection_from_spec() {
        let c = connection(&fixtures::static_keys(), Some(&fixtures::cluster())).unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.user.as_str()),
            ("basic-tidb", 4000, "root")
        );
        assert_eq!(c.password_secret, fixtures::SECRET_TIDB);
        assert_eq!(c.tls_secret, None);
        let tls = fixtures::cluster_with(
            serde_json::json!({"tidb": {"tlsClient": {"enabled": true}}}),
            true,
        );
        let c = connection(&fixtures::static_keys(), Some(&tls)).unwrap();
        assert_eq!(c.tls_secret.as_deref(), Some("demo1-tidb-client-secret"));
        let no_from = fixtures::tweak(
            &fixtures::static_keys(),
            serde_json::json!({"spec": {"from": null}}),
        );
        assert!(connection(&no_from, None).is_err());
    }
}
