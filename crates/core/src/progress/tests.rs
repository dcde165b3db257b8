//! BR's lines as br-sim prints them (its `//!` header and `log.rs`) and as BR's documentation
//! and users' reports show them (br-formats §5).

use std::time::Duration;

use super::*;

/// br-sim's progress record.
const SIM_PROGRESS: &str = r#"[2026/03/01 10:00:01.250 +00:00] [INFO] [progress.go:160] [progress] [step="Full Backup"] [progress=42.86%] [count="6 / 14"] [speed="3.10 p/s"] [elapsed=2s] [remaining=3s]"#;
const SIM_CHECKSUM: &str = r#"[2026/03/01 10:00:03.000 +00:00] [INFO] [progress.go:160] [progress] [step=Checksum] [progress=100.00%] [count="14 / 14"] [speed="? p/s"] [elapsed=0s] [remaining=?]"#;
/// br-sim's success summary (same keys as BR's).
const SIM_SUMMARY: &str = r#"[2026/03/01 10:00:03.100 +00:00] [INFO] [collector.go:77] ["Full Backup success summary"] [total-ranges=14] [ranges-succeed=14] [ranges-failed=0] [backup-checksum=12ms] [backup-fast-checksum=3ms] [backup-total-ranges=3] [backup-total-regions=14] [total-take=2.1s] [BackupTS=449123456789012481] [total-kv=20480] [total-kv-size=4.19MB] [average-speed=2MB/s] ["backup-data-size(after-compressed)"=1.05MB] [Size=1048576]"#;
/// The real line from BR's documentation, as br-formats §5.1 quotes it.
const DOC_SUMMARY: &str = r#"[2023/02/09 11:34:01.794 +08:00] [INFO] [collector.go:73] ["Full Backup success summary"] [total-ranges=22] [ranges-succeed=22] [ranges-failed=0] [backup-checksum=91.994496ms] [backup-fast-checksum=11.178486ms] [backup-total-ranges=80] [backup-total-regions=80] [total-take=1.416143685s] [BackupTS=439330705621123078] [total-kv=1114] [total-kv-size=269.8kB] [average-speed=190.5kB/s] [backup-data-size(after-compressed)=74.35kB] [Size=74346]"#;
/// br-sim's failure, stdout and stderr interleaved as a reader sees them.
const SIM_FAILURE: &[(&str, bool)] = &[
    (
        r#"[2026/03/01 10:00:02.000 +00:00] [INFO] [progress.go:160] [progress] [step="Full Backup"] [progress=50.00%] [count="7 / 14"] [speed="3.50 p/s"] [elapsed=2s] [remaining=2s]"#,
        false,
    ),
    (
        r#"[2026/03/01 10:00:02.001 +00:00] [INFO] [collector.go:77] ["Full Backup failed summary"] [total-ranges=7] [ranges-succeed=7] [ranges-failed=0]"#,
        false,
    ),
    (
        r#"[2026/03/01 10:00:02.002 +00:00] [ERROR] [backup.go:54] ["failed to backup"] [error="error happen in store 2: Io(Custom { kind: Other, error: \"simulated failure injected by BR_SIM_FAIL_AT_PERCENT=50\" }): [BR:KV:ErrKVStorage]tikv storage occur I/O error"]"#,
        false,
    ),
    (
        "Error: error happen in store 2: Io(Custom { kind: Other, error: \"simulated failure injected by BR_SIM_FAIL_AT_PERCENT=50\" }): [BR:KV:ErrKVStorage]tikv storage occur I/O error",
        true,
    ),
    (
        r#"[2026/03/01 10:00:02.003 +00:00] [ERROR] [main.go:58] ["br failed"] [error="error happen in store 2: Io(Custom { kind: Other, error: \"simulated failure injected by BR_SIM_FAIL_AT_PERCENT=50\" }): [BR:KV:ErrKVStorage]tikv storage occur I/O error"]"#,
        false,
    ),
];

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

