//! The simulated PD (`tibr_tidb_sim::pd`) as BR reaches PD: over its small HTTP API instead
//! of PD's gRPC. Found through `BR_SIM_PD_URL` (the sandbox sets it in pods, where
//! `--pd=demo1-pd.test1:2379` does not resolve), else through the first `--pd` address read
//! as `http://host:port`. TLS flags are accepted and not used: the simulated PD speaks
//! plain HTTP on 127.0.0.1.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::config::SimEnv;

/// One request's bound: PD answers at once or is not there.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct PdClient {
    /// `host:port`.
    authority: String,
    /// How BR names this PD in errors (the `--pd` it was given).
    target: String,
}

/// A service safepoint as BR logs it (`BRServiceSafePoint`'s log object).
#[derive(Debug, Clone)]
pub struct ServiceSafePoint {
    pub id: String,
    pub ttl_seconds: i64,
    pub backup_ts: u64,
}

impl ServiceSafePoint {
    /// `{ID=…,TTL=…,BackupTime="…",BackupTS=…}`.
    pub fn log_object(&self) -> String {
        let time = jiff::Timestamp::from_millisecond((self.backup_ts >> 18) as i64)
            .map(|t| t.to_string())
            .unwrap_or_default();
        format!(
            "{{ID={},TTL={},BackupTime=\"{time}\",BackupTS={}}}",
            self.id, self.ttl_seconds, self.backup_ts
        )
    }
}

/// BR's safepoint ids are `br-<uuid>`; the stand-in's are a hash of the process and the
/// moment, in the same shape.
pub fn make_safe_point_id() -> String {
    use sha2::{Digest, Sha256};
    let seed = format!(
        "{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    );
    let hex: String = Sha256::digest(seed.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "br-{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl PdClient {
    pub fn locate(sim: &SimEnv, pd_flags: &[String]) -> Result<PdClient, String> {
        let first = pd_flags.first().cloned().unwrap_or_default();
        let url = sim.pd_url.clone().unwrap_or_else(|| first.clone());
        let authority = url
            .trim()
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        if url.trim().starts_with("https://") || authority.is_empty() {
            return Err(format!(
                "the br stand-in reaches the simulated PD over http://host:port \
                 (BR_SIM_PD_URL or --pd), not {url:?}: \
                 [BR:Common:ErrInvalidArgument]invalid argument"
            ));
        }
        Ok(PdClient {
            authority,
            target: first,
        })
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let unavailable = |detail: String| {
            format!(
                "[PD:client:ErrClientGetMember]error:rpc error: code = Unavailable desc = \
                 {detail} target:{} (the simulated PD at http://{})",
                self.target, self.authority
            )
        };
        let exchange = async {
            let stream = tokio::net::TcpStream::connect(&self.authority)
                .await
                .map_err(|e| format!("connection error: {e}"))?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            let payload = body.map(|b| b.to_string()).unwrap_or_default();
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header(hyper::header::HOST, &self.authority)
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(payload)))
                .map_err(|e| e.to_string())?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| unavailable("context deadline exceeded".into()))?
            .map_err(unavailable)?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("[PD:client:ErrClientPDServerTimeout]invalid reply: {e}"))?;
        if !status.is_success() {
            let message = value["error"].as_str().unwrap_or("no message");
            return Err(format!("[PD:apiutil:ErrRedirectFailed]{status}: {message}"));
        }
        Ok(value)
    }

    fn number(value: &Value, key: &str) -> Result<u64, String> {
        value[key]
            .as_u64()
            .ok_or_else(|| format!("the simulated PD's reply lacks {key}: {value}"))
    }

    pub async fn tso(&self) -> Result<u64, String> {
        let reply = self.call(Method::POST, "/tibr/v1/tso", None).await?;
        Self::number(&reply, "tso")
    }

    pub async fn min_resolved_ts(&self) -> Result<u64, String> {
        let reply = self
            .call(Method::GET, "/tibr/v1/min-resolved-ts", None)
            .await?;
        Self::number(&reply, "min_resolved_ts")
    }

    pub async fn gc_safe_point(&self) -> Result<u64, String> {
        let reply = self
            .call(Method::GET, "/tibr/v1/gc/safepoint", None)
            .await?;
        Self::number(&reply, "gc_safe_point")
    }

    /// PD's `UpdateServiceGCSafePoint`; returns the minimum safepoint PD keeps.
    pub async fn update_service_safe_point(
        &self,
        id: &str,
        ttl_seconds: i64,
        safe_point: u64,
    ) -> Result<u64, String> {
        let reply = self
            .call(
                Method::POST,
                "/tibr/v1/gc/service-safepoint",
                Some(json!({"service_id": id, "ttl": ttl_seconds, "safe_point": safe_point})),
            )
            .await?;
        Self::number(&reply, "min_safe_point")
    }

    pub async fn schedulers(&self) -> Result<Vec<String>, String> {
        let reply = self.call(Method::GET, "/tibr/v1/schedulers", None).await?;
        serde_json::from_value(reply).map_err(|e| e.to_string())
    }

    /// Pauses `name` for `delay_seconds` (0 resumes it), naming the caller.
    pub async fn set_scheduler_delay(
        &self,
        name: &str,
        delay_seconds: i64,
        by: &str,
    ) -> Result<(), String> {
        self.call(
            Method::POST,
            &format!("/tibr/v1/schedulers/{name}"),
            Some(json!({"delay": delay_seconds, "by": by})),
        )
        .await
        .map(|_| ())
    }

    pub async fn cluster_version(&self) -> Result<String, String> {
        let reply = self
            .call(Method::GET, "/tibr/v1/cluster-version", None)
            .await?;
        reply["version"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("the simulated PD's reply lacks version: {reply}"))
    }

    /// The read-only state (what a test would read), for checks TiKV would answer in BR.
    pub async fn state(&self) -> Result<Value, String> {
        self.call(Method::GET, "/tibr/v1/state", None).await
    }
}

/// Pauses every scheduler for `ttl_seconds` (BR's `pauseSchedulersAndConfigWith`); returns
/// the names paused so far, with the error that stopped it if one did.
pub async fn pause_schedulers(
    pd: &PdClient,
    names: &[String],
    ttl_seconds: i64,
    by: &str,
) -> (Vec<String>, Result<(), String>) {
    let mut paused = Vec::new();
    for name in names {
        if let Err(e) = pd.set_scheduler_delay(name, ttl_seconds, by).await {
            return (paused, Err(e));
        }
        paused.push(name.clone());
    }
    (paused, Ok(()))
}

/// The schedule-limit configs BR pauses beside the schedulers (logged only: the simulated
/// PD's scheduler pause stands for them).
pub fn paused_config_log() -> String {
    "{\"enable-tikv-split-region\":false,\"hot-region-schedule-limit\":0,\
     \"leader-schedule-limit\":0,\"max-merge-region-keys\":0,\"max-merge-region-size\":0,\
     \"max-pending-peer-count\":2147483647,\"max-snapshot-count\":40,\
     \"merge-schedule-limit\":0,\"region-schedule-limit\":0,\"replica-schedule-limit\":0}"
        .to_string()
}

/// pflag's `[a,b]` rendering of a string slice, as zap's `Strings` prints in BR's logs.
pub fn list(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}
