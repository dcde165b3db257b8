//! BR's command line for a snapshot backup, built from the validated view in TiDB Operator's
//! order (spec-backup §4.5), so that `spec.br.options`, passed verbatim and last, override any
//! generated flag (pflag keeps the last value) — that is how `--lastbackupts` makes a backup
//! incremental.
//!
//! No credential is ever an argument: S3 keys reach BR through the environment it inherits
//! (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` from the Job, or IAM), and the view holds only
//! Secret names. Arguments are visible to every process on the node (`/proc/*/cmdline`) and
//! are logged, so this is a hard rule; [`redact_args`] is a second line of defence for
//! whatever users put in `spec.br.options`.
//!
//! Storage class and ACL, where we differ from TiDB Operator on purpose:
//! - `--s3.storage-class` is passed whenever the view has one, so provider `aws` without an
//!   explicit `storageClass` gets `STANDARD_IA`, the documented default. TiDB Operator only
//!   puts it in `AWS_STORAGE_CLASS`, which BR does not read, so BR's objects land in
//!   `STANDARD` although users were told `STANDARD_IA`.
//! - `--s3.acl` is passed only when `spec.s3.acl` is set. The documented `private` default is
//!   what S3 does without an ACL anyway, and sending any ACL except
//!   `bucket-owner-full-control` to a bucket with ACLs disabled (the default for new AWS
//!   buckets since 2023) fails every upload with `AccessControlListNotSupported`.

use super::view::{BackupScope, Storage, ValidBackup};

/// Where the init container copies BR in the backup pod.
pub const BR_PATH: &str = "/var/lib/br-bin/br";
/// Mount path of `<cluster>-cluster-client-secret` when the cluster runs mutual TLS.
pub const CLUSTER_CLIENT_TLS_DIR: &str = "/var/lib/cluster-client-tls";
/// Mount path of the TiDB client TLS Secret (`from.tlsClientSecretName` or
/// `<cluster>-tidb-client-secret`).
pub const TIDB_CLIENT_TLS_DIR: &str = "/var/lib/tidb-client-tls";

/// The arguments after `br` for `backup` (no program name). `cluster_tls`: the TidbCluster
/// has `spec.tlsCluster.enabled`, so BR talks to PD and TiKV with the mounted client
/// certificate.
pub fn backup_args(backup: &ValidBackup, cluster_tls: bool) -> Vec<String> {
    let br = &backup.br;
    let mut args = vec!["backup".to_string(), backup.scope.command().to_string()];
    if let Some(ts) = &br.backup_ts {
        args.push(format!("--backupts={ts}"));
    }
    cluster_args(backup, cluster_tls, &mut args);
    if let Some(addr) = &br.status_addr {
        args.push(format!("--status-addr={addr}"));
    }
    if let Some(send) = br.send_credentials_to_tikv {
        args.push(format!("--send-credentials-to-tikv={send}"));
    }
    storage_args(&backup.storage, &mut args);
    match &backup.scope {
        BackupScope::Full { filters } => {
            args.extend(filters.iter().map(|f| format!("--filter={f}")));
        }
        BackupScope::Db { db } => args.push(format!("--db={db}")),
        BackupScope::Table { db, table } => {
            args.push(format!("--db={db}"));
            args.push(format!("--table={table}"));
        }
    }
    if let Some(n) = br.concurrency {
        args.push(format!("--concurrency={n}"));
    }
    if let Some(n) = br.rate_limit {
        args.push(format!("--ratelimit={n}"));
    }
    if let Some(ago) = &br.time_ago {
        args.push(format!("--timeago={ago}"));
    }
    if let Some(on) = br.checksum {
        args.push(format!("--checksum={on}"));
    }
    if let Some(on) = br.check_requirements {
        args.push(format!("--check-requirements={on}"));
    }
    args.extend(br.options.iter().cloned());
    args
}

