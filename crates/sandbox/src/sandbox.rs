//! A whole sandbox: the emulated clusters, plus (as they land) the job runner and the
//! embedded S3 server, with the files users point their tools at.

use std::path::PathBuf;

use anyhow::Context;

use crate::apiserver::{ClusterOptions, RunningCluster, Tls, kubeconfig_yaml};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub dir: PathBuf,
    pub clusters: Vec<String>,
}

impl SandboxConfig {
    pub fn new(dir: PathBuf, clusters: Vec<String>) -> Self {
        SandboxConfig { dir, clusters }
    }
}

pub struct Sandbox {
    pub config: SandboxConfig,
    pub clusters: Vec<RunningCluster>,
}

impl Sandbox {
    pub async fn start(config: SandboxConfig) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.dir)
            .with_context(|| format!("creating {}", config.dir.display()))?;
        let tls = Tls::generate()?;
        let mut clusters = Vec::new();
        for name in &config.clusters {
            let options = ClusterOptions::new(name, config.dir.join("pods").join(name));
            clusters.push(RunningCluster::start(options, &tls, 0).await?);
        }
        let refs: Vec<&RunningCluster> = clusters.iter().collect();
        write_private(
            &config.dir.join("kubeconfig"),
            &kubeconfig_yaml(&refs, None),
        )?;
        Ok(Sandbox { config, clusters })
    }

    pub fn kubeconfig_path(&self) -> PathBuf {
        self.config.dir.join("kubeconfig")
    }

    pub fn endpoint_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .clusters
            .iter()
            .map(|c| format!("cluster {:<10} {}", c.name(), c.url()))
            .collect();
        lines.push(format!(
            "kubeconfig         {}",
            self.kubeconfig_path().display()
        ));
        lines
    }

    pub async fn stop(self) {
        for c in self.clusters {
            c.stop().await;
        }
    }
}

/// Files holding credentials are readable by their owner only.
pub fn write_private(path: &std::path::Path, content: &str) -> anyhow::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    Ok(())
}
