//! The write-merging engines of the API server, as pure functions on `serde_json::Value`.
//!
//! - [`json_patch`]: RFC 6902 JSON Patch (`application/json-patch+json`), with the quirks of
//!   the Go library the API server uses (see `json_patch.rs`).
//! - [`merge_patch`]: RFC 7386 JSON merge patch (`application/merge-patch+json`).
//! - [`strategic_merge_patch`]: strategic merge patch
//!   (`application/strategic-merge-patch+json`), driven by the `x-kubernetes-patch-*`
//!   annotations of a schema such as [`builtin_merge_schema`] returns.
//! - [`server_side_apply`] (`application/apply-patch+yaml`, after YAML decoding) and
//!   [`record_update`] (every other write): field ownership in `metadata.managedFields`,
//!   driven by the `x-kubernetes-list-type`/`x-kubernetes-map-type` annotations.
//!
//! Callers map [`PatchError`] and [`ApplyError`] to HTTP statuses as the comments on their
//! variants say.
//!
//! # Where this deviates from kube-apiserver
//!
//! Strategic merge patch:
//! - patch values that land where the live object has nothing are merged into an empty
//!   value rather than copied verbatim, so directives and `null`s inside them disappear here
//!   instead of in the typed decode; `$deleteFromPrimitiveList` on an absent or non-list
//!   field does nothing (Go would store the deletion list as the field's value), and on a list
//!   without the `merge` strategy it still deletes (Go would replace the list with it);
//! - unknown `$`-prefixed keys are ignored (a typed decode would drop them as unknown);
//! - the schema only knows the paths a skeleton declares; elsewhere maps merge and lists are
//!   replaced, where the real server would know every field of the Go type.
//!
//! Field ownership (see `apply.rs` and `fields.rs` for the mechanics):
//! - the caller must reset fields the real strategy resets (for example drop `status` from an
//!   apply to the main resource of a kind with a status subresource) before calling; there is
//!   no per-resource ignore list here;
//! - for skeletons of Go types, newly written nested structs are never recorded as members
//!   (`.`) of an `Update` entry. Upstream records pointer-typed structs (such as
//!   `securityContext` or `rollingUpdate`) as members because they can be absent; the
//!   skeleton does not know which structs are pointers. Maps, list items and all objects of
//!   untyped (custom resource) schemas are recorded as upstream records them;
//! - pruning and merging never leave an empty object or `null` behind: where upstream leaves
//!   a `null` that the typed decode then drops, the key is removed here;
//! - a `null` in an applied configuration is owned but removes the key from the result
//!   (a typed object would decode it to the zero value and omit it);
//! - the `kubectl.kubernetes.io/last-applied-configuration` bridge between client-side and
//!   server-side apply is not maintained, and managed fields are never converted between
//!   API versions (every entry is compared in the version of the object at hand).
//!
//! JSON Patch and merge patch are not schema-aware and behave as upstream, apart from the
//! message wording being approximate where the Go library's messages embed Go values.

mod apply;
mod builtin;
mod fields;
mod json_patch;
mod merge;
mod schema;
mod strategic;
mod walk;

pub use apply::{ApplyConflict, ApplyError, record_update, server_side_apply};
pub use builtin::{builtin_merge_schema, custom_resource_merge_schema};
pub use json_patch::json_patch;
pub use merge::merge_patch;
pub use strategic::strategic_merge_patch;

/// A patch that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
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
