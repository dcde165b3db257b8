//! Real S3 servers for tests (feature `test-support`; never in production builds).
//!
//! - [`S3Fs`]: s3s-fs served in-process on 127.0.0.1 with SigV4 enforced against one generated
//!   key pair — a third-party S3 implementation that checks signatures.
//! - [`Moto`]: the `moto_server` that `./scripts/test` starts and announces through
//!   `TIBR_TEST_MOTO_ENDPOINT`. moto keeps storage classes and ACLs as AWS does, so tests check
//!   those there. Tests needing it fail (never skip) when the variable is missing.
//!
//! Both hand out [`Env`]s with their credentials, so stores are opened exactly as in production
//! (credentials from the environment) without touching the test process's environment.

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use rand::distr::{Alphanumeric, SampleString};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::env::{self, Env};
use crate::store::{OpenOptions, Store, open_with};
use tibr_core::storage::{Location, S3Target, Target};

/// Variable through which `./scripts/test` passes moto's endpoint.
pub const MOTO_ENDPOINT_VAR: &str = "TIBR_TEST_MOTO_ENDPOINT";

/// The location `bucket` and `prefix` name; panics on what no test should use.
pub fn location(bucket: &str, prefix: &str) -> Location {
    Location::parse(bucket, prefix).unwrap_or_else(|e| panic!("{bucket:?} {prefix:?}: {e}"))
}

/// A fresh lowercase name usable as a bucket or prefix.
pub fn unique_name(stem: &str) -> String {
    format!(
        "{stem}-{}",
        Alphanumeric
            .sample_string(&mut rand::rng(), 10)
            .to_lowercase()
    )
}

/// s3s-fs on a random local port, serving a temporary directory.
pub struct S3Fs {
    pub addr: SocketAddr,
    pub access_key: String,
    pub secret_key: String,
    dir: tempfile::TempDir,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for S3Fs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Fs")
            .field("addr", &self.addr)
            .field("dir", &self.dir.path())
            .finish()
    }
}

