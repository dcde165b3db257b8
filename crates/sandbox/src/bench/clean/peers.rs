//! The other side of the clean bench: moto as a server of its own, and the peer tools —
//! boto3's raw loop, the AWS CLI and rclone — each run as its own process, with the keys in
//! its environment (never in its arguments).
//!
//! The AWS CLI pins its own botocore, so it and the boto3 of the raw loop live in a venv of
//! their own (`.bench-venv`, made on first use), apart from the test venv whose moto needs
//! the botocore it has.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tokio::process::Command;

use super::Server;

/// A command-line tool measured as a whole process.
#[derive(Debug, Clone, Copy)]
pub(super) enum Peer {
    AwsCli,
    Rclone,
}

#[derive(Debug)]
pub(super) struct Tools {
    python: PathBuf,
    aws: PathBuf,
}

impl Tools {
    /// The bench venv (made and filled when missing) and rclone from the machine.
    pub(super) async fn find(test_venv: &Path) -> anyhow::Result<Tools> {
        let venv = test_venv.with_file_name(".bench-venv");
        let python = venv.join("bin/python");
        let aws = venv.join("bin/aws");
        if !aws.exists() {
            eprintln!("installing the AWS CLI and boto3 into {}", venv.display());
            run_quiet(Command::new("python3").arg("-m").arg("venv").arg(&venv)).await?;
            run_quiet(
                Command::new(venv.join("bin/pip")).args(["install", "-q", "awscli", "boto3"]),
            )
            .await?;
        }
        let rclone = Command::new("rclone").arg("version").output().await;
        if !rclone.is_ok_and(|o| o.status.success()) {
            bail!("rclone is missing: apt-get install rclone (./scripts/test installs it too)");
        }
        Ok(Tools { python, aws })
    }

    /// The server's limit: `keys` deleted by sequential 1000-key `DeleteObjects` requests;
    /// seconds as Python measured them.
    pub(super) async fn raw_loop(&self, server: &Server, keys: &[String]) -> anyhow::Result<f64> {
        const LOOP: &str = r#"
import json, os, sys, time, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["EP"], region_name=os.environ["AWS_DEFAULT_REGION"])
keys = json.load(sys.stdin)
started = time.perf_counter()
for i in range(0, len(keys), 1000):
    r = s3.delete_objects(Bucket=os.environ["BUCKET"],
                          Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
    if r.get("Errors"):
        sys.exit("delete errors: %r" % r["Errors"][:3])
print(time.perf_counter() - started)
"#;
        let mut cmd = Command::new(&self.python);
        credentials(&mut cmd, server);
        cmd.args(["-c", LOOP])
            .env("EP", &server.endpoint)
            .env("BUCKET", &server.bucket);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("starting python")?;
        let input = serde_json::to_vec(keys)?;
        {
            use tokio::io::AsyncWriteExt;
            let mut stdin = child.stdin.take().context("python's stdin")?;
            stdin.write_all(&input).await?;
        }
        let out = child.wait_with_output().await?;
        if !out.status.success() {
            bail!("raw loop failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8(out.stdout)?.trim().parse()?)
    }

    /// Seconds the tool took to delete everything under `prefix`, start-up included.
    pub(super) async fn run(
        &self,
        peer: Peer,
        server: &Server,
        prefix: &str,
    ) -> anyhow::Result<f64> {
        // Each command gets the server's keys first, then its own variables.
        let mut cmd = match peer {
            Peer::AwsCli => {
                let mut c = Command::new(&self.aws);
                credentials(&mut c, server);
                c.args([
                    "s3",
                    "rm",
                    "--recursive",
                    "--quiet",
                    "--endpoint-url",
                    &server.endpoint,
                ])
                .arg(format!("s3://{}/{prefix}/", server.bucket));
                c
            }
            Peer::Rclone => {
                let mut c = Command::new("rclone");
                credentials(&mut c, server);
                c.args(["delete"])
                    .arg(format!("t:{}/{prefix}/", server.bucket))
                    .env("RCLONE_CONFIG", "/dev/null")
                    .env("RCLONE_CONFIG_T_TYPE", "s3")
                    .env("RCLONE_CONFIG_T_PROVIDER", "Other")
                    .env("RCLONE_CONFIG_T_ENDPOINT", &server.endpoint)
                    .env("RCLONE_CONFIG_T_REGION", &server.region)
                    .env("RCLONE_CONFIG_T_ACCESS_KEY_ID", &server.key)
                    .env("RCLONE_CONFIG_T_SECRET_ACCESS_KEY", &server.secret)
                    .env("RCLONE_CONFIG_T_FORCE_PATH_STYLE", "true");
                c
            }
        };
        let started = Instant::now();
        let out = cmd
            .output()
            .await
            .with_context(|| format!("running {peer:?}"))?;
        let seconds = started.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!("{peer:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(seconds)
    }
}

/// The server's keys in the variables every AWS client reads; nothing else of this
/// process's environment (a CA bundle or profile of the machine would change what is
/// measured).
fn credentials(cmd: &mut Command, server: &Server) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_ACCESS_KEY_ID", &server.key)
        .env("AWS_SECRET_ACCESS_KEY", &server.secret)
        .env("AWS_DEFAULT_REGION", &server.region)
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

async fn run_quiet(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().await.context("running the installer")?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// moto's server, started for the bench from the test venv and stopped with it.
pub(super) struct Moto {
    child: tokio::process::Child,
    endpoint: String,
}

impl Moto {
    pub(super) async fn start(venv: &Path) -> anyhow::Result<Moto> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting moto_server from .venv (./scripts/test installs it)")?;
        let endpoint = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(Moto { child, endpoint });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("moto_server did not listen on {endpoint} within 10 s")
    }

    /// A server entry for `bucket`, created on moto (moto checks no signature; any key).
    pub(super) async fn server(&self, bucket: &str) -> anyhow::Result<Server> {
        let server = Server {
            name: "moto",
            endpoint: self.endpoint.clone(),
            key: "AKIABENCHMOTO0000000".into(),
            secret: "bench-moto-secret-not-checked".into(),
            region: "us-east-1".into(),
            bucket: bucket.into(),
        };
        let status = create_bucket(&self.endpoint, bucket, &server.key).await?;
        anyhow::ensure!(
            status == 200,
            "creating bucket {bucket} on moto: HTTP {status}"
        );
        Ok(server)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// `PUT /bucket`. moto checks no signature but makes the key named in `Authorization` the
/// bucket's owner, whose objects the later requests may then delete.
async fn create_bucket(endpoint: &str, bucket: &str, key: &str) -> anyhow::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = endpoint.strip_prefix("http://").context("http URL")?;
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let request = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/s3/aws4_request, \
         SignedHeaders=host, Signature=00\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("HTTP status")?;
    Ok(status)
}
