//! AWS STS's `AssumeRoleWithWebIdentity`, the call IRSA pods make with their projected
//! ServiceAccount token: parameters from the query string or a form-encoded body (AWS
//! SDKs send a body, object_store a query), an XML answer in STS's format with
//! temporary credentials the embedded S3 accepts, and STS's XML errors.
//!
//! The token is checked as AWS checks it against the cluster's OIDC provider: it must be
//! one a sandbox cluster issued (TokenRequest), for the audience `sts.amazonaws.com`,
//! and unexpired. The role's trust policy is modelled by the ServiceAccount annotation:
//! a role may be assumed only with a token of a ServiceAccount annotated
//! `eks.amazonaws.com/role-arn: <that role>`, which is the trust relationship users
//! write for IRSA.
//!
//! Differences: no IAM roles or policies exist beyond that rule; requests are not
//! signed (as with AWS, this call needs none); other actions answer `InvalidAction`.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http::Request;
use rand::distr::{Alphanumeric, SampleString};

use super::{
    credentials::CredentialStore,
    form,
    serve::{self, Handler, Reply, Served, reply},
};
use kube_emulator::{
    Cluster, TokenError,
    pod_identity::{DEFAULT_AUDIENCE, ROLE_ARN_ANNOTATION},
};

const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

struct Sts {
    clusters: Vec<Arc<Cluster>>,
    credentials: Arc<CredentialStore>,
}

/// Starts STS over HTTPS (AWS SDKs and object_store refuse plain HTTP for it).
pub async fn start(
    clusters: Vec<Arc<Cluster>>,
    credentials: Arc<CredentialStore>,
    tls: Arc<rustls::ServerConfig>,
) -> anyhow::Result<Served> {
    let sts = Arc::new(Sts {
        clusters,
        credentials,
    });
    let handler: Handler = Arc::new(move |req| {
        let sts = sts.clone();
        Box::pin(async move { sts.handle(req) })
    });
    serve::serve(0, Some(tls), serve::handler_service(handler)).await
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"{NS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        form::xml(code),
        form::xml(message),
        request_id()
    );
    reply(status, "text/xml", body)
}

/// A role ARN as IAM accepts it: `arn:<partition>:iam::<12 digits>:role/<path/name>`.
fn valid_role_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:aws") else {
        return false;
    };
    let Some((_, rest)) = rest.split_once(":iam::") else {
        return false;
    };
    let Some((account, name)) = rest.split_once(":role/") else {
        return false;
    };
    account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))
}

