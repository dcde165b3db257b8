//! Failure injection, credentials and command-line errors, as the agent will meet them.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::{Env, lines, progress, value, wait_for_line};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tibr_storage::backupmeta;

const PD: &str = "--pd=basic-pd.tidb-cluster:2379";

#[tokio::test]
async fn fail_at_percent_exits_1_and_leaves_a_partial_prefix() {
    let env = Env::start().await;
    let run = env
        .br(
            &["backup", "full", PD, &env.storage("p")],
            &[("BR_SIM_FAIL_AT_PERCENT", "50")],
        )
        .await;
    assert_eq!(run.status.code(), Some(1));
    assert!(
        run.stderr.starts_with("Error: error happen in store 4: ")
            && run
                .stderr
                .contains("[BR:KV:ErrKVStorage]tikv storage occur I/O error"),
        "{}",
        run.stderr
    );
    let steps = progress(&run.stdout, "Full Backup");
    assert!(
        *steps.last().unwrap() >= 50.0 && *steps.last().unwrap() < 100.0,
        "{steps:?}"
    );
    let failed = run
        .stdout
        .lines()
        .find(|l| l.contains("[\"Full Backup failed summary\"]"))
        .expect("failed summary");
    assert!(value(failed, "total-ranges").is_some());
    assert!(
        run.stdout
            .contains("[ERROR] [backup.go:54] [\"failed to backup\"] [error=")
    );

    let store = env.store();
    assert!(!backupmeta::backup_meta_exists(&store, "p").await.unwrap());
    assert!(store.exists("p/backup.lock").await.unwrap());
    // BR refuses to reuse a prefix holding a lock and SSTs.
    let again = env
        .br(&["backup", "full", PD, &env.storage("p")], &[])
        .await;
    assert_eq!(again.status.code(), Some(1));
    assert!(
        again.stderr.contains(&format!(
            "backup lock file and sst file exist in s3://{}/p//backup.lock",
            env.bucket
        )),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn fail_at_zero_fails_before_any_data() {
    let env = Env::start().await;
    let run = env
        .br(
            &["backup", "full", PD, &env.storage("z")],
            &[("BR_SIM_FAIL_AT_PERCENT", "0")],
        )
        .await;
    assert_eq!(run.status.code(), Some(1));
    let ssts = env.store().list("z").await.unwrap();
    assert!(ssts.iter().all(|o| !o.key.ends_with(".sst")), "{ssts:?}");
}

#[tokio::test]
async fn hang_at_percent_stalls_until_sigterm() {
    let env = Env::start().await;
    let mut child = env
        .command(
            &["backup", "full", PD, &env.storage("h")],
            &[("BR_SIM_HANG_AT_PERCENT", "30")],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = lines(&mut child);
    let mut seen = Vec::new();
    let percent = |l: &str| -> Option<f64> {
        value(l, "progress").and_then(|p| p.trim_end_matches('%').parse().ok())
    };
    let first = wait_for_line(&mut out, &mut seen, |l| {
        l.contains("[progress]") && percent(l).is_some_and(|p| p >= 30.0)
    })
    .await;
    let stalled = percent(&first).unwrap();
    // Progress lines keep coming, with the same figure.
    for _ in 0..5 {
        let line = wait_for_line(&mut out, &mut seen, |l| l.contains("[progress]")).await;
        assert_eq!(percent(&line), Some(stalled), "{line}");
    }
    assert!(stalled < 100.0);
    let pid = Pid::from_raw(child.id().unwrap() as i32);
    kill(pid, Signal::SIGTERM).unwrap();
    let mut rest = Vec::new();
    while let Some(line) = out.next_line().await.unwrap() {
        rest.push(line);
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let rest = rest.join("\n");
    assert!(
        rest.contains("[\"got signal to exit\"] [signal=terminated]"),
        "{rest}"
    );
    assert!(
        rest.contains("[\"br failed\"] [error=\"context canceled\"]"),
        "{rest}"
    );
    assert!(
        !backupmeta::backup_meta_exists(&env.store(), "h")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn kill_signal_9_dies_by_the_signal() {
    let env = Env::start().await;
    let run = env
        .br(
            &["backup", "full", PD, &env.storage("k9")],
            &[
                ("BR_SIM_KILL_SIGNAL_AT_PERCENT", "40"),
                ("BR_SIM_SIGNAL", "9"),
            ],
        )
        .await;
    assert_eq!(run.status.signal(), Some(9), "{}", run.stdout);
    let steps = progress(&run.stdout, "Full Backup");
    assert!(*steps.last().unwrap() >= 40.0, "{steps:?}");
    assert!(!run.stdout.contains("summary"));
    assert!(
        !backupmeta::backup_meta_exists(&env.store(), "k9")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn kill_signal_15_shuts_down_like_br() {
    let env = Env::start().await;
    let run = env
        .br(
            &["backup", "full", PD, &env.storage("k15")],
            &[
                ("BR_SIM_KILL_SIGNAL_AT_PERCENT", "40"),
                ("BR_SIM_SIGNAL", "15"),
            ],
        )
        .await;
    assert_eq!(run.status.code(), Some(1));
    assert!(
        run.stderr.contains("gracefully shutting down"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with("Error: context canceled\n"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("[\"Full Backup failed summary\"]"));
}

#[tokio::test]
async fn wrong_or_missing_credentials_fail_without_printing_them() {
    let env = Env::start().await;
    let wrong = "NotTheRightSecretAtAll0123456789abcdefgh";
    let run = env
        .br(
            &["backup", "full", PD, &env.storage("w")],
            &[("AWS_SECRET_ACCESS_KEY", wrong)],
        )
        .await;
    assert_eq!(run.status.code(), Some(1));
    assert!(
        run.stderr
            .starts_with("Error: error occurred when checking backupmeta file: access denied"),
        "{}",
        run.stderr
    );
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(wrong));
        assert!(!text.contains(&env.server.access_key));
    }

    let mut cmd = env.command(&["backup", "full", PD, &env.storage("n")], &[]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let out = cmd.output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("Error: NoCredentialProviders: no valid providers in chain"),
        "{stderr}"
    );

    let run = env
        .br(
            &[
                "backup",
                "full",
                PD,
                &format!("--storage=s3://{}/x?secret-access-key={wrong}", env.bucket),
            ],
            &[],
        )
        .await;
    assert_eq!(run.status.code(), Some(1));
    assert!(
        run.stderr.contains("refuses credentials in --storage"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(wrong) && !run.stdout.contains(wrong));
}

#[tokio::test]
async fn command_line_errors_read_like_cobra() {
    let env = Env::start().await;
    let run = env
        .br(&["backup", "full", PD, "--x", &env.storage("u")], &[])
        .await;
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(run.stderr, "Error: unknown flag: --x\n");
    assert!(
        run.stdout
            .contains("[ERROR] [main.go:58] [\"br failed\"] [error=\"unknown flag: --x\"]")
    );

    let run = env.br(&["backup", "db", PD, &env.storage("u")], &[]).await;
    assert_eq!(run.stderr, "Error: required flag(s) \"db\" not set\n");
    let run = env
        .br(&["backup", "full", "--table=t", &env.storage("u")], &[])
        .await;
    assert_eq!(run.stderr, "Error: unknown flag: --table\n");
    let run = env
        .br(
            &["backup", "full", "--checksum", "false", &env.storage("u")],
            &[],
        )
        .await;
    assert_eq!(
        run.stderr,
        "Error: unknown command \"false\" for \"br backup full\"\n"
    );
    let run = env.br(&["backup", "full", "--ratelimit=fast"], &[]).await;
    assert!(
        run.stderr
            .starts_with("Error: invalid argument \"fast\" for \"--ratelimit\" flag")
    );

    let run = env
        .br(&["--version"], &[("BR_SIM_VERSION", "v7.5.1")])
        .await;
    run.ok();
    assert!(
        run.stdout
            .starts_with("Release Version: v7.5.1\nGit Commit Hash: ")
    );
    assert!(run.stdout.ends_with("Race Enabled: false\n"));
    let run = env.br(&["-V"], &[]).await;
    assert!(run.stdout.starts_with("Release Version: v8.5.1\n"));
}

#[tokio::test]
async fn gc_safepoint_and_status_addr_are_checked() {
    let env = Env::start().await;
    let run = env
        .br(
            &["backup", "full", PD, &env.storage("gc")],
            &[("BR_SIM_GC_SAFEPOINT", "18446744073709551615")],
        )
        .await;
    assert_eq!(run.status.code(), Some(1));
    assert!(
        run.stderr.contains("exceed TS") && run.stderr.contains("ErrBackupGCSafepointExceeded"),
        "{}",
        run.stderr
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let run = env
        .br(
            &[
                "backup",
                "full",
                PD,
                "--status-addr",
                &addr,
                &env.storage("st"),
            ],
            &[],
        )
        .await;
    assert_eq!(run.status.code(), Some(1));
    assert!(
        run.stderr
            .starts_with(&format!("Error: listen tcp {addr}: ")),
        "{}",
        run.stderr
    );
}
