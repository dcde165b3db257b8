//! In-cluster credentials: a token for the pod's ServiceAccount from the TokenRequest
//! API, with `ca.crt` and `namespace`, in the files Kubernetes puts under
//! `/var/run/secrets/kubernetes.io/serviceaccount`, so kube-rs's `Client::try_default()`
//! and `kubectl` work inside a pod unchanged.
//!
//! Differences: the real ServiceAccount admission plugin adds a projected
//! `kube-api-access-*` volume to the pod spec; here the kubelet supplies the same files
//! without changing the spec (and skips it when a container already mounts something at
//! that path). Tokens are not rotated: the emulator's tokens last as long as the cluster.
//! Without mount namespaces the files stay in the pod directory and `KUBECONFIG` points
//! to a per-pod kubeconfig that references them.

use std::path::Path;

use k8s_openapi::api::{
    authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec},
    core::v1::{Pod, ServiceAccount},
};
use kube::{Api, ResourceExt, api::PostParams};
use serde_json::json;

use super::volumes::write_file;

pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The lifetime the kubelet asks for its own projected token.
const TOKEN_SECONDS: i64 = 3607;

pub fn service_account_of(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_string())
}

/// Requests a token bound to `pod` for its ServiceAccount.
pub async fn request_token(
    client: &kube::Client,
    pod: &Pod,
    audience: Option<&str>,
    expiration: Option<i64>,
) -> Result<String, String> {
    let ns = pod.namespace().unwrap_or_default();
    let sa = service_account_of(pod);
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: audience.map(|a| vec![a.to_string()]),
            expiration_seconds: Some(expiration.unwrap_or(TOKEN_SECONDS)),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".to_string()),
                kind: Some("Pod".to_string()),
                name: Some(pod.name_any()),
                uid: pod.uid(),
            }),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let issued = api
        .create_token_request(&sa, &PostParams::default(), &request)
        .await
        .map_err(|e| e.to_string())?;
    issued
        .status
        .and_then(|s| s.token)
        .ok_or_else(|| "the TokenRequest was answered without a token".to_string())
}

/// Whether the pod gets credentials: the pod's `automountServiceAccountToken`, else its
/// ServiceAccount's, else yes.
pub async fn automount(client: &kube::Client, pod: &Pod) -> bool {
    if let Some(v) = pod
        .spec
        .as_ref()
        .and_then(|s| s.automount_service_account_token)
    {
        return v;
    }
    let api: Api<ServiceAccount> =
        Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    match api.get_opt(&service_account_of(pod)).await {
        Ok(Some(sa)) => sa.automount_service_account_token.unwrap_or(true),
        _ => true,
    }
}

/// Writes `token`, `ca.crt` and `namespace` into `dir`.
pub async fn write_service_account_dir(
    client: &kube::Client,
    pod: &Pod,
    dir: &Path,
    ca_pem: &str,
) -> Result<(), String> {
    let token = request_token(client, pod, None, None).await?;
    let _ = std::fs::remove_dir_all(dir);
    let ns = pod.namespace().unwrap_or_default();
    write_file(dir, "token", token.as_bytes(), 0o644)?;
    write_file(dir, "ca.crt", ca_pem.as_bytes(), 0o644)?;
    write_file(dir, "namespace", ns.as_bytes(), 0o644)?;
    Ok(())
}

/// A kubeconfig for containers that cannot see the standard path: it refers to the token
/// and CA files in `dir` rather than copying the token.
pub fn kubeconfig(dir: &Path, host: &str, port: u16, namespace: &str) -> String {
    let server = if host.contains(':') {
        format!("https://[{host}]:{port}")
    } else {
        format!("https://{host}:{port}")
    };
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "in-cluster", "cluster": {
            "server": server,
            "certificate-authority": dir.join("ca.crt").to_string_lossy(),
        }}],
        "users": [{"name": "service-account", "user": {
            "tokenFile": dir.join("token").to_string_lossy(),
        }}],
        "contexts": [{"name": "in-cluster", "context": {
            "cluster": "in-cluster", "user": "service-account", "namespace": namespace,
        }}],
        "current-context": "in-cluster",
    });
    // JSON is valid YAML, which is what kubeconfig readers expect.
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
