//! Serving the emulator: one handler for EC2 (`POST /`) and the EBS direct API
//! (`/snapshots…`), over plain HTTP for tools on the host and HTTPS for pods, as the S3 server
//! does. Every request is authenticated, then admitted or throttled, then answered; each is
//! logged as a [`super::Call`] with the error it got.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use bytes::Bytes;
use http::Request;
use jiff::Timestamp;

use super::{
    Ec2, Ec2Error,
    ebs::{self, EbsError},
    query::{self, Params},
    sigv4::{self, AuthError},
    xml,
};
use crate::cloud::{
    CredentialStore, form,
    serve::{self, Handler, Reply, Served, reply},
};

pub struct Ec2Server {
    pub ec2: Ec2,
    pub addr: SocketAddr,
    pub tls_addr: Option<SocketAddr>,
    http: Served,
    https: Option<Served>,
}

impl std::fmt::Debug for Ec2Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2Server")
            .field("addr", &self.addr)
            .field("tls_addr", &self.tls_addr)
            .finish_non_exhaustive()
    }
}

impl Ec2Server {
    /// Serves `ec2` on a free port of 127.0.0.1 (and over TLS on another when `tls` is
    /// given), authenticating against `credentials`.
    pub async fn start(
        ec2: Ec2,
        credentials: Arc<CredentialStore>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> anyhow::Result<Ec2Server> {
        let handler: Handler = {
            let ec2 = ec2.clone();
            Arc::new(move |req| {
                let ec2 = ec2.clone();
                let credentials = credentials.clone();
                Box::pin(async move { handle(&ec2, &credentials, req) })
            })
        };
        let service = serve::handler_service(handler);
        let http = serve::serve(0, None, service.clone())
            .await
            .context("starting the EC2 server")?;
        let https = match tls {
            Some(tls) => Some(
                serve::serve(0, Some(tls), service)
                    .await
                    .context("starting the EC2 HTTPS server")?,
            ),
            None => None,
        };
        Ok(Ec2Server {
            ec2,
            addr: http.addr,
            tls_addr: https.as_ref().map(|s| s.addr),
            http,
            https,
        })
    }

    /// The plain-HTTP endpoint, for EC2 and EBS alike (host tools).
    pub fn endpoint(&self) -> String {
        self.http.url(false)
    }

    /// The HTTPS endpoint (pods), when there is one.
    pub fn tls_endpoint(&self) -> Option<String> {
        self.https.as_ref().map(|s| s.url(true))
    }

    pub async fn stop(self) {
        self.http.stop().await;
        if let Some(s) = self.https {
            s.stop().await;
        }
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn handle(ec2: &Ec2, credentials: &CredentialStore, req: Request<Bytes>) -> Reply {
    let reply = if req.uri().path().starts_with("/snapshots") {
        handle_ebs(ec2, credentials, &req)
    } else {
        handle_ec2(ec2, credentials, &req)
    };
    tracing::debug!(method = %req.method(), uri = %req.uri(), status = reply.status().as_u16(), "ec2 emulator");
    reply
}

/// EC2's words for an authentication failure.
fn ec2_auth_error(e: &AuthError) -> Ec2Error {
    let (code, status, message) = match e {
        AuthError::Missing => (
            "MissingAuthenticationToken",
            401,
            "The request must contain a valid (registered) AWS access key ID".to_string(),
        ),
        AuthError::Malformed(why) => ("IncompleteSignature", 400, why.clone()),
        AuthError::ExpiredKey | AuthError::Skewed => {
            ("RequestExpired", 400, "Request has expired.".to_string())
        }
        AuthError::WrongService(s) => (
            "AuthFailure",
            401,
            format!("Credential should be scoped to a valid service ('ec2'), not '{s}'."),
        ),
        AuthError::UnknownKey | AuthError::WrongToken | AuthError::BadSignature => (
            "AuthFailure",
            401,
            "AWS was not able to validate the provided access credentials".to_string(),
        ),
    };
    Ec2Error::new(code, message).with_status(status)
}

fn ec2_reply(e: &Ec2Error) -> Reply {
    reply(
        e.status,
        "text/xml;charset=UTF-8",
        xml::error(e, &request_id()),
    )
}

fn handle_ec2(ec2: &Ec2, credentials: &CredentialStore, req: &Request<Bytes>) -> Reply {
    let mut pairs = form::parse(req.uri().query().unwrap_or_default());
    pairs.extend(form::parse(&String::from_utf8_lossy(req.body())));
    let params = Params::new(pairs);
    let action = params.get("Action").unwrap_or("Unknown").to_string();
    let principal = match sigv4::verify(req, credentials, "ec2", Timestamp::now()) {
        Ok(signer) => credentials.principal(&signer.access_key),
        Err(e) => {
            let e = ec2_auth_error(&e);
            ec2.record(&action, Some(&e.code), None);
            return ec2_reply(&e);
        }
    };
    let fail = |e: Ec2Error| {
        ec2.record(&action, Some(&e.code), principal.clone());
        ec2_reply(&e)
    };
    if action == "Unknown" {
        return fail(Ec2Error::new(
            "MissingAction",
            "The request must contain the parameter Action",
        ));
    }
    if !ec2.admit(&action) {
        return fail(
            Ec2Error::new("RequestLimitExceeded", "Request limit exceeded.").with_status(503),
        );
    }
    let config = ec2.config().clone();
    let result = {
        let mut state = ec2.lock();
        query::dispatch(
            &action,
            &params,
            &mut state,
            &config.account_id,
            &config.region,
        )
    };
    match result {
        Ok(body) => {
            ec2.record(&action, None, principal.clone());
            reply(
                200,
                "text/xml;charset=UTF-8",
                xml::response(&action, &request_id(), &body),
            )
        }
        Err(e) => fail(e),
    }
}

/// The JSON services' words for an authentication failure.
fn ebs_auth_error(e: &AuthError) -> EbsError {
    let (kind, message) = match e {
        AuthError::Missing => (
            "MissingAuthenticationTokenException",
            "Missing Authentication Token".to_string(),
        ),
        AuthError::Malformed(why) => ("IncompleteSignatureException", why.clone()),
        AuthError::ExpiredKey => (
            "ExpiredTokenException",
            "The security token included in the request is expired".to_string(),
        ),
        AuthError::Skewed => ("InvalidSignatureException", "Signature expired".to_string()),
        AuthError::WrongService(s) => (
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: 'ebs', not '{s}'."),
        ),
        AuthError::UnknownKey | AuthError::WrongToken => (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".to_string(),
        ),
        AuthError::BadSignature => (
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided."
                .to_string(),
        ),
    };
    EbsError::new(403, kind, None, message)
}

fn handle_ebs(ec2: &Ec2, credentials: &CredentialStore, req: &Request<Bytes>) -> Reply {
    let operation = ebs::operation(req.method(), req.uri().path());
    let principal = match sigv4::verify(req, credentials, "ebs", Timestamp::now()) {
        Ok(signer) => credentials.principal(&signer.access_key),
        Err(e) => {
            let e = ebs_auth_error(&e);
            ec2.record(operation, Some(e.kind), None);
            return e.reply();
        }
    };
    let fail = |e: EbsError| {
        ec2.record(operation, Some(e.kind), principal.clone());
        e.reply()
    };
    if !ec2.admit(operation) {
        return fail(EbsError::new(
            400,
            "RequestThrottledException",
            Some("ACCOUNT_THROTTLED"),
            "The number of API requests has exceeded the allowed rate".into(),
        ));
    }
    match ebs::dispatch(operation, req, ec2) {
        Ok(r) => {
            ec2.record(operation, None, principal.clone());
            r
        }
        Err(e) => fail(e),
    }
}
