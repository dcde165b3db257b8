//! TiKV's GC life time during a backup, as pure decisions (spec-backup §4.4, design §3.2).
//!
//! A backup needs `tikv_gc_life_time` at least as long as `spec.tikvGCLifeTime` (72h by
//! default) so TiKV keeps the versions BR reads. TiDB Operator raises it when smaller and
//! writes the old value back afterwards, but loses the old value when the pod dies, reads an
//! already raised value as "old" on a re-run, and lets concurrent backups of one cluster
//! restore each other's raise too early. Here:
//!
//! - the value found is recorded in the Backup's `status.gcLifeTime` *before* anything is
//!   changed ([`plan_raise`] returns the record to write first);
//! - the original comes from this Backup's own record on a re-run, else from the record of
//!   another Backup of the same TiDB cluster that still holds a raise, else from the cluster:
//!   a raised value is never mistaken for the original;
//! - a Backup whose value was already long enough but which runs while another one's raise is
//!   in place also takes responsibility for putting the original back (it "holds" the raise);
//! - at the end ([`plan_restore`]) the original goes back only if no other running Backup of
//!   the cluster still holds a raise (then it is handed over: the last one out restores), and
//!   only if the cluster still has a value a backup set; a value someone else changed is left
//!   alone and the reason is reported.
//!
//! The operator uses the same [`plan_restore`] to finish the job for an agent that died, with
//! the other Backups as peers. Two Backups that end at the same instant may both hand over;
//! the operator then restores for the one that is no longer running, so nothing is left
//! raised. Durations are compared as Go durations (`72h` equals `72h0m0s`).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::{
    Backup, BackupConditionType,
    pingcap::v1alpha1::{BackupStatus, GcLifeTimeRecord},
};

use crate::backup::ClusterRef;
use crate::duration::{format_go_duration, parse_go_duration};

/// Another Backup of the same TiDB cluster, as far as the GC life time is concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub backup: String,
    pub record: GcLifeTimeRecord,
    /// Its backup has not ended yet (it may still need the raised value).
    pub running: bool,
}

impl Peer {
    /// Whether this peer still relies on a raised value.
    pub fn holds_raise(&self) -> bool {
        self.running && self.record.needs_restore()
    }
}

/// The peer view of a Backup's status; `None` when it has no GC life time record.
pub fn peer(backup: &str, status: Option<&BackupStatus>) -> Option<Peer> {
    let status = status?;
    let record = status.gc_life_time.clone()?;
    Some(Peer {
        backup: backup.to_string(),
        record,
        running: !status.phase.as_ref().is_some_and(is_ended),
    })
}

/// The Backups of TiDB cluster `cluster` among `backups`, except `namespace/name` itself, as
/// peers (those without a GC life time record are left out). A peer in another namespace
/// is named `namespace/name`. The agent passes its own namespace's Backups (its RBAC), the
/// operator every Backup it can see.
pub fn peers(cluster: &ClusterRef, namespace: &str, name: &str, backups: &[Backup]) -> Vec<Peer> {
    backups
        .iter()
        .filter_map(|b| peer_of(cluster, namespace, name, b))
        .collect()
}

/// `other` as a peer of Backup `namespace/name` of `cluster`, by the rules of [`peers`]; for
/// a caller that reads Backups a page at a time.
pub fn peer_of(cluster: &ClusterRef, namespace: &str, name: &str, other: &Backup) -> Option<Peer> {
    if ClusterRef::of(other).as_ref() != Some(cluster) {
        return None;
    }
    let other_name = other.metadata.name.as_deref()?;
    let ns = other.metadata.namespace.as_deref().unwrap_or(namespace);
    if (ns, other_name) == (namespace, name) {
        return None;
    }
    let label = if ns == namespace {
        other_name.to_string()
    } else {
        format!("{ns}/{other_name}")
    };
    peer(&label, other.status.as_ref())
}

/// Phases after which a backup no longer reads from TiKV.
fn is_ended(phase: &BackupConditionType) -> bool {
    matches!(
        phase,
        BackupConditionType::Complete
            | BackupConditionType::Failed
            | BackupConditionType::Invalid
            | BackupConditionType::Clean
            | BackupConditionType::CleanFailed
    )
}

/// The value in the cluster could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tikv_gc_life_time {value:?} is not a Go duration: {detail}")]
pub struct InvalidValue {
    pub value: String,
    pub detail: String,
}

fn parse(value: &str) -> Result<Duration, InvalidValue> {
    parse_go_duration(value).map_err(|detail| InvalidValue {
        value: value.to_string(),
        detail,
    })
}

fn same(a: &str, b: &str) -> bool {
    matches!((parse_go_duration(a), parse_go_duration(b)), (Ok(x), Ok(y)) if x == y)
}

/// What to do before the backup starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RaisePlan {
    /// Write this to `status.gcLifeTime` before touching the cluster.
    pub record: GcLifeTimeRecord,
    /// The value to set, when the current one is too short.
    pub set: Option<String>,
    /// One sentence for logs and Events.
    pub explanation: String,
}

