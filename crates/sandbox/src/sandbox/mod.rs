//! A whole sandbox: the emulated clusters, the embedded S3 server, the cloud emulators
//! (instance metadata, STS, EC2 and EBS), the simulated TiDB with its `TidbCluster demo1`, the job
//! runners, and the files users point their tools at: `DIR/kubeconfig` and
//! `DIR/sandbox.env`.
//!
//! - `files`: CRD manifests and private files.
//! - `programs`: `tibr-agent` and the BR stand-in for Job pods (this binary, multi-call).
//! - `operator`: the tibr operator of every cluster, in this process.
//! - `apply`: `kubectl apply` for manifests (the demo's and tests').

pub mod apply;
pub mod federation;
mod files;
pub mod operator;
pub mod programs;
pub mod stretched;

use std::path::PathBuf;

use anyhow::Context;

pub(crate) use files::MANAGER;
pub use files::{find_crds_dir, install_files, install_manifests};
pub use tibr_cloud_sim::write_private;

use kube_emulator::{
    ClusterOptions, RunningCluster, Tls, kubeconfig_yaml, pod_identity::PodIdentityWebhook,
};

use tibr_tidb_sim::{
    TidbConfig, TidbServer,
    pd::{Pd, PdConfig, PdServer},
    tidb_cluster,
};

use tibr_cloud_sim::{
    cloud::{ACCOUNT_ID, Cloud},
    ec2::{Ec2, Ec2Config},
    runner::{ImageRule, RunnerHandle},
    s3::{DEFAULT_BUCKET, REGION, S3Server},
    world::{PodWorld, WorldOptions},
};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub dir: PathBuf,
    pub clusters: Vec<String>,
    /// Directory of CRD manifests installed into every cluster at start (`deploy/crds`).
    pub crds_dir: Option<PathBuf>,
    /// Images the job runner maps to host executables.
    pub images: Vec<ImageRule>,
    /// Buckets that exist from the start (`my-bucket`, the seed's, by default).
    pub buckets: Vec<String>,
    /// The multi-call `tibr-sandbox` executable that serves as `tibr-agent` (the agent
    /// image's entrypoint) and `br` (BR images' `/br`) in pods; this executable by default
    /// when it is `tibr-sandbox`. `None`: those images cannot run.
    pub programs: Option<PathBuf>,
    /// Run the tibr operator in every cluster that has the Backup CRD (default). Tests that
    /// play the operator's part themselves turn it off.
    pub operator: bool,
    /// The image of backup and clean pods the operator creates; the image rules map it to
    /// `programs` (any tag of `ghcr.io/tibr/tibr-agent`).
    pub agent_image: String,
    /// The EC2/EBS emulator's settings: how long snapshots take and what goes wrong
    /// (`up` reads them from the `TIBR_EC2_*` variables).
    pub ec2: Ec2Config,
}

impl SandboxConfig {
    pub fn new(dir: PathBuf, clusters: Vec<String>) -> Self {
        SandboxConfig {
            dir,
            clusters,
            crds_dir: find_crds_dir(),
            images: Vec::new(),
            buckets: vec![DEFAULT_BUCKET.to_string()],
            programs: programs::default_executable(),
            operator: true,
            agent_image: tibr_operator::DEFAULT_AGENT_IMAGE.to_string(),
            ec2: Ec2Config::new(ACCOUNT_ID, REGION),
        }
    }
}

/// Where pods find the simulated PD (the BR stand-in's variable).
pub const PD_URL_VAR: &str = "BR_SIM_PD_URL";
const TIDB_CLUSTER_API: &str = "pingcap.com/v1alpha1";

