//! Validation of a `Backup` spec into a [`ValidBackup`]: every rule TiDB Operator applies
//! at reconcile time (spec-backup §3.3), plus the ones its BR run would only discover
//! later (durations, ACLs, storage classes), so users learn about a bad spec at once, with
//! the field named. Missing Secrets are not a spec problem and are not checked here.

use std::time::Duration;

use tibr_api::{
    Backup, TidbCluster,
    constants::defaults,
    pingcap::v1alpha1::{BackupMode, BackupSpec, BackupType, CleanPolicy as WireCleanPolicy},
};

mod br_options;
mod image;
mod storage;
mod volume;

use storage::validate_storage;

use super::view::*;
use crate::duration::parse_go_duration;
pub use crate::field::FieldError;
use crate::field::path;

/// BR's `from` became optional in TiKV v4.0.8, when BR started holding its own GC safe point.
const MIN_TIKV_WITHOUT_FROM: (u64, u64, u64) = (4, 0, 8);

struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
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
    let name = backup.metadata.name.clone().unwrap_or_default();
    let namespace = backup.metadata.namespace.clone().unwrap_or_default();
    let mut errors = Errors(Vec::new());
    // The longest Job name the Backup gets is a label value.
    let longest_job = if backup.spec.mode() == BackupMode::VolumeSnapshot {
        crate::names::init_job(&name)
    } else {
        crate::names::backup_job(&name)
    };
    if longest_job.len() > crate::names::MAX_LABEL_VALUE {
        errors.push(
            "metadata.name",
            format!(
                "must be at most {} characters: the Job {longest_job:?} is used as a label value",
                crate::names::MAX_LABEL_VALUE - (longest_job.len() - name.len())
            ),
        );
    }
    let valid = check_spec(&backup.spec, "spec", name, namespace, cluster);
    match (valid, errors.0.is_empty()) {
        (Ok(v), true) => Ok(v),
        (Ok(_), false) => Err(errors.0),
        (Err(more), _) => {
            errors.0.extend(more);
            Err(errors.0)
        }
    }
}

/// Checks a BackupSchedule's `spec.backupTemplate` with the rules of a Backup, fields named
/// under `spec.backupTemplate`; what a tick changes (the run's prefix) cannot break a
/// template that passes.
pub fn validate_template(
    template: &BackupSpec,
    namespace: &str,
) -> Result<ValidBackup, Vec<FieldError>> {
    check_spec(
        template,
        "spec.backupTemplate",
        String::new(),
        namespace.to_string(),
        None,
    )
}

