//! A VolumeBackup being deleted: every member Backup is deleted (each then follows its own
//! `cleanPolicy` in its data plane), and once none is left the VolumeBackup is `Cleaned`
//! and lets go of its finalizer. While a member reports `CleanFailed`, so does the
//! VolumeBackup, naming it.
//!
//! A member in a cluster the kubeconfig no longer names cannot be deleted, ever: it is
//! left in place, said loudly, so that `kubectl delete vbk` does not hang forever. A
//! cluster that only does not answer keeps the deletion waiting (it may come back), and
//! the Event says how to give up on it: remove its context (docs/adr/0008).

use std::collections::BTreeSet;

use jiff::Timestamp;
use tibr_api::{BackupConditionType as T, VolumeBackup, VolumeBackupConditionType as V};

use super::{
    View, deleting, has_finalizer, members,
    report::{self, Stage},
};
use crate::federation::{
    FinalizerChange, MemberWrite, Observed, Plan, Settings,
    status::{NewCondition, is_true},
};
use crate::reconcile::{Event, reasons};

pub(super) fn decide(vbk: &VolumeBackup, obs: &Observed, s: &Settings, now: Timestamp) -> Plan {
    let mut plan = Plan::new(vbk);
    if !has_finalizer(vbk) {
        return plan;
    }
    let members = members(vbk, obs);
    let mut seen = BTreeSet::new();
    let mut remaining = false;
    let mut clean_failed = Vec::new();
    let mut kept = Vec::new();
    for m in &members {
        if !seen.insert(m.cluster.k8s_cluster_name.clone()) {
            continue;
        }
        match m.view {
            View::Ours(b) => {
                remaining = true;
                if !deleting(b) {
                    plan.act(
                        &m.cluster.k8s_cluster_name,
                        &m.cluster.tc_namespace,
                        &m.name,
                        MemberWrite::Delete {
                            uid: b.metadata.uid.clone(),
                        },
                    );
                }
                if let Some(c) = b.condition(&T::CleanFailed).filter(|c| c.is_true()) {
                    let why = c
                        .message
                        .clone()
                        .or_else(|| c.reason.clone())
                        .unwrap_or_default();
                    clean_failed.push(format!("{}: {why}", m.label()));
                }
            }
            View::Foreign(_) => kept.push(format!("{} (no member of a VolumeBackup)", m.label())),
            View::Absent => {}
            View::UnknownContext => {
                // No entry: either nothing was created there, or the status write that
                // followed the creation failed (a conflict with this very deletion, say).
                // Only a backup refused before it began is known to have created nothing.
                if m.entry.is_none() && never_began(vbk) {
                    continue;
                }
                let cluster = &m.cluster.k8s_cluster_name;
                let path = m
                    .entry
                    .and_then(|e| e.backup_path.as_deref())
                    .map(|p| format!(" and its files at {p}"))
                    .unwrap_or_default();
                let what = if m.entry.is_some() {
                    format!("{} is not deleted", m.label())
                } else {
                    format!(
                        "{} may exist (no status entry says whether it was created) and is not \
                         deleted",
                        m.label()
                    )
                };
                plan.events.push(Event::warning(
                    reasons::MEMBER_DATA_KEPT,
                    "DeleteMember",
                    format!(
                        "{what}: {cluster} is no context of the federation kubeconfig any more. \
                         The Backup, its snapshots{path} stay in that cluster untouched; to find \
                         it: kubectl --context {cluster} -n {} get backup {}",
                        m.cluster.tc_namespace, m.name
                    ),
                ));
                kept.push(format!(
                    "{} (its cluster is no context of the kubeconfig)",
                    m.label()
                ));
            }
            View::Unreachable { .. } => {
                remaining = true;
                report::wait_for(m, Stage::Deletion, s, now, &mut plan);
            }
        }
    }
    report::refresh(vbk, &members, true, &mut plan);
    if !remaining {
        let note = if kept.is_empty() {
            "no member Backup is left".to_string()
        } else {
            format!(
                "no member Backup is left but these, kept: {}",
                kept.join("; ")
            )
        };
        plan.condition(
            vbk,
            NewCondition::true_(V::Cleaned, reasons::MEMBERS_DELETED, note.clone()),
            Some(Event::normal(reasons::MEMBERS_DELETED, "Clean", note)),
        );
        plan.finalizer = Some(FinalizerChange::Remove);
        return plan;
    }
    if !clean_failed.is_empty() {
        let note = format!(
            "cleaning failed in a data plane (each retries on its own): {}",
            clean_failed.join("; ")
        );
        plan.condition(
            vbk,
            NewCondition::true_(V::CleanFailed, reasons::MEMBER_CLEAN_FAILED, note.clone()),
            Some(Event::warning(reasons::MEMBER_CLEAN_FAILED, "Clean", note)),
        );
    }
    plan.requeue_after(s.poll_interval);
    plan
}

/// Refused by validation and never started: no member was created anywhere.
fn never_began(vbk: &VolumeBackup) -> bool {
    let status = vbk.status.as_ref();
    is_true(status, &V::Invalid)
        && status.is_none_or(|s| {
            s.time_started.is_none() && !s.conditions.iter().any(|c| c.type_ == V::Running)
        })
}
