//! core/v1 objects other than volumes, and the pod spec and status.
//!
//! Written by `gen/tables.py` from `k8s.io/api` and `k8s.io/apimachinery` v0.36.3;
//! change the script and run it again rather than editing.

use super::core_container::{
    APP_ARMOR_PROFILE, CONTAINER, EPHEMERAL_CONTAINER, LOCAL_OBJECT_REFERENCE,
    RESOURCE_REQUIREMENTS, SECCOMP_PROFILE, SE_LINUX_OPTIONS, WINDOWS_SECURITY_CONTEXT_OPTIONS,
};
use super::core_storage::{NODE_SELECTOR, NODE_SELECTOR_TERM, OBJECT_REFERENCE};
use super::core_volume::VOLUME;
use super::meta::{LABEL_SELECTOR, OBJECT_META};
use super::schema::{Message, list, list_req, map, map_req, omit, ptr, req};
use super::schema::Ty::{Bool, Bytes, I32, I64, MicroTime, Msg, Quantity, Str, Time};

pub(super) static SECRET: Message = Message {
    name: "k8s.io.api.core.v1.Secret",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), ptr(5, "immutable", Bool), map(2, "data", Bytes),
        map(4, "stringData", Str), omit(3, "type", Str),
    ],
};

pub(super) static CONFIG_MAP: Message = Message {
    name: "k8s.io.api.core.v1.ConfigMap",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), ptr(4, "immutable", Bool), map(2, "data", Str),
        map(3, "binaryData", Bytes),
    ],
};

pub(super) static NAMESPACE: Message = Message {
    name: "k8s.io.api.core.v1.Namespace",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), omit(2, "spec", Msg(&NAMESPACE_SPEC)),
        omit(3, "status", Msg(&NAMESPACE_STATUS)),
    ],
};

pub(super) static NAMESPACE_SPEC: Message = Message {
    name: "k8s.io.api.core.v1.NamespaceSpec",
    fields: &[
        list(1, "finalizers", Str),
    ],
};

pub(super) static NAMESPACE_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.NamespaceStatus",
    fields: &[
        omit(1, "phase", Str), list(2, "conditions", Msg(&NAMESPACE_CONDITION)),
    ],
};

pub(super) static NAMESPACE_CONDITION: Message = Message {
    name: "k8s.io.api.core.v1.NamespaceCondition",
    fields: &[
        req(1, "type", Str), req(2, "status", Str), omit(4, "lastTransitionTime", Time),
        omit(5, "reason", Str), omit(6, "message", Str),
    ],
};

pub(super) static SERVICE_ACCOUNT: Message = Message {
    name: "k8s.io.api.core.v1.ServiceAccount",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), list(2, "secrets", Msg(&OBJECT_REFERENCE)),
        list(3, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE)),
        ptr(4, "automountServiceAccountToken", Bool),
    ],
};

pub(super) static POD: Message = Message {
    name: "k8s.io.api.core.v1.Pod",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), omit(2, "spec", Msg(&POD_SPEC)),
        omit(3, "status", Msg(&POD_STATUS)),
    ],
};

