//! `VolumeBackup` (`volumebackups.federation.pingcap.com`, short name `vbk`): one EBS
//! volume-snapshot backup of a TiDB cluster that spans several Kubernetes clusters.

use std::borrow::Cow;

use k8s_openapi::{
    api::core::v1::{
        EnvVar, LocalObjectReference, ResourceRequirements, Toleration, Volume, VolumeMount,
    },
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time},
};
use kube::{
    CustomResourceExt, Resource,
    core::{NamespaceResourceScope, object::HasSpec, object::HasStatus},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    conditions::{BackupConditionType, VolumeBackupCondition, VolumeBackupConditionType},
    pingcap::v1alpha1::{CalcSizeLevel, CleanPolicy, StorageProvider},
};

pub use crd::VolumeBackupSpec;

/// The kube derive only knows roots made of `metadata`, `spec` and `status`, but TiDB's
/// VolumeBackup has `skipGC` beside `spec`. The derive runs here on a root nobody outside
/// sees, for the CRD and the `Resource` constants; [`VolumeBackup`] is the real root.
mod crd {
    use kube::CustomResource;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    use super::{VolumeBackupMemberCluster, VolumeBackupMemberSpec, VolumeBackupStatus};

    /// Which TidbClusters to back up, and how each data plane's Backup runs.
    #[derive(
        CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema,
    )]
    // One `printcolumn` per column: clippy reads their repeated keys as duplicates.
    #[allow(clippy::duplicated_attributes)]
    #[kube(
        group = "federation.pingcap.com",
        version = "v1alpha1",
        kind = "VolumeBackup",
        root = "VolumeBackupRoot",
        plural = "volumebackups",
        shortname = "vbk",
        namespaced,
        status = "VolumeBackupStatus",
        doc = "An EBS volume snapshot backup of a TiDB cluster spread over several Kubernetes clusters."
    )]
    #[kube(printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.phase",
        description = "The phase of the federated backup"
    ))]
    #[kube(printcolumn(
        name = "BackupSize",
        type_ = "string",
        json_path = ".status.backupSizeReadable",
        description = "Total size over all data planes"
    ))]
    #[kube(printcolumn(
        name = "CommitTS",
        type_ = "string",
        json_path = ".status.commitTs",
        description = "The TSO the restored cluster will be consistent at"
    ))]
    #[kube(printcolumn(
        name = "TimeTaken",
        type_ = "string",
        json_path = ".status.timeTaken",
        description = "How long the federated backup took"
    ))]
    #[kube(printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ))]
    #[serde(rename_all = "camelCase")]
    #[schemars(transform = crate::schema::tidy)]
    pub struct VolumeBackupSpec {
        /// The TidbClusters (one per Kubernetes cluster) making up the TiDB cluster. The first
        /// one pauses GC and PD scheduling for the whole cluster while snapshots are taken.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub clusters: Vec<VolumeBackupMemberCluster>,
        /// How each data plane's Backup runs.
        #[serde(default)]
        pub template: VolumeBackupMemberSpec,
    }
}

/// An EBS volume snapshot backup of a TiDB cluster spread over several Kubernetes clusters.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeBackup {
    /// Standard object metadata.
    #[serde(default)]
    #[schemars(skip)]
    pub metadata: ObjectMeta,
    /// The desired backup.
    pub spec: VolumeBackupSpec,
    /// The observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<VolumeBackupStatus>,
    /// Keep this backup out of its schedule's retention (`maxBackups`, `maxReservedTime`).
    #[serde(rename = "skipGC", default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub skip_gc: Option<bool>,
}

impl VolumeBackup {
    /// A VolumeBackup with the given name and spec.
    pub fn new(name: &str, spec: VolumeBackupSpec) -> Self {
        VolumeBackup {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..ObjectMeta::default()
            },
            spec,
            status: None,
            skip_gc: None,
        }
    }

    /// Whether retention must leave this backup alone.
    pub fn skips_gc(&self) -> bool {
        self.skip_gc.unwrap_or(false)
    }

    /// The condition of the given type, if any.
    pub fn condition(&self, type_: &VolumeBackupConditionType) -> Option<&VolumeBackupCondition> {
        self.status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| &c.type_ == type_)
    }
}

