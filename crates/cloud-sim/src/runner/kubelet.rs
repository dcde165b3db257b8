//! The node: watches every pod, "schedules" the unscheduled ones onto this runner's node
//! and hands each pod on the node to a [`Worker`] that runs it.
//!
//! Differences: there is no scheduler and no Node object. A pod with an empty
//! `spec.nodeName` is assigned by patching `spec.nodeName` (the real scheduler uses the
//! `pods/binding` subresource), with a `Scheduled` event from `default-scheduler`; node
//! selectors, affinities, taints and resources are not considered. A pod that was
//! running when the runner restarted is started again from the beginning.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{WatchStreamExt, watcher},
};
use serde_json::json;
use tokio::{sync::watch, task::JoinSet};

use super::{
    Shared,
    events::{self, Recorder},
    pod::Worker,
};

fn terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

struct Kubelet {
    shared: Arc<Shared>,
    scheduler: Recorder,
    workers: HashMap<String, watch::Sender<Option<Arc<Pod>>>>,
    tasks: JoinSet<String>,
    /// Pods whose worker has finished: a late event must not start them again.
    finished: HashSet<String>,
    scheduling: HashSet<String>,
}

impl Kubelet {
    async fn on_pod(&mut self, pod: Pod) {
        let Some(uid) = pod.uid() else { return };
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        if node.is_empty() {
            if pod.metadata.deletion_timestamp.is_none()
                && !terminal(&pod)
                && self.scheduling.insert(uid)
            {
                self.schedule(&pod).await;
            }
            return;
        }
        if node != self.shared.config.node_name {
            return;
        }
        self.scheduling.remove(&uid);
        let pod = Arc::new(pod);
        if let Some(tx) = self.workers.get(&uid) {
            let _ = tx.send(Some(pod));
            return;
        }
        if self.finished.contains(&uid) || terminal(&pod) {
            return;
        }
        let (tx, rx) = watch::channel(Some(pod.clone()));
        self.workers.insert(uid, tx);
        let worker = Worker::new(self.shared.clone(), pod, rx);
        self.tasks.spawn(worker.run());
    }

    async fn schedule(&self, pod: &Pod) {
        let node = &self.shared.config.node_name;
        let ns = pod.namespace().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), &ns);
        let patch = json!({"spec": {"nodeName": node}});
        match api
            .patch(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {
                let msg = format!("Successfully assigned {ns}/{} to {node}", pod.name_any());
                self.scheduler
                    .record(pod, events::NORMAL, "Scheduled", &msg)
                    .await;
            }
            Err(e) => tracing::debug!(pod = %pod.name_any(), "scheduling: {e}"),
        }
    }

    fn gone(&mut self, uid: &str) {
        self.scheduling.remove(uid);
        if let Some(tx) = self.workers.get(uid) {
            let _ = tx.send(None);
        }
    }
}

/// Runs until aborted; aborting drops every worker (the runner kills their processes).
pub async fn run(shared: Arc<Shared>) {
    let api: Api<Pod> = Api::all(shared.client.clone());
    let mut kubelet = Kubelet {
        scheduler: Recorder::new(shared.client.clone(), "default-scheduler", None),
        shared,
        workers: HashMap::new(),
        tasks: JoinSet::new(),
        finished: HashSet::new(),
        scheduling: HashSet::new(),
    };
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut listed: Option<HashSet<String>> = None;
    loop {
        tokio::select! {
            Some(done) = kubelet.tasks.join_next() => {
                if let Ok(uid) = done {
                    kubelet.workers.remove(&uid);
                    kubelet.finished.insert(uid);
                }
            }
            event = stream.next() => match event {
                Some(Ok(watcher::Event::Apply(pod))) => kubelet.on_pod(pod).await,
                Some(Ok(watcher::Event::InitApply(pod))) => {
                    if let (Some(seen), Some(uid)) = (listed.as_mut(), pod.uid()) {
                        seen.insert(uid);
                    }
                    kubelet.on_pod(pod).await;
                }
                Some(Ok(watcher::Event::Delete(pod))) => {
                    if let Some(uid) = pod.uid() {
                        kubelet.gone(&uid);
                    }
                }
                Some(Ok(watcher::Event::Init)) => listed = Some(HashSet::new()),
                Some(Ok(watcher::Event::InitDone)) => {
                    // After a relist, pods that were not listed were deleted meanwhile.
                    if let Some(seen) = listed.take() {
                        let missing: Vec<String> =
                            kubelet.workers.keys().filter(|u| !seen.contains(*u)).cloned().collect();
                        for uid in missing {
                            kubelet.gone(&uid);
                        }
                    }
                }
                Some(Err(e)) => tracing::debug!("watching pods: {e}"),
                None => return,
            }
        }
    }
}
