//! What wakes a VolumeBackup besides its own changes: its members changing in their
//! clusters, a member cluster answering again, and the kubeconfig changing.
//!
//! TiDB's manager polls members every 30 s, so each step of the protocol waits for the
//! next poll, and while GC and PD scheduling are paused every such wait lengthens the
//! pause. Here every member cluster's Backups are watched (metadata only: a change of
//! status changes the resourceVersion, and nothing of a Backup is needed to know whose
//! member it is), and each change wakes the VolumeBackup that owns it. Ownership is read
//! from the VolumeBackups' specs in the controller's cache: member `fed-<vbk>` in namespace
//! `tcNamespace` of cluster `k8sClusterName` belongs to VolumeBackup `<vbk>`, whatever its
//! own namespace.
//!
//! A watch is started per context when the registry loads it, restarted when its context
//! changes, and stopped when the context goes away.

use std::{collections::BTreeMap, sync::Arc};

use futures::{StreamExt, channel::mpsc::UnboundedSender};
use kube::{
    Api, Client, ResourceExt,
    core::{DeserializeGuard, PartialObjectMeta},
    runtime::{
        WatchStreamExt,
        reflector::{ObjectRef, Store},
        watcher::{self, Event},
    },
};
use tibr_api::{Backup, VolumeBackup};
use tibr_core::federation::{MemberCluster, member_name};
use tokio::task::JoinHandle;

use crate::registry::{Changes, Registry};

/// The VolumeBackups as the controller watches them: one that cannot be read is reported
/// on its own instead of stopping the watch of all the others.
pub(crate) type Guarded = DeserializeGuard<VolumeBackup>;

/// Why VolumeBackups should be reconciled now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Backup `namespace/name` changed in `cluster`.
    Member {
        cluster: String,
        namespace: String,
        name: String,
    },
    /// `cluster` answers again: every VolumeBackup with a member there.
    Cluster(String),
    /// The kubeconfig's contexts changed: every VolumeBackup.
    All,
}

/// The VolumeBackups `wake` concerns, as the controller's cache has them.
pub(crate) fn owners(store: &Store<Guarded>, wake: &Wake) -> Vec<ObjectRef<Guarded>> {
    store
        .state()
        .iter()
        .filter(|g| match (&g.0, wake) {
            (_, Wake::All) => true,
            (Err(_), _) => false,
            (Ok(vbk), Wake::Cluster(cluster)) => {
                clusters(vbk).any(|c| &c.k8s_cluster_name == cluster)
            }
            (
                Ok(vbk),
                Wake::Member {
                    cluster,
                    namespace,
                    name,
                },
            ) => {
                member_name(&vbk.name_any()) == *name
                    && clusters(vbk)
                        .any(|c| &c.k8s_cluster_name == cluster && &c.tc_namespace == namespace)
            }
        })
        .map(|g| ObjectRef::from_obj(g.as_ref()))
        .collect()
}

fn clusters(vbk: &VolumeBackup) -> impl Iterator<Item = MemberCluster> + '_ {
    vbk.spec.clusters.iter().map(MemberCluster::from_spec)
}

/// One watch per member cluster.
pub(crate) struct Watches {
    registry: Arc<Registry>,
    wake: UnboundedSender<Wake>,
    tasks: BTreeMap<String, JoinHandle<()>>,
}

impl Watches {
    pub fn new(registry: Arc<Registry>, wake: UnboundedSender<Wake>) -> Self {
        Watches {
            registry,
            wake,
            tasks: BTreeMap::new(),
        }
    }

    /// Follows a reload of the registry.
    pub fn apply(&mut self, changes: Changes) {
        for name in changes.stopped {
            if let Some(task) = self.tasks.remove(&name) {
                task.abort();
            }
        }
        for (name, client) in changes.started {
            let task = tokio::spawn(watch_members(
                name.clone(),
                client,
                self.registry.clone(),
                self.wake.clone(),
            ));
            if let Some(old) = self.tasks.insert(name, task) {
                old.abort();
            }
        }
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.abort();
        }
    }
}

/// Watches the Backups of one member cluster until aborted. The watch retries on its own
/// (with back-off); its failures count as the cluster not answering, except a refusal,
/// which is logged once: the decisions still read members with GET, only later.
async fn watch_members(
    cluster: String,
    client: Client,
    registry: Arc<Registry>,
    wake: UnboundedSender<Wake>,
) {
    let api: Api<PartialObjectMeta<Backup>> = Api::all(client);
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut refused: Option<String> = None;
    while let Some(event) = events.next().await {
        let backup = match event {
            Ok(Event::Apply(b) | Event::InitApply(b) | Event::Delete(b)) => Some(b),
            Ok(Event::InitDone) => None,
            // Emitted before the list is even asked for: says nothing about the cluster.
            Ok(Event::Init) => continue,
            Err(e) => {
                match refusal(&e) {
                    Some(why) => {
                        if refused.as_deref() != Some(why.as_str()) {
                            tracing::warn!(cluster = %cluster, error = %why, "cannot watch the member Backups of this Kubernetes cluster; their changes are only seen at the next poll");
                            refused = Some(why);
                        }
                    }
                    None => {
                        registry.failed(&cluster, &e.to_string());
                    }
                }
                continue;
            }
        };
        refused = None;
        registry.answered(&cluster);
        if let Some(b) = backup
            && b.name_any().starts_with(&member_name(""))
        {
            let _ = wake.unbounded_send(Wake::Member {
                cluster: cluster.clone(),
                namespace: b.namespace().unwrap_or_default(),
                name: b.name_any(),
            });
        }
    }
}

/// The API server answered, but said no (not 5xx): the cluster is there.
fn refusal(e: &watcher::Error) -> Option<String> {
    let status = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => s.as_ref(),
        watcher::Error::WatchError(s) => s.as_ref(),
        _ => return None,
    };
    (status.code < 500).then(|| format!("{} ({})", status.message, status.code))
}
