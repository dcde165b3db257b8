//! core/v1 pod volume sources.
//!
//! Written by `gen/tables.py` from `k8s.io/api` and `k8s.io/apimachinery` v0.36.3;
//! change the script and run it again rather than editing.

use super::core_container::{LOCAL_OBJECT_REFERENCE, OBJECT_FIELD_SELECTOR, RESOURCE_FIELD_SELECTOR};
use super::meta::{LABEL_SELECTOR, OBJECT_META};
use super::schema::{Message, inline, list, list_req, map, omit, ptr, ptr_null, req};
use super::schema::Ty::{Bool, I32, I64, Msg, Quantity, Str};

pub(super) static VOLUME: Message = Message {
    name: "k8s.io.api.core.v1.Volume",
    fields: &[
        req(1, "name", Str), inline(2, Msg(&VOLUME_SOURCE)),
    ],
};

pub(super) static VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.VolumeSource",
    fields: &[
        ptr(1, "hostPath", Msg(&HOST_PATH_VOLUME_SOURCE)),
        ptr(2, "emptyDir", Msg(&EMPTY_DIR_VOLUME_SOURCE)),
        ptr(3, "gcePersistentDisk", Msg(&GCE_PERSISTENT_DISK_VOLUME_SOURCE)),
        ptr(4, "awsElasticBlockStore", Msg(&AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE)),
        ptr(5, "gitRepo", Msg(&GIT_REPO_VOLUME_SOURCE)),
        ptr(6, "secret", Msg(&SECRET_VOLUME_SOURCE)), ptr(7, "nfs", Msg(&NFS_VOLUME_SOURCE)),
        ptr(8, "iscsi", Msg(&ISCSI_VOLUME_SOURCE)),
        ptr(9, "glusterfs", Msg(&GLUSTERFS_VOLUME_SOURCE)),
        ptr(10, "persistentVolumeClaim", Msg(&PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE)),
        ptr(11, "rbd", Msg(&RBD_VOLUME_SOURCE)), ptr(12, "flexVolume", Msg(&FLEX_VOLUME_SOURCE)),
        ptr(13, "cinder", Msg(&CINDER_VOLUME_SOURCE)),
        ptr(14, "cephfs", Msg(&CEPH_FS_VOLUME_SOURCE)),
        ptr(15, "flocker", Msg(&FLOCKER_VOLUME_SOURCE)),
        ptr(16, "downwardAPI", Msg(&DOWNWARD_API_VOLUME_SOURCE)),
        ptr(17, "fc", Msg(&FC_VOLUME_SOURCE)), ptr(18, "azureFile", Msg(&AZURE_FILE_VOLUME_SOURCE)),
        ptr(19, "configMap", Msg(&CONFIG_MAP_VOLUME_SOURCE)),
        ptr(20, "vsphereVolume", Msg(&VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE)),
        ptr(21, "quobyte", Msg(&QUOBYTE_VOLUME_SOURCE)),
        ptr(22, "azureDisk", Msg(&AZURE_DISK_VOLUME_SOURCE)),
        ptr(23, "photonPersistentDisk", Msg(&PHOTON_PERSISTENT_DISK_VOLUME_SOURCE)),
        ptr(26, "projected", Msg(&PROJECTED_VOLUME_SOURCE)),
        ptr(24, "portworxVolume", Msg(&PORTWORX_VOLUME_SOURCE)),
        ptr(25, "scaleIO", Msg(&SCALE_IO_VOLUME_SOURCE)),
        ptr(27, "storageos", Msg(&STORAGE_OS_VOLUME_SOURCE)),
        ptr(28, "csi", Msg(&CSI_VOLUME_SOURCE)),
        ptr(29, "ephemeral", Msg(&EPHEMERAL_VOLUME_SOURCE)),
        ptr(30, "image", Msg(&IMAGE_VOLUME_SOURCE)),
    ],
};

pub(super) static HOST_PATH_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.HostPathVolumeSource",
    fields: &[
        req(1, "path", Str), ptr(2, "type", Str),
    ],
};

pub(super) static EMPTY_DIR_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.EmptyDirVolumeSource",
    fields: &[
        omit(1, "medium", Str), ptr(2, "sizeLimit", Quantity),
    ],
};

