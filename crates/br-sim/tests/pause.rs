//! `br operator pause-gc-and-schedulers` against the simulated PD: BR's readiness lines,
//! both pauses held and renewed, resumed on SIGTERM, left to their TTL when killed, and
//! the failures before anything is paused. What is paused is read from the PD's state
//! endpoint, never from BR's own words.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::pd::{self, br, events, now_ms};
use common::{lines, value, wait_for_line};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tibr_tidb_sim::pd::Event;

const PAUSE: [&str; 2] = ["operator", "pause-gc-and-schedulers"];

#[tokio::test]
async fn holds_gc_and_schedulers_renewed_until_sigterm_then_resumes_both() {
    let server = pd::start().await;
    // No BR_SIM_PD_URL: `--pd` is read as host:port.
    let pd_flag = format!("--pd={}", server.addr);
    let mut child = br(&[PAUSE[0], PAUSE[1], &pd_flag, "--ttl=3s"], &[])
        .spawn()
        .unwrap();
    let mut out = lines(&mut child);
    let mut seen = Vec::new();
    wait_for_line(&mut out, &mut seen, |l| l.contains("[\"All ready.\"]")).await;
    let position = |text: &str| {
        seen.iter()
            .position(|l| l.contains(text))
            .unwrap_or_else(|| panic!("no {text} in:\n{}", seen.join("\n")))
    };
    assert!(position("[\"Schedulers are paused.\"]") < position("[\"GC is paused.\"]"));
    for component in ["pause_gc", "pause_scheduler", "pause_admin_and_wait_apply"] {
        let ready = &seen[position(&format!("[component={component}]"))];
        assert!(
            ready.contains("[\"Stage ready.\"] [tag=br_operator]"),
            "{ready}"
        );
    }
    let resolved: u64 = value(
        &seen[position("No service safepoint provided")],
        "min-resolved-ts",
    )
    .unwrap()
    .parse()
    .unwrap();

    let held = pd::state(&server).await;
    assert!(held.schedulers.paused, "{held:#?}");
    let [sp] = held.service_gc_safe_points.as_slice() else {
        panic!("one service safepoint: {held:#?}");
    };
    assert!(sp.service_id.starts_with("br-"), "{sp:?}");
    assert_eq!(sp.safe_point, resolved - 1, "BR keeps BackupTS - 1");
    assert_eq!(sp.ttl_seconds, 3);
    assert_eq!(
        held.schedulers.paused_by.as_deref(),
        Some(sp.service_id.as_str())
    );
    let id = sp.service_id.clone();
    let paused_at = held.schedulers.paused_since_ms.unwrap();

    // Renewed every TTL/3: four renewals span more than one TTL, and nothing ended.
    for _ in 0..4 {
        wait_for_line(&mut out, &mut seen, |l| {
            l.contains("[\"pause scheduler(configs)\"]")
        })
        .await;
    }
    let renewed = pd::state(&server).await;
    assert!(
        renewed.now_ms - paused_at > 3_000,
        "more than a TTL went by"
    );
    assert!(renewed.schedulers.paused);
    assert!(renewed.service(&id).unwrap().updated_at_ms > paused_at);
    assert!(renewed.schedulers.refreshed_at_ms.unwrap() > paused_at);
    assert!(events(&renewed, Event::GcExpired).is_empty());
    assert!(events(&renewed, Event::SchedulersExpired).is_empty());

    let term_at = now_ms();
    kill(Pid::from_raw(child.id().unwrap() as i32), Signal::SIGTERM).unwrap();
    let mut rest = Vec::new();
    while let Some(line) = out.next_line().await.unwrap() {
        rest.push(line);
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0), "{}", rest.join("\n"));
    let rest = rest.join("\n");
    assert!(
        rest.contains("========[ Got signal terminated to exit. ]========"),
        "{rest}"
    );
    assert!(rest.contains("[\"resume scheduler successful\"]"), "{rest}");
    assert!(!rest.contains("br failed"), "{rest}");

    let after = pd::state(&server).await;
    assert!(!after.schedulers.paused && after.service_gc_safe_points.is_empty());
    for event in [Event::GcResumed, Event::SchedulersResumed] {
        let ended = events(&after, event);
        assert_eq!(ended.len(), 1, "{event:?}: {after:#?}");
        assert_eq!(ended[0].by.as_deref(), Some(id.as_str()));
        assert!(ended[0].at_ms >= term_at, "resumed after the signal");
    }
    assert!(events(&after, Event::GcExpired).is_empty());
}

