//! Deleting a backup's objects, in batches, concurrently, with progress.
//!
//! Shape of TiDB Operator's clean (spec-backup §4.8, `cleanOption` §2.5): up to `retry_count`
//! rounds; each lists the prefix in pages of `page_size` keys and deletes every page, either as
//! S3 `DeleteObjects` requests of at most 1000 keys with `batch_concurrency` in flight, or as
//! single `DELETE`s with `routine_concurrency` in flight; with `backoff`, a page that had
//! failures is followed by a pause (100 ms doubling, at most 1 s) that resets after a clean page.
//! A round without failures ends the loop; a final listing must then come back empty.
//!
//! Better than the anchor: progress (round, pages, deleted, failed) is reported after every
//! page, a failed `DeleteObjects` request counts each of its keys as failed (not as one), and a
//! listing failure fails the round instead of the whole clean. Only the store's own location is
//! ever cleaned: a listed key outside it (whatever the server answers) is never deleted, and the
//! bucket root is never emptied by listing — a backup written there is cleaned by the names its
//! metadata gives ([`clean_named`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::backupmeta::{BACKUPMETA, LOCK_FILE, RetryPolicy, read_backup_contents};
use crate::error::{Result, StorageError};
use crate::store::{Store, literal};

/// Most keys one `DeleteObjects` request may carry.
pub const MAX_KEYS_PER_BATCH: usize = 1000;

const BACKOFF_INITIAL: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(1);

/// `spec.cleanOption`, with TiDB Operator's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanOptions {
    /// Keys listed and submitted per page.
    pub page_size: usize,
    /// Whole-prefix rounds before giving up.
    pub retry_count: u32,
    /// Pause after a page with failures.
    pub backoff: bool,
    /// Use `DeleteObjects` batches (`!disableBatchConcurrency`).
    pub batch: bool,
    pub batch_concurrency: usize,
    pub routine_concurrency: usize,
}

impl Default for CleanOptions {
    fn default() -> Self {
        CleanOptions {
            page_size: 10_000,
            retry_count: 5,
            backoff: false,
            batch: true,
            batch_concurrency: 10,
            routine_concurrency: 100,
        }
    }
}

/// Reported after every page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanProgress {
    /// 1-based round.
    pub round: u32,
    /// Pages processed so far, all rounds together.
    pub pages: u64,
    /// Objects deleted so far, all rounds together.
    pub deleted: u64,
    /// Deletions that failed in this round so far.
    pub failed: u64,
}

/// The outcome of a successful clean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanReport {
    pub deleted: u64,
    pub rounds: u32,
    pub pages: u64,
    /// Failed deletions over all rounds (retried successfully later).
    pub failed_attempts: u64,
    /// What was cleaned: `s3://bucket/prefix`.
    pub url: String,
}

/// Deletes every object under the store's location (segment-wise: `a/b` covers `a/b/x`, not
/// `a/bc`). Refuses the bucket root.
pub async fn clean(
    store: &Store,
    options: &CleanOptions,
    mut progress: impl FnMut(&CleanProgress),
) -> Result<CleanReport> {
    let location = store.location().clone();
    if location.is_bucket_root() {
        return Err(StorageError::EmptyPrefix {
            bucket: store.bucket().to_owned(),
        });
    }
    let prefix = location.prefix().to_owned();
    let url = location.url("s3");
    let list_path = literal(&prefix)?;
    let page_size = options.page_size.max(1);
    let mut rounds = Rounds::new(options);

    for round in 1..=options.retry_count.max(1) {
        rounds.start(round);
        let mut pages = store
            .object_store()
            .list(Some(&list_path))
            .map_ok(|meta| meta.location)
            .try_chunks(page_size);
        while let Some(page) = pages.next().await {
            let keys = match page {
                Ok(keys) => keys,
                Err(e) => {
                    // The listing broke off: count it as a failure of this round and retry.
                    let err = store.error("list", &prefix, e.1);
                    tracing::warn!(url = %url, error = %err, "listing for clean failed");
                    rounds.failed_listing(err.to_string());
                    break;
                }
            };
            // Whatever the server lists, nothing outside the location is deleted.
            if let Some(outside) = keys.iter().find(|k| !location.holds_key(k.as_ref())) {
                return Err(StorageError::OutsideLocation {
                    url,
                    key: outside.to_string(),
                });
            }
            rounds.page(store, keys, &mut progress).await;
        }
        if rounds.round_done(&url) {
            break;
        }
    }

    let remaining = store.list(&prefix).await?.len() as u64;
    rounds.finish(url, remaining)
}

