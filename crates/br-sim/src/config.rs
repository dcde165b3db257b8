//! What a run is configured with: the stand-in's `BR_SIM_*` environment (see the crate
//! documentation) and BR's `--storage` URL with its `--s3.*` flags.

use std::time::Duration;

use tibr_storage::{Env, Location, OpenOptions, S3Target, StorageError, Store, Target, open_with};

use crate::flags::Parsed;

/// The stand-in's own knobs, read once from the environment.
#[derive(Debug, Clone)]
pub struct SimEnv {
    pub data_bytes: u64,
    pub region_bytes: u64,
    /// Bytes per second one store moves per unit of `--concurrency` when not rate limited.
    pub store_speed: u64,
    pub progress_interval: Duration,
    pub fail_at: Option<u64>,
    pub hang_at: Option<u64>,
    pub kill_at: Option<u64>,
    pub signal: i32,
    /// `BR_SIM_META_VERSION=1` writes the v1 layout even without `--use-backupmeta-v2=false`.
    pub meta_v1: bool,
    pub release_version: String,
    pub cluster_version: String,
    pub gc_safepoint: Option<u64>,
    pub log_to_term: bool,
    /// The simulated PD (`BR_SIM_PD_URL`); `None` reads `--pd` as `host:port`.
    pub pd_url: Option<String>,
    pub ebs: EbsEnv,
    pub pause: PauseEnv,
}

/// Where in an EBS backup an injected failure, hang or signal happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EbsStage {
    /// After `backup.lock` is written, before waiting for the pause.
    Start,
    /// After every `CreateSnapshots` returned, before `backupmeta` is written.
    Snapshots,
    /// Right after `backupmeta` is written, before snapshots are polled.
    Meta,
}

