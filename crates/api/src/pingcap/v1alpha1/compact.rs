//! The template of the compactions a BackupSchedule runs over its log backup (TiDB v8.5.5
//! and later). Kept so schedules written for TiDB Operator apply unchanged; tibr does not
//! run compactions yet.

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, LocalObjectReference, PodSecurityContext, ResourceRequirements, Toleration,
    Volume, VolumeMount,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BrConfig, StorageProvider};

/// How a log backup compaction runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompactSpec {
    /// CPU and memory of the compaction containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub resources: Option<ResourceRequirements>,
    /// Empty for one compaction Job, or `sharded` to split the work over `shardCount` pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "compact_mode_schema")]
    pub mode: Option<String>,
    /// Number of shards in `sharded` mode (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub shard_count: Option<i32>,
    /// Cache size for physical files, as a Kubernetes quantity (e.g. `150Gi`); `0` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_file_cache_capacity: Option<String>,
    /// Name given to the compaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Extra environment variables of the compaction container; same-name variables set
    /// by the operator are replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub env: Vec<EnvVar>,
    /// Where the log backup to compact is stored.
    #[serde(flatten)]
    pub storage: StorageProvider,
    /// Compact log data from this timestamp (TSO or datetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ts: Option<String>,
    /// Compact log data up to this timestamp (TSO or datetime); now when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ts: Option<String>,
    /// Parallelism of the compaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 4))]
    pub concurrency: Option<i64>,
    /// Tolerations of the compaction pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub tolerations: Vec<Toleration>,
    /// The BR image; without a tag, the TiKV version is used as tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_image: Option<String>,
    /// The TiKV image providing the compaction tool; without a tag, the TiKV version is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tikv_image: Option<String>,
    /// BR settings, including the TidbCluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub br: Option<BrConfig>,
    /// Secrets for pulling the images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    /// Affinity of the compaction pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub affinity: Option<Affinity>,
    /// The TiDB password in the Secret is encrypted with AWS KMS.
    #[serde(rename = "useKMS", default, skip_serializing_if = "Option::is_none")]
    pub use_kms: Option<bool>,
    /// ServiceAccount of the compaction pods; `tidb-backup-manager` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Whether the pods mount their ServiceAccount token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// Security context of the compaction pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub pod_security_context: Option<PodSecurityContext>,
    /// PriorityClass of the compaction pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Retries of a failed compaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 6))]
    pub max_retry_times: Option<i32>,
    /// Extra volumes of the compaction pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub additional_volumes: Vec<Volume>,
    /// Extra volume mounts of the compaction container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(transform = crate::schema::upstream_type)]
    pub additional_volume_mounts: Vec<VolumeMount>,
}

/// `mode` takes the empty string or `sharded`, as in TiDB Operator's schema.
fn compact_mode_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": ["", "sharded"],
        "nullable": true,
    })
}
