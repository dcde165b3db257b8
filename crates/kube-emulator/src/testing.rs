//! What a test of a kube-rs program needs around the emulator: a cluster of its own with an
//! admin client, the real kubectl pointed at it, and one way to wait for something to
//! become true. They live here rather than in each user's test code so every test suite
//! waits and starts clusters the same way.

use std::{future::Future, path::PathBuf, time::Duration};

use crate::{ClusterOptions, RunningCluster, Tls};

/// How often [`poll`] asks again: often enough that tests do not idle, rarely enough that
/// a busy cluster is not flooded with reads.
const INTERVAL: Duration = Duration::from_millis(100);

/// What a check returns while waiting: a value when done; otherwise nothing, or a
/// description of the state it saw, for the timeout's message.
pub trait Probe {
    type Value;
    fn into_state(self) -> Result<Self::Value, Option<String>>;
}

impl<T> Probe for Option<T> {
    type Value = T;
    fn into_state(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T> Probe for Result<T, String> {
    type Value = T;
    fn into_state(self) -> Result<T, Option<String>> {
        self.map_err(Some)
    }
}

/// Calls `check` every 100 ms until it yields a value or `timeout` passes; on timeout, the
/// last state it described (if it describes any).
pub async fn poll<P, F, Fut>(timeout: Duration, mut check: F) -> Result<P::Value, Option<String>>
where
    P: Probe,
    F: FnMut() -> Fut,
    Fut: Future<Output = P>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let last = match check().await.into_state() {
            Ok(v) => return Ok(v),
            Err(last) => last,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(last);
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// [`poll`] for `secs` seconds, failing the test with `what` (and the last state) on timeout.
pub async fn wait_until<P, F, Fut>(secs: u64, what: &str, check: F) -> P::Value
where
    P: Probe,
    F: FnMut() -> Fut,
    Fut: Future<Output = P>,
{
    match poll(Duration::from_secs(secs), check).await {
        Ok(v) => v,
        Err(None) => panic!("timed out after {secs}s waiting for {what}"),
        Err(Some(last)) => panic!("timed out after {secs}s waiting for {what}; last state: {last}"),
    }
}

/// The API error a kube-rs call failed with (the test fails if it did not fail so).
pub fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The Events (core/v1) in `namespace` as `Type Reason: message`, about the object named
/// `regarding` (any when `None`).
pub async fn events(
    client: &kube::Client,
    namespace: &str,
    regarding: Option<&str>,
) -> Vec<String> {
    let mut params = kube::api::ListParams::default();
    if let Some(name) = regarding {
        params = params.fields(&format!("involvedObject.name={name}"));
    }
    kube::Api::<k8s_openapi::api::core::v1::Event>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .expect("listing Events")
        .items
        .into_iter()
        .map(|e| {
            format!(
                "{} {}: {}",
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default()
            )
        })
        .collect()
}

/// A cluster of one test's own, with an admin client; its files live in `dir`.
pub struct TestCluster {
    pub cluster: RunningCluster,
    pub client: kube::Client,
    pub dir: tempfile::TempDir,
}

impl TestCluster {
    pub async fn start() -> TestCluster {
        TestCluster::start_with(|_| {}).await
    }

    /// A cluster named `test`, after `configure` adjusted its options.
    pub async fn start_with(configure: impl FnOnce(&mut ClusterOptions)) -> TestCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let tls = Tls::generate().expect("tls");
        let mut options = ClusterOptions::new("test", dir.path().join("logs"));
        configure(&mut options);
        let cluster = RunningCluster::start(options, &tls, 0)
            .await
            .expect("cluster starts");
        let client = cluster.client().await.expect("client");
        TestCluster {
            cluster,
            client,
            dir,
        }
    }

    pub async fn stop(self) {
        self.cluster.stop().await;
    }
}

/// The real kubectl against a running cluster, with a private kubeconfig and cache.
pub struct Kubectl {
    pub dir: tempfile::TempDir,
}

/// What a kubectl command printed, and whether it succeeded.
pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Kubectl {
    pub fn new(cluster: &RunningCluster) -> Self {
        let binary = std::path::Path::new("/usr/bin/kubectl");
        assert!(
            binary.exists(),
            "kubectl is part of the machine image and must be at /usr/bin/kubectl"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubeconfig"), cluster.kubeconfig_yaml()).unwrap();
        Kubectl { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("/usr/bin/kubectl");
        cmd.arg("--kubeconfig").arg(self.path("kubeconfig"));
        cmd.arg("--cache-dir").arg(self.path("cache"));
        cmd.args(args);
        cmd.env_remove("KUBECONFIG");
        cmd.kill_on_drop(true);
        cmd
    }

    pub async fn run_with(&self, mut cmd: tokio::process::Command) -> Output {
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .expect("kubectl finishes within 60 s")
            .expect("kubectl runs");
        Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with(self.command(args)).await
    }

    /// Runs and requires success, returning stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.ok,
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            out.stdout, out.stderr
        );
        out.stdout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn polling_returns_the_value_or_the_last_state() {
        let mut n = 0;
        let v = poll(Duration::from_secs(5), || {
            n += 1;
            let n = n;
            async move { (n == 3).then_some(n) }
        })
        .await;
        assert_eq!(v, Ok(3));
        let late = poll(Duration::from_millis(150), || async {
            Err::<(), _>("still 1".to_string())
        })
        .await;
        assert_eq!(late, Err(Some("still 1".to_string())));
    }
}
