//! Decoding a `backupmeta` root and everything its v2 indexes point at.
//!
//! Both layouts are read the way BR's own reader does: inline `files`/`schemas`/`ddls` of the
//! root (v1) are taken as they are, and each v2 index is walked — a node with `meta_files` only
//! points further down, a node without is a leaf whose payload counts. BR writes one level;
//! deeper trees are accepted (up to [`MAX_DEPTH`]). Each child object's SHA-256 and size are
//! checked against its pointer, as BR does.
//!
//! Only plain (unencrypted, uncompressed) metas can be read. BR never compresses meta objects;
//! an encrypted root is random bytes to a protobuf decoder, so anything that fails to decode or
//! does not look like a BR root is reported as possibly encrypted, and a pointer carrying a
//! cipher IV is reported as encrypted. JSON (volume-snapshot) and compressed objects are
//! recognised by their first bytes and named in the error.

use std::future::Future;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use prost::Message;
use sha2::{Digest, Sha256};

use super::proto::{ApiVersion, BackupMeta, File, MetaFile, RawRange, Schema};
use super::{Layout, MetaError, MetaSummary, SizeSource};
use crate::error::StorageError;

/// Deepest v2 index tree accepted; BR writes depth 1, a cycle would never end.
pub const MAX_DEPTH: usize = 16;

/// Child meta files fetched at once (BR uses 8 download workers).
const FETCH_CONCURRENCY: usize = 8;

/// Somewhere child meta files can be read from by name (relative to the backup prefix).
pub trait MetaSource: Sync {
    fn fetch(&self, name: &str) -> impl Future<Output = Result<Bytes, StorageError>> + Send;
}

impl MetaSource for std::collections::HashMap<String, Bytes> {
    async fn fetch(&self, name: &str) -> Result<Bytes, StorageError> {
        self.get(name)
            .cloned()
            .ok_or_else(|| StorageError::NotFound {
                what: format!("meta file {name}"),
                url: name.to_owned(),
            })
    }
}

/// Everything a backupmeta describes, after following the v2 indexes.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupContents {
    pub root: BackupMeta,
    /// Length of the root object as stored.
    pub root_len: u64,
    pub data_files: Vec<File>,
    pub schemas: Vec<Schema>,
    /// DDL jobs, one JSON document each (v1's array is split into its elements).
    pub ddls: Vec<Vec<u8>>,
    pub raw_ranges: Vec<RawRange>,
    /// Child meta objects read: name and stored size.
    pub meta_objects: Vec<(String, u64)>,
}

/// Decodes a root object, refusing what is not a plain protobuf `BackupMeta`.
pub fn decode_root(bytes: &[u8]) -> Result<BackupMeta, MetaError> {
    if bytes.is_empty() {
        return Err(MetaError::Invalid("the object is empty".into()));
    }
    if let Some(what) = sniff_foreign(bytes) {
        return Err(MetaError::Unsupported(what.into()));
    }
    let meta = BackupMeta::decode(bytes).map_err(|e| {
        MetaError::Unsupported(format!(
            "not a plain protobuf BackupMeta ({e}); it may be encrypted \
             (BR --crypter.method), and encrypted backups are not supported"
        ))
    })?;
    if meta.cluster_id == 0 && meta.br_version.is_empty() {
        return Err(MetaError::Unsupported(
            "not recognisable as a BR backupmeta (no cluster id, no BR version); it may be \
             encrypted (BR --crypter.method), and encrypted backups are not supported"
                .into(),
        ));
    }
    if !(0..=1).contains(&meta.version) {
        return Err(MetaError::Unsupported(format!(
            "backupmeta layout version {} (only v1 = 0 and v2 = 1 are known)",
            meta.version
        )));
    }
    Ok(meta)
}

