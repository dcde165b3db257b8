//! The job runner: a Job controller and a kubelet for one emulated cluster, running pod
//! containers as local processes.
//!
//! It talks to its cluster only through kube-rs, as any controller would, so the
//! emulator is exercised the way real clients use it.
//!
//! - `jobs`: the `batch/v1` Job controller (one pod at a time).
//! - `kubelet`: "schedules" pods onto this runner's node and runs them.
//! - `pod` and `containers`: one pod's lifecycle and how a container becomes a process.
//! - `process`: process groups, signals, exit statuses, log files.
//! - `env`, `volumes`, `credentials`, `mounts`, `image`: what a container sees.
//! - `status` and `events`: what the runner reports.
//!
//! How this differs from a real cluster is noted in each module's header.

mod containers;
mod credentials;
mod env;
mod events;
mod image;
mod jobs;
mod kubelet;
mod mounts;
mod pod;
mod process;
mod status;
mod volumes;

use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio::task::JoinHandle;

/// How containers of one image become host processes.
#[derive(Debug, Clone)]
pub struct ImageRule {
    /// An image repository (any tag or digest matches), or a prefix ending in `*`.
    pub image: String,
    /// The executable run when a container of this image has no `command`.
    pub entrypoint: Option<PathBuf>,
    /// Host files or directories that appear at a path inside the container
    /// (`(container path, host path)`); only where mount namespaces work.
    pub files: Vec<(String, PathBuf)>,
}

impl ImageRule {
    pub fn new(image: &str, entrypoint: Option<PathBuf>) -> Self {
        ImageRule {
            image: image.to_string(),
            entrypoint,
            files: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The node every pod is scheduled to.
    pub node_name: String,
    /// Per-pod directories: `<work_dir>/<namespace>/<pod>/`, and claims under
    /// `<work_dir>/persistentvolumeclaims/`.
    pub work_dir: PathBuf,
    /// Must be the cluster's `ClusterOptions::pod_log_dir`, which the API server serves
    /// `pods/log` from: `<log_dir>/<namespace>/<pod>/<container>.log`.
    pub log_dir: PathBuf,
    /// Where pods reach the API server (`KUBERNETES_SERVICE_HOST`/`_PORT`).
    pub api_host: String,
    pub api_port: u16,
    /// The cluster CA, given to pods as `ca.crt`.
    pub ca_pem: String,
    pub images: Vec<ImageRule>,
    /// First delay before a Job replaces a failed pod (10 s in Kubernetes); it doubles
    /// with each failure, up to 6 minutes.
    pub job_backoff_base: Duration,
    /// First delay before a Job tries again to create a pod the API server refused (1 s in
    /// Kubernetes); it doubles with each refusal, up to a minute.
    pub job_api_backoff_base: Duration,
    /// First delay before a crashed container is restarted a second time (10 s in
    /// Kubernetes); it doubles with each crash, up to 5 minutes.
    pub crash_backoff_base: Duration,
    /// Run containers in private mount namespaces when this machine allows it; false
    /// forces the fallback (per-pod directories and a per-pod kubeconfig).
    pub mount_namespaces: bool,
    /// The cloud the node runs in: variables every container process gets (where the
    /// AWS endpoints are, the CA bundle) and the instance-metadata service pods are
    /// registered with. They stand for the network (DNS, the metadata address) and
    /// never appear in the pod spec; the pod's own `env` overrides them.
    pub cloud: Option<crate::cloud::CloudEnv>,
}

impl RunnerConfig {
    /// A configuration for `cluster`, with Kubernetes' back-off timings.
    pub fn for_cluster(cluster: &kube_emulator::RunningCluster, work_dir: PathBuf) -> Self {
        RunnerConfig {
            node_name: format!("{}-node", cluster.name()),
            work_dir,
            log_dir: cluster.cluster.options.pod_log_dir.clone(),
            api_host: cluster.addr.ip().to_string(),
            api_port: cluster.addr.port(),
            ca_pem: cluster.ca_pem.clone(),
            images: Vec::new(),
            job_backoff_base: Duration::from_secs(10),
            job_api_backoff_base: Duration::from_secs(1),
            crash_backoff_base: Duration::from_secs(10),
            mount_namespaces: true,
            cloud: None,
        }
    }
}

/// What the controller, the kubelet and the pod workers share.
pub(crate) struct Shared {
    pub client: kube::Client,
    pub config: RunnerConfig,
    /// Whether containers run in private mount namespaces (probed at start).
    pub isolated: bool,
    pub processes: process::Table,
}

pub struct Runner;

impl Runner {
    /// Starts the Job controller and the kubelet; they run until [`RunnerHandle::stop`].
    pub fn start(client: kube::Client, config: RunnerConfig) -> RunnerHandle {
        let isolated = config.mount_namespaces && mounts::probe(&config.work_dir);
        if !isolated {
            tracing::info!(
                "containers run without mount namespaces: volumes stay in per-pod directories"
            );
        }
        let shared = Arc::new(Shared {
            client,
            config,
            isolated,
            processes: process::Table::default(),
        });
        let tasks = vec![
            tokio::spawn(jobs::run(shared.clone())),
            tokio::spawn(kubelet::run(shared.clone())),
        ];
        RunnerHandle { shared, tasks }
    }
}

pub struct RunnerHandle {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for RunnerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerHandle")
            .field("node", &self.shared.config.node_name)
            .field("isolated", &self.shared.isolated)
            .finish()
    }
}

impl RunnerHandle {
    /// Whether containers get private mount namespaces with volumes at their mount paths.
    pub fn mount_namespaces(&self) -> bool {
        self.shared.isolated
    }

    /// Stops the controllers and kills every process the runner started, waiting until
    /// they are gone. Pods keep the status they had.
    pub async fn stop(self) {
        // Workers go first so none restarts a container while the processes are killed.
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        self.shared.processes.kill_all().await;
    }
}
