//! A BackupSchedule's runs as a poller sees them: which appeared and completed when, and
//! which were deleted since. The demo prints them; the end-to-end tests assert on them.

use kube::{Api, api::ListParams};
use tibr_api::Backup;

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
            let Some(tick) = tibr_core::schedule::tick_of(&self.schedule, &b.metadata) else {
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
