//! The embedded S3 server: s3s-fs serving `<dir>/<bucket>/<key>` on 127.0.0.1 over
//! plain HTTP (for tools on the host, `S3_ENDPOINT`) and, when given the sandbox's TLS
//! configuration, over HTTPS (the endpoint pods get, as S3 is HTTPS on AWS). Requests
//! are authenticated with SigV4 against a [`CredentialStore`]: the generated sandbox key
//! and every temporary credential the sandbox's STS and instance metadata issue.

mod fs;
mod listing;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::Context;
use rand::distr::{Alphanumeric, SampleString};
use s3s::{
    S3Request, S3Result,
    access::{S3Access, S3AccessContext},
    dto::{CreateMultipartUploadInput, PutObjectInput},
    path::S3Path,
    s3_error,
    service::S3ServiceBuilder,
};

use crate::cloud::{
    CredentialStore, S3Keys,
    serve::{self, Served},
};

/// The region the sandbox reports; any region is accepted by the server.
pub const REGION: &str = "us-west-2";

/// The bucket of the seed document's examples, created with every sandbox.
pub const DEFAULT_BUCKET: &str = "my-bucket";

pub struct S3Server {
    pub addr: SocketAddr,
    /// The HTTPS listener, when started with TLS.
    pub tls_addr: Option<SocketAddr>,
    /// The long-term sandbox key (what `sandbox.env` exports).
    pub access_key: String,
    pub secret_key: String,
    pub data_dir: PathBuf,
    pub credentials: Arc<CredentialStore>,
    http: Served,
    https: Option<Served>,
}

impl std::fmt::Debug for S3Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret key.
        f.debug_struct("S3Server")
            .field("addr", &self.addr)
            .field("tls_addr", &self.tls_addr)
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

impl S3Server {
    /// A server with its own credential store holding one generated key, HTTP only.
    pub async fn start(data_dir: PathBuf, port: u16) -> anyhow::Result<Self> {
        Self::start_with(data_dir, port, Arc::new(CredentialStore::default()), None).await
    }

    /// A server that authenticates against `credentials` (to which the generated
    /// sandbox key is added) and also serves HTTPS on another port when `tls` is given.
    pub async fn start_with(
        data_dir: PathBuf,
        port: u16,
        credentials: Arc<CredentialStore>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let access_key = format!(
            "SANDBOX{}",
            Alphanumeric
                .sample_string(&mut rand::rng(), 13)
                .to_uppercase()
        );
        let secret_key = Alphanumeric.sample_string(&mut rand::rng(), 40);
        credentials.add_static(&access_key, &secret_key, "user/sandbox");
        let fs = s3s_fs::FileSystem::new(&data_dir)
            .map_err(|e| anyhow::anyhow!("s3 data directory: {e:?}"))?;
        let mut builder = S3ServiceBuilder::new(fs::ListingFs {
            inner: fs,
            root: data_dir.clone(),
        });
        builder.set_auth(S3Keys(credentials.clone()));
        builder.set_access(BucketsMustExist {
            keys: S3Keys(credentials.clone()),
            root: data_dir.clone(),
        });
        let service = builder.build();
        let http = serve::serve(port, None, service.clone())
            .await
            .context("starting the S3 server")?;
        let https = match tls {
            Some(tls) => Some(
                serve::serve(0, Some(tls), service)
                    .await
                    .context("starting the S3 HTTPS server")?,
            ),
            None => None,
        };
        Ok(S3Server {
            addr: http.addr,
            tls_addr: https.as_ref().map(|s| s.addr),
            access_key,
            secret_key,
            data_dir,
            credentials,
            http,
            https,
        })
    }

    /// The plain-HTTP endpoint (host tools).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The HTTPS endpoint (pods), when there is one.
    pub fn tls_endpoint(&self) -> Option<String> {
        self.tls_addr.map(|a| format!("https://{a}"))
    }

    /// Creates a bucket (a top-level directory) if it does not exist yet.
    pub fn ensure_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(self.data_dir.join(bucket))?;
        Ok(())
    }

    pub async fn stop(self) {
        self.http.stop().await;
        if let Some(s) = self.https {
            s.stop().await;
        }
    }
}

/// The sandbox's S3 access check: the credential store's, then S3's own rule that a bucket
/// must exist before anything is written to it (s3s-fs would create its directory on the
/// first upload, so a misspelt bucket would silently work here and fail on AWS).
#[derive(Debug, Clone)]
struct BucketsMustExist {
    keys: S3Keys,
    root: PathBuf,
}

#[async_trait::async_trait]
impl S3Access for BucketsMustExist {
    async fn put_object(&self, req: &mut S3Request<PutObjectInput>) -> S3Result<()> {
        self.keys.put_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: &mut S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<()> {
        self.keys.create_multipart_upload(req).await
    }

    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        self.keys.check(cx).await?;
        let bucket = match cx.s3_path() {
            S3Path::Bucket { bucket } | S3Path::Object { bucket, .. } => bucket,
            S3Path::Root => return Ok(()),
        };
        if cx.s3_op().name() != "CreateBucket" && !self.root.join(&**bucket).is_dir() {
            return Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            ));
        }
        Ok(())
    }
}
