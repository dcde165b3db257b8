//! core/v1 persistent volumes and their claims.
//!
//! Written by `gen/tables.py` from `k8s.io/api` and `k8s.io/apimachinery` v0.36.3;
//! change the script and run it again rather than editing.

use super::core_volume::{
    AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE, AZURE_DISK_VOLUME_SOURCE, FC_VOLUME_SOURCE,
    FLOCKER_VOLUME_SOURCE, GCE_PERSISTENT_DISK_VOLUME_SOURCE, HOST_PATH_VOLUME_SOURCE,
    NFS_VOLUME_SOURCE, PERSISTENT_VOLUME_CLAIM_SPEC, PHOTON_PERSISTENT_DISK_VOLUME_SOURCE,
    PORTWORX_VOLUME_SOURCE, QUOBYTE_VOLUME_SOURCE, VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE,
};
use super::meta::OBJECT_META;
use super::schema::{Message, inline, list, list_req, map, omit, ptr, ptr_null, req};
use super::schema::Ty::{Bool, I32, Msg, Quantity, Str, Time};

pub(super) static OBJECT_REFERENCE: Message = Message {
    name: "k8s.io.api.core.v1.ObjectReference",
    fields: &[
        omit(1, "kind", Str), omit(2, "namespace", Str), omit(3, "name", Str), omit(4, "uid", Str),
        omit(5, "apiVersion", Str), omit(6, "resourceVersion", Str), omit(7, "fieldPath", Str),
    ],
};

pub(super) static NODE_SELECTOR: Message = Message {
    name: "k8s.io.api.core.v1.NodeSelector",
    fields: &[
        list_req(1, "nodeSelectorTerms", Msg(&NODE_SELECTOR_TERM)),
    ],
};

pub(super) static NODE_SELECTOR_TERM: Message = Message {
    name: "k8s.io.api.core.v1.NodeSelectorTerm",
    fields: &[
        list(1, "matchExpressions", Msg(&NODE_SELECTOR_REQUIREMENT)),
        list(2, "matchFields", Msg(&NODE_SELECTOR_REQUIREMENT)),
    ],
};

pub(super) static NODE_SELECTOR_REQUIREMENT: Message = Message {
    name: "k8s.io.api.core.v1.NodeSelectorRequirement",
    fields: &[
        req(1, "key", Str), req(2, "operator", Str), list(3, "values", Str),
    ],
};

pub(super) static PERSISTENT_VOLUME_CLAIM: Message = Message {
    name: "k8s.io.api.core.v1.PersistentVolumeClaim",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), omit(2, "spec", Msg(&PERSISTENT_VOLUME_CLAIM_SPEC)),
        omit(3, "status", Msg(&PERSISTENT_VOLUME_CLAIM_STATUS)),
    ],
};

pub(super) static PERSISTENT_VOLUME_CLAIM_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.PersistentVolumeClaimStatus",
    fields: &[
        omit(1, "phase", Str), list(2, "accessModes", Str), map(3, "capacity", Quantity),
        list(4, "conditions", Msg(&PERSISTENT_VOLUME_CLAIM_CONDITION)),
        map(5, "allocatedResources", Quantity), map(7, "allocatedResourceStatuses", Str),
        ptr(8, "currentVolumeAttributesClassName", Str),
        ptr(9, "modifyVolumeStatus", Msg(&MODIFY_VOLUME_STATUS)),
    ],
};

pub(super) static PERSISTENT_VOLUME_CLAIM_CONDITION: Message = Message {
    name: "k8s.io.api.core.v1.PersistentVolumeClaimCondition",
    fields: &[
        req(1, "type", Str), req(2, "status", Str), omit(3, "lastProbeTime", Time),
        omit(4, "lastTransitionTime", Time), omit(5, "reason", Str), omit(6, "message", Str),
    ],
};

pub(super) static MODIFY_VOLUME_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.ModifyVolumeStatus",
    fields: &[
        omit(1, "targetVolumeAttributesClassName", Str), req(2, "status", Str),
    ],
};

pub(super) static PERSISTENT_VOLUME: Message = Message {
    name: "k8s.io.api.core.v1.PersistentVolume",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), omit(2, "spec", Msg(&PERSISTENT_VOLUME_SPEC)),
        omit(3, "status", Msg(&PERSISTENT_VOLUME_STATUS)),
    ],
};

