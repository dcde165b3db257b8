//! VolumeBackupSchedule: each tick creates a VolumeBackup in the control plane, named and
//! labelled like a BackupSchedule's Backups, whose prefix gets the per-run part
//! `-<tick stamp>` as TiDB's manager forms it (each data plane then appends
//! `-<k8sClusterName>`: `<prefix>/-2026-12-05t10-00-00-dp-1`). Why retention deletes one
//! at a time and the misplaced `template.br.cleanPolicy` is honoured: docs/adr/0009.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use tibr_api::{
    VolumeBackupConditionType as V,
    constants::{label_values, labels},
    federation::v1alpha1::{VolumeBackup, VolumeBackupSchedule, VolumeBackupScheduleStatus},
};

use super::{
    backup::{STAMP_LEN, copied_annotations, stamp},
    kind::{ScheduleKind, shared_status_fields},
    plan::SpecProblem,
    runs::{Read, Run, RunState},
};
use crate::federation::validate;
use crate::names::MAX_LABEL_VALUE;
use crate::reconcile::{Event, reasons};
use crate::storage::join_prefix;

/// The longest VolumeBackupSchedule name: the first data plane's Job of each run,
/// `backup-fed-<schedule>-<stamp>-init`, must fit a label value.
pub const MAX_VOLUME_SCHEDULE_NAME: usize =
    MAX_LABEL_VALUE - "backup-fed-".len() - 1 - STAMP_LEN - "-init".len();

impl ScheduleKind for VolumeBackupSchedule {
    type Run = VolumeBackup;
    type Status = VolumeBackupScheduleStatus;
    const RUN_KIND: &'static str = "VolumeBackup";
    const RUN_API_VERSION: &'static str = "federation.pingcap.com/v1alpha1";
    const MAX_NAME: usize = MAX_VOLUME_SCHEDULE_NAME;
    const JOB_PATTERN: &'static str = "backup-fed-<schedule>-YYYY-MM-DDtHH-MM-SS-init";
    const DELETE_ONE_AT_A_TIME: bool = true;

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn status(&self) -> VolumeBackupScheduleStatus {
        self.status.clone().unwrap_or_default()
    }

    shared_status_fields!(VolumeBackupScheduleStatus);

    fn cron_text(&self) -> &str {
        &self.spec.schedule
    }

    fn paused(&self) -> bool {
        self.spec.pause == Some(true)
    }

    fn max_reserved_time(&self) -> Option<&str> {
        self.spec.max_reserved_time.as_deref()
    }

    fn max_backups(&self) -> Option<i32> {
        self.spec.max_backups
    }

    /// The rules a VolumeBackup is held to, on the run of the schedule's creation tick;
    /// the name is checked on its own (`MAX_NAME`), the cluster names once the run exists
    /// (the federation kubeconfig changes at run time).
    fn template_problems(&self) -> Vec<SpecProblem> {
        let tick = self
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(Timestamp::UNIX_EPOCH, |t| t.0);
        let mut run = build(self, tick, "uid");
        run.metadata.name = Some("run".into());
        match validate(&run, None) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .into_iter()
                .filter(|e| e.field != "metadata.name")
                .map(|e| SpecProblem {
                    field: e.field.replacen("spec.", "spec.backupTemplate.", 1),
                    reason: reasons::INVALID_TEMPLATE,
                    message: e.message,
                })
                .collect(),
        }
    }

    fn template_notes(&self) -> Vec<Event> {
        let template = &self.spec.backup_template.template;
        let misplaced = template.br.as_ref().and_then(|br| br.clean_policy.as_ref());
        match (misplaced, &template.clean_policy) {
            (Some(p), None) => vec![Event::warning(
                reasons::MISPLACED_FIELD,
                "Schedule",
                format!(
                    "spec.backupTemplate.template.br.cleanPolicy ({}) is not where the field \
                     belongs; it is applied to each VolumeBackup as \
                     spec.backupTemplate.template.cleanPolicy, please move it there",
                    p.as_str()
                ),
            )],
            (Some(p), Some(q)) if p != q => vec![Event::warning(
                reasons::MISPLACED_FIELD,
                "Schedule",
                format!(
                    "spec.backupTemplate.template.br.cleanPolicy ({}) is ignored: \
                     spec.backupTemplate.template.cleanPolicy ({}) applies",
                    p.as_str(),
                    q.as_str()
                ),
            )],
            _ => Vec::new(),
        }
    }

    fn build_run(&self, tick: Timestamp) -> Result<VolumeBackup, SpecProblem> {
        let Some(uid) = self.metadata.uid.as_deref() else {
            return Err(SpecProblem {
                field: "metadata.uid".into(),
                reason: "NoUid",
                message: "the schedule has no uid yet, so its VolumeBackups could not be owned \
                          by it"
                    .into(),
            });
        };
        Ok(build(self, tick, uid))
    }

    fn run_meta(run: &VolumeBackup) -> &ObjectMeta {
        &run.metadata
    }

    fn read_run<'a>(schedule: &str, run: &'a VolumeBackup) -> Run<'a> {
        Run::of_volume_backup(schedule, run)
    }
}

