//! authentication/v1 `TokenRequest`.
//!
//! Written by `gen/tables.py` from `k8s.io/api` and `k8s.io/apimachinery` v0.36.3;
//! change the script and run it again rather than editing.

use super::meta::OBJECT_META;
use super::schema::{Message, list_req, omit, ptr_null, req};
use super::schema::Ty::{I64, Msg, Str, Time};

pub(super) static TOKEN_REQUEST: Message = Message {
    name: "k8s.io.api.authentication.v1.TokenRequest",
    fields: &[
        omit(1, "metadata", Msg(&OBJECT_META)), req(2, "spec", Msg(&TOKEN_REQUEST_SPEC)),
        omit(3, "status", Msg(&TOKEN_REQUEST_STATUS)),
    ],
};

pub(super) static TOKEN_REQUEST_SPEC: Message = Message {
    name: "k8s.io.api.authentication.v1.TokenRequestSpec",
    fields: &[
        list_req(1, "audiences", Str), ptr_null(4, "expirationSeconds", I64),
        ptr_null(3, "boundObjectRef", Msg(&BOUND_OBJECT_REFERENCE)),
    ],
};

pub(super) static BOUND_OBJECT_REFERENCE: Message = Message {
    name: "k8s.io.api.authentication.v1.BoundObjectReference",
    fields: &[
        omit(1, "kind", Str), omit(2, "apiVersion", Str), omit(3, "name", Str), omit(4, "uid", Str),
    ],
};

pub(super) static TOKEN_REQUEST_STATUS: Message = Message {
    name: "k8s.io.api.authentication.v1.TokenRequestStatus",
    fields: &[
        req(1, "token", Str), req(2, "expirationTimestamp", Time),
    ],
};
