//! core/v1 container messages: env, ports, probes, resources, security.
//!
//! Written by `gen/tables.py` from `k8s.io/api` and `k8s.io/apimachinery` v0.36.3;
//! change the script and run it again rather than editing.

use super::schema::{Message, inline, list, map, omit, ptr, ptr_null, req};
use super::schema::Ty::{Bool, I32, I64, IntOrString, Msg, Quantity, Str};

pub(super) static LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "k8s.io.api.core.v1.LocalObjectReference",
    fields: &[
        omit(1, "name", Str),
    ],
};

pub(super) static OBJECT_FIELD_SELECTOR: Message = Message {
    name: "k8s.io.api.core.v1.ObjectFieldSelector",
    fields: &[
        omit(1, "apiVersion", Str), req(2, "fieldPath", Str),
    ],
};

pub(super) static RESOURCE_FIELD_SELECTOR: Message = Message {
    name: "k8s.io.api.core.v1.ResourceFieldSelector",
    fields: &[
        omit(1, "containerName", Str), req(2, "resource", Str), omit(3, "divisor", Quantity),
    ],
};

pub(super) static CONTAINER: Message = Message {
    name: "k8s.io.api.core.v1.Container",
    fields: &[
        req(1, "name", Str), omit(2, "image", Str), list(3, "command", Str), list(4, "args", Str),
        omit(5, "workingDir", Str), list(6, "ports", Msg(&CONTAINER_PORT)),
        list(19, "envFrom", Msg(&ENV_FROM_SOURCE)), list(7, "env", Msg(&ENV_VAR)),
        omit(8, "resources", Msg(&RESOURCE_REQUIREMENTS)),
        list(23, "resizePolicy", Msg(&CONTAINER_RESIZE_POLICY)), ptr(24, "restartPolicy", Str),
        list(25, "restartPolicyRules", Msg(&CONTAINER_RESTART_RULE)),
        list(9, "volumeMounts", Msg(&VOLUME_MOUNT)), list(21, "volumeDevices", Msg(&VOLUME_DEVICE)),
        ptr(10, "livenessProbe", Msg(&PROBE)), ptr(11, "readinessProbe", Msg(&PROBE)),
        ptr(22, "startupProbe", Msg(&PROBE)), ptr(12, "lifecycle", Msg(&LIFECYCLE)),
        omit(13, "terminationMessagePath", Str), omit(20, "terminationMessagePolicy", Str),
        omit(14, "imagePullPolicy", Str), ptr(15, "securityContext", Msg(&SECURITY_CONTEXT)),
        omit(16, "stdin", Bool), omit(17, "stdinOnce", Bool), omit(18, "tty", Bool),
    ],
};

pub(super) static CONTAINER_PORT: Message = Message {
    name: "k8s.io.api.core.v1.ContainerPort",
    fields: &[
        omit(1, "name", Str), omit(2, "hostPort", I32), req(3, "containerPort", I32),
        omit(4, "protocol", Str), omit(5, "hostIP", Str),
    ],
};

pub(super) static ENV_FROM_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.EnvFromSource",
    fields: &[
        omit(1, "prefix", Str), ptr(2, "configMapRef", Msg(&CONFIG_MAP_ENV_SOURCE)),
        ptr(3, "secretRef", Msg(&SECRET_ENV_SOURCE)),
    ],
};

pub(super) static CONFIG_MAP_ENV_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.ConfigMapEnvSource",
    fields: &[
        inline(1, Msg(&LOCAL_OBJECT_REFERENCE)), ptr(2, "optional", Bool),
    ],
};

pub(super) static SECRET_ENV_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.SecretEnvSource",
    fields: &[
        inline(1, Msg(&LOCAL_OBJECT_REFERENCE)), ptr(2, "optional", Bool),
    ],
};

pub(super) static ENV_VAR: Message = Message {
    name: "k8s.io.api.core.v1.EnvVar",
    fields: &[
        req(1, "name", Str), omit(2, "value", Str), ptr(3, "valueFrom", Msg(&ENV_VAR_SOURCE)),
    ],
};

pub(super) static ENV_VAR_SOURCE: Message = Message {
    name: "k8s.io.api.core.v1.EnvVarSource",
    fields: &[
        ptr(1, "fieldRef", Msg(&OBJECT_FIELD_SELECTOR)),
        ptr(2, "resourceFieldRef", Msg(&RESOURCE_FIELD_SELECTOR)),
        ptr(3, "configMapKeyRef", Msg(&CONFIG_MAP_KEY_SELECTOR)),
        ptr(4, "secretKeyRef", Msg(&SECRET_KEY_SELECTOR)),
        ptr(5, "fileKeyRef", Msg(&FILE_KEY_SELECTOR)),
    ],
};

pub(super) static CONFIG_MAP_KEY_SELECTOR: Message = Message {
    name: "k8s.io.api.core.v1.ConfigMapKeySelector",
    fields: &[
        inline(1, Msg(&LOCAL_OBJECT_REFERENCE)), req(2, "key", Str), ptr(3, "optional", Bool),
    ],
};

