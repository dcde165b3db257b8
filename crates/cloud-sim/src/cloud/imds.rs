//! The EC2 instance metadata service as kube2iam presents it to pods: IMDSv2
//! (`PUT /latest/api/token`, then `X-aws-ec2-metadata-token` on reads) and IMDSv1,
//! `GET /latest/meta-data/iam/security-credentials/` naming the role of the pod's
//! `iam.amazonaws.com/role` annotation and `.../security-credentials/<role>` answering
//! temporary credentials for it in kube2iam's JSON (`AccessKeyId`, `Code`,
//! `Expiration`, `LastUpdated`, `SecretAccessKey`, `Token`, `Type`). A pod without the
//! annotation gets kube2iam's 404 (`unable to find role for IP ...`), so its AWS client
//! ends up with no credentials; a role other than the pod's gets 403 `Invalid role`.
//!
//! kube2iam tells pods apart by their IP address; every pod here is 127.0.0.1, so the
//! kubelet gives each pod its own endpoint, `http://127.0.0.1:<port>/pod/<secret>`
//! (AWS SDKs and object_store append `/latest/...` to the configured endpoint). The
//! secret is random, so one pod cannot ask for another's credentials, as one pod
//! cannot use another's IP.
//!
//! Differences: the role is the annotation's value when the pod started (kube2iam
//! follows later changes); no `--default-role`, namespace restrictions
//! (`iam.amazonaws.com/allowed-roles`) or external IDs; every role exists and can be
//! assumed. Besides credentials only `instance-id`, `placement/region`,
//! `placement/availability-zone` and the instance identity document are answered.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use http::{Method, Request};
use jiff::Timestamp;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::json;

use super::{
    credentials::{CredentialStore, TemporaryCredentials},
    serve::{self, Handler, Reply, Served, reply},
};

pub const ROLE_ANNOTATION: &str = "iam.amazonaws.com/role";

struct PodEntry {
    pod: String,
    /// The role's full ARN.
    role: Option<String>,
    cached: Option<TemporaryCredentials>,
}

struct Registry {
    pods: Mutex<HashMap<String, PodEntry>>,
    /// IMDSv2 session tokens and when they expire.
    tokens: Mutex<HashMap<String, Timestamp>>,
    credentials: Arc<CredentialStore>,
    base_arn: String,
    region: String,
    lifetime: Duration,
}

/// The running service, and the handle the kubelet registers pods with.
#[derive(Clone)]
pub struct MetadataService {
    registry: Arc<Registry>,
    url: String,
}

impl std::fmt::Debug for MetadataService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataService")
            .field("url", &self.url)
            .finish()
    }
}

/// A pod's entry in the service, removed when dropped (when the pod's worker ends).
pub struct PodRegistration {
    registry: Arc<Registry>,
    key: String,
    /// What the pod's AWS clients use as the metadata endpoint.
    pub endpoint: String,
}

impl std::fmt::Debug for PodRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The endpoint holds the pod's secret path: not for logs.
        f.debug_struct("PodRegistration").finish_non_exhaustive()
    }
}

