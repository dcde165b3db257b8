//! Making container paths real: where this machine allows it (root with CAP_SYS_ADMIN),
//! each container runs in a private mount namespace made by `unshare --mount
//! --propagation private`, where a small `sh` script bind-mounts every volume, the
//! in-cluster credentials and the image's files at their container paths, then `exec`s
//! the container's command, so the process id is the container's.
//!
//! Differences from a container: the rest of the host file system is visible as it is;
//! mount points that do not exist are created on the host (as empty directories or
//! files) and stay there. Without mount namespaces, containers see only host paths (the
//! kubelet falls back to per-pod directories and a per-pod kubeconfig).

use std::{path::Path, process::Command};

/// One bind mount into a container's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub host: std::path::PathBuf,
    pub target: String,
    pub read_only: bool,
}

/// Mounts each `src dst ro|rw` triple, creating the mount point, then enters the working
/// directory and runs the command. Paths travel as arguments, never inside the script, so
/// no quoting can go wrong; a failed mount exits 128 as a runtime that cannot start a
/// container does.
const SCRIPT: &str = r#"
while [ "$1" != "--" ]; do
  src=$1 dst=$2 mode=$3
  shift 3
  if [ -d "$src" ]; then
    mkdir -p "$dst" || exit 128
  elif [ ! -e "$dst" ]; then
    parent=${dst%/*}
    if [ -n "$parent" ]; then mkdir -p "$parent" || exit 128; fi
    : > "$dst" || exit 128
  fi
  mount --bind "$src" "$dst" || exit 128
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$dst" || exit 128; fi
done
shift
mkdir -p "$1" && cd "$1" || exit 128
shift
exec "$@"
"#;

/// The program and arguments that run `argv` in `workdir` with `mounts` in place.
/// Parents are mounted before what is mounted inside them.
pub fn wrap(mounts: &[Mount], workdir: &str, argv: &[String]) -> (String, Vec<String>) {
    let mut ordered: Vec<&Mount> = mounts.iter().collect();
    ordered.sort_by_key(|m| Path::new(&m.target).components().count());
    let mut args: Vec<String> = [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        SCRIPT,
        "sh",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for m in ordered {
        args.push(m.host.to_string_lossy().into_owned());
        args.push(m.target.clone());
        args.push(if m.read_only { "ro" } else { "rw" }.to_string());
    }
    args.push("--".to_string());
    args.push(workdir.to_string());
    args.extend(argv.iter().cloned());
    ("unshare".to_string(), args)
}

/// Whether private mount namespaces work here: a bind mount made inside one must be
/// visible there and must not leak to the host.
pub fn probe(work_dir: &Path) -> bool {
    let Ok(()) = std::fs::create_dir_all(work_dir) else {
        return false;
    };
    let Ok(dir) = tempfile::tempdir_in(work_dir) else {
        return false;
    };
    let src = dir.path().join("src");
    let dst = dir.path().join("dst");
    if std::fs::create_dir(&src).is_err()
        || std::fs::create_dir(&dst).is_err()
        || std::fs::write(src.join("probe"), b"ok").is_err()
    {
        return false;
    }
    let mounts = [Mount {
        host: src.clone(),
        target: dst.to_string_lossy().into_owned(),
        read_only: true,
    }];
    let check = dst.join("probe").to_string_lossy().into_owned();
    let (program, args) = wrap(&mounts, "/", &["cat".to_string(), check]);
    let out = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output();
    let worked = out.is_ok_and(|o| o.status.success() && o.stdout == b"ok");
    worked && !dst.join("probe").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_mount_first() {
        let m = |t: &str| Mount {
            host: format!("/h{t}").into(),
            target: t.to_string(),
            read_only: false,
        };
        let (program, args) = wrap(
            &[m("/data/sub"), m("/data")],
            "/w",
            &["echo".to_string(), "hi".to_string()],
        );
        assert_eq!(program, "unshare");
        let tail = &args[7..];
        assert_eq!(
            tail,
            &[
                "/h/data",
                "/data",
                "rw",
                "/h/data/sub",
                "/data/sub",
                "rw",
                "--",
                "/w",
                "echo",
                "hi"
            ]
        );
    }
}