#[tokio::test]
async fn killed_without_cleanup_the_pauses_end_with_their_ttl() {
    let server = pd::start().await;
    let pd_url = server.url();
    // `--pd` names the cluster's PD as TiDB Operator writes it; it does not resolve here.
    let mut child = br(
        &[PAUSE[0], PAUSE[1], "--pd=demo1-pd.test1:2379", "--ttl=2s"],
        &[
            ("BR_SIM_PD_URL", pd_url.as_str()),
            ("BR_SIM_PAUSE_DIE_AFTER_MS", "300"),
        ],
    )
    .spawn()
    .unwrap();
    let mut out = lines(&mut child);
    let mut seen = Vec::new();
    wait_for_line(&mut out, &mut seen, |l| l.contains("[\"GC is paused.\"]")).await;
    let held = pd::state(&server).await;
    assert!(held.schedulers.paused && held.service_gc_safe_points.len() == 1);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    let dead_at = now_ms();
    assert_eq!(status.signal(), Some(9), "died by SIGKILL");

    let ended = pd::wait_for(&server, Duration::from_secs(15), |s| {
        !events(s, Event::GcExpired).is_empty() && !events(s, Event::SchedulersExpired).is_empty()
    })
    .await;
    assert!(events(&ended, Event::GcResumed).is_empty());
    assert!(events(&ended, Event::SchedulersResumed).is_empty());
    assert!(!ended.schedulers.paused && ended.service_gc_safe_points.is_empty());
    for (start, end) in [
        (Event::GcPaused, Event::GcExpired),
        (Event::SchedulersPaused, Event::SchedulersExpired),
    ] {
        let (start, end) = (events(&ended, start)[0].at_ms, events(&ended, end)[0].at_ms);
        // A TTL after the first pause call (the calls span a few milliseconds, and the
        // pause of every scheduler starts at the last), at most a TTL after the death.
        assert!(end - start > 1_900, "{start} {end}");
        assert!(end <= dead_at + 2_000, "{end} > {dead_at} + TTL");
    }
}

#[tokio::test]
async fn resolved_ts_disabled_fails_before_anything_is_paused() {
    let server = pd::start().await;
    server.pd().set_resolved_ts_enabled(false);
    let gc = server.pd().gc_safe_point();
    let pd_url = server.url();
    let out = br(&[PAUSE[0], PAUSE[1]], &[("BR_SIM_PD_URL", pd_url.as_str())])
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // The GC safepoint keeps moving; BR names the one it read.
    let named: u64 = stderr
        .strip_prefix("Error: GC safepoint ")
        .and_then(|rest| rest.split_once(" exceed TS 0: "))
        .filter(|(_, why)| {
            why.starts_with("[BR:Backup:ErrBackupGCSafepointExceeded]backup GC safepoint exceeded")
        })
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(named >= gc, "{named} < {gc}");
    assert!(stdout.contains("[\"A task failed.\"]"), "{stdout}");
    assert!(stdout.contains("[\"br failed\"]"), "{stdout}");
    assert!(!stdout.contains("Schedulers are paused"), "{stdout}");
    let s = pd::state(&server).await;
    assert!(
        events(&s, Event::GcPaused).is_empty() && events(&s, Event::SchedulersPaused).is_empty()
    );
}

#[tokio::test]
async fn injected_and_connection_failures_pause_nothing() {
    let server = pd::start().await;
    let pd_url = server.url();
    let injected = "[PD:client:ErrClientGetLeader]get leader failed";
    let out = br(
        &[PAUSE[0], PAUSE[1]],
        &[
            ("BR_SIM_PD_URL", pd_url.as_str()),
            ("BR_SIM_PAUSE_FAIL", injected),
        ],
    )
    .output()
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(&format!("Error: {injected}")));
    let s = pd::state(&server).await;
    assert!(s.history.is_empty(), "{s:#?}");

    // Nothing listens on port 1.
    let out = br(&[PAUSE[0], PAUSE[1], "--pd=127.0.0.1:1"], &[])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("Error: failed to dial PD: [PD:client:"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_injected_sigterm_takes_the_graceful_way_out() {
    let server = pd::start().await;
    let pd_url = server.url();
    let out = br(
        &[PAUSE[0], PAUSE[1], "--ttl=60s"],
        &[
            ("BR_SIM_PD_URL", pd_url.as_str()),
            ("BR_SIM_PAUSE_DIE_AFTER_MS", "200"),
            ("BR_SIM_SIGNAL", "15"),
        ],
    )
    .output()
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.matches("Got signal terminated to exit.").count(), 1);
    let s = pd::state(&server).await;
    assert_eq!(events(&s, Event::GcResumed).len(), 1, "{s:#?}");
    assert_eq!(events(&s, Event::SchedulersResumed).len(), 1);
    assert!(!s.schedulers.paused && s.service_gc_safe_points.is_empty());
}
