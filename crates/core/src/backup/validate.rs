//! Validation of a `Backup` spec into a [`ValidBackup`]: every rule TiDB Operator applies
//! at reconcile time (spec-backup §3.3), plus the ones its BR run would only discover
//! later (durations, ACLs, storage classes), so users learn about a bad spec at once, with
//! the field named. Missing Secrets are not a spec problem and are not checked here.

use std::time::Duration;

use tibr_api::{
    Backup, TidbCluster,
    constants::defaults,
    pingcap::v1alpha1::{BackupMode, BackupType, CleanPolicy as WireCleanPolicy},
};

use super::view::*;
use crate::{duration::parse_go_duration, storage::Location};

/// One rule a spec breaks: `spec.s3.bucket: must not be empty`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// ACLs S3 accepts for `spec.s3.acl` (the documentation's list).
pub const S3_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// Storage classes the documentation lists for `spec.s3.storageClass`.
pub const S3_STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "GLACIER",
    "DEEP_ARCHIVE",
];

/// Server-side encryption modes BR accepts for `--s3.sse`.
pub const S3_SSE_MODES: &[&str] = &["AES256", "aws:kms"];

/// BR's `from` became optional in TiKV v4.0.8, when BR started holding its own GC safe point.
const MIN_TIKV_WITHOUT_FROM: (u64, u64, u64) = (4, 0, 8);

struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `v4.0.7`, `4.0.7`, `v5.4.0-beta.1` → (4, 0, 7); tags that are not versions (`latest`,
/// `nightly`) are treated as new enough, as TiDB Operator does.
fn parse_version(tag: &str) -> Option<(u64, u64, u64)> {
    let t = tag.trim().trim_start_matches('v');
    let core = t.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().unwrap_or("0").parse().ok()?;
    Some((major, minor, patch))
}

fn duration(errors: &mut Errors, field: &str, value: &Option<String>, default: &str) -> Duration {
    let text = non_empty(value).unwrap_or_else(|| default.to_string());
    match parse_go_duration(&text) {
        Ok(d) => d,
        Err(e) => {
            errors.push(field, e);
            Duration::ZERO
        }
    }
}

/// Validates `backup` for the snapshot (BR) flow. `cluster` is the TidbCluster it names,
/// when found (only its TiKV version matters here).
pub fn validate(
    backup: &Backup,
    cluster: Option<&TidbCluster>,
) -> Result<ValidBackup, Vec<FieldError>> {
    let mut errors = Errors(Vec::new());
    let spec = &backup.spec;
    let name = backup.metadata.name.clone().unwrap_or_default();
    let namespace = backup.metadata.namespace.clone().unwrap_or_default();

    match spec.backup_mode.clone().unwrap_or_default() {
        BackupMode::Snapshot => {}
        BackupMode::Log => errors.push("spec.backupMode", "log backup is not supported by this version of tibr"),
        BackupMode::VolumeSnapshot => errors.push(
            "spec.backupMode",
            "volume-snapshot backups are taken through a VolumeBackup of the federation manager, which this version of tibr does not run yet",
        ),
        BackupMode::Other(m) => errors.push("spec.backupMode", format!("unknown mode {m:?}: use snapshot, log or volume-snapshot")),
    }

    let Some(br) = spec.br.as_ref() else {
        errors.push(
            "spec.br",
            "required: backups are taken with BR (Dumpling exports are not supported)",
        );
        return Err(errors.0);
    };
    let cluster_name = br.cluster.trim().to_string();
    if cluster_name.is_empty() {
        errors.push("spec.br.cluster", "must name the TidbCluster to back up");
    }
    let cluster_ref = ClusterRef {
        name: cluster_name,
        namespace: non_empty(&br.cluster_namespace).unwrap_or_else(|| namespace.clone()),
    };

    let filters: Vec<String> = spec
        .table_filter
        .iter()
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect();
    let scope = match spec.backup_type.clone().unwrap_or(BackupType::Full) {
        BackupType::Full => BackupScope::Full {
            filters: filters.clone(),
        },
        _ if !filters.is_empty() => BackupScope::Full {
            filters: filters.clone(),
        },
        BackupType::Db => match non_empty(&br.db) {
            Some(db) => BackupScope::Db { db },
            None => {
                errors.push("spec.br.db", "required when backupType is db");
                BackupScope::Full { filters: vec![] }
            }
        },
        BackupType::Table => match (non_empty(&br.db), non_empty(&br.table)) {
            (Some(db), Some(table)) => BackupScope::Table { db, table },
            (db, table) => {
                if db.is_none() {
                    errors.push("spec.br.db", "required when backupType is table");
                }
                if table.is_none() {
                    errors.push("spec.br.table", "required when backupType is table");
                }
                BackupScope::Full { filters: vec![] }
            }
        },
        other => {
            errors.push(
                "spec.backupType",
                format!(
                    "unsupported value {:?}: use full, db or table",
                    other.as_str()
                ),
            );
            BackupScope::Full { filters: vec![] }
        }
    };

    let gc_life_time = duration(
        &mut errors,
        "spec.tikvGCLifeTime",
        &spec.tikv_gc_life_time,
        defaults::TIKV_GC_LIFE_TIME,
    );
    let from = spec.from.as_ref().map(|f| {
        if f.host.trim().is_empty() {
            errors.push("spec.from.host", "must not be empty");
        }
        if f.secret_name.trim().is_empty() {
            errors.push(
                "spec.from.secretName",
                "must name the Secret holding the TiDB password (key `password`)",
            );
        }
        let port = f.port.unwrap_or(defaults::TIDB_PORT);
        if !(1..=65535).contains(&port) {
            errors.push("spec.from.port", format!("{port} is not a TCP port"));
        }
        TidbAccess {
            host: f.host.trim().to_string(),
            port: u16::try_from(port).unwrap_or(4000),
            user: non_empty(&f.user).unwrap_or_else(|| defaults::TIDB_USER.to_string()),
            secret_name: f.secret_name.trim().to_string(),
            tls_client_secret_name: non_empty(&f.tls_client_secret_name),
            gc_life_time,
        }
    });
    if from.is_none() {
        let tikv = cluster
            .and_then(TidbCluster::tikv_version)
            .and_then(|v| parse_version(&v));
        if let Some(v) = tikv
            && v < MIN_TIKV_WITHOUT_FROM
        {
            errors.push(
                "spec.from",
                "required: TiKV before v4.0.8 needs the GC life time held through TiDB",
            );
        }
    }

    let storage = validate_storage(&mut errors, backup);

    if let Some(t) = non_empty(&br.time_ago)
        && let Err(e) = parse_go_duration(&t)
    {
        errors.push("spec.br.timeAgo", e);
    }
    let br_settings = BrSettings {
        log_level: non_empty(&br.log_level),
        status_addr: non_empty(&br.status_addr),
        concurrency: br.concurrency,
        rate_limit: br.rate_limit,
        time_ago: non_empty(&br.time_ago),
        checksum: br.checksum,
        check_requirements: br.check_requirements,
        send_credentials_to_tikv: br.send_cred_to_tikv,
        backup_ts: non_empty(&spec.commit_ts),
        options: br.options.clone(),
    };

    let (clean_policy, unknown_clean_policy) = match spec.clean_policy.clone().unwrap_or_default() {
        WireCleanPolicy::Retain => (CleanPolicy::Retain, None),
        WireCleanPolicy::OnFailure => (CleanPolicy::OnFailure, None),
        WireCleanPolicy::Delete => (CleanPolicy::Delete, None),
        WireCleanPolicy::Other(v) => (CleanPolicy::Retain, Some(v)),
    };
    let options = spec.clean_option.clone().unwrap_or_default();
    let clean = CleanSettings {
        page_size: options.page_size(),
        retry_count: u32::try_from(options.retry_count()).unwrap_or(u32::MAX),
        backoff_enabled: options.backoff_enabled.unwrap_or(false),
        batch_concurrency: options.batch_concurrency(),
        routine_concurrency: options.routine_concurrency(),
        disable_batch: options.disable_batch_concurrency.unwrap_or(false),
    };

    let policy = spec.backoff_retry_policy.clone().unwrap_or_default();
    let retry = RetryPolicy {
        min_retry_duration: duration(
            &mut errors,
            "spec.backoffRetryPolicy.minRetryDuration",
            &policy.min_retry_duration,
            defaults::MIN_RETRY_DURATION,
        ),
        max_retry_times: u32::try_from(
            policy
                .max_retry_times
                .unwrap_or(defaults::MAX_RETRY_TIMES)
                .max(0),
        )
        .unwrap_or(0),
        retry_timeout: duration(
            &mut errors,
            "spec.backoffRetryPolicy.retryTimeout",
            &policy.retry_timeout,
            defaults::RETRY_TIMEOUT,
        ),
    };

    if name.len() + "backup-".len() > crate::names::MAX_LABEL_VALUE {
        errors.push(
            "metadata.name",
            format!(
                "must be at most {} characters: the Job backup-<name> is used as a label value",
                crate::names::MAX_LABEL_VALUE - "backup-".len()
            ),
        );
    }

    match (errors.0.is_empty(), storage) {
        (true, Some(storage)) => Ok(ValidBackup {
            name,
            namespace,
            scope,
            cluster: cluster_ref,
            from,
            storage,
            br: br_settings,
            clean_policy,
            unknown_clean_policy,
            clean,
            retry,
            service_account: non_empty(&spec.service_account)
                .unwrap_or_else(|| defaults::SERVICE_ACCOUNT.to_string()),
            tool_image: non_empty(&spec.tool_image),
        }),
        _ => Err(errors.0),
    }
}

fn validate_storage(errors: &mut Errors, backup: &Backup) -> Option<Storage> {
    let storage = &backup.spec.storage;
    let Some(s3) = storage.s3.as_ref() else {
        let other = if storage.gcs.is_some() {
            Some(("spec.gcs", "Google Cloud Storage"))
        } else if storage.azblob.is_some() {
            Some(("spec.azblob", "Azure Blob Storage"))
        } else if storage.local.is_some() {
            Some(("spec.local", "local volumes"))
        } else {
            None
        };
        match other {
            Some((field, what)) => errors.push(
                field,
                format!(
                    "{what} is not supported yet: use spec.s3 (S3 or an S3-compatible service)"
                ),
            ),
            None => errors.push("spec.s3", "required: say where to store the backup"),
        }
        return None;
    };
    let before = errors.0.len();
    let provider = s3.provider.as_str().trim().to_string();
    if provider.is_empty() {
        errors.push(
            "spec.s3.provider",
            "must not be empty: use aws, or the S3-compatible provider (minio, ceph, alibaba, …)",
        );
    }
    let bucket = non_empty(&s3.bucket).unwrap_or_default();
    if bucket.is_empty() {
        errors.push("spec.s3.bucket", "must not be empty");
    }
    let location = Location::new(&bucket, &non_empty(&s3.prefix).unwrap_or_default());
    let endpoint = non_empty(&s3.endpoint);
    if let Some(e) = &endpoint {
        let ok = e.split_once("://").is_some_and(|(scheme, rest)| {
            !scheme.is_empty() && !rest.split('/').next().unwrap_or("").is_empty()
        });
        if !ok {
            errors.push(
                "spec.s3.endpoint",
                format!("{e:?} is not a URL with a scheme and a host (e.g. http://minio:9000)"),
            );
        }
    }
    let aws = provider == "aws";
    let acl = non_empty(&s3.acl);
    if let Some(a) = &acl
        && !S3_ACLS.contains(&a.as_str())
    {
        errors.push(
            "spec.s3.acl",
            format!("unsupported value {a:?}: use one of {}", S3_ACLS.join(", ")),
        );
    }
    let storage_class = non_empty(&s3.storage_class);
    if let Some(c) = &storage_class
        && !S3_STORAGE_CLASSES.contains(&c.as_str())
    {
        errors.push(
            "spec.s3.storageClass",
            format!(
                "unsupported value {c:?}: use one of {}",
                S3_STORAGE_CLASSES.join(", ")
            ),
        );
    }
    let sse = non_empty(&s3.sse);
    if let Some(s) = &sse
        && !S3_SSE_MODES.contains(&s.as_str())
    {
        errors.push(
            "spec.s3.sse",
            format!(
                "unsupported value {s:?}: use one of {}",
                S3_SSE_MODES.join(", ")
            ),
        );
    }
    if errors.0.len() > before {
        return None;
    }
    Some(Storage::S3(S3Storage {
        provider,
        location,
        region: non_empty(&s3.region),
        endpoint,
        explicit_acl: acl.is_some(),
        explicit_storage_class: storage_class.is_some(),
        acl: acl.or_else(|| aws.then(|| "private".to_string())),
        storage_class: storage_class.or_else(|| aws.then(|| "STANDARD_IA".to_string())),
        sse,
        force_path_style: s3.force_path_style,
        secret_name: non_empty(&s3.secret_name),
    }))
}

#[cfg(test)]
mod tests {
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
            (s3.acl.as_deref(), s3.storage_class.as_deref()),
            (Some("private"), Some("STANDARD_IA"))
        );
        assert!(!s3.explicit_acl && !s3.explicit_storage_class);
        assert_eq!(v.service_account, "tidb-backup-manager");
        assert_eq!(v.clean_policy, CleanPolicy::Retain);
        assert_eq!(v.retry.max_retry_times, 2);
        assert_eq!(v.retry.min_retry_duration, Duration::from_secs(300));
        assert_eq!(v.clean.page_size, 10_000);
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
    fn invalid_specs_name_their_fields() {
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (
                json!({"br": {"cluster": ""}, "s3": {"provider": "aws", "bucket": "b"}}),
                "spec.br.cluster: must name the TidbCluster",
            ),
            (
                json!({"s3": {"provider": "aws", "bucket": "b"}}),
                "spec.br: required",
            ),
            (
                json!({"br": {"cluster": "c"}, "s3": {"provider": "aws"}}),
                "spec.s3.bucket: must not be empty",
            ),
            (json!({"br": {"cluster": "c"}}), "spec.s3: required"),
            (
                json!({"br": {"cluster": "c"}, "gcs": {"projectId": "p", "bucket": "b"}}),
                "spec.gcs: Google Cloud Storage is not supported yet",
            ),
            (
                json!({"br": {"cluster": "c"}, "s3": {"provider": "minio", "bucket": "b", "endpoint": "minio:9000"}}),
                "spec.s3.endpoint: \"minio:9000\" is not a URL",
            ),
            (
                json!({"br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "b", "acl": "everyone"}}),
                "spec.s3.acl: unsupported value \"everyone\"",
            ),
            (
                json!({"br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "b", "storageClass": "COLD"}}),
                "spec.s3.storageClass: unsupported value \"COLD\"",
            ),
            (
                json!({"backupType": "db", "br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "b"}}),
                "spec.br.db: required when backupType is db",
            ),
            (
                json!({"backupType": "table", "br": {"cluster": "c", "db": "d"}, "s3": {"provider": "aws", "bucket": "b"}}),
                "spec.br.table: required when backupType is table",
            ),
            (
                json!({"backupType": "raw", "br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "b"}}),
                "spec.backupType: unsupported value \"raw\"",
            ),
            (
                json!({"tikvGCLifeTime": "3d", "br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "b"}}),
                "spec.tikvGCLifeTime: invalid duration \"3d\"",
            ),
            (
                json!({"br": {"cluster": "c", "timeAgo": "yesterday"}, "s3": {"provider": "aws", "bucket": "b"}}),
                "spec.br.timeAgo: invalid duration",
            ),
            (
                json!({"br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "b"}, "backoffRetryPolicy": {"minRetryDuration": "5 minutes"}}),
                "spec.backoffRetryPolicy.minRetryDuration: invalid duration",
            ),
            (
                json!({"br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "b"}, "from": {"host": "", "secretName": ""}}),
                "spec.from.host: must not be empty",
            ),
            (
                json!({"backupMode": "log", "br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "b"}}),
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
        spec["s3"]["bucket"] = json!("b/mid");
        spec["s3"]["prefix"] = json!("p");
        assert_eq!(
            validate(&backup(spec), None).unwrap().storage.path(),
            "s3://b/mid/p"
        );
        let mut b = backup(seed_spec());
        b.metadata.name = Some("x".repeat(60));
        let errs = validate(&b, None).unwrap_err();
        assert_eq!(errs[0].field, "metadata.name");
    }
}
