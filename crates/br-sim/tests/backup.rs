//! The stand-in's successful paths, checked through `tibr-storage`'s reader (which is itself
//! checked against real BR files) and by listing what landed in s3s-fs.

mod common;

use std::time::Duration;

use common::{Env, progress, value};
use sha2::{Digest, Sha256};
use tibr_storage::backupmeta::{self, RetryPolicy};
use tibr_storage::{Layout, SizeSource};

const PD: &str = "--pd=basic-pd.tidb-cluster:2379";

#[tokio::test]
async fn full_backup_writes_what_the_reader_decodes() {
    let env = Env::start().await;
    let run = env
        .br(&["backup", "full", PD, &env.storage("daily/b1")], &[])
        .await;
    run.ok();
    let summary_line = run.summary();
    assert!(summary_line.contains("[INFO] [collector.go:77] [\"Full Backup success summary\"]"));
    let backup_ts: u64 = value(summary_line, "BackupTS").unwrap().parse().unwrap();
    let size: u64 = value(summary_line, "Size").unwrap().parse().unwrap();
    for key in [
        "total-ranges",
        "total-kv",
        "total-kv-size",
        "backup-data-size(after-compressed)",
    ] {
        assert!(
            value(summary_line, key).is_some(),
            "{key} missing: {summary_line}"
        );
    }

    let meta = env.meta("daily/b1").await;
    assert_eq!(meta.layout, Layout::V2, "recent BR writes v2 by default");
    assert_eq!(meta.commit_ts, backup_ts);
    assert_eq!(meta.start_version, 0);
    assert_eq!(meta.data_bytes, size);
    assert!(size > 1_000_000 && size <= 1 << 20, "{size}");
    assert_eq!(meta.size_source, SizeSource::Recorded);
    assert_eq!(meta.cluster_version, "8.5.1");
    assert_eq!(meta.br_release_version.as_deref(), Some("v8.5.1"));
    assert_eq!(meta.schema_count, 7);
    // A TSO from about now.
    let physical_ms = (backup_ts >> 18) as i64;
    let now_ms = jiff::Timestamp::now().as_millisecond();
    assert!((now_ms - physical_ms).abs() < 60_000);

    // What is stored matches what the meta describes, byte for byte.
    let store = env.store();
    let objects = store.list("daily/b1").await.unwrap();
    let ssts: Vec<_> = objects.iter().filter(|o| o.key.ends_with(".sst")).collect();
    assert_eq!(ssts.len(), meta.file_count);
    assert_eq!(ssts.iter().map(|o| o.size).sum::<u64>(), size);
    let stored: u64 = objects
        .iter()
        .filter(|o| !o.key.ends_with("backup.lock"))
        .map(|o| o.size)
        .sum();
    assert_eq!(
        stored,
        meta.root_meta_bytes + meta.meta_file_bytes + meta.data_bytes
    );
    // BR's backup_size leaves out the few bytes of its own field.
    assert!(meta.backup_size < stored && stored - meta.backup_size < 16);
    assert!(
        objects
            .iter()
            .any(|o| o.key.contains("backupmeta.datafile.000000001"))
    );
    assert_eq!(
        store.get("daily/b1/backup.lock").await.unwrap().as_ref(),
        backupmeta::LOCK_FILE_CONTENT.as_bytes()
    );
    let contents = backupmeta::read_backup_contents(&store, "daily/b1", &RetryPolicy::default())
        .await
        .unwrap();
    let file = &contents.data_files[0];
    assert!(file.name.starts_with(['1', '4', '5']) && file.name.ends_with("_write.sst"));
    let bytes = store.get(&format!("daily/b1/{}", file.name)).await.unwrap();
    assert_eq!(Sha256::digest(&bytes).as_slice(), file.sha256.as_slice());
    assert_eq!(file.end_version, backup_ts);

    // Progress: BR's log shape, rising to 100 % for the backup step and the checksum.
    let steps = progress(&run.stdout, "Full Backup");
    assert!(steps.len() >= 2, "{}", run.stdout);
    assert!(steps.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(steps.first(), Some(&0.0));
    assert_eq!(steps.last(), Some(&100.0));
    assert_eq!(progress(&run.stdout, "Checksum").last(), Some(&100.0));
    assert!(
        run.stdout
            .contains("[\"Welcome to Backup & Restore (BR)\"] [release-version=v8.5.1]")
    );
}

#[tokio::test]
async fn the_same_prefix_twice_fails_with_brs_message() {
    let env = Env::start().await;
    env.br(&["backup", "full", PD, &env.storage("p")], &[])
        .await
        .ok();
    let again = env
        .br(&["backup", "full", PD, &env.storage("p")], &[])
        .await;
    assert_eq!(again.status.code(), Some(1));
    let expected = format!(
        "Error: backup meta file exists in s3://{}/p//backupmeta, there may be some backup \
         files in the path already, please specify a correct backup directory!: \
         [BR:Common:ErrInvalidArgument]invalid argument\n",
        env.bucket
    );
    assert_eq!(again.stderr, expected);
    assert!(again.stdout.contains("[\"Full Backup failed summary\"]"));
    assert!(
        again
            .stdout
            .contains("[ERROR] [main.go:58] [\"br failed\"]")
    );
}

#[tokio::test]
async fn db_table_and_filters_narrow_the_backup() {
    let env = Env::start().await;
    let full = env
        .br(&["backup", "full", PD, &env.storage("full")], &[])
        .await;
    full.ok();
    let db = env
        .br(&["backup", "db", PD, "--db=app", &env.storage("db")], &[])
        .await;
    db.ok();
    assert!(
        db.summary()
            .contains("[\"Database Backup success summary\"]")
    );
    let table = env
        .br(
            &[
                "backup",
                "table",
                PD,
                "--db",
                "sales",
                "-t",
                "invoices",
                &env.storage("t"),
            ],
            &[],
        )
        .await;
    table.ok();
    assert!(
        table
            .summary()
            .contains("[\"Table Backup success summary\"]")
    );
    let filtered = env
        .br(
            &[
                "backup",
                "full",
                PD,
                "-f",
                "test.*",
                "--filter=!test.t2",
                &env.storage("f"),
            ],
            &[],
        )
        .await;
    filtered.ok();

    let (full, db, table, filtered) = (
        env.meta("full").await,
        env.meta("db").await,
        env.meta("t").await,
        env.meta("f").await,
    );
    assert_eq!(
        (db.schema_count, table.schema_count, filtered.schema_count),
        (3, 1, 1)
    );
    assert!(db.data_bytes < full.data_bytes && table.data_bytes < full.data_bytes);
    assert_eq!(full.cluster_id, db.cluster_id, "same --pd, same cluster");
    let contents = backupmeta::read_backup_contents(&env.store(), "t", &RetryPolicy::default())
        .await
        .unwrap();
    let table_json = String::from_utf8(contents.schemas[0].table.clone()).unwrap();
    assert!(table_json.contains("\"O\":\"invoices\""), "{table_json}");
    let contents = backupmeta::read_backup_contents(&env.store(), "f", &RetryPolicy::default())
        .await
        .unwrap();
    let table_json = String::from_utf8(contents.schemas[0].table.clone()).unwrap();
    assert!(table_json.contains("\"O\":\"t1\""), "{table_json}");

    let other = env
        .br(
            &["backup", "full", "--pd=other-pd:2379", &env.storage("o")],
            &[],
        )
        .await;
    other.ok();
    assert_ne!(env.meta("o").await.cluster_id, full.cluster_id);
}

#[tokio::test]
async fn incremental_backup_from_lastbackupts() {
    let env = Env::start().await;
    let base = env
        .br(&["backup", "full", PD, &env.storage("base")], &[])
        .await;
    base.ok();
    let base_ts = value(base.summary(), "BackupTS").unwrap().to_owned();
    let inc = env
        .br(
            &[
                "backup",
                "full",
                PD,
                &format!("--lastbackupts={base_ts}"),
                &env.storage("inc"),
            ],
            &[],
        )
        .await;
    inc.ok();
    assert!(
        inc.stdout
            .contains("Skip fast checksum in incremental backup")
    );
    let (base, inc) = (env.meta("base").await, env.meta("inc").await);
    assert_eq!(inc.start_version.to_string(), base_ts);
    assert!(inc.commit_ts > inc.start_version);
    assert_eq!(inc.ddl_count, 7);
    assert!(inc.data_bytes < base.data_bytes / 5);

    // A lower bound newer than the backup TS is refused, as BR does.
    let future = (inc.commit_ts + (3_600_000 << 18)).to_string();
    let bad = env
        .br(
            &[
                "backup",
                "full",
                PD,
                "--lastbackupts",
                &future,
                &env.storage("bad"),
            ],
            &[],
        )
        .await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        bad.stderr
            .contains("LastBackupTS is larger or equal to current TS"),
        "{}",
        bad.stderr
    );
}

