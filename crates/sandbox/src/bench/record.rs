//! The bench's own watches, from outside the manager: member Backups `fed-*` in every data
//! plane, each event timestamped when it arrives and classified against the previous
//! version of its object.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        WatchStreamExt,
        watcher::{self, Event},
    },
};
use tibr_api::Backup;
use tokio::{sync::oneshot, task::JoinHandle};

use super::analyse::{Micros, Seen, classify};

pub(crate) fn now() -> Micros {
    jiff::Timestamp::now().as_microsecond()
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Every change seen since [`Recorder::start`]; the watches stop when it is dropped.
pub(crate) struct Recorder {
    seen: Log,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Recorder {
    /// Watches `namespace` in each `(name, client)` data plane, and returns once every
    /// watch has listed what exists (so nothing after this is missed).
    pub async fn start(planes: Vec<(String, Client)>, namespace: &str) -> anyhow::Result<Recorder> {
        let seen: Log = Arc::default();
        let mut tasks = Vec::new();
        let mut ready = Vec::new();
        for (cluster, client) in planes {
            let (tx, rx) = oneshot::channel();
            ready.push((cluster.clone(), rx));
            tasks.push(tokio::spawn(watch_members(
                cluster,
                Api::namespaced(client, namespace),
                seen.clone(),
                tx,
            )));
        }
        let recorder = Recorder { seen, tasks };
        for (cluster, rx) in ready {
            tokio::time::timeout(Duration::from_secs(30), rx)
                .await
                .map_err(|_| anyhow::anyhow!("the bench's watch of {cluster} did not start"))?
                .map_err(|_| anyhow::anyhow!("the bench's watch of {cluster} ended"))?;
        }
        Ok(recorder)
    }

    /// Adds what the bench did itself.
    pub fn note(&self, seen: Seen) {
        push(&self.seen, seen);
    }

    /// What was seen of VolumeBackup `vbk` and its members, in arrival order.
    pub fn of(&self, vbk: &str) -> Vec<Seen> {
        let member = tibr_core::federation::member_name(vbk);
        let mut out: Vec<Seen> = self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|s| s.name == member || s.name == vbk)
            .cloned()
            .collect();
        // Several watches append; their clocks are one, their order in the log need not be.
        out.sort_by_key(|s| s.at);
        out
    }
}

fn push(log: &Log, seen: Seen) {
    log.lock().unwrap_or_else(|p| p.into_inner()).push(seen);
}

async fn watch_members(cluster: String, api: Api<Backup>, log: Log, ready: oneshot::Sender<()>) {
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    // The last version of each member, by uid, to tell what a new one changed.
    let mut last: HashMap<String, Backup> = HashMap::new();
    let mut ready = Some(ready);
    while let Some(event) = events.next().await {
        // Before anything else, so classifying costs nothing to the figures.
        let at = now();
        let backup = match event {
            Ok(Event::Apply(b)) => b,
            // The first list is what existed before; a later one (the watch restarted) may
            // carry changes, seen late but seen.
            Ok(Event::InitApply(b)) if ready.is_none() => b,
            Ok(Event::InitApply(b)) => {
                last.insert(b.uid().unwrap_or_default(), b);
                continue;
            }
            Ok(Event::InitDone) => {
                if let Some(tx) = ready.take() {
                    let _ = tx.send(());
                }
                continue;
            }
            Ok(Event::Delete(b)) => {
                last.remove(&b.uid().unwrap_or_default());
                continue;
            }
            Ok(Event::Init) => continue,
            Err(e) => {
                tracing::warn!(cluster = %cluster, "the bench's watch of member Backups: {e}");
                continue;
            }
        };
        if !backup.name_any().starts_with("fed-") {
            continue;
        }
        let uid = backup.uid().unwrap_or_default();
        for change in classify(last.get(&uid), &backup) {
            push(
                &log,
                Seen {
                    at,
                    cluster: cluster.clone(),
                    name: backup.name_any(),
                    change,
                },
            );
        }
        last.insert(uid, backup);
    }
}