/// The VolumeBackup for `tick`.
fn build(schedule: &VolumeBackupSchedule, tick: Timestamp, uid: &str) -> VolumeBackup {
    let name = schedule.metadata.name.as_deref().unwrap_or_default();
    let mut spec = schedule.spec.backup_template.clone();
    let template = &mut spec.template;
    if template.clean_policy.is_none() {
        template.clean_policy = template.br.as_ref().and_then(|br| br.clean_policy.clone());
    }
    if let Some(s3) = template.storage.s3.as_mut() {
        let run = format!("-{}", stamp(tick));
        s3.prefix = Some(join_prefix(s3.prefix.as_deref().unwrap_or_default(), &run));
    }
    let mut labels_out: BTreeMap<String, String> =
        schedule.metadata.labels.clone().unwrap_or_default();
    for (k, v) in [
        (labels::NAME, label_values::BACKUP_SCHEDULE),
        (labels::MANAGED_BY, label_values::BACKUP_SCHEDULE_OPERATOR),
        (labels::INSTANCE, name),
        (labels::BACKUP_SCHEDULE, name),
    ] {
        labels_out.insert(k.to_string(), v.to_string());
    }
    VolumeBackup {
        metadata: ObjectMeta {
            name: Some(super::backup_name(name, tick)),
            namespace: schedule.metadata.namespace.clone(),
            labels: Some(labels_out),
            annotations: Some(copied_annotations(&schedule.metadata, tick)),
            owner_references: Some(vec![OwnerReference {
                api_version: "federation.pingcap.com/v1alpha1".to_string(),
                kind: "VolumeBackupSchedule".to_string(),
                name: name.to_string(),
                uid: uid.to_string(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
        skip_gc: None,
    }
}

impl<'a> Run<'a> {
    /// A VolumeBackup of `schedule`.
    pub fn of_volume_backup(schedule: &str, vbk: &'a VolumeBackup) -> Run<'a> {
        let status = vbk.status.as_ref();
        let phase = status.and_then(|s| s.phase.as_ref());
        let state = match phase {
            Some(V::Complete) => RunState::Complete,
            Some(V::Failed) => RunState::Failed,
            Some(V::Invalid) => RunState::Invalid,
            Some(V::Cleaned | V::CleanFailed) => RunState::Deleting,
            _ => RunState::InFlight,
        };
        let failed_kind = if state == RunState::Invalid {
            V::Invalid
        } else {
            V::Failed
        };
        Run::new(
            "VolumeBackup",
            schedule,
            &vbk.metadata,
            Read {
                state,
                phase: phase.map(|p| p.as_str()),
                retrying: false,
                failed_at: vbk
                    .condition(&failed_kind)
                    .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0)),
                skip_gc: vbk.skips_gc(),
                commit_ts: status.and_then(|s| s.commit_ts.as_deref()),
                time_completed: status.and_then(|s| s.time_completed.as_ref()).map(|t| t.0),
                is_log: false,
            },
        )
    }
}
