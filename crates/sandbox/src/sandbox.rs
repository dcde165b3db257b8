//! A whole sandbox: the emulated clusters, the embedded S3 server and (once started by
//! the caller) the job runner, plus the files users point their tools at:
//! `DIR/kubeconfig` and `DIR/sandbox.env`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::{
    apiserver::{
        ClusterOptions, RunningCluster, Tls,
        cluster::now,
        kubeconfig_yaml,
        ops::{self, WriteOptions},
    },
    runner::{ImageRule, Runner, RunnerConfig, RunnerHandle},
    s3::{REGION, S3Server},
};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub dir: PathBuf,
    pub clusters: Vec<String>,
    /// Directory of CRD manifests installed into every cluster at start (`deploy/crds`).
    pub crds_dir: Option<PathBuf>,
    /// Images the job runner maps to host executables.
    pub images: Vec<ImageRule>,
}

impl SandboxConfig {
    pub fn new(dir: PathBuf, clusters: Vec<String>) -> Self {
        SandboxConfig {
            dir,
            clusters,
            crds_dir: find_crds_dir(),
            images: Vec::new(),
        }
    }
}

/// `deploy/crds` of the workspace the sandbox runs from, if any: found from the current
/// directory or the executable's location, or named by `TIBR_CRDS_DIR`.
pub fn find_crds_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TIBR_CRDS_DIR") {
        return Some(PathBuf::from(dir));
    }
    let starts = [std::env::current_dir().ok(), std::env::current_exe().ok()];
    for start in starts.into_iter().flatten() {
        for dir in start.ancestors() {
            let candidate = dir.join("deploy").join("crds");
            if candidate.is_dir() {
                return Some(candidate);
            }
        }
    }
    None
}

pub struct Sandbox {
    pub config: SandboxConfig,
    pub clusters: Vec<RunningCluster>,
    pub s3: S3Server,
    pub tls: Tls,
    runners: Vec<RunnerHandle>,
}

impl Sandbox {
    pub async fn start(config: SandboxConfig) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.dir)
            .with_context(|| format!("creating {}", config.dir.display()))?;
        let tls = Tls::generate()?;
        let mut clusters = Vec::new();
        for name in &config.clusters {
            let options =
                ClusterOptions::new(name, config.dir.join("pods").join(name).join("logs"));
            clusters.push(RunningCluster::start(options, &tls, 0).await?);
        }
        let s3 = S3Server::start(config.dir.join("s3"), 0).await?;
        let mut runners = Vec::new();
        for cluster in &clusters {
            let mut runner = RunnerConfig::for_cluster(
                cluster,
                config.dir.join("pods").join(cluster.name()).join("work"),
            );
            runner.images = config.images.clone();
            runners.push(Runner::start(cluster.client().await?, runner));
        }
        let sandbox = Sandbox {
            config,
            clusters,
            s3,
            tls,
            runners,
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
        sandbox.write_files()?;
        Ok(sandbox)
    }

    pub fn kubeconfig_path(&self) -> PathBuf {
        self.config.dir.join("kubeconfig")
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
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_ACCESS_KEY_ID".into(), self.s3.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.s3.secret_key.clone()),
        ]
    }

    fn write_files(&self) -> anyhow::Result<()> {
        let refs: Vec<&RunningCluster> = self.clusters.iter().collect();
        write_private(&self.kubeconfig_path(), &kubeconfig_yaml(&refs, None))?;
        let mut env = String::from("# Written by `tibr-sandbox up`; load with: . ./sandbox.env\n");
        for (k, v) in self.env() {
            env.push_str(&format!("export {k}={}\n", shell_quote(&v)));
        }
        write_private(&self.env_path(), &env)
    }

    /// One line per endpoint, as `up` prints them (no secrets).
    pub fn endpoint_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .clusters
            .iter()
            .map(|c| format!("cluster {:<12} {}", c.name(), c.url()))
            .collect();
        lines.push(format!(
            "s3 {:<17} {} (data in {})",
            "",
            self.s3.endpoint(),
            self.s3.data_dir.display()
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

    pub fn cluster(&self, name: &str) -> Option<&RunningCluster> {
        self.clusters.iter().find(|c| c.name() == name)
    }

    pub async fn stop(self) {
        // Pods first: their processes must not outlive the sandbox.
        for r in self.runners {
            r.stop().await;
        }
        for c in self.clusters {
            c.stop().await;
        }
        self.s3.stop().await;
    }
}

/// Creates every object of every `*.yaml` file in `dir` (CRDs first) in `cluster`;
/// objects that already exist are left alone.
pub fn install_manifests(cluster: &RunningCluster, dir: &Path) -> anyhow::Result<usize> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut docs: Vec<Value> = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        for doc in yaml_serde::Deserializer::from_str(&text) {
            let value: Value = serde::Deserialize::deserialize(doc)
                .with_context(|| format!("parsing {}", file.display()))?;
            if value.is_object() {
                docs.push(value);
            }
        }
    }
    docs.sort_by_key(|d| d["kind"] != "CustomResourceDefinition");
    let mut created = 0;
    let mut state = cluster.cluster.lock();
    for doc in docs {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let rt = state
            .registry
            .by_kind(&api_version, &kind)
            .with_context(|| format!("no resource type for {api_version} {kind}"))?;
        let ns = rt.namespaced.then(|| {
            doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string()
        });
        match ops::create(
            &mut state,
            &rt,
            ns.as_deref(),
            doc,
            &WriteOptions::internal("tibr-sandbox", now()),
        ) {
            Ok(_) => created += 1,
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(anyhow::anyhow!("{e}")),
        }
    }
    drop(state);
    cluster.cluster.notify_changed();
    Ok(created)
}

fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

/// Files holding credentials are readable by their owner only.
pub fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }
}
