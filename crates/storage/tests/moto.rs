//! Against moto, which keeps storage classes and ACLs as AWS does. Needs the moto_server that
//! `./scripts/test` starts (TIBR_TEST_MOTO_ENDPOINT); fails with instructions otherwise.

use bytes::Bytes;
use tibr_storage::backupmeta::{self, BackupMeta, EncodeOptions, File, MetaInput};
use tibr_storage::testing::Moto;
use tibr_storage::{CleanOptions, clean_backup, read_backup_meta};

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn aws_defaults_are_standard_ia_and_private() {
    let (moto, bucket) = Moto::with_bucket("tibr").await;
    let store = moto.store(&moto.target(&bucket, "p"));
    assert_eq!(store.storage_class(), Some("STANDARD_IA"));
    store
        .put("p/obj", Bytes::from_static(b"data"))
        .await
        .unwrap();
    let headers = moto.head(&bucket, "p/obj").await;
    assert_eq!(header(&headers, "x-amz-storage-class"), Some("STANDARD_IA"));
    let acl = moto.object_acl(&bucket, "p/obj").await;
    assert!(
        acl.contains("<Permission>FULL_CONTROL</Permission>"),
        "{acl}"
    );
    assert!(
        !acl.contains(ALL_USERS),
        "private must not grant AllUsers: {acl}"
    );
}

#[tokio::test]
async fn explicit_acl_and_storage_class_are_applied() {
    let (moto, bucket) = Moto::with_bucket("tibr").await;
    let mut target = moto.target(&bucket, "p");
    target.acl = Some("public-read".into());
    target.storage_class = Some("ONEZONE_IA".into());
    let store = moto.store(&target);
    store
        .put("p/obj", Bytes::from_static(b"data"))
        .await
        .unwrap();
    let headers = moto.head(&bucket, "p/obj").await;
    assert_eq!(header(&headers, "x-amz-storage-class"), Some("ONEZONE_IA"));
    let acl = moto.object_acl(&bucket, "p/obj").await;
    assert!(
        acl.contains(ALL_USERS) && acl.contains("<Permission>READ</Permission>"),
        "{acl}"
    );
    // A provider without defaults sends neither header.
    let mut target = moto.target(&bucket, "q");
    target.provider = "ceph".into();
    let store = moto.store(&target);
    store
        .put("q/obj", Bytes::from_static(b"data"))
        .await
        .unwrap();
    let headers = moto.head(&bucket, "q/obj").await;
    assert_eq!(header(&headers, "x-amz-storage-class"), None);
}

#[tokio::test]
async fn read_and_clean_on_moto() {
    let (moto, bucket) = Moto::with_bucket("tibr").await;
    let store = moto.store(&moto.target(&bucket, "bk"));
    let input = MetaInput {
        root: BackupMeta {
            cluster_id: 5,
            end_version: 449_000_000_000_000_001,
            br_version: "BR\nRelease Version: v8.5.1".into(),
            ..Default::default()
        },
        data_files: vec![File {
            name: "1_2_3_ab_1700000000000_default.sst".into(),
            size: 4,
            ..Default::default()
        }],
        ..Default::default()
    };
    let encoded = backupmeta::encode(
        &input,
        &EncodeOptions {
            metafile_size_limit: 10,
            ..EncodeOptions::v2()
        },
    );
    for (name, bytes) in &encoded.meta_files {
        store
            .put(&store.key(name).unwrap(), Bytes::from(bytes.clone()))
            .await
            .unwrap();
    }
    store
        .put(
            &store.key("backupmeta").unwrap(),
            Bytes::from(encoded.root_bytes.clone()),
        )
        .await
        .unwrap();
    for i in 0..1200 {
        store
            .put(
                &store.key(&format!("data/{i:04}.sst")).unwrap(),
                Bytes::from_static(b"sst"),
            )
            .await
            .unwrap();
    }
    store
        .put("bk2/keep", Bytes::from_static(b"k"))
        .await
        .unwrap();
    let summary = read_backup_meta(&store, "bk").await.unwrap();
    assert_eq!(summary.commit_ts, 449_000_000_000_000_001);
    assert_eq!(summary.backup_size, encoded.backup_size);

    let mut last = None;
    let options = CleanOptions {
        page_size: 500,
        ..CleanOptions::default()
    };
    let report = clean_backup(&store, &options, |p| last = Some(p.clone()))
        .await
        .unwrap();
    // What the backupmeta names goes first, unlisted: the root, its meta files, the one data
    // file and the lock file (the last two were never written, and S3 confirms deleting an
    // absent key as any other) in one unit; the 1200 unnamed files are then listed, in three.
    let named = 2 + encoded.meta_files.len() as u64 + 1;
    assert_eq!(report.deleted, named + 1200);
    assert_eq!(report.pages, 1 + 3);
    let last = last.unwrap();
    assert_eq!(last.deleted, report.deleted);
    // The total comes from the backupmeta, not from a listing; more was deleted, so the
    // share stays below 100 %.
    assert_eq!(last.expected, Some(2 + encoded.meta_files.len() as u64 + 1));
    assert_eq!(last.percent(), Some(99.99));
    assert!(store.list("bk").await.unwrap().is_empty());
    assert!(store.exists("bk2/keep").await.unwrap());
}
