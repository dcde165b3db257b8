//! Decoding, defaulting and validation of the built-in kinds.
//!
//! Each object is decoded into its k8s-openapi type and encoded back, which is how the
//! real server ends up pruning unknown fields and rejecting wrong types; the fields the
//! round trip dropped are the "unknown fields" that `fieldValidation` reports. Defaults
//! are the ones clients observe and rely on (Job selectors and pod-template labels,
//! `backoffLimit`, pod `serviceAccountName`...), not the complete upstream set.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::{cause::FieldCause, registry::Builtin};

fn roundtrip<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

/// Decodes `object` as its built-in type; returns the re-encoded object and the paths of
/// fields the type does not have.
pub(crate) fn decode(which: Builtin, object: &Value) -> Result<(Value, Vec<String>), String> {
    use k8s_openapi::{
        api::{batch, coordination, core::v1 as core, events, rbac::v1 as rbac},
        apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext,
    };
    let decoded = match which {
        Builtin::Namespace => roundtrip::<core::Namespace>(object),
        Builtin::Secret => roundtrip::<core::Secret>(object),
        Builtin::ServiceAccount => roundtrip::<core::ServiceAccount>(object),
        Builtin::ConfigMap => roundtrip::<core::ConfigMap>(object),
        Builtin::Pod => roundtrip::<core::Pod>(object),
        Builtin::Event => roundtrip::<core::Event>(object),
        Builtin::EventV1 => roundtrip::<events::v1::Event>(object),
        Builtin::PersistentVolumeClaim => roundtrip::<core::PersistentVolumeClaim>(object),
        Builtin::PersistentVolume => roundtrip::<core::PersistentVolume>(object),
        Builtin::Job => roundtrip::<batch::v1::Job>(object),
        Builtin::Lease => roundtrip::<coordination::v1::Lease>(object),
        Builtin::Role => roundtrip::<rbac::Role>(object),
        Builtin::RoleBinding => roundtrip::<rbac::RoleBinding>(object),
        Builtin::ClusterRole => roundtrip::<rbac::ClusterRole>(object),
        Builtin::ClusterRoleBinding => roundtrip::<rbac::ClusterRoleBinding>(object),
        Builtin::CustomResourceDefinition => roundtrip::<apiext::CustomResourceDefinition>(object),
    }?;
    let mut unknown = Vec::new();
    dropped_fields(object, &decoded, "", &mut unknown);
    Ok((decoded, unknown))
}

