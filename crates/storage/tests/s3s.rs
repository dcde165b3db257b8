//! Against s3s-fs, a third-party S3 server that enforces SigV4: opening with credentials from
//! the environment, reading backupmetas, access errors, and cleaning thousands of objects.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use tibr_storage::backupmeta::{self, BackupMeta, EncodeOptions, File, MetaInput, RetryPolicy};
use tibr_storage::env;
use tibr_storage::testing::{S3Fs, unique_name};
use tibr_storage::{
    CleanOptions, CleanProgress, OpenOptions, StorageError, Target, clean, clean_named, open_with,
    read_backup_meta,
};

async fn server_with_bucket() -> (S3Fs, String) {
    let server = S3Fs::start().await;
    let bucket = unique_name("bk");
    server.create_bucket(&bucket);
    (server, bucket)
}

fn meta_input(files: usize) -> MetaInput {
    MetaInput {
        root: BackupMeta {
            cluster_id: 42,
            end_version: 449_123_456_789_012_481,
            br_version: "BR\nRelease Version: v8.5.1".into(),
            ..Default::default()
        },
        data_files: (0..files)
            .map(|i| File {
                name: format!("1_{i}_1_aa_1700000000000_default.sst"),
                size: 1000,
                total_kvs: 10,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

async fn write_meta(store: &tibr_storage::Store, prefix: &str, encoded: &backupmeta::EncodedMeta) {
    for (name, bytes) in &encoded.meta_files {
        store
            .put(&format!("{prefix}/{name}"), Bytes::from(bytes.clone()))
            .await
            .unwrap();
    }
    store
        .put(
            &format!("{prefix}/backupmeta"),
            Bytes::from(encoded.root_bytes.clone()),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn reads_v1_and_v2_metas_through_sigv4() {
    let (server, bucket) = server_with_bucket().await;
    // Bucket sub-path: `bucket/mid` + `p` ⇒ key prefix `mid/p`.
    let store = server.store(&format!("{bucket}/mid"), "p");
    assert_eq!(store.prefix(), "mid/p");
    for (prefix, options) in [
        ("mid/p/v1", EncodeOptions::v1()),
        (
            "mid/p/v2",
            EncodeOptions {
                metafile_size_limit: 500,
                ..EncodeOptions::v2()
            },
        ),
    ] {
        let encoded = backupmeta::encode(&meta_input(30), &options);
        write_meta(&store, prefix, &encoded).await;
        let summary = read_backup_meta(&store, prefix).await.unwrap();
        assert_eq!(summary.commit_ts, 449_123_456_789_012_481);
        assert_eq!(summary.file_count, 30);
        assert_eq!(summary.backup_size, encoded.backup_size);
        assert_eq!(summary.meta_file_count, encoded.meta_files.len());
    }
    // The real BR sample, served by a real S3 implementation.
    store
        .put(
            "mid/p/real/backupmeta",
            Bytes::from_static(include_bytes!("data/tikv-client-java_sst_backupmeta")),
        )
        .await
        .unwrap();
    let summary = read_backup_meta(&store, &store.key("real").unwrap())
        .await
        .unwrap();
    assert_eq!(summary.backup_size, 12897);
    server.stop().await;
}

#[tokio::test]
async fn a_missing_backupmeta_fails_at_once() {
    let (server, bucket) = server_with_bucket().await;
    let store = server.store(&bucket, "nothing");
    let started = std::time::Instant::now();
    let err = read_backup_meta(&store, "nothing/here").await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(
        err.to_string(),
        format!("backupmeta not found at s3://{bucket}/nothing/here/backupmeta")
    );
    server.stop().await;
}

#[tokio::test]
async fn wrong_secret_is_access_denied_and_never_printed() {
    let (server, bucket) = server_with_bucket().await;
    let wrong = "ThisIsTheWrongSecretKey0123456789abcdefgh";
    let options = OpenOptions {
        env: server.env().with(env::SECRET_ACCESS_KEY, wrong),
        max_retries: 0,
        ..OpenOptions::default()
    };
    let target = Target::S3(server.target(&bucket, "p"));
    let store = open_with(&target, &options).unwrap();
    let err = read_backup_meta(&store, "p").await.unwrap_err();
    assert!(err.is_access_denied(), "{err:?}");
    let shown = format!("{err} {err:?} {store:?}");
    assert!(shown.contains("access denied to s3://"), "{shown}");
    assert!(!shown.contains(wrong), "{shown}");
    assert!(!shown.contains(&server.access_key), "{shown}");

    let err = store
        .put("p/x", Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(err.is_access_denied(), "{err}");
    assert!(!format!("{err:?}").contains(wrong));

    // A wrong access key id is refused as well.
    let options = OpenOptions {
        env: server
            .env()
            .with(env::ACCESS_KEY_ID, "AKIANOTAKNOWNKEY0000"),
        max_retries: 0,
        ..OpenOptions::default()
    };
    let err = open_with(&target, &options)
        .unwrap()
        .get("p/backupmeta")
        .await
        .unwrap_err();
    assert!(err.is_access_denied(), "{err}");
    assert!(!err.to_string().contains("AKIANOTAKNOWNKEY0000"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn endpoint_from_environment_and_signed_acl_header() {
    let (server, bucket) = server_with_bucket().await;
    // No endpoint in the target: AWS_ENDPOINT_URL_S3 from the environment is used, and the
    // ACL header is part of what SigV4 signs (s3s verifies the signature).
    let mut target =
        tibr_storage::S3Target::new("ceph", tibr_storage::testing::location(&bucket, "p"));
    target.acl = Some("bucket-owner-full-control".into());
    let options = OpenOptions {
        env: server.env(),
        ..OpenOptions::default()
    };
    let store = open_with(&Target::S3(target), &options).unwrap();
    assert_eq!(store.endpoint(), server.endpoint());
    store
        .put("p/a", Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(
        store.get("p/a").await.unwrap(),
        Bytes::from_static(b"hello")
    );
    assert!(store.exists("p/a").await.unwrap());
    assert!(!store.exists("p/b").await.unwrap());
    let listed = store.list("p").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].key.as_str(), listed[0].size), ("p/a", 5));
    server.stop().await;
}

async fn fill(store: &tibr_storage::Store, prefix: &str, n: usize) {
    futures::stream::iter(0..n)
        .map(|i| {
            let key = format!("{prefix}/{}/{i:05}.sst", i % 7);
            async move { store.put(&key, Bytes::from_static(b"x")).await.unwrap() }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
}

#[tokio::test]
async fn clean_thousands_in_pages_and_spare_the_sibling() {
    let (server, bucket) = server_with_bucket().await;
    let store = server.store(&bucket, "backups/b1");
    fill(&store, "backups/b1", 2500).await;
    fill(&store, "backups/b10", 30).await;
    store
        .put("backups/b1.keep", Bytes::from_static(b"y"))
        .await
        .unwrap();

    let seen: Arc<Mutex<Vec<CleanProgress>>> = Arc::default();
    let options = CleanOptions {
        page_size: 700,
        batch_concurrency: 3,
        ..CleanOptions::default()
    };
    let recorder = Arc::clone(&seen);
    let report = clean(&store, &options, move |p| {
        recorder.lock().unwrap().push(p.clone())
    })
    .await
    .unwrap();
    assert_eq!(report.deleted, 2500);
    assert_eq!(report.pages, 4);
    assert_eq!(report.rounds, 1);
    assert_eq!(report.failed_attempts, 0);
    let seen = seen.lock().unwrap().clone();
    // Units finish in any order (three in flight): the count only grows, by whole units.
    let deleted: Vec<u64> = seen.iter().map(|p| p.deleted).collect();
    assert_eq!(deleted.len(), 4, "{deleted:?}");
    assert!(deleted.windows(2).all(|w| w[0] < w[1]), "{deleted:?}");
    assert_eq!(deleted.last(), Some(&2500));
    assert!(seen.iter().all(|p| p.round == 1 && p.failed == 0));
    assert_eq!(seen.last().unwrap().pages, 4);

    assert!(store.list("backups/b1").await.unwrap().is_empty());
    assert_eq!(store.list("backups/b10").await.unwrap().len(), 30);
    assert!(store.exists("backups/b1.keep").await.unwrap());
    server.stop().await;
}

#[tokio::test]
async fn clean_one_object_at_a_time() {
    let (server, bucket) = server_with_bucket().await;
    let store = server.store(&bucket, "p");
    fill(&store, "p", 250).await;
    let options = CleanOptions {
        batch: false,
        routine_concurrency: 16,
        page_size: 100,
        ..CleanOptions::default()
    };
    let mut pages = 0;
    let report = clean(&store, &options, |_| pages += 1).await.unwrap();
    assert_eq!((report.deleted, report.pages, pages), (250, 3, 3));
    assert!(store.list("p").await.unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_bucket_root_is_never_emptied_by_listing() {
    let (server, bucket) = server_with_bucket().await;
    let store = server.store(&bucket, "");
    fill(&store, "keep", 3).await;
    let err = clean(&store, &CleanOptions::default(), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::EmptyPrefix { .. }), "{err}");
    assert!(err.to_string().contains("whole bucket"), "{err}");
    assert_eq!(store.list("keep").await.unwrap().len(), 3);

    // A backup written at the root is cleaned by the names it recorded, and nothing else.
    for name in ["backupmeta", "backup.lock", "1/a.sst", "2/b.sst"] {
        store.put(name, Bytes::from_static(b"x")).await.unwrap();
    }
    let names: Vec<String> = [
        "backupmeta",
        "backup.lock",
        "1/a.sst",
        "2/b.sst",
        "gone.sst",
    ]
    .map(String::from)
    .to_vec();
    let report = clean_named(&store, &names, &CleanOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(report.deleted, 4, "gone.sst did not exist");
    assert_eq!(report.url, format!("s3://{bucket}"));
    let left: Vec<String> = store
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.iter().all(|k| k.starts_with("keep/")), "{left:?}");

    // A name that would climb out of the location is refused before anything is deleted.
    let sub = server.store(&bucket, "keep/0");
    let err = clean_named(
        &sub,
        &["../1/00001.sst".to_string()],
        &CleanOptions::default(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("does not name an object under"),
        "{err}"
    );
    assert_eq!(store.list("keep").await.unwrap().len(), 3);
    server.stop().await;
}

/// Neighbours a clean must never touch, whatever the target: siblings sharing a name
/// prefix, the parent, other buckets.
#[tokio::test]
async fn a_clean_deletes_only_under_its_own_location() {
    let (server, bucket) = server_with_bucket().await;
    let other = tibr_storage::testing::unique_name("other");
    server.create_bucket(&other);
    let root = server.store(&bucket, "");
    for key in [
        "par/a/1.sst",
        "par/a/backupmeta",
        "par/ab/1.sst",
        "par/b/1.sst",
        "par/x",
        "par.sst",
    ] {
        root.put(key, Bytes::from_static(b"x")).await.unwrap();
    }
    let elsewhere = server.store(&other, "par/a");
    elsewhere
        .put("par/a/1.sst", Bytes::from_static(b"x"))
        .await
        .unwrap();

    let store = server.store(&bucket, "par/a");
    let report = clean(&store, &CleanOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.deleted, report.url.as_str()),
        (2, format!("s3://{bucket}/par/a").as_str())
    );
    let left: Vec<String> = root
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(left, ["par.sst", "par/ab/1.sst", "par/b/1.sst", "par/x"]);
    assert_eq!(elsewhere.list("par").await.unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn transient_read_retry_policy_is_bounded() {
    let policy = RetryPolicy::default();
    let delays: Vec<u64> = (0..6).map(|n| policy.delay(n).as_secs()).collect();
    assert_eq!(delays, [1, 2, 4, 8, 16, 32]);
    assert_eq!(policy.delay(10).as_secs(), 60);
}

/// A minimal EC2 instance metadata service (IMDSv2) handing out the server's key pair.
async fn fake_imds(access_key: String, secret_key: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (ak, sk) = (access_key.clone(), secret_key.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let path = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let body = if path == "/latest/api/token" {
                    "imds-session-token".to_owned()
                } else if path.ends_with("/security-credentials/") {
                    "tibr-role".to_owned()
                } else if path.ends_with("/security-credentials/tibr-role") {
                    format!(
                        r#"{{"Code":"Success","AccessKeyId":"{ak}","SecretAccessKey":"{sk}","Token":"instance-session-token","Expiration":"2099-01-01T00:00:00Z"}}"#
                    )
                } else {
                    String::new()
                };
                let status = if body.is_empty() {
                    "404 Not Found"
                } else {
                    "200 OK"
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn credentials_from_the_instance_metadata_service() {
    let (server, bucket) = server_with_bucket().await;
    let imds = fake_imds(server.access_key.clone(), server.secret_key.clone()).await;
    let env = tibr_storage::Env::empty()
        .with(env::EC2_METADATA_SERVICE_ENDPOINT, imds)
        .with(env::REGION, "us-west-2");
    let options = OpenOptions {
        env,
        ..OpenOptions::default()
    };
    let store = open_with(&Target::S3(server.target(&bucket, "p")), &options).unwrap();
    assert_eq!(
        store.credential_source(),
        tibr_storage::CredentialSource::InstanceMetadata
    );
    store
        .put("p/x", Bytes::from_static(b"via imds"))
        .await
        .unwrap();
    assert_eq!(
        store.get("p/x").await.unwrap(),
        Bytes::from_static(b"via imds")
    );
    server.stop().await;
}
