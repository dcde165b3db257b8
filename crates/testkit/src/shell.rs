//! The sandbox as a user drives it from outside: `up` started as a process, and a shell
//! with its `sandbox.env` loaded running the real kubectl.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::io::{AsyncBufReadExt, BufReader};

/// `<sandbox> up --dir DIR ARGS...` from the workspace with `envs`, until it has printed
/// its endpoints; returns the process and the lines. `sandbox` is the built executable.
pub async fn start_up(
    sandbox: &Path,
    dir: &Path,
    args: &[&str],
    envs: &[(&str, &Path)],
) -> (tokio::process::Child, Vec<String>) {
    let mut up = tokio::process::Command::new(sandbox)
        .args(["up", "--dir"])
        .arg(dir)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, *v)))
        .current_dir(crate::workspace())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(up.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while !printed
        .iter()
        .any(|l: &String| l.starts_with("environment"))
    {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("up prints its endpoints");
        printed.push(line);
    }
    (up, printed)
}

/// SIGTERM: `up` exits 0 and leaves no process of its own (one naming `dir`) behind.
pub async fn stop_up(up: &mut tokio::process::Child, dir: &Path) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), up.wait())
        .await
        .expect("up stops within 30 s")
        .unwrap();
    assert!(status.success(), "up exits 0 on SIGTERM: {status:?}");
    let marker = dir.to_string_lossy().into_owned();
    let left = crate::procs::processes(|_, a| a.iter().any(|x| x.contains(&marker)));
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// The variables `sandbox.env` exports (single-quoted shell assignments).
pub fn load_env(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

/// A user's shell after `. DIR/sandbox.env`, in its own directory.
pub struct Shell {
    pub env: BTreeMap<String, String>,
    pub cache: PathBuf,
    pub dir: PathBuf,
}

impl Shell {
    /// The shell for the sandbox in `sandbox_dir`, working in `dir`.
    pub fn new(sandbox_dir: &Path, dir: &Path) -> Shell {
        Shell {
            env: load_env(&sandbox_dir.join("sandbox.env")),
            cache: dir.join("kubectl-cache"),
            dir: dir.to_path_buf(),
        }
    }

    /// The real `kubectl args...`: (success, stdout, stderr).
    pub async fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::process::Command::new("kubectl")
            .args(args)
            .arg("--cache-dir")
            .arg(&self.cache)
            .envs(&self.env)
            .current_dir(&self.dir)
            .output()
            .await
            .expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `kubectl args...`, which must succeed; its output.
    pub async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.kubectl(args).await;
        assert!(ok, "kubectl {args:?} failed:\n{out}\n{err}");
        out
    }

    pub fn var(&self, name: &str) -> &str {
        self.env.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// Runs `command`, which must succeed; its standard output.
pub async fn output_ok(command: &mut tokio::process::Command) -> String {
    let out = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