/// Decides the raise from the value now in the cluster (`current`), the value the backup
/// needs (`target`), this Backup's record from an earlier run (`own`) and the other Backups
/// of the same TiDB cluster (`peers`).
pub fn plan_raise(
    current: &str,
    target: Duration,
    own: Option<&GcLifeTimeRecord>,
    peers: &[Peer],
    now: jiff::Timestamp,
) -> Result<RaisePlan, InvalidValue> {
    let current_d = parse(current)?;
    let target_text = format_go_duration(target);
    let inherited = peers
        .iter()
        .filter(|p| p.record.needs_restore())
        // The earliest raise saw the cluster before any backup touched it.
        .min_by_key(|p| p.record.raised_at.as_ref().map(|t| t.0));
    let (original, source) = match (own.filter(|r| r.raised_to.is_some()), inherited) {
        (Some(record), _) => (
            record.original.clone(),
            "recorded by an earlier run of this backup".to_string(),
        ),
        (None, Some(p)) => (
            p.record.original.clone(),
            format!("recorded by backup {} which raised it", p.backup),
        ),
        (None, None) => (current.to_string(), "found in the cluster".to_string()),
    };
    let raised_at = Some(Time(now));
    if current_d < target {
        return Ok(RaisePlan {
            record: GcLifeTimeRecord {
                original: original.clone(),
                raised_to: Some(target_text.clone()),
                raised_at,
                restored: false,
                restored_at: None,
            },
            set: Some(target_text.clone()),
            explanation: format!(
                "raising tikv_gc_life_time from {current} to {target_text} for the backup; \
                 the original {original} ({source}) will be restored"
            ),
        });
    }
    if same(current, &original) {
        return Ok(RaisePlan {
            record: GcLifeTimeRecord {
                original,
                raised_to: None,
                raised_at: None,
                restored: true,
                restored_at: None,
            },
            set: None,
            explanation: format!(
                "tikv_gc_life_time is {current}, at least the {target_text} the backup needs: \
                 nothing to change"
            ),
        });
    }
    // Long enough, but only because a backup raised it: keep it and restore it at the end.
    Ok(RaisePlan {
        record: GcLifeTimeRecord {
            original: original.clone(),
            raised_to: Some(current.to_string()),
            raised_at,
            restored: false,
            restored_at: None,
        },
        set: None,
        explanation: format!(
            "tikv_gc_life_time is already {current} (raised by a backup), enough for the \
             {target_text} needed; the original {original} ({source}) will be restored"
        ),
    })
}

/// What to do when the backup has ended (on every exit path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restore {
    /// Nothing was raised for this backup (or it was already dealt with).
    Nothing,
    /// The cluster already has the original value; just mark the record.
    AlreadyRestored,
    /// Set the original value back.
    Set { value: String },
    /// Other running backups of the cluster still hold a raise: leave the value, they (or the
    /// operator, if they die) restore it. The record stays "not restored".
    HandOver { to: Vec<String> },
    /// Someone else changed the value: leave it, mark the record done, and say why.
    Skip { reason: String },
}

/// Decides the restore for `own` given the value now in the cluster and the peers.
pub fn plan_restore(own: &GcLifeTimeRecord, current: &str, peers: &[Peer]) -> Restore {
    if !own.needs_restore() {
        return Restore::Nothing;
    }
    let current_d = match parse(current) {
        Ok(d) => d,
        Err(e) => {
            return Restore::Skip {
                reason: format!("{e}; left as it is"),
            };
        }
    };
    if parse_go_duration(&own.original).is_ok_and(|o| o == current_d) {
        return Restore::AlreadyRestored;
    }
    let holders: Vec<String> = peers
        .iter()
        .filter(|p| p.holds_raise())
        .map(|p| p.backup.clone())
        .collect();
    if !holders.is_empty() {
        return Restore::HandOver { to: holders };
    }
    let set_by_a_backup = std::iter::once(own)
        .chain(peers.iter().map(|p| &p.record))
        .filter_map(|r| r.raised_to.as_deref())
        .any(|v| parse_go_duration(v).is_ok_and(|d| d == current_d));
    if set_by_a_backup {
        Restore::Set {
            value: own.original.clone(),
        }
    } else {
        Restore::Skip {
            reason: format!(
                "tikv_gc_life_time was changed to {current} by someone else while the backup \
                 ran (it set {}); left as it is instead of restoring {}",
                own.raised_to.as_deref().unwrap_or("nothing"),
                own.original
            ),
        }
    }
}

/// Marks `record` as dealt with at `now` (restored, already restored, or skipped).
pub fn mark_restored(record: &mut GcLifeTimeRecord, now: jiff::Timestamp) {
    record.restored = true;
    record.restored_at = Some(Time(now));
}

#[cfg(test)]
mod tests;
