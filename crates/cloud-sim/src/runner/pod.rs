//! One pod on the node, from scheduling to removal: set up its sandbox (directories,
//! volumes, credentials), run the init containers one after another and then the main
//! containers together, restart them as `restartPolicy` says, report status, and when
//! the pod is deleted stop its processes and remove it (grace period 0, as the kubelet).
//!
//! Differences from the kubelet: a volume that cannot be set up is retried every 2 s
//! (the kubelet backs off up to 2 min); a container whose configuration does not resolve
//! is retried every 2 s; restarting init containers (sidecars), probes, lifecycle hooks,
//! `activeDeadlineSeconds` on pods and termination messages are not supported; the
//! crash-loop back-off restarts the first crash at once and doubles from
//! `crash_backoff_base` after that.

use std::{sync::Arc, time::Duration};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, Preconditions},
};
use serde_json::{Value, json};
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};

use super::{
    Shared,
    containers::PodContext,
    credentials,
    env::Objects,
    events::{self, Recorder},
    process::Exit,
    status::{ContainerStatus, Phase, PodStatus},
    volumes,
};

mod lifecycle;

const RETRY: Duration = Duration::from_secs(2);
const IMAGE_RETRY: Duration = Duration::from_secs(10);
const MAX_CRASH_BACKOFF: Duration = Duration::from_secs(300);
/// A container that ran this long without crashing starts its back-off afresh.
const BACKOFF_RESET: Duration = Duration::from_secs(600);
/// The kubelet never gives a container less than this to stop.
const MIN_GRACE: Duration = Duration::from_secs(2);

/// One container's supervision state.
#[derive(Default)]
struct Slot {
    /// Increments with each process, so late exit reports of old ones are ignored.
    attempt: u64,
    retry_at: Option<Instant>,
    crashes: u32,
    pid: Option<i32>,
    started: Option<Timestamp>,
    last_event: Option<String>,
}

enum Deletion {
    Gone,
    Graceful(Duration),
}

pub(super) struct Worker {
    shared: Arc<Shared>,
    api: Api<Pod>,
    recorder: Recorder,
    rx: watch::Receiver<Option<Arc<Pod>>>,
    pod: Arc<Pod>,
    status: PodStatus,
    published: Option<Value>,
    slots: Vec<Slot>,
    n_init: usize,
    exits_tx: mpsc::UnboundedSender<(usize, u64, Exit)>,
    exits_rx: mpsc::UnboundedReceiver<(usize, u64, Exit)>,
    ctx: Option<PodContext>,
    stopping: bool,
    /// The pod's entry in the cloud's instance-metadata service, removed on drop.
    metadata: Option<crate::cloud::PodRegistration>,
}

