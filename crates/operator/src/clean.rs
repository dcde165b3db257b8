//! Deleting a backup's data from the operator's own process, when its namespace is being
//! deleted and no clean Job can run there (docs/adr/0003).
//!
//! Credentials come from the Backup's Secret only, through an explicit `tibr_storage::Env`:
//! never from the operator's own environment or identity, which may reach buckets the
//! Backup's owner never could. Values go from the Secret into the S3 client and nowhere
//! else.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use tibr_api::constants::defaults;
use tibr_core::backup::decide::InProcessClean;
use tibr_storage::{CleanOptions, CleanReport, OpenOptions, env};

use crate::error::is_not_found;

/// Deletes the Backup's data where it was written, with the credentials in its Secret;
/// `s3_endpoint` is where S3 is when the Backup names no endpoint (`Settings::s3_endpoint`).
pub async fn clean_in_process(
    client: &kube::Client,
    namespace: &str,
    plan: &InProcessClean,
    s3_endpoint: Option<&str>,
) -> Result<CleanReport, String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = match secrets.get(&plan.secret_name).await {
        Ok(s) => s,
        Err(e) if is_not_found(&e) => {
            return Err(format!("Secret {namespace}/{} not found", plan.secret_name));
        }
        Err(e) => {
            return Err(format!(
                "reading Secret {namespace}/{}: {e}",
                plan.secret_name
            ));
        }
    };
    let value = |key: &str| -> Result<String, String> {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .and_then(|v| String::from_utf8(v.0.clone()).ok())
            .or_else(|| {
                secret
                    .string_data
                    .as_ref()
                    .and_then(|d| d.get(key).cloned())
            })
            .ok_or_else(|| format!("Secret {namespace}/{} has no key {key}", plan.secret_name))
    };
    let mut environment = tibr_storage::Env::empty()
        .with(env::ACCESS_KEY_ID, value(defaults::S3_ACCESS_KEY_KEY)?)
        .with(env::SECRET_ACCESS_KEY, value(defaults::S3_SECRET_KEY_KEY)?);
    if let Some(endpoint) = s3_endpoint {
        environment = environment.with(env::ENDPOINT_URL_S3, endpoint);
    }
    let options = OpenOptions {
        env: environment,
        ..OpenOptions::default()
    };
    let store = tibr_storage::open_with(&plan.target, &options).map_err(|e| e.to_string())?;
    let clean = CleanOptions::from(&plan.options);
    let path = plan.backup_path.clone();
    tibr_storage::clean_backup(&store, &clean, |p| {
        tracing::debug!(path = %path, round = p.round, deleted = p.deleted, failed = p.failed, "cleaning");
    })
    .await
    .map_err(|e| e.to_string())
}
