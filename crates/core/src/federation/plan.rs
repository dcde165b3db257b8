//! What [`decide`](super::decide) returns: data for the binary's act step, which carries
//! the writes out in order (the finalizer first; if that fails, nothing else), and for
//! [`settle`](super::settle).

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tibr_api::{Backup, VolumeBackup, federation::v1alpha1::VolumeBackupStatus};

pub use crate::backup::decide::FinalizerChange;

use super::status::{NewCondition, apply_conditions};
use crate::reconcile::{Event, sooner};

/// Everything to do about one VolumeBackup now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// `Add` is written first, before any member; `Remove` last, after the status.
    pub finalizer: Option<FinalizerChange>,
    /// Member writes, in the order to carry them out.
    pub actions: Vec<MemberAction>,
    /// The status fields to write, as decided (the observed status with this decision's
    /// fields; conditions and phase are left to [`Plan::conditions`]). `settle` takes
    /// out what a failed write did not bring about.
    pub status: VolumeBackupStatus,
    /// Conditions to set, in order; the last sets `status.phase`.
    pub conditions: Vec<NewCondition>,
    /// Events about what was observed; Events about writes come from `settle`.
    pub events: Vec<Event>,
    /// Look again after this long (the shortest wait that applies).
    pub requeue: Option<Duration>,
}

/// One write to a member Backup, in the cluster `k8s_cluster_name`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberAction {
    pub k8s_cluster_name: String,
    pub namespace: String,
    pub name: String,
    pub write: MemberWrite,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MemberWrite {
    Create(Box<Backup>),
    /// A merge patch of the member's spec (see [`MemberPatch::merge_patch`]).
    Patch(MemberPatch),
    /// Delete it, only while it still has this uid (a precondition): a member created
    /// again since belongs to a later decision.
    Delete {
        uid: Option<String>,
    },
}

/// The two spec fields through which the manager drives a member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberPatch {
    pub phase: Option<tibr_api::pingcap::v1alpha1::FederalVolumeBackupPhase>,
    pub resume_gc_schedule: Option<bool>,
}

impl MemberPatch {
    /// `{"spec": {...}}` with only the fields to change.
    pub fn merge_patch(&self) -> Value {
        let mut spec = Map::new();
        if let Some(p) = &self.phase {
            spec.insert("federalVolumeBackupPhase".into(), json!(p.as_str()));
        }
        if let Some(r) = self.resume_gc_schedule {
            spec.insert("resumeGcSchedule".into(), json!(r));
        }
        json!({ "spec": spec })
    }

    /// For Events and logs: `phase teardown and resumeGcSchedule`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.phase {
            parts.push(format!("phase {}", p.as_str()));
        }
        if self.resume_gc_schedule == Some(true) {
            parts.push("resumeGcSchedule".to_string());
        }
        parts.join(" and ")
    }
}

impl Plan {
    pub(super) fn new(vbk: &VolumeBackup) -> Self {
        Plan {
            status: vbk.status.clone().unwrap_or_default(),
            ..Plan::default()
        }
    }

    /// Adds a condition; its Event goes with it only when the condition changes something,
    /// so a wait does not repeat Events.
    pub(super) fn condition(&mut self, vbk: &VolumeBackup, c: NewCondition, event: Option<Event>) {
        let mut probe = vbk.status.clone().unwrap_or_default();
        let generation = vbk.metadata.generation;
        apply_conditions(
            &mut probe,
            &self.conditions,
            generation,
            Timestamp::UNIX_EPOCH,
        );
        if apply_conditions(
            &mut probe,
            std::slice::from_ref(&c),
            generation,
            Timestamp::UNIX_EPOCH,
        ) {
            self.events.extend(event);
            self.conditions.push(c);
        }
    }

    pub(super) fn requeue_after(&mut self, d: Duration) {
        sooner(&mut self.requeue, d);
    }

    pub(super) fn act(&mut self, cluster: &str, namespace: &str, name: &str, write: MemberWrite) {
        self.actions.push(MemberAction {
            k8s_cluster_name: cluster.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            write,
        });
    }

    /// One line for logs: what the plan does, by name.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        match self.finalizer {
            Some(FinalizerChange::Add) => parts.push("add finalizer".into()),
            Some(FinalizerChange::Remove) => parts.push("remove finalizer".into()),
            None => {}
        }
        for a in &self.actions {
            let what = match &a.write {
                MemberWrite::Create(b) => format!(
                    "create {} ({})",
                    a.name,
                    b.spec
                        .federal_volume_backup_phase
                        .as_ref()
                        .map(|p| p.as_str())
                        .unwrap_or_default()
                ),
                MemberWrite::Patch(p) => format!("set {} on {}", p.describe(), a.name),
                MemberWrite::Delete { .. } => format!("delete {}", a.name),
            };
            parts.push(format!("{what} in {}/{}", a.k8s_cluster_name, a.namespace));
        }
        for c in &self.conditions {
            parts.push(format!(
                "{}={} ({})",
                c.type_.as_str(),
                c.status.as_str(),
                c.reason
            ));
        }
        for e in &self.events {
            parts.push(format!("event {}", e.reason));
        }
        if let Some(r) = self.requeue {
            parts.push(format!("requeue {}s", r.as_secs()));
        }
        if parts.is_empty() {
            "nothing".into()
        } else {
            parts.join(", ")
        }
    }
}
