//! BR's `backupmeta`: the protobuf messages, a reader for both layouts, a summary with the
//! figures TiDB Operator derives from it, and an encoder for the BR stand-in.
//!
//! Sizes: `backup_size` is the recorded `backup_size` field when BR wrote one (BR ≥ 2023-11);
//! otherwise, for v1, TiDB Operator's rule (root length + Σ `files[].size`); for v2 without the
//! field, where the operator's rule under-reports (it sees no inline files), the sum BR's writer
//! would have recorded: root + child meta objects + stats files + data files.
//! [`MetaSummary::operator_size`] always holds the operator's figure for comparison.
//!
//! Reading from storage retries transient failures like backup-manager does (1 s doubling, six
//! attempts, capped at one minute) and fails at once when the root is missing.

pub mod proto;
pub mod read;
pub mod write;

use std::time::Duration;

use bytes::Bytes;

pub use proto::{ApiVersion, BackupMeta, File, MetaFile, RawRange, Schema};
pub use read::{BackupContents, MetaSource, decode_root, resolve};
pub use write::{EncodeOptions, EncodedMeta, MetaInput, encode};

use crate::error::{Result, StorageError};
use crate::store::Store;

/// Name of the root object at the top of a backup prefix.
pub const BACKUPMETA: &str = "backupmeta";
/// BR's lock file, written before any data.
pub const LOCK_FILE: &str = "backup.lock";
/// Exact content BR writes to [`LOCK_FILE`] (no trailing newline).
pub const LOCK_FILE_CONTENT: &str =
    "DO NOT DELETE\nThis file exists to remind other backup jobs won't use this path";

/// The two root layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `version` absent: files, schemas and DDLs inline in the root.
    V1,
    /// `version = 1`: meta-file indexes.
    V2,
}

/// How [`MetaSummary::backup_size`] was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeSource {
    /// The `backup_size` field BR recorded.
    Recorded,
    /// Root length + Σ inline file sizes (TiDB Operator's rule).
    V1Computed,
    /// Root + meta objects + stats + data files (what BR's writer records).
    V2Computed,
}

/// What tibr reports about a finished backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaSummary {
    pub layout: Layout,
    /// `end_version`, the backup TS; 0 for RawKV backups.
    pub commit_ts: u64,
    /// Lower bound of an incremental backup; 0 for a full one.
    pub start_version: u64,
    pub backup_size: u64,
    pub size_source: SizeSource,
    /// Exactly what TiDB Operator's `GetBRArchiveSize` would report.
    pub operator_size: u64,
    pub root_meta_bytes: u64,
    /// Stored bytes of the v2 child meta objects.
    pub meta_file_bytes: u64,
    pub meta_file_count: usize,
    /// Σ data `File.size` (BR's summary `Size=`).
    pub data_bytes: u64,
    pub file_count: usize,
    pub total_kvs: u64,
    pub total_bytes: u64,
    pub schema_count: usize,
    pub ddl_count: usize,
    pub cluster_id: u64,
    /// Unquoted and trimmed (`5.3.0-alpha`).
    pub cluster_version: String,
    /// BR's build info block as recorded.
    pub br_version: String,
    /// `v5.2.1` from the block, when present.
    pub br_release_version: Option<String>,
    pub is_raw_kv: bool,
    pub is_txn_kv: bool,
    pub api_version: ApiVersion,
    pub new_collations_enabled: String,
    pub backup_schema_version: u32,
}

impl MetaSummary {
    /// `commitTs` as the status shows it: a decimal string.
    pub fn commit_ts_string(&self) -> String {
        self.commit_ts.to_string()
    }
}

/// Why a meta could not be read, before a URL is attached.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Storage(StorageError),
}

impl MetaError {
    fn at(self, url: String) -> StorageError {
        match self {
            MetaError::Invalid(detail) => StorageError::InvalidMeta { url, detail },
            MetaError::Unsupported(what) => StorageError::Unsupported { url, what },
            MetaError::Storage(e) => e,
        }
    }
}

/// Exponential retry of transient read failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial: Duration,
    /// Total attempts, the first included.
    pub attempts: u32,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// backup-manager's: 1 s doubling, six steps, one-minute cap.
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_secs(1),
            attempts: 6,
            cap: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A single attempt, for reads that only improve a report.
    pub fn once() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The delay after failed attempt `n` (0-based).
    pub fn delay(&self, n: u32) -> Duration {
        self.initial
            .saturating_mul(2u32.saturating_pow(n))
            .min(self.cap)
    }
}

/// Reads `<prefix>/backupmeta` (and its v2 children) and summarises it.
pub async fn read_backup_meta(store: &Store, prefix: &str) -> Result<MetaSummary> {
    read_backup_meta_with(store, prefix, &RetryPolicy::default()).await
}

pub async fn read_backup_meta_with(
    store: &Store,
    prefix: &str,
    retry: &RetryPolicy,
) -> Result<MetaSummary> {
    Ok(read_backup_contents(store, prefix, retry).await?.summary())
}

/// Reads the whole backup description.
pub async fn read_backup_contents(
    store: &Store,
    prefix: &str,
    retry: &RetryPolicy,
) -> Result<BackupContents> {
    let root_key = store.key_under(prefix, BACKUPMETA)?;
    let root = get_with_retry(store, &root_key, retry)
        .await
        .map_err(|e| match e {
            StorageError::NotFound { url, .. } => StorageError::NotFound {
                what: BACKUPMETA.into(),
                url,
            },
            other => other,
        })?;
    let source = PrefixSource {
        store,
        prefix,
        retry,
    };
    resolve(&root, &source)
        .await
        .map_err(|e| e.at(store.url(&root_key)))
}

/// Whether `<prefix>/backupmeta` exists.
pub async fn backup_meta_exists(store: &Store, prefix: &str) -> Result<bool> {
    store.exists(&store.key_under(prefix, BACKUPMETA)?).await
}

struct PrefixSource<'a> {
    store: &'a Store,
    prefix: &'a str,
    retry: &'a RetryPolicy,
}

impl MetaSource for PrefixSource<'_> {
    async fn fetch(&self, name: &str) -> Result<Bytes> {
        let key = self.store.key_under(self.prefix, name)?;
        get_with_retry(self.store, &key, self.retry)
            .await
            .map_err(|e| match e {
                StorageError::NotFound { url, .. } => StorageError::NotFound {
                    what: format!("meta file {name}"),
                    url,
                },
                other => other,
            })
    }
}

async fn get_with_retry(store: &Store, key: &str, retry: &RetryPolicy) -> Result<Bytes> {
    let mut attempt = 0;
    loop {
        match store.get(key).await {
            Ok(bytes) => return Ok(bytes),
            Err(e) if e.is_transient() && attempt + 1 < retry.attempts => {
                let delay = retry.delay(attempt);
                tracing::warn!(url = %store.url(key), error = %e, ?delay, "read failed, retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