impl EbsStage {
    fn parse(name: &str, text: &str) -> Result<EbsStage, String> {
        match text.trim() {
            "start" => Ok(EbsStage::Start),
            "snapshots" => Ok(EbsStage::Snapshots),
            "meta" => Ok(EbsStage::Meta),
            other => Err(format!(
                "{name}={other:?} must be one of start, snapshots, meta"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EbsStage::Start => "start",
            EbsStage::Snapshots => "snapshots",
            EbsStage::Meta => "meta",
        }
    }
}

/// `br backup full --type=aws-ebs` knobs.
#[derive(Debug, Clone)]
pub struct EbsEnv {
    /// Between `DescribeSnapshots` polls (BR: 5 s).
    pub poll_interval: Duration,
    /// Between retries of a `CreateSnapshots` refused with `PendingSnapshotLimitExceeded`
    /// (BR: 30 s).
    pub pending_retry: Duration,
    /// How long to wait for the schedulers (and, in the stand-in, GC) to be paused before
    /// failing (BR: 40 attempts, about 10 minutes).
    pub schedule_wait: Duration,
    /// The first N `CreateSnapshots` requests go through; later ones fail.
    pub fail_after_creates: Option<u64>,
    pub fail_at: Option<EbsStage>,
    pub hang_at: Option<EbsStage>,
    pub kill_at: Option<EbsStage>,
    /// BR's own `br_ebs_backup_mocking_wait_snapshot_duration` for `--skip-aws` (800 ms).
    pub mock_snapshot_wait: Duration,
}

/// `br operator pause-gc-and-schedulers` knobs.
#[derive(Debug, Clone)]
pub struct PauseEnv {
    /// Fail with this error before pausing anything.
    pub fail: Option<String>,
    /// Once everything is paused, send `BR_SIM_SIGNAL` to itself after this long.
    pub die_after: Option<Duration>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `4194304`, `4MiB`, `512k`, `1G` (binary multiples).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let number: u64 = t[..digits].parse().ok()?;
    let multiplier: u64 = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

impl SimEnv {
    pub fn from_process() -> Result<SimEnv, String> {
        let bytes = |name: &str, default: u64| match var(name) {
            None => Ok(default),
            Some(v) => parse_bytes(&v)
                .ok_or_else(|| format!("{name}={v:?} is not a byte count (e.g. 4194304 or 4MiB)")),
        };
        let number = |name: &str| -> Result<Option<u64>, String> {
            var(name)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| format!("{name}={v:?} is not a non-negative integer"))
                })
                .transpose()
        };
        let percent = |name: &str| -> Result<Option<u64>, String> {
            match number(name)? {
                Some(p) if p > 100 => Err(format!("{name}={p} is not a percentage (0-100)")),
                other => Ok(other),
            }
        };
        let millis = |name: &str, default: u64| -> Result<Duration, String> {
            Ok(Duration::from_millis(number(name)?.unwrap_or(default)))
        };
        let stage = |name: &str| var(name).map(|v| EbsStage::parse(name, &v)).transpose();
        let ebs = EbsEnv {
            poll_interval: millis("BR_SIM_EBS_POLL_INTERVAL_MS", 5_000)?,
            pending_retry: millis("BR_SIM_EBS_PENDING_RETRY_MS", 30_000)?,
            schedule_wait: millis("BR_SIM_EBS_SCHEDULE_WAIT_MS", 600_000)?,
            fail_after_creates: number("BR_SIM_EBS_FAIL_AFTER_CREATES")?,
            fail_at: stage("BR_SIM_EBS_FAIL_AT")?,
            hang_at: stage("BR_SIM_EBS_HANG_AT")?,
            kill_at: stage("BR_SIM_EBS_KILL_AT")?,
            // BR ignores a value it cannot parse.
            mock_snapshot_wait: var("br_ebs_backup_mocking_wait_snapshot_duration")
                .and_then(|v| crate::fmt::parse_go_duration(v.trim()).ok())
                .unwrap_or(Duration::from_millis(800)),
        };
        let pause = PauseEnv {
            fail: var("BR_SIM_PAUSE_FAIL"),
            die_after: number("BR_SIM_PAUSE_DIE_AFTER_MS")?.map(Duration::from_millis),
        };
        let signal = match var("BR_SIM_SIGNAL").as_deref().map(str::trim) {
            None | Some("9") | Some("KILL") | Some("SIGKILL") => 9,
            Some("15") | Some("TERM") | Some("SIGTERM") => 15,
            Some(other) => return Err(format!("BR_SIM_SIGNAL={other:?} must be 9 or 15")),
        };
        Ok(SimEnv {
            data_bytes: bytes("BR_SIM_DATA_BYTES", 4 << 20)?,
            region_bytes: bytes("BR_SIM_REGION_BYTES", 256 << 10)?.max(2),
            store_speed: bytes("BR_SIM_STORE_SPEED", 64 << 20)?.max(1),
            progress_interval: Duration::from_millis(
                number("BR_SIM_PROGRESS_INTERVAL_MS")?
                    .unwrap_or(1000)
                    .max(10),
            ),
            fail_at: percent("BR_SIM_FAIL_AT_PERCENT")?,
            hang_at: percent("BR_SIM_HANG_AT_PERCENT")?,
            kill_at: percent("BR_SIM_KILL_SIGNAL_AT_PERCENT")?,
            signal,
            meta_v1: var("BR_SIM_META_VERSION").is_some_and(|v| v.trim() == "1"),
            release_version: var("BR_SIM_VERSION").unwrap_or_else(|| "v8.5.1".into()),
            cluster_version: var("BR_SIM_CLUSTER_VERSION").unwrap_or_else(|| "8.5.1".into()),
            gc_safepoint: number("BR_SIM_GC_SAFEPOINT")?,
            // BR checks presence only (TiDB Operator sets it to "\x01").
            log_to_term: std::env::var_os("BR_LOG_TO_TERM").is_some(),
            pd_url: var("BR_SIM_PD_URL"),
            ebs,
            pause,
        })
    }
}

/// A parsed `--storage` URL.
#[derive(Debug, Clone)]
pub struct Storage {
    pub target: S3Target,
    /// BR's `storage.URI()`: `s3://bucket/prefix/` (trailing slash when there is a prefix).
    pub uri: String,
}

const SECRET_PARAMS: &[&str] = &["access-key", "secret-access-key", "session-token"];

