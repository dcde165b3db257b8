//! The simulated TiDB cluster behind `--pd`, and the files a backup of it produces.
//!
//! Everything is derived from a seed hashed from the PD addresses, so the same command line
//! describes the same cluster (ids, table weights, file contents); only file names carry the
//! wall-clock millisecond, as BR's do. The schema is fixed — databases `app` (`users`,
//! `orders`, `events`), `sales` (`customers`, `invoices`) and `test` (`t1`, `t2`) — and the
//! total data size (`BR_SIM_DATA_BYTES`) is spread over the tables by seeded weights, so a
//! filter narrows a backup to its share. Each table is cut into regions of at most
//! `BR_SIM_REGION_BYTES`; each region gives a `write` and a `default` SST on one of three
//! stores (1, 4, 5), named `<store>_<region>_<epoch>_<sha256(start key)>_<ms>_<cf>.sst`.
//!
//! An incremental backup (`--lastbackupts`) covers a tenth of each table's data and records
//! one DDL job per table.

use sha2::{Digest, Sha256};
use tibr_storage::backupmeta::{File, Schema};

use crate::filter::Filter;

/// The simulated TiKV stores.
pub const STORES: [u64; 3] = [1, 4, 5];

const SCHEMA: &[(&str, &[&str])] = &[
    ("app", &["users", "orders", "events"]),
    ("sales", &["customers", "invoices"]),
    ("test", &["t1", "t2"]),
];

/// Logical bytes per stored byte (SSTs are compressed).
const COMPRESSION_RATIO: u64 = 3;
/// Logical bytes per key-value pair.
const KV_SIZE: u64 = 128;
/// Row handles per region, for key ranges.
const HANDLES_PER_REGION: i64 = 10_000;

#[derive(Debug, Clone)]
pub struct Table {
    pub db_id: i64,
    pub db: &'static str,
    pub id: i64,
    pub name: &'static str,
    weight: u64,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub seed: u64,
    pub cluster_id: u64,
    /// Semver without `v`, as PD reports it.
    pub version: String,
    pub tables: Vec<Table>,
}

/// One region's SSTs, content not yet generated.
#[derive(Debug, Clone)]
pub struct Region {
    pub id: u64,
    pub store: u64,
    pub table: usize,
    /// Files with every field but `sha256` set.
    pub files: Vec<File>,
}

impl Region {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// Indexes into `Cluster::tables`.
    pub tables: Vec<usize>,
    pub regions: Vec<Region>,
}

/// What the plan needs besides the filter.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput {
    pub data_bytes: u64,
    pub region_bytes: u64,
    pub backup_ts: u64,
    /// 0 for a full backup.
    pub last_backup_ts: u64,
    pub now_ms: i64,
}

