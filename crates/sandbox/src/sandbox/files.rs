//! Files the sandbox reads and writes: the workspace's CRD manifests, installed into
//! every cluster, and the private files users point their tools at.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use kube_emulator::{
    RunningCluster,
    cluster::now,
    ops::{self, WriteOptions},
};

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

/// Creates every object of every `*.yaml` file in `dir` (CRDs first) in `cluster`;
/// objects that already exist are left alone.
pub fn install_manifests(cluster: &RunningCluster, dir: &Path) -> anyhow::Result<usize> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    install_files(cluster, &files)
}

/// Creates every object of the given manifest files (CRDs first) in `cluster`, as the
/// sandbox itself (no admission by a user); objects that already exist are left alone.
pub fn install_files(cluster: &RunningCluster, files: &[PathBuf]) -> anyhow::Result<usize> {
    let mut docs: Vec<Value> = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
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

pub fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }
}
