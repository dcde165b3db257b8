//! BR's argument vector: the seed's three credential variants, every `spec.br` field, scopes,
//! storage flags, options last, and no credential anywhere.

use serde_json::{Value, json};
use tibr_api::Backup;

use super::*;
use crate::backup::validate;

fn backup(metadata: Value, spec: Value) -> ValidBackup {
    let b: Backup = serde_json::from_value(json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
        "metadata": metadata, "spec": spec
    }))
    .unwrap();
    validate(&b, None).unwrap_or_else(|e| panic!("invalid: {e:?}"))
}

fn seed_metadata() -> Value {
    json!({"name": "demo1-backup-s3", "namespace": "test1"})
}

/// The seed's `from` with its placeholders filled in as the sandbox does.
fn seed_from() -> Value {
    json!({"host": "127.0.0.1", "port": 4000, "user": "root", "secretName": "backup-demo1-tidb-secret"})
}

/// The three ad-hoc Backups of the seed document (static keys, kube2iam, IRSA).
fn seed_variants() -> Vec<(&'static str, ValidBackup)> {
    let s3 = json!({"provider": "aws", "region": "us-west-1", "bucket": "my-bucket", "prefix": "my-folder"});
    let mut static_s3 = s3.clone();
    static_s3["secretName"] = json!("s3-secret");
    vec![
        (
            "static keys",
            backup(
                seed_metadata(),
                json!({"backupType": "full",
                       "br": {"cluster": "demo1", "clusterNamespace": "test1"},
                       "from": seed_from(), "s3": static_s3}),
            ),
        ),
        (
            "kube2iam",
            backup(
                json!({"name": "demo1-backup-s3", "namespace": "test1",
                       "annotations": {"iam.amazonaws.com/role": "arn:aws:iam::123456789012:role/user"}}),
                json!({"backupType": "full",
                       "br": {"cluster": "demo1", "sendCredToTikv": false, "clusterNamespace": "test1"},
                       "from": seed_from(), "s3": s3.clone()}),
            ),
        ),
        (
            "IRSA",
            backup(
                seed_metadata(),
                json!({"backupType": "full", "serviceAccount": "tidb-backup-manager",
                       "br": {"cluster": "demo1", "sendCredToTikv": false, "clusterNamespace": "test1"},
                       "from": seed_from(), "s3": s3}),
            ),
        ),
    ]
}

#[test]
fn the_seeds_three_variants() {
    let base = [
        "backup",
        "full",
        "--pd=demo1-pd.test1:2379",
        "--storage=s3://my-bucket/my-folder",
        "--s3.region=us-west-1",
        "--s3.provider=aws",
        "--s3.storage-class=STANDARD_IA",
    ];
    let variants = seed_variants();
    let (_, static_keys) = &variants[0];
    assert_eq!(backup_args(static_keys, false), base);
    for (name, v) in &variants[1..] {
        let mut want: Vec<&str> = base.to_vec();
        want.insert(3, "--send-credentials-to-tikv=false");
        assert_eq!(backup_args(v, false), want, "{name}");
    }
}

#[test]
fn every_br_field_in_tidb_operators_order() {
    let v = backup(
        seed_metadata(),
        json!({
            "backupType": "full",
            "commitTs": "420134118382108673",
            "tableFilter": ["*.*", "!db.table"],
            "br": {"cluster": "demo1", "clusterNamespace": "tidb-ns",
                   "logLevel": "debug", "statusAddr": "0.0.0.0:8080", "sendCredToTikv": true,
                   "concurrency": 8, "rateLimit": 64, "timeAgo": "1h30m", "checksum": false,
                   "checkRequirements": false,
                   "options": ["--lastbackupts=420134118382108000", "--concurrency=16"]},
            "s3": {"provider": "minio", "bucket": "b/sub", "prefix": "p", "region": "us-east-1",
                   "endpoint": "http://minio:9000", "sse": "AES256", "acl": "bucket-owner-full-control",
                   "storageClass": "ONEZONE_IA", "forcePathStyle": false}
        }),
    );
    assert_eq!(
        backup_args(&v, true),
        [
            "backup",
            "full",
            "--backupts=420134118382108673",
            "--pd=demo1-pd.tidb-ns:2379",
            "--ca=/var/lib/cluster-client-tls/ca.crt",
            "--cert=/var/lib/cluster-client-tls/tls.crt",
            "--key=/var/lib/cluster-client-tls/tls.key",
            "--log-level=debug",
            "--status-addr=0.0.0.0:8080",
            "--send-credentials-to-tikv=true",
            "--storage=s3://b/sub/p?force-path-style=false",
            "--s3.region=us-east-1",
            "--s3.provider=minio",
            "--s3.endpoint=http://minio:9000",
            "--s3.sse=AES256",
            "--s3.acl=bucket-owner-full-control",
            "--s3.storage-class=ONEZONE_IA",
            "--filter=*.*",
            "--filter=!db.table",
            "--concurrency=8",
            "--ratelimit=64",
            "--timeago=1h30m",
            "--checksum=false",
            "--check-requirements=false",
            // Last, verbatim: BR takes the last --concurrency.
            "--lastbackupts=420134118382108000",
            "--concurrency=16",
        ]
    );
}

