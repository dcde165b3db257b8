//! The processes pods run, as `/proc` shows them: how tests find the agent and BR, check
//! the arguments they got, stop them, and make sure no secret reached a command line.

use std::{
    collections::BTreeSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

pub use tibr_cloud_sim::procs::processes;

/// The first process whose arguments match, if any.
pub fn find_process(matches: impl Fn(i32, &[String]) -> bool) -> Option<i32> {
    processes(matches).first().map(|(pid, _)| *pid)
}

/// The parent process id, from `/proc/<pid>/stat` (the field after the command's `)`).
pub fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The agent's process id for a Backup, found by its command line.
pub fn agent_pid(backup: &str) -> Option<i32> {
    let wanted = format!("--backup-name={backup}");
    find_process(|_, args| {
        args.first().is_some_and(|a| a.ends_with("/tibr-agent")) && args.contains(&wanted)
    })
}

/// The BR process the agent `agent` started.
pub fn br_pid(agent: i32) -> Option<i32> {
    find_process(|pid, args| {
        parent(pid) == Some(agent) && args.first().is_some_and(|a| a.ends_with("/br"))
    })
}

/// Kills a pod's processes when the test ends, however it ends: a BR left hanging would
/// otherwise outlive a failed test.
pub struct KillGroup(pub nix::unistd::Pid);

impl Drop for KillGroup {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(self.0, nix::sys::signal::Signal::SIGKILL);
    }
}

/// The value of `--name=value` in an argument vector.
pub fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let prefix = format!("--{name}=");
    args.iter().find_map(|a| a.strip_prefix(&prefix))
}

/// Samples every process's command line every 20 ms until dropped: the agents' and BR's
/// argument vectors as they ran (for assertions), and any command line holding a secret.
pub struct ProcessWatch {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<BTreeSet<Vec<String>>>>,
    task: Option<std::thread::JoinHandle<()>>,
}

impl ProcessWatch {
    pub fn start() -> ProcessWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let (s, v) = (stop.clone(), seen.clone());
        let task = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                for (_, args) in processes(|_, _| true) {
                    v.lock().unwrap().insert(args);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        ProcessWatch {
            stop,
            seen,
            task: Some(task),
        }
    }

    /// Every distinct argument vector seen so far.
    pub fn seen(&self) -> Vec<Vec<String>> {
        self.seen.lock().unwrap().iter().cloned().collect()
    }

    /// BR's argument vectors (`.../br backup ...`).
    pub fn br_runs(&self) -> Vec<Vec<String>> {
        self.seen()
            .into_iter()
            .filter(|a| a[0].ends_with("/br") && a.get(1).map(String::as_str) == Some("backup"))
            .collect()
    }
}

impl Drop for ProcessWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.task.take() {
            let _ = t.join();
        }
    }
}
