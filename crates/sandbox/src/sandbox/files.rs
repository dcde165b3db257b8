//! Files the sandbox reads and writes: the workspace's CRD manifests, installed into
//! every cluster, and the private files users point their tools at.

use std::path::{Path, PathBuf};

use kube_emulator::RunningCluster;

/// The field manager of what the sandbox itself installs.
pub const MANAGER: &str = "tibr-sandbox";

/// Creates every object of every `*.yaml` file in `dir` (CRDs first) in `cluster`;
/// objects that already exist are left alone.
pub fn install_manifests(cluster: &RunningCluster, dir: &Path) -> anyhow::Result<usize> {
    cluster.install_manifests(MANAGER, dir)
}

/// Creates every object of the given manifest files (CRDs first) in `cluster`, as the
/// sandbox itself (no admission by a user); objects that already exist are left alone.
pub fn install_files(cluster: &RunningCluster, files: &[PathBuf]) -> anyhow::Result<usize> {
    cluster.install_files(MANAGER, files)
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
