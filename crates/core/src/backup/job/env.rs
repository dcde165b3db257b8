//! The environment of backup and clean containers.
//!
//! TiDB Operator's variable names are kept, so that `spec.env` entries users already wrote
//! replace them by name. Credentials only ever appear as `secretKeyRef`s: the Job spec, and
//! therefore `kubectl get job -o yaml`, never holds a secret value.

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};
use tibr_api::{
    constants::defaults,
    pingcap::v1alpha1::{BackupSpec, S3StorageProvider},
};

use crate::storage::s3_target;

/// The TiDB password, from `spec.from.secretName` key `password`.
pub const BACKUP_MANAGER_PASSWORD: &str = "BACKUP_MANAGER_PASSWORD";
pub const S3_PROVIDER: &str = "S3_PROVIDER";
pub const S3_ENDPOINT: &str = "S3_ENDPOINT";
pub const AWS_REGION: &str = "AWS_REGION";
pub const AWS_ACL: &str = "AWS_ACL";
pub const AWS_STORAGE_CLASS: &str = "AWS_STORAGE_CLASS";
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// Makes BR log to its standard output, which the agent streams into the pod log.
pub const BR_LOG_TO_TERM: &str = "BR_LOG_TO_TERM";

fn value(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn secret_ref(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_string(),
                key: key.to_string(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Where the object store is and how to write to it, from `spec.s3` through the one
/// mapping (`crate::storage::s3_target`), so the pod reaches the store BR is told about.
/// Provider `aws` gets the documented defaults (ACL `private`, storage class
/// `STANDARD_IA`). A spec that does not map gets only its credentials: the agent checks
/// the spec again and says what is wrong.
fn storage_env(s3: &S3StorageProvider) -> Vec<EnvVar> {
    let mut env = Vec::new();
    if let Ok(target) = s3_target(s3, "spec.s3") {
        env.push(value(S3_PROVIDER, target.provider.clone()));
        if let Some(endpoint) = &target.endpoint {
            env.push(value(S3_ENDPOINT, endpoint.clone()));
        }
        if let Some(region) = &target.region {
            env.push(value(AWS_REGION, region.clone()));
        }
        if let Some(acl) = target.effective_acl(true) {
            env.push(value(AWS_ACL, acl));
        }
        if let Some(class) = target.effective_storage_class(true) {
            env.push(value(AWS_STORAGE_CLASS, class));
        }
    }
    if let Some(secret) = non_empty(&s3.secret_name) {
        env.push(secret_ref(
            AWS_ACCESS_KEY_ID,
            secret,
            defaults::S3_ACCESS_KEY_KEY,
        ));
        env.push(secret_ref(
            AWS_SECRET_ACCESS_KEY,
            secret,
            defaults::S3_SECRET_KEY_KEY,
        ));
    }
    env
}

/// The environment of the backup container: the TiDB password (only with `spec.from`),
/// storage, BR's log switch, then `spec.env`.
pub fn backup_env(spec: &BackupSpec) -> Vec<EnvVar> {
    let mut env = Vec::new();
    if let Some(from) = &spec.from {
        env.push(secret_ref(
            BACKUP_MANAGER_PASSWORD,
            from.secret_name.trim(),
            defaults::TIDB_PASSWORD_KEY,
        ));
    }
    if let Some(s3) = &spec.storage.s3 {
        env.extend(storage_env(s3));
    }
    env.push(value(BR_LOG_TO_TERM, "1"));
    with_user_env(env, &spec.env)
}

/// The environment of the clean container: storage, then `spec.env`. The clean Job never
/// talks to TiDB, so it gets no password.
pub fn clean_env(spec: &BackupSpec) -> Vec<EnvVar> {
    let env = spec
        .storage
        .s3
        .as_ref()
        .map(storage_env)
        .unwrap_or_default();
    with_user_env(env, &spec.env)
}

/// `spec.env` entries replace built-in ones of the same name, in place; the others follow.
pub fn with_user_env(mut env: Vec<EnvVar>, user: &[EnvVar]) -> Vec<EnvVar> {
    for var in user {
        match env.iter_mut().find(|e| e.name == var.name) {
            Some(existing) => *existing = var.clone(),
            None => env.push(var.clone()),
        }
    }
    env
}