/// The rules for `spec` found at `base`.
fn check_spec(
    spec: &BackupSpec,
    base: &str,
    name: String,
    namespace: String,
    cluster: Option<&TidbCluster>,
) -> Result<ValidBackup, Vec<FieldError>> {
    let mut errors = Errors(Vec::new());
    let f = |rest: &str| path(base, rest);

    match spec.backup_mode.clone().unwrap_or_default() {
        BackupMode::Snapshot => {}
        BackupMode::Log => errors.push(
            &f("backupMode"),
            "log backup is not supported by this version of tibr",
        ),
        BackupMode::VolumeSnapshot => {}
        BackupMode::Other(m) => errors.push(
            &f("backupMode"),
            format!("unknown mode {m:?}: use snapshot, log or volume-snapshot"),
        ),
    }

    let Some(br) = spec.br.as_ref() else {
        errors.push(
            &f("br"),
            "required: backups are taken with BR (Dumpling exports are not supported)",
        );
        return Err(errors.0);
    };
    let cluster_name = br.cluster.trim().to_string();
    if cluster_name.is_empty() {
        errors.push(&f("br.cluster"), "must name the TidbCluster to back up");
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
                errors.push(&f("br.db"), "required when backupType is db");
                BackupScope::Full { filters: vec![] }
            }
        },
        BackupType::Table => match (non_empty(&br.db), non_empty(&br.table)) {
            (Some(db), Some(table)) => BackupScope::Table { db, table },
            (db, table) => {
                if db.is_none() {
                    errors.push(&f("br.db"), "required when backupType is table");
                }
                if table.is_none() {
                    errors.push(&f("br.table"), "required when backupType is table");
                }
                BackupScope::Full { filters: vec![] }
            }
        },
        other => {
            errors.push(
                &f("backupType"),
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
        &f("tikvGCLifeTime"),
        &spec.tikv_gc_life_time,
        defaults::TIKV_GC_LIFE_TIME,
    );
    let from = spec.from.as_ref().map(|from| {
        if from.host.trim().is_empty() {
            errors.push(&f("from.host"), "must not be empty");
        }
        if from.secret_name.trim().is_empty() {
            errors.push(
                &f("from.secretName"),
                "must name the Secret holding the TiDB password (key `password`)",
            );
        }
        let port = from.port.unwrap_or(defaults::TIDB_PORT);
        if !(1..=65535).contains(&port) {
            errors.push(&f("from.port"), format!("{port} is not a TCP port"));
        }
        TidbAccess {
            host: from.host.trim().to_string(),
            port: u16::try_from(port).unwrap_or(4000),
            user: non_empty(&from.user).unwrap_or_else(|| defaults::TIDB_USER.to_string()),
            secret_name: from.secret_name.trim().to_string(),
            tls_client_secret_name: non_empty(&from.tls_client_secret_name),
            gc_life_time,
        }
    });
    // TiDB Operator decrypts the password with AWS KMS when this is set; ignoring it would
    // hand TiDB ciphertext as the password, so refuse it with the field named.
    if spec.use_kms == Some(true) {
        errors.push(
            &f("useKMS"),
            "KMS-encrypted credentials are not supported by this version of tibr: put the plain \
             values in the Secrets (they are only ever passed by reference) and remove useKMS",
        );
    }
    let volume_mode = spec.mode() == BackupMode::VolumeSnapshot;
    // Volume snapshots hold nothing through TiDB: GC is paused through PD by BR itself.
    if from.is_none() && !volume_mode {
        let tikv = cluster
            .and_then(TidbCluster::tikv_version)
            .and_then(|v| parse_version(&v));
        if let Some(v) = tikv
            && v < MIN_TIKV_WITHOUT_FROM
        {
            errors.push(
                &f("from"),
                "required: TiKV before v4.0.8 needs the GC life time held through TiDB",
            );
        }
    }

    let storage = validate_storage(&mut errors, base, &spec.storage);
    br_options::check(&mut errors, &f("br.options"), &br.options);
    let mut warnings = Vec::new();
    if let Some(Storage::S3(s3)) = &storage
        && s3.target.location.is_bucket_root()
    {
        warnings.push(FieldError::new(
            f("s3.prefix"),
            format!(
                "empty: the backup is written at the root of bucket {}, beside anything else \
                 stored there; a clean deletes only the objects its backupmeta names",
                s3.target.location.bucket()
            ),
        ));
    }
    image::check_tool_image(&mut errors, &f("toolImage"), &spec.tool_image);
    let volume_settings = if volume_mode {
        volume::check(&mut errors, &mut warnings, &f, spec, cluster)
    } else {
        None
    };

    if let Some(t) = non_empty(&br.time_ago)
        && let Err(e) = parse_go_duration(&t)
    {
        errors.push(&f("br.timeAgo"), e);
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
    let clean = clean_settings(spec);

    let policy = spec.backoff_retry_policy.clone().unwrap_or_default();
    let retry = RetryPolicy {
        min_retry_duration: duration(
            &mut errors,
            &f("backoffRetryPolicy.minRetryDuration"),
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
            &f("backoffRetryPolicy.retryTimeout"),
            &policy.retry_timeout,
            defaults::RETRY_TIMEOUT,
        ),
    };

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
            warnings,
            volume: volume_settings,
        }),
        _ => Err(errors.0),
    }
}

/// `spec.cleanOption` with TiDB Operator's defaults; also what the operator cleans with in
/// process, where the spec need not be valid any more.
pub(crate) fn clean_settings(spec: &tibr_api::pingcap::v1alpha1::BackupSpec) -> CleanSettings {
    let options = spec.clean_option.clone().unwrap_or_default();
    CleanSettings {
        page_size: options.page_size(),
        retry_count: u32::try_from(options.retry_count()).unwrap_or(u32::MAX),
        backoff_enabled: options.backoff_enabled.unwrap_or(false),
        batch_concurrency: options.batch_concurrency(),
        routine_concurrency: options.routine_concurrency(),
        disable_batch: options.disable_batch_concurrency.unwrap_or(false),
    }
}

#[cfg(test)]
mod tests;