impl S3Fs {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory for s3s-fs");
        let access_key = format!(
            "AKIA{}",
            Alphanumeric
                .sample_string(&mut rand::rng(), 16)
                .to_uppercase()
        );
        let secret_key = Alphanumeric.sample_string(&mut rand::rng(), 40);
        let fs = s3s_fs::FileSystem::new(dir.path()).expect("s3s-fs over a temporary directory");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(
            access_key.clone(),
            secret_key.clone(),
        ));
        let service = builder.build();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind s3s-fs");
        let addr = listener.local_addr().expect("s3s-fs address");
        let (shutdown, mut stop) = watch::channel(false);
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let socket = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((socket, _)) => socket,
                        Err(_) => continue,
                    },
                    _ = stop.changed() => return,
                };
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        S3Fs {
            addr,
            access_key,
            secret_key,
            dir,
            shutdown,
            task,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Directory holding `<bucket>/<key>` files.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A bucket is a top-level directory for s3s-fs.
    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir_all(self.dir.path().join(bucket)).expect("create bucket directory");
    }

    /// Valid credentials, and the endpoint as `AWS_ENDPOINT_URL_S3` (the sandbox's way).
    pub fn env(&self) -> Env {
        Env::empty()
            .with(env::ACCESS_KEY_ID, &self.access_key)
            .with(env::SECRET_ACCESS_KEY, &self.secret_key)
            .with(env::ENDPOINT_URL_S3, self.endpoint())
            .with(env::REGION, "us-west-2")
    }

    /// A target on this server; provider `minio` so no AWS storage-class default applies
    /// (s3s-fs only accepts `STANDARD`).
    pub fn target(&self, bucket: &str, prefix: &str) -> S3Target {
        let mut target = S3Target::new("minio", location(bucket, prefix));
        target.endpoint = Some(self.endpoint());
        target
    }

    pub fn store(&self, bucket: &str, prefix: &str) -> Store {
        open_with(
            &Target::S3(self.target(bucket, prefix)),
            &OpenOptions {
                env: self.env(),
                ..OpenOptions::default()
            },
        )
        .expect("open s3s-fs store")
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// The moto server started by `./scripts/test`.
#[derive(Debug, Clone)]
pub struct Moto {
    pub endpoint: String,
}

impl Moto {
    /// moto does not check signatures; any key pair works. Tests that run a program against
    /// moto (BR, the agent in a pod) give it this one.
    pub const ACCESS_KEY: &str = "AKIAMOTOTESTKEY00000";
    pub const SECRET_KEY: &str = "moto-test-secret-not-checked-0000000000";

    /// [`Moto::from_env`] and a new bucket named after `stem`: how every moto test starts.
    pub async fn with_bucket(stem: &str) -> (Moto, String) {
        let moto = Moto::from_env();
        let bucket = unique_name(stem);
        moto.create_bucket(&bucket).await;
        (moto, bucket)
    }

    /// Reads `TIBR_TEST_MOTO_ENDPOINT`; panics with instructions when it is missing, because a
    /// silently skipped test proves nothing.
    pub fn from_env() -> Self {
        match std::env::var(MOTO_ENDPOINT_VAR) {
            Ok(endpoint) if !endpoint.is_empty() => Moto {
                endpoint: endpoint.trim_end_matches('/').to_owned(),
            },
            _ => panic!(
                "{MOTO_ENDPOINT_VAR} is not set: this test needs moto_server. Run \
                 ./scripts/test (it installs moto into .venv, starts it and sets the variable), \
                 or start `.venv/bin/moto_server -H 127.0.0.1 -p PORT` and export \
                 {MOTO_ENDPOINT_VAR}=http://127.0.0.1:PORT"
            ),
        }
    }

    /// The key pair of [`Moto::ACCESS_KEY`], in region `us-east-1`.
    pub fn env(&self) -> Env {
        Env::empty()
            .with(env::ACCESS_KEY_ID, Moto::ACCESS_KEY)
            .with(env::SECRET_ACCESS_KEY, Moto::SECRET_KEY)
            .with(env::REGION, "us-east-1")
    }

    /// A target with provider `aws`, so AWS defaults (ACL, storage class) apply.
    pub fn target(&self, bucket: &str, prefix: &str) -> S3Target {
        let mut target = S3Target::new("aws", location(bucket, prefix));
        target.endpoint = Some(self.endpoint.clone());
        target
    }

    pub fn store(&self, target: &S3Target) -> Store {
        open_with(
            &Target::S3(target.clone()),
            &OpenOptions {
                env: self.env(),
                ..OpenOptions::default()
            },
        )
        .expect("open moto store")
    }

    pub async fn create_bucket(&self, bucket: &str) {
        let (status, _, body) = self.raw("PUT", &format!("/{bucket}")).await;
        assert!(
            status == 200,
            "creating bucket {bucket} on moto: {status} {body}"
        );
    }

    /// Response headers of `HEAD /bucket/key`, names lowercased.
    pub async fn head(&self, bucket: &str, key: &str) -> Vec<(String, String)> {
        let (status, headers, _) = self.raw("HEAD", &format!("/{bucket}/{key}")).await;
        assert_eq!(status, 200, "HEAD {bucket}/{key} on moto");
        headers
    }

    /// The `GET /bucket/key?acl` XML document.
    pub async fn object_acl(&self, bucket: &str, key: &str) -> String {
        let (status, _, body) = self.raw("GET", &format!("/{bucket}/{key}?acl")).await;
        assert_eq!(status, 200, "GET {bucket}/{key}?acl on moto: {body}");
        body
    }

    /// A minimal HTTP/1.1 exchange. moto does not verify signatures but needs an
    /// `Authorization` header naming a key to treat the caller as the bucket owner (anonymous
    /// callers are refused objects with a private ACL).
    async fn raw(&self, method: &str, path: &str) -> (u16, Vec<(String, String)>, String) {
        let host = self
            .endpoint
            .strip_prefix("http://")
            .expect("moto endpoint is http://");
        let mut stream = TcpStream::connect(host).await.expect("connect to moto");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=AKIAMOTOTESTKEY00000/20260101/\
             us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n\
             Connection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send to moto");
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .expect("read from moto");
        let text = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        (status, headers, body.to_owned())
    }
}