pub(super) static POD_SPEC: Message = Message {
    name: "k8s.io.api.core.v1.PodSpec",
    fields: &[
        list(1, "volumes", Msg(&VOLUME)), list(20, "initContainers", Msg(&CONTAINER)),
        list_req(2, "containers", Msg(&CONTAINER)),
        list(34, "ephemeralContainers", Msg(&EPHEMERAL_CONTAINER)), omit(3, "restartPolicy", Str),
        ptr(4, "terminationGracePeriodSeconds", I64), ptr(5, "activeDeadlineSeconds", I64),
        omit(6, "dnsPolicy", Str), map(7, "nodeSelector", Str), omit(8, "serviceAccountName", Str),
        omit(9, "serviceAccount", Str), ptr(21, "automountServiceAccountToken", Bool),
        omit(10, "nodeName", Str), omit(11, "hostNetwork", Bool), omit(12, "hostPID", Bool),
        omit(13, "hostIPC", Bool), ptr(27, "shareProcessNamespace", Bool),
        ptr(14, "securityContext", Msg(&POD_SECURITY_CONTEXT)),
        list(15, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE)), omit(16, "hostname", Str),
        omit(17, "subdomain", Str), ptr(18, "affinity", Msg(&AFFINITY)),
        omit(19, "schedulerName", Str), list(22, "tolerations", Msg(&TOLERATION)),
        list(23, "hostAliases", Msg(&HOST_ALIAS)), omit(24, "priorityClassName", Str),
        ptr(25, "priority", I32), ptr(26, "dnsConfig", Msg(&POD_DNS_CONFIG)),
        list(28, "readinessGates", Msg(&POD_READINESS_GATE)), ptr(29, "runtimeClassName", Str),
        ptr(30, "enableServiceLinks", Bool), ptr(31, "preemptionPolicy", Str),
        map(32, "overhead", Quantity),
        list(33, "topologySpreadConstraints", Msg(&TOPOLOGY_SPREAD_CONSTRAINT)),
        ptr(35, "setHostnameAsFQDN", Bool), ptr(36, "os", Msg(&POD_OS)), ptr(37, "hostUsers", Bool),
        list(38, "schedulingGates", Msg(&POD_SCHEDULING_GATE)),
        list(39, "resourceClaims", Msg(&POD_RESOURCE_CLAIM)),
        ptr(40, "resources", Msg(&RESOURCE_REQUIREMENTS)), ptr(41, "hostnameOverride", Str),
        ptr(43, "schedulingGroup", Msg(&POD_SCHEDULING_GROUP)),
    ],
};

pub(super) static POD_SECURITY_CONTEXT: Message = Message {
    name: "k8s.io.api.core.v1.PodSecurityContext",
    fields: &[
        ptr(1, "seLinuxOptions", Msg(&SE_LINUX_OPTIONS)),
        ptr(8, "windowsOptions", Msg(&WINDOWS_SECURITY_CONTEXT_OPTIONS)), ptr(2, "runAsUser", I64),
        ptr(6, "runAsGroup", I64), ptr(3, "runAsNonRoot", Bool), list(4, "supplementalGroups", I64),
        ptr(12, "supplementalGroupsPolicy", Str), ptr(5, "fsGroup", I64),
        list(7, "sysctls", Msg(&SYSCTL)), ptr(9, "fsGroupChangePolicy", Str),
        ptr(10, "seccompProfile", Msg(&SECCOMP_PROFILE)),
        ptr(11, "appArmorProfile", Msg(&APP_ARMOR_PROFILE)), ptr(13, "seLinuxChangePolicy", Str),
    ],
};

pub(super) static SYSCTL: Message = Message {
    name: "k8s.io.api.core.v1.Sysctl",
    fields: &[
        req(1, "name", Str), req(2, "value", Str),
    ],
};

pub(super) static AFFINITY: Message = Message {
    name: "k8s.io.api.core.v1.Affinity",
    fields: &[
        ptr(1, "nodeAffinity", Msg(&NODE_AFFINITY)), ptr(2, "podAffinity", Msg(&POD_AFFINITY)),
        ptr(3, "podAntiAffinity", Msg(&POD_ANTI_AFFINITY)),
    ],
};

pub(super) static NODE_AFFINITY: Message = Message {
    name: "k8s.io.api.core.v1.NodeAffinity",
    fields: &[
        ptr(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&NODE_SELECTOR)),
        list(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg(&PREFERRED_SCHEDULING_TERM)),
    ],
};

pub(super) static PREFERRED_SCHEDULING_TERM: Message = Message {
    name: "k8s.io.api.core.v1.PreferredSchedulingTerm",
    fields: &[
        req(1, "weight", I32), req(2, "preference", Msg(&NODE_SELECTOR_TERM)),
    ],
};

pub(super) static POD_AFFINITY: Message = Message {
    name: "k8s.io.api.core.v1.PodAffinity",
    fields: &[
        list(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&POD_AFFINITY_TERM)),
        list(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg(&WEIGHTED_POD_AFFINITY_TERM)),
    ],
};