pub struct Sandbox {
    pub config: SandboxConfig,
    pub clusters: Vec<RunningCluster>,
    pub s3: S3Server,
    pub cloud: Cloud,
    /// The simulated TiDB behind `TidbCluster test1/demo1` (one server for every cluster).
    pub tidb: TidbServer,
    pub tls: Tls,
    /// The one PD of the TiDB cluster (every data plane's BR talks to it).
    pub pd: PdServer,
    /// With several clusters, `demo1`'s stores in each data plane (`clusters[1..]`).
    pub stretched: Vec<stretched::Plane>,
    runners: Vec<RunnerHandle>,
    /// The operators, one per cluster with the Backup CRD.
    pub operators: Vec<operator::OperatorHandle>,
    /// With several clusters, the federation manager in the first one.
    pub federation: Option<federation::FederationHandle>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("dir", &self.config.dir)
            .field("clusters", &self.clusters)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    pub async fn start(config: SandboxConfig) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.dir)
            .with_context(|| format!("creating {}", config.dir.display()))?;
        let tls = Tls::generate()?;
        let mut clusters = Vec::new();
        for name in &config.clusters {
            let mut options =
                ClusterOptions::new(name, config.dir.join("pods").join(name).join("logs"));
            options.pod_identity_webhook = Some(PodIdentityWebhook::eks(REGION));
            clusters.push(RunningCluster::start(options, &tls, 0).await?);
        }
        // The configured rules first: the first match wins.
        let mut images = config.images.clone();
        if let Some(exe) = &config.programs {
            images.extend(programs::install(&config.dir, exe)?);
        }
        let pd = PdServer::start(Pd::new(PdConfig::default()), 0).await?;
        let options = WorldOptions {
            ec2: config.ec2.clone(),
            pod_vars: vec![(PD_URL_VAR.into(), pd.url())],
        };
        let PodWorld { s3, cloud, runners } = PodWorld::start_with(
            &config.dir,
            &tls,
            &clusters,
            &images,
            &config.buckets,
            options,
        )
        .await?;
        let tidb = TidbServer::start(TidbConfig::generated()).await?;
        let mut sandbox = Sandbox {
            config,
            clusters,
            s3,
            cloud,
            tidb,
            tls,
            pd,
            stretched: Vec::new(),
            runners,
            operators: Vec::new(),
            federation: None,
        };
        if let Some(dir) = sandbox.config.crds_dir.clone() {
            for cluster in &sandbox.clusters {
                install_manifests(cluster, &dir).with_context(|| {
                    format!(
                        "installing CRDs from {} into {}",
                        dir.display(),
                        cluster.name()
                    )
                })?;
            }
        }
        sandbox.create_tidb_clusters()?;
        let planes: Vec<&RunningCluster> = sandbox.clusters.iter().skip(1).collect();
        if !planes.is_empty()
            && planes
                .iter()
                .all(|c| c.serves(TIDB_CLUSTER_API, "TidbCluster"))
        {
            sandbox.stretched = stretched::create(
                sandbox.ec2(),
                &planes,
                files::MANAGER,
                tibr_tidb_sim::TIDB_VERSION,
            )?;
        }
        if sandbox.config.operator {
            let deploy = operator::deploy_dir(sandbox.config.crds_dir.as_deref());
            for cluster in &sandbox.clusters {
                if operator::backup_crd_installed(cluster) {
                    let handle = operator::start(
                        cluster,
                        &sandbox.config.agent_image,
                        deploy.as_deref(),
                        &sandbox.s3.endpoint(),
                    )
                    .await
                    .with_context(|| format!("starting the operator of {}", cluster.name()))?;
                    sandbox.operators.push(handle);
                }
            }
        }
        if sandbox.config.operator
            && sandbox.clusters.len() > 1
            && federation::installed(&sandbox.clusters[0])
        {
            let deploy = operator::deploy_dir(sandbox.config.crds_dir.as_deref());
            let planes: Vec<&RunningCluster> = sandbox.clusters.iter().skip(1).collect();
            let handle = federation::start(
                &sandbox.clusters[0],
                &planes,
                &sandbox.config.dir,
                deploy.as_deref(),
            )
            .await
            .context("starting the federation manager")?;
            sandbox.federation = Some(handle);
        }
        sandbox.write_files()?;
        Ok(sandbox)
    }

    /// Namespace `test1` and (when the CRD is installed) `TidbCluster demo1` in every
    /// cluster; safe to call again after installing the CRD later. Returns how many
    /// clusters have `demo1`.
    pub fn create_tidb_clusters(&self) -> anyhow::Result<usize> {
        let mut created = 0;
        if self.clusters.len() > 1 {
            // Several clusters: `demo1` is stretched over the data planes (created once, at
            // start); every cluster gets the namespace.
            for cluster in &self.clusters {
                cluster.install_objects(
                    files::MANAGER,
                    vec![serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
                                            "metadata": {"name": tidb_cluster::NAMESPACE}})],
                )?;
            }
            return Ok(self.stretched.len());
        }
        for cluster in &self.clusters {
            if tidb_cluster::create(cluster, files::MANAGER, tibr_tidb_sim::TIDB_VERSION)
                .with_context(|| format!("TiDB cluster demo1 in {}", cluster.name()))?
            {
                created += 1;
            }
        }
        Ok(created)
    }

    pub fn kubeconfig_path(&self) -> PathBuf {
        self.config.dir.join("kubeconfig")
    }

    /// The emulated EC2 region: seed instances and volumes, steer faults, read the call log.
    pub fn ec2(&self) -> &Ec2 {
        &self.cloud.ec2.ec2
    }

    pub fn env_path(&self) -> PathBuf {
        self.config.dir.join("sandbox.env")
    }

    /// The variables of `sandbox.env`, in order.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "KUBECONFIG".into(),
                self.kubeconfig_path().display().to_string(),
            ),
            ("S3_ENDPOINT".into(), self.s3.endpoint()),
            // The AWS SDKs' and CLI's own variables, so `aws ec2 …` and boto3 reach the
            // emulator with the keys below.
            ("AWS_ENDPOINT_URL_EC2".into(), self.cloud.ec2_endpoint()),
            ("AWS_ENDPOINT_URL_EBS".into(), self.cloud.ec2_endpoint()),
            ("AWS_REGION".into(), REGION.into()),
            // The AWS CLI and boto3 read the region from this one.
            ("AWS_DEFAULT_REGION".into(), REGION.into()),
            ("AWS_ACCESS_KEY_ID".into(), self.s3.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.s3.secret_key.clone()),
            ("TIDB_HOST".into(), self.tidb.host()),
            ("TIDB_PORT".into(), self.tidb.port().to_string()),
            ("TIDB_USER".into(), self.tidb.user().to_string()),
            ("TIDB_PASSWORD".into(), self.tidb.password().to_string()),
            // Read-only: when GC and PD scheduling were paused and resumed, and by whom.
            ("TIBR_PD_STATE_URL".into(), self.pd.state_url()),
        ]
    }

    fn write_files(&self) -> anyhow::Result<()> {
        let refs: Vec<&RunningCluster> = self.clusters.iter().collect();
        write_private(&self.kubeconfig_path(), &kubeconfig_yaml(&refs, None))?;
        let mut env = String::from("# Written by `tibr-sandbox up`; load with: . ./sandbox.env\n");
        for (k, v) in self.env() {
            env.push_str(&format!("export {k}={}\n", files::shell_quote(&v)));
        }
        write_private(&self.env_path(), &env)
    }

    /// One line per endpoint, as `up` prints them (no secrets); `environment` is last.
    pub fn endpoint_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .clusters
            .iter()
            .map(|c| format!("cluster {:<12} {}", c.name(), c.url()))
            .collect();
        lines.push(format!(
            "s3 {:<17} {} (pods: {}; data in {})",
            "",
            self.s3.endpoint(),
            self.s3.tls_endpoint().unwrap_or_default(),
            self.s3.data_dir.display()
        ));
        let ec2 = self.ec2().config();
        lines.push(format!(
            "ec2 {:<16} {} (EBS too; pods: {}; region {}, snapshots pending {:?})",
            "",
            self.cloud.ec2_endpoint(),
            self.cloud.ec2_tls_endpoint(),
            ec2.region,
            ec2.snapshot_duration
        ));
        lines.push(format!(
            "tidb {:<15} {}:{} (TidbCluster {}/{}, user {}, password in sandbox.env)",
            "",
            self.tidb.host(),
            self.tidb.port(),
            tidb_cluster::NAMESPACE,
            tidb_cluster::NAME,
            self.tidb.user()
        ));
        lines.push(format!(
            "pd {:<17} {} (GC safepoints, scheduler pauses and their history)",
            "",
            self.pd.state_url()
        ));
        for plane in &self.stretched {
            let stores: Vec<String> = plane
                .stores
                .iter()
                .map(|s| format!("{} on {}", s.id, s.instance_id))
                .collect();
            lines.push(format!(
                "tikv {:<15} {}/{} stretched: stores {}",
                plane.cluster,
                tidb_cluster::NAMESPACE,
                tidb_cluster::NAME,
                stores.join(", ")
            ));
        }
        for cluster in &self.clusters {
            match self.operators.iter().find(|o| o.cluster == cluster.name()) {
                Some(o) => lines.push(o.endpoint_line()),
                None => lines.push(format!(
                    "operator {:<11} not running ({})",
                    cluster.name(),
                    if self.config.operator {
                        "the Backup CRD is not installed"
                    } else {
                        "turned off"
                    }
                )),
            }
        }
        if let Some(f) = &self.federation {
            lines.push(f.endpoint_line());
        }
        lines.push(format!("sts {:<16} {}", "", self.cloud.sts_endpoint()));
        lines.push(format!(
            "metadata {:<11} {} (one path per pod)",
            "",
            self.cloud.metadata_endpoint()
        ));
        lines.push(format!(
            "kubeconfig {:<9} {}",
            "",
            self.kubeconfig_path().display()
        ));
        lines.push(format!(
            "environment {:<8} {}",
            "",
            self.env_path().display()
        ));
        lines
    }

    /// Whether pod containers get private mount namespaces (needed for image files such as
    /// BR's `/br`).
    pub fn mount_namespaces(&self) -> bool {
        self.runners.iter().all(RunnerHandle::mount_namespaces)
    }

    pub fn cluster(&self, name: &str) -> Option<&RunningCluster> {
        self.clusters.iter().find(|c| c.name() == name)
    }

    pub async fn stop(self) {
        // Operators first, so none acts on a cluster going away; then pods, whose
        // processes must not outlive the sandbox.
        if let Some(f) = self.federation {
            f.stop().await;
        }
        for o in self.operators {
            o.stop().await;
        }
        for r in self.runners {
            r.stop().await;
        }
        for c in self.clusters {
            c.stop().await;
        }
        self.s3.stop().await;
        self.cloud.stop().await;
        self.tidb.stop().await;
        self.pd.stop().await;
    }
}
