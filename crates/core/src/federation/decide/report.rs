//! What the status says about the members: `status.backups[]` refreshed from them, the
//! pause window read from the initialize member, the end's commitTs and sizes, and the
//! waits on member clusters that cannot be read.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::{
    Backup, BackupConditionType as T, VolumeBackup, federation::v1alpha1::VolumeBackupMemberStatus,
};

use super::{Member, View, failed_condition, failure_text, init_index};
use crate::backup::status::readable_size;
use crate::duration::format_go_duration;
use crate::federation::{MemberWrite, Plan, Settings};
use crate::reconcile::{Event, reasons};

/// Refreshes `status.backups[]` (spec order; entries of clusters no longer listed kept
/// after them) and the pause window. While `deleting`, a member found gone is dropped
/// rather than reported missing.
pub(super) fn refresh(vbk: &VolumeBackup, members: &[Member<'_>], deleting: bool, plan: &mut Plan) {
    let old = vbk
        .status
        .as_ref()
        .map(|s| s.backups.clone())
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    let mut entries = Vec::new();
    for m in members {
        let cluster = &m.cluster.k8s_cluster_name;
        if !seen.insert(cluster.clone()) {
            continue;
        }
        let created_now = plan
            .actions
            .iter()
            .any(|a| &a.k8s_cluster_name == cluster && matches!(a.write, MemberWrite::Create(_)));
        let entry = match m.view {
            View::Ours(b) | View::Foreign(b) => Some(from_backup(m, b)),
            View::Absent if created_now => Some(base(m)),
            View::Absent if deleting => None,
            View::Absent => m.entry.map(|e| {
                noted(
                    e,
                    reasons::MEMBER_NOT_FOUND,
                    format!("{} no longer exists", m.label()),
                )
            }),
            View::UnknownContext => m.entry.map(|e| {
                noted(
                    e,
                    reasons::UNKNOWN_KUBERNETES_CLUSTER,
                    format!(
                        "Kubernetes cluster {cluster} is no context of the federation kubeconfig: \
                         this member cannot be read; what is shown is as last read"
                    ),
                )
            }),
            View::Unreachable { error, since } => m.entry.map(|e| {
                noted(
                    e,
                    reasons::KUBERNETES_CLUSTER_UNREACHABLE,
                    format!(
                        "Kubernetes cluster {cluster} does not answer since {since}: {error}; what \
                         is shown is as last read"
                    ),
                )
            }),
        };
        entries.extend(entry);
    }
    entries.extend(
        old.into_iter()
            .filter(|e| !seen.contains(e.k8s_cluster_name.as_deref().unwrap_or_default())),
    );
    plan.status.backups = entries;
    if let Some(init) = members.get(init_index(members)).and_then(Member::ours) {
        pause_window(init, plan);
    }
}

fn base(m: &Member<'_>) -> VolumeBackupMemberStatus {
    VolumeBackupMemberStatus {
        k8s_cluster_name: Some(m.cluster.k8s_cluster_name.clone()),
        tc_name: Some(m.cluster.tc_name.clone()),
        tc_namespace: Some(m.cluster.tc_namespace.clone()),
        backup_name: m.name.clone(),
        ..VolumeBackupMemberStatus::default()
    }
}

fn from_backup(m: &Member<'_>, b: &Backup) -> VolumeBackupMemberStatus {
    let status = b.status.clone().unwrap_or_default();
    let (reason, message) = match m.view {
        View::Foreign(_) => (
            Some(reasons::MEMBER_NAME_TAKEN.to_string()),
            Some(format!(
                "{} is no member of a VolumeBackup (backupMode {}); it is left alone",
                m.label(),
                b.spec.mode().as_str()
            )),
        ),
        _ => match failed_condition(b) {
            Some(c) => (
                Some(
                    c.reason
                        .clone()
                        .unwrap_or_else(|| c.type_.as_str().to_string()),
                ),
                Some(c.message.clone().unwrap_or_else(|| failure_text(c))),
            ),
            None => (None, None),
        },
    };
    VolumeBackupMemberStatus {
        phase: status.phase,
        backup_path: status.backup_path,
        backup_size: status.backup_size,
        commit_ts: status.commit_ts,
        reason,
        message,
        ..base(m)
    }
}

fn noted(e: &VolumeBackupMemberStatus, reason: &str, message: String) -> VolumeBackupMemberStatus {
    VolumeBackupMemberStatus {
        reason: Some(reason.to_string()),
        message: Some(message),
        ..e.clone()
    }
}

/// When a condition of the member turned `True`.
fn since(b: &Backup, t: T) -> Option<Timestamp> {
    b.condition(&t)
        .filter(|c| c.is_true())
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

/// The pause is what the initialize member reports: from `VolumeBackupInitialized` to
/// `VolumeBackupInitializeComplete` (or `...Failed`, which also ends it).
fn pause_window(init: &Backup, plan: &mut Plan) {
    let Some(paused) = since(init, T::VolumeBackupInitialized) else {
        return;
    };
    plan.status.time_paused = Some(Time(paused));
    let resumed = since(init, T::VolumeBackupInitializeComplete)
        .or_else(|| since(init, T::VolumeBackupInitializeFailed));
    if let Some(resumed) = resumed {
        plan.status.time_resumed = Some(Time(resumed));
        plan.status.pause_window = Some(format_go_duration(whole_seconds(paused, resumed)));
    }
}

/// ` (GC and PD scheduling were paused for 1m30s)`, when the member says so.
pub(super) fn pause_note(init: &Backup) -> String {
    match (
        since(init, T::VolumeBackupInitialized),
        since(init, T::VolumeBackupInitializeComplete),
    ) {
        (Some(p), Some(r)) => format!(
            " (GC and PD scheduling were paused for {})",
            format_go_duration(whole_seconds(p, r))
        ),
        _ => String::new(),
    }
}

/// `to - from`, rounded to seconds as TiDB shows durations, never negative.
fn whole_seconds(from: Timestamp, to: Timestamp) -> Duration {
    let ms = to.duration_since(from).as_millis().max(0);
    Duration::from_secs(u64::try_from((ms + 500) / 1000).unwrap_or(0))
}

/// What the end records: the smallest commitTs (when every member has one) and the sum of
/// the members' sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Summary {
    pub commit_ts: Option<u64>,
    pub size: i64,
}

/// The end of a complete backup. Each member's commitTs is the TSO its snapshots are
/// consistent at; all of them hold every transaction up to the smallest one, which a
/// restore truncates to. A member without a TSO there makes the backup unusable, said so.
pub(super) fn summary(members: &[Member<'_>]) -> Result<Summary, String> {
    let mut smallest: Option<u64> = None;
    for m in members {
        let b = m.ours().expect("a complete member is observed");
        let text = b
            .status
            .as_ref()
            .and_then(|s| s.commit_ts.clone())
            .unwrap_or_default();
        let ts = text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|ts| *ts > 0)
            .ok_or_else(|| {
                format!(
                    "{} completed with commitTs {text:?}, which is not a TSO: without every \
                     member's commitTs the backup has no point a restore can be consistent at",
                    m.label()
                )
            })?;
        smallest = Some(smallest.map_or(ts, |s| s.min(ts)));
    }
    Ok(Summary {
        commit_ts: smallest,
        size: sizes_only(members).size,
    })
}

/// The sum of the sizes members report, for a backup that ends without a commitTs.
pub(super) fn sizes_only(members: &[Member<'_>]) -> Summary {
    let size = members
        .iter()
        .filter_map(Member::ours)
        .filter_map(|b| b.status.as_ref()?.backup_size)
        .fold(0i64, i64::saturating_add);
    Summary {
        commit_ts: None,
        size,
    }
}

/// `timeCompleted`, `timeTaken`, sizes and commitTs of a VolumeBackup that ends now.
pub(super) fn finish(summary: &Summary, now: Timestamp, plan: &mut Plan) {
    let started = plan.status.time_started.as_ref().map_or(now, |t| t.0);
    plan.status.time_completed = Some(Time(now));
    plan.status.time_taken = Some(format_go_duration(whole_seconds(started, now)));
    plan.status.backup_size = Some(summary.size);
    plan.status.backup_size_readable =
        Some(readable_size(u64::try_from(summary.size).unwrap_or(0)));
    if let Some(ts) = summary.commit_ts {
        plan.status.commit_ts = Some(ts.to_string());
    }
}

/// Which step waits on a member cluster that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Start,
    Backup,
    Deletion,
}

/// A member cluster that cannot be read: a Warning Event naming it, the error and the way
/// out, and a wait that grows with how long it has not answered (bounded), or, for a
/// name the kubeconfig lost, the registry's reload interval.
pub(super) fn wait_for(
    m: &Member<'_>,
    stage: Stage,
    s: &Settings,
    now: Timestamp,
    plan: &mut Plan,
) {
    let cluster = &m.cluster.k8s_cluster_name;
    let label = m.label();
    match m.view {
        View::Unreachable { error, since } => {
            let (purpose, way_out) = match stage {
                Stage::Start => (
                    "before pausing GC and PD scheduling",
                    "nothing is paused until every member cluster answers; retrying",
                ),
                Stage::Backup => (
                    "to carry the backup on",
                    "retrying; the backup goes on when it answers (deleting the VolumeBackup \
                     gives up on it)",
                ),
                Stage::Deletion => (
                    "to delete its member",
                    "the VolumeBackup stays until the member is deleted; to give up on it, \
                     remove this context from the federation kubeconfig: the member and its \
                     data are then left in that cluster",
                ),
            };
            plan.events.push(Event::warning(
                reasons::KUBERNETES_CLUSTER_UNREACHABLE,
                "ReadMember",
                format!(
                    "cannot reach Kubernetes cluster {cluster} {purpose} ({label}), failing since \
                     {since}: {error}; {way_out}"
                ),
            ));
            let waited = whole_seconds(since, now);
            plan.requeue_after(waited.clamp(s.unreachable_min, s.unreachable_max));
        }
        View::UnknownContext => {
            let way_out = match stage {
                Stage::Start => "add its context to the kubeconfig",
                Stage::Backup | Stage::Deletion => {
                    "add its context back, or delete this VolumeBackup: the member is then left \
                     in that cluster"
                }
            };
            plan.events.push(Event::warning(
                reasons::UNKNOWN_KUBERNETES_CLUSTER,
                "ReadMember",
                format!(
                    "Kubernetes cluster {cluster} is no context of the federation kubeconfig, so \
                     {label} cannot be read; {way_out}"
                ),
            ));
            plan.requeue_after(s.registry_interval);
        }
        _ => {}
    }
}
