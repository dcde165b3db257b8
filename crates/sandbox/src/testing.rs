//! Small helpers for tests that drive a sandbox (this crate's, the operator's): waiting for
//! a condition, and reading Backups and Events the way the assertions want them. The sandbox
//! is test tooling, so they live with it rather than being copied into every test crate.

use std::{future::Future, time::Duration};

use k8s_openapi::api::core::v1::Event;
use kube::{Api, Client, api::ListParams};
use tibr_api::Backup;

/// Polls `check` until it returns `Some`, failing the test after `secs` seconds.
pub async fn wait_until<T, F, Fut>(secs: u64, what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    crate::demo::wait_for(Duration::from_secs(secs), check)
        .await
        .unwrap_or_else(|| panic!("timed out after {secs}s waiting for {what}"))
}

/// A Backup's condition of `type_` as `(status, reason, message)`.
pub fn condition(b: &Backup, type_: &str) -> Option<(String, String, String)> {
    b.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_.as_str() == type_)
        .map(|c| {
            (
                c.status.as_str().to_string(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

/// The Events (core/v1) in `namespace` as `Type Reason: message`, about the object named
/// `regarding` (any when `None`).
pub async fn events(client: &Client, namespace: &str, regarding: Option<&str>) -> Vec<String> {
    let mut params = ListParams::default();
    if let Some(name) = regarding {
        params = params.fields(&format!("involvedObject.name={name}"));
    }
    Api::<Event>::namespaced(client.clone(), namespace)
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

/// Every log line this process wrote since [`capture_logs`] (the operator's and the
/// sandbox's, when they run in the test process): what tests search for secret values.
pub fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

fn log_buffer() -> &'static std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    static BUFFER: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
        std::sync::OnceLock::new();
    BUFFER.get_or_init(Default::default)
}

struct Capture {
    echo: bool,
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log_buffer()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        if self.echo {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, once per process, a tracing subscriber with `filter` that keeps every line for
/// [`logs`] (and also writes it to standard error when `echo`).
pub fn capture_logs(filter: &str, echo: bool) {
    static INIT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || Capture { echo })
            .with_ansi(false)
            .try_init();
    });
}
