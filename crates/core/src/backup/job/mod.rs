//! The Jobs the operator creates for a Backup: `backup-<name>`, which takes the backup, and
//! `clean-<name>`, which deletes its data. Pure builders: the same inputs always give the
//! same Job, so the operator can create them idempotently and tests can read them whole.
//!
//! The backup pod copies `br` out of the BR image in an init container (the image is BR's,
//! chosen by the user or matched to TiKV's version), then runs the agent, which finds BR at
//! [`BR_BINARY`]. Both Jobs run once (`restartPolicy: Never`); the backup Job never retries
//! by itself (`backoffLimit: 0`), because re-running BR is the operator's decision
//! (`backoffRetryPolicy`), while the clean Job, which is idempotent, keeps TiDB Operator's
//! six retries.

pub mod env;
#[cfg(test)]
mod tests;
pub mod volume;

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        batch::v1::{Job, JobSpec},
        core::v1::{
            ConfigMapProjection, Container, DownwardAPIProjection, DownwardAPIVolumeFile,
            EmptyDirVolumeSource, KeyToPath, ObjectFieldSelector, PodSpec, PodTemplateSpec,
            ProjectedVolumeSource, SecretVolumeSource, ServiceAccountTokenProjection, Volume,
            VolumeMount, VolumeProjection,
        },
    },
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};
use tibr_api::{Backup, TidbCluster, constants::defaults};

use super::{
    ValidBackup,
    labels::{Component, job_annotations, job_labels},
};
use crate::names;

/// The emptyDir the init container copies `br` into.
pub const BR_BIN_VOLUME: &str = "br-bin";
/// Where [`BR_BIN_VOLUME`] is mounted in both containers.
pub const BR_BIN_DIR: &str = "/var/lib/br-bin";
/// Where the agent runs BR from.
pub const BR_BINARY: &str = "/var/lib/br-bin/br";
/// Where BR's client certificate for the cluster's mutual TLS is mounted.
pub const CLUSTER_TLS_DIR: &str = "/var/lib/cluster-client-tls";
/// Where the client certificate for TiDB's MySQL TLS is mounted.
pub const TIDB_TLS_DIR: &str = "/var/lib/tidb-client-tls";
/// Where Kubernetes mounts a ServiceAccount token; the agent's client looks there.
pub const SA_TOKEN_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The projected token volume added when `automountServiceAccountToken` is false.
pub const API_ACCESS_VOLUME: &str = "tibr-api-access";

const CLUSTER_TLS_VOLUME: &str = "cluster-client-tls";
const TIDB_TLS_VOLUME: &str = "tidb-client-tls";
/// The clean Job's pod retries, as in TiDB Operator: deleting objects is idempotent.
pub const CLEAN_BACKOFF_LIMIT: i32 = 6;

/// The BR image: `spec.toolImage` as given, or with the TiKV version as tag when it has
/// none, or `pingcap/br:<TiKV version>`. A registry port (`registry:5000/br`) is not a tag.
pub fn br_image(tool_image: Option<&str>, tikv_version: Option<&str>) -> String {
    let version = tikv_version.filter(|v| !v.is_empty()).unwrap_or("latest");
    match tool_image.map(str::trim).filter(|s| !s.is_empty()) {
        Some(image) if has_tag(image) => image.to_string(),
        Some(image) => format!("{image}:{version}"),
        None => format!("{}:{version}", defaults::BR_IMAGE),
    }
}

fn has_tag(image: &str) -> bool {
    let last = image.rsplit('/').next().unwrap_or(image);
    image.contains('@') || last.contains(':')
}

