//! rbac/v1 roles and bindings.
//!
//! Written by `gen/tables.py` from `k8s.io/api` and `k8s.io/apimachinery` v0.36.3;
//! change the script and run it again rather than editing.

use super::meta::{LABEL_SELECTOR, OBJECT_META};
use super::schema::{Message, list, list_req, omit, ptr, req};
use super::schema::Ty::{Msg, Str};

pub(super) static ROLE: Message = Message {
    name: "k8s.io.api.rbac.v1.Role",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), list_req(2, "rules", Msg(&POLICY_RULE)),
    ],
};

pub(super) static POLICY_RULE: Message = Message {
    name: "k8s.io.api.rbac.v1.PolicyRule",
    fields: &[
        list_req(1, "verbs", Str), list(2, "apiGroups", Str), list(3, "resources", Str),
        list(4, "resourceNames", Str), list(5, "nonResourceURLs", Str),
    ],
};

pub(super) static CLUSTER_ROLE: Message = Message {
    name: "k8s.io.api.rbac.v1.ClusterRole",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), list_req(2, "rules", Msg(&POLICY_RULE)),
        ptr(3, "aggregationRule", Msg(&AGGREGATION_RULE)),
    ],
};

pub(super) static AGGREGATION_RULE: Message = Message {
    name: "k8s.io.api.rbac.v1.AggregationRule",
    fields: &[
        list(1, "clusterRoleSelectors", Msg(&LABEL_SELECTOR)),
    ],
};

pub(super) static ROLE_BINDING: Message = Message {
    name: "k8s.io.api.rbac.v1.RoleBinding",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), list(2, "subjects", Msg(&SUBJECT)),
        req(3, "roleRef", Msg(&ROLE_REF)),
    ],
};

pub(super) static SUBJECT: Message = Message {
    name: "k8s.io.api.rbac.v1.Subject",
    fields: &[
        req(1, "kind", Str), omit(2, "apiGroup", Str), req(3, "name", Str),
        omit(4, "namespace", Str),
    ],
};

pub(super) static ROLE_REF: Message = Message {
    name: "k8s.io.api.rbac.v1.RoleRef",
    fields: &[
        req(1, "apiGroup", Str), req(2, "kind", Str), req(3, "name", Str),
    ],
};

pub(super) static CLUSTER_ROLE_BINDING: Message = Message {
    name: "k8s.io.api.rbac.v1.ClusterRoleBinding",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), list(2, "subjects", Msg(&SUBJECT)),
        req(3, "roleRef", Msg(&ROLE_REF)),
    ],
};
