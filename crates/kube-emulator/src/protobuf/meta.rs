//! meta/v1 messages the objects embed, and `DeleteOptions`.
//!
//! Written by `gen/tables.py` from `k8s.io/api` and `k8s.io/apimachinery` v0.36.3;
//! change the script and run it again rather than editing.

use super::schema::{Message, list, map, omit, ptr, req};
use super::schema::Ty::{Bool, FieldsV1, I64, Msg, Str, Time};

pub(super) static OBJECT_META: Message = Message {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    fields: &[
        omit(1, "name", Str), omit(2, "generateName", Str), omit(3, "namespace", Str),
        omit(4, "selfLink", Str), omit(5, "uid", Str), omit(6, "resourceVersion", Str),
        omit(7, "generation", I64), omit(8, "creationTimestamp", Time),
        ptr(9, "deletionTimestamp", Time), ptr(10, "deletionGracePeriodSeconds", I64),
        map(11, "labels", Str), map(12, "annotations", Str),
        list(13, "ownerReferences", Msg(&OWNER_REFERENCE)), list(14, "finalizers", Str),
        list(17, "managedFields", Msg(&MANAGED_FIELDS_ENTRY)),
    ],
};

pub(super) static OWNER_REFERENCE: Message = Message {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference",
    fields: &[
        req(5, "apiVersion", Str), req(1, "kind", Str), req(3, "name", Str), req(4, "uid", Str),
        ptr(6, "controller", Bool), ptr(7, "blockOwnerDeletion", Bool),
    ],
};

pub(super) static MANAGED_FIELDS_ENTRY: Message = Message {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
    fields: &[
        omit(1, "manager", Str), omit(2, "operation", Str), omit(3, "apiVersion", Str),
        ptr(4, "time", Time), omit(6, "fieldsType", Str), ptr(7, "fieldsV1", FieldsV1),
        omit(8, "subresource", Str),
    ],
};

pub(super) static LABEL_SELECTOR: Message = Message {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector",
    fields: &[
        map(1, "matchLabels", Str), list(2, "matchExpressions", Msg(&LABEL_SELECTOR_REQUIREMENT)),
    ],
};

pub(super) static LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
    fields: &[
        req(1, "key", Str), req(2, "operator", Str), list(3, "values", Str),
    ],
};

pub(super) static DELETE_OPTIONS: Message = Message {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    fields: &[
        ptr(1, "gracePeriodSeconds", I64), ptr(2, "preconditions", Msg(&PRECONDITIONS)),
        ptr(3, "orphanDependents", Bool), ptr(4, "propagationPolicy", Str), list(5, "dryRun", Str),
        ptr(6, "ignoreStoreReadErrorWithClusterBreakingPotential", Bool),
    ],
};

pub(super) static PRECONDITIONS: Message = Message {
    name: "k8s.io.apimachinery.pkg.apis.meta.v1.Preconditions",
    fields: &[
        ptr(1, "uid", Str), ptr(2, "resourceVersion", Str),
    ],
};
