//! kvproto `brpb.proto` (package `backup`) messages, declared by hand with prost's derive.
//!
//! Field numbers and types follow kvproto (see `shared/reference/br-formats.md` §1). prost
//! encodes fields in tag order, as BR's gogoproto code does, so re-encoding a BR file gives the
//! same bytes when every field it uses is declared here. Messages tibr never looks inside
//! (PiTR id maps, file-copy ranges) are kept as raw bytes under their field numbers: a nested
//! message and a `bytes` field share the wire type, so they still round-trip unchanged.

use std::collections::BTreeMap;

/// The root `backupmeta` object.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BackupMeta {
    #[prost(uint64, tag = "1")]
    pub cluster_id: u64,
    /// PD's version answer, quoted with a trailing newline in real files.
    #[prost(string, tag = "2")]
    pub cluster_version: String,
    /// Data files (v1 layout only).
    #[prost(message, repeated, tag = "4")]
    pub files: Vec<File>,
    #[prost(uint64, tag = "5")]
    pub start_version: u64,
    /// The backup TS: TiDB Operator's `commitTs`.
    #[prost(uint64, tag = "6")]
    pub end_version: u64,
    /// Table schemas (v1 layout only).
    #[prost(message, repeated, tag = "7")]
    pub schemas: Vec<Schema>,
    #[prost(bool, tag = "8")]
    pub is_raw_kv: bool,
    #[prost(message, repeated, tag = "9")]
    pub raw_ranges: Vec<RawRange>,
    /// JSON array of DDL jobs; writers initialise it to `[]`.
    #[prost(bytes = "vec", tag = "10")]
    pub ddls: Vec<u8>,
    #[prost(string, tag = "11")]
    pub br_version: String,
    /// 0 = v1 (files inline), 1 = v2 (meta-file indexes).
    #[prost(int32, tag = "12")]
    pub version: i32,
    #[prost(message, optional, tag = "13")]
    pub file_index: Option<MetaFile>,
    #[prost(message, optional, tag = "14")]
    pub schema_index: Option<MetaFile>,
    #[prost(message, optional, tag = "15")]
    pub raw_range_index: Option<MetaFile>,
    #[prost(message, optional, tag = "16")]
    pub ddl_indexes: Option<MetaFile>,
    #[prost(string, tag = "17")]
    pub backup_result: String,
    #[prost(enumeration = "ApiVersion", tag = "18")]
    pub api_version: i32,
    #[prost(message, repeated, tag = "19")]
    pub policies: Vec<PlacementPolicy>,
    #[prost(string, tag = "20")]
    pub new_collations_enabled: String,
    #[prost(bool, tag = "21")]
    pub is_txn_kv: bool,
    /// `PitrDBMap` messages, kept opaque.
    #[prost(bytes = "vec", repeated, tag = "22")]
    pub db_maps: Vec<Vec<u8>>,
    #[prost(enumeration = "BackupMode", tag = "23")]
    pub mode: i32,
    /// `BackupRange` messages (file-copy backups), kept opaque.
    #[prost(bytes = "vec", repeated, tag = "24")]
    pub ranges: Vec<Vec<u8>>,
    /// Total stored bytes of the backup (data + meta files + root), written by BR ≥ 2023-11.
    #[prost(uint64, tag = "25")]
    pub backup_size: u64,
    #[prost(uint32, tag = "26")]
    pub backup_schema_version: u32,
}

/// A data SST, or (in v2 indexes) a pointer to a [`MetaFile`] object.
#[derive(Clone, PartialEq, prost::Message)]
pub struct File {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub sha256: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub start_key: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    pub end_key: Vec<u8>,
    #[prost(uint64, tag = "5")]
    pub start_version: u64,
    #[prost(uint64, tag = "6")]
    pub end_version: u64,
    #[prost(uint64, tag = "7")]
    pub crc64xor: u64,
    #[prost(uint64, tag = "8")]
    pub total_kvs: u64,
    #[prost(uint64, tag = "9")]
    pub total_bytes: u64,
    #[prost(string, tag = "10")]
    pub cf: String,
    /// Stored object size (compressed SST); for meta pointers the plaintext length.
    #[prost(uint64, tag = "11")]
    pub size: u64,
    /// AES-CTR IV when the object is encrypted.
    #[prost(bytes = "vec", tag = "12")]
    pub cipher_iv: Vec<u8>,
    #[prost(message, repeated, tag = "13")]
    pub table_metas: Vec<TableMeta>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TableMeta {
    #[prost(int64, tag = "1")]
    pub physical_id: i64,
    #[prost(uint64, tag = "2")]
    pub crc64xor: u64,
    #[prost(uint64, tag = "3")]
    pub total_kvs: u64,
    #[prost(uint64, tag = "4")]
    pub total_bytes: u64,
}

/// A v2 index node (`meta_files`) or leaf (the other fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetaFile {
    #[prost(message, repeated, tag = "1")]
    pub meta_files: Vec<File>,
    #[prost(message, repeated, tag = "2")]
    pub data_files: Vec<File>,
    #[prost(message, repeated, tag = "3")]
    pub schemas: Vec<Schema>,
    #[prost(message, repeated, tag = "4")]
    pub raw_ranges: Vec<RawRange>,
    /// Each a JSON DDL job; readers join them into one JSON array.
    #[prost(bytes = "vec", repeated, tag = "5")]
    pub ddls: Vec<Vec<u8>>,
    /// `BackupRange` messages, kept opaque.
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub backup_ranges: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Schema {
    /// DBInfo JSON.
    #[prost(bytes = "vec", tag = "1")]
    pub db: Vec<u8>,
    /// TableInfo JSON; absent for an empty database.
    #[prost(bytes = "vec", tag = "2")]
    pub table: Vec<u8>,
    #[prost(uint64, tag = "3")]
    pub crc64xor: u64,
    #[prost(uint64, tag = "4")]
    pub total_kvs: u64,
    #[prost(uint64, tag = "5")]
    pub total_bytes: u64,
    #[prost(uint32, tag = "6")]
    pub tiflash_replicas: u32,
    #[prost(bytes = "vec", tag = "7")]
    pub stats: Vec<u8>,
    #[prost(message, repeated, tag = "8")]
    pub stats_index: Vec<StatsFileIndex>,
    #[prost(bool, tag = "9")]
    pub is_merge_option_allowed: bool,
    #[prost(btree_map = "string, bool", tag = "10")]
    pub partition_merge_option_allowed: BTreeMap<String, bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StatsFileIndex {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub sha256: Vec<u8>,
    /// Stored (possibly encrypted) size; counted in BR's `backup_size`.
    #[prost(uint64, tag = "3")]
    pub size_enc: u64,
    #[prost(uint64, tag = "4")]
    pub size_ori: u64,
    #[prost(bytes = "vec", tag = "5")]
    pub cipher_iv: Vec<u8>,
    #[prost(bytes = "vec", tag = "6")]
    pub inline_data: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RawRange {
    #[prost(bytes = "vec", tag = "1")]
    pub start_key: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub end_key: Vec<u8>,
    #[prost(string, tag = "3")]
    pub cf: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PlacementPolicy {
    /// PolicyInfo JSON.
    #[prost(bytes = "vec", tag = "1")]
    pub info: Vec<u8>,
}

/// kvrpcpb `APIVersion`: how keys and values are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ApiVersion {
    V1 = 0,
    V1ttl = 1,
    V2 = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum BackupMode {
    Scan = 0,
    File = 1,
}
