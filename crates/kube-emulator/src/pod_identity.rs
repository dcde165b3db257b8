//! The EKS pod identity webhook (IAM roles for service accounts, "IRSA"), as a mutation
//! of pods on creation: a pod whose ServiceAccount is annotated
//! `eks.amazonaws.com/role-arn` gets, in every container not listed in the pod's
//! `eks.amazonaws.com/skip-containers` annotation, the variables `AWS_STS_REGIONAL_ENDPOINTS`,
//! `AWS_DEFAULT_REGION`/`AWS_REGION` (unless one is set), `AWS_ROLE_ARN` and
//! `AWS_WEB_IDENTITY_TOKEN_FILE`, a read-only mount of the projected volume
//! `aws-iam-token` (a ServiceAccount token for `sts.amazonaws.com`, 86400 s) at
//! `/var/run/secrets/eks.amazonaws.com/serviceaccount`, with the names, order and
//! annotations (`audience`, `sts-regional-endpoints`, `token-expiration`) of
//! `aws/amazon-eks-pod-identity-webhook`'s `pkg/handler/handler.go`.
//!
//! Differences: it runs inside the API server on create (the real one is a mutating
//! admission webhook behind a `MutatingWebhookConfiguration`); the EKS Pod Identity
//! agent path (`AWS_CONTAINER_CREDENTIALS_FULL_URI`) and Windows paths are not
//! emulated; a missing ServiceAccount is refused earlier by the ServiceAccount check.

use serde_json::{Value, json};

use super::{cluster::State, registry::GroupResource};

pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
pub const MOUNT_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
pub const VOLUME_NAME: &str = "aws-iam-token";
pub const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";

/// The webhook's flags, as EKS runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodIdentityWebhook {
    /// `--aws-default-region`: written to `AWS_DEFAULT_REGION` and `AWS_REGION`.
    pub region: String,
    /// `--token-audience`.
    pub audience: String,
    /// `--sts-regional-endpoint`.
    pub regional_sts: bool,
    /// `--token-expiration` in seconds.
    pub token_expiration: i64,
}

impl PodIdentityWebhook {
    pub fn eks(region: &str) -> Self {
        PodIdentityWebhook {
            region: region.to_string(),
            audience: DEFAULT_AUDIENCE.to_string(),
            regional_sts: true,
            token_expiration: 86400,
        }
    }
}

/// The webhook's bounds on a token's lifetime (`pkg.ValidateMinTokenExpiration`).
fn clamp_expiration(seconds: i64) -> i64 {
    seconds.clamp(600, 86400)
}

fn has_env(container: &Value, names: &[&str]) -> bool {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| names.iter().any(|n| e["name"] == *n))
}

/// Mutates `pod` (a create request body in `namespace`) when its ServiceAccount asks
/// for a role. Returns whether anything changed.
pub(crate) fn mutate(state: &State, namespace: &str, pod: &mut Value) -> bool {
    let Some(webhook) = state.pod_identity_webhook.clone() else {
        return false;
    };
    let spec = &pod["spec"];
    let sa_name = spec["serviceAccountName"]
        .as_str()
        .or_else(|| spec["serviceAccount"].as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string();
    let Some(sa) = state.store.get(
        &GroupResource::new("", "serviceaccounts"),
        namespace,
        &sa_name,
    ) else {
        return false;
    };
    let annotation = |key: &str| {
        sa["metadata"]["annotations"][format!("eks.amazonaws.com/{key}")]
            .as_str()
            .map(str::to_string)
    };
    let Some(role_arn) = annotation("role-arn").filter(|a| !a.is_empty()) else {
        return false;
    };
    let audience = annotation("audience").unwrap_or(webhook.audience.clone());
    let regional = annotation("sts-regional-endpoints")
        .and_then(|v| v.parse::<bool>().ok())
        .unwrap_or(webhook.regional_sts);
    let mut expiration = annotation("token-expiration")
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(webhook.token_expiration, clamp_expiration);
    let pod_annotation = |key: &str| {
        pod["metadata"]["annotations"][format!("eks.amazonaws.com/{key}")]
            .as_str()
            .map(str::to_string)
    };
    if let Some(e) = pod_annotation("token-expiration").and_then(|v| v.parse::<i64>().ok()) {
        expiration = clamp_expiration(e);
    }
    let skip: Vec<String> = pod_annotation("skip-containers")
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();

    let mut changed = false;
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod["spec"][list].as_array_mut() else {
            continue;
        };
        for c in containers {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            if skip.contains(&name) {
                continue;
            }
            changed |= mutate_container(c, &webhook, &role_arn, regional);
        }
    }
    let volumes = &mut pod["spec"]["volumes"];
    let exists = volumes
        .as_array()
        .is_some_and(|v| v.iter().any(|v| v["name"] == VOLUME_NAME));
    if !exists {
        let volume = json!({"name": VOLUME_NAME, "projected": {"sources": [
            {"serviceAccountToken": {"audience": audience, "expirationSeconds": expiration, "path": "token"}}
        ]}});
        // The webhook inserts its volume first (JSON patch `add /spec/volumes/0`).
        match volumes.as_array_mut() {
            Some(list) => list.insert(0, volume),
            None => *volumes = json!([volume]),
        }
        changed = true;
    }
    changed
}