impl Serialize for VolumeBackup {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        // apiVersion and kind are constants of the type, written out like kube's derive does.
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Repr<'a> {
            api_version: &'a str,
            kind: &'a str,
            metadata: &'a ObjectMeta,
            spec: &'a VolumeBackupSpec,
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<&'a VolumeBackupStatus>,
            #[serde(rename = "skipGC", skip_serializing_if = "Option::is_none")]
            skip_gc: Option<bool>,
        }
        Repr {
            api_version: &VolumeBackup::api_version(&()),
            kind: &VolumeBackup::kind(&()),
            metadata: &self.metadata,
            spec: &self.spec,
            status: self.status.as_ref(),
            skip_gc: self.skip_gc,
        }
        .serialize(ser)
    }
}

impl Resource for VolumeBackup {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        crd::VolumeBackupRoot::kind(&())
    }

    fn group(_: &()) -> Cow<'_, str> {
        crd::VolumeBackupRoot::group(&())
    }

    fn version(_: &()) -> Cow<'_, str> {
        crd::VolumeBackupRoot::version(&())
    }

    fn plural(_: &()) -> Cow<'_, str> {
        crd::VolumeBackupRoot::plural(&())
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl HasSpec for VolumeBackup {
    type Spec = VolumeBackupSpec;

    fn spec(&self) -> &VolumeBackupSpec {
        &self.spec
    }

    fn spec_mut(&mut self) -> &mut VolumeBackupSpec {
        &mut self.spec
    }
}

impl HasStatus for VolumeBackup {
    type Status = VolumeBackupStatus;

    fn status(&self) -> Option<&VolumeBackupStatus> {
        self.status.as_ref()
    }

    fn status_mut(&mut self) -> &mut Option<VolumeBackupStatus> {
        &mut self.status
    }
}

impl CustomResourceExt for VolumeBackup {
    fn crd()
    -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition
    {
        let mut crd = crd::VolumeBackupRoot::crd();
        let schema = crate::schema::root_schema::<VolumeBackup>();
        let skip_gc = schema
            .properties
            .as_ref()
            .and_then(|p| p.get("skipGC"))
            .cloned()
            .expect("VolumeBackup's schema has skipGC");
        let root = crd.spec.versions[0]
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .expect("the derive always generates a schema");
        root.properties
            .get_or_insert_with(Default::default)
            .insert("skipGC".into(), skip_gc);
        crd
    }

    fn crd_name() -> &'static str {
        crd::VolumeBackupRoot::crd_name()
    }

    fn api_resource() -> kube::core::ApiResource {
        kube::core::ApiResource::erase::<VolumeBackup>(&())
    }

    fn shortnames() -> &'static [&'static str] {
        crd::VolumeBackupRoot::shortnames()
    }
}

/// One member of the federation: a TidbCluster in one Kubernetes cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeBackupMemberCluster {
    /// The Kubernetes cluster, named as a context of the federation manager's kubeconfig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s_cluster_name: Option<String>,
    /// The TidbCluster's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tc_name: Option<String>,
    /// The TidbCluster's namespace; the data-plane Backup is created there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tc_namespace: Option<String>,
    /// Ignored. Accepted because TiDB's published VolumeBackupSchedule example carries an
    /// empty `backup:` here, copied from the VolumeRestore member layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<StorageProvider>,
}