impl Drop for PodRegistration {
    fn drop(&mut self) {
        self.registry
            .pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

impl MetadataService {
    /// Starts the service; `account_id` makes role names into ARNs as kube2iam's
    /// `--base-role-arn` does.
    pub async fn start(
        credentials: Arc<CredentialStore>,
        account_id: &str,
        region: &str,
        lifetime: Duration,
    ) -> anyhow::Result<(MetadataService, Served)> {
        let registry = Arc::new(Registry {
            pods: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            credentials,
            base_arn: format!("arn:aws:iam::{account_id}:role/"),
            region: region.to_string(),
            lifetime,
        });
        let r = registry.clone();
        let handler: Handler = Arc::new(move |req| {
            let r = r.clone();
            Box::pin(async move { handle(&r, req) })
        });
        let served = serve::serve(0, None, serve::handler_service(handler)).await?;
        let url = served.url(false);
        Ok((MetadataService { registry, url }, served))
    }

    /// Registers a pod with the value of its `iam.amazonaws.com/role` annotation.
    pub fn register(&self, pod: &str, role_annotation: Option<&str>) -> PodRegistration {
        let key = Alphanumeric.sample_string(&mut rand::rng(), 32);
        let role = role_annotation
            .filter(|r| !r.is_empty())
            .map(|r| self.registry.role_arn(r));
        self.registry
            .pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                key.clone(),
                PodEntry {
                    pod: pod.to_string(),
                    role,
                    cached: None,
                },
            );
        PodRegistration {
            registry: self.registry.clone(),
            endpoint: format!("{}/pod/{key}", self.url),
            key,
        }
    }

    /// The service's base URL (what a request from the node itself would use).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Registry {
    /// kube2iam's `RoleARN`: a full ARN as is, a name under the base ARN.
    fn role_arn(&self, role: &str) -> String {
        if role.to_ascii_lowercase().starts_with("arn:") {
            role.to_string()
        } else {
            format!("{}{role}", self.base_arn)
        }
    }

    fn valid_token(&self, token: &str) -> bool {
        let now = Timestamp::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.retain(|_, exp| *exp > now);
        tokens.contains_key(token)
    }

    /// The pod's credentials, reused until less than a quarter of their life remains.
    fn credentials_for(&self, key: &str) -> Option<TemporaryCredentials> {
        let mut pods = self.pods.lock().unwrap_or_else(|p| p.into_inner());
        let entry = pods.get_mut(key)?;
        let role = entry.role.clone()?;
        let fresh = entry
            .cached
            .as_ref()
            .is_some_and(|c| c.expiration > Timestamp::now() + self.lifetime / 4);
        if !fresh {
            let role_name = role.rsplit('/').next().unwrap_or_default();
            let session = format!("{}-{role_name}", entry.pod.replace('/', "-"));
            let principal = format!("assumed-role/{role_name}/{session}");
            entry.cached = Some(self.credentials.issue(&principal, self.lifetime));
        }
        entry.cached.clone()
    }
}

fn text(status: u16, body: impl Into<String>) -> Reply {
    let mut r = reply(status, "text/plain; charset=utf-8", body.into());
    r.headers_mut()
        .insert("server", http::HeaderValue::from_static("EC2ws"));
    r
}

fn handle(r: &Registry, req: Request<bytes::Bytes>) -> Reply {
    let path = req.uri().path().to_string();
    // `/pod/<key>/latest/...` for pods, `/latest/...` for the node itself.
    let (key, rest) = match path.strip_prefix("/pod/") {
        Some(p) => match p.split_once('/') {
            Some((k, rest)) => (Some(k.to_string()), format!("/{rest}")),
            None => (Some(p.to_string()), "/".to_string()),
        },
        None => (None, path.clone()),
    };
    if req.method() == Method::PUT && rest == "/latest/api/token" {
        let ttl = req
            .headers()
            .get("x-aws-ec2-metadata-token-ttl-seconds")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let Some(ttl) = ttl.filter(|t| (1..=21600).contains(t)) else {
            return text(400, "Bad Request");
        };
        let token = Alphanumeric.sample_string(&mut rand::rng(), 56);
        r.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), Timestamp::now() + Duration::from_secs(ttl));
        let mut resp = text(200, token);
        resp.headers_mut().insert(
            "x-aws-ec2-metadata-token-ttl-seconds",
            http::HeaderValue::from(ttl),
        );
        return resp;
    }
    if req.method() != Method::GET {
        return text(405, "Method Not Allowed");
    }
    if let Some(token) = req.headers().get("x-aws-ec2-metadata-token")
        && !token.to_str().is_ok_and(|t| r.valid_token(t))
    {
        return text(401, "Unauthorized");
    }
    let known = key.as_ref().map(|k| {
        r.pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(k)
            .map(|e| e.role.clone())
    });
    let role = match known {
        Some(Some(role)) => role,
        // An unregistered path: a pod that is gone, or a guessed key.
        Some(None) => return text(404, "unable to find pod for IP 127.0.0.1\n"),
        None => None,
    };
    match rest.as_str() {
        "/latest/meta-data/instance-id" => text(200, "i-0sandbox0000000001"),
        "/latest/meta-data/placement/region" => text(200, r.region.clone()),
        "/latest/meta-data/placement/availability-zone" => text(200, format!("{}a", r.region)),
        "/latest/dynamic/instance-identity/document" => {
            let doc = json!({
                "accountId": r.base_arn.split(':').nth(4).unwrap_or_default(),
                "availabilityZone": format!("{}a", r.region),
                "instanceId": "i-0sandbox0000000001",
                "instanceType": "m5.xlarge",
                "region": r.region,
            });
            reply(200, "application/json", doc.to_string())
        }
        "/latest/meta-data/iam/security-credentials"
        | "/latest/meta-data/iam/security-credentials/" => match role {
            // kube2iam names a role under its base ARN by its name, others by ARN.
            Some(arn) => text(
                200,
                arn.strip_prefix(&r.base_arn).unwrap_or(&arn).to_string(),
            ),
            None => text(404, "unable to find role for IP 127.0.0.1\n"),
        },
        other => match other.strip_prefix("/latest/meta-data/iam/security-credentials/") {
            Some(wanted) => {
                let (Some(key), Some(arn)) = (key, role) else {
                    return text(404, "unable to find role for IP 127.0.0.1\n");
                };
                if r.role_arn(wanted) != arn {
                    return text(403, format!("Invalid role {wanted}\n"));
                }
                let Some(c) = r.credentials_for(&key) else {
                    return text(404, "unable to find role for IP 127.0.0.1\n");
                };
                let fmt = |t: Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
                let body = json!({
                    "AccessKeyId": c.access_key_id,
                    "Code": "Success",
                    "Expiration": fmt(c.expiration),
                    "LastUpdated": fmt(Timestamp::now()),
                    "SecretAccessKey": c.secret_access_key,
                    "Token": c.session_token,
                    "Type": "AWS-HMAC",
                });
                let mut resp = reply(200, "application/json", body.to_string());
                resp.headers_mut()
                    .insert("server", http::HeaderValue::from_static("EC2ws"));
                resp
            }
            None => text(404, "Not Found\n"),
        },
    }
}
