//! The validation rules, one table per concern.

use serde_json::json;

use super::*;

fn backup(spec: serde_json::Value) -> Backup {
    serde_json::from_value(json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
        "metadata": {"name": "demo1-backup-s3", "namespace": "test1"},
        "spec": spec
    }))
    .unwrap()
}

fn seed_spec() -> serde_json::Value {
    json!({
        "backupType": "full",
        "br": {"cluster": "demo1", "clusterNamespace": "test1"},
        "from": {"host": "basic-tidb", "port": 4000, "user": "root", "secretName": "backup-demo1-tidb-secret"},
        "s3": {"provider": "aws", "secretName": "s3-secret", "region": "us-west-1", "bucket": "my-bucket", "prefix": "my-folder"}
    })
}

fn errors(spec: serde_json::Value) -> Vec<String> {
    validate(&backup(spec), None)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_seed_backup_is_valid_with_tidb_defaults() {
    let v = validate(&backup(seed_spec()), None).unwrap();
    assert_eq!(v.scope, BackupScope::Full { filters: vec![] });
    assert_eq!(v.cluster.pd_address(), "demo1-pd.test1:2379");
    assert_eq!(v.storage.path(), "s3://my-bucket/my-folder");
    let from = v.from.unwrap();
    assert_eq!(from.gc_life_time, Duration::from_secs(72 * 3600));
    assert_eq!((from.port, from.user.as_str()), (4000, "root"));
    let Storage::S3(s3) = v.storage;
    assert_eq!(
        (
            s3.target.effective_acl(true),
            s3.target.effective_storage_class(true)
        ),
        (Some("private"), Some("STANDARD_IA"))
    );
    assert_eq!(
        (s3.target.acl.as_deref(), s3.target.storage_class.as_deref()),
        (None, None)
    );
    assert!(v.warnings.is_empty());
    assert_eq!(v.service_account, "tidb-backup-manager");
    assert_eq!(v.clean_policy, CleanPolicy::Retain);
    assert_eq!(v.retry.max_retry_times, 2);
    assert_eq!(v.retry.min_retry_duration, Duration::from_secs(300));
    assert_eq!(v.clean.page_size, 10_000);
}

#[test]
fn use_kms_false_is_accepted() {
    let mut spec = seed_spec();
    spec["useKMS"] = json!(false);
    assert!(validate(&backup(spec), None).is_ok());
}

#[test]
fn unknown_clean_policies_mean_retain() {
    let mut spec = seed_spec();
    spec["cleanPolicy"] = json!("Sometimes");
    let v = validate(&backup(spec), None).unwrap();
    assert_eq!(v.clean_policy, CleanPolicy::Retain);
    assert_eq!(v.unknown_clean_policy.as_deref(), Some("Sometimes"));
    assert!(!v.is_clean_candidate());
}

#[test]
fn empty_strings_mean_the_defaults() {
    // What a Helm template renders for a value left unset.
    let with_empty = |field: &str| {
        let mut spec = seed_spec();
        spec[field] = json!("");
        validate(&backup(spec), None).unwrap_or_else(|e| panic!("{field}: \"\" is refused: {e:?}"))
    };
    // A snapshot backup (log and volume-snapshot ones are refused by this version).
    with_empty("backupMode");
    assert_eq!(
        with_empty("backupType").scope,
        BackupScope::Full { filters: vec![] }
    );
    let v = with_empty("cleanPolicy");
    assert_eq!(v.clean_policy, CleanPolicy::Retain);
    // The default, not an unknown policy to warn about.
    assert_eq!(v.unknown_clean_policy, None);
}

#[test]
fn invalid_specs_name_their_fields() {
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            json!({"br": {"cluster": ""}, "s3": {"provider": "aws", "bucket": "bkt"}}),
            "spec.br.cluster: must name the TidbCluster",
        ),
        (
            json!({"s3": {"provider": "aws", "bucket": "bkt"}}),
            "spec.br: required",
        ),
        (
            json!({"br": {"cluster": "c"}, "s3": {"provider": "aws"}}),
            "spec.s3.bucket: must not be empty",
        ),
        (json!({"br": {"cluster": "c"}}), "spec.s3: required"),
        (
            json!({"br": {"cluster": "c"}, "gcs": {"projectId": "p", "bucket": "bkt"}}),
            "spec.gcs: Google Cloud Storage is not supported yet",
        ),
        (
            json!({"br": {"cluster": "c"}, "s3": {"provider": "minio", "bucket": "bkt", "endpoint": "minio:9000"}}),
            "spec.s3.endpoint: \"minio:9000\" is not a URL with a scheme and a host",
        ),
        (
            json!({"br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "bkt", "acl": "everyone"}}),
            "spec.s3.acl: unsupported value \"everyone\"",
        ),
        (
            json!({"br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "bkt", "storageClass": "COLD"}}),
            "spec.s3.storageClass: unsupported value \"COLD\"",
        ),
        (
            json!({"backupType": "db", "br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "bkt"}}),
            "spec.br.db: required when backupType is db",
        ),
        (
            json!({"backupType": "table", "br": {"cluster": "c", "db": "d"}, "s3": {"provider": "aws", "bucket": "bkt"}}),
            "spec.br.table: required when backupType is table",
        ),
        (
            json!({"backupType": "raw", "br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "bkt"}}),
            "spec.backupType: unsupported value \"raw\"",
        ),
        (
            json!({"tikvGCLifeTime": "3d", "br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "bkt"}}),
            "spec.tikvGCLifeTime: invalid duration \"3d\"",
        ),
        (
            json!({"br": {"cluster": "c", "timeAgo": "yesterday"}, "s3": {"provider": "aws", "bucket": "bkt"}}),
            "spec.br.timeAgo: invalid duration",
        ),
        (
            json!({"br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "bkt"}, "backoffRetryPolicy": {"minRetryDuration": "5 minutes"}}),
            "spec.backoffRetryPolicy.minRetryDuration: invalid duration",
        ),
        (
            json!({"br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "bkt"}, "from": {"host": "", "secretName": ""}}),
            "spec.from.host: must not be empty",
        ),
        (
            json!({"useKMS": true, "br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "bkt"}}),
            "spec.useKMS: KMS-encrypted credentials are not supported",
        ),
        (
            json!({"backupMode": "log", "br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "bkt"}}),
            "spec.backupMode: log backup is not supported",
        ),
    ];
    for (spec, want) in cases {
        let got = errors(spec.clone());
        assert!(
            got.iter().any(|e| e.starts_with(want)),
            "{spec}: want {want:?}, got {got:?}"
        );
    }
}

#[test]
fn table_filters_override_db_and_table() {
    let mut spec = seed_spec();
    spec["backupType"] = json!("db");
    spec["tableFilter"] = json!(["*.*", "!db.table"]);
    let v = validate(&backup(spec), None).unwrap();
    assert_eq!(
        v.scope,
        BackupScope::Full {
            filters: vec!["*.*".into(), "!db.table".into()]
        }
    );
    let mut spec = seed_spec();
    spec["backupType"] = json!("table");
    spec["br"]["db"] = json!("app");
    spec["br"]["table"] = json!("orders");
    assert_eq!(
        validate(&backup(spec), None).unwrap().scope,
        BackupScope::Table {
            db: "app".into(),
            table: "orders".into()
        }
    );
}

#[test]
fn old_tikv_needs_from() {
    let mut spec = seed_spec();
    spec.as_object_mut().unwrap().remove("from");
    let tc: TidbCluster = serde_json::from_value(json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "TidbCluster",
        "metadata": {"name": "demo1", "namespace": "test1"},
        "spec": {"version": "v4.0.7", "tikv": {"baseImage": "pingcap/tikv"}}
    }))
    .unwrap();
    let errs = validate(&backup(spec.clone()), Some(&tc)).unwrap_err();
    assert_eq!(errs[0].field, "spec.from");
    assert!(
        validate(&backup(spec), None).is_ok(),
        "without a known TiKV version, from is optional"
    );
    assert_eq!(parse_version("v5.4.0-beta.1"), Some((5, 4, 0)));
    assert_eq!(parse_version("latest"), None);
}

#[test]
fn bucket_sub_paths_and_names() {
    let mut spec = seed_spec();
    spec["s3"]["bucket"] = json!("bkt/mid");
    spec["s3"]["prefix"] = json!("p");
    assert_eq!(
        validate(&backup(spec), None).unwrap().storage.path(),
        "s3://bkt/mid/p"
    );
    for (bucket, prefix, field) in [
        ("my-bucket", "x/../keep", "spec.s3.prefix"),
        ("my-bucket/../safety", "p", "spec.s3.bucket"),
        ("my-bucket", "p?x=1", "spec.s3.prefix"),
        ("My_Bucket", "p", "spec.s3.bucket"),
    ] {
        let mut spec = seed_spec();
        spec["s3"]["bucket"] = json!(bucket);
        spec["s3"]["prefix"] = json!(prefix);
        let errs = validate(&backup(spec), None).unwrap_err();
        assert_eq!(errs[0].field, field, "{bucket} {prefix}: {errs:?}");
    }
    let mut b = backup(seed_spec());
    b.metadata.name = Some("x".repeat(60));
    let errs = validate(&b, None).unwrap_err();
    assert_eq!(errs[0].field, "metadata.name");
}

#[test]
fn a_bucket_root_is_allowed_with_a_warning() {
    for prefix in [json!(""), json!("/"), json!(null)] {
        let mut spec = seed_spec();
        spec["s3"]["prefix"] = prefix.clone();
        let v = validate(&backup(spec), None).unwrap();
        assert_eq!(v.storage.path(), "s3://my-bucket", "{prefix}");
        assert_eq!(v.warnings.len(), 1, "{prefix}");
        assert_eq!(v.warnings[0].field, "spec.s3.prefix");
        assert!(v.warnings[0].message.contains("root of bucket my-bucket"));
    }
}

#[test]
fn storage_moving_options_are_refused() {
    let mut spec = seed_spec();
    spec["br"]["options"] = json!(["--lastbackupts=1", "--storage=s3://other/p"]);
    let errs = errors(spec);
    assert!(
        errs[0].starts_with("spec.br.options[1]: \"--storage\" would move the storage"),
        "{errs:?}"
    );
}

#[test]
fn templates_are_held_to_the_same_rules_under_their_own_path() {
    let spec: BackupSpec = serde_json::from_value(json!({
        "backupType": "bogus",
        "br": {"cluster": "demo1"},
        "s3": {"provider": "aws", "bucket": "my-bucket", "prefix": "a/../b"}
    }))
    .unwrap();
    let fields: Vec<String> = validate_template(&spec, "test1")
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "spec.backupTemplate.backupType",
            "spec.backupTemplate.s3.prefix"
        ]
    );
}
