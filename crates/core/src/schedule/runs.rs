//! What the schedule knows about each of its runs (Backups or VolumeBackups): which tick
//! it was for, whether it is still in flight, and when its data is from. Each kind reads
//! its objects into a [`Run`] (`Run::of_backup` here, `Run::of_volume_backup` in
//! `volume`); everything after that is the same for both.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
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

/// One run of the schedule, read once.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    /// `Backup` or `VolumeBackup`, for messages.
    pub kind: &'static str,
    pub name: &'a str,
    pub state: RunState,
    /// The phase as written, for messages.
    pub phase: Option<&'a str>,
    /// Failing and being retried by its controller (`RetryFailed`).
    pub retrying: bool,
    /// When it failed or was found invalid (its condition's transition time).
    pub failed_at: Option<Timestamp>,
    /// `skipGC: true`: retention never deletes it.
    pub skip_gc: bool,
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
    /// A Backup of `schedule`.
    pub fn of_backup(schedule: &str, backup: &'a Backup) -> Run<'a> {
        let status = backup.status.as_ref();
        let phase = backup.phase();
        let state = state_of(backup);
        let failed_kind = if state == RunState::Invalid {
            C::Invalid
        } else {
            C::Failed
        };
        let failed_at = backup
            .condition(&failed_kind)
            .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0));
        Run::new(
            "Backup",
            schedule,
            &backup.metadata,
            Read {
                state,
                phase: phase.map(|p| p.as_str()),
                retrying: phase == Some(&C::RetryFailed),
                failed_at,
                skip_gc: false,
                commit_ts: status.and_then(|s| s.commit_ts.as_deref()),
                time_completed: status.and_then(|s| s.time_completed.as_ref()).map(|t| t.0),
                is_log: backup.spec.mode() == BackupMode::Log,
            },
        )
    }

    /// The fields every kind shares, from what the kind read; a deletion in progress
    /// overrides the state.
    pub(super) fn new(
        kind: &'static str,
        schedule: &str,
        meta: &'a ObjectMeta,
        read: Read<'a>,
    ) -> Run<'a> {
        let state = if meta.deletion_timestamp.is_some() {
            RunState::Deleting
        } else {
            read.state
        };
        let tick = tick_of(schedule, meta);
        let created = meta.creation_timestamp.as_ref().map(|t| t.0);
        let data_time = read.commit_ts.and_then(tso_time).or(tick).or(created);
        Run {
            kind,
            name: meta.name.as_deref().unwrap_or_default(),
            state,
            phase: read.phase,
            retrying: read.retrying,
            failed_at: read.failed_at,
            skip_gc: read.skip_gc,
            tick,
            created,
            data_time,
            completed: read.time_completed.or(data_time),
            is_log: read.is_log,
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
        self.phase.unwrap_or("Pending")
    }
}

/// What a kind reads from its object for [`Run::new`].
pub(super) struct Read<'a> {
    pub state: RunState,
    pub phase: Option<&'a str>,
    pub retrying: bool,
    pub failed_at: Option<Timestamp>,
    pub skip_gc: bool,
    pub commit_ts: Option<&'a str>,
    pub time_completed: Option<Timestamp>,
    pub is_log: bool,
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
