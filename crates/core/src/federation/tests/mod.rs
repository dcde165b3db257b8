//! Table tests of the federation manager's decisions: builders for a VolumeBackup over
//! three Kubernetes clusters and its members in any state, and inspectors of a plan.

mod deletion;
mod failures;
mod member;
mod protocol;
mod reach;
mod restart;
mod settle;
mod sim;
mod validate;

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};
use tibr_api::{
    Backup, BackupCondition, BackupConditionType as T, ConditionStatus, VolumeBackup,
    VolumeBackupConditionType as V, constants::BACKUP_PROTECTION_FINALIZER,
    pingcap::v1alpha1::FederalVolumeBackupPhase as Phase,
};

use super::{
    Access, MemberCluster, MemberPatch, MemberWrite, Observed, ObservedMember, Plan, Settings,
    decide, member_backup,
};
use crate::reconcile::EventKind;

pub const NOW: &str = "2026-05-01T10:00:00Z";

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn now() -> Timestamp {
    ts(NOW)
}

pub fn settings() -> Settings {
    Settings::default()
}

pub const CLUSTERS: [&str; 3] = ["k8s1", "k8s2", "k8s3"];

/// The user's VolumeBackup: three data planes, S3 with a kube2iam role, cleanPolicy
/// Delete, as the federation documentation writes it. Not yet seen by the manager.
pub fn vbk() -> VolumeBackup {
    serde_json::from_value(json!({
        "apiVersion": "federation.pingcap.com/v1alpha1", "kind": "VolumeBackup",
        "metadata": {"name": "vbk1", "namespace": "br-fed", "uid": "vbk-uid", "generation": 1,
            "labels": {"team": "db"},
            "annotations": {"iam.amazonaws.com/role": "arn:aws:iam::123456789012:role/backup"}},
        "spec": {
            "clusters": [
                {"k8sClusterName": "k8s1", "tcName": "tc1", "tcNamespace": "ns1"},
                {"k8sClusterName": "k8s2", "tcName": "tc2", "tcNamespace": "ns2"},
                {"k8sClusterName": "k8s3", "tcName": "tc3", "tcNamespace": "ns3"}
            ],
            "template": {
                "br": {"sendCredToTikv": false, "concurrency": 8, "options": ["--log-level=debug"]},
                "s3": {"provider": "aws", "region": "us-west-2", "bucket": "my-bucket",
                       "prefix": "daily/vbk1"},
                "toolImage": "pingcap/br:v8.5.0",
                "cleanPolicy": "Delete",
                "calcSizeLevel": "full",
                "volumeBackupInitJobMaxActiveSeconds": 300,
                "snapshotsDeleteRatio": 0.5,
                "priorityClassName": "backup-critical",
                "serviceAccount": "tidb-backup-manager"
            }
        }
    }))
    .unwrap()
}

/// Builders over a VolumeBackup, applied in the order written.
pub trait VbkExt: Sized {
    /// Merges `patch` into the object (JSON merge; `null` removes).
    fn tweak(self, patch: Value) -> Self;
    /// Carries the finalizer (the manager has seen it).
    fn protected(self) -> Self;
    /// A condition, `True` since `at`.
    fn with(self, type_: V, at: &str) -> Self;
    /// `status.backups[]` records a member in `cluster` (it was created).
    fn entry(self, cluster: &str) -> Self;
    fn deleting(self) -> Self;
}

