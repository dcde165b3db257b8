//! The clean's moving parts: where its keys come from ([`Units`]: a listing that runs ahead
//! in its own task, or a given list), and how units of work are deleted and counted across
//! rounds ([`Rounds`]).

use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::sync::mpsc;

use super::{CleanOptions, CleanProgress, CleanReport, MAX_KEYS_PER_BATCH};
use crate::error::{Result, StorageError};
use crate::store::Store;

const BACKOFF_INITIAL: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(1);

/// A unit of work: keys deleted together (one `DeleteObjects` request, or one page of single
/// deletes), or the error that broke the listing off.
type Unit = std::result::Result<Vec<Path>, object_store::Error>;

/// The units of one round, with how many may be in flight at once.
pub(super) struct Units {
    stream: BoxStream<'static, Unit>,
    concurrency: usize,
}

impl Units {
    fn size(options: &CleanOptions) -> usize {
        let page = options.page_size.max(1);
        if options.batch {
            page.min(MAX_KEYS_PER_BATCH)
        } else {
            page
        }
    }

    fn concurrency(options: &CleanOptions) -> usize {
        if options.batch {
            options.batch_concurrency.max(1)
        } else {
            // Single deletes run `routine_concurrency` at a time inside one page.
            1
        }
    }

    /// Everything under `prefix`, listed by a task of its own that stays a few units ahead
    /// of the deletes, so the next keys are at hand when a delete finishes.
    pub(super) fn listed(store: &Store, prefix: &Path, options: &CleanOptions) -> Units {
        let concurrency = Units::concurrency(options);
        let (tx, rx) = mpsc::channel::<Unit>(concurrency + 1);
        let mut listing = store
            .object_store()
            .list(Some(prefix))
            .map_ok(|meta| meta.location)
            .try_chunks(Units::size(options));
        tokio::spawn(async move {
            while let Some(unit) = listing.next().await {
                let broken = unit.is_err();
                let unit = unit.map_err(|e| {
                    let (keys, err) = (e.0, e.1);
                    // What was listed before the break is still deleted.
                    if !keys.is_empty() {
                        let _ = tx.try_send(Ok(keys));
                    }
                    err
                });
                // A closed channel means the clean stopped: stop listing too.
                if tx.send(unit).await.is_err() || broken {
                    return;
                }
            }
        });
        Units {
            stream: futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|unit| (unit, rx))
            })
            .boxed(),
            concurrency,
        }
    }

    /// Exactly `keys`, in units.
    pub(super) fn given(keys: Vec<Path>, options: &CleanOptions) -> Units {
        let units: Vec<Unit> = keys
            .chunks(Units::size(options))
            .map(|c| Ok(c.to_vec()))
            .collect();
        Units {
            stream: futures::stream::iter(units).boxed(),
            concurrency: Units::concurrency(options),
        }
    }
}

/// Counts across rounds and units, shared by both cleans.
pub(super) struct Rounds<'a> {
    options: &'a CleanOptions,
    state: CleanProgress,
    failed_attempts: u64,
    first_error: Option<String>,
    backoff: Duration,
}

impl<'a> Rounds<'a> {
    pub(super) fn new(options: &'a CleanOptions, expected: Option<u64>) -> Self {
        Rounds {
            options,
            state: CleanProgress {
                expected,
                ..CleanProgress::default()
            },
            failed_attempts: 0,
            first_error: None,
            backoff: BACKOFF_INITIAL,
        }
    }

    pub(super) fn start(&mut self, round: u32) {
        self.state.round = round;
        self.state.failed = 0;
    }

    /// Deletes every unit, `units.concurrency` at a time; a unit's keys are checked against
    /// the location before anything of it is deleted. Errs only for a key outside the
    /// location; failed deletions and a broken listing are counted for the round.
    pub(super) async fn run(
        &mut self,
        store: &Store,
        units: Units,
        url: &str,
        progress: &mut impl FnMut(&CleanProgress),
    ) -> Result<()> {
        let location = store.location();
        let options = self.options;
        let mut work = units
            .stream
            .map(|unit| async move {
                let keys = match unit {
                    Ok(keys) => keys,
                    Err(e) => return Err(Broken::Listing(store.error("list", "", e))),
                };
                // Whatever the server lists, nothing outside the location is deleted.
                if let Some(outside) = keys.iter().find(|k| !location.holds_key(k.as_ref())) {
                    return Err(Broken::Outside(outside.to_string()));
                }
                Ok(delete_unit(store, keys, options).await)
            })
            .buffer_unordered(units.concurrency);
        while let Some(done) = work.next().await {
            match done {
                Ok(outcome) => self.unit_done(outcome, progress).await,
                Err(Broken::Listing(err)) => {
                    // Retried by the next round.
                    tracing::warn!(url = %url, error = %err, "listing for clean failed");
                    self.first_error.get_or_insert(err.to_string());
                    self.state.failed += 1;
                }
                Err(Broken::Outside(key)) => {
                    return Err(StorageError::OutsideLocation {
                        url: url.to_owned(),
                        key,
                    });
                }
            }
        }
        Ok(())
    }

    async fn unit_done(&mut self, outcome: Outcome, progress: &mut impl FnMut(&CleanProgress)) {
        self.state.pages += 1;
        self.state.deleted += outcome.deleted;
        self.state.failed += outcome.failed;
        if let Some(e) = outcome.first_error {
            self.first_error.get_or_insert(e);
        }
        progress(&self.state);
        if self.options.backoff {
            if outcome.failed > 0 {
                // Nothing else is polled meanwhile, so the whole clean pauses.
                tokio::time::sleep(self.backoff).await;
                self.backoff = (self.backoff * 2).min(BACKOFF_CAP);
            } else {
                self.backoff = BACKOFF_INITIAL;
            }
        }
    }

    /// Whether the round had no failures (so no further round is needed for them).
    pub(super) fn round_done(&mut self, url: &str) -> bool {
        self.failed_attempts += self.state.failed;
        if self.state.failed > 0 {
            tracing::warn!(url = %url, round = self.state.round, failed = self.state.failed, "clean round had failures");
        }
        self.state.failed == 0
    }

    pub(super) fn finish(self, url: String, remaining: u64) -> Result<CleanReport> {
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

enum Broken {
    Listing(StorageError),
    Outside(String),
}

struct Outcome {
    deleted: u64,
    failed: u64,
    first_error: Option<String>,
}

impl Outcome {
    fn add(&mut self, (deleted, failed, error): (u64, u64, Option<String>)) {
        self.deleted += deleted;
        self.failed += failed;
        if self.first_error.is_none() {
            self.first_error = error;
        }
    }
}

async fn delete_unit(store: &Store, keys: Vec<Path>, options: &CleanOptions) -> Outcome {
    let mut outcome = Outcome {
        deleted: 0,
        failed: 0,
        first_error: None,
    };
    if options.batch {
        // A unit holds at most MAX_KEYS_PER_BATCH keys: one request.
        outcome.add(delete_batch(store, Arc::clone(store.object_store()), keys).await);
        return outcome;
    }
    let client = store.single_delete_store();
    let results: Vec<_> = futures::stream::iter(keys)
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
        .await;
    for r in results {
        outcome.add(r);
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