/// Formats recognisable from their first bytes that are not a protobuf root.
fn sniff_foreign(bytes: &[u8]) -> Option<&'static str> {
    const MAGICS: &[(&[u8], &str)] = &[
        (
            b"{",
            "a JSON document (a volume-snapshot backup's backupmeta), not a protobuf one",
        ),
        (&[0x28, 0xB5, 0x2F, 0xFD], "zstd-compressed"),
        (&[0x1F, 0x8B], "gzip-compressed"),
        (&[0x04, 0x22, 0x4D, 0x18], "lz4-compressed"),
        (b"\xff\x06\x00\x00sNaPpY", "snappy-compressed"),
    ];
    MAGICS
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, what)| *what)
}

/// Decodes `root_bytes` and reads every child meta object it points at from `source`.
pub async fn resolve(
    root_bytes: &[u8],
    source: &impl MetaSource,
) -> Result<BackupContents, MetaError> {
    let root = decode_root(root_bytes)?;
    let mut contents = BackupContents {
        root_len: root_bytes.len() as u64,
        data_files: root.files.clone(),
        schemas: root.schemas.clone(),
        ddls: split_ddl_array(&root.ddls)?,
        raw_ranges: root.raw_ranges.clone(),
        meta_objects: Vec::new(),
        root: root.clone(),
    };
    for leaf in walk(root.file_index.as_ref(), source, &mut contents.meta_objects).await? {
        contents.data_files.extend(leaf.data_files);
    }
    for leaf in walk(
        root.schema_index.as_ref(),
        source,
        &mut contents.meta_objects,
    )
    .await?
    {
        contents.schemas.extend(leaf.schemas);
    }
    for leaf in walk(
        root.raw_range_index.as_ref(),
        source,
        &mut contents.meta_objects,
    )
    .await?
    {
        contents.raw_ranges.extend(leaf.raw_ranges);
    }
    for leaf in walk(
        root.ddl_indexes.as_ref(),
        source,
        &mut contents.meta_objects,
    )
    .await?
    {
        contents.ddls.extend(leaf.ddls);
    }
    Ok(contents)
}

/// The leaves under an index node, in pointer order.
async fn walk(
    index: Option<&MetaFile>,
    source: &impl MetaSource,
    read: &mut Vec<(String, u64)>,
) -> Result<Vec<MetaFile>, MetaError> {
    let Some(index) = index else {
        return Ok(Vec::new());
    };
    let mut leaves = Vec::new();
    let mut level = vec![index.clone()];
    for depth in 0..=MAX_DEPTH {
        let mut pointers = Vec::new();
        for node in level {
            if node.meta_files.is_empty() {
                leaves.push(node);
            } else {
                pointers.extend(node.meta_files);
            }
        }
        if pointers.is_empty() {
            return Ok(leaves);
        }
        if depth == MAX_DEPTH {
            break;
        }
        let fetched: Vec<(String, u64, MetaFile)> = futures::stream::iter(pointers)
            .map(|pointer| fetch_child(pointer, source))
            .buffered(FETCH_CONCURRENCY)
            .try_collect()
            .await?;
        level = Vec::with_capacity(fetched.len());
        for (name, size, child) in fetched {
            read.push((name, size));
            level.push(child);
        }
    }
    Err(MetaError::Invalid(format!(
        "the meta-file index is deeper than {MAX_DEPTH} levels (a cycle?)"
    )))
}

async fn fetch_child(
    pointer: File,
    source: &impl MetaSource,
) -> Result<(String, u64, MetaFile), MetaError> {
    let name = pointer.name;
    if !pointer.cipher_iv.is_empty() {
        return Err(MetaError::Unsupported(format!(
            "encrypted (meta file {name} carries a cipher IV), and encrypted backups are not \
             supported"
        )));
    }
    let bytes = source.fetch(&name).await.map_err(MetaError::Storage)?;
    if !pointer.sha256.is_empty() {
        let actual = Sha256::digest(&bytes);
        if actual.as_slice() != pointer.sha256.as_slice() {
            return Err(MetaError::Invalid(format!(
                "checksum mismatch for meta file {name}: expected {}, got {} (an encrypted or \
                 damaged object)",
                hex(&pointer.sha256),
                hex(actual.as_slice())
            )));
        }
    }
    if pointer.size != 0 && pointer.size != bytes.len() as u64 {
        return Err(MetaError::Invalid(format!(
            "meta file {name} is {} bytes, its pointer says {}",
            bytes.len(),
            pointer.size
        )));
    }
    let child = MetaFile::decode(bytes.as_ref())
        .map_err(|e| MetaError::Invalid(format!("meta file {name} does not decode: {e}")))?;
    Ok((name, bytes.len() as u64, child))
}