#[test]
fn log_records_parse_with_quotes_and_brackets_in_values() {
    let l = parse_line(SIM_FAILURE[2].0).unwrap();
    assert_eq!(l.level, Level::Error);
    assert_eq!(l.caller, "backup.go:54");
    assert_eq!(l.message, "failed to backup");
    let error = l.field("error").unwrap();
    assert!(error.starts_with("error happen in store 2"), "{error}");
    assert!(
        error.contains("\"simulated failure"),
        "escapes undone: {error}"
    );
    assert!(error.ends_with("[BR:KV:ErrKVStorage]tikv storage occur I/O error"));
    assert_eq!(parse_line("Error: plain stderr"), None);
    assert_eq!(parse_line("[unterminated"), None);
    assert_eq!(parse_line("[a] [NOTALEVEL] [c] [d]"), None);
}

#[test]
fn progress_from_br_sim_records() {
    assert_eq!(
        parse_progress(SIM_PROGRESS),
        Some(ProgressUpdate {
            step: "Full Backup".into(),
            percent: 42.86
        })
    );
    assert_eq!(
        parse_progress(SIM_CHECKSUM),
        Some(ProgressUpdate {
            step: "Checksum".into(),
            percent: 100.0
        })
    );
    assert_eq!(parse_progress(SIM_SUMMARY), None);
    assert_eq!(parse_progress(SIM_FAILURE[2].0), None);
}

#[test]
fn progress_from_brs_terminal_bar() {
    // BR's documentation shows the bar it draws on a terminal.
    let bar = "Full Backup <---------/...............................................> 17.12%.";
    assert_eq!(parse_progress(bar), None, "not a percentage at the end");
    let bar = "Full Backup <---------/...............................................> 17.12%";
    assert_eq!(
        parse_progress(bar),
        Some(ProgressUpdate {
            step: "Full Backup".into(),
            percent: 17.12
        })
    );
    let done = "Database Backup <------------------------------------------------------> 100.00%";
    assert_eq!(parse_progress(done).unwrap().step, "Database Backup");
    assert_eq!(parse_progress("Detail BR log in /tmp/br.log 100%"), None);
    assert_eq!(parse_progress("x <y> 120%"), None, "out of range");
}

#[test]
fn summaries_from_br_sim_and_from_brs_documentation() {
    let s = parse_summary(SIM_SUMMARY).unwrap();
    assert_eq!(s.command, "Full Backup");
    assert!(s.succeeded);
    assert_eq!(s.backup_ts(), Some(449123456789012481));
    assert_eq!(s.size(), Some(1048576));
    assert_eq!(
        s.field("backup-data-size(after-compressed)"),
        Some("1.05MB")
    );

    let d = parse_summary(DOC_SUMMARY).unwrap();
    assert_eq!(d.backup_ts(), Some(439330705621123078));
    assert_eq!(d.size(), Some(74346));
    assert_eq!(d.field("total-kv-size"), Some("269.8kB"));

    let f = parse_summary(SIM_FAILURE[1].0).unwrap();
    assert!(!f.succeeded);
    assert_eq!(f.field("ranges-succeed"), Some("7"));
    assert_eq!(parse_summary(SIM_PROGRESS), None);
}

#[test]
fn failure_message_leads_with_brs_own_error() {
    let mut lines = FailureLines::default();
    assert!(lines.is_empty());
    for (line, stderr) in SIM_FAILURE {
        if *stderr {
            lines.stderr(line);
        } else {
            lines.stdout(line);
        }
    }
    lines.stderr("Detail BR log in /tmp/br.log.2026-03-01T10.00.00+0000 ");
    let msg = lines.message().unwrap();
    assert!(
        msg.starts_with("error happen in store 2"),
        "cobra's error first: {msg}"
    );
    assert!(msg.contains("BR_SIM_FAIL_AT_PERCENT=50"), "{msg}");
    assert_eq!(
        msg.matches("error happen in store 2").count(),
        1,
        "records repeating cobra's error are dropped: {msg}"
    );
    assert!(!msg.contains("Detail BR log"), "{msg}");
    assert!(
        !msg.contains("progress"),
        "info records are not errors: {msg}"
    );

    // Other error records stay, after BR's own error.
    lines.stdout(
        r#"[2026/03/01 10:00:02.004 +00:00] [ERROR] [x.go:1] ["checkpoint lost"] [error="lock"]"#,
    );
    assert!(
        lines
            .message()
            .unwrap()
            .ends_with("; checkpoint lost: lock")
    );
}

