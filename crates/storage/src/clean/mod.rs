//! Deleting a backup's objects, in batches, concurrently, with progress.
//!
//! Shape of TiDB Operator's clean (spec-backup §4.8, `cleanOption` §2.5): up to `retry_count`
//! rounds; each lists the prefix and deletes what it lists, either as S3 `DeleteObjects`
//! requests with `batch_concurrency` in flight, or as single `DELETE`s with
//! `routine_concurrency` in flight; with `backoff`, a unit of work that had failures is followed
//! by a pause (100 ms doubling, at most 1 s) that resets after a clean one. A round without
//! failures after which nothing is left ends the clean.
//!
//! Better than the anchor: what the backup's `backupmeta` names is deleted first, without
//! listing, at full concurrency (listing is sequential and, on most servers, slower than
//! deleting); the listing rounds then take whatever else is there. Listing and deleting
//! overlap ([`pipeline`]): a listed page is being deleted while the next is listed. Progress (round, units, deleted, failed, and the expected total
//! when the backup's metadata says it) is reported after every unit; a failed `DeleteObjects`
//! request counts each of its keys as failed (not as one); a listing failure fails the round
//! instead of the whole clean. Only the store's own location is ever cleaned: a listed key
//! outside it (whatever the server answers) is never deleted, and the bucket root is never
//! emptied by listing — a backup written there is cleaned by the names its metadata gives
//! ([`clean_named`]).

mod pipeline;

use std::collections::BTreeSet;

use object_store::path::Path;
use tibr_core::backup::CleanSettings;

use crate::backupmeta::{BACKUPMETA, LOCK_FILE, RetryPolicy, read_backup_contents};
use crate::error::{Result, StorageError};
use crate::store::{Store, literal};
use pipeline::{Rounds, Units};

/// Most keys one `DeleteObjects` request may carry.
pub const MAX_KEYS_PER_BATCH: usize = 1000;

/// `spec.cleanOption`, with TiDB Operator's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanOptions {
    /// Keys per unit of work: one `DeleteObjects` request holds at most
    /// [`MAX_KEYS_PER_BATCH`], so in batch mode a larger page is taken 1000 keys at a time
    /// (a bigger page would only make deletes wait for a longer listing).
    pub page_size: usize,
    /// Whole-prefix rounds before giving up.
    pub retry_count: u32,
    /// Pause after a unit with failures.
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

impl From<&CleanSettings> for CleanOptions {
    fn from(c: &CleanSettings) -> Self {
        CleanOptions {
            page_size: usize::try_from(c.page_size).unwrap_or(usize::MAX),
            retry_count: c.retry_count,
            backoff: c.backoff_enabled,
            batch: !c.disable_batch,
            batch_concurrency: usize::try_from(c.batch_concurrency).unwrap_or(usize::MAX),
            routine_concurrency: usize::try_from(c.routine_concurrency).unwrap_or(usize::MAX),
        }
    }
}

/// Reported after every unit of work (one `DeleteObjects` request, or one page of single
/// deletes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanProgress {
    /// 1-based round.
    pub round: u32,
    /// Units of work done so far, all rounds together.
    pub pages: u64,
    /// Objects deleted so far, all rounds together.
    pub deleted: u64,
    /// Deletions that failed in this round so far.
    pub failed: u64,
    /// How many objects the backup has, when its metadata says so (an estimate: a backup
    /// can hold files its metadata does not name).
    pub expected: Option<u64>,
}

impl CleanProgress {
    /// Share done in percent, below 100 until the clean has ended (objects can be retried
    /// across rounds, and `expected` is an estimate); `None` without an expected total.
    pub fn percent(&self) -> Option<f64> {
        let expected = self.expected.filter(|&n| n > 0)?;
        let share = (self.deleted as f64 / expected as f64 * 100.0).min(99.99);
        Some((share * 100.0).round() / 100.0)
    }
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
    progress: impl FnMut(&CleanProgress),
) -> Result<CleanReport> {
    clean_known_first(store, options, Vec::new(), progress).await
}

/// [`clean`], deleting `known` (names under the location) before the first listing.
async fn clean_known_first(
    store: &Store,
    options: &CleanOptions,
    known: Vec<String>,
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
    // Refused, like every name, if it would leave the location.
    let known: Vec<Path> = known
        .iter()
        .map(|n| store.key(n).and_then(|k| literal(&k)))
        .collect::<Result<_>>()?;
    let expected = (!known.is_empty()).then_some(known.len() as u64);
    let mut rounds = Rounds::new(options, expected);
    let mut remaining = 0;
    let mut known = Some(known).filter(|k| !k.is_empty());
    for round in 1..=options.retry_count.max(1) {
        rounds.start(round);
        if let Some(keys) = known.take() {
            // Failures here are retried by this round's listing, which finds what is left.
            rounds
                .run(store, Units::given(keys, options), &url, &mut progress)
                .await?;
        }
        let units = Units::listed(store, &list_path, options);
        rounds.run(store, units, &url, &mut progress).await?;
        if !rounds.round_done(&url) {
            continue;
        }
        // The check that nothing is left; what a round missed (written meanwhile, or a
        // listing that skipped) is taken by the next round.
        remaining = store.list(&prefix).await?.len() as u64;
        if remaining == 0 {
            break;
        }
        tracing::warn!(url = %url, round, remaining, "objects left after a clean round");
    }
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
    let mut rounds = Rounds::new(options, Some(keys.len() as u64));
    let mut pending = keys;
    for round in 1..=options.retry_count.max(1) {
        rounds.start(round);
        // Only what still exists is deleted, so a retried round reports true counts.
        let mut left = Vec::new();
        for key in &pending {
            if store.exists(key.as_ref()).await? {
                left.push(key.clone());
            }
        }
        rounds
            .run(
                store,
                Units::given(left.clone(), options),
                &url,
                &mut progress,
            )
            .await?;
        pending = left;
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
/// root, exactly the objects its `backupmeta` names (never the rest of the bucket). Progress
/// carries the expected total when the `backupmeta` can be read.
pub async fn clean_backup(
    store: &Store,
    options: &CleanOptions,
    progress: impl FnMut(&CleanProgress),
) -> Result<CleanReport> {
    if !store.location().is_bucket_root() {
        let known = match own_objects(store, &RetryPolicy::once()).await {
            Ok(known) => known,
            // Log backups and volume-snapshot files have none: listing is the way.
            Err(StorageError::NotFound { .. }) => Vec::new(),
            Err(e) => {
                tracing::warn!(url = %store.location().url("s3"), error = %e, "the backupmeta cannot be read: what the backup wrote is found by listing only");
                Vec::new()
            }
        };
        return clean_known_first(store, options, known, progress).await;
    }
    let names = own_objects(store, &RetryPolicy::default())
        .await
        .map_err(|e| StorageError::UnknownObjects {
            url: store.location().url("s3"),
            detail: e.to_string(),
        })?;
    clean_named(store, &names, options, progress).await
}

/// What a backup wrote, by its `backupmeta`: the data files, the meta objects, the lock file
/// and the `backupmeta` itself, in that order, so that a clean cut short still finds the
/// metadata of what it had not reached.
async fn own_objects(store: &Store, retry: &RetryPolicy) -> Result<Vec<String>> {
    let contents = read_backup_contents(store, store.location().prefix(), retry).await?;
    let mut names: Vec<String> = contents.data_files.into_iter().map(|f| f.name).collect();
    names.extend(contents.meta_objects.into_iter().map(|(name, _)| name));
    names.extend([LOCK_FILE.to_string(), BACKUPMETA.to_string()]);
    Ok(names)
}
