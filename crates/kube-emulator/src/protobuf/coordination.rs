//! coordination/v1 `Lease`.
//!
//! Written by `gen/tables.py` from `k8s.io/api` and `k8s.io/apimachinery` v0.36.3;
//! change the script and run it again rather than editing.

use super::meta::OBJECT_META;
use super::schema::{Message, omit, ptr};
use super::schema::Ty::{I32, MicroTime, Msg, Str};

pub(super) static LEASE: Message = Message {
    name: "k8s.io.api.coordination.v1.Lease",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), omit(2, "spec", Msg(&LEASE_SPEC)),
    ],
};

pub(super) static LEASE_SPEC: Message = Message {
    name: "k8s.io.api.coordination.v1.LeaseSpec",
    fields: &[
        ptr(1, "holderIdentity", Str), ptr(2, "leaseDurationSeconds", I32),
        ptr(3, "acquireTime", MicroTime), ptr(4, "renewTime", MicroTime),
        ptr(5, "leaseTransitions", I32), ptr(6, "strategy", Str), ptr(7, "preferredHolder", Str),
    ],
};