/// BR's `--storage` (`s3://bucket/prefix?k=v`) plus `--s3.*` flags; query parameters win.
pub fn storage(parsed: &Parsed) -> Result<Storage, String> {
    let url = parsed.string("storage");
    if url.is_empty() {
        return Err(
            "empty store is not allowed: [BR:ExternalStorage:ErrStorageInvalidConfig]\
                    invalid external storage config"
                .into(),
        );
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url.as_str()));
    if scheme != "s3" {
        return Err(format!(
            "the br stand-in (tibr-br-sim) supports only s3:// storage, not {:?}",
            if scheme.is_empty() {
                "local paths"
            } else {
                scheme
            }
        ));
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    if bucket.is_empty() {
        return Err(format!(
            "please specify the bucket for s3 in {url}: \
             [BR:ExternalStorage:ErrStorageInvalidConfig]invalid external storage config"
        ));
    }
    // Keys are written literally; a location the stand-in cannot write literally is refused.
    let location = Location::parse(bucket, prefix).map_err(|e| {
        format!(
            "the br stand-in cannot write to {url}: {e}: \
             [BR:ExternalStorage:ErrStorageInvalidConfig]invalid external storage config"
        )
    })?;
    let flag = |name: &str| Some(parsed.string(name)).filter(|v| !v.is_empty());
    let mut target = S3Target {
        provider: parsed.string("s3.provider"),
        location,
        region: flag("s3.region"),
        endpoint: flag("s3.endpoint"),
        acl: flag("s3.acl"),
        storage_class: flag("s3.storage-class"),
        sse: flag("s3.sse"),
        sse_kms_key_id: flag("s3.sse-kms-key-id"),
        force_path_style: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        if SECRET_PARAMS.contains(&key) {
            // Never echo the value: it is a credential.
            return Err(format!(
                "the br stand-in refuses credentials in --storage ({key}=…); pass them as \
                 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment"
            ));
        }
        match key {
            "endpoint" => target.endpoint = Some(value),
            "region" => target.region = Some(value),
            "provider" => target.provider = value,
            "storage-class" => target.storage_class = Some(value),
            "sse" => target.sse = Some(value),
            "sse-kms-key-id" => target.sse_kms_key_id = Some(value),
            "acl" => target.acl = Some(value),
            "force-path-style" => {
                target.force_path_style = Some(match value.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(format!(
                            "invalid force-path-style {value:?} in --storage: \
                             [BR:ExternalStorage:ErrStorageInvalidConfig]invalid external \
                             storage config"
                        ));
                    }
                })
            }
            _ => {}
        }
    }
    let (bucket, prefix) = (target.location.bucket(), target.location.prefix());
    let uri = if prefix.is_empty() {
        format!("s3://{bucket}/")
    } else {
        format!("s3://{bucket}/{prefix}/")
    };
    Ok(Storage { target, uri })
}

/// The `--storage` target opened as BR opens it, with BR's errors.
pub fn open_store(storage: &Storage) -> Result<Store, String> {
    open_with(
        &Target::S3(storage.target.clone()),
        &OpenOptions {
            env: Env::from_process(),
            // BR gets no provider defaults: TiDB Operator's AWS_ACL / AWS_STORAGE_CLASS are
            // for rclone; BR only honours --s3.acl / --s3.storage-class.
            provider_defaults: false,
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
        },
    )
    .map_err(|e| match e {
        StorageError::Credentials(detail) => {
            format!("NoCredentialProviders: no valid providers in chain ({detail})")
        }
        other => format!(
            "{other}: [BR:ExternalStorage:ErrStorageInvalidConfig]invalid external storage config"
        ),
    })
}

/// `%XX` escapes of a URL query value.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Redacts secret query parameters from a storage URL for logging (BR does the same).
pub fn redact_storage_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.contains(&k) => format!("{k}=redacted"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::parse;

    fn storage_of(args: &[&str]) -> Result<Storage, String> {
        storage(&parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap())
    }

    #[test]
    fn storage_urls() {
        let s = storage_of(&[
            "--storage=s3://b/p/q/?force-path-style=false&endpoint=http%3A%2F%2Fh%3A1",
            "--s3.region=r",
            "--s3.endpoint=http://ignored:2",
        ])
        .unwrap();
        assert_eq!(s.uri, "s3://b/p/q/");
        assert_eq!(s.target.location.prefix(), "p/q");
        assert_eq!(s.target.endpoint.as_deref(), Some("http://h:1"));
        assert_eq!(s.target.force_path_style, Some(false));
        assert_eq!(s.target.region.as_deref(), Some("r"));
        assert_eq!(storage_of(&["--storage=s3://b"]).unwrap().uri, "s3://b/");
        let err = storage_of(&["--storage=s3://b/p?secret-access-key=SHHH"]).unwrap_err();
        assert!(!err.contains("SHHH"), "{err}");
        assert!(storage_of(&["--storage=local:///tmp/x"]).is_err());
        assert!(storage_of(&[]).unwrap_err().contains("empty store"));
        assert_eq!(
            redact_storage_url("s3://b/p?access-key=A&region=r"),
            "s3://b/p?access-key=redacted&region=r"
        );
        assert_eq!(parse_bytes("4MiB"), Some(4 << 20));
        assert_eq!(parse_bytes("123"), Some(123));
        assert_eq!(parse_bytes("x"), None);
    }
}