impl Worker {
    pub fn new(shared: Arc<Shared>, pod: Arc<Pod>, rx: watch::Receiver<Option<Arc<Pod>>>) -> Self {
        let spec = pod.spec.clone().unwrap_or_default();
        let init: Vec<ContainerStatus> = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| {
                ContainerStatus::new(
                    &c.name,
                    c.image.as_deref().unwrap_or_default(),
                    "PodInitializing",
                )
            })
            .collect();
        let waiting = if init.is_empty() {
            "ContainerCreating"
        } else {
            "PodInitializing"
        };
        let main: Vec<ContainerStatus> = spec
            .containers
            .iter()
            .map(|c| ContainerStatus::new(&c.name, c.image.as_deref().unwrap_or_default(), waiting))
            .collect();
        let n_init = init.len();
        let slots = (0..n_init + main.len()).map(|_| Slot::default()).collect();
        let (exits_tx, exits_rx) = mpsc::unbounded_channel();
        let ns = pod.namespace().unwrap_or_default();
        Worker {
            api: Api::namespaced(shared.client.clone(), &ns),
            recorder: Recorder::new(
                shared.client.clone(),
                "kubelet",
                Some(shared.config.node_name.clone()),
            ),
            shared,
            rx,
            pod,
            status: PodStatus::new(init, main),
            published: None,
            slots,
            n_init,
            exits_tx,
            exits_rx,
            ctx: None,
            stopping: false,
            metadata: None,
        }
    }

    fn ns(&self) -> String {
        self.pod.namespace().unwrap_or_default()
    }

    fn container(&self, i: usize) -> Container {
        let spec = self.pod.spec.as_ref().expect("pods have a spec");
        if i < self.n_init {
            spec.init_containers.as_ref().expect("init containers")[i].clone()
        } else {
            spec.containers[i - self.n_init].clone()
        }
    }

    fn cs(&mut self, i: usize) -> &mut ContainerStatus {
        if i < self.n_init {
            &mut self.status.init[i]
        } else {
            &mut self.status.main[i - self.n_init]
        }
    }

    fn restart_policy(&self) -> String {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".to_string())
    }

    fn pod_dir(&self) -> std::path::PathBuf {
        self.shared
            .config
            .work_dir
            .join(self.ns())
            .join(self.pod.name_any())
    }

    fn log_path(&self, container: &str, previous: bool) -> std::path::PathBuf {
        let file = if previous {
            format!("{container}.previous.log")
        } else {
            format!("{container}.log")
        };
        self.shared
            .config
            .log_dir
            .join(self.ns())
            .join(self.pod.name_any())
            .join(file)
    }

    /// Takes the newest pod from the kubelet and says whether it is being deleted.
    fn deletion(&mut self) -> Option<Deletion> {
        let latest = self.rx.borrow_and_update().clone();
        match latest {
            None => Some(Deletion::Gone),
            Some(pod) => {
                self.pod = pod;
                self.pod.metadata.deletion_timestamp.as_ref()?;
                let secs = self
                    .pod
                    .metadata
                    .deletion_grace_period_seconds
                    .unwrap_or(30);
                Some(Deletion::Graceful(Duration::from_secs(secs.max(0) as u64)))
            }
        }
    }

    async fn event(&self, kind: &str, reason: &str, message: &str) {
        self.recorder
            .record(&*self.pod, kind, reason, message)
            .await;
    }

    /// Writes the status when it changed.
    async fn publish(&mut self) {
        let status = self.status.render();
        if self.published.as_ref() == Some(&status) {
            return;
        }
        let patch = json!({"status": status});
        match self
            .api
            .patch_status(
                &self.pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => self.published = Some(status),
            Err(e) => tracing::debug!(pod = %self.pod.name_any(), "writing pod status: {e}"),
        }
    }

    pub async fn run(mut self) -> String {
        let uid = self.pod.uid().unwrap_or_default();
        // A pod reusing an earlier pod's name must not see its files or logs.
        let _ = std::fs::remove_dir_all(self.pod_dir());
        if let Some(dir) = self.log_path("x", false).parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
        self.publish().await;
        let deletion = match self.prepare().await {
            Err(d) => d,
            Ok(()) => self.supervise().await,
        };
        let deletion = match deletion {
            Some(d) => d,
            None => return uid,
        };
        self.finish(deletion).await;
        uid
    }

    /// Sets up the sandbox, retrying until it works or the pod is deleted.
    async fn prepare(&mut self) -> Result<(), Option<Deletion>> {
        let mut last_error = None;
        loop {
            if let Some(d) = self.deletion() {
                return Err(Some(d));
            }
            match self.try_prepare().await {
                Ok(ctx) => {
                    self.ctx = Some(ctx);
                    self.status.sandbox_ready = true;
                    return Ok(());
                }
                Err(e) => {
                    let msg = e.event_message();
                    if last_error.as_ref() != Some(&msg) {
                        self.event(events::WARNING, "FailedMount", &msg).await;
                        last_error = Some(msg);
                    }
                }
            }
            tokio::select! {
                changed = self.rx.changed() => if changed.is_err() { return Err(None) },
                _ = tokio::time::sleep(RETRY) => {}
            }
        }
    }

    async fn try_prepare(&mut self) -> Result<PodContext, volumes::MountError> {
        let root = self.pod_dir();
        let home = root.join("home");
        let tmp = root.join("tmp");
        let io_err = |e: std::io::Error| volumes::MountError {
            volume: "(pod directory)".to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(&home).map_err(io_err)?;
        std::fs::create_dir_all(&tmp).map_err(io_err)?;
        let mut objects = Objects::new(self.shared.client.clone(), &self.ns());
        let volumes =
            volumes::prepare(&self.shared, &self.pod, &mut objects, &root.join("volumes")).await?;
        let spec = self.pod.spec.clone().unwrap_or_default();
        let own_mount = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .flat_map(|c| c.volume_mounts.iter().flatten())
            .any(|m| m.mount_path.trim_end_matches('/') == credentials::SERVICE_ACCOUNT_DIR);
        let mut ctx = PodContext {
            home,
            tmp,
            volumes,
            service_account: None,
            kubeconfig: None,
            cloud_env: Default::default(),
        };
        if let Some(metadata) = self
            .shared
            .config
            .cloud
            .as_ref()
            .and_then(|c| c.metadata.as_ref())
        {
            // kube2iam reads the role from the pod's annotation; pods tell apart by path.
            let pod = format!("{}/{}", self.ns(), self.pod.name_any());
            let role = self.pod.annotations().get(crate::cloud::ROLE_ANNOTATION);
            let registration = metadata.register(&pod, role.map(String::as_str));
            for var in crate::cloud::METADATA_ENDPOINT_VARS {
                ctx.cloud_env.set(var, registration.endpoint.clone());
            }
            self.metadata = Some(registration);
        }
        if !own_mount && credentials::automount(&self.shared.client, &self.pod).await {
            let dir = root.join("serviceaccount");
            credentials::write_service_account_dir(
                &self.shared.client,
                &self.pod,
                &dir,
                &self.shared.config.ca_pem,
            )
            .await
            .map_err(|message| volumes::MountError {
                volume: "kube-api-access".to_string(),
                message,
            })?;
            if !self.shared.isolated {
                let cfg = &self.shared.config;
                let path = root.join("kubeconfig");
                let doc = credentials::kubeconfig(&dir, &cfg.api_host, cfg.api_port, &self.ns());
                crate::write_private(&path, &doc).map_err(|e| volumes::MountError {
                    volume: "kube-api-access".to_string(),
                    message: e.to_string(),
                })?;
                ctx.kubeconfig = Some(path);
            }
            ctx.service_account = Some(dir);
        }
        Ok(ctx)
    }

    /// Runs the containers until the pod finishes or is deleted. `None` means the kubelet
    /// is shutting down.
    async fn supervise(&mut self) -> Option<Deletion> {
        self.arm_after_init(None);
        loop {
            if let Some(d) = self.deletion() {
                return Some(d);
            }
            self.start_due().await;
            self.update_phase();
            self.publish().await;
            if self.status.phase.terminal() {
                return self.wait_for_deletion().await;
            }
            let wake = self.slots.iter().filter_map(|s| s.retry_at).min();
            tokio::select! {
                Some((i, attempt, exit)) = self.exits_rx.recv() => self.on_exit(i, attempt, exit).await,
                changed = self.rx.changed() => if changed.is_err() { return None },
                _ = sleep_until(wake) => {}
            }
        }
    }

    async fn wait_for_deletion(&mut self) -> Option<Deletion> {
        loop {
            if let Some(d) = self.deletion() {
                return Some(d);
            }
            self.rx.changed().await.ok()?;
        }
    }

    /// The pod is being deleted or is gone: stop, report, remove, clean up.
    async fn finish(&mut self, deletion: Deletion) {
        match deletion {
            Deletion::Gone => self.stop_all(Duration::ZERO).await,
            Deletion::Graceful(grace) => {
                self.stop_all(grace).await;
                if !self.status.phase.terminal() {
                    let all_ok = self.status.main.iter().all(ContainerStatus::succeeded);
                    self.status.phase = if all_ok {
                        Phase::Succeeded
                    } else {
                        Phase::Failed
                    };
                }
                self.publish().await;
                let params = DeleteParams {
                    grace_period_seconds: Some(0),
                    preconditions: Some(Preconditions {
                        uid: self.pod.uid(),
                        resource_version: None,
                    }),
                    ..DeleteParams::default()
                };
                if let Err(e) = self.api.delete(&self.pod.name_any(), &params).await {
                    tracing::debug!(pod = %self.pod.name_any(), "removing a deleted pod: {e}");
                }
            }
        }
        let _ = std::fs::remove_dir_all(self.pod_dir());
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