pub(super) static POD_AFFINITY_TERM: Message = Message {
    name: "k8s.io.api.core.v1.PodAffinityTerm",
    fields: &[
        ptr(1, "labelSelector", Msg(&LABEL_SELECTOR)), list(2, "namespaces", Str),
        req(3, "topologyKey", Str), ptr(4, "namespaceSelector", Msg(&LABEL_SELECTOR)),
        list(5, "matchLabelKeys", Str), list(6, "mismatchLabelKeys", Str),
    ],
};

pub(super) static WEIGHTED_POD_AFFINITY_TERM: Message = Message {
    name: "k8s.io.api.core.v1.WeightedPodAffinityTerm",
    fields: &[
        req(1, "weight", I32), req(2, "podAffinityTerm", Msg(&POD_AFFINITY_TERM)),
    ],
};

pub(super) static POD_ANTI_AFFINITY: Message = Message {
    name: "k8s.io.api.core.v1.PodAntiAffinity",
    fields: &[
        list(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&POD_AFFINITY_TERM)),
        list(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg(&WEIGHTED_POD_AFFINITY_TERM)),
    ],
};

pub(super) static TOLERATION: Message = Message {
    name: "k8s.io.api.core.v1.Toleration",
    fields: &[
        omit(1, "key", Str), omit(2, "operator", Str), omit(3, "value", Str),
        omit(4, "effect", Str), ptr(5, "tolerationSeconds", I64),
    ],
};

pub(super) static HOST_ALIAS: Message = Message {
    name: "k8s.io.api.core.v1.HostAlias",
    fields: &[
        req(1, "ip", Str), list(2, "hostnames", Str),
    ],
};

pub(super) static POD_DNS_CONFIG: Message = Message {
    name: "k8s.io.api.core.v1.PodDNSConfig",
    fields: &[
        list(1, "nameservers", Str), list(2, "searches", Str),
        list(3, "options", Msg(&POD_DNS_CONFIG_OPTION)),
    ],
};

pub(super) static POD_DNS_CONFIG_OPTION: Message = Message {
    name: "k8s.io.api.core.v1.PodDNSConfigOption",
    fields: &[
        omit(1, "name", Str), ptr(2, "value", Str),
    ],
};

pub(super) static POD_READINESS_GATE: Message = Message {
    name: "k8s.io.api.core.v1.PodReadinessGate",
    fields: &[
        req(1, "conditionType", Str),
    ],
};

pub(super) static TOPOLOGY_SPREAD_CONSTRAINT: Message = Message {
    name: "k8s.io.api.core.v1.TopologySpreadConstraint",
    fields: &[
        req(1, "maxSkew", I32), req(2, "topologyKey", Str), req(3, "whenUnsatisfiable", Str),
        ptr(4, "labelSelector", Msg(&LABEL_SELECTOR)), ptr(5, "minDomains", I32),
        ptr(6, "nodeAffinityPolicy", Str), ptr(7, "nodeTaintsPolicy", Str),
        list(8, "matchLabelKeys", Str),
    ],
};

pub(super) static POD_OS: Message = Message {
    name: "k8s.io.api.core.v1.PodOS",
    fields: &[
        req(1, "name", Str),
    ],
};

pub(super) static POD_SCHEDULING_GATE: Message = Message {
    name: "k8s.io.api.core.v1.PodSchedulingGate",
    fields: &[
        req(1, "name", Str),
    ],
};

pub(super) static POD_RESOURCE_CLAIM: Message = Message {
    name: "k8s.io.api.core.v1.PodResourceClaim",
    fields: &[
        req(1, "name", Str), ptr(3, "resourceClaimName", Str),
        ptr(4, "resourceClaimTemplateName", Str),
    ],
};

pub(super) static POD_SCHEDULING_GROUP: Message = Message {
    name: "k8s.io.api.core.v1.PodSchedulingGroup",
    fields: &[
        ptr(1, "podGroupName", Str),
    ],
};

