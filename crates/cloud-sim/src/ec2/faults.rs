//! What can be made to go wrong, and the record of what was asked: how long snapshots stay
//! pending, snapshots that end in `error`, the pending-snapshot limits, throttling, and a log
//! of every call with its outcome (tests prove pacing from it).
//!
//! The switches can be set from Rust ([`super::Ec2`]) or, for `tibr-sandbox up`, from the
//! environment ([`Ec2Config::from_env`]).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::Context;

use super::model::Fate;

/// The message of snapshots made to fail when none is given.
pub const DEFAULT_FAIL_MESSAGE: &str = "Snapshot failed (injected by the sandbox's EC2 emulator)";

/// How long snapshots stay pending unless told otherwise: long enough to be seen pending
/// (BR polls every 5 s), short enough for a sandbox backup to finish quickly.
pub const DEFAULT_SNAPSHOT_DURATION: Duration = Duration::from_secs(3);

/// Requests above a rate are refused with `RequestLimitExceeded` (EC2) or
/// `RequestThrottledException` (EBS), as AWS throttles each action with a token bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Throttle {
    /// Sustained requests per second, per operation.
    pub per_second: f64,
    /// Requests that may go at once before the rate applies.
    pub burst: u32,
    /// The operations throttled (`DeleteSnapshot`, `ListSnapshotBlocks`…); empty: all.
    pub operations: Vec<String>,
}

impl Throttle {
    pub fn new(per_second: f64) -> Self {
        Throttle {
            per_second,
            burst: 1,
            operations: Vec::new(),
        }
    }

    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Throttles only these operations.
    pub fn only(mut self, operations: &[&str]) -> Self {
        self.operations = operations.iter().map(|s| s.to_string()).collect();
        self
    }

    fn applies_to(&self, operation: &str) -> bool {
        self.operations.is_empty() || self.operations.iter().any(|o| o == operation)
    }

    /// `RATE[/BURST][:Operation,Operation…]`, e.g. `2:DeleteSnapshot` or `50/10`.
    pub fn parse(spec: &str) -> anyhow::Result<Throttle> {
        let (rate, ops) = spec.split_once(':').unwrap_or((spec, ""));
        let (rate, burst) = rate.split_once('/').unwrap_or((rate, "1"));
        let per_second: f64 = rate
            .trim()
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite() && *r > 0.0)
            .with_context(|| format!("throttle rate {rate:?} is not a positive number"))?;
        let burst: u32 = burst
            .trim()
            .parse()
            .ok()
            .filter(|b| *b >= 1)
            .with_context(|| format!("throttle burst {burst:?} is not a positive integer"))?;
        let operations = ops
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Throttle {
            per_second,
            burst,
            operations,
        })
    }
}

/// The emulator's settings: who owns what it makes, and the fault switches.
#[derive(Debug, Clone, PartialEq)]
pub struct Ec2Config {
    /// The account that owns every volume and snapshot (`OwnerId`, `OwnerIds=self`).
    pub account_id: String,
    /// The region reported; availability zones are named after it.
    pub region: String,
    /// How long a new snapshot stays `pending`; zero completes it at once.
    pub snapshot_duration: Duration,
    /// The next this many snapshots end in `error` instead of `completed`.
    pub fail_snapshots: usize,
    pub fail_message: String,
    /// At most this many snapshots pending in the region (`PendingSnapshotLimitExceeded`).
    pub pending_limit: Option<usize>,
    /// At most this many unfinished snapshots per volume (`ConcurrentSnapshotLimitExceeded`).
    pub volume_pending_limit: Option<usize>,
    pub throttle: Option<Throttle>,
}

impl Ec2Config {
    pub fn new(account_id: &str, region: &str) -> Self {
        Ec2Config {
            account_id: account_id.to_string(),
            region: region.to_string(),
            snapshot_duration: DEFAULT_SNAPSHOT_DURATION,
            fail_snapshots: 0,
            fail_message: DEFAULT_FAIL_MESSAGE.to_string(),
            pending_limit: None,
            volume_pending_limit: None,
            throttle: None,
        }
    }

    /// Applies the `TIBR_EC2_*` variables `var` finds (`SNAPSHOT_SECONDS`, `FAIL_SNAPSHOTS`,
    /// `FAIL_MESSAGE`, `PENDING_LIMIT`, `VOLUME_PENDING_LIMIT`, `THROTTLE`); a value that does
    /// not parse is an error, never ignored.
    pub fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        fn number<T: std::str::FromStr>(name: &str, value: &str) -> anyhow::Result<T> {
            value
                .trim()
                .parse()
                .ok()
                .with_context(|| format!("{name}={value:?} is not a valid number"))
        }
        if let Some(v) = var("TIBR_EC2_SNAPSHOT_SECONDS") {
            let secs: f64 = number("TIBR_EC2_SNAPSHOT_SECONDS", &v)?;
            anyhow::ensure!(
                secs.is_finite() && secs >= 0.0,
                "TIBR_EC2_SNAPSHOT_SECONDS={v:?} must be zero or more"
            );
            self.snapshot_duration = Duration::from_secs_f64(secs);
        }
        if let Some(v) = var("TIBR_EC2_FAIL_SNAPSHOTS") {
            self.fail_snapshots = number("TIBR_EC2_FAIL_SNAPSHOTS", &v)?;
        }
        if let Some(v) = var("TIBR_EC2_FAIL_MESSAGE") {
            self.fail_message = v;
        }
        if let Some(v) = var("TIBR_EC2_PENDING_LIMIT") {
            self.pending_limit = Some(number("TIBR_EC2_PENDING_LIMIT", &v)?);
        }
        if let Some(v) = var("TIBR_EC2_VOLUME_PENDING_LIMIT") {
            self.volume_pending_limit = Some(number("TIBR_EC2_VOLUME_PENDING_LIMIT", &v)?);
        }
        if let Some(v) = var("TIBR_EC2_THROTTLE") {
            self.throttle = Some(Throttle::parse(&v).context("TIBR_EC2_THROTTLE")?);
        }
        Ok(self)
    }

    /// [`Ec2Config::with_env`] with the process environment.
    pub fn from_env(account_id: &str, region: &str) -> anyhow::Result<Self> {
        Ec2Config::new(account_id, region).with_env(|name| std::env::var(name).ok())
    }
}