/// Deletes exactly the objects `names` gives (relative to the store's location), for a
/// backup at a bucket root, whose own objects are known only by name. A name that would leave
/// the location is refused before anything is deleted.
pub async fn clean_named(
    store: &Store,
    names: &[String],
    options: &CleanOptions,
    mut progress: impl FnMut(&CleanProgress),
) -> Result<CleanReport> {
    let keys: BTreeSet<String> = names.iter().map(|n| store.key(n)).collect::<Result<_>>()?;
    let keys: Vec<Path> = keys.iter().map(|k| literal(k)).collect::<Result<_>>()?;
    let url = store.location().url("s3");
    let mut rounds = Rounds::new(options);
    let mut pending = keys;
    for round in 1..=options.retry_count.max(1) {
        rounds.start(round);
        let mut still = Vec::new();
        for page in pending.chunks(options.page_size.max(1)) {
            let mut left = Vec::new();
            for key in page {
                if store.exists(key.as_ref()).await? {
                    left.push(key.clone());
                }
            }
            still.extend(left.iter().cloned());
            rounds.page(store, left, &mut progress).await;
        }
        pending = still;
        if rounds.round_done(&url) {
            break;
        }
    }
    let mut remaining = 0;
    for key in &pending {
        if store.exists(key.as_ref()).await? {
            remaining += 1;
        }
    }
    rounds.finish(url, remaining)
}

/// Deletes the backup at the store's location: everything under its prefix, or, at a bucket
/// root, exactly the objects its `backupmeta` names (never the rest of the bucket).
pub async fn clean_backup(
    store: &Store,
    options: &CleanOptions,
    progress: impl FnMut(&CleanProgress),
) -> Result<CleanReport> {
    if !store.location().is_bucket_root() {
        return clean(store, options, progress).await;
    }
    let names = own_objects_at_root(store).await?;
    clean_named(store, &names, options, progress).await
}

/// What a backup at a bucket root wrote, by its `backupmeta`: the meta objects, the data
/// files and the lock file. Without a `backupmeta` its objects cannot be told from the rest
/// of the bucket, so nothing is deleted.
async fn own_objects_at_root(store: &Store) -> Result<Vec<String>> {
    let contents = read_backup_contents(store, "", &RetryPolicy::default())
        .await
        .map_err(|e| StorageError::UnknownObjects {
            url: store.location().url("s3"),
            detail: e.to_string(),
        })?;
    let mut names = vec![BACKUPMETA.to_string(), LOCK_FILE.to_string()];
    names.extend(contents.meta_objects.into_iter().map(|(name, _)| name));
    names.extend(contents.data_files.into_iter().map(|f| f.name));
    Ok(names)
}

/// Counts across rounds and pages, shared by both cleans.
struct Rounds<'a> {
    options: &'a CleanOptions,
    state: CleanProgress,
    failed_attempts: u64,
    first_error: Option<String>,
    backoff: Duration,
}

impl<'a> Rounds<'a> {
    fn new(options: &'a CleanOptions) -> Self {
        Rounds {
            options,
            state: CleanProgress::default(),
            failed_attempts: 0,
            first_error: None,
            backoff: BACKOFF_INITIAL,
        }
    }

    fn start(&mut self, round: u32) {
        self.state.round = round;
        self.state.failed = 0;
    }

    fn failed_listing(&mut self, error: String) {
        self.first_error.get_or_insert(error);
        self.state.failed += 1;
    }

