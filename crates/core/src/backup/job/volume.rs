//! The Jobs of a volume-snapshot backup: the init Job `backup-<name>-init`, whose agent keeps
//! GC and PD scheduling paused through BR for as long as the Job lives (and never longer
//! than `volumeBackupInitJobMaxActiveSeconds`), and the execute Job `backup-<name>`, whose
//! agent has BR snapshot this data plane's TiKV volumes. The volume file the operator built
//! reaches the execute pod as a ConfigMap: the operator may read PVs, the pod may not.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        batch::v1::Job,
        core::v1::{ConfigMap, ConfigMapVolumeSource, Volume, VolumeMount},
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use tibr_api::{Backup, TidbCluster};

use super::{backup_job, owner_reference};
use crate::backup::{
    ValidBackup,
    labels::{Component, job_labels},
};
use crate::names;
use crate::volume::VolumeMeta;

/// Where the execute pod finds the volume file.
pub const CLUSTERMETA_DIR: &str = "/var/lib/tibr/clustermeta";
/// The ConfigMap's key, and the file's name in [`CLUSTERMETA_DIR`] (also its object name in
/// storage).
pub const CLUSTERMETA_KEY: &str = "clustermeta";
const CLUSTERMETA_VOLUME: &str = "clustermeta";
/// The agent's flag for the init Job.
pub const INITIALIZE_FLAG: &str = "--initialize";

/// The init Job: BR pauses GC and PD scheduling, the agent says when they are, and the Job's
/// deletion (or its deadline) ends the pause.
pub fn init_job(
    backup: &Backup,
    valid: &ValidBackup,
    cluster: &TidbCluster,
    agent_image: &str,
) -> Job {
    let mut job = backup_job(backup, valid, cluster, agent_image);
    let name = names::init_job(backup.metadata.name.as_deref().unwrap_or_default());
    job.metadata.name = Some(name);
    if let Some(spec) = job.spec.as_mut() {
        spec.active_deadline_seconds = valid
            .volume
            .as_ref()
            .map(|v| i64::try_from(v.init_deadline.as_secs()).unwrap_or(i64::MAX));
        let pod = spec.template.spec.as_mut();
        if let Some(main) = pod.and_then(|p| p.containers.first_mut()) {
            main.args
                .get_or_insert_with(Vec::new)
                .push(INITIALIZE_FLAG.into());
        }
    }
    job
}

/// The execute Job, with the volume file mounted.
pub fn execute_job(
    backup: &Backup,
    valid: &ValidBackup,
    cluster: &TidbCluster,
    agent_image: &str,
) -> Job {
    let mut job = backup_job(backup, valid, cluster, agent_image);
    let config_map =
        names::clustermeta_config_map(backup.metadata.name.as_deref().unwrap_or_default());
    if let Some(pod) = job.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
        pod.volumes.get_or_insert_with(Vec::new).push(Volume {
            name: CLUSTERMETA_VOLUME.into(),
            config_map: Some(ConfigMapVolumeSource {
                name: config_map,
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
        if let Some(main) = pod.containers.first_mut() {
            main.volume_mounts
                .get_or_insert_with(Vec::new)
                .push(VolumeMount {
                    name: CLUSTERMETA_VOLUME.into(),
                    mount_path: CLUSTERMETA_DIR.into(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                });
        }
    }
    job
}

/// The ConfigMap `backup-<name>-clustermeta` holding the volume file, owned by the Backup.
pub fn clustermeta_config_map(backup: &Backup, meta: &VolumeMeta) -> ConfigMap {
    let name = backup.metadata.name.as_deref().unwrap_or_default();
    let text = serde_json::to_string(meta).unwrap_or_default();
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(names::clustermeta_config_map(name)),
            namespace: backup.metadata.namespace.clone(),
            labels: Some(job_labels(backup, Component::Backup)),
            owner_references: Some(vec![owner_reference(backup)]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(CLUSTERMETA_KEY.to_string(), text)])),
        ..ConfigMap::default()
    }
}
