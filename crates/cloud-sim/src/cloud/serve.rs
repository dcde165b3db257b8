//! Serving HTTP or HTTPS on 127.0.0.1 for the cloud's endpoints (S3, STS, instance
//! metadata): an accept loop that ends on a shutdown signal, and a small handler type
//! for endpoints that answer whole requests with whole responses.

use std::{convert::Infallible, future::Future, net::SocketAddr, pin::Pin, sync::Arc};

use anyhow::Context;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::{body::Incoming, service::Service};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder,
};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tokio_rustls::TlsAcceptor;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A running listener; dropping it does not stop it, [`Served::stop`] does.
pub struct Served {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served").field("addr", &self.addr).finish()
    }
}

impl Served {
    /// `http://` or `https://` and the address.
    pub fn url(&self, tls: bool) -> String {
        format!("{}://{}", if tls { "https" } else { "http" }, self.addr)
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Binds `127.0.0.1:port` and serves `service` on every connection, over TLS when
/// `tls` is given.
pub async fn serve<S, B>(
    port: u16,
    tls: Option<Arc<rustls::ServerConfig>>,
    service: S,
) -> anyhow::Result<Served>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .context("binding a port on 127.0.0.1")?;
    let addr = listener.local_addr()?;
    let (shutdown, mut stop) = watch::channel(false);
    let acceptor = tls.map(TlsAcceptor::from);
    let task = tokio::spawn(async move {
        loop {
            let socket = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => socket,
                    Err(e) => {
                        tracing::warn!(%addr, "accept failed: {e}");
                        continue;
                    }
                },
                _ = stop.changed() => return,
            };
            let service = service.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let builder = Builder::new(TokioExecutor::new());
                // Errors are clients hanging up or failing the handshake: nothing to report.
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(socket).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(socket), service)
                            .await;
                    }
                }
            });
        }
    });
    Ok(Served {
        addr,
        shutdown,
        task,
    })
}

pub type Reply = Response<Full<Bytes>>;
type BoxFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// A handler of whole requests (the body already read).
pub type Handler = Arc<dyn Fn(Request<Bytes>) -> BoxFuture + Send + Sync>;

/// Wraps `handler` as a hyper service.
pub fn handler_service(
    handler: Handler,
) -> impl Service<
    Request<Incoming>,
    Response = Reply,
    Error = Infallible,
    Future = Pin<Box<dyn Future<Output = Result<Reply, Infallible>> + Send>>,
> + Clone
+ Send
+ Sync
+ 'static {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let handler = handler.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Ok::<_, Infallible>(handler(Request::from_parts(parts, bytes)).await)
        }) as Pin<Box<dyn Future<Output = Result<Reply, Infallible>> + Send>>
    })
}

/// A response with a status, content type and body.
pub fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .expect("static response parts are valid")
}
