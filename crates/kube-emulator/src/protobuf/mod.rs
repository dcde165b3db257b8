//! Request bodies in `application/vnd.kubernetes.protobuf`, decoded into the JSON the
//! same request would have carried as `application/json`.
//!
//! client-go's typed clients (so `kubectl create secret|configmap|namespace|role|job|...`,
//! `kubectl create token`, `kubectl debug --copy-to`, `kubectl auth reconcile`) send
//! built-in objects only as protobuf: the `k8s\0` magic, then a `runtime.Unknown` whose
//! `TypeMeta` names the kind and whose `raw` is the object. (kubectl's generic commands,
//! `run`, `apply`, `create -f`, `delete`, send JSON.) The rest of the emulator speaks
//! JSON, so bodies are decoded here and answers stay JSON, which those clients accept.
//!
//! Decoded: core/v1 Secret, ConfigMap, Namespace, ServiceAccount, Pod, PersistentVolume,
//! PersistentVolumeClaim, Event; authentication/v1 TokenRequest; batch/v1 Job;
//! coordination/v1 Lease; rbac/v1 Role, ClusterRole, RoleBinding, ClusterRoleBinding;
//! meta/v1 DeleteOptions; each with every message it embeds, from tables generated from
//! the Kubernetes 1.36 protobuf definitions. The JSON is what Go's `encoding/json`
//! prints for the decoded struct (omitempty, pointers, embedded structs, sorted map
//! keys, `Time`, `Quantity`, `IntOrString`...), like client-go before `omitzero`, so a
//! zero `creationTimestamp` is `null`.
//!
//! Not decoded, as errors naming the message and field: any other kind, a field number
//! the tables lack (a newer client), malformed wire data, and compressed envelopes.

mod decode;
mod schema;
mod wire;

// The tables are generated, one message per static with its fields packed several to a
// line; rustfmt would spread them one field per line and triple their length.
#[rustfmt::skip]
mod authentication;
#[rustfmt::skip]
mod batch;
#[rustfmt::skip]
mod coordination;
#[rustfmt::skip]
mod core_objects;
#[rustfmt::skip]
mod core_container;
#[rustfmt::skip]
mod core_storage;
#[rustfmt::skip]
mod core_volume;
#[rustfmt::skip]
mod meta;
#[rustfmt::skip]
mod rbac;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use schema::Message;
use wire::{Fields, Wire};

/// The media type this module decodes.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";
const UNKNOWN: &str = "k8s.io.apimachinery.pkg.runtime.Unknown";
const TYPE_META: &str = "k8s.io.apimachinery.pkg.runtime.TypeMeta";

/// The kinds a request body may hold, by `apiVersion` and `kind`.
static KINDS: [(&str, &str, &Message); 16] = [
    ("v1", "Secret", &core_objects::SECRET),
    ("v1", "ConfigMap", &core_objects::CONFIG_MAP),
    ("v1", "Namespace", &core_objects::NAMESPACE),
    ("v1", "ServiceAccount", &core_objects::SERVICE_ACCOUNT),
    ("v1", "Pod", &core_objects::POD),
    ("v1", "Event", &core_objects::EVENT),
    ("v1", "PersistentVolume", &core_storage::PERSISTENT_VOLUME),
    (
        "v1",
        "PersistentVolumeClaim",
        &core_storage::PERSISTENT_VOLUME_CLAIM,
    ),
    (
        "authentication.k8s.io/v1",
        "TokenRequest",
        &authentication::TOKEN_REQUEST,
    ),
    ("batch/v1", "Job", &batch::JOB),
    ("coordination.k8s.io/v1", "Lease", &coordination::LEASE),
    ("rbac.authorization.k8s.io/v1", "Role", &rbac::ROLE),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        &rbac::CLUSTER_ROLE,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        &rbac::ROLE_BINDING,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        &rbac::CLUSTER_ROLE_BINDING,
    ),
    // client-go sends DeleteOptions under each group's version; the fields never differ.
    ("*", "DeleteOptions", &meta::DELETE_OPTIONS),
];

