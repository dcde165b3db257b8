//! As a new user tries it: `tibr-sandbox up` in one shell, the real `kubectl` in another with
//! `sandbox.env` loaded, the seed's commands (`backup-rbac.yaml`, `kubectl create secret
//! generic ...`) and the seed's first Backup YAML with its placeholders filled in, waited for
//! with `kubectl wait`; an invalid Backup explains itself in `kubectl describe`; SIGTERM stops
//! everything. The seed's BackupSchedule, applied the same way, takes its first Backup at the
//! next even minute. And `tibr-sandbox demo` passes, as the README promises.

mod support;

use support::up::{Shell, output_ok, start_up, stop_up, workspace};

#[tokio::test]
async fn a_new_user_takes_the_seeds_backup_with_up_and_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox_dir = dir.path().join("sbx");
    let (mut up, printed) = start_up(&sandbox_dir, &[], &[]).await;
    let operator = printed
        .iter()
        .find(|l| l.starts_with("operator sandbox"))
        .unwrap_or_else(|| panic!("up says where the operator runs: {printed:?}"));
    assert!(
        operator.contains("tibr-system/tibr-operator")
            && operator.contains("ghcr.io/tibr/tibr-agent:v"),
        "{operator}"
    );
    // The metrics endpoint it prints answers.
    let metrics = operator
        .split("metrics http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();

    let shell = Shell::new(&sandbox_dir, dir.path());
    prerequisites(&shell).await;

    // The seed's backup-aws-s3.yaml, ${tidb_host} ${tidb_port} ${tidb_user} from sandbox.env.
    let (host, port, user) = tidb(&shell);
    let seed = tibr_sandbox::demo::seed::backups(&host, port, &user).unwrap();
    std::fs::write(dir.path().join("backup-aws-s3.yaml"), &seed[0].yaml).unwrap();
    let out = shell.ok(&["apply", "-f", "backup-aws-s3.yaml"]).await;
    assert!(
        out.contains("backup.pingcap.com/demo1-backup-s3 created"),
        "{out}"
    );
    wait_complete(&shell, "demo1-backup-s3").await;
    let table = shell.ok(&["get", "bk", "-n", "test1", "-o", "wide"]).await;
    assert!(
        table.contains("demo1-backup-s3")
            && table.contains("Complete")
            && table.contains("s3://my-bucket/my-folder"),
        "{table}"
    );
    assert!(
        sandbox_dir
            .join("s3/my-bucket/my-folder/backupmeta")
            .is_file(),
        "the backup is in the sandbox's S3"
    );

    // An invalid Backup explains itself.
    let invalid = seed[0]
        .yaml
        .replace("name: demo1-backup-s3", "name: demo1-backup-kms")
        .replace(
            "spec:\n",
            "spec:\n  useKMS: true\n  tikvGCLifeTime: 3 days\n",
        );
    std::fs::write(dir.path().join("invalid.yaml"), invalid).unwrap();
    shell.ok(&["apply", "-f", "invalid.yaml"]).await;
    shell
        .ok(&[
            "wait",
            "--for=jsonpath={.status.phase}=Invalid",
            "bk/demo1-backup-kms",
            "-n",
            "test1",
            "--timeout=30s",
        ])
        .await;
    let described = shell
        .ok(&["describe", "bk", "demo1-backup-kms", "-n", "test1"])
        .await;
    for want in [
        "InvalidSpec",
        "spec.useKMS: KMS-encrypted credentials are not supported",
        "spec.tikvGCLifeTime",
    ] {
        assert!(described.contains(want), "{want} in:\n{described}");
    }
    assert!(
        described.contains("Events:") && described.contains("Warning"),
        "the Event shows in describe:\n{described}"
    );

    let scraped = tibr_sandbox::demo::http_get(&metrics, "/metrics")
        .await
        .unwrap();
    assert!(
        scraped.starts_with("HTTP/1.1 200")
            && scraped.contains("tibr_operator_reconciles_total{controller=\"backup\"}"),
        "{scraped}"
    );

    stop_up(&mut up, &sandbox_dir).await;
}

/// `kubectl wait` until Backup `name` in test1 is Complete (90 s at most).
async fn wait_complete(shell: &Shell, name: &str) {
    let (ok, out, err) = shell
        .kubectl(&[
            "wait",
            "--for=jsonpath={.status.phase}=Complete",
            &format!("bk/{name}"),
            "-n",
            "test1",
            "--timeout=90s",
        ])
        .await;
    assert!(
        ok,
        "{out}\n{err}\n{}",
        shell.ok(&["get", "bk", "-n", "test1", "-o", "yaml"]).await
    );
}

/// TiDB's host, port and user from `sandbox.env`, for the seed's `${tidb_*}` placeholders.
fn tidb(shell: &Shell) -> (String, u16, String) {
    (
        shell.var("TIDB_HOST").to_string(),
        shell.var("TIDB_PORT").parse().unwrap(),
        shell.var("TIDB_USER").to_string(),
    )
}