impl VbkExt for VolumeBackup {
    fn tweak(self, patch: Value) -> Self {
        let mut v = serde_json::to_value(&self).unwrap();
        merge(&mut v, patch);
        serde_json::from_value(v).unwrap()
    }
    fn protected(mut self) -> Self {
        self.metadata
            .finalizers
            .get_or_insert_with(Vec::new)
            .push(BACKUP_PROTECTION_FINALIZER.into());
        self
    }
    fn with(mut self, type_: V, at: &str) -> Self {
        let status = self.status.get_or_insert_with(Default::default);
        status.conditions.push(tibr_api::VolumeBackupCondition {
            type_: type_.clone(),
            status: ConditionStatus::True,
            last_transition_time: Some(Time(ts(at))),
            reason: None,
            message: None,
            observed_generation: Some(1),
        });
        if type_ == V::Running {
            status.time_started = Some(Time(ts(at)));
        }
        status.phase = Some(type_);
        self
    }
    fn entry(mut self, cluster: &str) -> Self {
        let i = CLUSTERS.iter().position(|c| *c == cluster).unwrap() + 1;
        let status = self.status.get_or_insert_with(Default::default);
        status
            .backups
            .push(tibr_api::federation::v1alpha1::VolumeBackupMemberStatus {
                k8s_cluster_name: Some(cluster.into()),
                tc_name: Some(format!("tc{i}")),
                tc_namespace: Some(format!("ns{i}")),
                backup_name: "fed-vbk1".into(),
                ..Default::default()
            });
        self
    }
    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(Time(ts("2026-05-01T09:59:00Z")));
        self
    }
}

fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

/// A running VolumeBackup: protected, `Running` since 09:50, members created where listed.
pub fn running(created: &[&str]) -> VolumeBackup {
    created.iter().fold(
        vbk().protected().with(V::Running, "2026-05-01T09:50:00Z"),
        |v, c| v.entry(c),
    )
}

/// The member Backup in `cluster` (`k8s1` is the initialize member), as the manager
/// created it and its data plane read it back.
pub fn member(cluster: &str, phase: Phase) -> Backup {
    let spec = vbk().spec.clusters.clone();
    let c = spec
        .iter()
        .find(|c| c.k8s_cluster_name.as_deref() == Some(cluster))
        .unwrap();
    let mut b = member_backup(&vbk(), &MemberCluster::from_spec(c), phase);
    b.metadata.uid = Some(format!("{cluster}-uid"));
    b.status = Some(Default::default());
    b
}

/// Builders over a member Backup.
pub trait MemberExt: Sized {
    /// A condition `True` since `at`, which also becomes the phase.
    fn cond(self, type_: T, at: &str) -> Self;
    /// A condition `True` with a reason and message.
    fn failed_with(self, type_: T, reason: &str, message: &str) -> Self;
    fn phase(self, phase: Phase) -> Self;
    fn resume(self) -> Self;
    fn completed(self, commit_ts: &str, size: i64) -> Self;
    fn deleting(self) -> Self;
}

impl MemberExt for Backup {
    fn cond(mut self, type_: T, at: &str) -> Self {
        let status = self.status.get_or_insert_with(Default::default);
        status.conditions.push(BackupCondition {
            command: None,
            type_: type_.clone(),
            status: ConditionStatus::True,
            last_transition_time: Some(Time(ts(at))),
            reason: None,
            message: None,
            observed_generation: None,
        });
        status.phase = Some(type_);
        self
    }
    fn failed_with(self, type_: T, reason: &str, message: &str) -> Self {
        let mut b = self.cond(type_, "2026-05-01T09:58:00Z");
        let c = b.status.as_mut().unwrap().conditions.last_mut().unwrap();
        c.reason = Some(reason.into());
        c.message = Some(message.into());
        b
    }
    fn phase(mut self, phase: Phase) -> Self {
        self.spec.federal_volume_backup_phase = Some(phase);
        self
    }
    fn resume(mut self) -> Self {
        self.spec.resume_gc_schedule = Some(true);
        self
    }
    fn completed(mut self, commit_ts: &str, size: i64) -> Self {
        let status = self.status.get_or_insert_with(Default::default);
        status.commit_ts = Some(commit_ts.into());
        status.backup_size = Some(size);
        status.backup_path = Some("s3://my-bucket/daily/vbk1-x".into());
        self
    }
    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(Time(ts("2026-05-01T09:59:30Z")));
        self
    }
}