/// BR's flags to reach PD (and TiKV, for TLS) of `backup`'s cluster.
fn cluster_args(backup: &ValidBackup, cluster_tls: bool, args: &mut Vec<String>) {
    args.push(format!("--pd={}", backup.cluster.pd_address()));
    if cluster_tls {
        args.push(format!("--ca={CLUSTER_CLIENT_TLS_DIR}/ca.crt"));
        args.push(format!("--cert={CLUSTER_CLIENT_TLS_DIR}/tls.crt"));
        args.push(format!("--key={CLUSTER_CLIENT_TLS_DIR}/tls.key"));
    }
    if let Some(level) = &backup.br.log_level {
        args.push(format!("--log-level={level}"));
    }
}

/// The init Job's BR: pause GC and PD scheduling for the whole TiDB cluster, with BR's own
/// TTLs (none given, as TiDB Operator gives none), until BR is stopped.
pub fn pause_args(backup: &ValidBackup, cluster_tls: bool) -> Vec<String> {
    let mut args = vec![
        "operator".to_string(),
        "pause-gc-and-schedulers".to_string(),
    ];
    cluster_args(backup, cluster_tls, &mut args);
    args
}

/// The execute Job's BR: snapshot this data plane's TiKV volumes as `volume_file` lists
/// them, GC and scheduling being paused by the init Job (`--operator-paused-…`), progress
/// in `progress_file`. `spec.br.options` last, as for every backup.
pub fn volume_backup_args(
    backup: &ValidBackup,
    cluster_tls: bool,
    volume_file: &str,
    progress_file: &str,
) -> Vec<String> {
    let mut args = vec![
        "backup".to_string(),
        "full".to_string(),
        "--type=aws-ebs".to_string(),
        format!("--volume-file={volume_file}"),
        "--operator-paused-gc-and-scheduler=true".to_string(),
        format!("--progress-file={progress_file}"),
    ];
    cluster_args(backup, cluster_tls, &mut args);
    storage_args(&backup.storage, &mut args);
    let br = &backup.br;
    if let Some(n) = br.concurrency {
        args.push(format!("--concurrency={n}"));
    }
    if let Some(on) = br.check_requirements {
        args.push(format!("--check-requirements={on}"));
    }
    args.extend(br.options.iter().cloned());
    args
}

fn storage_args(storage: &Storage, args: &mut Vec<String>) {
    match storage {
        Storage::S3(s3) => {
            let t = &s3.target;
            let mut url = t.backup_path();
            if let Some(force) = t.force_path_style {
                url.push_str(&format!("?force-path-style={force}"));
            }
            args.push(format!("--storage={url}"));
            let optional = [
                ("s3.region", t.region.as_deref()),
                ("s3.provider", Some(t.provider.as_str())),
                ("s3.endpoint", t.endpoint.as_deref()),
                ("s3.sse", t.sse.as_deref()),
                ("s3.acl", t.effective_acl(false)),
                ("s3.storage-class", t.effective_storage_class(true)),
            ];
            for (flag, value) in optional {
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    args.push(format!("--{flag}={v}"));
                }
            }
        }
    }
}

/// Query parameters and flags that carry credentials when users put them in `options`.
const SECRET_KEYS: &[&str] = &[
    "access-key",
    "secret-access-key",
    "session-token",
    "sas-token",
    "crypter.key",
    "s3.secret-access-key",
];

/// The arguments with any credential value replaced by `[REDACTED]`, for logs: values of
/// `--crypter.key`-like flags and of `access-key=`-like storage URL parameters.
pub fn redact_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut value_is_secret = false;
    for arg in args {
        if value_is_secret {
            out.push("[REDACTED]".to_string());
            value_is_secret = false;
            continue;
        }
        // `--crypter.key VALUE`: the value is the next argument.
        value_is_secret = arg
            .strip_prefix("--")
            .is_some_and(|name| SECRET_KEYS.contains(&name));
        out.push(redact_arg(arg));
    }
    out
}

fn redact_arg(arg: &str) -> String {
    if let Some(flag) = arg.strip_prefix("--")
        && let Some((name, _)) = flag.split_once('=')
        && SECRET_KEYS.contains(&name)
    {
        return format!("--{name}=[REDACTED]");
    }
    let Some((head, query)) = arg.split_once('?') else {
        return arg.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_KEYS.contains(&k) => format!("{k}=[REDACTED]"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{head}?{}", query.join("&"))
}

#[cfg(test)]
mod tests;
