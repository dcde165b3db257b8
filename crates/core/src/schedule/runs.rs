//! What the schedule knows about each of its Backups ("runs"): which tick it was for,
//! whether it is still in flight, and when its data is from.

use jiff::Timestamp;
use tibr_api::{Backup, BackupConditionType as C, pingcap::v1alpha1::BackupMode};

use super::backup::tick_of;

/// Where a run is, as far as the schedule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Not finished: created, scheduled, preparing, running, or retrying (`RetryFailed`).
    InFlight,
    /// Finished with data in storage.
    Complete,
    /// Finished without a usable backup (`Failed`, volume-snapshot failures).
    Failed,
    /// Refused by the Backup controller (`Invalid`).
    Invalid,
    /// Being deleted (deletion requested, or cleaning its data).
    Deleting,
}

/// One Backup of the schedule, read once.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub backup: &'a Backup,
    pub name: &'a str,
    pub state: RunState,
    /// The phase as written, for messages.
    pub phase: Option<&'a C>,
    /// The tick it was made for (annotation, else name); `None` for Backups that were not
    /// made by a tick (e.g. the schedule's log backup).
    pub tick: Option<Timestamp>,
    pub created: Option<Timestamp>,
    /// When the backed-up data is from: commit time, else tick, else creation.
    pub data_time: Option<Timestamp>,
    /// When the run finished (`timeCompleted`), else when its data is from.
    pub completed: Option<Timestamp>,
    pub is_log: bool,
}

impl<'a> Run<'a> {
    pub fn read(schedule: &str, backup: &'a Backup) -> Run<'a> {
        let status = backup.status.as_ref();
        let phase = backup.phase();
        let state = if backup.metadata.deletion_timestamp.is_some() {
            RunState::Deleting
        } else {
            state_of(backup)
        };
        let tick = tick_of(schedule, backup);
        let created = backup.metadata.creation_timestamp.as_ref().map(|t| t.0);
        let commit = status
            .and_then(|s| s.commit_ts.as_deref())
            .and_then(tso_time);
        let data_time = commit.or(tick).or(created);
        let completed = status
            .and_then(|s| s.time_completed.as_ref())
            .map(|t| t.0)
            .or(data_time);
        Run {
            backup,
            name: backup.metadata.name.as_deref().unwrap_or_default(),
            state,
            phase,
            tick,
            created,
            data_time,
            completed,
            is_log: backup.spec.mode() == BackupMode::Log,
        }
    }

    /// Since when the run has been in flight: its creation, else its tick.
    pub fn since(&self) -> Option<Timestamp> {
        self.created.or(self.tick)
    }

    /// The order runs are listed in: by tick, else by creation.
    pub fn order_key(&self) -> Option<Timestamp> {
        self.tick.or(self.created)
    }

    /// The phase for messages (`Pending` before the Backup controller has written one).
    pub fn phase_text(&self) -> &str {
        self.phase.map(|p| p.as_str()).unwrap_or("Pending")
    }
}

fn state_of(backup: &Backup) -> RunState {
    if let Some(phase) = backup.phase() {
        return match phase {
            C::Complete | C::VolumeBackupComplete => RunState::Complete,
            C::Failed | C::VolumeBackupFailed | C::VolumeBackupInitializeFailed => RunState::Failed,
            C::Invalid => RunState::Invalid,
            C::Clean | C::CleanFailed => RunState::Deleting,
            // Everything else (`RetryFailed` included: the Backup controller is still
            // trying) is a run that may yet finish.
            _ => RunState::InFlight,
        };
    }
    // No phase: an object written by a tool that only sets conditions, or not yet seen by
    // the Backup controller.
    let is = |t: C| backup.condition(&t).is_some_and(|c| c.is_true());
    if is(C::Complete) {
        RunState::Complete
    } else if is(C::Invalid) {
        RunState::Invalid
    } else if is(C::Failed) {
        RunState::Failed
    } else {
        RunState::InFlight
    }
}

/// The physical time of a TiDB timestamp (TSO): the high bits are milliseconds since the
/// Unix epoch, the low 18 bits a logical counter.
pub fn tso_time(tso: &str) -> Option<Timestamp> {
    let ts: u64 = tso.trim().parse().ok()?;
    if ts == 0 {
        return None;
    }
    Timestamp::from_millisecond(i64::try_from(ts >> 18).ok()?).ok()
}
