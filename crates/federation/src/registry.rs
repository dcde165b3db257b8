//! The member registry: one client per context of the federation kubeconfig, keyed by the
//! context's name (which is `spec.clusters[].k8sClusterName`), and per context whether its
//! cluster answers and since when.
//!
//! TiDB's manager reads the kubeconfig once and stops on the first context it cannot use;
//! adding a data plane means a restart. Here the file is read again whenever its content
//! changes (a Secret's mounted file changes by a symlink swap, so the content is compared,
//! not the modification time), a context whose client cannot be built is kept as broken
//! rather than fatal, and a changed context gets a new client while the others keep theirs.
//!
//! Whether a cluster answers is learnt from every read and write the manager makes there
//! and from its watch; the first failure and the recovery are logged (never each retry),
//! shown as `tibr_federation_member_reachable{cluster}`, and handed to decisions as
//! `Access::Unreachable { since }`. Nothing here logs a kubeconfig's content: errors that
//! could quote it (YAML parse errors) are reduced to what went wrong.

use std::{
    collections::{BTreeMap, BTreeSet},
    hash::{DefaultHasher, Hash, Hasher},
    path::PathBuf,
    sync::RwLock,
    time::Duration,
};

use futures::channel::mpsc::UnboundedSender;
use jiff::Timestamp;
use kube::{
    Client,
    config::{KubeConfigOptions, Kubeconfig, KubeconfigError},
};

use crate::{
    metrics::{ClusterLabels, Metrics},
    watch::Wake,
};

/// How a context can be reached now.
pub(crate) enum Reach {
    /// The kubeconfig has no context of that name.
    Unknown,
    /// The context exists but no client could be built for it.
    Broken {
        error: String,
        since: Timestamp,
    },
    Client(Client),
}

/// What a reload changed, for the watches: contexts whose watch must stop (removed or
/// changed) and those to watch with their new client.
#[derive(Default)]
pub(crate) struct Changes {
    pub stopped: Vec<String>,
    pub started: Vec<(String, Client)>,
}

pub(crate) struct Registry {
    path: PathBuf,
    connect_timeout: Duration,
    state: RwLock<State>,
    metrics: Metrics,
    wake: UnboundedSender<Wake>,
}

#[derive(Default)]
struct State {
    /// Hash of the content last read, loaded or not: an unchanged broken file is reported
    /// once, not at every poll.
    content: Option<u64>,
    /// Why the file could not be read, so that the same reason is logged once.
    unreadable: Option<String>,
    members: BTreeMap<String, Member>,
}

struct Member {
    /// Hash of the context, its cluster and its user as the file has them.
    fingerprint: u64,
    client: Result<Client, String>,
    /// Since when the cluster does not answer, and the latest error.
    failing: Option<(Timestamp, String)>,
}

impl Registry {
    /// An empty registry; [`Registry::reload`] fills it.
    pub fn new(
        path: PathBuf,
        connect_timeout: Duration,
        metrics: Metrics,
        wake: UnboundedSender<Wake>,
    ) -> Self {
        Registry {
            path,
            connect_timeout,
            state: RwLock::default(),
            metrics,
            wake,
        }
    }