/// The seed's prerequisites, as its commands: `backup-rbac.yaml`, `s3-secret` with the
/// sandbox's key, the TiDB password.
async fn prerequisites(shell: &Shell) {
    let rbac = workspace().join("deploy/backup-rbac.yaml");
    let out = shell
        .ok(&["apply", "-f", rbac.to_str().unwrap(), "-n", "test1"])
        .await;
    assert!(
        out.contains("serviceaccount/tidb-backup-manager created"),
        "{out}"
    );
    let access = format!(
        "--from-literal=access_key={}",
        shell.var("AWS_ACCESS_KEY_ID")
    );
    let secret = format!(
        "--from-literal=secret_key={}",
        shell.var("AWS_SECRET_ACCESS_KEY")
    );
    shell
        .ok(&[
            "create",
            "secret",
            "generic",
            "s3-secret",
            &access,
            &secret,
            "--namespace=test1",
        ])
        .await;
    let password = format!("--from-literal=password={}", shell.var("TIDB_PASSWORD"));
    shell
        .ok(&[
            "create",
            "secret",
            "generic",
            "backup-demo1-tidb-secret",
            &password,
            "--namespace=test1",
        ])
        .await;
}

#[tokio::test]
async fn a_new_user_schedules_the_seeds_backups_with_up_and_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox_dir = dir.path().join("sbx");
    let (mut up, _) = start_up(&sandbox_dir, &[], &[]).await;
    let shell = Shell::new(&sandbox_dir, dir.path());
    prerequisites(&shell).await;

    // The seed's backup-scheduler-aws-s3.yaml (static keys), placeholders from sandbox.env.
    let (host, port, user) = tidb(&shell);
    let seed = tibr_sandbox::demo::seed::schedule(&host, port, &user).unwrap();
    std::fs::write(dir.path().join("backup-scheduler-aws-s3.yaml"), &seed.yaml).unwrap();
    // Not in the last seconds before an even minute: the table is read before that tick.
    let to_tick = 120 - jiff::Timestamp::now().as_second() % 120;
    if to_tick < 5 {
        tokio::time::sleep(std::time::Duration::from_secs(to_tick as u64 + 1)).await;
    }
    let out = shell
        .ok(&["apply", "-f", "backup-scheduler-aws-s3.yaml"])
        .await;
    assert!(
        out.contains("backupschedule.pingcap.com/demo1-backup-schedule-s3 created"),
        "{out}"
    );
    let created: jiff::Timestamp = shell
        .ok(&[
            "get",
            "bks",
            "demo1-backup-schedule-s3",
            "-n",
            "test1",
            "-o",
            "jsonpath={.metadata.creationTimestamp}",
        ])
        .await
        .parse()
        .unwrap();
    // `*/2 * * * *` in UTC: the next even minute after the schedule was created.
    let tick = jiff::Timestamp::from_second((created.as_second() / 120 + 1) * 120).unwrap();
    let next = tick.to_string();
    let mut table = String::new();
    for _ in 0..50 {
        table = shell.ok(&["get", "bks", "-n", "test1", "-o", "wide"]).await;
        if table.contains(&next) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        (
            cell(&table, "NAME"),
            cell(&table, "SCHEDULE"),
            cell(&table, "MAXRESERVEDTIME"),
            cell(&table, "NEXTBACKUPTIME")
        ),
        (
            "demo1-backup-schedule-s3",
            "*/2 * * * *",
            "3h",
            next.as_str()
        ),
        "{table}"
    );

    // At that tick, the Backup named after it; then Complete, in its per-run prefix.
    let name = format!(
        "demo1-backup-schedule-s3-{}",
        tick.strftime("%Y-%m-%dt%H-%M-%S")
    );
    shell
        .ok(&[
            "wait",
            "--for=create",
            &format!("bk/{name}"),
            "-n",
            "test1",
            "--timeout=150s",
        ])
        .await;
    let seen = jiff::Timestamp::now();
    let late = seen.duration_since(tick);
    assert!(
        !late.is_negative() && late.as_secs() <= 5,
        "{name} appeared {late} after its tick"
    );
    wait_complete(&shell, &name).await;
    let listed = shell
        .ok(&[
            "get",
            "bk",
            "-l",
            "tidb.pingcap.com/backup-schedule=demo1-backup-schedule-s3",
            "-n",
            "test1",
        ])
        .await;
    assert!(
        listed.contains(&name) && listed.contains("Complete"),
        "{listed}"
    );
    let run = format!("demo1-pd.test1-2379-{}", tick.strftime("%Y-%m-%dt%H-%M-%S"));
    assert!(
        listed.contains(&format!("s3://my-bucket/my-folder/{run}")),
        "{listed}"
    );
    assert!(
        sandbox_dir
            .join(format!("s3/my-bucket/my-folder/{run}/backupmeta"))
            .is_file(),
        "the run's backup is in the sandbox's S3"
    );

    // `kubectl delete` returns (it waits for the object to be gone: the schedule has no
    // finalizer to hang on), and its Backup follows through the owner reference; the
    // seed's default cleanPolicy (Retain) keeps the data.
    let deleted = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        shell.ok(&[
            "delete",
            "backupschedule",
            "demo1-backup-schedule-s3",
            "-n",
            "test1",
        ]),
    )
    .await
    .expect("kubectl delete backupschedule does not hang");
    assert!(deleted.contains("deleted"), "{deleted}");
    shell
        .ok(&[
            "wait",
            "--for=delete",
            &format!("bk/{name}"),
            "-n",
            "test1",
            "--timeout=60s",
        ])
        .await;
    assert!(
        sandbox_dir
            .join(format!("s3/my-bucket/my-folder/{run}/backupmeta"))
            .is_file(),
        "Retain keeps the run's data after its Backup is gone"
    );
    stop_up(&mut up, &sandbox_dir).await;
}

