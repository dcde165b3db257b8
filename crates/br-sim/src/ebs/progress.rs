//! BR's EBS progress: one unit per percent of each snapshot (volumes × 100 in all), shown in
//! the progress file TiDB Operator's backup manager polls (`%.2f` percent, rewritten every
//! 500 ms, removed at the end) and in progress log lines (step `backup`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use crate::backup::progress_line;
use crate::log::Logger;

/// BR rewrites the file this often.
const FILE_INTERVAL: Duration = Duration::from_millis(500);

pub struct Progress {
    done: AtomicI64,
    total: i64,
    started: Instant,
}

impl Progress {
    pub fn new(total: i64) -> Progress {
        Progress {
            done: AtomicI64::new(0),
            total,
            started: Instant::now(),
        }
    }

    pub fn add(&self, units: i64) {
        self.done.fetch_add(units, Ordering::SeqCst);
    }

    fn current(&self) -> i64 {
        self.done.load(Ordering::SeqCst)
    }

    pub fn log_line(&self, log: &Logger) {
        progress_line(
            log,
            "backup",
            self.current().max(0) as u64,
            self.total.max(0) as u64,
            self.started,
        );
    }

    /// `37.50`: BR's `%.2f` of the done fraction.
    fn percent(&self) -> String {
        let fraction = if self.total <= 0 {
            1.0
        } else {
            self.current() as f64 / self.total as f64
        };
        format!("{:.2}", fraction * 100.0)
    }

    /// Writes the file and logs progress until dropped (it never returns); the file is
    /// left for [`Progress::finish`] to remove.
    pub async fn report(&self, log: &Logger, file: &Path, log_every: Duration) {
        let file_every = FILE_INTERVAL.min(log_every);
        let start = tokio::time::Instant::now();
        let mut file_tick = tokio::time::interval_at(start + file_every, file_every);
        let mut log_tick = tokio::time::interval_at(start + log_every, log_every);
        loop {
            tokio::select! {
                _ = file_tick.tick() => {
                    if let Err(e) = std::fs::write(file, self.percent()) {
                        log.warn(
                            "backup_ebs.go:1044",
                            "failed to update tmp progress file",
                            &[crate::log::field("error", e.to_string())],
                        );
                    }
                }
                _ = log_tick.tick() => self.log_line(log),
            }
        }
    }

    /// BR removes the file whether the backup ended well or not.
    pub fn finish(file: &PathBuf) {
        let _ = std::fs::remove_file(file);
    }
}