pub(super) static POD_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.PodStatus",
    fields: &[
        omit(17, "observedGeneration", I64), omit(1, "phase", Str),
        list(2, "conditions", Msg(&POD_CONDITION)), omit(3, "message", Str), omit(4, "reason", Str),
        omit(11, "nominatedNodeName", Str), omit(5, "hostIP", Str),
        list(16, "hostIPs", Msg(&HOST_IP)), omit(6, "podIP", Str), list(12, "podIPs", Msg(&POD_IP)),
        ptr(7, "startTime", Time), list(10, "initContainerStatuses", Msg(&CONTAINER_STATUS)),
        list(8, "containerStatuses", Msg(&CONTAINER_STATUS)), omit(9, "qosClass", Str),
        list(13, "ephemeralContainerStatuses", Msg(&CONTAINER_STATUS)), omit(14, "resize", Str),
        list(15, "resourceClaimStatuses", Msg(&POD_RESOURCE_CLAIM_STATUS)),
        ptr(18, "extendedResourceClaimStatus", Msg(&POD_EXTENDED_RESOURCE_CLAIM_STATUS)),
        map(19, "allocatedResources", Quantity), ptr(20, "resources", Msg(&RESOURCE_REQUIREMENTS)),
        list(21, "nodeAllocatableResourceClaimStatuses", Msg(&NODE_ALLOCATABLE_RESOURCE_CLAIM_STATUS)),
    ],
};

pub(super) static POD_CONDITION: Message = Message {
    name: "k8s.io.api.core.v1.PodCondition",
    fields: &[
        req(1, "type", Str), omit(7, "observedGeneration", I64), req(2, "status", Str),
        omit(3, "lastProbeTime", Time), omit(4, "lastTransitionTime", Time), omit(5, "reason", Str),
        omit(6, "message", Str),
    ],
};

pub(super) static HOST_IP: Message = Message {
    name: "k8s.io.api.core.v1.HostIP",
    fields: &[
        req(1, "ip", Str),
    ],
};

pub(super) static POD_IP: Message = Message {
    name: "k8s.io.api.core.v1.PodIP",
    fields: &[
        req(1, "ip", Str),
    ],
};

pub(super) static CONTAINER_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.ContainerStatus",
    fields: &[
        req(1, "name", Str), omit(2, "state", Msg(&CONTAINER_STATE)),
        omit(3, "lastState", Msg(&CONTAINER_STATE)), req(4, "ready", Bool),
        req(5, "restartCount", I32), req(6, "image", Str), req(7, "imageID", Str),
        omit(8, "containerID", Str), ptr(9, "started", Bool),
        map(10, "allocatedResources", Quantity), ptr(11, "resources", Msg(&RESOURCE_REQUIREMENTS)),
        list(12, "volumeMounts", Msg(&VOLUME_MOUNT_STATUS)), ptr(13, "user", Msg(&CONTAINER_USER)),
        list(14, "allocatedResourcesStatus", Msg(&RESOURCE_STATUS)), ptr(15, "stopSignal", Str),
    ],
};

pub(super) static CONTAINER_STATE: Message = Message {
    name: "k8s.io.api.core.v1.ContainerState",
    fields: &[
        ptr(1, "waiting", Msg(&CONTAINER_STATE_WAITING)),
        ptr(2, "running", Msg(&CONTAINER_STATE_RUNNING)),
        ptr(3, "terminated", Msg(&CONTAINER_STATE_TERMINATED)),
    ],
};

pub(super) static CONTAINER_STATE_WAITING: Message = Message {
    name: "k8s.io.api.core.v1.ContainerStateWaiting",
    fields: &[
        omit(1, "reason", Str), omit(2, "message", Str),
    ],
};

pub(super) static CONTAINER_STATE_RUNNING: Message = Message {
    name: "k8s.io.api.core.v1.ContainerStateRunning",
    fields: &[
        omit(1, "startedAt", Time),
    ],
};

pub(super) static CONTAINER_STATE_TERMINATED: Message = Message {
    name: "k8s.io.api.core.v1.ContainerStateTerminated",
    fields: &[
        req(1, "exitCode", I32), omit(2, "signal", I32), omit(3, "reason", Str),
        omit(4, "message", Str), omit(5, "startedAt", Time), omit(6, "finishedAt", Time),
        omit(7, "containerID", Str),
    ],
};