#[test]
fn db_and_table_scopes() {
    let spec = |t: &str, br: Value| {
        json!({"backupType": t, "br": br,
               "s3": {"provider": "ceph", "bucket": "bkt", "endpoint": "http://ceph:80"}})
    };
    let db = backup(
        seed_metadata(),
        spec("db", json!({"cluster": "c", "db": "app"})),
    );
    let args = backup_args(&db, false);
    assert_eq!(&args[..2], ["backup", "db"]);
    assert!(args.contains(&"--db=app".to_string()), "{args:?}");
    assert!(
        !args.iter().any(|a| a.starts_with("--s3.storage-class")),
        "no default storage class outside provider aws: {args:?}"
    );
    let table = backup(
        seed_metadata(),
        spec(
            "table",
            json!({"cluster": "c", "db": "app", "table": "orders"}),
        ),
    );
    let args = backup_args(&table, false);
    assert_eq!(&args[..2], ["backup", "table"]);
    let db_at = args.iter().position(|a| a == "--db=app").unwrap();
    assert_eq!(args[db_at + 1], "--table=orders");
}

#[test]
fn acl_only_when_asked_and_storage_class_by_default_on_aws() {
    let aws = |s3: Value| {
        backup(
            seed_metadata(),
            json!({"br": {"cluster": "demo1"}, "s3": s3}),
        )
    };
    let default = backup_args(
        &aws(json!({"provider": "aws", "bucket": "bkt", "prefix": "p"})),
        false,
    );
    assert!(default.contains(&"--s3.storage-class=STANDARD_IA".to_string()));
    assert!(
        !default.iter().any(|a| a.starts_with("--s3.acl")),
        "{default:?}"
    );
    let explicit = backup_args(
        &aws(
            json!({"provider": "aws", "bucket": "bkt", "acl": "private", "storageClass": "STANDARD"}),
        ),
        false,
    );
    assert!(explicit.contains(&"--s3.acl=private".to_string()));
    assert!(explicit.contains(&"--s3.storage-class=STANDARD".to_string()));
    assert!(explicit.contains(&"--storage=s3://bkt".to_string()));
    let path_style = backup_args(
        &aws(json!({"provider": "aws", "bucket": "bkt", "prefix": "p", "forcePathStyle": true})),
        false,
    );
    assert!(path_style.contains(&"--storage=s3://bkt/p?force-path-style=true".to_string()));
}

#[test]
fn incremental_backups_pass_lastbackupts_through_last() {
    let v = backup(
        seed_metadata(),
        json!({"backupType": "full",
               "br": {"cluster": "demo1", "options": ["--lastbackupts=420134118382108673"]},
               "s3": {"provider": "aws", "bucket": "my-bucket", "prefix": "incr-1"}}),
    );
    let args = backup_args(&v, false);
    assert_eq!(args.last().unwrap(), "--lastbackupts=420134118382108673");
    assert_eq!(
        args.iter().filter(|a| a.contains("lastbackupts")).count(),
        1,
        "we never generate --lastbackupts ourselves"
    );
}

#[test]
fn no_credential_is_ever_an_argument() {
    for (name, v) in seed_variants() {
        let args = backup_args(&v, true);
        let joined = args.join(" ");
        for needle in [
            "access-key",
            "secret",
            "password",
            "s3-secret",
            "backup-demo1-tidb-secret",
            "AKIA",
            "token",
        ] {
            assert!(
                !joined.to_lowercase().contains(&needle.to_lowercase()),
                "{name}: {needle:?} in {joined}"
            );
        }
        // Nothing from `from` (TiDB host, user) reaches BR either: BR talks to PD.
        assert!(!joined.contains("127.0.0.1:4000"), "{joined}");
    }
}

#[test]
fn logs_hide_credentials_users_put_in_options() {
    let args: Vec<String> = [
        "backup",
        "full",
        "--storage=s3://b/p?access-key=AKIAXXXX&secret-access-key=s3cr3t&force-path-style=true",
        "--crypter.key=0123abcd",
        "--crypter.key",
        "0123abcd",
        "--lastbackupts=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let shown = redact_args(&args);
    let joined = shown.join(" ");
    assert!(
        !joined.contains("AKIAXXXX") && !joined.contains("s3cr3t"),
        "{joined}"
    );
    assert!(!joined.contains("0123abcd"), "{joined}");
    assert!(joined.contains("force-path-style=true"), "{joined}");
    assert_eq!(shown[6], "--lastbackupts=1");
    assert_eq!(shown.len(), args.len());
}
