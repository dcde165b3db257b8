//! The simulated PD the BR stand-in talks to, and its read-only state endpoint read the way
//! a test outside the process would (plain HTTP, no Rust handle).

use std::process::Stdio;
use std::time::{Duration, Instant};

use tibr_tidb_sim::pd::{Event, Pd, PdConfig, PdServer, PdSnapshot, Transition};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

pub async fn start() -> PdServer {
    PdServer::start(Pd::new(PdConfig::default()), 0)
        .await
        .expect("the simulated PD starts")
}

/// `GET /tibr/v1/state`, parsed.
pub async fn state(server: &PdServer) -> PdSnapshot {
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    socket
        .write_all(b"GET /tibr/v1/state HTTP/1.1\r\nHost: pd\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    socket.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a whole response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).expect("the state reads as PdSnapshot")
}

/// Polls the state endpoint until `done` holds, for at most `bound`; the state that proved it.
pub async fn wait_for(
    server: &PdServer,
    bound: Duration,
    done: impl Fn(&PdSnapshot) -> bool,
) -> PdSnapshot {
    let started = Instant::now();
    loop {
        let s = state(server).await;
        if done(&s) {
            return s;
        }
        assert!(
            started.elapsed() < bound,
            "the PD state did not get there in {bound:?}: {s:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks `check` every 50 ms until it holds (true) or `bound` has passed (false).
pub async fn wait_until<F, Fut>(bound: Duration, check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return true;
        }
        if started.elapsed() > bound {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn events(s: &PdSnapshot, event: Event) -> Vec<&Transition> {
    s.events(event)
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A `br` command with nothing in its environment but logs on stdout and `env`.
pub fn br(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_br"));
    cmd.args(args)
        .env_clear()
        .env("BR_LOG_TO_TERM", "\u{1}")
        .env("TMPDIR", std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}
