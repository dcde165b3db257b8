//! Failure handling with a fault-injecting `ObjectStore` wrapped around an in-memory one:
//! clean retries rounds and then fails clearly; backupmeta reads retry transient errors only.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use tibr_storage::backupmeta::{self, BackupMeta, EncodeOptions, MetaInput, RetryPolicy};
use tibr_storage::{
    CleanOptions, CleanProgress, StorageError, Store, clean, read_backup_meta_with,
};

/// Which deletes fail, and how.
#[derive(Default)]
struct Faults {
    /// Keys containing this fail to delete …
    delete_marker: Option<String>,
    /// … this many times each (usize::MAX: always).
    delete_failures_per_key: usize,
    /// Every `DeleteObjects` call containing a marked key fails as a whole.
    whole_batch: bool,
    /// Deletes report success but do nothing.
    lie_about_deletes: bool,
    /// The next N gets fail with a transient (5xx-like) error.
    transient_gets: AtomicUsize,
    gets: AtomicUsize,
    delete_calls: AtomicUsize,
    /// Keys the listing has handed out so far.
    listed: Arc<AtomicUsize>,
    /// The first `DeleteObjects` call holds until this many keys were listed (or 5 s pass),
    /// and records how many it saw.
    first_delete_waits_for: Option<usize>,
    listed_at_first_delete: AtomicUsize,
    failures_so_far: Mutex<HashMap<String, usize>>,
}

struct Flaky {
    inner: InMemory,
    faults: Arc<Faults>,
}

impl fmt::Debug for Flaky {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Flaky")
    }
}

impl fmt::Display for Flaky {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Flaky")
    }
}

fn generic(msg: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "flaky",
        source: msg.to_owned().into(),
    }
}

