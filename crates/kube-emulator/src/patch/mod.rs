//! The write-merging engines of the API server, as pure functions on `serde_json::Value`.
//!
//! - [`json_patch`]: RFC 6902 JSON Patch (`application/json-patch+json`) with the quirks of
//!   the Go library the API server uses (listed in `json_patch.rs`).
//! - [`merge_patch`]: RFC 7386 JSON merge patch (`application/merge-patch+json`).
//! - [`strategic_merge_patch`]: strategic merge patch
//!   (`application/strategic-merge-patch+json`), driven by the `x-kubernetes-patch-*`
//!   annotations of a schema from [`builtin_merge_schema`].
//! - [`server_side_apply`] (`application/apply-patch+yaml`, once decoded) and
//!   [`record_update`] (every other write, creates included): field ownership in
//!   `metadata.managedFields`, driven by `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`
//!   and `x-kubernetes-map-type`. [`custom_resource_merge_schema`] turns a CRD's schema
//!   into one these understand.
//!
//! [`PatchError`] and [`ApplyError`] variants document the HTTP status the API server
//! answers with. Times passed in are RFC 3339 UTC with seconds precision, as `metav1.Time`
//! serializes. An apply that changes nothing returns an object equal to the live one, so a
//! caller can compare and skip the write (and the `resourceVersion` bump) as upstream does.
//!
//! # Where this deviates from kube-apiserver
//!
//! JSON Patch: unknown `op`s and operations without `path` fail while applying (422), as
//! upstream; only a body that is not a list of objects is a 400.
//!
//! Strategic merge patch:
//! - a patch value landing where the live object has nothing is merged into an empty value
//!   instead of being copied verbatim, so directives and `null`s inside it vanish here rather
//!   than in the typed decode; `$deleteFromPrimitiveList` on an absent or non-list field does
//!   nothing (upstream would store the deletion list as the value) and on a list without the
//!   `merge` strategy still deletes (upstream would replace the list with it);
//! - unknown `$`-prefixed keys are ignored, as the typed decode would drop them;
//! - only the paths a skeleton declares are known; elsewhere maps merge and lists are
//!   replaced, where upstream knows every field of the Go type;
//! - element types are compared as JSON kinds, so `[1, 2.5]` is a homogeneous list here.
//!
//! Field ownership:
//! - there is no per-resource list of reset fields: the caller resets what the real strategy
//!   resets (copies `status` back on main-resource writes of kinds with a status
//!   subresource, drops `status` from such applies) before calling;
//! - in skeletons of Go types, nested structs written for the first time are not recorded as
//!   members (`.`) of `Update` entries. Upstream compares typed objects and so records
//!   pointer structs (`securityContext`, `rollingUpdate`, ...) that way; a skeleton does not
//!   know which structs are pointers. Maps, list items and every object of untyped (custom
//!   resource) schemas are recorded as upstream records them;
//! - upstream leaves `null` where pruning empties a container or where an applied
//!   configuration says `null`, which the typed decode then drops; here the key is removed.
//!   The applier still owns a field it set to `null`;
//! - managed fields are never converted between API versions: entries of other versions are
//!   compared in the object's current version. Unreadable `managedFields` are treated as
//!   empty by an apply (upstream answers 500), as upstream does for other writes;
//! - the `kubectl.kubernetes.io/last-applied-configuration` bridge between client-side and
//!   server-side apply is not maintained.

mod apply;
mod builtin;
mod fields;
mod json_patch;
mod merge;
mod schema;
mod strategic;
mod walk;

pub(crate) use apply::{ApplyError, record_update, server_side_apply};
pub(crate) use builtin::{builtin_merge_schema, custom_resource_merge_schema};
pub(crate) use json_patch::json_patch;
pub(crate) use merge::merge_patch;
pub(crate) use strategic::strategic_merge_patch;

/// A patch that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PatchError {
    /// 400 Bad Request: the patch body itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 422 Unprocessable Entity: the patch is well formed but does not apply to this object
    /// (a failed `test`, a missing path, lists of lists, ...). The API server returns the
    /// message as the `Status` message with no causes.
    #[error("{0}")]
    Unprocessable(String),
    /// 413 Request Entity Too Large: a JSON patch with more than 10000 operations.
    #[error("{0}")]
    TooLarge(String),
    /// 500 Internal Server Error: the strategic-merge code paths where the API server passes
    /// a plain Go error through (unknown `$patch` values, missing merge keys, a patch list
    /// out of `$setElementOrder` order, ...).
    #[error("{0}")]
    Internal(String),
}
