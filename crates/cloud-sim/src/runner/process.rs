//! Container processes: each in its own process group, output appended to its log file,
//! stopped with SIGTERM to the whole group and SIGKILL after the grace period.
//!
//! Differences from a container runtime: a container is a process group, not a cgroup
//! with its own PID namespace, so a process that calls `setsid` escapes it; when the main
//! process exits, whatever is left in its group is killed, as a runtime tears down the
//! container. Logs are the raw bytes of stdout and stderr interleaved, without the CRI
//! timestamp and stream prefix (the emulator serves them as they are).

use std::{
    collections::HashSet,
    fs::OpenOptions,
    io,
    os::unix::process::ExitStatusExt,
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use jiff::Timestamp;
use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};
use tokio::process::Command;

/// The process groups currently alive, so the runner can kill them all when it stops.
#[derive(Default, Clone)]
pub struct Table(Arc<Mutex<HashSet<i32>>>);

impl Table {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<i32>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// SIGKILLs every group, again until each has been reaped (up to 10 s), so a
    /// process started meanwhile goes too.
    pub async fn kill_all(&self) {
        for _ in 0..500 {
            let groups: Vec<i32> = self.lock().iter().copied().collect();
            if groups.is_empty() {
                return;
            }
            for g in groups {
                signal_group(g, Signal::SIGKILL);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tracing::warn!("some container processes were not reaped in time");
    }
}

/// Sends `signal` to a process group; a group that is already gone is not an error.
pub fn signal_group(pgid: i32, signal: Signal) {
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pgid, %signal, "signalling a container: {e}"),
    }
}

/// What to run; `env` is the complete environment.
pub struct Launch {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub log: PathBuf,
}

impl std::fmt::Debug for Launch {
    // Environment values may hold secrets: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("program", &self.program)
            .field("cwd", &self.cwd)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Exit {
    /// The exit status, or 128 + the signal number when killed by a signal.
    pub code: i32,
    pub signal: Option<i32>,
    pub finished: Timestamp,
}

/// Starts `launch`; a background task reaps it and then calls `on_exit`. Returns the
/// process id, which is also its process group id.
pub fn spawn(
    table: &Table,
    launch: &Launch,
    on_exit: impl FnOnce(Exit) + Send + 'static,
) -> io::Result<i32> {
    if let Some(dir) = launch.log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(&launch.program);
    cmd.args(&launch.args)
        .env_clear()
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&launch.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| io::Error::other("the process exited before it was registered"))?;
    table.lock().insert(pid);
    let table = table.clone();
    tokio::spawn(async move {
        let status = child.wait().await;
        // The container is over: nothing it started may outlive it.
        signal_group(pid, Signal::SIGKILL);
        table.lock().remove(&pid);
        let finished = Timestamp::now();
        let exit = match status {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(code), _) => Exit {
                    code,
                    signal: None,
                    finished,
                },
                (None, Some(sig)) => Exit {
                    code: 128 + sig,
                    signal: Some(sig),
                    finished,
                },
                (None, None) => Exit {
                    code: 128,
                    signal: None,
                    finished,
                },
            },
            Err(e) => {
                tracing::warn!(pid, "waiting for a container process: {e}");
                Exit {
                    code: 128,
                    signal: None,
                    finished,
                }
            }
        };
        on_exit(exit);
    });
    Ok(pid)
}
