//! Where backup data is stored: S3 and S3-compatible stores, Google Cloud Storage, Azure
//! Blob Storage, or a volume mounted into the backup pod.

use k8s_openapi::api::core::v1::{Volume, VolumeMount};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::schema::wire_enum;

/// The storage backends a Backup can write to, set inline in the spec. One is expected; if
/// several are set, the first of `s3`, `gcs`, `azblob`, `local` is used.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageProvider {
    /// Amazon S3 or an S3-compatible object store (MinIO, Ceph, Alibaba OSS, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3StorageProvider>,
    /// Google Cloud Storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<GcsStorageProvider>,
    /// Azure Blob Storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azblob: Option<AzblobStorageProvider>,
    /// A Kubernetes volume mounted into the backup and clean pods.
    // Boxed: a volume source is 3.4 KB inline, and every Backup a cache holds would carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Box<LocalStorageProvider>>,
}

impl StorageProvider {
    /// Whether no backend is set.
    pub fn is_empty(&self) -> bool {
        self.s3.is_none() && self.gcs.is_none() && self.azblob.is_none() && self.local.is_none()
    }
}

wire_enum! {
    /// Who implements the S3 API. Besides the two values TiDB Operator names, any rclone
    /// provider name is accepted (`minio`, `alibaba`, `digitalocean`, `dreamhost`, `ibmcos`,
    /// `netease`, `wasabi`, `other`, ...).
    pub enum S3Provider (schema = open) {
        /// Amazon S3.
        Aws = "aws",
        /// Ceph's RADOS gateway.
        Ceph = "ceph",
    }
}

/// An S3 or S3-compatible bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3StorageProvider {
    /// Who implements the S3 API: `aws`, `ceph`, or an rclone provider name such as `minio`,
    /// `alibaba`, `netease` or `other`. Passed to BR as `--s3.provider`.
    pub provider: S3Provider,
    /// The bucket's region. Clients fall back to `us-east-1` when it is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Legacy full location `<bucket>/<path>` used by Dumpling exports; BR ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The bucket. It may carry a leading sub-path (`bucket/dir`), which is put in front
    /// of `prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// URL of the S3 service, with scheme and host (e.g. `http://minio.minio:9000`); empty
    /// means the provider's public endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Storage class of the objects written (e.g. `STANDARD`, `STANDARD_IA`, `GLACIER`).
    /// When empty BR writes with the bucket's default class; for `aws` the rclone
    /// environment of the pod defaults to `STANDARD_IA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Canned ACL of the objects written (e.g. `private`, `bucket-owner-full-control`).
    /// For `aws` the rclone environment of the pod defaults to `private`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    /// Secret in the Backup's namespace with keys `access_key` and `secret_key`. Leave it
    /// empty to use the pod's IAM identity (kube2iam annotation or IRSA ServiceAccount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Key prefix inside the bucket. The backup is written at `s3://<bucket>/<prefix>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Server-side encryption (`AES256`, or `aws:kms`). Passed to BR as `--s3.sse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse: Option<String>,
    /// rclone options, used by Dumpling exports only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Path-style (true) or virtual-host (false) bucket addressing. Unset means path style,
    /// except for the `alibaba` and `netease` providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_path_style: Option<bool>,
}

/// A Google Cloud Storage bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GcsStorageProvider {
    /// The Google Cloud project that owns the bucket.
    pub project_id: String,
    /// The bucket's location, used when the bucket has to be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Legacy full location `<bucket>/<path>` used by Dumpling exports; BR ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Storage class of the objects written (e.g. `STANDARD`, `NEARLINE`, `COLDLINE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Predefined ACL of the objects written (e.g. `private`, `projectPrivate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_acl: Option<String>,
    /// Predefined ACL of a bucket created for the backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_acl: Option<String>,
    /// Secret in the Backup's namespace whose key `credentials` holds a service account's
    /// JSON key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Object name prefix inside the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// An Azure Blob Storage container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzblobStorageProvider {
    /// Legacy full location `<container>/<path>` used by Dumpling exports; BR ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Access tier of the blobs written (`Hot`, `Cool`, `Archive`); the pod's environment
    /// defaults to `Cool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_tier: Option<String>,
    /// Secret in the Backup's namespace with `AZURE_STORAGE_ACCOUNT` and either
    /// `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID` or `AZURE_STORAGE_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// The storage account; when set it takes precedence over the one in the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account: Option<String>,
    /// A shared access signature for the storage account, used instead of a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sas_token: Option<String>,
    /// Blob name prefix inside the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// A Kubernetes volume, mounted into the backup and clean pods, that holds the backup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalStorageProvider {
    /// The volume (any volume source the pods can mount, e.g. an NFS or a PVC).
    #[schemars(transform = crate::schema::upstream_type)]
    pub volume: Volume,
    /// Where the volume is mounted; its `name` must be the volume's name, and its
    /// `mountPath` must not contain `:`.
    #[schemars(transform = crate::schema::upstream_type)]
    pub volume_mount: VolumeMount,
    /// Directory under the mount path; the backup is written at `local://<mountPath>/<prefix>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}