/// splitmix64: a small, well-mixed deterministic generator.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a of the PD addresses, order-independent.
pub fn seed_for(pd: &[String]) -> u64 {
    let mut addresses: Vec<&str> = pd.iter().map(|s| s.trim()).collect();
    addresses.sort_unstable();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in addresses.join(",").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A TSO: physical milliseconds shifted left 18 bits, plus a logical counter.
pub fn tso(physical_ms: i64, logical: u64) -> u64 {
    ((physical_ms.max(0) as u64) << 18) | (logical & 0x3FFFF)
}

pub fn tso_physical_ms(ts: u64) -> i64 {
    (ts >> 18) as i64
}

/// TiDB's record key: `t{table id}_r{handle}` with sign-flipped big-endian integers.
fn record_key(table_id: i64, handle: i64) -> Vec<u8> {
    let mut key = b"t".to_vec();
    key.extend(((table_id as u64) ^ (1 << 63)).to_be_bytes());
    key.extend(b"_r");
    key.extend(((handle as u64) ^ (1 << 63)).to_be_bytes());
    key
}

impl Cluster {
    pub fn new(pd: &[String], version: &str) -> Self {
        let seed = seed_for(pd);
        let mut tables = Vec::new();
        let mut next_id = 100;
        for (db_index, (db, names)) in SCHEMA.iter().enumerate() {
            let db_id = 2 + 2 * db_index as i64;
            for name in *names {
                next_id += 2;
                tables.push(Table {
                    db_id,
                    db,
                    id: next_id,
                    name,
                    weight: 1 + mix(seed ^ next_id as u64) % 9,
                });
            }
        }
        Cluster {
            seed,
            cluster_id: 7_000_000_000_000_000_000 + mix(seed) % 1_000_000_000_000_000_000,
            version: version.to_owned(),
            tables,
        }
    }

    pub fn plan(&self, filter: &Filter, input: PlanInput) -> Plan {
        let total_weight: u64 = self.tables.iter().map(|t| t.weight).sum();
        let selected: Vec<usize> = (0..self.tables.len())
            .filter(|&i| filter.matches(self.tables[i].db, self.tables[i].name))
            .collect();
        let mut regions = Vec::new();
        let mut region_id = 2 + mix(self.seed) % 1000;
        let region_bytes = input.region_bytes.max(2);
        for &index in &selected {
            let table = &self.tables[index];
            let share =
                u128::from(input.data_bytes) * u128::from(table.weight) / u128::from(total_weight);
            let mut bytes = share as u64;
            if input.last_backup_ts > 0 {
                bytes /= 10;
            }
            if bytes == 0 {
                continue;
            }
            let count = bytes.div_ceil(region_bytes);
            for r in 0..count {
                let this = bytes / count + u64::from(r < bytes % count);
                region_id += 2;
                let store = STORES[(region_id as usize / 2) % STORES.len()];
                let start = record_key(table.id, r as i64 * HANDLES_PER_REGION);
                let end = record_key(table.id, (r as i64 + 1) * HANDLES_PER_REGION);
                let write = (this / 8).max(u64::from(this > 1));
                let files = [("write", write), ("default", this - write)]
                    .into_iter()
                    .filter(|(_, size)| *size > 0)
                    .enumerate()
                    .map(|(k, (cf, size))| {
                        let logical = size * COMPRESSION_RATIO;
                        File {
                            name: format!(
                                "{store}_{region_id}_{}_{}_{}_{cf}.sst",
                                1 + region_id % 5,
                                hex(&Sha256::digest(&start)),
                                input.now_ms + k as i64,
                            ),
                            start_key: start.clone(),
                            end_key: end.clone(),
                            start_version: input.last_backup_ts,
                            end_version: input.backup_ts,
                            crc64xor: mix(self.seed ^ region_id ^ k as u64),
                            total_kvs: (logical / KV_SIZE).max(1),
                            total_bytes: logical,
                            cf: cf.into(),
                            size,
                            ..Default::default()
                        }
                    })
                    .collect();
                regions.push(Region {
                    id: region_id,
                    store,
                    table: index,
                    files,
                });
            }
        }
        Plan {
            tables: selected,
            regions,
        }
    }

    /// Deterministic SST bytes for one file (incompressible, as compressed SSTs are).
    pub fn content(&self, file: &File) -> Vec<u8> {
        let mut state = mix(self.seed ^ file.crc64xor);
        let mut out = Vec::with_capacity(file.size as usize + 8);
        while (out.len() as u64) < file.size {
            state = mix(state);
            out.extend(state.to_le_bytes());
        }
        out.truncate(file.size as usize);
        out
    }

    /// The schema entry BR records for a table; checksums only when BR computed them.
    pub fn schema(&self, index: usize, files: &[File], with_checksum: bool, ts: u64) -> Schema {
        let t = &self.tables[index];
        let db = serde_json::json!({
            "id": t.db_id,
            "db_name": {"O": t.db, "L": t.db},
            "charset": "utf8mb4",
            "collate": "utf8mb4_bin",
            "state": 5,
        });
        let table = serde_json::json!({
            "id": t.id,
            "name": {"O": t.name, "L": t.name},
            "charset": "utf8mb4",
            "collate": "utf8mb4_bin",
            "cols": [
                {"id": 1, "name": {"O": "id", "L": "id"}, "offset": 0,
                 "type": {"Tp": 8, "Flag": 4099, "Flen": 20}, "state": 5},
                {"id": 2, "name": {"O": "payload", "L": "payload"}, "offset": 1,
                 "type": {"Tp": 15, "Flag": 0, "Flen": 255}, "state": 5},
            ],
            "index_info": null,
            "state": 5,
            "pk_is_handle": true,
            "update_timestamp": ts,
            "version": 5,
            "max_col_id": 2,
        });
        let (mut crc, mut kvs, mut bytes) = (0, 0, 0);
        if with_checksum {
            for f in files {
                crc ^= f.crc64xor;
                kvs += f.total_kvs;
                bytes += f.total_bytes;
            }
        }
        Schema {
            db: db.to_string().into_bytes(),
            table: table.to_string().into_bytes(),
            crc64xor: crc,
            total_kvs: kvs,
            total_bytes: bytes,
            ..Default::default()
        }
    }

    /// One DDL job per table for an incremental backup, finished inside (last, backup].
    pub fn ddl_job(&self, index: usize, last_ts: u64, backup_ts: u64) -> Vec<u8> {
        let t = &self.tables[index];
        let finished = last_ts + (backup_ts - last_ts) / 2;
        serde_json::json!({
            "id": 1000 + t.id,
            "type": 7,
            "schema_id": t.db_id,
            "table_id": t.id,
            "schema_name": t.db,
            "table_name": t.name,
            "state": 6,
            "query": format!("ALTER TABLE `{}`.`{}` ADD INDEX `idx_payload` (`payload`)", t.db, t.name),
            "binlog": {"SchemaVersion": 50 + t.id, "FinishedTS": finished},
        })
        .to_string()
        .into_bytes()
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PlanInput {
        PlanInput {
            data_bytes: 4 << 20,
            region_bytes: 256 << 10,
            backup_ts: tso(1_700_000_000_000, 3),
            last_backup_ts: 0,
            now_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn plans_are_deterministic_and_filters_narrow_them() {
        let pd = vec!["basic-pd.ns:2379".to_string()];
        let cluster = Cluster::new(&pd, "8.5.1");
        assert_eq!(cluster.cluster_id, Cluster::new(&pd, "8.5.1").cluster_id);
        assert_ne!(
            cluster.cluster_id,
            Cluster::new(&["other:2379".into()], "8.5.1").cluster_id
        );
        let all = cluster.plan(&Filter::parse(&["*.*".into()], false).unwrap(), input());
        let total: u64 = all.regions.iter().map(Region::bytes).sum();
        assert!(total <= 4 << 20 && total > (4 << 20) - 16, "{total}");
        assert_eq!(all.tables.len(), 7);
        let app = cluster.plan(&Filter::database("app"), input());
        assert_eq!(app.tables.len(), 3);
        let app_bytes: u64 = app.regions.iter().map(Region::bytes).sum();
        assert!(app_bytes < total);
        let one = cluster.plan(&Filter::table("sales", "invoices"), input());
        assert_eq!(one.tables.len(), 1);
        assert!(
            one.regions
                .iter()
                .all(|r| r.files.iter().all(|f| f.name.ends_with(".sst")))
        );
        let f = &all.regions[0].files[0];
        assert_eq!(cluster.content(f), cluster.content(f));
        assert_eq!(cluster.content(f).len() as u64, f.size);
    }

    #[test]
    fn tso_layout() {
        let ts = tso(1_700_000_000_000, 5);
        assert_eq!(tso_physical_ms(ts), 1_700_000_000_000);
        assert_eq!(ts & 0x3FFFF, 5);
    }
}