/// A controller reference to the Backup, so its Jobs are deleted with it.
pub fn owner_reference(backup: &Backup) -> OwnerReference {
    OwnerReference {
        api_version: "pingcap.com/v1alpha1".into(),
        kind: "Backup".into(),
        name: backup.metadata.name.clone().unwrap_or_default(),
        uid: backup.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The backup Job `backup-<name>` for a validated Backup of `cluster`.
pub fn backup_job(
    backup: &Backup,
    valid: &ValidBackup,
    cluster: &TidbCluster,
    agent_image: &str,
) -> Job {
    let spec = &backup.spec;
    let br_bin = VolumeMount {
        name: BR_BIN_VOLUME.into(),
        mount_path: BR_BIN_DIR.into(),
        ..VolumeMount::default()
    };
    let tikv_version = cluster.tikv_version();
    let init = Container {
        name: "br".into(),
        image: Some(br_image(
            valid.tool_image.as_deref(),
            tikv_version.as_deref(),
        )),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["cp".into(), "/br".into(), BR_BINARY.into()]),
        resources: spec.resources.clone(),
        volume_mounts: Some(vec![br_bin.clone()]),
        ..Container::default()
    };

    let mut volumes = vec![Volume {
        name: BR_BIN_VOLUME.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }];
    let mut mounts = vec![br_bin];
    let mut tls = |volume: &str, secret: String, dir: &str| {
        volumes.push(secret_volume(volume, &secret));
        mounts.push(VolumeMount {
            name: volume.into(),
            mount_path: dir.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    };
    let cluster_name = &valid.cluster.name;
    if cluster.is_tls_cluster_enabled() {
        tls(
            CLUSTER_TLS_VOLUME,
            format!("{cluster_name}-cluster-client-secret"),
            CLUSTER_TLS_DIR,
        );
    }
    if let Some(from) = &valid.from
        && cluster.tidb_client_tls()
    {
        let secret = from
            .tls_client_secret_name
            .clone()
            .unwrap_or_else(|| format!("{cluster_name}-tidb-client-secret"));
        tls(TIDB_TLS_VOLUME, secret, TIDB_TLS_DIR);
    }

    let main = Container {
        name: "backup".into(),
        image: Some(agent_image.into()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(agent_args("backup", backup)),
        env: Some(env::backup_env(spec)),
        resources: spec.resources.clone(),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    build(
        backup,
        Component::Backup,
        0,
        &valid.service_account,
        Some(init),
        main,
        volumes,
    )
}

/// The clean Job `clean-<name>`. Built from the raw spec: a Backup whose spec no longer
/// validates may still have data to delete.
pub fn clean_job(backup: &Backup, agent_image: &str) -> Job {
    let spec = &backup.spec;
    let main = Container {
        name: "clean".into(),
        image: Some(agent_image.into()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(agent_args("clean", backup)),
        env: Some(env::clean_env(spec)),
        resources: spec.resources.clone(),
        volume_mounts: Some(Vec::new()),
        ..Container::default()
    };
    let service_account = spec
        .service_account
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(defaults::SERVICE_ACCOUNT);
    build(
        backup,
        Component::Clean,
        CLEAN_BACKOFF_LIMIT,
        service_account,
        None,
        main,
        Vec::new(),
    )
}

/// `backup|clean --namespace=<ns> --backup-name=<name>`: the agent reads everything else
/// from the Backup itself, so no spec value (and no secret) is on the command line.
fn agent_args(subcommand: &str, backup: &Backup) -> Vec<String> {
    vec![
        subcommand.into(),
        format!(
            "--namespace={}",
            backup.metadata.namespace.as_deref().unwrap_or_default()
        ),
        format!(
            "--backup-name={}",
            backup.metadata.name.as_deref().unwrap_or_default()
        ),
    ]
}

fn secret_volume(name: &str, secret: &str) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// What the kubelet would have mounted had `automountServiceAccountToken` been true: a
/// token, the cluster CA and the namespace. The agent needs them to report status, so a
/// user turning automounting off for the pod does not turn the agent off with it.
fn api_access_volume() -> Volume {
    Volume {
        name: API_ACCESS_VOLUME.into(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(vec![
                VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        audience: None,
                        expiration_seconds: Some(3607),
                        path: "token".into(),
                        ..ServiceAccountTokenProjection::default()
                    }),
                    ..VolumeProjection::default()
                },
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: "kube-root-ca.crt".into(),
                        items: Some(vec![KeyToPath {
                            key: "ca.crt".into(),
                            path: "ca.crt".into(),
                            ..KeyToPath::default()
                        }]),
                        optional: None,
                    }),
                    ..VolumeProjection::default()
                },
                VolumeProjection {
                    downward_api: Some(DownwardAPIProjection {
                        items: Some(vec![DownwardAPIVolumeFile {
                            path: "namespace".into(),
                            field_ref: Some(ObjectFieldSelector {
                                api_version: Some("v1".into()),
                                field_path: "metadata.namespace".into(),
                            }),
                            ..DownwardAPIVolumeFile::default()
                        }]),
                    }),
                    ..VolumeProjection::default()
                },
            ]),
            ..ProjectedVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// The Job around one main container, with everything the Backup says about its pods.
fn build(
    backup: &Backup,
    component: Component,
    backoff_limit: i32,
    service_account: &str,
    init: Option<Container>,
    mut main: Container,
    mut volumes: Vec<Volume>,
) -> Job {
    let spec = &backup.spec;
    let name = backup.metadata.name.clone().unwrap_or_default();
    let job_name = match component {
        Component::Backup => names::backup_job(&name),
        Component::Clean => names::clean_job(&name),
    };
    let labels = job_labels(backup, component);
    let annotations: BTreeMap<String, String> = job_annotations(backup);
    let annotations = (!annotations.is_empty()).then_some(annotations);

    volumes.extend(spec.additional_volumes.iter().cloned());
    let mounts = main.volume_mounts.get_or_insert_with(Vec::new);
    mounts.extend(spec.additional_volume_mounts.iter().cloned());
    if spec.automount_service_account_token == Some(false) {
        volumes.push(api_access_volume());
        mounts.push(VolumeMount {
            name: API_ACCESS_VOLUME.into(),
            mount_path: SA_TOKEN_DIR.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }

    Job {
        metadata: ObjectMeta {
            name: Some(job_name),
            namespace: backup.metadata.namespace.clone(),
            labels: Some(labels.clone()),
            annotations: annotations.clone(),
            owner_references: Some(vec![owner_reference(backup)]),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(backoff_limit),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations,
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(service_account.into()),
                    automount_service_account_token: spec.automount_service_account_token,
                    security_context: spec.pod_security_context.as_deref().cloned(),
                    tolerations: Some(spec.tolerations.clone()).filter(|v| !v.is_empty()),
                    affinity: spec.affinity.clone(),
                    priority_class_name: spec.priority_class_name.clone(),
                    image_pull_secrets: Some(spec.image_pull_secrets.clone())
                        .filter(|v| !v.is_empty()),
                    restart_policy: Some("Never".into()),
                    init_containers: init.map(|c| vec![c]),
                    containers: vec![main],
                    volumes: Some(volumes).filter(|v| !v.is_empty()),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}
