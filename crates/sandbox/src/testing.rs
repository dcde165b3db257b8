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