pub(super) static GCE_PERSISTENT_DISK_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.GCEPersistentDiskVolumeSource",
    fields: &[
        req(1, "pdName", Str), omit(2, "fsType", Str), omit(3, "partition", I32),
        omit(4, "readOnly", Bool),
    ],
};

pub(super) static AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.AWSElasticBlockStoreVolumeSource",
    fields: &[
        req(1, "volumeID", Str), omit(2, "fsType", Str), omit(3, "partition", I32),
        omit(4, "readOnly", Bool),
    ],
};

pub(super) static GIT_REPO_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.GitRepoVolumeSource",
    fields: &[
        req(1, "repository", Str), omit(2, "revision", Str), omit(3, "directory", Str),
    ],
};

pub(super) static SECRET_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.SecretVolumeSource",
    fields: &[
        omit(1, "secretName", Str), list(2, "items", Msg(&KEY_TO_PATH)), ptr(3, "defaultMode", I32),
        ptr(4, "optional", Bool),
    ],
};

pub(super) static KEY_TO_PATH: Message = Message {
    name: "k8s.io.api.core.v1.KeyToPath",
    fields: &[
        req(1, "key", Str), req(2, "path", Str), ptr(3, "mode", I32),
    ],
};

pub(super) static NFS_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.NFSVolumeSource",
    fields: &[
        req(1, "server", Str), req(2, "path", Str), omit(3, "readOnly", Bool),
    ],
};

pub(super) static ISCSI_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.ISCSIVolumeSource",
    fields: &[
        req(1, "targetPortal", Str), req(2, "iqn", Str), req(3, "lun", I32),
        omit(4, "iscsiInterface", Str), omit(5, "fsType", Str), omit(6, "readOnly", Bool),
        list(7, "portals", Str), omit(8, "chapAuthDiscovery", Bool),
        omit(11, "chapAuthSession", Bool), ptr(10, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
        ptr(12, "initiatorName", Str),
    ],
};

pub(super) static GLUSTERFS_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.GlusterfsVolumeSource",
    fields: &[
        req(1, "endpoints", Str), req(2, "path", Str), omit(3, "readOnly", Bool),
    ],
};

pub(super) static PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.PersistentVolumeClaimVolumeSource",
    fields: &[
        req(1, "claimName", Str), omit(2, "readOnly", Bool),
    ],
};

pub(super) static RBD_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.RBDVolumeSource",
    fields: &[
        list_req(1, "monitors", Str), req(2, "image", Str), omit(3, "fsType", Str),
        omit(4, "pool", Str), omit(5, "user", Str), omit(6, "keyring", Str),
        ptr(7, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)), omit(8, "readOnly", Bool),
    ],
};

pub(super) static FLEX_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.FlexVolumeSource",
    fields: &[
        req(1, "driver", Str), omit(2, "fsType", Str),
        ptr(3, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)), omit(4, "readOnly", Bool),
        map(5, "options", Str),
    ],
};

pub(super) static CINDER_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.CinderVolumeSource",
    fields: &[
        req(1, "volumeID", Str), omit(2, "fsType", Str), omit(3, "readOnly", Bool),
        ptr(4, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
    ],
};

pub(super) static CEPH_FS_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.CephFSVolumeSource",
    fields: &[
        list_req(1, "monitors", Str), omit(2, "path", Str), omit(3, "user", Str),
        omit(4, "secretFile", Str), ptr(5, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
        omit(6, "readOnly", Bool),
    ],
};

pub(super) static FLOCKER_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.FlockerVolumeSource",
    fields: &[
        omit(1, "datasetName", Str), omit(2, "datasetUUID", Str),
    ],
};

pub(super) static DOWNWARD_API_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.DownwardAPIVolumeSource",
    fields: &[
        list(1, "items", Msg(&DOWNWARD_API_VOLUME_FILE)), ptr(2, "defaultMode", I32),
    ],
};

pub(super) static DOWNWARD_API_VOLUME_FILE: Message = Message {
    name: "k8s.io.api.core.v1.DownwardAPIVolumeFile",
    fields: &[
        req(1, "path", Str), ptr(2, "fieldRef", Msg(&OBJECT_FIELD_SELECTOR)),
        ptr(3, "resourceFieldRef", Msg(&RESOURCE_FIELD_SELECTOR)), ptr(4, "mode", I32),
    ],
};