/// Why a body could not be decoded: which message and field, where in the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtobufError {
    /// The protobuf message being read, e.g. `k8s.io.api.core.v1.PodSpec`.
    pub(crate) message: &'static str,
    /// Its field number, when one field is at fault.
    pub(crate) field: Option<u32>,
    /// Where that message sits in the JSON object, e.g. `spec.containers[0]`.
    pub(crate) path: String,
    pub(crate) reason: String,
}

impl std::fmt::Display for ProtobufError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(field) = self.field {
            write!(f, " field {field}")?;
        }
        if !self.path.is_empty() {
            write!(f, " (at {})", self.path)?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for ProtobufError {}

fn envelope_error(field: Option<u32>, reason: impl Into<String>) -> ProtobufError {
    ProtobufError {
        message: UNKNOWN,
        field,
        path: String::new(),
        reason: reason.into(),
    }
}

/// Decodes a `application/vnd.kubernetes.protobuf` request body (the `k8s\0` magic + `runtime.Unknown`
/// envelope) into the JSON object the same request would have carried as JSON, including
/// `apiVersion` and `kind` from the envelope's TypeMeta.
pub(crate) fn decode_request(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope = body.strip_prefix(MAGIC).ok_or_else(|| {
        envelope_error(
            None,
            "the body does not start with the protobuf magic \"k8s\\0\"",
        )
    })?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for item in Fields::new(envelope) {
        let (number, wire) = item.map_err(|reason| envelope_error(None, reason))?;
        match (number, wire) {
            (1, Wire::Len(type_meta)) => (api_version, kind) = read_type_meta(type_meta)?,
            (2, Wire::Len(bytes)) => raw = bytes,
            (3, Wire::Len(encoding)) if !encoding.is_empty() => {
                return Err(envelope_error(
                    Some(3),
                    format!(
                        "content encoding {:?} is not supported",
                        String::from_utf8_lossy(encoding)
                    ),
                ));
            }
            (4, Wire::Len(ct)) if !ct.is_empty() && ct != MEDIA_TYPE.as_bytes() => {
                return Err(envelope_error(
                    Some(4),
                    format!(
                        "content type {:?} is not supported",
                        String::from_utf8_lossy(ct)
                    ),
                ));
            }
            (3 | 4, Wire::Len(_)) => {}
            (number, wire) => {
                return Err(envelope_error(
                    Some(number),
                    format!("unexpected {} field", wire.type_name()),
                ));
            }
        }
    }
    let msg = KINDS
        .iter()
        .find(|(v, k, _)| *k == kind && (*v == api_version || *v == "*"))
        .map(|(_, _, m)| *m)
        .ok_or_else(|| {
            envelope_error(
                Some(1),
                format!(
                    "the sandbox cannot decode {} {kind} from protobuf; it decodes {}",
                    if api_version.is_empty() {
                        "(no apiVersion)"
                    } else {
                        &api_version
                    },
                    supported_kinds()
                ),
            )
        })?;
    let mut out = Map::new();
    out.insert("kind".into(), Value::from(kind));
    out.insert("apiVersion".into(), Value::from(api_version));
    out.extend(decode::message(msg, raw, "")?);
    Ok(Value::Object(out))
}

fn read_type_meta(bytes: &[u8]) -> Result<(String, String), ProtobufError> {
    let (mut api_version, mut kind) = (String::new(), String::new());
    for item in Fields::new(bytes) {
        let (number, wire) = item.map_err(|reason| ProtobufError {
            message: TYPE_META,
            field: None,
            path: String::new(),
            reason,
        })?;
        match (number, wire) {
            (1, Wire::Len(v)) => api_version = String::from_utf8_lossy(v).into_owned(),
            (2, Wire::Len(k)) => kind = String::from_utf8_lossy(k).into_owned(),
            (number, wire) => {
                return Err(ProtobufError {
                    message: TYPE_META,
                    field: Some(number),
                    path: String::new(),
                    reason: format!("unexpected {} field", wire.type_name()),
                });
            }
        }
    }
    Ok((api_version, kind))
}

fn supported_kinds() -> String {
    let names: Vec<&str> = KINDS.iter().map(|(_, k, _)| *k).collect();
    names.join(", ")
}
