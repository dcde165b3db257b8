//! Encoder ⇄ decoder: v1 and v2 layouts, nested v2 indexes, and what the reader refuses.

use std::collections::HashMap;

use bytes::Bytes;
use prost::Message;
use tibr_storage::backupmeta::proto::StatsFileIndex;
use tibr_storage::backupmeta::{
    self, BackupMeta, EncodeOptions, File, Layout, MetaInput, Schema, SizeSource,
};
use tibr_storage::error::StorageError;

fn input() -> MetaInput {
    let data_files = (0..40u64)
        .map(|i| File {
            name: format!("1_{i}_3_{i:064x}_1700000000000_default.sst"),
            sha256: vec![i as u8; 32],
            start_key: format!("t{i:04}").into_bytes(),
            end_key: format!("t{:04}", i + 1).into_bytes(),
            end_version: 449_000_000_000_000_000,
            crc64xor: i * 7919,
            total_kvs: 100 + i,
            total_bytes: 10_000 + i,
            cf: if i % 2 == 0 { "default" } else { "write" }.into(),
            size: 4096 + i,
            ..Default::default()
        })
        .collect();
    let schemas = (0..12u64)
        .map(|i| Schema {
            db: format!(r#"{{"id":{i},"db_name":{{"O":"db{i}","L":"db{i}"}}}}"#).into_bytes(),
            table: format!(r#"{{"id":{},"name":{{"O":"t","L":"t"}}}}"#, 100 + i).into_bytes(),
            total_kvs: i,
            stats_index: if i == 3 {
                vec![StatsFileIndex {
                    name: "stats/x".into(),
                    size_enc: 777,
                    size_ori: 777,
                    ..Default::default()
                }]
            } else {
                vec![]
            },
            ..Default::default()
        })
        .collect();
    MetaInput {
        root: BackupMeta {
            cluster_id: 7_211_076_907_329_653_533,
            cluster_version: "\"8.5.1\"\n".into(),
            start_version: 448_000_000_000_000_000,
            end_version: 449_000_000_000_000_000,
            br_version: "BR\nRelease Version: v8.5.1".into(),
            new_collations_enabled: "True".into(),
            ..Default::default()
        },
        data_files,
        schemas,
        ddls: vec![
            br#"{"id":1,"type":3,"query":"create table t(a int)"}"#.to_vec(),
            br#"{"id":2,"type":5}"#.to_vec(),
        ],
        raw_ranges: vec![],
    }
}

fn as_source(encoded: &backupmeta::EncodedMeta) -> HashMap<String, Bytes> {
    encoded
        .meta_files
        .iter()
        .map(|(n, b)| (n.clone(), Bytes::from(b.clone())))
        .collect()
}

fn check_same(input: &MetaInput, contents: &backupmeta::BackupContents) {
    assert_eq!(contents.data_files, input.data_files);
    assert_eq!(contents.schemas, input.schemas);
    assert_eq!(contents.ddls, input.ddls);
    assert_eq!(contents.root.cluster_id, input.root.cluster_id);
    assert_eq!(contents.root.end_version, input.root.end_version);
    assert_eq!(contents.root.start_version, input.root.start_version);
}

#[tokio::test]
async fn v1_round_trip() {
    let input = input();
    let encoded = backupmeta::encode(&input, &EncodeOptions::v1());
    assert!(encoded.meta_files.is_empty());
    let contents = backupmeta::resolve(&encoded.root_bytes, &HashMap::new())
        .await
        .unwrap();
    check_same(&input, &contents);
    let s = contents.summary();
    assert_eq!(s.layout, Layout::V1);
    assert_eq!(s.size_source, SizeSource::Recorded);
    assert_eq!(s.backup_size, encoded.backup_size);
    let data: u64 = input.data_files.iter().map(|f| f.size).sum();
    // BR's rule: root length before the field was set + data + stats files.
    let root_without_size = BackupMeta {
        backup_size: 0,
        ..encoded.root.clone()
    }
    .encoded_len() as u64;
    assert_eq!(s.backup_size, root_without_size + data + 777);
    assert_eq!(s.commit_ts, 449_000_000_000_000_000);
    assert_eq!(s.start_version, 448_000_000_000_000_000);
    assert_eq!(s.cluster_version, "8.5.1");
    assert_eq!(s.ddl_count, 2);
    assert_eq!(contents.ddl_json(), encoded.root.ddls);
}

#[tokio::test]
async fn v2_round_trip_with_several_leaves() {
    let input = input();
    let options = EncodeOptions {
        metafile_size_limit: 1000,
        ..EncodeOptions::v2()
    };
    let encoded = backupmeta::encode(&input, &options);
    let names: Vec<_> = encoded.meta_files.iter().map(|(n, _)| n.as_str()).collect();
    // One sequence shared by all kinds, DDLs first as BR writes them.
    assert_eq!(names[0], "backupmeta.ddl.000000001");
    assert!(names[1].starts_with("backupmeta.datafile.000000002"));
    assert!(names.iter().filter(|n| n.contains(".datafile.")).count() > 3);
    assert!(names.last().unwrap().contains(".schema."));
    assert!(encoded.root.files.is_empty() && encoded.root.schemas.is_empty());
    assert_eq!(encoded.root.ddls, b"[]");
    assert_eq!(encoded.root.version, 1);

    let source = as_source(&encoded);
    let contents = backupmeta::resolve(&encoded.root_bytes, &source)
        .await
        .unwrap();
    check_same(&input, &contents);
    let s = contents.summary();
    assert_eq!(s.layout, Layout::V2);
    assert_eq!(s.meta_file_count, encoded.meta_files.len());
    let meta: u64 = encoded.meta_files.iter().map(|(_, b)| b.len() as u64).sum();
    assert_eq!(s.meta_file_bytes, meta);
    assert_eq!(s.backup_size, encoded.backup_size);

    // Without the recorded size: the operator under-reports, tibr counts what BR would.
    let mut root = encoded.root.clone();
    root.backup_size = 0;
    let bytes = root.encode_to_vec();
    let s = backupmeta::resolve(&bytes, &source)
        .await
        .unwrap()
        .summary();
    assert_eq!(s.size_source, SizeSource::V2Computed);
    assert_eq!(s.operator_size, bytes.len() as u64);
    assert_eq!(
        s.backup_size,
        bytes.len() as u64 + meta + s.data_bytes + 777
    );
}

#[tokio::test]
async fn v2_with_nested_index_levels() {
    let input = input();
    let options = EncodeOptions {
        metafile_size_limit: 200,
        index_fanout: Some(2),
        ..EncodeOptions::v2()
    };
    let encoded = backupmeta::encode(&input, &options);
    let nodes = encoded
        .meta_files
        .iter()
        .filter(|(n, _)| n.contains(".metafile."))
        .count();
    assert!(nodes >= 4, "expected intermediate index nodes, got {nodes}");
    // Some intermediate node points at another intermediate node: at least three levels.
    let deep = encoded.meta_files.iter().any(|(n, b)| {
        n.contains(".metafile.")
            && backupmeta::MetaFile::decode(b.as_slice())
                .unwrap()
                .meta_files
                .iter()
                .any(|p| p.name.contains(".metafile."))
    });
    assert!(deep);
    assert!(encoded.root.file_index.as_ref().unwrap().meta_files.len() <= 2);
    let contents = backupmeta::resolve(&encoded.root_bytes, &as_source(&encoded))
        .await
        .unwrap();
    check_same(&input, &contents);
    assert_eq!(contents.meta_objects.len(), encoded.meta_files.len());
}

#[tokio::test]
async fn damaged_encrypted_or_missing_children_are_named() {
    let input = input();
    let encoded = backupmeta::encode(&input, &EncodeOptions::v2());
    let mut source = as_source(&encoded);
    let name = encoded.meta_files[1].0.clone();
    let mut damaged = source[&name].to_vec();
    damaged[3] ^= 0xFF;
    source.insert(name.clone(), Bytes::from(damaged));
    let err = backupmeta::resolve(&encoded.root_bytes, &source)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("checksum mismatch") && err.contains(&name),
        "{err}"
    );

    source.remove(&name);
    let err = backupmeta::resolve(&encoded.root_bytes, &source)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            backupmeta::MetaError::Storage(StorageError::NotFound { .. })
        ),
        "{err}"
    );

    let mut root = encoded.root.clone();
    root.file_index.as_mut().unwrap().meta_files[0].cipher_iv = vec![1; 16];
    let err = backupmeta::resolve(&root.encode_to_vec(), &as_source(&encoded))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("encrypted"), "{err}");
}

#[test]
fn foreign_roots_are_refused_with_a_reason() {
    let cases: [(&[u8], &str); 5] = [
        (b"", "empty"),
        (&[0x28, 0xB5, 0x2F, 0xFD, 0, 0], "zstd"),
        (&[0x1F, 0x8B, 8, 0], "gzip"),
        // 16-byte IV + AES-CTR ciphertext looks like noise.
        (&[0xFF; 40], "encrypted"),
        // A decodable message without cluster id or BR version.
        (&[0x28, 0x05], "encrypted"),
    ];
    for (bytes, word) in cases {
        let err = backupmeta::decode_root(bytes).unwrap_err().to_string();
        assert!(err.contains(word), "{word}: {err}");
    }
    let future = BackupMeta {
        cluster_id: 1,
        version: 7,
        ..Default::default()
    };
    let err = backupmeta::decode_root(&future.encode_to_vec())
        .unwrap_err()
        .to_string();
    assert!(err.contains("layout version 7"), "{err}");
}
