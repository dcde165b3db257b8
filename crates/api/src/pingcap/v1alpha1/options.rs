//! Tuning of the clean Job and of retries after a backup pod dies.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::constants::defaults;

/// How the clean Job deletes a backup's data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CleanOption {
    /// Objects listed and deleted per round; 10000 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u64>,
    /// How many times the clean pod goes over the whole prefix before giving up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 5))]
    pub retry_count: Option<i64>,
    /// Back off (100 ms doubling, at most 1 s) after a round in which deletions failed;
    /// useful against rate-limited deletion APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_enabled: Option<bool>,
    /// Delete objects one by one even where the store offers batch deletion (S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_batch_concurrency: Option<bool>,
    /// Batch deletions (up to 1000 keys each) in flight at once; 10 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_concurrency: Option<u32>,
    /// Single-object deletions in flight at once, where batches are not used; 100 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routine_concurrency: Option<u32>,
    /// Volume snapshot backups: EBS snapshots deleted per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 1))]
    pub snapshots_delete_ratio: Option<f64>,
}

impl CleanOption {
    /// The page size in effect.
    pub fn page_size(&self) -> u64 {
        self.page_size
            .filter(|n| *n > 0)
            .unwrap_or(defaults::CLEAN_PAGE_SIZE)
    }

    /// The retry count in effect.
    pub fn retry_count(&self) -> i64 {
        self.retry_count
            .filter(|n| *n > 0)
            .unwrap_or(defaults::CLEAN_RETRY_COUNT)
    }

    /// The batch concurrency in effect.
    pub fn batch_concurrency(&self) -> u32 {
        self.batch_concurrency
            .filter(|n| *n > 0)
            .unwrap_or(defaults::CLEAN_BATCH_CONCURRENCY)
    }

    /// The single-object concurrency in effect.
    pub fn routine_concurrency(&self) -> u32 {
        self.routine_concurrency
            .filter(|n| *n > 0)
            .unwrap_or(defaults::CLEAN_ROUTINE_CONCURRENCY)
    }
}

/// Retries of a snapshot backup whose pod died without reporting (evicted, OOM-killed, node
/// lost). Retry n waits `minRetryDuration * 2^(n-1)` after the failure was seen; retries stop
/// after `maxRetryTimes` or once `retryTimeout` has passed since the first failure. A
/// failure BR reported is final and never retried.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackoffRetryPolicy {
    /// Wait before the first retry, as a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "300s"))]
    pub min_retry_duration: Option<String>,
    /// Retries allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 2))]
    pub max_retry_times: Option<i64>,
    /// No retry starts later than this after the first failure, as a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "30m"))]
    pub retry_timeout: Option<String>,
}