impl Sts {
    fn handle(&self, req: Request<Bytes>) -> Reply {
        let mut params = form::parse(req.uri().query().unwrap_or_default());
        params.extend(form::parse(&String::from_utf8_lossy(req.body())));
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        match get("Action").as_deref() {
            Some("AssumeRoleWithWebIdentity") => {}
            Some(other) => {
                return error(
                    400,
                    "InvalidAction",
                    &format!("Could not find operation {other} for version 2011-06-15"),
                );
            }
            None => return error(400, "MissingAction", "Missing Action"),
        }
        let (Some(role_arn), Some(session), Some(token)) = (
            get("RoleArn"),
            get("RoleSessionName"),
            get("WebIdentityToken"),
        ) else {
            return error(
                400,
                "MissingParameter",
                "RoleArn, RoleSessionName and WebIdentityToken are required",
            );
        };
        if !valid_role_arn(&role_arn) {
            return error(400, "ValidationError", &format!("{role_arn} is invalid"));
        }
        if session.len() < 2
            || session.len() > 64
            || !session
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
        {
            return error(
                400,
                "ValidationError",
                "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            );
        }
        let seconds = match get("DurationSeconds").map(|d| d.parse::<u64>()) {
            None => 3600,
            Some(Ok(d)) if (900..=43200).contains(&d) => d,
            Some(_) => {
                return error(
                    400,
                    "ValidationError",
                    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining or is outside 900..43200.",
                );
            }
        };
        let mut verdict = Err(TokenError::Unknown);
        let mut issuer = None;
        for cluster in &self.clusters {
            match cluster.verify_token(&token, DEFAULT_AUDIENCE) {
                Err(TokenError::Unknown) => continue,
                other => {
                    verdict = other;
                    issuer = Some(cluster.clone());
                    break;
                }
            }
        }
        let issued = match verdict {
            Ok(t) => t,
            Err(TokenError::Unknown) => {
                return error(
                    400,
                    "InvalidIdentityToken",
                    "The web identity token was not issued by a cluster this account trusts",
                );
            }
            Err(TokenError::Audience(_)) => {
                return error(400, "InvalidIdentityToken", "Incorrect token audience");
            }
            Err(TokenError::Expired) => {
                return error(400, "ExpiredTokenException", "Token expired");
            }
        };
        let cluster = issuer.expect("a verdict comes from a cluster");
        let trusted = cluster
            .object(
                "",
                "serviceaccounts",
                &issued.namespace,
                &issued.service_account,
            )
            .is_some_and(|sa| sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION] == role_arn);
        if !trusted {
            return error(
                403,
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            );
        }
        let role_name = role_arn.rsplit('/').next().unwrap_or_default();
        let account = role_arn.split(':').nth(4).unwrap_or_default();
        let principal = format!("assumed-role/{role_name}/{session}");
        let c = self
            .credentials
            .issue(&principal, Duration::from_secs(seconds));
        let expiration = c.expiration.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let role_id = format!(
            "AROA{}",
            Alphanumeric
                .sample_string(&mut rand::rng(), 17)
                .to_uppercase()
        );
        let body = format!(
            "<AssumeRoleWithWebIdentityResponse xmlns=\"{NS}\">\n  <AssumeRoleWithWebIdentityResult>\n    <Audience>{aud}</Audience>\n    <SubjectFromWebIdentityToken>{sub}</SubjectFromWebIdentityToken>\n    <AssumedRoleUser>\n      <AssumedRoleId>{role_id}:{session}</AssumedRoleId>\n      <Arn>arn:aws:sts::{account}:assumed-role/{role_name}/{session}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{key}</AccessKeyId>\n      <SecretAccessKey>{secret}</SecretAccessKey>\n      <SessionToken>{token}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>\n    <Provider>arn:aws:iam::{account}:oidc-provider/{cluster}</Provider>\n  </AssumeRoleWithWebIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleWithWebIdentityResponse>\n",
            aud = DEFAULT_AUDIENCE,
            sub = form::xml(&issued.subject()),
            session = form::xml(&session),
            role_name = form::xml(role_name),
            key = c.access_key_id,
            secret = c.secret_access_key,
            token = c.session_token,
            cluster = form::xml(&cluster.options.name),
            rid = request_id(),
        );
        reply(200, "text/xml", body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube_emulator::{ClusterOptions, IssuedToken};

    fn call(sts: &Sts, token: &str) -> (u16, String) {
        let body = format!(
            "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fuser&RoleSessionName=backup&WebIdentityToken={token}"
        );
        let r = sts.handle(Request::post("/").body(Bytes::from(body)).unwrap());
        let status = r.status().as_u16();
        let body = futures::executor::block_on(http_body_util::BodyExt::collect(r.into_body()))
            .unwrap()
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[test]
    fn expired_and_misaddressed_tokens_are_refused() {
        let cluster = Arc::new(Cluster::new(
            ClusterOptions::new("c", std::env::temp_dir()),
            "admin",
            "",
        ));
        let issued = |aud: &str, secs: i64| IssuedToken {
            namespace: "test1".into(),
            service_account: "sa".into(),
            audiences: vec![aud.into()],
            expires: jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs),
            pod: None,
        };
        cluster.record_issued_token("old", issued(DEFAULT_AUDIENCE, -1));
        cluster.record_issued_token("vault", issued("vault", 600));
        cluster.record_issued_token("fresh", issued(DEFAULT_AUDIENCE, 600));
        let sts = Sts {
            clusters: vec![cluster],
            credentials: Arc::new(CredentialStore::default()),
        };
        let (status, body) = call(&sts, "old");
        assert_eq!(status, 400);
        assert!(
            body.contains("<Code>ExpiredTokenException</Code>"),
            "{body}"
        );
        let (_, body) = call(&sts, "vault");
        assert!(body.contains("Incorrect token audience"), "{body}");
        // A fresh token whose ServiceAccount does not exist (or is not annotated) is not trusted.
        let (status, body) = call(&sts, "fresh");
        assert_eq!(status, 403, "{body}");
        let (status, body) = call(&sts, "x&Action=GetCallerIdentity");
        assert_eq!(status, 400, "{body}");
    }

    #[test]
    fn role_arns() {
        assert!(valid_role_arn("arn:aws:iam::123456789012:role/user"));
        assert!(valid_role_arn("arn:aws-cn:iam::123456789012:role/path/r.x"));
        assert!(!valid_role_arn("arn:aws:iam::1234:role/user"));
        assert!(!valid_role_arn("arn:aws:iam::123456789012:user/u"));
        assert!(!valid_role_arn("user"));
    }
}