pub(super) static SECRET_KEY_SELECTOR: Message = Message {
    name: "k8s.io.api.core.v1.SecretKeySelector",
    fields: &[
        inline(1, Msg(&LOCAL_OBJECT_REFERENCE)), req(2, "key", Str), ptr(3, "optional", Bool),
    ],
};

pub(super) static FILE_KEY_SELECTOR: Message = Message {
    name: "k8s.io.api.core.v1.FileKeySelector",
    fields: &[
        req(1, "volumeName", Str), req(2, "path", Str), req(3, "key", Str),
        ptr(4, "optional", Bool),
    ],
};

pub(super) static RESOURCE_REQUIREMENTS: Message = Message {
    name: "k8s.io.api.core.v1.ResourceRequirements",
    fields: &[
        map(1, "limits", Quantity), map(2, "requests", Quantity),
        list(3, "claims", Msg(&RESOURCE_CLAIM)),
    ],
};

pub(super) static RESOURCE_CLAIM: Message = Message {
    name: "k8s.io.api.core.v1.ResourceClaim",
    fields: &[
        req(1, "name", Str), omit(2, "request", Str),
    ],
};

pub(super) static CONTAINER_RESIZE_POLICY: Message = Message {
    name: "k8s.io.api.core.v1.ContainerResizePolicy",
    fields: &[
        req(1, "resourceName", Str), req(2, "restartPolicy", Str),
    ],
};

pub(super) static CONTAINER_RESTART_RULE: Message = Message {
    name: "k8s.io.api.core.v1.ContainerRestartRule",
    fields: &[
        omit(1, "action", Str), ptr(2, "exitCodes", Msg(&CONTAINER_RESTART_RULE_ON_EXIT_CODES)),
    ],
};

pub(super) static CONTAINER_RESTART_RULE_ON_EXIT_CODES: Message = Message {
    name: "k8s.io.api.core.v1.ContainerRestartRuleOnExitCodes",
    fields: &[
        omit(1, "operator", Str), list(2, "values", I32),
    ],
};

pub(super) static VOLUME_MOUNT: Message = Message {
    name: "k8s.io.api.core.v1.VolumeMount",
    fields: &[
        req(1, "name", Str), omit(2, "readOnly", Bool), ptr(7, "recursiveReadOnly", Str),
        req(3, "mountPath", Str), omit(4, "subPath", Str), ptr(5, "mountPropagation", Str),
        omit(6, "subPathExpr", Str),
    ],
};

pub(super) static VOLUME_DEVICE: Message = Message {
    name: "k8s.io.api.core.v1.VolumeDevice",
    fields: &[
        req(1, "name", Str), req(2, "devicePath", Str),
    ],
};

pub(super) static PROBE: Message = Message {
    name: "k8s.io.api.core.v1.Probe",
    fields: &[
        inline(1, Msg(&PROBE_HANDLER)), omit(2, "initialDelaySeconds", I32),
        omit(3, "timeoutSeconds", I32), omit(4, "periodSeconds", I32),
        omit(5, "successThreshold", I32), omit(6, "failureThreshold", I32),
        ptr(7, "terminationGracePeriodSeconds", I64),
    ],
};

pub(super) static PROBE_HANDLER: Message = Message {
    name: "k8s.io.api.core.v1.ProbeHandler",
    fields: &[
        ptr(1, "exec", Msg(&EXEC_ACTION)), ptr(2, "httpGet", Msg(&HTTP_GET_ACTION)),
        ptr(3, "tcpSocket", Msg(&TCP_SOCKET_ACTION)), ptr(4, "grpc", Msg(&GRPC_ACTION)),
    ],
};

pub(super) static EXEC_ACTION: Message = Message {
    name: "k8s.io.api.core.v1.ExecAction",
    fields: &[
        list(1, "command", Str),
    ],
};

pub(super) static HTTP_GET_ACTION: Message = Message {
    name: "k8s.io.api.core.v1.HTTPGetAction",
    fields: &[
        omit(1, "path", Str), req(2, "port", IntOrString), omit(3, "host", Str),
        omit(4, "scheme", Str), list(5, "httpHeaders", Msg(&HTTP_HEADER)),
    ],
};

pub(super) static HTTP_HEADER: Message = Message {
    name: "k8s.io.api.core.v1.HTTPHeader",
    fields: &[
        req(1, "name", Str), req(2, "value", Str),
    ],
};

pub(super) static TCP_SOCKET_ACTION: Message = Message {
    name: "k8s.io.api.core.v1.TCPSocketAction",
    fields: &[
        req(1, "port", IntOrString), omit(2, "host", Str),
    ],
};

pub(super) static GRPC_ACTION: Message = Message {
    name: "k8s.io.api.core.v1.GRPCAction",
    fields: &[
        req(1, "port", I32), ptr_null(2, "service", Str),
    ],
};

pub(super) static LIFECYCLE: Message = Message {
    name: "k8s.io.api.core.v1.Lifecycle",
    fields: &[
        ptr(1, "postStart", Msg(&LIFECYCLE_HANDLER)), ptr(2, "preStop", Msg(&LIFECYCLE_HANDLER)),
        ptr(3, "stopSignal", Str),
    ],
};