pub(super) static FC_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.FCVolumeSource",
    fields: &[
        list(1, "targetWWNs", Str), ptr(2, "lun", I32), omit(3, "fsType", Str),
        omit(4, "readOnly", Bool), list(5, "wwids", Str),
    ],
};

pub(super) static AZURE_FILE_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.AzureFileVolumeSource",
    fields: &[
        req(1, "secretName", Str), req(2, "shareName", Str), omit(3, "readOnly", Bool),
    ],
};

pub(super) static CONFIG_MAP_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.ConfigMapVolumeSource",
    fields: &[
        inline(1, Msg(&LOCAL_OBJECT_REFERENCE)), list(2, "items", Msg(&KEY_TO_PATH)),
        ptr(3, "defaultMode", I32), ptr(4, "optional", Bool),
    ],
};

pub(super) static VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.VsphereVirtualDiskVolumeSource",
    fields: &[
        req(1, "volumePath", Str), omit(2, "fsType", Str), omit(3, "storagePolicyName", Str),
        omit(4, "storagePolicyID", Str),
    ],
};

pub(super) static QUOBYTE_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.QuobyteVolumeSource",
    fields: &[
        req(1, "registry", Str), req(2, "volume", Str), omit(3, "readOnly", Bool),
        omit(4, "user", Str), omit(5, "group", Str), omit(6, "tenant", Str),
    ],
};

pub(super) static AZURE_DISK_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.AzureDiskVolumeSource",
    fields: &[
        req(1, "diskName", Str), req(2, "diskURI", Str), ptr(3, "cachingMode", Str),
        ptr(4, "fsType", Str), ptr(5, "readOnly", Bool), ptr(6, "kind", Str),
    ],
};

pub(super) static PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.PhotonPersistentDiskVolumeSource",
    fields: &[
        req(1, "pdID", Str), omit(2, "fsType", Str),
    ],
};

pub(super) static PROJECTED_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.ProjectedVolumeSource",
    fields: &[
        list_req(1, "sources", Msg(&VOLUME_PROJECTION)), ptr(2, "defaultMode", I32),
    ],
};

pub(super) static VOLUME_PROJECTION: Message = Message {
    name: "k8s.io.api.core.v1.VolumeProjection",
    fields: &[
        ptr(1, "secret", Msg(&SECRET_PROJECTION)),
        ptr(2, "downwardAPI", Msg(&DOWNWARD_API_PROJECTION)),
        ptr(3, "configMap", Msg(&CONFIG_MAP_PROJECTION)),
        ptr(4, "serviceAccountToken", Msg(&SERVICE_ACCOUNT_TOKEN_PROJECTION)),
        ptr(5, "clusterTrustBundle", Msg(&CLUSTER_TRUST_BUNDLE_PROJECTION)),
        ptr(6, "podCertificate", Msg(&POD_CERTIFICATE_PROJECTION)),
    ],
};

pub(super) static SECRET_PROJECTION: Message = Message {
    name: "k8s.io.api.core.v1.SecretProjection",
    fields: &[
        inline(1, Msg(&LOCAL_OBJECT_REFERENCE)), list(2, "items", Msg(&KEY_TO_PATH)),
        ptr(4, "optional", Bool),
    ],
};

pub(super) static DOWNWARD_API_PROJECTION: Message = Message {
    name: "k8s.io.api.core.v1.DownwardAPIProjection",
    fields: &[
        list(1, "items", Msg(&DOWNWARD_API_VOLUME_FILE)),
    ],
};

pub(super) static CONFIG_MAP_PROJECTION: Message = Message {
    name: "k8s.io.api.core.v1.ConfigMapProjection",
    fields: &[
        inline(1, Msg(&LOCAL_OBJECT_REFERENCE)), list(2, "items", Msg(&KEY_TO_PATH)),
        ptr(4, "optional", Bool),
    ],
};

pub(super) static SERVICE_ACCOUNT_TOKEN_PROJECTION: Message = Message {
    name: "k8s.io.api.core.v1.ServiceAccountTokenProjection",
    fields: &[
        omit(1, "audience", Str), ptr(2, "expirationSeconds", I64), req(3, "path", Str),
    ],
};