/// Splits a JSON array of DDL jobs into its elements (v1 keeps them as one array).
fn split_ddl_array(ddls: &[u8]) -> Result<Vec<Vec<u8>>, MetaError> {
    if ddls.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    // Re-serialised element by element (key order is preserved); DDL jobs hold no floats
    // whose text could change.
    let jobs: Vec<serde_json::Value> = serde_json::from_slice(ddls)
        .map_err(|e| MetaError::Invalid(format!("the ddls field is not a JSON array: {e}")))?;
    Ok(jobs.iter().map(|j| j.to_string().into_bytes()).collect())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl BackupContents {
    /// The DDL jobs as one JSON array, the form BR's reader hands to restore.
    pub fn ddl_json(&self) -> Vec<u8> {
        super::write::merge_ddls(&self.ddls)
    }

    /// The figures TiDB Operator reports, plus what tibr adds.
    pub fn summary(&self) -> MetaSummary {
        let root = &self.root;
        let data_bytes: u64 = self.data_files.iter().map(|f| f.size).sum();
        let meta_file_bytes: u64 = self.meta_objects.iter().map(|(_, s)| s).sum();
        let stats_bytes: u64 = self
            .schemas
            .iter()
            .flat_map(|s| &s.stats_index)
            .map(|i| i.size_enc)
            .sum();
        let layout = if root.version == 1 {
            Layout::V2
        } else {
            Layout::V1
        };
        // GetBRArchiveSize: the recorded size, else root + inline files (meant for v1).
        let operator_size = if root.backup_size != 0 {
            root.backup_size
        } else {
            self.root_len + root.files.iter().map(|f| f.size).sum::<u64>()
        };
        let (backup_size, size_source) = match (root.backup_size, layout) {
            (0, Layout::V1) => (operator_size, SizeSource::V1Computed),
            // The operator under-reports here (issue #5407); count what BR's writer counts.
            (0, Layout::V2) => (
                self.root_len + meta_file_bytes + data_bytes + stats_bytes,
                SizeSource::V2Computed,
            ),
            (recorded, _) => (recorded, SizeSource::Recorded),
        };
        MetaSummary {
            layout,
            commit_ts: root.end_version,
            start_version: root.start_version,
            backup_size,
            size_source,
            operator_size,
            root_meta_bytes: self.root_len,
            meta_file_bytes,
            meta_file_count: self.meta_objects.len(),
            data_bytes,
            file_count: self.data_files.len(),
            total_kvs: self.data_files.iter().map(|f| f.total_kvs).sum(),
            total_bytes: self.data_files.iter().map(|f| f.total_bytes).sum(),
            schema_count: self.schemas.len(),
            ddl_count: self.ddls.len(),
            cluster_id: root.cluster_id,
            cluster_version: normalize_version(&root.cluster_version),
            br_version: root.br_version.clone(),
            br_release_version: release_version(&root.br_version),
            is_raw_kv: root.is_raw_kv,
            is_txn_kv: root.is_txn_kv,
            api_version: ApiVersion::try_from(root.api_version).unwrap_or(ApiVersion::V1),
            new_collations_enabled: root.new_collations_enabled.clone(),
            backup_schema_version: root.backup_schema_version,
        }
    }
}

/// PD's answer is stored quoted with a newline (`"5.3.0-alpha"\n`); BR trims and unquotes it.
fn normalize_version(raw: &str) -> String {
    raw.trim().trim_matches('"').trim().to_owned()
}

/// `Release Version: v5.2.1` from BR's multi-line build info.
fn release_version(br_version: &str) -> Option<String> {
    br_version
        .lines()
        .find_map(|l| l.strip_prefix("Release Version:"))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}