#[tokio::test]
async fn v1_layout_backupts_and_timeago() {
    let env = Env::start().await;
    let v1 = env
        .br(
            &[
                "backup",
                "full",
                PD,
                "--use-backupmeta-v2=false",
                "--backupts=449123456789012481",
                &env.storage("v1"),
            ],
            &[],
        )
        .await;
    v1.ok();
    let meta = env.meta("v1").await;
    assert_eq!(meta.layout, Layout::V1);
    assert_eq!(meta.commit_ts, 449_123_456_789_012_481);
    assert_eq!(meta.meta_file_count, 0);
    assert!(
        env.store()
            .list("v1")
            .await
            .unwrap()
            .iter()
            .all(|o| !o.key.contains("backupmeta."))
    );

    env.br(
        &["backup", "full", PD, &env.storage("v1env")],
        &[("BR_SIM_META_VERSION", "1")],
    )
    .await
    .ok();
    assert_eq!(env.meta("v1env").await.layout, Layout::V1);

    env.br(
        &["backup", "full", PD, "--timeago", "1h", &env.storage("ago")],
        &[],
    )
    .await
    .ok();
    let physical_ms = (env.meta("ago").await.commit_ts >> 18) as i64;
    let hour_ago = jiff::Timestamp::now().as_millisecond() - 3_600_000;
    assert!((physical_ms - hour_ago).abs() < 60_000);

    env.br(
        &[
            "backup",
            "full",
            PD,
            "--backupts",
            "2024-05-11 01:42:23+0000",
            &env.storage("dt"),
        ],
        &[],
    )
    .await
    .ok();
    assert_eq!(
        (env.meta("dt").await.commit_ts >> 18) as i64,
        jiff::Timestamp::from_second(1_715_391_743)
            .unwrap()
            .as_millisecond()
    );
}

