//! `tibr-sandbox demo`: start a sandbox in a temporary directory and run the scripted
//! scenarios, printing what a user would see and checking every claim. The exit status
//! is non-zero when any check fails.

mod backups;
mod basics;
mod cloud;
mod fed_schedule;
pub mod fed_seed;
mod federation;
mod render;
pub mod runs;
mod schedule;
pub mod seed;

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use crate::sandbox::{Sandbox, SandboxConfig};

pub use render::{error_text, table_text};

/// The checks of one run, printed as they happen.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: usize,
    pub failed: Vec<String>,
}

impl Report {
    pub fn check(&mut self, ok: bool, what: &str) -> bool {
        if ok {
            self.passed += 1;
            println!("  ✓ {what}");
        } else {
            self.failed.push(what.to_string());
            println!("  ✗ {what}");
        }
        ok
    }

    pub fn success(&self) -> bool {
        self.failed.is_empty()
    }
}

pub fn heading(title: &str) {
    println!("\n== {title}");
}

pub fn command(cmd: &str) {
    println!("\n$ {cmd}");
}

/// The seed document's namespace and IAM role.
const SEED_NAMESPACE: &str = "test1";
const SEED_ROLE: &str = "arn:aws:iam::123456789012:role/user";

/// An admin client of the sandbox's (first) cluster, as kubectl would be configured.
async fn admin_client(sandbox: &Sandbox) -> anyhow::Result<kube::Client> {
    sandbox
        .clusters
        .first()
        .context("the sandbox has a cluster")?
        .client()
        .await
}

/// `bucket` on the sandbox's S3 with its key, as `aws s3` on the host is set up from
/// `sandbox.env` (plain HTTP).
fn s3_store(sandbox: &Sandbox, bucket: &str) -> anyhow::Result<object_store::aws::AmazonS3> {
    Ok(object_store::aws::AmazonS3Builder::new()
        .with_endpoint(sandbox.s3.endpoint())
        .with_allow_http(true)
        .with_region(tibr_cloud_sim::s3::REGION)
        .with_bucket_name(bucket)
        .with_access_key_id(&sandbox.s3.access_key)
        .with_secret_access_key(&sandbox.s3.secret_key)
        .build()?)
}

/// GETs `path` as a Table, the representation kubectl prints.
pub async fn get_table(client: &kube::Client, path: &str) -> anyhow::Result<Value> {
    let req = http::Request::get(path)
        .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .body(Vec::new())?;
    Ok(client.request::<Value>(req).await?)
}

/// `GET path` from `addr` (host:port) over plain HTTP, as curl would: the whole response,
/// status line and headers included.
pub async fn http_get(addr: &str, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out)
}

/// Polls `check` every 100 ms until it yields a value or `timeout` passes.
pub async fn wait_for<T, F, Fut>(timeout: Duration, check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    kube_emulator::testing::poll(timeout, check).await.ok()
}

/// Runs every scenario, each group against a fresh sandbox; true when all checks passed.
pub async fn run() -> anyhow::Result<bool> {
    let mut report = Report::default();
    let single = run_in(
        vec!["sandbox".to_string()],
        &mut report,
        |sandbox, report| {
            Box::pin(async move {
                basics::run(sandbox, report).await?;
                backups::run(sandbox, report).await?;
                cloud::run(sandbox, report).await?;
                schedule::run(sandbox, report).await
            })
        },
    )
    .await;
    if let Err(e) = single {
        report.check(false, &format!("scenario aborted: {e:#}"));
    }
    let federated = run_in(federation::clusters(), &mut report, |sandbox, report| {
        Box::pin(federation::run(sandbox, report))
    })
    .await;
    if let Err(e) = federated {
        report.check(false, &format!("scenario aborted: {e:#}"));
    }
    println!();
    if report.success() {
        println!("demo passed: {} checks", report.passed);
    } else {
        println!(
            "demo FAILED: {} of {} checks failed:",
            report.failed.len(),
            report.failed.len() + report.passed
        );
        for f in &report.failed {
            println!("  - {f}");
        }
    }
    Ok(report.success())
}

type Scenarios = for<'a> fn(
    &'a Sandbox,
    &'a mut Report,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = anyhow::Result<()>> + 'a>,
>;

/// Starts a sandbox of `clusters` in a temporary directory, runs `scenarios` in it and stops
/// it, whatever they returned.
async fn run_in(
    clusters: Vec<String>,
    report: &mut Report,
    scenarios: Scenarios,
) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("tibr-sandbox-demo-")
        .tempdir()
        .context("temporary directory")?;
    let names = clusters.join(", ");
    let mut config = SandboxConfig::new(dir.path().to_path_buf(), clusters);
    config.programs = Some(crate::cli::this_executable()?);
    let sandbox = Sandbox::start(config).await?;
    println!(
        "\ntibr-sandbox demo: a sandbox of {names} in {}",
        dir.path().display()
    );
    for line in sandbox.endpoint_lines() {
        println!("  {line}");
    }
    let outcome = scenarios(&sandbox, report).await;
    sandbox.stop().await;
    outcome
}
