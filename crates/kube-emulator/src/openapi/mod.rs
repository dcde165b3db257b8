//! The OpenAPI documents the emulator serves, built as pure functions of its resources.
//!
//! Three documents are produced, each shaped like the real kube-apiserver's so that the real
//! kubectl and client-go accept them:
//!
//! * `GET /openapi/v2` — a Swagger 2.0 document ([`v2_document`]), served as JSON or, for
//!   `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, as the gnostic
//!   `openapi.v2.Document` protobuf ([`v2_protobuf`]). kubectl 1.32 reads it lazily: when the
//!   OpenAPI v3 field-validation check fails for a reason other than "unsupported", for
//!   client-side validation, for `kubectl apply` patch computation and for
//!   `kubectl explain --output=plaintext-openapiv2`.
//! * `GET /openapi/v3` — the discovery index ([`v3_index`]) mapping `apis/<group>/<version>`
//!   (or `api/v1`) to a `serverRelativeURL` carrying a content hash, so clients can cache the
//!   group-version documents as immutable.
//! * `GET /openapi/v3/apis/<group>/<version>` — one OpenAPI 3.0 document per group-version
//!   ([`v3_group_version`]); kubectl 1.32 uses it first for `kubectl explain` and for deciding
//!   whether the server supports `fieldValidation` on PATCH (and so whether to skip
//!   client-side validation).
//!
//! Custom resources are laid out as the apiextensions-apiserver builder lays them out: schema
//! names such as `com.pingcap.v1alpha1.Backup`, a `<ListKind>` schema, `metadata` referring to
//! `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`, the CRD schema reduced to its structural
//! form (and further, for v2, to what Swagger 2.0 and kubectl's v2 parser can express), and
//! paths for the collection, the object and the `status`/`scale` subresources with the same
//! operation ids, actions, query parameters and media types.
//!
//! Serving notes for the HTTP layer (observed with kubectl 1.32.4 and read from the server):
//! * Answer protobuf requests with [`V2_PROTOBUF_CONTENT_TYPE`], not the requested spelling.
//! * client-go appends `timeout=32s` to the hashed v3 URL; only `hash` matters. The real server
//!   answers a matching hash with `Cache-Control: public, immutable` and a stale one with a
//!   301 redirect to the current URL. Both index and documents are fetched as JSON.
//!
//! Deviations from the real server:
//! * Resources without a schema (the emulator's built-in kinds) get paths and operations but no
//!   schema definitions; kubectl then falls back to its compiled-in types for patching and
//!   skips client-side validation, while `kubectl explain` reports the kind as missing.
//!   Subresources other than `status` and `scale` get a bare `GET` operation.
//! * The v2 document carries only the definitions its resources refer to, not the whole
//!   built-in catalogue, and keeps query parameters inline instead of moving them into the
//!   top-level `parameters` section with hashed names.
//! * Query parameter descriptions are short paraphrases, not the upstream texts; the meta
//!   types' descriptions come from `k8s-openapi`, whose Kubernetes release may differ from 1.32.
//! * The index hash is a 64-bit FNV-1a of the serialized document, not a SHA-512.
//! * The workspace's k8s-openapi is built for a newer Kubernetes than 1.32, so the meta types
//!   can carry fields 1.32 lacks (such as `ListMeta.shardInfo`).

mod meta;
mod paths;
mod proto;
mod structural;
mod v2;
mod v3;

#[cfg(test)]
mod tests;

use serde_json::Value;

pub(crate) use proto::v2_protobuf;
pub(crate) use v2::v2_document;
pub(crate) use v3::{v3_group_version, v3_index};

/// The media type kubectl and client-go request `/openapi/v2` with.
#[cfg(test)]
pub(crate) const V2_PROTOBUF_MEDIA_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The `Content-Type` to answer a protobuf `/openapi/v2` request with. The requested type is
/// not a valid MIME type (`@` is not a token character), and client-go rejects a response
/// labelled with it ("mime: unexpected content after media subtype"); the real server answers
/// with this spelling, which it also accepts in `Accept`.
pub(crate) const V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// The Kubernetes release the emulator claims; the aggregated v2 document's `info.version`.
pub(crate) const KUBERNETES_VERSION: &str = "v1.32.4";

/// One served resource in one version, as the OpenAPI builders need it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpenApiResource {
    /// `""` for the core group.
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) kind: String,
    pub(crate) list_kind: String,
    pub(crate) plural: String,
    pub(crate) namespaced: bool,
    /// Subresource names such as `status`, `scale` or `log`.
    pub(crate) subresources: Vec<String>,
    /// The CRD version's `openAPIV3Schema`; `None` for built-in kinds (the emulator does not
    /// publish schemas for them, so kubectl falls back to its compiled-in types).
    pub(crate) schema: Option<Value>,
}

impl OpenApiResource {
    /// The key of the `/openapi/v3` index and the path under `/openapi/v3/`.
    fn group_version_path(&self) -> String {
        group_version_path(&self.group, &self.version)
    }

    /// The URL prefix of the group-version: `/api/v1` or `/apis/<group>/<version>`.
    fn api_prefix(&self) -> String {
        format!("/{}", self.group_version_path())
    }

    fn gvk(&self, kind: &str) -> Value {
        // Key order matters little to clients, but kubectl explain compares the operation's
        // map with the schema's list entry by deep equality, so both use this one builder.
        serde_json::json!({"group": self.group, "kind": kind, "version": self.version})
    }

    /// The `x-kubernetes-group-version-kind` value of a schema definition: a list.
    fn definition_gvk(&self, kind: &str) -> Value {
        Value::Array(vec![self.gvk(kind)])
    }

    /// The definition name of a kind of this group-version, e.g. `com.pingcap.v1alpha1.Backup`.
    fn definition_name(&self, kind: &str) -> String {
        if self.group.is_empty() {
            // Core kinds carry their Go package name upstream; CRDs cannot be in the core group.
            return format!("io.k8s.api.core.{}.{kind}", self.version);
        }
        let reversed: Vec<&str> = self.group.split('.').rev().collect();
        format!("{}.{}.{kind}", reversed.join("."), self.version)
    }

    fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s == name)
    }
}

fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Which OpenAPI dialect a builder is producing; they differ in `$ref` prefixes and in how much
/// of a CRD schema survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    V2,
    V3,
}

impl Dialect {
    fn ref_to(self, definition: &str) -> String {
        match self {
            Dialect::V2 => format!("#/definitions/{definition}"),
            Dialect::V3 => format!("#/components/schemas/{definition}"),
        }
    }

    fn ref_schema(self, definition: &str) -> Value {
        serde_json::json!({"$ref": self.ref_to(definition)})
    }
}

/// Stable 64-bit FNV-1a; enough to make the index URL change whenever a document changes.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
