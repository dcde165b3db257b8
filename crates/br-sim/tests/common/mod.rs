//! Running the built `br` against s3s-fs with credentials in its environment only.

#![allow(dead_code)]

pub mod ebs;
pub mod ec2;
pub mod pd;

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tibr_storage::testing::{S3Fs, unique_name};
use tibr_storage::{MetaSummary, Store, read_backup_meta};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

pub struct Env {
    pub server: S3Fs,
    pub bucket: String,
}

pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Env {
    pub async fn start() -> Env {
        let server = S3Fs::start().await;
        let bucket = unique_name("bk");
        server.create_bucket(&bucket);
        Env { server, bucket }
    }

    pub fn store(&self) -> Store {
        self.server.store(&self.bucket, "")
    }

    pub fn storage(&self, prefix: &str) -> String {
        format!("--storage=s3://{}/{prefix}", self.bucket)
    }

    /// A `br` command with a clean environment: the server's credentials and endpoint as the
    /// sandbox passes them (`AWS_*`), logs on stdout, small data and frequent progress.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_br"));
        cmd.args(args)
            .env_clear()
            .env("AWS_ACCESS_KEY_ID", &self.server.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.server.secret_key)
            .env("AWS_ENDPOINT_URL_S3", self.server.endpoint())
            .env("AWS_REGION", "us-west-2")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("BR_LOG_TO_TERM", "\u{1}")
            .env("BR_SIM_DATA_BYTES", "1MiB")
            .env("BR_SIM_REGION_BYTES", "64KiB")
            .env("BR_SIM_PROGRESS_INTERVAL_MS", "50")
            .env("TMPDIR", std::env::temp_dir())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    pub async fn br(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let started = Instant::now();
        let out = self
            .command(args, env)
            .output()
            .await
            .expect("run the br stand-in");
        Run {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }

    pub async fn meta(&self, prefix: &str) -> MetaSummary {
        read_backup_meta(&self.store(), prefix)
            .await
            .expect("read the backupmeta br wrote")
    }
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert!(
            self.status.success(),
            "br failed: {}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn summary(&self) -> &str {
        self.stdout
            .lines()
            .find(|l| l.contains("success summary"))
            .unwrap_or_else(|| panic!("no success summary in:\n{}", self.stdout))
    }
}

/// The value of `[key=value]` or `[key="value"]` in a BR log line.
pub fn value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("[{key}="))? + key.len() + 2;
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next()
    } else {
        rest.split(']').next()
    }
}

/// Progress percentages of `step`, in order.
pub fn progress(stdout: &str, step: &str) -> Vec<f64> {
    stdout
        .lines()
        .filter(|l| l.contains("] [progress] [") && value(l, "step") == Some(step))
        .filter_map(|l| value(l, "progress")?.trim_end_matches('%').parse().ok())
        .collect()
}

/// Reads stdout line by line until `pred` holds for a line; returns that line.
pub async fn wait_for_line(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    seen: &mut Vec<String>,
    pred: impl Fn(&str) -> bool,
) -> String {
    let deadline = Duration::from_secs(30);
    tokio::time::timeout(deadline, async {
        while let Some(line) = lines.next_line().await.expect("read br stdout") {
            seen.push(line.clone());
            if pred(&line) {
                return line;
            }
        }
        panic!(
            "br ended before the expected line; output:\n{}",
            seen.join("\n")
        )
    })
    .await
    .expect("expected line in time")
}

pub fn lines(
    child: &mut tokio::process::Child,
) -> tokio::io::Lines<BufReader<tokio::process::ChildStdout>> {
    BufReader::new(child.stdout.take().expect("piped stdout")).lines()
}
