//! A snapshot's life: pending with growing progress until its duration has passed, then
//! completed or error, read off the model's clock; or, for snapshots written through the EBS
//! direct API, open until the client completes it.

use std::{collections::BTreeSet, time::Duration};

use jiff::Timestamp;

use super::{Blocks, Tags};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotState {
    Pending,
    Completed,
    Error,
}

impl SnapshotState {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotState::Pending => "pending",
            SnapshotState::Completed => "completed",
            SnapshotState::Error => "error",
        }
    }
}

/// How a snapshot ends once its duration has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    Complete,
    Fail(String),
}

/// Snapshots written through the EBS direct API complete when the client says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direct {
    Open,
    Completed,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub id: String,
    pub volume_id: String,
    /// Snapshots of one lineage may be compared block by block (ListChangedBlocks).
    pub lineage: String,
    pub volume_size_gib: i32,
    pub description: String,
    pub started: Timestamp,
    pub duration: Duration,
    pub fate: Fate,
    pub direct: Option<Direct>,
    pub tags: Tags,
    pub blocks: Blocks,
    /// Blocks written through the EBS direct API (CompleteSnapshot counts them).
    pub written: BTreeSet<u64>,
}

/// A snapshot's state at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: SnapshotState,
    /// 0 to 100.
    pub progress: u8,
    pub message: Option<String>,
}

impl Snapshot {
    pub fn status(&self, now: Timestamp) -> Status {
        let pending = |progress| Status {
            state: SnapshotState::Pending,
            progress,
            message: None,
        };
        match self.direct {
            Some(Direct::Open) => return pending(0),
            Some(Direct::Completed) => {
                return Status {
                    state: SnapshotState::Completed,
                    progress: 100,
                    message: None,
                };
            }
            None => {}
        }
        let elapsed = now.duration_since(self.started).as_secs_f64().max(0.0);
        let total = self.duration.as_secs_f64();
        if elapsed < total {
            // Never 100% while pending: BR reads 100% as done.
            return pending(((elapsed / total * 100.0) as u8).min(99));
        }
        match &self.fate {
            Fate::Complete => Status {
                state: SnapshotState::Completed,
                progress: 100,
                message: None,
            },
            Fate::Fail(message) => Status {
                state: SnapshotState::Error,
                progress: 0,
                message: Some(message.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_grows_until_the_fate() {
        let t0 = Timestamp::now();
        let mut s = Snapshot {
            id: "snap-1".into(),
            volume_id: "vol-1".into(),
            lineage: "vol-1".into(),
            volume_size_gib: 1,
            description: String::new(),
            started: t0,
            duration: Duration::from_secs(10),
            fate: Fate::Complete,
            direct: None,
            tags: Tags::new(),
            blocks: Blocks::new(),
            written: BTreeSet::new(),
        };
        let at = |secs: i64| t0 + jiff::SignedDuration::from_secs(secs);
        assert_eq!(s.status(at(0)).progress, 0);
        assert_eq!(s.status(at(5)).progress, 50);
        assert_eq!(s.status(at(5)).state, SnapshotState::Pending);
        assert_eq!(s.status(at(10)).state, SnapshotState::Completed);
        assert_eq!(s.status(at(10)).progress, 100);
        s.fate = Fate::Fail("disk on fire".into());
        let failed = s.status(at(11));
        assert_eq!(failed.state, SnapshotState::Error);
        assert_eq!(failed.message.as_deref(), Some("disk on fire"));
    }
}
