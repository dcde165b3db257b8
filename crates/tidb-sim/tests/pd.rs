//! The simulated PD over HTTP: the write API the BR stand-in uses and the read-only state
//! endpoint tests and the sandbox read, driven by a manual clock so TTLs end without waiting.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tibr_tidb_sim::pd::{Event, ManualClock, Pd, PdConfig, PdServer, PdSnapshot, physical_ms};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T0: i64 = 1_750_000_000_000;

/// One HTTP/1.1 exchange over a fresh connection (`Connection: close`), as curl would.
async fn call(server: &PdServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: pd\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    socket.read_to_string(&mut raw).await.unwrap();
    let (head, payload) = raw.split_once("\r\n\r\n").expect("a complete response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status, serde_json::from_str(payload).expect("JSON body"))
}

async fn started() -> (PdServer, ManualClock) {
    let clock = ManualClock::new(T0);
    let pd = Pd::with_clock(PdConfig::default(), Arc::new(clock.clone()));
    (PdServer::start(pd, 0).await.unwrap(), clock)
}

async fn state(server: &PdServer) -> PdSnapshot {
    let (status, body) = call(server, "GET", "/tibr/v1/state", None).await;
    assert_eq!(status, 200);
    serde_json::from_value(body).expect("the state reads as PdSnapshot")
}

#[tokio::test]
async fn timestamps_versions_and_schedulers_are_served() {
    let (server, clock) = started().await;
    let (_, a) = call(&server, "POST", "/tibr/v1/tso", None).await;
    let (_, b) = call(&server, "POST", "/tibr/v1/tso", None).await;
    let (a, b) = (a["tso"].as_u64().unwrap(), b["tso"].as_u64().unwrap());
    assert!(b > a && physical_ms(a) == T0, "{a} {b}");
    clock.advance(Duration::from_secs(10));
    let (_, resolved) = call(&server, "GET", "/tibr/v1/min-resolved-ts", None).await;
    let ts = resolved["min_resolved_ts"].as_u64().unwrap();
    assert_eq!(physical_ms(ts), T0 + 8_000, "two seconds behind the clock");
    assert_eq!(resolved["is_real_time"], true);
    let (_, version) = call(&server, "GET", "/tibr/v1/cluster-version", None).await;
    assert_eq!(version, json!({"version": "8.5.0"}));
    let (_, names) = call(&server, "GET", "/tibr/v1/schedulers", None).await;
    assert_eq!(names.as_array().unwrap().len(), 3);
    assert_eq!(state(&server).await.tso, b, "the state shows the last TSO");
}

#[tokio::test]
async fn a_pause_with_ttl_is_visible_until_it_expires_unrefreshed() {
    let (server, clock) = started().await;
    let (_, resolved) = call(&server, "GET", "/tibr/v1/min-resolved-ts", None).await;
    let sp = resolved["min_resolved_ts"].as_u64().unwrap() - 1;
    let (status, answer) = call(
        &server,
        "POST",
        "/tibr/v1/gc/service-safepoint",
        Some(json!({"service_id": "br-op", "ttl": 120, "safe_point": sp})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(answer["min_safe_point"].as_u64().unwrap() <= sp);
    let (_, names) = call(&server, "GET", "/tibr/v1/schedulers", None).await;
    for name in names.as_array().unwrap() {
        let (status, answer) = call(
            &server,
            "POST",
            &format!("/tibr/v1/schedulers/{}", name.as_str().unwrap()),
            Some(json!({"delay": 120, "by": "br-op"})),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(answer["paused_until_ms"], T0 + 120_000);
    }
    let paused = state(&server).await;
    assert!(paused.schedulers.paused);
    assert_eq!(paused.schedulers.paused_by.as_deref(), Some("br-op"));
    assert_eq!(paused.service("br-op").unwrap().safe_point, sp);
    let (_, gc) = call(&server, "GET", "/tibr/v1/gc/safepoint", None).await;
    assert_eq!(gc["service_gc_safe_points"][0]["service_id"], "br-op");

    // Nobody refreshes: at 119 s both hold, at 121 s both ended at 120 s.
    clock.advance(Duration::from_secs(119));
    assert!(state(&server).await.schedulers.paused);
    clock.advance(Duration::from_secs(2));
    let after = state(&server).await;
    assert!(!after.schedulers.paused && after.service_gc_safe_points.is_empty());
    let ends: Vec<(Event, i64)> = after
        .history
        .iter()
        .filter(|t| matches!(t.event, Event::GcExpired | Event::SchedulersExpired))
        .map(|t| (t.event, t.at_ms))
        .collect();
    assert_eq!(
        ends,
        [
            (Event::GcExpired, T0 + 120_000),
            (Event::SchedulersExpired, T0 + 120_000)
        ]
    );
}

#[tokio::test]
async fn an_explicit_resume_is_recorded_with_its_caller() {
    let (server, clock) = started().await;
    let (_, names) = call(&server, "GET", "/tibr/v1/schedulers", None).await;
    let names: Vec<String> = serde_json::from_value(names).unwrap();
    for name in &names {
        call(
            &server,
            "POST",
            &format!("/tibr/v1/schedulers/{name}"),
            Some(json!({"delay": 60, "by": "br-op"})),
        )
        .await;
    }
    let sp = server.pd().min_resolved_ts();
    call(
        &server,
        "POST",
        "/tibr/v1/gc/service-safepoint",
        Some(json!({"service_id": "br-op", "ttl": 60, "safe_point": sp})),
    )
    .await;
    clock.advance(Duration::from_secs(7));
    for name in &names {
        call(
            &server,
            "POST",
            &format!("/tibr/v1/schedulers/{name}"),
            Some(json!({"delay": 0, "by": "br-op"})),
        )
        .await;
    }
    call(
        &server,
        "POST",
        "/tibr/v1/gc/service-safepoint",
        Some(json!({"service_id": "br-op", "ttl": 0, "safe_point": 0})),
    )
    .await;
    let s = state(&server).await;
    let kinds: Vec<(Event, i64, Option<&str>)> = s
        .history
        .iter()
        .map(|t| (t.event, t.at_ms, t.by.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            (Event::SchedulersPaused, T0, Some("br-op")),
            (Event::GcPaused, T0, Some("br-op")),
            (Event::SchedulersResumed, T0 + 7_000, Some("br-op")),
            (Event::GcResumed, T0 + 7_000, Some("br-op")),
        ]
    );
}

#[tokio::test]
async fn the_resolved_ts_switch_and_refusals() {
    let (server, _clock) = started().await;
    let (status, off) = call(
        &server,
        "PUT",
        "/tibr/v1/min-resolved-ts",
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(off, json!({"min_resolved_ts": 0, "is_real_time": false}));
    let s = state(&server).await;
    assert!(!s.resolved_ts_enabled && s.gc_safe_point > 0);
    assert_eq!(s.events(Event::ResolvedTsDisabled).len(), 1);

    let (status, body) = call(
        &server,
        "POST",
        "/tibr/v1/schedulers/no-such-scheduler",
        Some(json!({"delay": 5})),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no-such-scheduler")
    );
    let (status, body) = call(
        &server,
        "POST",
        "/tibr/v1/gc/service-safepoint",
        Some(json!({"ttl": 5})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("service_id"),
        "{body}"
    );
    assert_eq!(call(&server, "POST", "/tibr/v1/state", None).await.0, 405);
    assert_eq!(
        call(&server, "GET", "/pd/api/v1/version", None).await.0,
        404
    );
}
