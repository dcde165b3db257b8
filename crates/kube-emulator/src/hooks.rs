//! What the real control plane does right after a write, done synchronously here:
//! namespaces get their `default` ServiceAccount and `kube-root-ca.crt` ConfigMap, CRDs
//! become servable (or say why not) and carry the cleanup finalizer, and pods need an
//! existing ServiceAccount, as the ServiceAccount admission plugin demands, and are
//! mutated by the EKS pod identity webhook when the cluster runs one.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{
    cluster::{State, rfc3339},
    error::{ApiError, ApiResult},
    ops::{self, WriteOptions},
    registry::{Builtin, GroupResource, ResourceType, crd_types},
};

pub(crate) const CRD_CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// Admission of a new pod: the ServiceAccount must exist, then mutating webhooks run
/// (before defaulting and validation, which see the mutated pod as on a real server).
pub(crate) fn admit_pod(
    state: &State,
    namespace: &str,
    pod: &str,
    body: &mut Value,
) -> ApiResult<()> {
    check_service_account(state, namespace, pod, body)?;
    super::pod_identity::mutate(state, namespace, body);
    Ok(())
}

pub(crate) fn check_service_account(
    state: &State,
    namespace: &str,
    pod: &str,
    body: &Value,
) -> ApiResult<()> {
    let spec = &body["spec"];
    let sa = spec["serviceAccountName"]
        .as_str()
        .or_else(|| spec["serviceAccount"].as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    if state
        .store
        .get(&GroupResource::new("", "serviceaccounts"), namespace, sa)
        .is_none()
    {
        return Err(ApiError::forbidden(
            "",
            "pods",
            pod,
            &format!(
                "error looking up service account {namespace}/{sa}: serviceaccount \"{sa}\" not found"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn after_write(state: &mut State, rt: &ResourceType, obj: &Value, now: Timestamp) {
    match rt.builtin() {
        Some(Builtin::Namespace) => bootstrap_namespace(state, obj, now),
        Some(Builtin::CustomResourceDefinition) => establish_crd(state, rt, obj, now),
        _ => {}
    }
}

pub(crate) fn after_remove(state: &mut State, rt: &ResourceType, obj: &Value) {
    if rt.builtin() == Some(Builtin::CustomResourceDefinition) {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        state.registry.remove_crd_types(name);
    }
}

fn bootstrap_namespace(state: &mut State, ns: &Value, now: Timestamp) {
    if !ns["metadata"]["deletionTimestamp"].is_null() {
        return;
    }
    let name = ns["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let opts = WriteOptions::internal("kube-controller-manager", now);
    let registry = state.registry.clone();
    if state
        .store
        .get(&GroupResource::new("", "serviceaccounts"), &name, "default")
        .is_none()
        && let Some(sa) = registry.lookup("", "v1", "serviceaccounts")
    {
        let body = json!({"metadata": {"name": "default"}});
        // Cannot fail for a fresh, active namespace; nothing to report otherwise.
        let _ = ops::create(state, &sa, Some(&name), body, &opts);
    }
    if state
        .store
        .get(
            &GroupResource::new("", "configmaps"),
            &name,
            "kube-root-ca.crt",
        )
        .is_none()
        && let Some(cm) = registry.lookup("", "v1", "configmaps")
    {
        let body = json!({
            "metadata": {"name": "kube-root-ca.crt",
                         "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": state.ca_pem.clone()}
        });
        let _ = ops::create(state, &cm, Some(&name), body, &opts);
    }
}

fn condition(kind: &str, ok: bool, reason: &str, message: &str, now: &str, old: &Value) -> Value {
    let status = if ok { "True" } else { "False" };
    let previous = old["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind));
    let since = match previous {
        Some(p) if p["status"] == status => p["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    json!({"type": kind, "status": status, "lastTransitionTime": since, "reason": reason, "message": message})
}

fn establish_crd(state: &mut State, rt: &ResourceType, crd: &Value, now: Timestamp) {
    let name = crd["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let deleting = !crd["metadata"]["deletionTimestamp"].is_null();
    let now_s = rfc3339(now);
    let mut updated = crd.clone();
    let (accepted, message) = match crd_types(crd) {
        Ok(types) => {
            state.registry.set_crd_types(&name, types);
            (true, "no conflicts found".to_string())
        }
        Err(e) => {
            state.registry.remove_crd_types(&name);
            (false, e)
        }
    };
    updated["status"]["acceptedNames"] = if accepted {
        let mut names = crd["spec"]["names"].clone();
        if names["singular"].is_null() {
            names["singular"] = json!(names["kind"].as_str().unwrap_or_default().to_lowercase());
        }
        names
    } else {
        json!({"plural": "", "kind": ""})
    };
    let mut conditions = vec![
        condition(
            "NamesAccepted",
            accepted,
            if accepted {
                "NoConflicts"
            } else {
                "InvalidNames"
            },
            &message,
            &now_s,
            crd,
        ),
        condition(
            "Established",
            accepted,
            if accepted {
                "InitialNamesAccepted"
            } else {
                "NotAccepted"
            },
            if accepted {
                "the initial names have been accepted"
            } else {
                "not all names are accepted"
            },
            &now_s,
            crd,
        ),
    ];
    if deleting {
        conditions.push(condition(
            "Terminating",
            true,
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
            &now_s,
            crd,
        ));
    }
    updated["status"]["conditions"] = json!(conditions);
    let stored_versions: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .map(|v| v["name"].clone())
        .collect();
    updated["status"]["storedVersions"] = json!(stored_versions);
    if !deleting {
        let finalizers = updated["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !finalizers.iter().any(|f| f == CRD_CLEANUP_FINALIZER) {
            let mut f = finalizers;
            f.push(json!(CRD_CLEANUP_FINALIZER));
            updated["metadata"]["finalizers"] = json!(f);
        }
    }
    if super::ops::is_noop_value(crd, &updated) {
        return;
    }
    state.store.put(&rt.storage, updated);
}