pub(super) static VOLUME_MOUNT_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.VolumeMountStatus",
    fields: &[
        req(1, "name", Str), req(2, "mountPath", Str), omit(3, "readOnly", Bool),
        ptr(4, "recursiveReadOnly", Str), ptr(5, "volumeStatus", Msg(&VOLUME_STATUS)),
    ],
};

pub(super) static VOLUME_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.VolumeStatus",
    fields: &[
        ptr(1, "image", Msg(&IMAGE_VOLUME_STATUS)),
    ],
};

pub(super) static IMAGE_VOLUME_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.ImageVolumeStatus",
    fields: &[
        omit(1, "imageRef", Str),
    ],
};

pub(super) static CONTAINER_USER: Message = Message {
    name: "k8s.io.api.core.v1.ContainerUser",
    fields: &[
        ptr(1, "linux", Msg(&LINUX_CONTAINER_USER)),
    ],
};

pub(super) static LINUX_CONTAINER_USER: Message = Message {
    name: "k8s.io.api.core.v1.LinuxContainerUser",
    fields: &[
        req(1, "uid", I64), req(2, "gid", I64), list(3, "supplementalGroups", I64),
    ],
};

pub(super) static RESOURCE_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.ResourceStatus",
    fields: &[
        req(1, "name", Str), list(2, "resources", Msg(&RESOURCE_HEALTH)),
    ],
};

pub(super) static RESOURCE_HEALTH: Message = Message {
    name: "k8s.io.api.core.v1.ResourceHealth",
    fields: &[
        req(1, "resourceID", Str), omit(2, "health", Str), ptr(6, "message", Str),
    ],
};

pub(super) static POD_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.PodResourceClaimStatus",
    fields: &[
        req(1, "name", Str), ptr(2, "resourceClaimName", Str),
    ],
};

pub(super) static POD_EXTENDED_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.PodExtendedResourceClaimStatus",
    fields: &[
        list_req(1, "requestMappings", Msg(&CONTAINER_EXTENDED_RESOURCE_REQUEST)),
        req(2, "resourceClaimName", Str),
    ],
};

pub(super) static CONTAINER_EXTENDED_RESOURCE_REQUEST: Message = Message {
    name: "k8s.io.api.core.v1.ContainerExtendedResourceRequest",
    fields: &[
        req(1, "containerName", Str), req(2, "resourceName", Str), req(3, "requestName", Str),
    ],
};

pub(super) static NODE_ALLOCATABLE_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "k8s.io.api.core.v1.NodeAllocatableResourceClaimStatus",
    fields: &[
        req(1, "resourceClaimName", Str), list(2, "containers", Str),
        map_req(3, "resources", Quantity),
    ],
};

pub(super) static EVENT: Message = Message {
    name: "k8s.io.api.core.v1.Event",
    fields: &[
        req(1, "metadata", Msg(&OBJECT_META)), req(2, "involvedObject", Msg(&OBJECT_REFERENCE)),
        omit(3, "reason", Str), omit(4, "message", Str), omit(5, "source", Msg(&EVENT_SOURCE)),
        omit(6, "firstTimestamp", Time), omit(7, "lastTimestamp", Time), omit(8, "count", I32),
        omit(9, "type", Str), omit(10, "eventTime", MicroTime),
        ptr(11, "series", Msg(&EVENT_SERIES)), omit(12, "action", Str),
        ptr(13, "related", Msg(&OBJECT_REFERENCE)), req(14, "reportingComponent", Str),
        req(15, "reportingInstance", Str),
    ],
};

pub(super) static EVENT_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.EventSource",
    fields: &[
        omit(1, "component", Str), omit(2, "host", Str),
    ],
};

pub(super) static EVENT_SERIES: Message = Message {
    name: "k8s.io.api.core.v1.EventSeries",
    fields: &[
        omit(1, "count", I32), omit(2, "lastObservedTime", MicroTime),
    ],
};

pub(super) static POD_TEMPLATE_SPEC: Message = Message {
    name: "k8s.io.api.core.v1.PodTemplateSpec",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), omit(2, "spec", Msg(&POD_SPEC)),
    ],
};