/// One container's variables and mount, in the webhook's order.
fn mutate_container(
    c: &mut Value,
    webhook: &PodIdentityWebhook,
    role_arn: &str,
    regional: bool,
) -> bool {
    let identity_defined = has_env(c, &["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]);
    let region_defined = has_env(c, &["AWS_REGION", "AWS_DEFAULT_REGION"]);
    let sts_defined = has_env(c, &["AWS_STS_REGIONAL_ENDPOINTS"]);
    let mut changed = false;
    if !(identity_defined && region_defined && sts_defined) {
        let mut add = Vec::new();
        if !sts_defined && regional {
            add.push(json!({"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}));
        }
        if !region_defined && !webhook.region.is_empty() {
            add.push(json!({"name": "AWS_DEFAULT_REGION", "value": webhook.region}));
            add.push(json!({"name": "AWS_REGION", "value": webhook.region}));
        }
        if !identity_defined {
            add.push(json!({"name": "AWS_ROLE_ARN", "value": role_arn}));
            add.push(json!({"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": TOKEN_FILE}));
        }
        if !add.is_empty() {
            match c["env"].as_array_mut() {
                Some(env) => env.extend(add),
                None => c["env"] = json!(add),
            }
            changed = true;
        }
    }
    let mounted = c["volumeMounts"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["name"] == VOLUME_NAME));
    if !mounted {
        let mount = json!({"name": VOLUME_NAME, "readOnly": true, "mountPath": MOUNT_PATH});
        match c["volumeMounts"].as_array_mut() {
            Some(m) => m.push(mount),
            None => c["volumeMounts"] = json!([mount]),
        }
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_get_the_webhook_variables_in_order() {
        let webhook = PodIdentityWebhook::eks("us-west-2");
        let mut c = json!({"name": "backup", "env": [{"name": "X", "value": "1"}]});
        assert!(mutate_container(
            &mut c,
            &webhook,
            "arn:aws:iam::123456789012:role/user",
            true
        ));
        let names: Vec<&str> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "X",
                "AWS_STS_REGIONAL_ENDPOINTS",
                "AWS_DEFAULT_REGION",
                "AWS_REGION",
                "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE"
            ]
        );
        assert_eq!(c["volumeMounts"][0]["mountPath"], MOUNT_PATH);
        // A second pass changes nothing.
        assert!(!mutate_container(
            &mut c,
            &webhook,
            "arn:aws:iam::123456789012:role/user",
            true
        ));
    }

    #[test]
    fn a_container_with_its_own_region_keeps_it() {
        let webhook = PodIdentityWebhook::eks("us-west-2");
        let mut c = json!({"name": "c", "env": [{"name": "AWS_REGION", "value": "eu-west-1"}]});
        mutate_container(&mut c, &webhook, "arn:aws:iam::123456789012:role/r", false);
        let env = c["env"].as_array().unwrap();
        assert_eq!(env.len(), 3);
        assert!(!env.iter().any(|e| e["name"] == "AWS_DEFAULT_REGION"));
        assert!(
            !env.iter()
                .any(|e| e["name"] == "AWS_STS_REGIONAL_ENDPOINTS")
        );
    }
}
