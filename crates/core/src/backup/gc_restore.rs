//! Putting TiKV's GC life time back when the agent could not (design §3.2).
//!
//! The agent records `status.gcLifeTime` (the original value, what it raised it to) before
//! it raises `tikv_gc_life_time`, and restores it on every exit it lives to see. When the
//! pod dies first and no retry will run, the operator restores it — but only if the value
//! is still the one the backup set: anything else means someone changed it since, and
//! overwriting their choice would be worse than leaving ours.

use tibr_api::{Backup, TidbCluster, constants::defaults, pingcap::v1alpha1::GcLifeTimeRecord};

use crate::duration::parse_go_duration;

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

/// Restore the GC life time a dead backup left raised.
#[derive(Debug, Clone, PartialEq)]
pub struct GcRestore {
    pub connection: TidbConnection,
    pub record: GcLifeTimeRecord,
    /// A failure to reach TiDB is an error to retry. Otherwise this is the last attempt:
    /// a failure is reported, recorded on the Backup (annotation), and the operator moves
    /// on (a Backup being deleted cannot wait forever, nor retry against a TiDB that is gone).
    pub must_succeed: bool,
}

/// What to do once the current value is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcStep {
    /// Set `tikv_gc_life_time` to this (the recorded original).
    Restore { to: String },
    /// The original value is already back (an earlier attempt restored it but could not
    /// record it): record it now, touch nothing.
    AlreadyRestored,
    /// Leave the value alone, for this reason.
    LeaveAlone { reason: String },
    /// Nothing was raised, or it was restored already.
    Nothing,
}

fn same_duration(a: &str, b: &str) -> bool {
    match (parse_go_duration(a), parse_go_duration(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.trim() == b.trim(),
    }
}

/// Compares the value TiDB holds with what the backup set. Durations compare by value,
/// since TiDB may store `72h0m0s` for `72h`.
pub fn gc_step(record: &GcLifeTimeRecord, current: &str) -> GcStep {
    let Some(raised) = record.raised_to.as_deref().filter(|_| !record.restored) else {
        return GcStep::Nothing;
    };
    if same_duration(current, raised) {
        GcStep::Restore {
            to: record.original.clone(),
        }
    } else if same_duration(current, &record.original) {
        GcStep::AlreadyRestored
    } else {
        GcStep::LeaveAlone {
            reason: format!(
                "tikv_gc_life_time is {current}, not the {raised} this backup set, so someone changed it since; it was left alone (the value before the backup was {})",
                record.original
            ),
        }
    }
}

/// The record once the original value is back.
pub fn restored(record: &GcLifeTimeRecord, now: jiff::Timestamp) -> GcLifeTimeRecord {
    GcLifeTimeRecord {
        restored: true,
        restored_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now)),
        ..record.clone()
    }
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
    let cluster_name = backup
        .spec
        .br
        .as_ref()
        .map(|b| b.cluster.trim().to_string())
        .unwrap_or_default();
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

    fn record(raised: Option<&str>, restored: bool) -> GcLifeTimeRecord {
        GcLifeTimeRecord {
            original: "10m0s".into(),
            raised_to: raised.map(Into::into),
            raised_at: None,
            restored,
            restored_at: None,
        }
    }

    #[test]
    fn restores_only_what_it_raised() {
        assert_eq!(
            gc_step(&record(Some("72h"), false), "72h0m0s"),
            GcStep::Restore { to: "10m0s".into() }
        );
        let GcStep::LeaveAlone { reason } = gc_step(&record(Some("72h"), false), "24h") else {
            panic!()
        };
        assert!(
            reason.contains("24h") && reason.contains("10m0s"),
            "{reason}"
        );
        assert_eq!(
            gc_step(&record(Some("72h"), false), "10m"),
            GcStep::AlreadyRestored
        );
        assert_eq!(gc_step(&record(Some("72h"), true), "72h"), GcStep::Nothing);
        assert_eq!(gc_step(&record(None, false), "72h"), GcStep::Nothing);
        let r = restored(
            &record(Some("72h"), false),
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        assert!(r.restored && !r.needs_restore());
    }

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
