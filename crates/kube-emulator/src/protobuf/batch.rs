//! batch/v1 `Job`.
//!
//! Written by `gen/tables.py` from `k8s.io/api` and `k8s.io/apimachinery` v0.36.3;
//! change the script and run it again rather than editing.

use super::core_objects::POD_TEMPLATE_SPEC;
use super::meta::{LABEL_SELECTOR, OBJECT_META};
use super::schema::{Message, list, list_req, omit, ptr, req};
use super::schema::Ty::{Bool, I32, I64, Msg, Str, Time};

pub(super) static JOB: Message = Message {
    name: "k8s.io.api.batch.v1.Job",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), omit(2, "spec", Msg(&JOB_SPEC)),
        omit(3, "status", Msg(&JOB_STATUS)),
    ],
};

pub(super) static JOB_SPEC: Message = Message {
    name: "k8s.io.api.batch.v1.JobSpec",
    fields: &[
        ptr(1, "parallelism", I32), ptr(2, "completions", I32),
        ptr(3, "activeDeadlineSeconds", I64), ptr(11, "podFailurePolicy", Msg(&POD_FAILURE_POLICY)),
        ptr(16, "successPolicy", Msg(&SUCCESS_POLICY)), ptr(7, "backoffLimit", I32),
        ptr(12, "backoffLimitPerIndex", I32), ptr(13, "maxFailedIndexes", I32),
        ptr(4, "selector", Msg(&LABEL_SELECTOR)), ptr(5, "manualSelector", Bool),
        req(6, "template", Msg(&POD_TEMPLATE_SPEC)), ptr(8, "ttlSecondsAfterFinished", I32),
        ptr(9, "completionMode", Str), ptr(10, "suspend", Bool),
        ptr(14, "podReplacementPolicy", Str), ptr(15, "managedBy", Str),
    ],
};

pub(super) static POD_FAILURE_POLICY: Message = Message {
    name: "k8s.io.api.batch.v1.PodFailurePolicy",
    fields: &[
        list_req(1, "rules", Msg(&POD_FAILURE_POLICY_RULE)),
    ],
};

pub(super) static POD_FAILURE_POLICY_RULE: Message = Message {
    name: "k8s.io.api.batch.v1.PodFailurePolicyRule",
    fields: &[
        req(1, "action", Str),
        ptr(2, "onExitCodes", Msg(&POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT)),
        list(3, "onPodConditions", Msg(&POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN)),
    ],
};

pub(super) static POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT: Message = Message {
    name: "k8s.io.api.batch.v1.PodFailurePolicyOnExitCodesRequirement",
    fields: &[
        ptr(1, "containerName", Str), req(2, "operator", Str), list_req(3, "values", I32),
    ],
};

pub(super) static POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN: Message = Message {
    name: "k8s.io.api.batch.v1.PodFailurePolicyOnPodConditionsPattern",
    fields: &[
        req(1, "type", Str), req(2, "status", Str),
    ],
};

pub(super) static SUCCESS_POLICY: Message = Message {
    name: "k8s.io.api.batch.v1.SuccessPolicy",
    fields: &[
        list_req(1, "rules", Msg(&SUCCESS_POLICY_RULE)),
    ],
};

pub(super) static SUCCESS_POLICY_RULE: Message = Message {
    name: "k8s.io.api.batch.v1.SuccessPolicyRule",
    fields: &[
        ptr(1, "succeededIndexes", Str), ptr(2, "succeededCount", I32),
    ],
};

pub(super) static JOB_STATUS: Message = Message {
    name: "k8s.io.api.batch.v1.JobStatus",
    fields: &[
        list(1, "conditions", Msg(&JOB_CONDITION)), ptr(2, "startTime", Time),
        ptr(3, "completionTime", Time), omit(4, "active", I32), omit(5, "succeeded", I32),
        omit(6, "failed", I32), ptr(11, "terminating", I32), omit(7, "completedIndexes", Str),
        ptr(10, "failedIndexes", Str),
        ptr(8, "uncountedTerminatedPods", Msg(&UNCOUNTED_TERMINATED_PODS)), ptr(9, "ready", I32),
    ],
};

pub(super) static JOB_CONDITION: Message = Message {
    name: "k8s.io.api.batch.v1.JobCondition",
    fields: &[
        req(1, "type", Str), req(2, "status", Str), omit(3, "lastProbeTime", Time),
        omit(4, "lastTransitionTime", Time), omit(5, "reason", Str), omit(6, "message", Str),
    ],
};

pub(super) static UNCOUNTED_TERMINATED_PODS: Message = Message {
    name: "k8s.io.api.batch.v1.UncountedTerminatedPods",
    fields: &[
        list(1, "succeeded", Str), list(2, "failed", Str),
    ],
};
