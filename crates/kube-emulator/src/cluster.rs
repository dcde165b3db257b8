//! One emulated cluster: its state behind a single lock, and what its background tasks
//! (garbage collector, namespace and CRD finalizers) are woken by.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use jiff::Timestamp;
use tokio::sync::{Notify, watch};

use serde_json::Value;

use super::{
    registry::{GroupResource, Registry},
    store::{HistoryLimit, Store},
};

/// Who a bearer token authenticates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Identity {
    Admin,
    ServiceAccount { namespace: String, name: String },
}

/// The audience of tokens that authenticate to the API server itself; a token requested
/// with no audience gets it, as kube-apiserver gives its `--api-audiences`.
pub(crate) const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

/// A ServiceAccount token issued through the TokenRequest API, as its issuer knows it:
/// what an OIDC relying party (AWS STS for IRSA) checks before trusting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub namespace: String,
    pub service_account: String,
    pub audiences: Vec<String>,
    pub expires: Timestamp,
    /// The pod the token is bound to (`boundObjectRef`), if any.
    pub pod: Option<String>,
}

impl IssuedToken {
    /// The `sub` claim Kubernetes puts in a ServiceAccount token.
    pub fn subject(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }
}

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub name: String,
    /// How often a watch that allows bookmarks receives one.
    pub bookmark_interval: Duration,
    /// How many changes watches can resume from before they get `410 Gone`.
    pub history: usize,
    /// How much memory (roughly, in bytes) those changes may take: older ones are
    /// forgotten first, so deleted objects do not stay in memory as history.
    pub history_bytes: usize,
    /// Where the job runner writes container logs: `<dir>/<namespace>/<pod>/<container>.log`.
    pub pod_log_dir: PathBuf,
    /// When set, pods are mutated on creation as the EKS pod identity webhook does.
    pub pod_identity_webhook: Option<super::pod_identity::PodIdentityWebhook>,
}

impl ClusterOptions {
    pub fn new(name: &str, pod_log_dir: PathBuf) -> Self {
        ClusterOptions {
            name: name.to_string(),
            bookmark_interval: Duration::from_secs(10),
            history: 50_000,
            history_bytes: 64 << 20,
            pod_log_dir,
            pod_identity_webhook: None,
        }
    }
}

pub(crate) struct State {
    pub(crate) registry: Registry,
    pub(crate) store: Store,
    /// Bearer tokens that authenticate to this API server.
    pub(crate) tokens: HashMap<String, Identity>,
    /// Every token issued through TokenRequest, whatever its audience.
    pub(crate) issued: HashMap<String, IssuedToken>,
    pub(crate) pod_identity_webhook: Option<super::pod_identity::PodIdentityWebhook>,
    /// The cluster CA, published in every namespace's `kube-root-ca.crt` ConfigMap.
    pub(crate) ca_pem: String,
}

pub struct Cluster {
    pub options: ClusterOptions,
    state: Mutex<State>,
    /// Signalled after every committed write so controllers inside the emulator re-check.
    pub(crate) changed: Notify,
    pub(crate) shutdown: watch::Sender<bool>,
    /// Who made which kind of request (for RBAC checks in tests).
    pub accesses: super::access::AccessLog,
}

impl Cluster {
    pub fn new(options: ClusterOptions, admin_token: &str, ca_pem: &str) -> Self {
        let mut tokens = HashMap::new();
        tokens.insert(admin_token.to_string(), Identity::Admin);
        let state = State {
            registry: Registry::default(),
            store: Store::new(HistoryLimit {
                changes: options.history,
                bytes: options.history_bytes,
            }),
            tokens,
            issued: HashMap::new(),
            pod_identity_webhook: options.pod_identity_webhook.clone(),
            ca_pem: ca_pem.to_string(),
        };
        let (shutdown, _) = watch::channel(false);
        Cluster {
            options,
            state: Mutex::new(state),
            changed: Notify::new(),
            shutdown,
            accesses: Default::default(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (writes are single
        // assignments), so poisoning is not a reason to stop serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token if this cluster issued it, for `audience`, and it has not expired.
    pub fn verify_token(&self, token: &str, audience: &str) -> Result<IssuedToken, TokenError> {
        let issued = self
            .lock()
            .issued
            .get(token)
            .cloned()
            .ok_or(TokenError::Unknown)?;
        if !issued.audiences.iter().any(|a| a == audience) {
            return Err(TokenError::Audience(issued.audiences.clone()));
        }
        if issued.expires <= now() {
            return Err(TokenError::Expired);
        }
        Ok(issued)
    }

    pub(crate) fn notify_changed(&self) {
        self.changed.notify_waiters();
        self.changed.notify_one();
    }

    /// The stored object `namespace/name` (namespace `""` when cluster-scoped) of `resource`
    /// (a plural) in API group `group`, as the cluster holds it: what an emulator beside the
    /// cluster (an STS trusting its ServiceAccounts, say) reads without a client.
    pub fn object(
        &self,
        group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        self.lock()
            .store
            .get(&GroupResource::new(group, resource), namespace, name)
            .map(|o| (*o).clone())
    }

    /// Records `token` as issued by this cluster (the TokenRequest API does this for the
    /// tokens it mints), so [`Cluster::verify_token`] knows it.
    pub fn record_issued_token(&self, token: &str, issued: IssuedToken) {
        self.lock().issued.insert(token.to_string(), issued);
    }

    /// Forgets all change history up to now, as etcd compaction does: a watch from an older
    /// resourceVersion gets `410 Expired`.
    pub fn compact_history(&self) {
        self.lock().store.compact();
    }
}

/// Why a token does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Unknown,
    Audience(Vec<String>),
    Expired,
}

pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

/// Kubernetes `Time`: RFC 3339 in UTC with second precision.
pub(crate) fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Kubernetes `MicroTime`: RFC 3339 in UTC with microseconds.
pub(crate) fn rfc3339_micro(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
}
