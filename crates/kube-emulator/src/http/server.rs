//! The TLS accept loop of one cluster.

use std::{convert::Infallible, sync::Arc};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::TlsAcceptor;

use super::handler::handle;
use crate::cluster::Cluster;

pub(crate) fn serve(
    cluster: Arc<Cluster>,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
) -> JoinHandle<()> {
    let address = Arc::new(
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
    );
    tokio::spawn(async move {
        let acceptor = TlsAcceptor::from(tls);
        let mut shutdown = cluster.shutdown.subscribe();
        loop {
            let (tcp, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(cluster = %cluster.options.name, "accept failed: {e}");
                        continue;
                    }
                },
                _ = shutdown.changed() => return,
            };
            let acceptor = acceptor.clone();
            let cluster = cluster.clone();
            let address = address.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(move |req| {
                    let cluster = cluster.clone();
                    let address = address.clone();
                    async move { Ok::<_, Infallible>(handle(cluster, address, req).await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                // Errors here are client disconnects; nothing to report.
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
