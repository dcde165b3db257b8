//! The embedded S3 server: s3s-fs serving `<dir>/<bucket>/<key>` over plain HTTP on
//! 127.0.0.1, with SigV4 authentication against one generated access key.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder as ConnBuilder,
};
use rand::distr::{Alphanumeric, SampleString};
use s3s::{auth::SimpleAuth, service::S3ServiceBuilder};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// The region the sandbox reports; any region is accepted by the server.
pub const REGION: &str = "us-west-2";

pub struct S3Server {
    pub addr: SocketAddr,
    pub access_key: String,
    pub secret_key: String,
    pub data_dir: PathBuf,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for S3Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret key.
        f.debug_struct("S3Server")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

impl S3Server {
    pub async fn start(data_dir: PathBuf, port: u16) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let access_key = format!(
            "SANDBOX{}",
            Alphanumeric
                .sample_string(&mut rand::rng(), 13)
                .to_uppercase()
        );
        let secret_key = Alphanumeric.sample_string(&mut rand::rng(), 40);
        let fs = s3s_fs::FileSystem::new(&data_dir)
            .map_err(|e| anyhow::anyhow!("s3 data directory: {e:?}"))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(
            access_key.clone(),
            secret_key.clone(),
        ));
        let service = builder.build();
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .context("binding the S3 port")?;
        let addr = listener.local_addr()?;
        let (shutdown, mut stop) = watch::channel(false);
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let socket = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((socket, _)) => socket,
                        Err(e) => {
                            tracing::warn!("s3 accept failed: {e}");
                            continue;
                        }
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
        Ok(S3Server {
            addr,
            access_key,
            secret_key,
            data_dir,
            shutdown,
            task,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates a bucket (a top-level directory) if it does not exist yet.
    pub fn ensure_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(self.data_dir.join(bucket))?;
        Ok(())
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
