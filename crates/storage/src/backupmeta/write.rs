//! Encoding a backupmeta in BR's v1 or v2 layout (used by the BR stand-in and by tests).
//!
//! The layout follows BR's meta writer: v1 puts files, schemas and the DDL array in the root;
//! v2 packs each kind into `backupmeta.<kind>.<9-digit seq>` objects (one sequence shared by
//! all kinds, a leaf closed once its payload exceeds the size limit) and points at them from
//! `file_index` / `schema_index` / `ddl_indexes`. `backup_size` is computed as BR does: stored
//! meta objects + stats files + data files + the root's own encoded length before the field is
//! set. Raw ranges always stay inline in the root.
//!
//! Beyond BR: `index_fanout` groups leaf pointers under intermediate `backupmeta.metafile.*`
//! nodes, so readers can be tested on deeper trees than BR writes.

use prost::Message;
use sha2::{Digest, Sha256};

use super::Layout;
use super::proto::{BackupMeta, File, MetaFile, RawRange, Schema};

/// BR's limit on one meta file's payload (128 MiB).
pub const BR_METAFILE_SIZE_LIMIT: usize = 128 * 1024 * 1024;

/// What a backup consists of, before layout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetaInput {
    /// Basic root fields (cluster id, versions, BR version, …); the layout fields are set by
    /// the encoder.
    pub root: BackupMeta,
    pub data_files: Vec<File>,
    pub schemas: Vec<Schema>,
    /// DDL jobs, one JSON document each.
    pub ddls: Vec<Vec<u8>>,
    pub raw_ranges: Vec<RawRange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    pub layout: Layout,
    /// Close a v2 leaf once its payload exceeds this many bytes.
    pub metafile_size_limit: usize,
    /// Maximum pointers per index node before another level is added (v2 only).
    pub index_fanout: Option<usize>,
}

impl EncodeOptions {
    pub fn v1() -> Self {
        EncodeOptions {
            layout: Layout::V1,
            metafile_size_limit: BR_METAFILE_SIZE_LIMIT,
            index_fanout: None,
        }
    }

    pub fn v2() -> Self {
        EncodeOptions {
            layout: Layout::V2,
            ..Self::v1()
        }
    }
}

/// The objects to write: child meta files first, the root last.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedMeta {
    pub root: BackupMeta,
    pub root_bytes: Vec<u8>,
    /// `(name relative to the prefix, content)`.
    pub meta_files: Vec<(String, Vec<u8>)>,
    pub backup_size: u64,
}

#[derive(Clone, Copy)]
enum Kind {
    DataFile,
    Schema,
    Ddl,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::DataFile => "datafile",
            Kind::Schema => "schema",
            Kind::Ddl => "ddl",
        }
    }
}

struct Writer {
    options: EncodeOptions,
    seq: u32,
    objects: Vec<(String, Vec<u8>)>,
}

pub fn encode(input: &MetaInput, options: &EncodeOptions) -> EncodedMeta {
    let mut root = input.root.clone();
    root.files.clear();
    root.schemas.clear();
    root.raw_ranges = input.raw_ranges.clone();
    root.file_index = None;
    root.schema_index = None;
    root.raw_range_index = None;
    root.ddl_indexes = None;
    root.backup_size = 0;
    let mut writer = Writer {
        options: *options,
        seq: 0,
        objects: Vec::new(),
    };
    match options.layout {
        Layout::V1 => {
            root.version = 0;
            root.files = input.data_files.clone();
            root.schemas = input.schemas.clone();
            root.ddls = merge_ddls(&input.ddls);
        }
        Layout::V2 => {
            root.version = 1;
            // The writer starts every root with an empty DDL array and never fills it in v2.
            root.ddls = b"[]".to_vec();
            // BR's order: DDLs (incremental) before data files, schemas after the checksum.
            root.ddl_indexes = writer.index(Kind::Ddl, &input.ddls, |leaf, d| {
                leaf.ddls.push(d.clone());
                d.len()
            });
            root.file_index = writer.index(Kind::DataFile, &input.data_files, |leaf, f| {
                leaf.data_files.push(f.clone());
                f.encoded_len()
            });
            root.schema_index = writer.index(Kind::Schema, &input.schemas, |leaf, s| {
                leaf.schemas.push(s.clone());
                s.encoded_len()
            });
        }
    }
    let meta_bytes: u64 = writer.objects.iter().map(|(_, b)| b.len() as u64).sum();
    let stats_bytes: u64 = input
        .schemas
        .iter()
        .flat_map(|s| &s.stats_index)
        .map(|i| i.size_enc)
        .sum();
    let data_bytes: u64 = input.data_files.iter().map(|f| f.size).sum();
    root.backup_size = meta_bytes + stats_bytes + data_bytes + root.encoded_len() as u64;
    EncodedMeta {
        root_bytes: root.encode_to_vec(),
        backup_size: root.backup_size,
        root,
        meta_files: writer.objects,
    }
}

impl Writer {
    /// Packs `items` into leaves and returns the index node pointing at them.
    fn index<T>(
        &mut self,
        kind: Kind,
        items: &[T],
        mut append: impl FnMut(&mut MetaFile, &T) -> usize,
    ) -> Option<MetaFile> {
        if items.is_empty() {
            return None;
        }
        let mut pointers = Vec::new();
        let mut leaf = MetaFile::default();
        let mut size = 0;
        for item in items {
            size += append(&mut leaf, item);
            if size > self.options.metafile_size_limit {
                pointers.push(self.flush(kind.name(), &leaf));
                leaf = MetaFile::default();
                size = 0;
            }
        }
        if size > 0 || leaf != MetaFile::default() {
            pointers.push(self.flush(kind.name(), &leaf));
        }
        if let Some(fanout) = self.options.index_fanout.filter(|f| *f >= 2) {
            while pointers.len() > fanout {
                pointers = pointers
                    .chunks(fanout)
                    .map(|chunk| {
                        let node = MetaFile {
                            meta_files: chunk.to_vec(),
                            ..Default::default()
                        };
                        self.flush("metafile", &node)
                    })
                    .collect();
            }
        }
        Some(MetaFile {
            meta_files: pointers,
            ..Default::default()
        })
    }

    fn flush(&mut self, kind: &str, node: &MetaFile) -> File {
        self.seq += 1;
        let name = format!("backupmeta.{kind}.{:09}", self.seq);
        let content = node.encode_to_vec();
        let pointer = File {
            name: name.clone(),
            sha256: Sha256::digest(&content).to_vec(),
            size: content.len() as u64,
            ..Default::default()
        };
        self.objects.push((name, content));
        pointer
    }
}

/// Joins DDL job documents into one JSON array (`[]` when there are none).
pub fn merge_ddls(ddls: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"[".to_vec();
    out.extend(ddls.join(&b","[..]));
    out.push(b']');
    out
}