/// The cell of `column` in the first row of kubectl's table `text`. Cells may hold spaces
/// or be empty, so the row is cut where the header's columns start.
fn cell<'a>(text: &'a str, column: &str) -> &'a str {
    let mut lines = text.lines();
    let (header, row) = (
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
    );
    let starts: Vec<usize> = header
        .char_indices()
        .filter(|(i, c)| *c != ' ' && (*i == 0 || header.as_bytes()[i - 1] == b' '))
        .map(|(i, _)| i)
        .collect();
    let Some(k) = starts.iter().position(|s| header[*s..].starts_with(column)) else {
        return "";
    };
    let end = starts
        .get(k + 1)
        .copied()
        .unwrap_or(row.len())
        .min(row.len());
    row.get(starts[k]..end).unwrap_or_default().trim()
}

#[test]
fn the_schedules_guide_applies_the_seeds_first_schedule() {
    let guide = std::fs::read_to_string(workspace().join("docs/schedules.md")).unwrap();
    let section = guide
        .split("## Trying it in the sandbox")
        .nth(1)
        .expect("the guide's sandbox section");
    let heredoc = section
        .split("<<EOF\n")
        .nth(1)
        .and_then(|rest| rest.split("\nEOF\n").next())
        .expect("a manifest in a here-document");
    let filled = heredoc
        .replace("${TIDB_HOST}", "127.0.0.1")
        .replace("${TIDB_PORT}", "4000")
        .replace("${TIDB_USER}", "root");
    let guide_value: serde_json::Value = yaml_serde::from_str(&filled).unwrap();
    let seed = tibr_sandbox::demo::seed::schedule("127.0.0.1", 4000, "root").unwrap();
    assert_eq!(
        guide_value,
        seed.value().unwrap(),
        "the guide's manifest is the seed's"
    );
}

/// The shell blocks of the README's "Try a backup in the sandbox".
fn readme_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let section = readme
        .split("## Try a backup in the sandbox")
        .nth(1)
        .expect("the README's sandbox section")
        .split("\n## ")
        .next()
        .unwrap();
    section
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_readmes_commands_take_a_backup() {
    let blocks = readme_blocks();
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    assert_eq!(
        blocks[0].trim(),
        "cargo run -p tibr-sandbox -- up --dir /tmp/sbx",
        "the first block starts the sandbox (the test runs the built binary)"
    );
    let dir = tempfile::tempdir().unwrap();
    let sandbox_dir = dir.path().join("sbx");
    let (mut up, _) = start_up(&sandbox_dir, &[], &[]).await;
    let script = blocks[1].replace("/tmp/sbx", sandbox_dir.to_str().unwrap());
    let stdout = output_ok(
        tokio::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(workspace())
            .env("HOME", dir.path()),
    )
    .await;
    for want in [
        "backup.pingcap.com/demo1-backup-s3 created",
        "backup.pingcap.com/demo1-backup-s3 condition met",
        "s3://my-bucket/my-folder",
        "backupmeta",
    ] {
        assert!(stdout.contains(want), "{want} in:\n{stdout}");
    }
    stop_up(&mut up, &sandbox_dir).await;
}

#[tokio::test]
async fn the_demo_passes() {
    let stdout = output_ok(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_tibr-sandbox"))
            .arg("demo")
            .current_dir(workspace()),
    )
    .await;
    for want in [
        "demo1-backup-s3-keys: Complete",
        "demo1-backup-s3-kube2iam: Complete",
        "demo1-backup-s3-irsa: Complete",
        "$ kubectl get bk -n test1 -o wide",
        "s3://my-bucket/my-folder/keys/ is empty",
        "$ kubectl get bks -n test1 -o wide",
        "retention keeps the 2 newest Complete runs",
        "no new Backup while paused",
        "vbk-seed-keys: Complete",
        "vbk-seed-kube2iam: Complete",
        "vbk-seed-irsa: Complete",
        "$ kubectl --context control get vbk -n test1 -o wide",
        "no snapshot of fed-vbk-seed-keys and no file under",
        "paused: no new run, while retention goes on deleting",
        "deleting the schedule deletes its VolumeBackups",
        "demo passed:",
    ] {
        assert!(stdout.contains(want), "{want} in:\n{stdout}");
    }
    assert!(!stdout.contains('✗'), "{stdout}");
}
