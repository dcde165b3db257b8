//! Everything the pods of a set of clusters reach, started together: one S3 server (HTTPS
//! for pods, as S3 is on AWS; plain HTTP for tools on the host), the cloud emulators (EC2
//! and EBS among them) sharing its credentials, and a job runner per cluster whose
//! containers get the cloud's variables. The sandbox and the tests that run real Job pods start it the same way.

use std::{path::Path, sync::Arc};

use anyhow::Context;
use kube_emulator::{RunningCluster, Tls};

use crate::{
    cloud::{ACCOUNT_ID, Cloud, CloudConfig, CredentialStore},
    ec2::Ec2Config,
    runner::{ImageRule, Runner, RunnerConfig, RunnerHandle},
    s3::{REGION, S3Server},
};

/// How a [`PodWorld`] starts beyond its defaults.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    pub ec2: Ec2Config,
    /// Variables every pod container gets (after the cloud's), such as where the simulated
    /// PD is.
    pub pod_vars: Vec<(String, String)>,
}

pub struct PodWorld {
    pub s3: S3Server,
    pub cloud: Cloud,
    /// One per cluster, in the order given.
    pub runners: Vec<RunnerHandle>,
}

impl PodWorld {
    /// Starts S3 in `dir/s3` with `buckets`, the cloud in `dir/cloud`, and a runner for each
    /// cluster working in `dir/pods/<cluster>/work` with `images` (the first match wins).
    pub async fn start(
        dir: &Path,
        tls: &Tls,
        clusters: &[RunningCluster],
        images: &[ImageRule],
        buckets: &[String],
    ) -> anyhow::Result<PodWorld> {
        let options = WorldOptions {
            ec2: Ec2Config::new(ACCOUNT_ID, REGION),
            pod_vars: Vec::new(),
        };
        PodWorld::start_with(dir, tls, clusters, images, buckets, options).await
    }

    /// [`PodWorld::start`] with the EC2 emulator's settings (its fault switches) and
    /// variables for every pod container.
    pub async fn start_with(
        dir: &Path,
        tls: &Tls,
        clusters: &[RunningCluster],
        images: &[ImageRule],
        buckets: &[String],
        options: WorldOptions,
    ) -> anyhow::Result<PodWorld> {
        let WorldOptions { ec2, pod_vars } = options;
        let credentials = Arc::new(CredentialStore::default());
        let s3 = S3Server::start_with(
            dir.join("s3"),
            0,
            credentials.clone(),
            Some(tls.server_config.clone()),
        )
        .await?;
        for bucket in buckets {
            s3.ensure_bucket(bucket)?;
        }
        let mut cloud_config = CloudConfig::new(dir.join("cloud"), REGION);
        cloud_config.ec2 = ec2;
        let cloud = Cloud::start(
            cloud_config,
            tls,
            clusters.iter().map(|c| c.cluster.clone()).collect(),
            credentials,
        )
        .await?;
        let s3_for_pods = s3.tls_endpoint().context("the S3 server serves HTTPS")?;
        let mut runners = Vec::new();
        for cluster in clusters {
            let mut runner = RunnerConfig::for_cluster(
                cluster,
                dir.join("pods").join(cluster.name()).join("work"),
            );
            runner.images = images.to_vec();
            let mut env = cloud.pod_env(&s3_for_pods);
            env.vars.extend(pod_vars.iter().cloned());
            runner.cloud = Some(env);
            runners.push(Runner::start(cluster.client().await?, runner));
        }
        Ok(PodWorld { s3, cloud, runners })
    }

    /// Whether pod containers get private mount namespaces (needed for image files such as
    /// BR's `/br`).
    pub fn mount_namespaces(&self) -> bool {
        self.runners.iter().all(RunnerHandle::mount_namespaces)
    }

    /// Stops the runners first, whose processes must not outlive the rest; the caller
    /// stops the clusters.
    pub async fn stop_runners(&mut self) {
        for r in self.runners.drain(..) {
            r.stop().await;
        }
    }

    pub async fn stop(mut self) {
        self.stop_runners().await;
        self.s3.stop().await;
        self.cloud.stop().await;
    }
}
