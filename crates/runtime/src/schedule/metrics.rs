//! Per-schedule metrics (`<prefix>_schedule_*`: `tibr_operator_schedule_*` for
//! BackupSchedules, `tibr_federation_schedule_*` for VolumeBackupSchedules). Unlike the
//! binaries' other metrics these carry the schedule's namespace and name: "when did
//! schedule X last produce a backup" is the question users alert on, and one series set
//! per schedule stays bounded by the objects users create. The series of a deleted
//! schedule are dropped.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
};

use jiff::Timestamp;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use tibr_core::schedule::ScheduleMetrics as Facts;

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct ScheduleLabels {
    pub namespace: String,
    pub schedule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScheduleStateLabels {
    pub namespace: String,
    pub schedule: String,
    /// `complete`, `failed` (Failed or Invalid) or `in_flight`.
    pub state: &'static str,
}

const STATES: [&str; 3] = ["complete", "failed", "in_flight"];

/// The schedule families, and what is needed to count each failure once.
#[derive(Clone, Debug, Default)]
pub struct ScheduleMetrics {
    last_success: Family<ScheduleLabels, Gauge>,
    next_backup: Family<ScheduleLabels, Gauge>,
    blocked_since: Family<ScheduleLabels, Gauge>,
    consecutive_failures: Family<ScheduleLabels, Gauge>,
    backups: Family<ScheduleStateLabels, Gauge>,
    created: Family<ScheduleLabels, Counter>,
    failed: Family<ScheduleLabels, Counter>,
    deleted: Family<ScheduleLabels, Counter>,
    skipped_ticks: Family<ScheduleLabels, Counter>,
    /// Per schedule, the failed runs already counted.
    counted: Arc<Mutex<BTreeMap<ScheduleLabels, BTreeSet<String>>>>,
}

/// What the `act` step actually carried out, for the counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Done {
    pub created: bool,
    pub deleted: u32,
    pub skipped_ticks: u64,
}

impl ScheduleMetrics {
    pub fn register_into(&self, r: &mut Registry) {
        let r = r.sub_registry_with_prefix("schedule");
        r.register(
            "last_success_timestamp_seconds",
            "When the newest Complete backup of the schedule finished (Unix time)",
            self.last_success.clone(),
        );
        r.register(
            "next_backup_timestamp_seconds",
            "When the schedule's next backup is due (Unix time); in the past while a due run waits",
            self.next_backup.clone(),
        );
        r.register(
            "blocked_since_timestamp_seconds",
            "Since when a due run waits for an earlier backup still in flight (Unix time); 0 when none waits",
            self.blocked_since.clone(),
        );
        r.register(
            "consecutive_failures",
            "Failed or Invalid backups of the schedule newer than its newest Complete one",
            self.consecutive_failures.clone(),
        );
        r.register(
            "backups",
            "Backups (or VolumeBackups) of the schedule present, by state",
            self.backups.clone(),
        );
        r.register(
            "backups_created",
            "Backups (or VolumeBackups) the schedule created",
            self.created.clone(),
        );
        r.register(
            "backups_failed",
            "Backups (or VolumeBackups) of the schedule that ended Failed or Invalid",
            self.failed.clone(),
        );
        r.register(
            "backups_deleted_by_retention",
            "Backups (or VolumeBackups) deleted by the schedule's retention policy",
            self.deleted.clone(),
        );
        r.register(
            "skipped_ticks",
            "Due runs folded into a later catch-up run (operator down, paused, or waiting)",
            self.skipped_ticks.clone(),
        );
    }

    /// Records one reconcile: the gauges from `facts`, the counters from what was `done`.
    pub fn record(&self, key: &ScheduleLabels, facts: &Facts, done: Done) {
        let secs = |t: Option<Timestamp>| t.map_or(0, |t| t.as_second());
        self.last_success
            .get_or_create(key)
            .set(secs(facts.last_success));
        self.next_backup
            .get_or_create(key)
            .set(secs(facts.next_backup));
        self.blocked_since
            .get_or_create(key)
            .set(secs(facts.blocked_since));
        self.consecutive_failures
            .get_or_create(key)
            .set(i64::from(facts.consecutive_failures));
        for (state, n) in STATES
            .into_iter()
            .zip([facts.complete, facts.failed, facts.in_flight])
        {
            self.backups
                .get_or_create(&state_labels(key, state))
                .set(i64::from(n));
        }
        let created = self.created.get_or_create(key);
        if done.created {
            created.inc();
        }
        self.deleted
            .get_or_create(key)
            .inc_by(u64::from(done.deleted));
        self.skipped_ticks
            .get_or_create(key)
            .inc_by(done.skipped_ticks);

        // A failure is counted when first seen; the set follows the Backups present, so
        // it stays as small as the schedule's history.
        let now: BTreeSet<String> = facts.failed_runs.iter().map(|(n, _)| n.clone()).collect();
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        let before = counted.entry(key.clone()).or_default();
        let new = now.difference(before).count() as u64;
        self.failed.get_or_create(key).inc_by(new);
        *before = now;
    }

    /// Drops the series of schedules not in `present`.
    pub fn retain(&self, present: &BTreeSet<ScheduleLabels>) {
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<ScheduleLabels> = counted
            .keys()
            .filter(|k| !present.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            counted.remove(&key);
            for family in [
                &self.last_success,
                &self.next_backup,
                &self.blocked_since,
                &self.consecutive_failures,
            ] {
                family.remove(&key);
            }
            for family in [
                &self.created,
                &self.failed,
                &self.deleted,
                &self.skipped_ticks,
            ] {
                family.remove(&key);
            }
            for state in STATES {
                self.backups.remove(&state_labels(&key, state));
            }
        }
    }
}

fn state_labels(key: &ScheduleLabels, state: &'static str) -> ScheduleStateLabels {
    ScheduleStateLabels {
        namespace: key.namespace.clone(),
        schedule: key.schedule.clone(),
        state,
    }
}