#[test]
fn error_lines_of_other_kinds() {
    assert!(is_error_line("panic: runtime error: index out of range"));
    assert!(is_error_line(
        r#"[2026/03/01 10:00:00.000 +00:00] [FATAL] [main.go:1] ["boom"]"#
    ));
    assert!(!is_error_line(
        r#"[2026/03/01 10:00:00.000 +00:00] [WARN] [x.go:1] ["slow"]"#
    ));
    let mut lines = FailureLines::default();
    lines.stderr("gracefully shutting down, press ^C again to force exit");
    assert_eq!(
        lines.message().unwrap(),
        "gracefully shutting down, press ^C again to force exit"
    );
    let mut long = FailureLines::default();
    long.stderr(&format!("Error: {}", "é".repeat(3000)));
    let msg = long.message().unwrap();
    assert!(msg.len() <= MAX_MESSAGE + '…'.len_utf8() && msg.ends_with('…'));
}

#[test]
fn progress_entries_one_per_step() {
    let mut progresses = Vec::new();
    let t1 = ts("2026-03-01T10:00:01Z");
    let full = |p| ProgressUpdate {
        step: "Full Backup".into(),
        percent: p,
    };
    assert!(record(&mut progresses, &full(10.0), t1));
    assert!(!record(
        &mut progresses,
        &full(10.0),
        ts("2026-03-01T10:00:02Z")
    ));
    assert!(record(
        &mut progresses,
        &full(60.0),
        ts("2026-03-01T10:00:03Z")
    ));
    let check = ProgressUpdate {
        step: "Checksum".into(),
        percent: 100.0,
    };
    assert!(record(&mut progresses, &check, ts("2026-03-01T10:00:04Z")));
    assert_eq!(progresses.len(), 2);
    assert_eq!(progresses[0].progress, Some(60.0));
    assert_eq!(
        progresses[0].last_transition_time,
        Some(Time(ts("2026-03-01T10:00:03Z")))
    );
    assert_eq!(progresses[1].step.as_deref(), Some("Checksum"));
}

#[test]
fn throttle_writes_steps_at_once_and_the_rest_at_most_every_interval() {
    let mut t = Throttle::new(Duration::from_secs(5));
    let at = |s: u32| ts("2026-03-01T10:00:00Z") + jiff::SignedDuration::from_secs(s.into());
    let up = |step: &str, p| ProgressUpdate {
        step: step.into(),
        percent: p,
    };
    let mut latest = Vec::new();
    assert_eq!(t.due(&latest, at(0)), Err(Duration::MAX), "nothing yet");
    upsert(&mut latest, up("Full Backup", 0.0));
    assert_eq!(t.due(&latest, at(0)), Ok(()));
    t.written(&latest, at(0));
    assert_eq!(t.due(&latest, at(30)), Err(Duration::MAX), "repeats never");
    upsert(&mut latest, up("Full Backup", 20.0));
    assert_eq!(t.due(&latest, at(2)), Err(Duration::from_secs(3)));
    assert_eq!(t.due(&latest, at(5)), Ok(()));
    t.written(&latest, at(5));
    upsert(&mut latest, up("Full Backup", 100.0));
    assert_eq!(t.due(&latest, at(6)), Ok(()), "completion at once");
    // A new step right after: the previous step's 100 % is still there to be written.
    upsert(&mut latest, up("Checksum", 0.0));
    assert_eq!(latest.len(), 2);
    assert_eq!(latest[0].percent, 100.0);
    assert_eq!(t.due(&latest, at(6)), Ok(()), "a new step at once");
}
