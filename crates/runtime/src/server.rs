//! The metrics and health endpoints every long-running binary serves:
//! `/metrics` (OpenMetrics text from a prometheus-client registry), `/healthz` (alive) and
//! `/readyz` (ready once the binary says so).

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use prometheus_client::registry::Registry;
use tokio::task::JoinHandle;

#[derive(Clone)]
struct Shared {
    registry: Arc<Mutex<Registry>>,
    ready: Arc<AtomicBool>,
}

/// Handle to flip readiness once controllers have started.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

pub struct Served {
    pub addr: SocketAddr,
    pub readiness: Readiness,
    pub task: JoinHandle<()>,
}

async fn metrics(State(s): State<Shared>) -> impl IntoResponse {
    let mut text = String::new();
    let encoded = {
        let registry = s.registry.lock().unwrap_or_else(|p| p.into_inner());
        prometheus_client::encoding::text::encode(&mut text, &registry)
    };
    match encoded {
        Ok(()) => (
            StatusCode::OK,
            [(
                "content-type",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn ready(State(s): State<Shared>) -> impl IntoResponse {
    if s.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    }
}

/// Binds `addr` (port 0 for any) and serves until the task is aborted.
pub async fn serve(addr: SocketAddr, registry: Arc<Mutex<Registry>>) -> anyhow::Result<Served> {
    let readiness = Readiness::default();
    let shared = Shared {
        registry,
        ready: readiness.0.clone(),
    };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("metrics server stopped: {e}");
        }
    });
    Ok(Served {
        addr,
        readiness,
        task,
    })
}

/// `:8080` (all interfaces), `127.0.0.1:8080` or `[::1]:8080`: how every binary's
/// `--metrics-addr` and `--health-addr` are written.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    full.parse()
        .map_err(|_| format!("invalid address {text:?}: use :PORT or HOST:PORT"))
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;

    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let code = out[9..12].parse().unwrap();
        (code, out)
    }

    #[test]
    fn addresses() {
        assert_eq!(parse_addr(":8080").unwrap().to_string(), "0.0.0.0:8080");
        assert_eq!(
            parse_addr("127.0.0.1:9").unwrap().to_string(),
            "127.0.0.1:9"
        );
        assert!(parse_addr("8080").is_err());
    }

    #[tokio::test]
    async fn serves_metrics_health_and_readiness() {
        let mut registry = Registry::default();
        let counter: Counter = Counter::default();
        registry.register("tibr_test_events", "test counter", counter.clone());
        counter.inc();
        let served = serve(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(Mutex::new(registry)),
        )
        .await
        .unwrap();
        let (code, body) = get(served.addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(body.contains("tibr_test_events_total 1"), "{body}");
        assert_eq!(get(served.addr, "/healthz").await.0, 200);
        assert_eq!(get(served.addr, "/readyz").await.0, 503);
        served.readiness.set_ready();
        assert_eq!(get(served.addr, "/readyz").await.0, 200);
        served.task.abort();
    }
}