pub(super) static CLUSTER_TRUST_BUNDLE_PROJECTION: Message = Message {
    name: "k8s.io.api.core.v1.ClusterTrustBundleProjection",
    fields: &[
        ptr(1, "name", Str), ptr(2, "signerName", Str),
        ptr(3, "labelSelector", Msg(&LABEL_SELECTOR)), ptr(5, "optional", Bool),
        req(4, "path", Str),
    ],
};

pub(super) static POD_CERTIFICATE_PROJECTION: Message = Message {
    name: "k8s.io.api.core.v1.PodCertificateProjection",
    fields: &[
        omit(1, "signerName", Str), omit(2, "keyType", Str), ptr(3, "maxExpirationSeconds", I32),
        omit(4, "credentialBundlePath", Str), omit(5, "keyPath", Str),
        omit(6, "certificateChainPath", Str), map(7, "userAnnotations", Str),
    ],
};

pub(super) static PORTWORX_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.PortworxVolumeSource",
    fields: &[
        req(1, "volumeID", Str), omit(2, "fsType", Str), omit(3, "readOnly", Bool),
    ],
};

pub(super) static SCALE_IO_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.ScaleIOVolumeSource",
    fields: &[
        req(1, "gateway", Str), req(2, "system", Str),
        ptr_null(3, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)), omit(4, "sslEnabled", Bool),
        omit(5, "protectionDomain", Str), omit(6, "storagePool", Str), omit(7, "storageMode", Str),
        omit(8, "volumeName", Str), omit(9, "fsType", Str), omit(10, "readOnly", Bool),
    ],
};

pub(super) static STORAGE_OS_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.StorageOSVolumeSource",
    fields: &[
        omit(1, "volumeName", Str), omit(2, "volumeNamespace", Str), omit(3, "fsType", Str),
        omit(4, "readOnly", Bool), ptr(5, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
    ],
};

pub(super) static CSI_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.CSIVolumeSource",
    fields: &[
        req(1, "driver", Str), ptr(2, "readOnly", Bool), ptr(3, "fsType", Str),
        map(4, "volumeAttributes", Str),
        ptr(5, "nodePublishSecretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
    ],
};

pub(super) static EPHEMERAL_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.EphemeralVolumeSource",
    fields: &[
        ptr(1, "volumeClaimTemplate", Msg(&PERSISTENT_VOLUME_CLAIM_TEMPLATE)),
    ],
};

pub(super) static PERSISTENT_VOLUME_CLAIM_TEMPLATE: Message = Message {
    name: "k8s.io.api.core.v1.PersistentVolumeClaimTemplate",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), req(2, "spec", Msg(&PERSISTENT_VOLUME_CLAIM_SPEC)),
    ],
};

pub(super) static PERSISTENT_VOLUME_CLAIM_SPEC: Message = Message {
    name: "k8s.io.api.core.v1.PersistentVolumeClaimSpec",
    fields: &[
        list(1, "accessModes", Str), ptr(4, "selector", Msg(&LABEL_SELECTOR)),
        omit(2, "resources", Msg(&VOLUME_RESOURCE_REQUIREMENTS)), omit(3, "volumeName", Str),
        ptr(5, "storageClassName", Str), ptr(6, "volumeMode", Str),
        ptr(7, "dataSource", Msg(&TYPED_LOCAL_OBJECT_REFERENCE)),
        ptr(8, "dataSourceRef", Msg(&TYPED_OBJECT_REFERENCE)),
        ptr(9, "volumeAttributesClassName", Str),
    ],
};

pub(super) static VOLUME_RESOURCE_REQUIREMENTS: Message = Message {
    name: "k8s.io.api.core.v1.VolumeResourceRequirements",
    fields: &[
        map(1, "limits", Quantity), map(2, "requests", Quantity),
    ],
};

pub(super) static TYPED_LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "k8s.io.api.core.v1.TypedLocalObjectReference",
    fields: &[
        ptr_null(1, "apiGroup", Str), req(2, "kind", Str), req(3, "name", Str),
    ],
};

pub(super) static TYPED_OBJECT_REFERENCE: Message = Message {
    name: "k8s.io.api.core.v1.TypedObjectReference",
    fields: &[
        ptr_null(1, "apiGroup", Str), req(2, "kind", Str), req(3, "name", Str),
        ptr(4, "namespace", Str),
    ],
};

pub(super) static IMAGE_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.ImageVolumeSource",
    fields: &[
        omit(1, "reference", Str), omit(2, "pullPolicy", Str),
    ],
};