    async fn page(
        &mut self,
        store: &Store,
        keys: Vec<Path>,
        progress: &mut impl FnMut(&CleanProgress),
    ) {
        let outcome = delete_page(store, keys, self.options).await;
        self.state.pages += 1;
        self.state.deleted += outcome.deleted;
        self.state.failed += outcome.failed;
        if let Some(e) = outcome.first_error {
            self.first_error.get_or_insert(e);
        }
        progress(&self.state);
        if self.options.backoff {
            if outcome.failed > 0 {
                tokio::time::sleep(self.backoff).await;
                self.backoff = (self.backoff * 2).min(BACKOFF_CAP);
            } else {
                self.backoff = BACKOFF_INITIAL;
            }
        }
    }

    /// Whether the round had no failures (so no further round is needed).
    fn round_done(&mut self, url: &str) -> bool {
        self.failed_attempts += self.state.failed;
        if self.state.failed > 0 {
            tracing::warn!(url = %url, round = self.state.round, failed = self.state.failed, "clean round had failures");
        }
        self.state.failed == 0
    }

    fn finish(self, url: String, remaining: u64) -> Result<CleanReport> {
        if self.state.failed > 0 {
            return Err(StorageError::CleanFailed {
                url,
                deleted: self.state.deleted,
                failed: self.state.failed,
                rounds: self.state.round,
                first_error: self.first_error.unwrap_or_default(),
            });
        }
        if remaining > 0 {
            return Err(StorageError::CleanIncomplete { url, remaining });
        }
        Ok(CleanReport {
            deleted: self.state.deleted,
            rounds: self.state.round,
            pages: self.state.pages,
            failed_attempts: self.failed_attempts,
            url,
        })
    }
}

struct PageOutcome {
    deleted: u64,
    failed: u64,
    first_error: Option<String>,
}

async fn delete_page(store: &Store, keys: Vec<Path>, options: &CleanOptions) -> PageOutcome {
    let results: Vec<(u64, u64, Option<String>)> = if options.batch {
        let client = Arc::clone(store.object_store());
        let batches: Vec<Vec<Path>> = keys
            .chunks(MAX_KEYS_PER_BATCH)
            .map(<[Path]>::to_vec)
            .collect();
        futures::stream::iter(batches)
            .map(|batch| delete_batch(store, Arc::clone(&client), batch))
            .buffer_unordered(options.batch_concurrency.max(1))
            .collect()
            .await
    } else {
        let client = store.single_delete_store();
        futures::stream::iter(keys)
            .map(|key| async move {
                match client.delete(&key).await {
                    Ok(()) => (1, 0, None),
                    Err(e) => (
                        0,
                        1,
                        Some(store.error("delete", key.as_ref(), e).to_string()),
                    ),
                }
            })
            .buffer_unordered(options.routine_concurrency.max(1))
            .collect()
            .await
    };
    let mut outcome = PageOutcome {
        deleted: 0,
        failed: 0,
        first_error: None,
    };
    for (deleted, failed, error) in results {
        outcome.deleted += deleted;
        outcome.failed += failed;
        if outcome.first_error.is_none() {
            outcome.first_error = error;
        }
    }
    outcome
}

/// One `DeleteObjects` request (object_store batches S3 deletes by 1000 keys, so a batch of at
/// most that many is exactly one request). Keys not confirmed deleted count as failed, so a
/// request that failed as a whole counts all of its keys.
async fn delete_batch(
    store: &Store,
    client: Arc<dyn ObjectStore>,
    batch: Vec<Path>,
) -> (u64, u64, Option<String>) {
    let total = batch.len() as u64;
    let stream = futures::stream::iter(batch.into_iter().map(Ok)).boxed();
    let results: Vec<_> = client.delete_stream(stream).collect().await;
    let mut deleted = 0;
    let mut error = None;
    for result in results {
        match result {
            Ok(_) => deleted += 1,
            Err(e) => {
                if error.is_none() {
                    error = Some(store.error("delete", "", e).to_string());
                }
            }
        }
    }
    (deleted, total - deleted.min(total), error)
}
