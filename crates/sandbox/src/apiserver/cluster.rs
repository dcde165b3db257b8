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

use super::{registry::Registry, store::Store};

/// Who a bearer token authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Admin,
    ServiceAccount { namespace: String, name: String },
}

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub name: String,
    /// How often a watch that allows bookmarks receives one.
    pub bookmark_interval: Duration,
    /// How many changes watches can resume from before they get `410 Gone`.
    pub history: usize,
    /// Where the job runner writes container logs: `<dir>/<namespace>/<pod>/<container>.log`.
    pub pod_log_dir: PathBuf,
}

impl ClusterOptions {
    pub fn new(name: &str, pod_log_dir: PathBuf) -> Self {
        ClusterOptions {
            name: name.to_string(),
            bookmark_interval: Duration::from_secs(10),
            history: 50_000,
            pod_log_dir,
        }
    }
}

pub struct State {
    pub registry: Registry,
    pub store: Store,
    pub tokens: HashMap<String, Identity>,
    /// The cluster CA, published in every namespace's `kube-root-ca.crt` ConfigMap.
    pub ca_pem: String,
}

pub struct Cluster {
    pub options: ClusterOptions,
    state: Mutex<State>,
    /// Signalled after every committed write so controllers inside the emulator re-check.
    pub changed: Notify,
    pub shutdown: watch::Sender<bool>,
}

impl Cluster {
    pub fn new(options: ClusterOptions, admin_token: &str, ca_pem: &str) -> Self {
        let mut tokens = HashMap::new();
        tokens.insert(admin_token.to_string(), Identity::Admin);
        let state = State {
            registry: Registry::default(),
            store: Store::new(options.history),
            tokens,
            ca_pem: ca_pem.to_string(),
        };
        let (shutdown, _) = watch::channel(false);
        Cluster {
            options,
            state: Mutex::new(state),
            changed: Notify::new(),
            shutdown,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (writes are single
        // assignments), so poisoning is not a reason to stop serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn notify_changed(&self) {
        self.changed.notify_waiters();
        self.changed.notify_one();
    }
}

pub fn now() -> Timestamp {
    Timestamp::now()
}

/// Kubernetes `Time`: RFC 3339 in UTC with second precision.
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Kubernetes `MicroTime`: RFC 3339 in UTC with microseconds.
pub fn rfc3339_micro(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
}

pub fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}