pub(super) static PERSISTENT_VOLUME_SPEC: Message = Message {
    name: "k8s.io.api.core.v1.PersistentVolumeSpec",
    fields: &[
        map(1, "capacity", Quantity), inline(2, Msg(&PERSISTENT_VOLUME_SOURCE)),
        list(3, "accessModes", Str), ptr(4, "claimRef", Msg(&OBJECT_REFERENCE)),
        omit(5, "persistentVolumeReclaimPolicy", Str), omit(6, "storageClassName", Str),
        list(7, "mountOptions", Str), ptr(8, "volumeMode", Str),
        ptr(9, "nodeAffinity", Msg(&VOLUME_NODE_AFFINITY)),
        ptr(10, "volumeAttributesClassName", Str),
    ],
};

pub(super) static PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.PersistentVolumeSource",
    fields: &[
        ptr(1, "gcePersistentDisk", Msg(&GCE_PERSISTENT_DISK_VOLUME_SOURCE)),
        ptr(2, "awsElasticBlockStore", Msg(&AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE)),
        ptr(3, "hostPath", Msg(&HOST_PATH_VOLUME_SOURCE)),
        ptr(4, "glusterfs", Msg(&GLUSTERFS_PERSISTENT_VOLUME_SOURCE)),
        ptr(5, "nfs", Msg(&NFS_VOLUME_SOURCE)), ptr(6, "rbd", Msg(&RBD_PERSISTENT_VOLUME_SOURCE)),
        ptr(7, "iscsi", Msg(&ISCSI_PERSISTENT_VOLUME_SOURCE)),
        ptr(8, "cinder", Msg(&CINDER_PERSISTENT_VOLUME_SOURCE)),
        ptr(9, "cephfs", Msg(&CEPH_FS_PERSISTENT_VOLUME_SOURCE)),
        ptr(10, "fc", Msg(&FC_VOLUME_SOURCE)), ptr(11, "flocker", Msg(&FLOCKER_VOLUME_SOURCE)),
        ptr(12, "flexVolume", Msg(&FLEX_PERSISTENT_VOLUME_SOURCE)),
        ptr(13, "azureFile", Msg(&AZURE_FILE_PERSISTENT_VOLUME_SOURCE)),
        ptr(14, "vsphereVolume", Msg(&VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE)),
        ptr(15, "quobyte", Msg(&QUOBYTE_VOLUME_SOURCE)),
        ptr(16, "azureDisk", Msg(&AZURE_DISK_VOLUME_SOURCE)),
        ptr(17, "photonPersistentDisk", Msg(&PHOTON_PERSISTENT_DISK_VOLUME_SOURCE)),
        ptr(18, "portworxVolume", Msg(&PORTWORX_VOLUME_SOURCE)),
        ptr(19, "scaleIO", Msg(&SCALE_IO_PERSISTENT_VOLUME_SOURCE)),
        ptr(20, "local", Msg(&LOCAL_VOLUME_SOURCE)),
        ptr(21, "storageos", Msg(&STORAGE_OS_PERSISTENT_VOLUME_SOURCE)),
        ptr(22, "csi", Msg(&CSI_PERSISTENT_VOLUME_SOURCE)),
    ],
};

pub(super) static GLUSTERFS_PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.GlusterfsPersistentVolumeSource",
    fields: &[
        req(1, "endpoints", Str), req(2, "path", Str), omit(3, "readOnly", Bool),
        ptr(4, "endpointsNamespace", Str),
    ],
};

pub(super) static RBD_PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.RBDPersistentVolumeSource",
    fields: &[
        list_req(1, "monitors", Str), req(2, "image", Str), omit(3, "fsType", Str),
        omit(4, "pool", Str), omit(5, "user", Str), omit(6, "keyring", Str),
        ptr(7, "secretRef", Msg(&SECRET_REFERENCE)), omit(8, "readOnly", Bool),
    ],
};

pub(super) static SECRET_REFERENCE: Message = Message {
    name: "k8s.io.api.core.v1.SecretReference",
    fields: &[
        omit(1, "name", Str), omit(2, "namespace", Str),
    ],
};