#[async_trait]
impl ObjectStore for Flaky {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.faults.gets.fetch_add(1, Ordering::SeqCst);
        let left = &self.faults.transient_gets;
        if left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(generic(
                "Server returned non-2xx status code: 503 Slow Down",
            ));
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let faults = Arc::clone(&self.faults);
        let inner = self.inner.clone();
        futures::stream::once(async move {
            let first = faults.delete_calls.fetch_add(1, Ordering::SeqCst) == 0;
            if let (true, Some(want)) = (first, faults.first_delete_waits_for) {
                for _ in 0..500 {
                    if faults.listed.load(Ordering::SeqCst) >= want {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let seen = faults.listed.load(Ordering::SeqCst);
                faults.listed_at_first_delete.store(seen, Ordering::SeqCst);
            }
            let paths: Vec<Path> = match locations.try_collect().await {
                Ok(p) => p,
                Err(e) => return vec![Err(e)],
            };
            let marked = |p: &Path| {
                faults
                    .delete_marker
                    .as_ref()
                    .is_some_and(|m| p.as_ref().contains(m.as_str()))
            };
            if faults.whole_batch && paths.iter().any(marked) {
                return vec![Err(generic(
                    "DeleteObjects request failed: connection reset",
                ))];
            }
            let mut out = Vec::new();
            for path in paths {
                if marked(&path) {
                    let mut so_far = faults.failures_so_far.lock().unwrap();
                    let n = so_far.entry(path.to_string()).or_default();
                    if *n < faults.delete_failures_per_key {
                        *n += 1;
                        out.push(Err(generic(&format!("AccessDenied deleting {path}"))));
                        continue;
                    }
                }
                if !faults.lie_about_deletes {
                    let _ = object_store::ObjectStoreExt::delete(&inner, &path).await;
                }
                out.push(Ok(path));
            }
            out
        })
        .flat_map(futures::stream::iter)
        .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let listed = Arc::clone(&self.faults.listed);
        self.inner
            .list(prefix)
            .inspect(move |_| {
                listed.fetch_add(1, Ordering::SeqCst);
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

async fn store_with(faults: Faults, objects: usize) -> (Store, Arc<Faults>) {
    let faults = Arc::new(faults);
    let flaky = Flaky {
        inner: InMemory::new(),
        faults: Arc::clone(&faults),
    };
    let store = Store::from_object_store(
        Arc::new(flaky),
        tibr_storage::testing::location("bucket", "bk"),
    );
    for i in 0..objects {
        let name = if i % 10 == 0 { "fail" } else { "ok" };
        store
            .put(&format!("bk/{name}-{i:04}.sst"), Bytes::from_static(b"x"))
            .await
            .unwrap();
    }
    (store, faults)
}

#[tokio::test]
async fn failing_deletes_are_retried_in_later_rounds() {
    let faults = Faults {
        delete_marker: Some("fail".into()),
        delete_failures_per_key: 2,
        ..Faults::default()
    };
    let (store, _) = store_with(faults, 300).await;
    let mut seen = Vec::new();
    let options = CleanOptions {
        page_size: 64,
        backoff: true,
        ..CleanOptions::default()
    };
    let report = clean(&store, &options, |p| seen.push(p.clone()))
        .await
        .unwrap();
    assert_eq!(report.rounds, 3);
    assert_eq!(report.deleted, 300);
    assert_eq!(report.failed_attempts, 60);
    let round1: Vec<&CleanProgress> = seen.iter().filter(|p| p.round == 1).collect();
    assert_eq!(round1.len(), 5, "300 keys in pages of 64");
    assert_eq!(round1.last().unwrap().failed, 30);
    assert_eq!(round1.last().unwrap().deleted, 270);
    assert_eq!(seen.last().unwrap().round, 3);
    assert_eq!(seen.last().unwrap().failed, 0);
    assert!(store.list("bk").await.unwrap().is_empty());
}

#[tokio::test]
async fn deletes_that_keep_failing_end_in_a_clear_error() {
    let faults = Faults {
        delete_marker: Some("fail".into()),
        delete_failures_per_key: usize::MAX,
        ..Faults::default()
    };
    let (store, _) = store_with(faults, 100).await;
    let mut rounds = Vec::new();
    let options = CleanOptions {
        retry_count: 4,
        ..CleanOptions::default()
    };
    let err = clean(&store, &options, |p| rounds.push(p.round))
        .await
        .unwrap_err();
    assert_eq!(rounds, [1, 2, 3, 4]);
    match &err {
        StorageError::CleanFailed {
            url,
            deleted,
            failed,
            rounds,
            first_error,
        } => {
            assert_eq!(url, "s3://bucket/bk");
            assert_eq!((*deleted, *failed, *rounds), (90, 10, 4));
            assert!(
                first_error.contains("AccessDenied deleting bk/fail-"),
                "{first_error}"
            );
        }
        other => panic!("unexpected {other}"),
    }
    assert!(
        err.to_string()
            .contains("10 deletions still failing after 4 rounds")
    );
    assert_eq!(store.list("bk").await.unwrap().len(), 10);
}

#[tokio::test]
async fn a_failed_batch_request_counts_every_key() {
    let faults = Faults {
        delete_marker: Some("fail-0000".into()),
        delete_failures_per_key: usize::MAX,
        whole_batch: true,
        ..Faults::default()
    };
    let (store, faults) = store_with(faults, 2500).await;
    let options = CleanOptions {
        retry_count: 1,
        ..CleanOptions::default()
    };
    let err = clean(&store, &options, |_| {}).await.unwrap_err();
    // The 1000-key batch holding `fail-0000` failed as a whole.
    assert!(
        matches!(
            err,
            StorageError::CleanFailed {
                failed: 1000,
                deleted: 1500,
                ..
            }
        ),
        "{err}"
    );
    // 2500 keys in one page ⇒ three DeleteObjects requests.
    assert_eq!(faults.delete_calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn listing_goes_on_while_a_delete_is_in_flight() {
    let faults = Faults {
        first_delete_waits_for: Some(2000),
        ..Faults::default()
    };
    let (store, faults) = store_with(faults, 3000).await;
    let options = CleanOptions {
        page_size: 1000,
        batch_concurrency: 1,
        ..CleanOptions::default()
    };
    let report = clean(&store, &options, |_| {}).await.unwrap();
    assert_eq!(report.deleted, 3000);
    // One delete at a time, yet the next keys were listed while the first was deleted.
    assert!(
        faults.listed_at_first_delete.load(Ordering::SeqCst) >= 2000,
        "only {} keys listed while the first delete was in flight",
        faults.listed_at_first_delete.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn objects_left_behind_are_reported() {
    let faults = Faults {
        lie_about_deletes: true,
        ..Faults::default()
    };
    let (store, _) = store_with(faults, 12).await;
    let err = clean(&store, &CleanOptions::default(), |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "12 objects remain under s3://bucket/bk after cleaning"
    );
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        initial: Duration::from_millis(5),
        attempts: 4,
        cap: Duration::from_millis(20),
    }
}

async fn meta_store(transient_gets: usize) -> (Store, Arc<Faults>) {
    let faults = Faults {
        transient_gets: AtomicUsize::new(transient_gets),
        ..Faults::default()
    };
    let (store, faults) = store_with(faults, 0).await;
    let input = MetaInput {
        root: BackupMeta {
            cluster_id: 9,
            end_version: 77,
            br_version: "BR".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let encoded = backupmeta::encode(&input, &EncodeOptions::v1());
    store
        .put("bk/backupmeta", Bytes::from(encoded.root_bytes))
        .await
        .unwrap();
    (store, faults)
}

#[tokio::test]
async fn transient_read_errors_are_retried() {
    let (store, faults) = meta_store(3).await;
    let summary = read_backup_meta_with(&store, "bk", &quick()).await.unwrap();
    assert_eq!(summary.commit_ts, 77);
    assert_eq!(faults.gets.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn read_retries_are_bounded() {
    let (store, faults) = meta_store(100).await;
    let err = read_backup_meta_with(&store, "bk", &quick())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(faults.gets.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let (store, faults) = meta_store(0).await;
    let err = read_backup_meta_with(&store, "elsewhere", &quick())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "backupmeta not found at s3://bucket/elsewhere/backupmeta"
    );
    assert_eq!(faults.gets.load(Ordering::SeqCst), 1);
}
