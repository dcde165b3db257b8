//! Turning a requested object into the object to store: server-owned metadata, the
//! status subresource split, defaulting, pruning, validation, generation and field
//! ownership. Shared by create, update and patch.

use serde_json::{Value, json};

use super::{FieldValidation, WriteOptions};
use crate::{
    builtin,
    cause::FieldCause,
    cluster::rfc3339,
    engines,
    error::{ApiError, ApiResult},
    registry::{Builtin, ResourceType},
};

/// Metadata only the server writes; requests cannot set it.
const SERVER_FIELDS: [&str; 6] = [
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

fn tracks_generation(rt: &ResourceType) -> bool {
    match rt.builtin() {
        None => true,
        Some(b) => matches!(
            b,
            Builtin::Job | Builtin::Pod | Builtin::CustomResourceDefinition
        ),
    }
}

fn object_name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

/// The object without the parts that do not count as a spec change.
fn spec_part(rt: &ResourceType, obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("metadata");
        if rt.has_status() {
            o.remove("status");
        }
    }
    v
}

pub(crate) struct Admitted {
    pub(crate) object: Value,
    pub(crate) warnings: Vec<String>,
}

/// `record_ownership` is false for server-side apply, whose engine has already written
/// `managedFields`.
pub(crate) fn admit(
    rt: &ResourceType,
    old: Option<&Value>,
    requested: Value,
    opts: &WriteOptions,
    record_ownership: bool,
) -> ApiResult<Admitted> {
    let mut obj = requested;
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON or YAML object",
        ));
    }
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    let status_write = opts.subresource.as_deref() == Some("status");
    drop_empty_metadata(&mut obj);

    match old {
        Some(old) => {
            if status_write {
                let status = obj.get("status").cloned();
                let managed = obj["metadata"].get("managedFields").cloned();
                let mut base = old.clone();
                match status {
                    Some(s) => base["status"] = s,
                    None => {
                        base.as_object_mut().map(|o| o.remove("status"));
                    }
                }
                if let Some(m) = managed {
                    base["metadata"]["managedFields"] = m;
                }
                obj = base;
            } else if rt.has_status() {
                match old.get("status") {
                    Some(s) => obj["status"] = s.clone(),
                    None => {
                        obj.as_object_mut().map(|o| o.remove("status"));
                    }
                }
            }
            for field in SERVER_FIELDS {
                match old["metadata"].get(field) {
                    Some(v) => obj["metadata"][field] = v.clone(),
                    None => {
                        obj["metadata"].as_object_mut().map(|m| m.remove(field));
                    }
                }
            }
            if obj["metadata"].get("managedFields").is_none()
                && let Some(m) = old["metadata"].get("managedFields")
            {
                obj["metadata"]["managedFields"] = m.clone();
            }
        }
        None => {
            let meta = obj["metadata"].as_object_mut().expect("metadata object");
            for field in SERVER_FIELDS {
                meta.remove(field);
            }
            meta.remove("resourceVersion");
            if rt.has_status() {
                obj.as_object_mut().map(|o| o.remove("status"));
            }
            obj["metadata"]["uid"] = json!(uuid::Uuid::new_v4().to_string());
            obj["metadata"]["creationTimestamp"] = json!(rfc3339(opts.now));
        }
    }
    let uid = obj["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let mut warnings = Vec::new();
    let mut causes: Vec<FieldCause> = Vec::new();
    let unknown = match rt.builtin() {
        Some(which) => {
            // Secrets fold `stringData` on every write; other defaults apply at creation.
            if old.is_none() || which == Builtin::Secret {
                builtin::apply_defaults(which, &mut obj, &uid);
            }
            let (decoded, unknown) = builtin::decode(which, &obj).map_err(|e| {
                ApiError::bad_request(format!(
                    "{kind} in version \"{v}\" cannot be handled as a {kind}: {e}",
                    kind = rt.kind,
                    v = rt.version
                ))
            })?;
            obj = decoded;
            causes.extend(builtin::validate(which, &obj, old));
            unknown
        }
        None => {
            let schema = rt.custom().and_then(|c| c.schema.clone());
            match schema {
                Some(schema) => {
                    let unknown = engines::prune(&mut obj, &schema);
                    engines::apply_defaults(&mut obj, &schema);
                    causes.extend(engines::validate_schema(&obj, &schema));
                    unknown
                }
                None => Vec::new(),
            }
        }
    };
    if !unknown.is_empty() {
        match opts.field_validation {
            FieldValidation::Strict => {
                let list: Vec<String> = unknown
                    .iter()
                    .map(|p| format!("unknown field \"{p}\""))
                    .collect();
                return Err(ApiError::bad_request(format!(
                    "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                    list.join(", "),
                    kind = rt.kind,
                    v = rt.version
                )));
            }
            FieldValidation::Warn => {
                warnings.extend(unknown.iter().map(|p| format!("unknown field \"{p}\"")));
            }
            FieldValidation::Ignore => {}
        }
    }
    causes.extend(engines::validate_meta(rt, &obj));
    if let Some(old) = old {
        check_finalizers(old, &obj, &mut causes);
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            object_name(&obj),
            causes,
        ));
    }

    if tracks_generation(rt) {
        let generation = match old {
            None => 1,
            Some(old) => {
                let current = old["metadata"]["generation"].as_i64().unwrap_or(1);
                if spec_part(rt, old) != spec_part(rt, &obj) {
                    current + 1
                } else {
                    current
                }
            }
        };
        obj["metadata"]["generation"] = json!(generation);
    }
    if record_ownership {
        let now = rfc3339(opts.now);
        engines::record_update(
            rt,
            old,
            &mut obj,
            &opts.field_manager,
            &now,
            opts.subresource.as_deref(),
        );
    }
    Ok(Admitted {
        object: obj,
        warnings,
    })
}

/// Empty metadata collections are stored as absent, as Go's `omitempty` encodes them;
/// clients rely on it (kube-rs guards its first finalizer with `test /metadata/finalizers null`).
fn drop_empty_metadata(obj: &mut Value) {
    if let Some(meta) = obj["metadata"].as_object_mut() {
        meta.retain(|k, v| {
            let collection = matches!(
                k.as_str(),
                "finalizers" | "ownerReferences" | "labels" | "annotations" | "managedFields"
            );
            let empty = v.is_null()
                || v.as_array().is_some_and(Vec::is_empty)
                || v.as_object().is_some_and(|o| o.is_empty());
            !(collection && empty)
        });
    }
}

/// The names in `metadata.finalizers`.
pub(crate) fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn check_finalizers(old: &Value, new: &Value, causes: &mut Vec<FieldCause>) {
    if old["metadata"]["deletionTimestamp"].is_null() {
        return;
    }
    let before = finalizers(old);
    let added: Vec<String> = finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if !added.is_empty() {
        causes.push(FieldCause::forbidden(
            "metadata.finalizers",
            &format!("no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"),
        ));
    }
}

/// True when two stored forms differ only in resourceVersion and ownership timestamps,
/// in which case the real server skips the write (no new resourceVersion, no event).
pub(crate) fn is_noop(old: &Value, new: &Value) -> bool {
    fn normalize(v: &Value) -> Value {
        let mut v = v.clone();
        if let Some(meta) = v["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
            if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
                for e in entries {
                    e.as_object_mut().map(|o| o.remove("time"));
                }
            }
        }
        v
    }
    normalize(old) == normalize(new)
}
