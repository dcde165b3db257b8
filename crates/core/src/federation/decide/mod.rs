//! [`decide`]`(&VolumeBackup, &Observed, &Settings, now) -> Plan`.
//!
//! - `active`: the protocol. Before any member exists: validation (cluster names
//!   included), `Running`, and the initialize member once every cluster answers. Then:
//!   the other members once the first reports GC and scheduling paused, the resume once
//!   every member requested its snapshots, teardown once every member completed or at the
//!   first failure, and the end once every member is terminal.
//! - `deletion`: every member Backup deleted, then `Cleaned` and the finalizer released.
//! - `report`: `status.backups[]`, the pause window, sizes and commitTs, and the waits on
//!   clusters that do not answer.
//!
//! Members are read through [`Member`]: what its cluster answered, classified once.

mod active;
mod deletion;
mod report;

use jiff::Timestamp;
use tibr_api::{
    Backup, BackupCondition, BackupConditionType as T, VolumeBackup,
    VolumeBackupConditionType as V,
    constants::BACKUP_PROTECTION_FINALIZER,
    federation::v1alpha1::VolumeBackupMemberStatus,
    pingcap::v1alpha1::{BackupMode, FederalVolumeBackupPhase as Phase},
};

use super::{
    Observed, Plan, Settings, member::member_name, observed::Access, status::is_true,
    validate::MemberCluster,
};

/// Decides what to do about `vbk` now.
pub fn decide(
    vbk: &VolumeBackup,
    observed: &Observed,
    settings: &Settings,
    now: Timestamp,
) -> Plan {
    let mut plan = if vbk.metadata.deletion_timestamp.is_some() {
        deletion::decide(vbk, observed, settings, now)
    } else if is_settled(vbk) {
        Plan::new(vbk)
    } else {
        active::decide(vbk, observed, settings, now)
    };
    plan.events.dedup();
    plan
}

/// Whether nothing is left to do: `Complete` or `Failed` and not being deleted (a failed
/// VolumeBackup is never retried), or being deleted without our finalizer. The binary
/// need not read any member cluster for it.
pub fn is_settled(vbk: &VolumeBackup) -> bool {
    if vbk.metadata.deletion_timestamp.is_some() {
        return !has_finalizer(vbk);
    }
    let status = vbk.status.as_ref();
    is_true(status, &V::Complete) || is_true(status, &V::Failed)
}

fn has_finalizer(vbk: &VolumeBackup) -> bool {
    vbk.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == BACKUP_PROTECTION_FINALIZER)
}

/// What a member's cluster answered, classified.
#[derive(Debug, Clone, Copy)]
enum View<'a> {
    /// A member Backup (volume-snapshot, driven by a federation phase). Only spec fields
    /// and the name say so, never labels: a stock TiDB manager's members count too.
    Ours(&'a Backup),
    /// The member's name is taken by some other Backup: never driven, never deleted.
    Foreign(&'a Backup),
    /// The cluster answered: there is no Backup of that name.
    Absent,
    UnknownContext,
    Unreachable {
        error: &'a str,
        since: Timestamp,
    },
}

/// One member: where it is, what was observed, and what the status last recorded.
#[derive(Debug, Clone)]
struct Member<'a> {
    index: usize,
    cluster: MemberCluster,
    name: String,
    view: View<'a>,
    /// Its entry in `status.backups`: written once it was created (or seen), so an entry
    /// means "this member existed".
    entry: Option<&'a VolumeBackupMemberStatus>,
}

