//! One emulated cluster with everything a Backup needs except the operator: our CRDs,
//! namespace `test1` with `TidbCluster demo1` and the backup ServiceAccount, Job pods run
//! as local processes, the sandbox S3 with bucket `my-bucket`, and a simulated TiDB. The
//! operator's tests start the operator in it; the agent's tests create the Jobs the
//! operator would.

use std::{path::PathBuf, time::Duration};

use kube::Client;
use kube_emulator::{ClusterOptions, RunningCluster, Tls, pod_identity::PodIdentityWebhook};
use tibr_cloud_sim::{
    cloud::Cloud,
    runner::{ImageRule, Runner, RunnerConfig, RunnerHandle},
    s3::{DEFAULT_BUCKET, REGION, S3Server},
    world::PodWorld,
};
use tibr_tidb_sim::{TidbConfig, TidbServer, tidb_cluster};

use crate::{NS, Ns, S3Access};

/// The field manager of what the test kit installs.
const MANAGER: &str = "tibr-testkit";

#[derive(Debug, Clone)]
pub struct WorldOptions {
    /// The cluster's name (pod files are under `pods/<name>/`).
    pub cluster: String,
    /// Images the job runner maps to host executables.
    pub images: Vec<ImageRule>,
    /// Pods reach "the cloud" (instance metadata, STS, the pod identity webhook) and S3
    /// over HTTPS, as in the sandbox; otherwise S3 is plain HTTP and pods get nothing.
    pub cloud: bool,
    /// The Job controller's back-off after a failed pod (10 s in Kubernetes).
    pub job_backoff: Option<Duration>,
}

impl Default for WorldOptions {
    fn default() -> Self {
        WorldOptions {
            cluster: "test".to_string(),
            images: Vec::new(),
            cloud: false,
            job_backoff: None,
        }
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub cluster: RunningCluster,
    pub client: Client,
    pub s3: S3Server,
    /// When started with [`WorldOptions::cloud`].
    pub cloud: Option<Cloud>,
    pub tidb: TidbServer,
    runner: Option<RunnerHandle>,
    mount_namespaces: bool,
}

impl World {
    pub async fn start(options: WorldOptions) -> World {
        let dir = tempfile::tempdir().unwrap();
        let tls = Tls::generate().unwrap();
        let pods = dir.path().join("pods").join(&options.cluster);
        let mut cluster_options = ClusterOptions::new(&options.cluster, pods.join("logs"));
        if options.cloud {
            cluster_options.pod_identity_webhook = Some(PodIdentityWebhook::eks(REGION));
        }
        let cluster = RunningCluster::start(cluster_options, &tls, 0)
            .await
            .unwrap();
        let client = cluster.client().await.unwrap();
        cluster
            .install_manifests(MANAGER, &crate::crds_dir())
            .expect("deploy/crds of the workspace");
        assert!(tidb_cluster::create(&cluster, MANAGER, tibr_tidb_sim::TIDB_VERSION).unwrap());
        let (s3, cloud, runner) = if options.cloud {
            let mut pods = PodWorld::start(
                dir.path(),
                &tls,
                std::slice::from_ref(&cluster),
                &options.images,
                &[DEFAULT_BUCKET.to_string()],
            )
            .await
            .unwrap();
            let runner = pods.runners.pop();
            (pods.s3, Some(pods.cloud), runner)
        } else {
            let s3 = S3Server::start(dir.path().join("s3"), 0).await.unwrap();
            s3.ensure_bucket(DEFAULT_BUCKET).unwrap();
            let mut config = RunnerConfig::for_cluster(&cluster, pods.join("work"));
            config.images = options.images.clone();
            if let Some(backoff) = options.job_backoff {
                config.job_backoff_base = backoff;
            }
            (s3, None, Some(Runner::start(client.clone(), config)))
        };
        let mount_namespaces = runner.as_ref().is_some_and(RunnerHandle::mount_namespaces);
        let tidb = TidbServer::start(TidbConfig::generated()).await.unwrap();
        let world = World {
            dir,
            cluster,
            client,
            s3,
            cloud,
            tidb,
            runner,
            mount_namespaces,
        };
        world.ns(NS).service_account().await;
        world
    }

    /// Namespace `name` of the cluster.
    pub fn ns(&self, name: &str) -> Ns {
        Ns::new(
            self.client.clone(),
            name,
            self.pods_dir(),
            S3Access::of(&self.s3),
        )
    }

    /// Where the job runner keeps pod files (`<cluster>/logs`, `<cluster>/work`).
    pub fn pods_dir(&self) -> PathBuf {
        self.dir.path().join("pods")
    }

    /// Whether pod containers get private mount namespaces (needed for image files such as
    /// BR's `/br`).
    pub fn mount_namespaces(&self) -> bool {
        self.mount_namespaces
    }

    /// Pods first, whose processes must not outlive the test; then the rest.
    pub async fn stop(mut self) {
        if let Some(r) = self.runner.take() {
            r.stop().await;
        }
        self.cluster.stop().await;
        self.s3.stop().await;
        if let Some(c) = self.cloud.take() {
            c.stop().await;
        }
        self.tidb.stop().await;
    }
}