/// Every cluster answers; `members` are the Backups found (by cluster), others absent.
pub fn observed(members: &[(&str, Backup)]) -> Observed {
    Observed {
        members: CLUSTERS
            .iter()
            .map(|c| ObservedMember {
                k8s_cluster_name: c.to_string(),
                access: Access::Reachable(
                    members
                        .iter()
                        .find(|(at, _)| at == c)
                        .map(|(_, b)| Box::new(b.clone())),
                ),
            })
            .collect(),
        known_clusters: CLUSTERS
            .iter()
            .map(|c| c.to_string())
            .collect::<BTreeSet<_>>(),
    }
}

/// Changes how one cluster answers.
pub fn with_access(mut o: Observed, cluster: &str, access: Access) -> Observed {
    o.members
        .iter_mut()
        .find(|m| m.k8s_cluster_name == cluster)
        .unwrap()
        .access = access;
    o
}

pub fn down(error: &str, since: &str) -> Access {
    Access::Unreachable {
        error: error.into(),
        since: ts(since),
    }
}

pub fn run(v: &VolumeBackup, o: &Observed) -> Plan {
    decide(v, o, &settings(), now())
}

/// (cluster, phase, resumeGcSchedule) of each member the plan creates.
pub fn creates(plan: &Plan) -> Vec<(String, String)> {
    plan.actions
        .iter()
        .filter_map(|a| match &a.write {
            MemberWrite::Create(b) => Some((
                a.k8s_cluster_name.clone(),
                b.spec
                    .federal_volume_backup_phase
                    .as_ref()
                    .unwrap()
                    .as_str()
                    .to_string(),
            )),
            _ => None,
        })
        .collect()
}

/// (cluster, patch) of each member the plan patches.
pub fn patches(plan: &Plan) -> Vec<(String, MemberPatch)> {
    plan.actions
        .iter()
        .filter_map(|a| match &a.write {
            MemberWrite::Patch(p) => Some((a.k8s_cluster_name.clone(), p.clone())),
            _ => None,
        })
        .collect()
}

pub fn deletes(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .filter(|a| matches!(a.write, MemberWrite::Delete { .. }))
        .map(|a| a.k8s_cluster_name.clone())
        .collect()
}

pub fn teardown() -> MemberPatch {
    MemberPatch {
        phase: Some(Phase::Teardown),
        resume_gc_schedule: None,
    }
}

pub fn resume() -> MemberPatch {
    MemberPatch {
        phase: None,
        resume_gc_schedule: Some(true),
    }
}

pub fn teardown_and_resume() -> MemberPatch {
    MemberPatch {
        phase: Some(Phase::Teardown),
        resume_gc_schedule: Some(true),
    }
}

/// (type, status, reason) of each condition the plan sets.
pub fn conditions(plan: &Plan) -> Vec<(String, String, String)> {
    plan.conditions
        .iter()
        .map(|c| {
            (
                c.type_.as_str().to_string(),
                c.status.as_str().to_string(),
                c.reason.clone(),
            )
        })
        .collect()
}

pub fn cond(t: &str, s: &str, r: &str) -> (String, String, String) {
    (t.into(), s.into(), r.into())
}

pub fn message(plan: &Plan, type_: V) -> String {
    plan.conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

pub fn events(plan: &Plan) -> Vec<(EventKind, String)> {
    plan.events
        .iter()
        .map(|e| (e.kind, e.reason.clone()))
        .collect()
}

pub fn note(plan: &Plan, reason: &str) -> String {
    plan.events
        .iter()
        .find(|e| e.reason == reason)
        .map(|e| e.note.clone())
        .unwrap_or_else(|| panic!("no {reason} Event in {:?}", events(plan)))
}

pub fn secs(n: u64) -> Option<Duration> {
    Some(Duration::from_secs(n))
}
