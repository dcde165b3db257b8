//! Reaching TiDB to put `tikv_gc_life_time` back (design §3.2) for an agent that died.
//!
//! The decision is the agent's own, `tibr_core::gc::plan_restore`, with the other Backups of
//! the same TiDB cluster as peers (every namespace the operator watches, where the agent sees
//! only its own). What is the operator's: the login built from `spec.from`, the password and
//! the client TLS Secret read from the API ([`endpoint`]), and the [`GcRestorer`] boundary, so
//! tests can put a double in place of TiDB. [`TidbGcRestorer`] is the production
//! implementation, over `tibr_tidb` (the agent's client: TLS, deadlines, scrubbed errors).

use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, api::ListParams};
use tibr_api::{Backup, constants::defaults};
use tibr_core::{
    backup::{ClusterRef, gc_restore::TidbConnection},
    gc::Peer,
};
use tibr_tidb::{ConnectOptions, Password, TidbEndpoint, TlsMaterial};

/// Reads and writes `tikv_gc_life_time`. Errors are sentences without credentials.
#[async_trait]
pub trait GcRestorer: Send + Sync + 'static {
    async fn read(&self, endpoint: &TidbEndpoint) -> Result<String, String>;
    async fn write(&self, endpoint: &TidbEndpoint, value: &str) -> Result<(), String>;
}

/// [`GcRestorer`] over `tibr_tidb`: one connection per call, with TLS when the endpoint
/// carries material.
#[derive(Debug, Clone)]
pub struct TidbGcRestorer {
    /// How long to keep trying to connect. Short: a reconcile must not hang on a TiDB that is
    /// down; the next reconcile tries again.
    pub connect_timeout: Duration,
}

impl Default for TidbGcRestorer {
    fn default() -> Self {
        TidbGcRestorer {
            connect_timeout: Duration::from_secs(20),
        }
    }
}

impl TidbGcRestorer {
    async fn connect(&self, endpoint: &TidbEndpoint) -> Result<tibr_tidb::Conn, String> {
        let options = ConnectOptions {
            deadline: self.connect_timeout,
            retry_interval: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(10),
            query_timeout: Duration::from_secs(20),
        };
        tibr_tidb::connect_with(endpoint, &options)
            .await
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl GcRestorer for TidbGcRestorer {
    async fn read(&self, endpoint: &TidbEndpoint) -> Result<String, String> {
        let mut conn = self.connect(endpoint).await?;
        let value = tibr_tidb::gc_life_time(&mut conn).await;
        conn.close().await;
        value.map_err(|e| e.to_string())
    }

    async fn write(&self, endpoint: &TidbEndpoint, value: &str) -> Result<(), String> {
        let mut conn = self.connect(endpoint).await?;
        let done = tibr_tidb::set_gc_life_time(&mut conn, value).await;
        conn.close().await;
        done.map_err(|e| e.to_string())
    }
}

/// The login for `connection`: the password from its Secret (key `password`) and, when the
/// TidbCluster's TiDB requires client TLS, `ca.crt`/`tls.crt`/`tls.key` from the client TLS
/// Secret, both in the Backup's namespace, read now (never cached).
pub async fn endpoint(
    client: &Client,
    namespace: &str,
    connection: &TidbConnection,
) -> Result<TidbEndpoint, String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let read = |name: String| {
        let secrets = secrets.clone();
        async move {
            secrets
                .get_opt(&name)
                .await
                .map_err(|e| format!("reading Secret {namespace}/{name}: {e}"))?
                .ok_or_else(|| format!("Secret {namespace}/{name} not found"))
        }
    };
    let secret_name = &connection.password_secret;
    let secret = read(secret_name.clone()).await?;
    let password = key(&secret, defaults::TIDB_PASSWORD_KEY)
        .and_then(|v| String::from_utf8(v).ok())
        .ok_or_else(|| {
            format!(
                "Secret {namespace}/{secret_name} (spec.from.secretName) has no key {}",
                defaults::TIDB_PASSWORD_KEY
            )
        })?;
    let tls = match &connection.tls_secret {
        None => None,
        Some(name) => {
            let secret = read(name.clone()).await?;
            let material = TlsMaterial {
                ca: key(&secret, "ca.crt"),
                cert: key(&secret, "tls.crt"),
                key: key(&secret, "tls.key"),
                skip_ca_verify: connection.skip_ca,
            };
            if material.ca.is_none() && material.cert.is_none() && !material.skip_ca_verify {
                return Err(format!(
                    "Secret {namespace}/{name} (TiDB client TLS) has neither ca.crt nor tls.crt"
                ));
            }
            Some(material)
        }
    };
    Ok(TidbEndpoint {
        host: connection.host.clone(),
        port: connection.port,
        user: connection.user.clone(),
        password: Password::new(password),
        tls,
    })
}

fn key(secret: &Secret, name: &str) -> Option<Vec<u8>> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(name))
        .map(|v| v.0.clone())
}

/// The other Backups of `backup`'s TiDB cluster, read fresh from every namespace the
/// operator watches (`None`: all): a cached view could miss the raise another backup just
/// recorded, and restoring under it would cut its GC protection short.
pub async fn peers(
    client: &Client,
    watched: Option<&str>,
    backup: &Backup,
) -> Result<Vec<Peer>, String> {
    let Some(cluster) = ClusterRef::of(backup) else {
        return Ok(Vec::new());
    };
    // One Backup that cannot be read must not block every restore: it is left out. Each is
    // kept as its peer record only: a cluster's Backups can number thousands.
    let namespace = backup.metadata.namespace.as_deref().unwrap_or_default();
    let name = backup.metadata.name.as_deref().unwrap_or_default();
    crate::unreadable::list_filter_map(client, watched, &ListParams::default(), |b: Backup| {
        tibr_core::gc::peer_of(&cluster, namespace, name, &b)
    })
    .await
    .map_err(|e| format!("listing the Backups of TiDB cluster {}: {e}", cluster.name))
}
