//! The environment credentials and endpoints come from.
//!
//! Credentials are read only from the environment (and, through it, the standard AWS chain).
//! [`Env`] is a snapshot of the `AWS_*` variables taken once, so that tests and embedders can
//! hand a store its own environment without mutating the process's (which edition 2024 makes
//! `unsafe`, and which would leak between concurrently running tests).
//!
//! `Debug` prints variable names only, never values.

use std::collections::BTreeMap;
use std::fmt;

/// Access key id of static credentials.
pub const ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// Secret of static credentials.
pub const SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// Session token of temporary static credentials.
pub const SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// Role assumed with a web identity token (IRSA).
pub const ROLE_ARN: &str = "AWS_ROLE_ARN";
pub const WEB_IDENTITY_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
pub const ROLE_SESSION_NAME: &str = "AWS_ROLE_SESSION_NAME";
pub const ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";
pub const CONTAINER_CREDENTIALS_RELATIVE_URI: &str = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
pub const CONTAINER_CREDENTIALS_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const CONTAINER_AUTHORIZATION_TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
/// Instance metadata service endpoint override (the AWS SDKs' name for it).
pub const EC2_METADATA_SERVICE_ENDPOINT: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
/// `true` turns the instance metadata service off, as in the AWS SDKs.
pub const EC2_METADATA_DISABLED: &str = "AWS_EC2_METADATA_DISABLED";
/// S3-specific endpoint override.
pub const ENDPOINT_URL_S3: &str = "AWS_ENDPOINT_URL_S3";
/// Endpoint override for every AWS service.
pub const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
pub const REGION: &str = "AWS_REGION";
pub const DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";

/// A snapshot of `AWS_*` environment variables.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Env")
            .field(&self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// The `AWS_*` variables of this process.
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| k.starts_with("AWS_"))
                .collect(),
        }
    }

    /// No variables at all: only an instance role could provide credentials.
    pub fn empty() -> Self {
        Env::default()
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    pub fn without(mut self, key: &str) -> Self {
        self.vars.remove(key);
        self
    }

    /// A variable's value; empty values count as unset, as in the AWS SDKs.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// Values that must never appear in output.
    pub(crate) fn secret_values(&self) -> Vec<String> {
        [ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN]
            .iter()
            .filter_map(|k| self.get(k).map(str::to_owned))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_only() {
        let env = Env::empty()
            .with(ACCESS_KEY_ID, "AKIAEXAMPLE")
            .with(SECRET_ACCESS_KEY, "verysecretvalue")
            .with(REGION, "");
        let dbg = format!("{env:?}");
        assert!(dbg.contains("AWS_SECRET_ACCESS_KEY"));
        assert!(!dbg.contains("verysecretvalue"));
        assert!(!dbg.contains("AKIAEXAMPLE"));
        assert_eq!(env.get(REGION), None);
        assert_eq!(env.secret_values().len(), 2);
    }
}
