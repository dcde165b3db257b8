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
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};

use super::{
    Shared,
    containers::{self, PodContext, Problem},
    credentials,
    env::Objects,
    events::{self, Recorder},
    process::{self, Exit},
    status::{ContainerStatus, Phase, PodStatus, State, Terminated},
    volumes,
};

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
        let status = self.status.to_json();
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
        let io_err = |e: std::io::Error| volumes::MountError {
            volume: "(pod directory)".to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(&home).map_err(io_err)?;
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
            volumes,
            service_account: None,
            kubeconfig: None,
        };
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
                crate::sandbox::write_private(&path, &doc).map_err(|e| volumes::MountError {
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

    /// Schedules what follows init container `done` (or the start, for `None`): the next
    /// init container, or all main containers.
    fn arm_after_init(&mut self, done: Option<usize>) {
        let next = done.map_or(0, |i| i + 1);
        let now = Instant::now();
        if next < self.n_init {
            self.slots[next].retry_at = Some(now);
        } else {
            for s in &mut self.slots[self.n_init..] {
                s.retry_at = Some(now);
            }
        }
    }

    async fn start_due(&mut self) {
        let now = Instant::now();
        for i in 0..self.slots.len() {
            if self.slots[i].retry_at.is_some_and(|t| t <= now) && self.slots[i].pid.is_none() {
                self.slots[i].retry_at = None;
                self.start(i).await;
            }
        }
    }

    async fn start(&mut self, i: usize) {
        let container = self.container(i);
        let ctx = self.ctx.clone().expect("started after prepare");
        let log = self.log_path(&container.name, false);
        match containers::launch(&self.shared, &self.pod, &container, &ctx, log.clone()).await {
            Err(Problem::Config(msg)) => {
                self.cs(i).state = State::waiting("CreateContainerConfigError", Some(msg.clone()));
                self.warn_once(i, "Failed", format!("Error: {msg}")).await;
                self.slots[i].retry_at = Some(Instant::now() + RETRY);
            }
            Err(Problem::Image { reason, message }) => {
                self.cs(i).state = State::waiting(&reason, Some(message.clone()));
                self.warn_once(i, "Failed", format!("Error: {reason}: {message}"))
                    .await;
                self.slots[i].retry_at = Some(Instant::now() + IMAGE_RETRY);
            }
            Err(Problem::Start(msg)) => self.start_failed(i, msg).await,
            Ok(launch) => {
                let restarted = self.slots[i].attempt > 0;
                if restarted {
                    let _ = std::fs::rename(&log, self.log_path(&container.name, true));
                }
                self.slots[i].attempt += 1;
                let attempt = self.slots[i].attempt;
                let tx = self.exits_tx.clone();
                let spawned = process::spawn(&self.shared.processes, &launch, move |exit| {
                    let _ = tx.send((i, attempt, exit));
                });
                match spawned {
                    Err(e) => {
                        self.start_failed(i, format!("starting {}: {e}", launch.program))
                            .await
                    }
                    Ok(pid) => {
                        let now = Timestamp::now();
                        self.slots[i].pid = Some(pid);
                        self.slots[i].started = Some(now);
                        self.slots[i].last_event = None;
                        let cs = self.cs(i);
                        if restarted {
                            cs.restart_count += 1;
                        }
                        cs.state = State::Running { started: now, pid };
                        cs.container_id = Some(format!("process://{pid}"));
                        let image = container.image.clone().unwrap_or_default();
                        let name = &container.name;
                        self.event(
                            events::NORMAL,
                            "Pulled",
                            &format!("Container image \"{image}\" already present on machine"),
                        )
                        .await;
                        self.event(
                            events::NORMAL,
                            "Created",
                            &format!("Created container: {name}"),
                        )
                        .await;
                        self.event(
                            events::NORMAL,
                            "Started",
                            &format!("Started container {name}"),
                        )
                        .await;
                    }
                }
            }
        }
    }

    /// A Warning event for container `i`, unless it repeats the previous one.
    async fn warn_once(&mut self, i: usize, reason: &str, message: String) {
        if self.slots[i].last_event.as_ref() != Some(&message) {
            self.event(events::WARNING, reason, &message).await;
            self.slots[i].last_event = Some(message);
        }
    }

    async fn start_failed(&mut self, i: usize, message: String) {
        self.slots[i].attempt += 1;
        let now = Timestamp::now();
        let term = Terminated {
            exit_code: 128,
            signal: None,
            reason: "StartError".to_string(),
            message: Some(message.clone()),
            started: now,
            finished: now,
            container_id: None,
        };
        self.warn_once(i, "Failed", format!("Error: {message}"))
            .await;
        self.after_exit(i, term).await;
    }

    async fn on_exit(&mut self, i: usize, attempt: u64, exit: Exit) {
        if self.slots[i].attempt != attempt {
            return;
        }
        let started = self.slots[i].started.unwrap_or(exit.finished);
        let term = Terminated {
            exit_code: exit.code,
            signal: exit.signal,
            reason: if exit.code == 0 { "Completed" } else { "Error" }.to_string(),
            message: None,
            started,
            finished: exit.finished,
            container_id: self.cs(i).container_id.clone(),
        };
        self.after_exit(i, term).await;
    }

    async fn after_exit(&mut self, i: usize, term: Terminated) {
        let slot = &mut self.slots[i];
        slot.pid = None;
        let ran = slot
            .started
            .and_then(|s| Timestamp::now().duration_since(s).try_into().ok())
            .unwrap_or(Duration::ZERO);
        if ran >= BACKOFF_RESET {
            slot.crashes = 0;
        }
        let init = i < self.n_init;
        let ok = term.exit_code == 0;
        let policy = self.restart_policy();
        let restart = !self.stopping
            && match (init, policy.as_str()) {
                (true, "Never") => false,
                (true, _) => !ok,
                (false, "Always") => true,
                (false, "OnFailure") => !ok,
                _ => false,
            };
        if init && ok {
            self.cs(i).state = State::Terminated(term);
            self.arm_after_init(Some(i));
            return;
        }
        if !restart {
            self.cs(i).state = State::Terminated(term);
            return;
        }
        let slot = &mut self.slots[i];
        slot.crashes += 1;
        let delay = if slot.crashes <= 1 {
            Duration::ZERO
        } else {
            let factor = 2u32.saturating_pow(slot.crashes - 2);
            self.shared
                .config
                .crash_backoff_base
                .saturating_mul(factor)
                .min(MAX_CRASH_BACKOFF)
        };
        slot.retry_at = Some(Instant::now() + delay);
        let name = self.cs(i).name.clone();
        let cs = self.cs(i);
        cs.last = Some(term.clone());
        if delay.is_zero() {
            cs.state = State::Terminated(term);
            return;
        }
        let pod = format!(
            "{}_{}({})",
            self.pod.name_any(),
            self.ns(),
            self.pod.uid().unwrap_or_default()
        );
        self.cs(i).state = State::waiting(
            "CrashLoopBackOff",
            Some(format!(
                "back-off {} restarting failed container={name} pod={pod}",
                humantime(delay)
            )),
        );
        self.event(
            events::WARNING,
            "BackOff",
            &format!("Back-off restarting failed container {name} in pod {pod}"),
        )
        .await;
    }

    fn update_phase(&mut self) {
        let never = self.restart_policy() == "Never";
        let init_failed = self.status.init.iter().enumerate().any(|(i, c)| {
            never
                && self.slots[i].retry_at.is_none()
                && matches!(&c.state, State::Terminated(t) if t.exit_code != 0)
        });
        let main_slots = &self.slots[self.n_init..];
        self.status.phase = if init_failed {
            Phase::Failed
        } else if !self.status.initialized() {
            Phase::Pending
        } else {
            let done = self.status.main.iter().zip(main_slots).all(|(c, s)| {
                matches!(c.state, State::Terminated(_)) && s.retry_at.is_none() && s.pid.is_none()
            });
            let started = self.status.main.iter().any(|c| {
                c.running() || c.last.is_some() || matches!(c.state, State::Terminated(_))
            });
            if done {
                if self.status.main.iter().all(ContainerStatus::succeeded) {
                    Phase::Succeeded
                } else {
                    Phase::Failed
                }
            } else if started {
                Phase::Running
            } else {
                Phase::Pending
            }
        };
    }

    /// Stops every running container: SIGTERM to each group, SIGKILL when `grace` ends.
    async fn stop_all(&mut self, grace: Duration) {
        self.stopping = true;
        for slot in &mut self.slots {
            slot.retry_at = None;
        }
        let running: Vec<(usize, i32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.pid.map(|p| (i, p)))
            .collect();
        for (i, pid) in &running {
            process::signal_group(*pid, Signal::SIGTERM);
            let name = self.cs(*i).name.clone();
            self.event(
                events::NORMAL,
                "Killing",
                &format!("Stopping container {name}"),
            )
            .await;
        }
        let deadline = Instant::now() + grace.max(MIN_GRACE);
        let mut killed = false;
        while self.slots.iter().any(|s| s.pid.is_some()) {
            tokio::select! {
                Some((i, attempt, exit)) = self.exits_rx.recv() => self.on_exit(i, attempt, exit).await,
                _ = tokio::time::sleep_until(deadline), if !killed => {
                    killed = true;
                    for pid in self.slots.iter().filter_map(|s| s.pid) {
                        process::signal_group(pid, Signal::SIGKILL);
                    }
                }
            }
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

/// A duration the way Go prints it in back-off messages (`10s`, `2m40s`, `500ms`).
fn humantime(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    if secs < 60 {
        return format!("{secs}s");
    }
    format!("{}m{}s", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(humantime(Duration::from_secs(10)), "10s");
        assert_eq!(humantime(Duration::from_secs(160)), "2m40s");
        assert_eq!(humantime(Duration::from_millis(200)), "200ms");
    }
}