pub(super) static ISCSI_PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.ISCSIPersistentVolumeSource",
    fields: &[
        req(1, "targetPortal", Str), req(2, "iqn", Str), req(3, "lun", I32),
        omit(4, "iscsiInterface", Str), omit(5, "fsType", Str), omit(6, "readOnly", Bool),
        list(7, "portals", Str), omit(8, "chapAuthDiscovery", Bool),
        omit(11, "chapAuthSession", Bool), ptr(10, "secretRef", Msg(&SECRET_REFERENCE)),
        ptr(12, "initiatorName", Str),
    ],
};

pub(super) static CINDER_PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.CinderPersistentVolumeSource",
    fields: &[
        req(1, "volumeID", Str), omit(2, "fsType", Str), omit(3, "readOnly", Bool),
        ptr(4, "secretRef", Msg(&SECRET_REFERENCE)),
    ],
};

pub(super) static CEPH_FS_PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.CephFSPersistentVolumeSource",
    fields: &[
        list_req(1, "monitors", Str), omit(2, "path", Str), omit(3, "user", Str),
        omit(4, "secretFile", Str), ptr(5, "secretRef", Msg(&SECRET_REFERENCE)),
        omit(6, "readOnly", Bool),
    ],
};

pub(super) static FLEX_PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.FlexPersistentVolumeSource",
    fields: &[
        req(1, "driver", Str), omit(2, "fsType", Str), ptr(3, "secretRef", Msg(&SECRET_REFERENCE)),
        omit(4, "readOnly", Bool), map(5, "options", Str),
    ],
};

pub(super) static AZURE_FILE_PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.AzureFilePersistentVolumeSource",
    fields: &[
        req(1, "secretName", Str), req(2, "shareName", Str), omit(3, "readOnly", Bool),
        ptr_null(4, "secretNamespace", Str),
    ],
};

pub(super) static SCALE_IO_PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.ScaleIOPersistentVolumeSource",
    fields: &[
        req(1, "gateway", Str), req(2, "system", Str),
        ptr_null(3, "secretRef", Msg(&SECRET_REFERENCE)), omit(4, "sslEnabled", Bool),
        omit(5, "protectionDomain", Str), omit(6, "storagePool", Str), omit(7, "storageMode", Str),
        omit(8, "volumeName", Str), omit(9, "fsType", Str), omit(10, "readOnly", Bool),
    ],
};

pub(super) static LOCAL_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.LocalVolumeSource",
    fields: &[
        req(1, "path", Str), ptr(2, "fsType", Str),
    ],
};

pub(super) static STORAGE_OS_PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.StorageOSPersistentVolumeSource",
    fields: &[
        omit(1, "volumeName", Str), omit(2, "volumeNamespace", Str), omit(3, "fsType", Str),
        omit(4, "readOnly", Bool), ptr(5, "secretRef", Msg(&OBJECT_REFERENCE)),
    ],
};

pub(super) static CSI_PERSISTENT_VOLUME_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.CSIPersistentVolumeSource",
    fields: &[
        req(1, "driver", Str), req(2, "volumeHandle", Str), omit(3, "readOnly", Bool),
        omit(4, "fsType", Str), map(5, "volumeAttributes", Str),
        ptr(6, "controllerPublishSecretRef", Msg(&SECRET_REFERENCE)),
        ptr(7, "nodeStageSecretRef", Msg(&SECRET_REFERENCE)),
        ptr(8, "nodePublishSecretRef", Msg(&SECRET_REFERENCE)),
        ptr(9, "controllerExpandSecretRef", Msg(&SECRET_REFERENCE)),
        ptr(10, "nodeExpandSecretRef", Msg(&SECRET_REFERENCE)),
    ],
};

pub(super) static VOLUME_NODE_AFFINITY: Message = Message {
    name: "k8s.io.api.core.v1.VolumeNodeAffinity",
    fields: &[
        ptr(1, "required", Msg(&NODE_SELECTOR)),
    ],
};

pub(super) static PERSISTENT_VOLUME_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.PersistentVolumeStatus",
    fields: &[
        omit(1, "phase", Str), omit(2, "message", Str), omit(3, "reason", Str),
        ptr(4, "lastPhaseTransitionTime", Time),
    ],
};
