//! Small helpers for tests that drive a sandbox (this crate's, the operator's): waiting for
//! a condition, and reading Backups and Events the way the assertions want them. The sandbox
//! is test tooling, so they live with it rather than being copied into every test crate.

use std::{future::Future, time::Duration};

use k8s_openapi::api::core::v1::Event;
use kube::{Api, Client, api::ListParams};
use tibr_api::Backup;

/// Polls `check` until it returns `Some`, failing the test after `secs` seconds.
pub async fn wait_until<T, F, Fut>(secs: u64, what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    crate::demo::wait_for(Duration::from_secs(secs), check)
        .await
        .unwrap_or_else(|| panic!("timed out after {secs}s waiting for {what}"))
}

/// A Backup's condition of `type_` as `(status, reason, message)`.
pub fn condition(b: &Backup, type_: &str) -> Option<(String, String, String)> {
    b.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_.as_str() == type_)
        .map(|c| {
            (
                c.status.as_str().to_string(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

/// A BackupSchedule's condition of `type_` as `(status, reason, message)`.
pub fn schedule_condition(
    s: &tibr_api::BackupSchedule,
    type_: &str,
) -> Option<(String, String, String)> {
    s.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// The Events (core/v1) in `namespace` as `Type Reason: message`, about the object named
/// `regarding` (any when `None`).
pub async fn events(client: &Client, namespace: &str, regarding: Option<&str>) -> Vec<String> {
    let mut params = ListParams::default();
    if let Some(name) = regarding {
        params = params.fields(&format!("involvedObject.name={name}"));
    }
    Api::<Event>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .expect("listing Events")
        .items
        .into_iter()
        .map(|e| {
            format!(
                "{} {}: {}",
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default()
            )
        })
        .collect()
}

/// Every log line this process wrote since [`capture_logs`] (the operator's and the
/// sandbox's, when they run in the test process): what tests search for secret values.
pub fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

fn log_buffer() -> &'static std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    static BUFFER: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
        std::sync::OnceLock::new();
    BUFFER.get_or_init(Default::default)
}

struct Capture {
    echo: bool,
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log_buffer()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        if self.echo {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, once per process, a tracing subscriber with `filter` that keeps every line for
/// [`logs`] (and also writes it to standard error when `echo`).
pub fn capture_logs(filter: &str, echo: bool) {
    static INIT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || Capture { echo })
            .with_ansi(false)
            .try_init();
    });
}

/// One run of a BackupSchedule as a poller saw it.
#[derive(Debug, Clone)]
pub struct SeenRun {
    pub name: String,
    /// When a list first returned it: how late after its tick it appeared, at worst.
    pub first_seen: jiff::Timestamp,
    /// The Backup as last listed.
    pub backup: Backup,
}

/// What changed for a run between two polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunChange {
    Created,
    Completed,
}

/// A schedule's Backups (label `tidb.pingcap.com/backup-schedule=<schedule>`), by tick, as
/// seen by repeated listing: every run ever seen, and the ticks the last list returned.
#[derive(Debug, Clone, Default)]
pub struct ScheduleRuns {
    pub schedule: String,
    pub runs: std::collections::BTreeMap<jiff::Timestamp, SeenRun>,
    pub present: std::collections::BTreeSet<jiff::Timestamp>,
}

impl ScheduleRuns {
    pub fn new(schedule: &str) -> ScheduleRuns {
        ScheduleRuns {
            schedule: schedule.to_string(),
            ..ScheduleRuns::default()
        }
    }

    /// Lists the schedule's Backups once; returns the runs that appeared or completed
    /// since the last poll, with the time of this poll.
    pub async fn poll(
        &mut self,
        backups: &Api<Backup>,
    ) -> kube::Result<Vec<(jiff::Timestamp, String, RunChange)>> {
        let selector = format!(
            "{}={}",
            tibr_api::constants::labels::BACKUP_SCHEDULE,
            self.schedule
        );
        let listed = backups
            .list(&ListParams::default().labels(&selector))
            .await?;
        let now = jiff::Timestamp::now();
        let mut changes = Vec::new();
        self.present.clear();
        for b in listed.items {
            let Some(tick) = tibr_core::schedule::tick_of(&self.schedule, &b) else {
                continue;
            };
            self.present.insert(tick);
            let name = b.metadata.name.clone().unwrap_or_default();
            let before = self.runs.get(&tick);
            if before.is_none() {
                changes.push((now, name.clone(), RunChange::Created));
            }
            if is_complete(&b) && !before.is_some_and(|r| is_complete(&r.backup)) {
                changes.push((now, name.clone(), RunChange::Completed));
            }
            let first_seen = before.map_or(now, |r| r.first_seen);
            self.runs.insert(
                tick,
                SeenRun {
                    name,
                    first_seen,
                    backup: b,
                },
            );
        }
        Ok(changes)
    }

    /// Ticks of the runs seen Complete (including those deleted since).
    pub fn complete(&self) -> std::collections::BTreeSet<jiff::Timestamp> {
        self.runs
            .iter()
            .filter(|(_, r)| is_complete(&r.backup))
            .map(|(t, _)| *t)
            .collect()
    }

    /// Ticks seen once and not returned by the last list: deleted since.
    pub fn gone(&self) -> Vec<jiff::Timestamp> {
        self.runs
            .keys()
            .filter(|t| !self.present.contains(t))
            .copied()
            .collect()
    }
}

/// Whether the Backup's phase is `Complete`.
pub fn is_complete(b: &Backup) -> bool {
    b.phase().is_some_and(|p| p.as_str() == "Complete")
}