impl<'a> Member<'a> {
    fn ours(&self) -> Option<&'a Backup> {
        match self.view {
            View::Ours(b) => Some(b),
            _ => None,
        }
    }

    fn observable(&self) -> bool {
        !matches!(self.view, View::UnknownContext | View::Unreachable { .. })
    }

    /// It has reached its end, or has none to wait for: Complete, Failed or Invalid,
    /// going away, not ours, gone, or never created.
    fn terminal(&self) -> bool {
        match self.view {
            View::Ours(b) => {
                has(b, T::Complete) || has(b, T::Failed) || has(b, T::Invalid) || deleting(b)
            }
            View::Foreign(_) | View::Absent => true,
            // Not created as far as the status knows: nothing there to wait for.
            View::UnknownContext | View::Unreachable { .. } => self.entry.is_none(),
        }
    }

    fn complete(&self) -> bool {
        self.ours().is_some_and(|b| has(b, T::Complete))
    }

    /// `<namespace>/<name> in <cluster>`, how messages name a member.
    fn label(&self) -> String {
        format!(
            "Backup {}/{} in Kubernetes cluster {}",
            self.cluster.tc_namespace, self.name, self.cluster.k8s_cluster_name
        )
    }

    /// Why this member stops the backup, if it does. `past_creation`: GC and scheduling
    /// were asked to resume, so a member missing now can never be created consistently.
    /// Called once the backup began, so a missing initialize member is a lost one.
    fn failure(&self, past_creation: bool, is_init: bool) -> Option<String> {
        match self.view {
            View::Ours(b) => {
                if deleting(b) {
                    return Some("is being deleted in its cluster".into());
                }
                failed_condition(b).map(failure_text)
            }
            View::Foreign(b) => Some(format!(
                "its name is taken by a Backup that is no member of a VolumeBackup (backupMode {}, \
                 no federalVolumeBackupPhase); it is left alone",
                b.spec.mode().as_str()
            )),
            View::Absent if self.entry.is_some() => {
                Some("no longer exists in its cluster (deleted by someone else)".into())
            }
            View::Absent if past_creation => Some(
                "was never created, and cannot be now that GC and PD scheduling resumed".into(),
            ),
            View::Absent if is_init => Some(
                "no longer exists in its cluster while other members do: GC and PD scheduling are \
                 no longer paused for them"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Every member in spec order, classified.
fn members<'a>(vbk: &'a VolumeBackup, observed: &'a Observed) -> Vec<Member<'a>> {
    let name = member_name(vbk.metadata.name.as_deref().unwrap_or_default());
    let entries = vbk
        .status
        .as_ref()
        .map(|s| s.backups.as_slice())
        .unwrap_or_default();
    vbk.spec
        .clusters
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let cluster = MemberCluster::from_spec(c);
            let view = match observed
                .members
                .iter()
                .find(|m| m.k8s_cluster_name == cluster.k8s_cluster_name)
                .map(|m| &m.access)
            {
                Some(Access::Reachable(Some(b))) if is_member(b) => View::Ours(b),
                Some(Access::Reachable(Some(b))) => View::Foreign(b),
                Some(Access::Reachable(None)) => View::Absent,
                Some(Access::UnknownContext) => View::UnknownContext,
                Some(Access::Unreachable { error, since }) => View::Unreachable {
                    error,
                    since: *since,
                },
                // Not read: never taken for "absent".
                None => View::Unreachable {
                    error: "not read by this reconcile",
                    since: Timestamp::UNIX_EPOCH,
                },
            };
            let entry = entries
                .iter()
                .find(|e| e.k8s_cluster_name.as_deref() == Some(cluster.k8s_cluster_name.as_str()));
            Member {
                index,
                cluster,
                name: name.clone(),
                view,
                entry,
            }
        })
        .collect()
}

fn is_member(b: &Backup) -> bool {
    b.spec.mode() == BackupMode::VolumeSnapshot && b.spec.federal_volume_backup_phase.is_some()
}

fn has(b: &Backup, t: T) -> bool {
    b.condition(&t).is_some_and(|c| c.is_true())
}

fn deleting(b: &Backup) -> bool {
    b.metadata.deletion_timestamp.is_some()
}

fn phase(b: &Backup) -> Option<&Phase> {
    b.spec.federal_volume_backup_phase.as_ref()
}

fn resume_asked(b: &Backup) -> bool {
    b.spec.resume_gc_schedule == Some(true)
}

/// The condition that says why a member failed, most telling first: its spec, the pause,
/// the snapshots, then the data plane's final word (which, after a teardown, only says
/// what came before).
fn failed_condition(b: &Backup) -> Option<&BackupCondition> {
    [
        T::Invalid,
        T::VolumeBackupInitializeFailed,
        T::VolumeBackupFailed,
        T::Failed,
    ]
    .iter()
    .find_map(|t| b.condition(t).filter(|c| c.is_true()))
}

/// `Type: message` of a failed member's condition.
fn failure_text(c: &BackupCondition) -> String {
    let message = c
        .message
        .as_deref()
        .or(c.reason.as_deref())
        .unwrap_or("no message");
    format!("{}: {message}", c.type_.as_str())
}

/// The member that pauses GC and PD scheduling: the one that says so (its phase or the
/// pause's conditions), else the first listed, which is where it is created. Found from
/// the members themselves, so a reordered spec cannot move it.
fn init_index(members: &[Member<'_>]) -> usize {
    members
        .iter()
        .find(|m| {
            m.ours().is_some_and(|b| {
                phase(b) == Some(&Phase::Initialize)
                    || resume_asked(b)
                    || [
                        T::VolumeBackupInitialized,
                        T::VolumeBackupInitializeFailed,
                        T::VolumeBackupInitializeComplete,
                    ]
                    .iter()
                    .any(|t| b.condition(t).is_some())
            })
        })
        .map_or(0, |m| m.index)
}