pub(super) static LIFECYCLE_HANDLER: Message = Message {
    name: "k8s.io.api.core.v1.LifecycleHandler",
    fields: &[
        ptr(1, "exec", Msg(&EXEC_ACTION)), ptr(2, "httpGet", Msg(&HTTP_GET_ACTION)),
        ptr(3, "tcpSocket", Msg(&TCP_SOCKET_ACTION)), ptr(4, "sleep", Msg(&SLEEP_ACTION)),
    ],
};

pub(super) static SLEEP_ACTION: Message = Message {
    name: "k8s.io.api.core.v1.SleepAction",
    fields: &[
        req(1, "seconds", I64),
    ],
};

pub(super) static SECURITY_CONTEXT: Message = Message {
    name: "k8s.io.api.core.v1.SecurityContext",
    fields: &[
        ptr(1, "capabilities", Msg(&CAPABILITIES)), ptr(2, "privileged", Bool),
        ptr(3, "seLinuxOptions", Msg(&SE_LINUX_OPTIONS)),
        ptr(10, "windowsOptions", Msg(&WINDOWS_SECURITY_CONTEXT_OPTIONS)), ptr(4, "runAsUser", I64),
        ptr(8, "runAsGroup", I64), ptr(5, "runAsNonRoot", Bool),
        ptr(6, "readOnlyRootFilesystem", Bool), ptr(7, "allowPrivilegeEscalation", Bool),
        ptr(9, "procMount", Str), ptr(11, "seccompProfile", Msg(&SECCOMP_PROFILE)),
        ptr(12, "appArmorProfile", Msg(&APP_ARMOR_PROFILE)),
    ],
};

pub(super) static CAPABILITIES: Message = Message {
    name: "k8s.io.api.core.v1.Capabilities",
    fields: &[
        list(1, "add", Str), list(2, "drop", Str),
    ],
};

pub(super) static SE_LINUX_OPTIONS: Message = Message {
    name: "k8s.io.api.core.v1.SELinuxOptions",
    fields: &[
        omit(1, "user", Str), omit(2, "role", Str), omit(3, "type", Str), omit(4, "level", Str),
    ],
};

pub(super) static WINDOWS_SECURITY_CONTEXT_OPTIONS: Message = Message {
    name: "k8s.io.api.core.v1.WindowsSecurityContextOptions",
    fields: &[
        ptr(1, "gmsaCredentialSpecName", Str), ptr(2, "gmsaCredentialSpec", Str),
        ptr(3, "runAsUserName", Str), ptr(4, "hostProcess", Bool),
    ],
};

pub(super) static SECCOMP_PROFILE: Message = Message {
    name: "k8s.io.api.core.v1.SeccompProfile",
    fields: &[
        req(1, "type", Str), ptr(2, "localhostProfile", Str),
    ],
};

pub(super) static APP_ARMOR_PROFILE: Message = Message {
    name: "k8s.io.api.core.v1.AppArmorProfile",
    fields: &[
        req(1, "type", Str), ptr(2, "localhostProfile", Str),
    ],
};

pub(super) static EPHEMERAL_CONTAINER: Message = Message {
    name: "k8s.io.api.core.v1.EphemeralContainer",
    fields: &[
        inline(1, Msg(&EPHEMERAL_CONTAINER_COMMON)), omit(2, "targetContainerName", Str),
    ],
};

pub(super) static EPHEMERAL_CONTAINER_COMMON: Message = Message {
    name: "k8s.io.api.core.v1.EphemeralContainerCommon",
    fields: &[
        req(1, "name", Str), omit(2, "image", Str), list(3, "command", Str), list(4, "args", Str),
        omit(5, "workingDir", Str), list(6, "ports", Msg(&CONTAINER_PORT)),
        list(19, "envFrom", Msg(&ENV_FROM_SOURCE)), list(7, "env", Msg(&ENV_VAR)),
        omit(8, "resources", Msg(&RESOURCE_REQUIREMENTS)),
        list(23, "resizePolicy", Msg(&CONTAINER_RESIZE_POLICY)), ptr(24, "restartPolicy", Str),
        list(25, "restartPolicyRules", Msg(&CONTAINER_RESTART_RULE)),
        list(9, "volumeMounts", Msg(&VOLUME_MOUNT)), list(21, "volumeDevices", Msg(&VOLUME_DEVICE)),
        ptr(10, "livenessProbe", Msg(&PROBE)), ptr(11, "readinessProbe", Msg(&PROBE)),
        ptr(22, "startupProbe", Msg(&PROBE)), ptr(12, "lifecycle", Msg(&LIFECYCLE)),
        omit(13, "terminationMessagePath", Str), omit(20, "terminationMessagePolicy", Str),
        omit(14, "imagePullPolicy", Str), ptr(15, "securityContext", Msg(&SECURITY_CONTEXT)),
        omit(16, "stdin", Bool), omit(17, "stdinOnce", Bool), omit(18, "tty", Bool),
    ],
};
