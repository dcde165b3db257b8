//! The simulated PD over HTTP/1.1 on 127.0.0.1 (paths and bodies in the module docs).

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use super::{Pd, PdError};

/// A running PD endpoint.
pub struct PdServer {
    pub addr: SocketAddr,
    pd: Pd,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for PdServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl PdServer {
    /// Serves `pd` on 127.0.0.1:`port` (0 picks a free port).
    pub async fn start(pd: Pd, port: u16) -> anyhow::Result<PdServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .context("binding the PD port")?;
        let addr = listener.local_addr()?;
        let (shutdown, mut stop) = watch::channel(false);
        let served = pd.clone();
        let task = tokio::spawn(async move {
            loop {
                let socket = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((socket, _)) => socket,
                        Err(e) => {
                            tracing::warn!("pd accept failed: {e}");
                            continue;
                        }
                    },
                    _ = stop.changed() => return,
                };
                let pd = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let pd = pd.clone();
                        async move { Ok::<_, Infallible>(handle(&pd, req).await) }
                    });
                    // Errors are clients hanging up: nothing to report.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Ok(PdServer {
            addr,
            pd,
            shutdown,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`: what `BR_SIM_PD_URL` and `sandbox.env` carry.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The read-only state endpoint.
    pub fn state_url(&self) -> String {
        format!("{}/tibr/v1/state", self.url())
    }

    pub fn pd(&self) -> &Pd {
        &self.pd
    }

    /// Stops accepting connections.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

type Reply = Response<Full<Bytes>>;

/// A refusal: its status and message.
struct Failure(StatusCode, String);

fn failure(status: StatusCode, message: impl std::fmt::Display) -> Failure {
    Failure(status, message.to_string())
}

fn reply(status: StatusCode, body: &Value) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| failure(StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
}

#[derive(Deserialize)]
struct ServiceSafePointRequest {
    service_id: String,
    ttl: i64,
    safe_point: u64,
}

#[derive(Deserialize)]
struct DelayRequest {
    delay: i64,
    #[serde(default)]
    by: String,
}

#[derive(Deserialize)]
struct ResolvedTsSwitch {
    enabled: bool,
}

async fn handle(pd: &Pd, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let routed = match body.collect().await {
        Ok(collected) => route(pd, &parts.method, parts.uri.path(), &collected.to_bytes()),
        Err(e) => Err(failure(
            StatusCode::BAD_REQUEST,
            format!("reading the body: {e}"),
        )),
    };
    match routed {
        Ok(body) => reply(StatusCode::OK, &body),
        Err(Failure(status, message)) => reply(status, &json!({ "error": message })),
    }
}

fn route(pd: &Pd, method: &Method, path: &str, body: &Bytes) -> Result<Value, Failure> {
    let not_found = || failure(StatusCode::NOT_FOUND, format!("no such path: {path}"));
    let Some(rest) = path.strip_prefix("/tibr/v1/") else {
        return Err(not_found());
    };
    let wrong_method = || failure(StatusCode::METHOD_NOT_ALLOWED, format!("{method} {path}"));
    let resolved = |pd: &Pd| {
        let ts = pd.min_resolved_ts();
        json!({ "min_resolved_ts": ts, "is_real_time": ts != 0 })
    };
    match (rest, method.clone()) {
        ("state", Method::GET) => Ok(serde_json::to_value(pd.snapshot()).unwrap_or_default()),
        ("tso", Method::POST) => Ok(json!({ "tso": pd.tso() })),
        ("min-resolved-ts", Method::GET) => Ok(resolved(pd)),
        ("min-resolved-ts", Method::PUT) => {
            let switch: ResolvedTsSwitch = parse(body)?;
            pd.set_resolved_ts_enabled(switch.enabled);
            Ok(resolved(pd))
        }
        ("gc/safepoint", Method::GET) => {
            let snapshot = pd.snapshot();
            Ok(json!({
                "gc_safe_point": snapshot.gc_safe_point,
                "service_gc_safe_points": snapshot.service_gc_safe_points,
            }))
        }
        ("gc/service-safepoint", Method::POST) => {
            let request: ServiceSafePointRequest = parse(body)?;
            let min = pd
                .update_service_safe_point(&request.service_id, request.ttl, request.safe_point)
                .map_err(|e| failure(StatusCode::BAD_REQUEST, e))?;
            Ok(json!({
                "service_id": request.service_id,
                "ttl": request.ttl,
                "min_safe_point": min,
            }))
        }
        ("schedulers", Method::GET) => Ok(json!(pd.scheduler_names())),
        ("cluster-version", Method::GET) => Ok(json!({ "version": pd.cluster_version() })),
        (other, method) => {
            if let Some(name) = other.strip_prefix("schedulers/") {
                if method != Method::POST {
                    return Err(wrong_method());
                }
                let request: DelayRequest = parse(body)?;
                let by = if request.by.is_empty() {
                    "unknown"
                } else {
                    request.by.as_str()
                };
                return match pd.pause_scheduler(name, request.delay, by) {
                    Ok(until) => Ok(json!({ "name": name, "paused_until_ms": until })),
                    Err(e @ PdError::SchedulerNotFound(_)) => {
                        Err(failure(StatusCode::NOT_FOUND, e))
                    }
                    Err(e) => Err(failure(StatusCode::BAD_REQUEST, e)),
                };
            }
            let known = [
                "state",
                "tso",
                "min-resolved-ts",
                "gc/safepoint",
                "gc/service-safepoint",
                "schedulers",
                "cluster-version",
            ];
            if known.contains(&other) {
                Err(wrong_method())
            } else {
                Err(not_found())
            }
        }
    }
}
