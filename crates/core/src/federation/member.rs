//! The member Backup written into each data plane, field for field as TiDB's federation
//! manager writes it, so that a stock TiDB Operator data plane runs it unchanged.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tibr_api::{
    Backup, VolumeBackup,
    pingcap::v1alpha1::{
        BackupMode, BackupSpec, BackupType, BrConfig, CleanOption, FederalVolumeBackupPhase,
    },
};

use super::validate::MemberCluster;

/// The member Backup's name in every data plane: `fed-<VolumeBackup>`. TiDB's manager
/// named it `fed-<VolumeBackup>-<k8sClusterName>` until its PR #5418; the older name is
/// still in its documentation (docs/adr/0008).
pub fn member_name(volume_backup: &str) -> String {
    format!("fed-{volume_backup}")
}

/// Where a member writes: the template's prefix with `-<k8sClusterName>` appended as
/// text (not as a path segment), as TiDB's manager forms it.
pub(crate) fn member_prefix(template_prefix: &str, k8s_cluster_name: &str) -> String {
    format!("{template_prefix}-{k8s_cluster_name}")
}

/// The member Backup for `cluster`, in `phase` (`initialize` for the first member
/// created, `execute` for the others). Only the initialize member carries the init Job's
/// deadline. The VolumeBackup's labels and annotations go over verbatim: that is how
/// `iam.amazonaws.com/role` reaches the backup pods.
pub fn member_backup(
    vbk: &VolumeBackup,
    cluster: &MemberCluster,
    phase: FederalVolumeBackupPhase,
) -> Backup {
    let name = vbk.metadata.name.as_deref().unwrap_or_default();
    let t = &vbk.spec.template;
    let br = t.br.clone().unwrap_or_default();
    let mut storage = t.storage.clone();
    if let Some(s3) = storage.s3.as_mut() {
        let prefix = s3.prefix.clone().unwrap_or_default();
        s3.prefix = Some(member_prefix(&prefix, &cluster.k8s_cluster_name));
    }
    let initialize = phase == FederalVolumeBackupPhase::Initialize;
    let spec = BackupSpec {
        resources: t.resources.clone(),
        env: t.env.clone(),
        backup_type: Some(BackupType::Full),
        backup_mode: Some(BackupMode::VolumeSnapshot),
        storage,
        br: Some(BrConfig {
            cluster: cluster.tc_name.clone(),
            cluster_namespace: Some(cluster.tc_namespace.clone()),
            concurrency: br.concurrency,
            check_requirements: br.check_requirements,
            send_cred_to_tikv: br.send_cred_to_tikv,
            options: br.options,
            ..BrConfig::default()
        }),
        calc_size_level: t.calc_size_level.clone(),
        federal_volume_backup_phase: Some(phase),
        tolerations: t.tolerations.clone(),
        tool_image: t.tool_image.clone(),
        image_pull_secrets: t.image_pull_secrets.clone(),
        service_account: t.service_account.clone(),
        automount_service_account_token: t.automount_service_account_token,
        clean_policy: t.clean_policy.clone(),
        clean_option: t.snapshots_delete_ratio.map(|ratio| CleanOption {
            snapshots_delete_ratio: Some(ratio),
            ..CleanOption::default()
        }),
        priority_class_name: t.priority_class_name.clone(),
        additional_volumes: t.additional_volumes.clone(),
        additional_volume_mounts: t.additional_volume_mounts.clone(),
        volume_backup_init_job_max_active_seconds: if initialize {
            t.volume_backup_init_job_max_active_seconds
        } else {
            None
        },
        ..BackupSpec::default()
    };
    Backup {
        metadata: ObjectMeta {
            name: Some(member_name(name)),
            namespace: Some(cluster.tc_namespace.clone()),
            labels: non_empty(vbk.metadata.labels.clone()),
            annotations: non_empty(vbk.metadata.annotations.clone()),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    }
}

fn non_empty(map: Option<BTreeMap<String, String>>) -> Option<BTreeMap<String, String>> {
    map.filter(|m| !m.is_empty())
}