fn dropped_fields(original: &Value, decoded: &Value, prefix: &str, out: &mut Vec<String>) {
    match (original, decoded) {
        (Value::Object(o), Value::Object(d)) => {
            for (k, v) in o {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match d.get(k) {
                    Some(dv) => dropped_fields(v, dv, &path, out),
                    None if !v.is_null() => out.push(path),
                    None => {}
                }
            }
        }
        (Value::Array(o), Value::Array(d)) => {
            for (i, (ov, dv)) in o.iter().zip(d).enumerate() {
                dropped_fields(ov, dv, &format!("{prefix}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn set_default(obj: &mut Value, key: &str, value: Value) {
    if obj.get(key).is_none_or(Value::is_null) {
        obj[key] = value;
    }
}

fn default_pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "enableServiceLinks", json!(true));
    if spec.get("serviceAccountName").is_none_or(Value::is_null) {
        let sa = spec["serviceAccount"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        spec["serviceAccountName"] = json!(sa);
    }
    // The deprecated alias mirrors the real field so old readers keep working.
    spec["serviceAccount"] = spec["serviceAccountName"].clone();
    for list in ["initContainers", "containers"] {
        for c in spec[list].as_array_mut().into_iter().flatten() {
            set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
            set_default(c, "terminationMessagePolicy", json!("File"));
            set_default(c, "resources", json!({}));
            let image = c["image"].as_str().unwrap_or_default();
            let tag = image.rsplit('/').next().unwrap_or_default();
            let latest = !tag.contains(':') && !image.contains('@') || tag.ends_with(":latest");
            set_default(
                c,
                "imagePullPolicy",
                json!(if latest { "Always" } else { "IfNotPresent" }),
            );
        }
    }
}

/// Defaults applied on create (and, for fields that are not immutable, on update).
pub(crate) fn apply_defaults(which: Builtin, obj: &mut Value, uid: &str) {
    match which {
        Builtin::Namespace => {
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            if obj["spec"]["finalizers"].is_null() {
                obj["spec"]["finalizers"] = json!(["kubernetes"]);
            }
            set_default(obj, "status", json!({}));
            set_default(&mut obj["status"], "phase", json!("Active"));
        }
        Builtin::Secret => {
            set_default(obj, "type", json!("Opaque"));
            merge_string_data(obj);
        }
        Builtin::Pod => {
            default_pod_spec(&mut obj["spec"]);
            set_default(obj, "status", json!({}));
            set_default(&mut obj["status"], "phase", json!("Pending"));
        }
        Builtin::Job => default_job(obj, uid),
        Builtin::PersistentVolumeClaim => {
            set_default(obj, "status", json!({}));
            set_default(&mut obj["status"], "phase", json!("Pending"));
        }
        Builtin::PersistentVolume => {
            set_default(obj, "status", json!({}));
            set_default(&mut obj["status"], "phase", json!("Available"));
        }
        Builtin::CustomResourceDefinition => {
            let kind = obj["spec"]["names"]["kind"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            set_default(
                &mut obj["spec"]["names"],
                "singular",
                json!(kind.to_lowercase()),
            );
            set_default(
                &mut obj["spec"]["names"],
                "listKind",
                json!(format!("{kind}List")),
            );
            set_default(&mut obj["spec"], "conversion", json!({"strategy": "None"}));
        }
        _ => {}
    }
}

/// `stringData` is write-only: it is folded into `data` (base64) and never stored.
fn merge_string_data(obj: &mut Value) {
    use base64::Engine;
    if let Some(Value::Object(string_data)) =
        obj.as_object_mut().and_then(|o| o.remove("stringData"))
    {
        for (k, v) in string_data {
            let text = v.as_str().unwrap_or_default();
            obj["data"][&k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
    }
}

fn default_job(obj: &mut Value, uid: &str) {
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let spec = &mut obj["spec"];
    set_default(spec, "parallelism", json!(1));
    set_default(spec, "completions", json!(1));
    set_default(spec, "backoffLimit", json!(6));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    let manual = spec["manualSelector"].as_bool() == Some(true);
    if !manual && spec["selector"].is_null() {
        spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    }
    if !manual {
        let labels = &mut spec["template"]["metadata"]["labels"];
        for (k, v) in [
            ("batch.kubernetes.io/controller-uid", uid),
            ("batch.kubernetes.io/job-name", name.as_str()),
            ("controller-uid", uid),
            ("job-name", name.as_str()),
        ] {
            labels[k] = json!(v);
        }
    }
    default_pod_spec(&mut spec["template"]["spec"]);
}

/// Kind-specific validation beyond the schema; `old` is set on updates.
pub(crate) fn validate(which: Builtin, obj: &Value, old: Option<&Value>) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    match which {
        Builtin::Pod => validate_pod_spec(&obj["spec"], "spec", &mut causes),
        Builtin::Job => {
            let spec = &obj["spec"];
            validate_pod_spec(&spec["template"]["spec"], "spec.template.spec", &mut causes);
            let restart = &spec["template"]["spec"]["restartPolicy"];
            if !matches!(restart.as_str(), Some("Never" | "OnFailure")) {
                causes.push(FieldCause::not_supported(
                    "spec.template.spec.restartPolicy",
                    restart,
                    &[json!("OnFailure"), json!("Never")],
                ));
            }
            if let Some(old) = old {
                for field in ["template", "selector", "completionMode"] {
                    if old["spec"][field] != spec[field] {
                        causes.push(FieldCause::invalid(
                            &format!("spec.{field}"),
                            &spec[field],
                            "field is immutable",
                        ));
                    }
                }
            }
        }
        Builtin::CustomResourceDefinition => validate_crd(obj, &mut causes),
        _ => {}
    }
    causes
}

fn validate_pod_spec(spec: &Value, path: &str, causes: &mut Vec<FieldCause>) {
    let containers = spec["containers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if containers.is_empty() {
        causes.push(FieldCause::required(&format!("{path}.containers"), ""));
    }
    let mut seen = Vec::new();
    for list in ["initContainers", "containers"] {
        for (i, c) in spec[list].as_array().into_iter().flatten().enumerate() {
            let at = format!("{path}.{list}[{i}]");
            match c["name"].as_str() {
                None | Some("") => causes.push(FieldCause::required(&format!("{at}.name"), "")),
                Some(n) if seen.contains(&n) => {
                    causes.push(FieldCause::duplicate(&format!("{at}.name"), &json!(n)))
                }
                Some(n) => seen.push(n),
            }
            if c["image"].as_str().is_none_or(str::is_empty) {
                causes.push(FieldCause::required(&format!("{at}.image"), ""));
            }
        }
    }
}

fn validate_crd(obj: &Value, causes: &mut Vec<FieldCause>) {
    let spec = &obj["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let plural = spec["names"]["plural"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    if group.is_empty() {
        causes.push(FieldCause::required("spec.group", ""));
    }
    if plural.is_empty() {
        causes.push(FieldCause::required("spec.names.plural", ""));
    }
    if spec["names"]["kind"].as_str().is_none_or(str::is_empty) {
        causes.push(FieldCause::required("spec.names.kind", ""));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(FieldCause::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if !matches!(spec["scope"].as_str(), Some("Namespaced" | "Cluster")) {
        causes.push(FieldCause::not_supported(
            "spec.scope",
            &spec["scope"],
            &[json!("Cluster"), json!("Namespaced")],
        ));
    }
    let versions = spec["versions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(FieldCause::invalid(
            "spec.versions",
            &json!(null),
            "must have exactly one version marked as storage version",
        ));
    } else {
        let storage = versions
            .iter()
            .filter(|v| v["storage"].as_bool() == Some(true))
            .count();
        if storage != 1 {
            causes.push(FieldCause::invalid(
                "spec.versions",
                &Value::Array(versions.to_vec()),
                "must have exactly one version marked as storage version",
            ));
        }
    }
}

/// Fields renamed between `events.k8s.io/v1` (left) and core/v1 (right).
const EVENT_RENAMES: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// Fields both Event versions spell the same.
const EVENT_SHARED: [&str; 7] = [
    "related",
    "reason",
    "type",
    "action",
    "reportingInstance",
    "eventTime",
    "series",
];

/// Converts an `events.k8s.io/v1` Event into the core/v1 form it is stored in.
pub(crate) fn event_v1_to_core(v1: &Value) -> Value {
    let mut core = json!({"apiVersion": "v1", "kind": "Event", "metadata": v1["metadata"].clone()});
    let renames: Vec<(&str, &str)> = EVENT_RENAMES.to_vec();
    copy_fields(v1, &mut core, &renames, &EVENT_SHARED);
    core
}

/// Converts a stored core/v1 Event to `events.k8s.io/v1`.
pub(crate) fn event_core_to_v1(core: &Value) -> Value {
    let mut v1 = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": core["metadata"].clone()});
    let renames: Vec<(&str, &str)> = EVENT_RENAMES.iter().map(|(a, b)| (*b, *a)).collect();
    copy_fields(core, &mut v1, &renames, &EVENT_SHARED);
    v1
}

fn copy_fields(from: &Value, to: &mut Value, renames: &[(&str, &str)], same: &[&str]) {
    for (src, dst) in renames {
        if let Some(v) = from.get(*src).filter(|v| !v.is_null()) {
            to[*dst] = v.clone();
        }
    }
    for key in same {
        if let Some(v) = from.get(*key).filter(|v| !v.is_null()) {
            to[*key] = v.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_reports_unknown_fields_and_type_errors() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "bogus": 1},
                        "data": {"a": "b"}, "extra": {"x": 1}});
        let (decoded, unknown) = decode(Builtin::ConfigMap, &cm).unwrap();
        assert_eq!(unknown, vec!["metadata.bogus", "extra"]);
        assert_eq!(decoded["data"]["a"], "b");
        assert!(decoded.get("extra").is_none());
        let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": 1}});
        assert!(decode(Builtin::ConfigMap, &bad).is_err());
    }

    #[test]
    fn jobs_get_selector_labels_and_pod_defaults() {
        let mut job = json!({"metadata": {"name": "backup-b1"}, "spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "pingcap/br:v8.5.0"}]}}}});
        apply_defaults(Builtin::Job, &mut job, "u-1");
        assert_eq!(job["spec"]["backoffLimit"], 6);
        assert_eq!(
            job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
            "u-1"
        );
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"]["job-name"],
            "backup-b1"
        );
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "default");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert!(validate(Builtin::Job, &job, None).is_empty());
        let mut changed = job.clone();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("x");
        let causes = validate(Builtin::Job, &changed, Some(&job));
        assert_eq!(causes[0].field, "spec.template");
    }

    #[test]
    fn job_needs_never_or_on_failure() {
        let mut job = json!({"metadata": {"name": "j"}, "spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "busybox"}]}}}});
        apply_defaults(Builtin::Job, &mut job, "u");
        let causes = validate(Builtin::Job, &job, None);
        assert_eq!(
            causes[0].full_message(),
            r#"spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#
        );
    }

    #[test]
    fn secrets_fold_string_data() {
        let mut s = json!({"metadata": {"name": "s"}, "stringData": {"password": "pw"}});
        apply_defaults(Builtin::Secret, &mut s, "u");
        assert_eq!(s["data"]["password"], "cHc=");
        assert_eq!(s["type"], "Opaque");
        assert!(s.get("stringData").is_none());
    }

    #[test]
    fn event_versions_convert_both_ways() {
        let v1 = json!({"metadata": {"name": "e"}, "regarding": {"kind": "Backup", "name": "b"},
                        "note": "started", "reason": "Started", "type": "Normal",
                        "reportingController": "tibr", "eventTime": "2026-01-01T00:00:00.000000Z"});
        let core = event_v1_to_core(&v1);
        assert_eq!(core["involvedObject"]["name"], "b");
        assert_eq!(core["message"], "started");
        let back = event_core_to_v1(&core);
        assert_eq!(back["note"], "started");
        assert_eq!(back["reportingController"], "tibr");
    }
}