#[tokio::test]
async fn rate_limit_bounds_the_duration_from_below() {
    let env = Env::start().await;
    // 6 MiB over three stores at 2 MiB/s each cannot take less than one second.
    let run = env
        .br(
            &["backup", "full", PD, "--ratelimit=2", &env.storage("slow")],
            &[
                ("BR_SIM_DATA_BYTES", "6MiB"),
                ("BR_SIM_REGION_BYTES", "256KiB"),
            ],
        )
        .await;
    run.ok();
    assert!(run.elapsed >= Duration::from_secs(1), "{:?}", run.elapsed);
    let take = value(run.summary(), "total-take").unwrap();
    assert!(take.ends_with('s') && !take.ends_with("ms"), "{take}");
}

#[tokio::test]
async fn logs_go_to_a_file_without_br_log_to_term() {
    let env = Env::start().await;
    let dir = tempfile_dir();
    let log_file = dir.join("br.log");
    let mut cmd = env.command(
        &[
            "backup",
            "full",
            PD,
            &env.storage("quiet"),
            "--log-file",
            log_file.to_str().unwrap(),
        ],
        &[],
    );
    cmd.env_remove("BR_LOG_TO_TERM");
    let out = cmd.output().await.unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        format!("Detail BR log in {} \n", log_file.display())
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("Full Backup success summary"));
    let logged = std::fs::read_to_string(&log_file).unwrap();
    assert!(logged.contains("[progress] [step=\"Full Backup\"]"));
    assert!(logged.contains("Full Backup success summary"));
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(tibr_storage::testing::unique_name("br-sim-log"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn version_from_the_library_entry_point() {
    assert_eq!(
        tibr_br_sim::main_with_args(vec!["br".into(), "-V".into()]),
        0
    );
    assert_eq!(
        tibr_br_sim::main_with_args(vec!["br".into(), "--nope".into()]),
        1
    );
}

#[tokio::test]
async fn nothing_to_backup_still_writes_a_backupmeta() {
    let env = Env::start().await;
    let run = env
        .br(
            &[
                "backup",
                "full",
                PD,
                "--filter=nosuchdb.*",
                &env.storage("none"),
            ],
            &[],
        )
        .await;
    run.ok();
    assert!(run.stdout.contains(
        "[WARN] [backup.go:407] [\"Nothing to backup, maybe connected to cluster for restoring\"]"
    ));
    let summary = run.summary();
    assert_eq!(value(summary, "total-ranges"), Some("0"));
    assert!(value(summary, "BackupTS").is_some());
    assert!(value(summary, "Size").is_none(), "{summary}");
    let meta = env.meta("none").await;
    assert_eq!((meta.file_count, meta.schema_count), (0, 0));
    assert!(meta.commit_ts > 0);
}
