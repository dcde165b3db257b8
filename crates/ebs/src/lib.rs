//! EC2 snapshots and EBS block lists for volume-snapshot backups, through the official AWS
//! SDK: what BR (and our stand-in for it) asks of EC2 to take a backup, and what the agent
//! asks to size and delete one.
//!
//! Credentials and endpoints come from the environment exactly as the AWS CLI and BR read
//! them: static keys, web identity (IRSA), or the instance metadata service (kube2iam), and
//! `AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL_EBS` for a local endpoint. Throttling is
//! retried by the SDK's adaptive retry (which also slows down under it); what is left is an
//! [`Error`] carrying EC2's code, never a credential.

mod blocks;
mod error;
mod snapshots;

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, retry::RetryConfig};

pub use error::{Error, Result};
pub use snapshots::{Created, Deleted, SnapshotInfo, SnapshotState, VolumeInfo};

/// Attempts of one request before throttling or a 5xx is given up on.
const MAX_ATTEMPTS: u32 = 10;

/// Clients for EC2 and the EBS direct API.
#[derive(Clone, Debug)]
pub struct Cloud {
    ec2: aws_sdk_ec2::Client,
    ebs: aws_sdk_ebs::Client,
}

/// Explicit settings, for tests and tools that do not take them from the environment.
#[derive(Clone, Debug, Default)]
pub struct CloudConfig {
    pub region: Option<String>,
    pub ec2_endpoint: Option<String>,
    pub ebs_endpoint: Option<String>,
    /// Static keys; `None` uses the environment's credential chain.
    pub keys: Option<Keys>,
}

/// A static key pair. `Debug` shows the key id only.
#[derive(Clone)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Cloud {
    /// Clients configured from the process environment; `region` wins over `AWS_REGION`.
    pub async fn from_env(region: Option<&str>) -> Cloud {
        Cloud::from_config(&CloudConfig {
            region: region.map(str::to_string),
            ..CloudConfig::default()
        })
        .await
    }

    /// Clients configured from `config`, the environment filling in what it leaves out.
    pub async fn from_config(config: &CloudConfig) -> Cloud {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(keys) = &config.keys {
            loader = loader.credentials_provider(aws_sdk_ec2::config::Credentials::new(
                keys.access_key_id.clone(),
                keys.secret_access_key.clone(),
                keys.session_token.clone(),
                None,
                "tibr",
            ));
        }
        let shared = loader.load().await;
        let mut ec2 = aws_sdk_ec2::config::Builder::from(&shared);
        if let Some(endpoint) = &config.ec2_endpoint {
            ec2 = ec2.endpoint_url(endpoint);
        }
        let mut ebs = aws_sdk_ebs::config::Builder::from(&shared);
        if let Some(endpoint) = &config.ebs_endpoint {
            ebs = ebs.endpoint_url(endpoint);
        }
        Cloud {
            ec2: aws_sdk_ec2::Client::from_conf(ec2.build()),
            ebs: aws_sdk_ebs::Client::from_conf(ebs.build()),
        }
    }
}

/// Spaces out requests to at most `per_second` (EC2 throttles snapshot deletions per
/// account and region, and other backups share the budget).
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Option<tokio::time::Instant>,
}

impl Pacer {
    pub fn new(per_second: f64) -> Pacer {
        let per_second = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            1.0
        };
        Pacer {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: None,
        }
    }

    /// Waits until the next request may go.
    pub async fn ready(&mut self) {
        let now = tokio::time::Instant::now();
        let at = self.next.map_or(now, |n| n.max(now));
        tokio::time::sleep_until(at).await;
        self.next = Some(at + self.interval);
    }
}