/// One request the endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `DescribeSnapshots`, `ListSnapshotBlocks`… (`Unknown` when it could not be told).
    pub operation: String,
    pub at: Instant,
    /// The error code it was answered with, if any (`RequestLimitExceeded`, `AuthFailure`…).
    pub error: Option<String>,
    /// Who signed it (`user/sandbox`, `assumed-role/<role>/<session>`), once authenticated.
    pub principal: Option<String>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The switches in force and the state they need.
pub struct Faults {
    pub snapshot_duration: Duration,
    pub fail_snapshots: usize,
    pub fail_message: String,
    pub pending_limit: Option<usize>,
    pub volume_pending_limit: Option<usize>,
    throttle: Option<Throttle>,
    buckets: HashMap<String, Bucket>,
    /// Instances whose CreateSnapshots is refused, with the message.
    pub denied_instances: HashMap<String, String>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("snapshot_duration", &self.snapshot_duration)
            .field("fail_snapshots", &self.fail_snapshots)
            .field("pending_limit", &self.pending_limit)
            .field("volume_pending_limit", &self.volume_pending_limit)
            .field("throttle", &self.throttle)
            .finish()
    }
}

impl Faults {
    pub fn new(config: &Ec2Config) -> Self {
        Faults {
            snapshot_duration: config.snapshot_duration,
            fail_snapshots: config.fail_snapshots,
            fail_message: config.fail_message.clone(),
            pending_limit: config.pending_limit,
            volume_pending_limit: config.volume_pending_limit,
            throttle: config.throttle.clone(),
            buckets: HashMap::new(),
            denied_instances: HashMap::new(),
        }
    }

    /// How the next snapshot ends (and one fewer to fail).
    pub fn next_fate(&mut self) -> Fate {
        if self.fail_snapshots > 0 {
            self.fail_snapshots -= 1;
            Fate::Fail(self.fail_message.clone())
        } else {
            Fate::Complete
        }
    }

    pub fn set_throttle(&mut self, throttle: Option<Throttle>) {
        self.throttle = throttle;
        self.buckets.clear();
    }

    /// Whether `operation` may go now; takes a token if so.
    pub fn admit(&mut self, operation: &str, now: Instant) -> bool {
        let Some(throttle) = &self.throttle else {
            return true;
        };
        if !throttle.applies_to(operation) {
            return true;
        }
        let burst = f64::from(throttle.burst);
        let bucket = self.buckets.entry(operation.to_string()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * throttle.per_second;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_specs() {
        assert_eq!(
            Throttle::parse("2:DeleteSnapshot").unwrap(),
            Throttle::new(2.0).only(&["DeleteSnapshot"])
        );
        assert_eq!(
            Throttle::parse("50/10").unwrap(),
            Throttle::new(50.0).burst(10)
        );
        assert!(Throttle::parse("0").is_err());
        assert!(Throttle::parse("x:DeleteSnapshot").is_err());
        assert!(Throttle::parse("1/0").is_err());
    }

    #[test]
    fn environment_switches() {
        let env = [
            ("TIBR_EC2_SNAPSHOT_SECONDS", "0.5"),
            ("TIBR_EC2_FAIL_SNAPSHOTS", "2"),
            ("TIBR_EC2_PENDING_LIMIT", "4"),
            ("TIBR_EC2_THROTTLE", "1:DeleteSnapshot"),
        ];
        let c = Ec2Config::new("123456789012", "us-west-2")
            .with_env(|n| {
                env.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap();
        assert_eq!(c.snapshot_duration, Duration::from_millis(500));
        assert_eq!(c.fail_snapshots, 2);
        assert_eq!(c.pending_limit, Some(4));
        assert_eq!(c.volume_pending_limit, None);
        assert_eq!(
            c.throttle,
            Some(Throttle::new(1.0).only(&["DeleteSnapshot"]))
        );
        let bad = Ec2Config::new("1", "r")
            .with_env(|n| (n == "TIBR_EC2_PENDING_LIMIT").then(|| "many".to_string()));
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("TIBR_EC2_PENDING_LIMIT")
        );
    }

    #[test]
    fn a_bucket_admits_its_burst_then_its_rate() {
        let mut f = Faults::new(&Ec2Config {
            throttle: Some(Throttle::new(2.0).burst(2).only(&["DeleteSnapshot"])),
            ..Ec2Config::new("1", "r")
        });
        let t0 = Instant::now();
        assert!(f.admit("DeleteSnapshot", t0));
        assert!(f.admit("DeleteSnapshot", t0));
        assert!(!f.admit("DeleteSnapshot", t0), "the burst is spent");
        assert!(
            f.admit("DescribeSnapshots", t0),
            "other operations are not throttled"
        );
        assert!(f.admit("DeleteSnapshot", t0 + Duration::from_millis(500)));
        assert!(!f.admit("DeleteSnapshot", t0 + Duration::from_millis(600)));
        assert_eq!(f.next_fate(), Fate::Complete);
    }
}