    /// Loads the file again if its content changed. A file that cannot be read or parsed
    /// leaves the contexts as they were (a half-written file never empties the registry).
    pub async fn reload(&self) -> Option<Changes> {
        let path = self.path.display();
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) => {
                let why = e.to_string();
                let mut state = self.write();
                if state.unreadable.as_deref() != Some(&why) {
                    tracing::error!(kubeconfig = %path, error = %why, contexts = state.members.len(), "cannot read the federation kubeconfig; the contexts loaded before are kept, and it is read again until it can be");
                    self.metrics.kubeconfig_loaded(false);
                    state.unreadable = Some(why);
                    state.content = None;
                }
                return None;
            }
        };
        let content = hash(&bytes);
        {
            let mut state = self.write();
            state.unreadable = None;
            if state.content == Some(content) {
                return None;
            }
            state.content = Some(content);
        }
        let kubeconfig = match Kubeconfig::read_from(&self.path) {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(kubeconfig = %path, error = %describe(&e), contexts = self.read().members.len(), "cannot load the federation kubeconfig; the contexts loaded before are kept");
                self.metrics.kubeconfig_loaded(false);
                return None;
            }
        };
        self.metrics.kubeconfig_loaded(true);
        Some(self.apply(kubeconfig).await)
    }

    async fn apply(&self, kubeconfig: Kubeconfig) -> Changes {
        let now = Timestamp::now();
        let mut fresh: BTreeMap<String, u64> = BTreeMap::new();
        for c in &kubeconfig.contexts {
            fresh.insert(c.name.clone(), fingerprint(&kubeconfig, &c.name));
        }
        let old: BTreeMap<String, u64> = self
            .read()
            .members
            .iter()
            .map(|(n, m)| (n.clone(), m.fingerprint))
            .collect();
        let mut changes = Changes::default();
        let mut built = BTreeMap::new();
        for (name, print) in &fresh {
            if old.get(name) == Some(print) {
                continue;
            }
            let client = self.build(&kubeconfig, name).await;
            if old.contains_key(name) {
                changes.stopped.push(name.clone());
            }
            match &client {
                Ok(c) => changes.started.push((name.clone(), c.clone())),
                Err(e) => {
                    tracing::warn!(context = %name, error = %e, "no client can be built for this context of the federation kubeconfig; its cluster counts as not answering")
                }
            }
            built.insert(name.clone(), client);
        }
        let removed: Vec<String> = old
            .keys()
            .filter(|n| !fresh.contains_key(*n))
            .cloned()
            .collect();
        changes.stopped.extend(removed.iter().cloned());
        {
            let mut state = self.write();
            for name in &removed {
                state.members.remove(name);
                self.metrics.member_reachable.remove(&ClusterLabels {
                    cluster: name.clone(),
                });
            }
            for (name, client) in built {
                let failing = client.as_ref().err().map(|e| (now, e.clone()));
                let labels = ClusterLabels {
                    cluster: name.clone(),
                };
                if failing.is_some() {
                    self.metrics.member_reachable.get_or_create(&labels).set(0);
                } else {
                    // Unknown until the first request says.
                    self.metrics.member_reachable.remove(&labels);
                }
                let fingerprint = fresh[&name];
                state.members.insert(
                    name,
                    Member {
                        fingerprint,
                        client,
                        failing,
                    },
                );
            }
            self.metrics.member_clusters.set(state.members.len() as i64);
        }
        let added: Vec<&String> = fresh.keys().filter(|n| !old.contains_key(*n)).collect();
        let changed: Vec<&String> = changes
            .stopped
            .iter()
            .filter(|n| fresh.contains_key(*n))
            .collect();
        tracing::info!(
            kubeconfig = %self.path.display(),
            contexts = ?fresh.keys().collect::<Vec<_>>(),
            added = ?added,
            removed = ?removed,
            changed = ?changed,
            "loaded the federation kubeconfig"
        );
        if !changes.started.is_empty() || !changes.stopped.is_empty() {
            // A name that was unknown may be known now, and a removed one ends waits.
            let _ = self.wake.unbounded_send(Wake::All);
        }
        changes
    }

    async fn build(&self, kubeconfig: &Kubeconfig, context: &str) -> Result<Client, String> {
        let options = KubeConfigOptions {
            context: Some(context.to_string()),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
            .await
            .map_err(|e| describe(&e))?;
        config.connect_timeout = Some(self.connect_timeout);
        Client::try_from(config).map_err(|e| e.to_string())
    }

    /// Every context name, as decisions list the known clusters.
    pub fn known(&self) -> BTreeSet<String> {
        self.read().members.keys().cloned().collect()
    }

    pub fn reach(&self, name: &str) -> Reach {
        match self.read().members.get(name) {
            None => Reach::Unknown,
            Some(Member { client: Ok(c), .. }) => Reach::Client(c.clone()),
            Some(Member {
                client: Err(e),
                failing,
                ..
            }) => Reach::Broken {
                error: format!("no client can be built from its kubeconfig context: {e}"),
                since: failing.as_ref().map_or_else(Timestamp::now, |f| f.0),
            },
        }
    }

    /// The cluster answered.
    pub fn answered(&self, name: &str) {
        let recovered = {
            let mut state = self.write();
            let Some(m) = state.members.get_mut(name) else {
                return;
            };
            if m.client.is_err() {
                return;
            }
            m.failing.take()
        };
        self.metrics
            .member_reachable
            .get_or_create(&ClusterLabels {
                cluster: name.to_string(),
            })
            .set(1);
        if let Some((since, _)) = recovered {
            tracing::info!(cluster = %name, since = %since, "Kubernetes cluster answers again");
            let _ = self.wake.unbounded_send(Wake::Cluster(name.to_string()));
        }
    }

    /// The cluster did not answer: returns since when it has not.
    pub fn failed(&self, name: &str, error: &str) -> Timestamp {
        let now = Timestamp::now();
        let mut state = self.write();
        let Some(m) = state.members.get_mut(name) else {
            return now;
        };
        let since = match &mut m.failing {
            Some((since, last)) => {
                *last = error.to_string();
                *since
            }
            None => {
                tracing::warn!(cluster = %name, error = %error, "Kubernetes cluster does not answer");
                m.failing = Some((now, error.to_string()));
                now
            }
        };
        self.metrics
            .member_reachable
            .get_or_create(&ClusterLabels {
                cluster: name.to_string(),
            })
            .set(0);
        since
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// The context with its cluster and user, as the file has them: a change to any of them
/// (a new token, a new server) means a new client.
fn fingerprint(kubeconfig: &Kubeconfig, context: &str) -> u64 {
    let ctx = kubeconfig.contexts.iter().find(|c| c.name == context);
    let inner = ctx.and_then(|c| c.context.as_ref());
    let cluster = inner.and_then(|i| kubeconfig.clusters.iter().find(|c| c.name == i.cluster));
    let user = inner
        .and_then(|i| i.user.as_deref())
        .and_then(|u| kubeconfig.auth_infos.iter().find(|a| a.name == u));
    let text = serde_json::to_string(&(ctx, cluster, user)).unwrap_or_default();
    hash(text.as_bytes())
}

/// A kubeconfig error, without what the file said: a YAML error may quote the very line
/// that holds a token.
fn describe(e: &KubeconfigError) -> String {
    match e {
        KubeconfigError::Parse(_) => "the file is not a kubeconfig YAML document".to_string(),
        other => other.to_string(),
    }
}