/// How each data plane's Backup runs. Copied into every member Backup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeBackupMemberSpec {
    /// CPU and memory of the backup pods' containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub resources: Option<ResourceRequirements>,
    /// Extra environment variables of the backup container; same-name variables set by the
    /// operator (S3_PROVIDER, AWS_REGION, AWS_ACCESS_KEY_ID, ...) are replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub env: Vec<EnvVar>,
    /// BR settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub br: Option<VolumeBackupBrConfig>,
    /// Where the snapshot metadata is written; S3 in practice. Each data plane writes under
    /// `<prefix>-<k8sClusterName>`.
    #[serde(flatten)]
    pub storage: StorageProvider,
    /// Tolerations of the backup pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub tolerations: Vec<Toleration>,
    /// The BR image; without a tag, the TiKV version is used as tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_image: Option<String>,
    /// Secrets for pulling the images of the backup pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    /// ServiceAccount of the backup pods; `tidb-backup-manager` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Whether the backup pods mount their ServiceAccount token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// What happens to snapshots and metadata when the VolumeBackup is deleted: `Retain`
    /// (the default in the data planes), `Delete`, or `OnFailure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_policy: Option<CleanPolicy>,
    /// PriorityClass of the backup pods; a high one protects them from eviction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Which backup sizes to compute: `all` (the default), `full`, `incremental`; any other
    /// value computes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "all"))]
    pub calc_size_level: Option<CalcSizeLevel>,
    /// Extra volumes of the backup pods (they must be attachable to several pods).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub additional_volumes: Vec<Volume>,
    /// Extra volume mounts of the backup container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub additional_volume_mounts: Vec<VolumeMount>,
    /// Deadline in seconds of the initialize Job; it bounds how long GC and PD scheduling
    /// stay paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 600))]
    pub volume_backup_init_job_max_active_seconds: Option<i64>,
    /// EBS snapshots deleted per second in each data plane when cleaning (0.1 to 2; other
    /// values mean 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 1))]
    pub snapshots_delete_ratio: Option<f64>,
}

/// The BR settings a VolumeBackup passes on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeBackupBrConfig {
    /// Worker threads per TiKV node (`--concurrency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Whether BR checks its requirements before starting (`--check-requirements`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_requirements: Option<bool>,
    /// Whether BR hands its storage credentials to TiKV: true with an access key Secret,
    /// false when TiKV has its own IAM role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_cred_to_tikv: Option<bool>,
    /// Extra BR arguments, appended last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Has no effect: set `template.cleanPolicy`. Accepted because TiDB's published
    /// VolumeBackupSchedule example puts it here (TiDB Operator drops it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_policy: Option<CleanPolicy>,
    /// Has no effect: set `template.resources`. Accepted because TiDB's published
    /// VolumeBackupSchedule example puts it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub resources: Option<ResourceRequirements>,
}

/// The observed state of a VolumeBackup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::schema::tidy)]
pub struct VolumeBackupStatus {
    /// One entry per data plane; its `backupPath` is what a VolumeRestore needs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backups: Vec<VolumeBackupMemberStatus>,
    /// When the federated backup started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_started: Option<Time>,
    /// When it completed or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_completed: Option<Time>,
    /// `timeCompleted - timeStarted` as a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_taken: Option<String>,
    /// `backupSize` in SI units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_size_readable: Option<String>,
    /// Sum of the data planes' backup sizes, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_size: Option<i64>,
    /// The smallest of the data planes' commit TSOs: the point a restore is consistent at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_ts: Option<String>,
    /// tibr extension: when GC and PD scheduling were paused for the whole TiDB cluster
    /// (the first data plane reported `VolumeBackupInitialized`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_paused: Option<Time>,
    /// tibr extension: when GC and PD scheduling ran again (the first data plane reported
    /// `VolumeBackupInitializeComplete`, or `VolumeBackupInitializeFailed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_resumed: Option<Time>,
    /// tibr extension: `timeResumed - timePaused` as a Go duration: how long the whole TiDB
    /// cluster ran without GC and PD scheduling for this backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_window: Option<String>,
    /// Where the backup is: `Running`, `SnapshotsCreated`, `Complete`, `Failed`, `Invalid`;
    /// on deletion `Cleaned` or `CleanFailed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<VolumeBackupConditionType>,
    /// Observed facts, one per type; `phase` is the type of the latest one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<VolumeBackupCondition>,
}

/// One data plane's part of a VolumeBackup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeBackupMemberStatus {
    /// The Kubernetes cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s_cluster_name: Option<String>,
    /// The TidbCluster's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tc_name: Option<String>,
    /// The TidbCluster's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tc_namespace: Option<String>,
    /// The data-plane Backup (`fed-<VolumeBackup name>`).
    pub backup_name: String,
    /// The data-plane Backup's phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<BackupConditionType>,
    /// Where this data plane's snapshot metadata is, e.g. `s3://bucket/prefix-k8s1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_path: Option<String>,
    /// This data plane's backup size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_size: Option<i64>,
    /// This data plane's commit TSO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_ts: Option<String>,
    /// Why this data plane's backup failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The failure message of this data plane's backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
