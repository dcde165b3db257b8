//! A small world for sequences: the VolumeBackup, three data planes holding member
//! Backups, and the binary's loop (observe, decide, act, settle, write the status), with
//! what can go wrong between the steps: a status write lost, a cluster down or removed.
//! The data planes move only when a test says so.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::{
    Backup, BackupCondition, BackupConditionType as T, ConditionStatus, VolumeBackup,
    constants::BACKUP_PROTECTION_FINALIZER,
};

use super::{CLUSTERS, now, settings};
use crate::federation::{
    Access, ActionOutcome, FinalizerChange, MemberWrite, Observed, ObservedMember, Outcomes, Plan,
    Settled, decide, settle,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Up,
    Down,
    /// Its context is gone from the kubeconfig.
    Removed,
}

pub struct World {
    pub vbk: VolumeBackup,
    pub planes: BTreeMap<String, (Reach, Option<Backup>)>,
    pub now: Timestamp,
    /// The binary dies after acting and before writing the status.
    pub lose_status_writes: bool,
    /// Every Create the act step carried out, by cluster.
    pub created: Vec<String>,
    /// Every Create the act step was asked for, by cluster, whether or not the name was
    /// free: the API server's uniqueness must not be what prevents a duplicate.
    pub attempts: Vec<String>,
    uids: u32,
}

impl World {
    pub fn new(vbk: VolumeBackup) -> Self {
        World {
            vbk,
            planes: CLUSTERS
                .iter()
                .map(|c| (c.to_string(), (Reach::Up, None)))
                .collect(),
            now: now(),
            lose_status_writes: false,
            created: Vec::new(),
            attempts: Vec::new(),
            uids: 0,
        }
    }

    pub fn observe(&self) -> Observed {
        Observed {
            members: self
                .planes
                .iter()
                .map(|(c, (reach, b))| ObservedMember {
                    k8s_cluster_name: c.clone(),
                    access: match reach {
                        Reach::Up => Access::Reachable(b.clone().map(Box::new)),
                        Reach::Down => Access::Unreachable {
                            error: "dial tcp 10.0.0.1:443: i/o timeout".into(),
                            since: now(),
                        },
                        Reach::Removed => Access::UnknownContext,
                    },
                })
                .collect(),
            known_clusters: self
                .planes
                .iter()
                .filter(|(_, (r, _))| *r != Reach::Removed)
                .map(|(c, _)| c.clone())
                .collect(),
        }
    }

    /// One reconcile, as the binary runs it.
    pub fn step(&mut self) -> (Plan, Settled) {
        let plan = decide(&self.vbk, &self.observe(), &settings(), self.now);
        let outcomes = self.act(&plan);
        let settled = settle(&self.vbk, plan.clone(), &outcomes, &settings(), self.now);
        if settled.status_changed && !self.lose_status_writes {
            self.vbk.status = Some(settled.status.clone());
        }
        if settled.release_finalizer {
            self.vbk.metadata.finalizers = None;
        }
        (plan, settled)
    }

    fn act(&mut self, plan: &Plan) -> Outcomes {
        let mut outcomes = Outcomes::default();
        if plan.finalizer == Some(FinalizerChange::Add) {
            self.vbk
                .metadata
                .finalizers
                .get_or_insert_with(Vec::new)
                .push(BACKUP_PROTECTION_FINALIZER.into());
            outcomes.finalizer = Some(Ok(()));
        }
        for a in &plan.actions {
            if matches!(a.write, MemberWrite::Create(_)) {
                self.attempts.push(a.k8s_cluster_name.clone());
            }
            let (reach, slot) = self.planes.get_mut(&a.k8s_cluster_name).unwrap();
            if *reach != Reach::Up {
                outcomes
                    .actions
                    .push(Some(ActionOutcome::Unreachable("i/o timeout".into())));
                continue;
            }
            let outcome = match (&a.write, slot.as_mut()) {
                (MemberWrite::Create(_), Some(_)) => ActionOutcome::AlreadyExisted,
                (MemberWrite::Create(b), None) => {
                    self.uids += 1;
                    let mut b = b.as_ref().clone();
                    b.metadata.uid = Some(format!("{}-uid-{}", a.k8s_cluster_name, self.uids));
                    b.status = Some(Default::default());
                    *slot = Some(b);
                    self.created.push(a.k8s_cluster_name.clone());
                    ActionOutcome::Created
                }
                (MemberWrite::Patch(p), Some(b)) => {
                    if let Some(phase) = &p.phase {
                        b.spec.federal_volume_backup_phase = Some(phase.clone());
                    }
                    if let Some(r) = p.resume_gc_schedule {
                        b.spec.resume_gc_schedule = Some(r);
                    }
                    ActionOutcome::Patched
                }
                (MemberWrite::Delete { uid }, Some(b)) if &b.metadata.uid == uid => {
                    // The data plane's own finalizer keeps it while it cleans.
                    b.metadata.deletion_timestamp = Some(Time(self.now));
                    ActionOutcome::Deleted
                }
                _ => ActionOutcome::NotFound,
            };
            outcomes.actions.push(Some(outcome));
        }
        outcomes
    }

    pub fn member(&self, cluster: &str) -> &Backup {
        self.planes[cluster].1.as_ref().expect("a member")
    }

    /// The data plane in `cluster` records condition `type_` now.
    pub fn report(&mut self, cluster: &str, type_: T) {
        let now = self.now;
        let b = self.planes.get_mut(cluster).unwrap().1.as_mut().unwrap();
        let status = b.status.get_or_insert_with(Default::default);
        status.conditions.retain(|c| c.type_ != type_);
        status.conditions.push(BackupCondition {
            command: None,
            type_: type_.clone(),
            status: ConditionStatus::True,
            last_transition_time: Some(Time(now)),
            reason: None,
            message: Some(format!("{} in {cluster}", type_.as_str())),
            observed_generation: None,
        });
        status.phase = Some(type_);
    }

    /// The data plane in `cluster` finished BR: commitTs and size, `VolumeBackupComplete`.
    pub fn snapshots_done(&mut self, cluster: &str, commit_ts: &str, size: i64) {
        {
            let b = self.planes.get_mut(cluster).unwrap().1.as_mut().unwrap();
            let status = b.status.get_or_insert_with(Default::default);
            status.commit_ts = Some(commit_ts.into());
            status.backup_size = Some(size);
            status.backup_path = Some(format!("s3://my-bucket/daily/vbk1-{cluster}"));
        }
        self.report(cluster, T::VolumeBackupComplete);
    }

    /// The data plane finished its part of the clean: its Backup is gone.
    pub fn cleaned(&mut self, cluster: &str) {
        self.planes.get_mut(cluster).unwrap().1 = None;
    }

    pub fn set_reach(&mut self, cluster: &str, reach: Reach) {
        self.planes.get_mut(cluster).unwrap().0 = reach;
    }

    pub fn tick(&mut self, secs: i64) {
        self.now += jiff::SignedDuration::from_secs(secs);
    }

    pub fn phase(&self) -> Option<&str> {
        self.vbk.status.as_ref()?.phase.as_ref().map(|p| p.as_str())
    }
}
