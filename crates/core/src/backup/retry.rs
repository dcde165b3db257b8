//! `backoffRetryPolicy`: what happens when a backup pod dies without reporting (killed,
//! evicted, OOM, node lost, Job deleted). BR failures the agent reported are final and
//! never come here.
//!
//! Retry `n` (from 1) waits `minRetryDuration × 2^(n−1)` after the failure was seen. There
//! are at most `maxRetryTimes` retries, and none starts later than `retryTimeout` after the
//! first failure: a retry that could only start past that point is refused at once rather
//! than waited for, so the Backup fails as soon as the outcome is known.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::{
    constants::defaults,
    pingcap::v1alpha1::{BackoffRetryRecord, BackupSpec},
};

use super::RetryPolicy;
use crate::duration::{format_go_duration, parse_go_duration};

/// The policy of a spec, falling back to the defaults field by field where a value does
/// not parse (validation reports those; a running backup must still be handled).
pub fn policy_of(spec: &BackupSpec) -> RetryPolicy {
    let p = spec.backoff_retry_policy.clone().unwrap_or_default();
    let dur = |v: &Option<String>, default: &str| {
        v.as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| parse_go_duration(s.trim()).ok())
            .unwrap_or_else(|| parse_go_duration(default).unwrap_or_default())
    };
    RetryPolicy {
        min_retry_duration: dur(&p.min_retry_duration, defaults::MIN_RETRY_DURATION),
        max_retry_times: u32::try_from(p.max_retry_times.unwrap_or(defaults::MAX_RETRY_TIMES))
            .unwrap_or(0),
        retry_timeout: dur(&p.retry_timeout, defaults::RETRY_TIMEOUT),
    }
}

/// The wait before retry `retry_num` (1-based): `min × 2^(retry_num−1)`, saturating.
pub fn retry_delay(policy: &RetryPolicy, retry_num: u32) -> Duration {
    let factor = 1u32.checked_shl(retry_num.saturating_sub(1)).unwrap_or(0);
    if factor == 0 {
        return Duration::MAX;
    }
    policy.min_retry_duration.saturating_mul(factor)
}

/// The retry that was decided but has not started yet (no `realRetryAt`), if any.
pub fn pending(records: &[BackoffRetryRecord]) -> Option<&BackoffRetryRecord> {
    records.last().filter(|r| r.real_retry_at.is_none())
}

/// What to do about an unreported failure.
#[derive(Debug, Clone, PartialEq)]
pub enum FailureDecision {
    /// Retry later; append this record.
    Retry(BackoffRetryRecord),
    /// No retry is allowed; the Backup fails (`AlreadyFailed`) with this message.
    GiveUp(String),
}

/// Decides about a failure seen at `now`, given the retries already recorded.
pub fn on_unreported_failure(
    policy: &RetryPolicy,
    records: &[BackoffRetryRecord],
    now: Timestamp,
    retry_reason: &str,
    original_reason: &str,
) -> FailureDecision {
    let retry_num = u32::try_from(records.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    if retry_num > policy.max_retry_times {
        return FailureDecision::GiveUp(format!(
            "{retry_reason} ({original_reason}); no retry left: backoffRetryPolicy.maxRetryTimes is {} and {} retries were made",
            policy.max_retry_times,
            records.len()
        ));
    }
    let first = records
        .first()
        .and_then(|r| r.detect_failed_at.as_ref())
        .map_or(now, |t| t.0);
    let delay = retry_delay(policy, retry_num);
    let expected = add(now, delay);
    let deadline = add(first, policy.retry_timeout);
    if expected > deadline {
        return FailureDecision::GiveUp(format!(
            "{retry_reason} ({original_reason}); retry {retry_num} could only start at {}, after backoffRetryPolicy.retryTimeout ({}) since the first failure at {}",
            expected.round(jiff::Unit::Second).unwrap_or(expected),
            format_go_duration(policy.retry_timeout),
            first.round(jiff::Unit::Second).unwrap_or(first)
        ));
    }
    FailureDecision::Retry(BackoffRetryRecord {
        retry_num: Some(i64::from(retry_num)),
        detect_failed_at: Some(Time(now)),
        expected_retry_at: Some(Time(expected)),
        real_retry_at: None,
        retry_reason: Some(retry_reason.to_string()),
        original_reason: Some(original_reason.to_string()),
    })
}

/// `t + d`, saturating at the largest representable time.
pub fn add(t: Timestamp, d: Duration) -> Timestamp {
    SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

/// How long from `now` until `t` (zero if `t` has passed).
pub fn until(now: Timestamp, t: Timestamp) -> Duration {
    Duration::try_from(t.duration_since(now)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn policy(min: u64, max: u32, timeout: u64) -> RetryPolicy {
        RetryPolicy {
            min_retry_duration: Duration::from_secs(min),
            max_retry_times: max,
            retry_timeout: Duration::from_secs(timeout),
        }
    }

    #[test]
    fn delays_double_from_the_minimum() {
        let p = policy(300, 2, 1800);
        assert_eq!(retry_delay(&p, 1), Duration::from_secs(300));
        assert_eq!(retry_delay(&p, 2), Duration::from_secs(600));
        assert_eq!(retry_delay(&p, 3), Duration::from_secs(1200));
        assert_eq!(retry_delay(&p, 40), Duration::MAX);
    }

    #[test]
    fn defaults_apply_field_by_field() {
        let spec: BackupSpec = serde_json::from_value(
            json!({"backoffRetryPolicy": {"maxRetryTimes": 5, "minRetryDuration": "soon"}}),
        )
        .unwrap();
        assert_eq!(policy_of(&spec), policy(300, 5, 1800));
        assert_eq!(policy_of(&BackupSpec::default()), policy(300, 2, 1800));
    }

    #[test]
    fn two_retries_then_already_failed() {
        let p = policy(300, 2, 3600);
        let t0 = ts("2026-03-01T00:00:00Z");
        let FailureDecision::Retry(r1) =
            on_unreported_failure(&p, &[], t0, "Job x has failed", "Evicted")
        else {
            panic!("first failure retries")
        };
        assert_eq!(r1.retry_num, Some(1));
        assert_eq!(
            r1.expected_retry_at.as_ref().unwrap().0,
            ts("2026-03-01T00:05:00Z")
        );
        assert_eq!(r1.original_reason.as_deref(), Some("Evicted"));
        let mut done = r1.clone();
        done.real_retry_at = Some(Time(ts("2026-03-01T00:05:00Z")));
        assert!(pending(&[r1]).is_some());
        assert!(pending(std::slice::from_ref(&done)).is_none());

        let t1 = ts("2026-03-01T00:10:00Z");
        let FailureDecision::Retry(r2) = on_unreported_failure(&p, &[done.clone()], t1, "r", "o")
        else {
            panic!("second failure retries")
        };
        assert_eq!(r2.retry_num, Some(2));
        assert_eq!(
            r2.expected_retry_at.as_ref().unwrap().0,
            ts("2026-03-01T00:20:00Z")
        );

        let t2 = ts("2026-03-01T00:30:00Z");
        match on_unreported_failure(&p, &[done, r2], t2, "r", "o") {
            FailureDecision::GiveUp(m) => assert!(m.contains("maxRetryTimes is 2"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_retry_past_the_timeout() {
        let p = policy(300, 5, 1800);
        let first = BackoffRetryRecord {
            retry_num: Some(1),
            detect_failed_at: Some(Time(ts("2026-03-01T00:00:00Z"))),
            real_retry_at: Some(Time(ts("2026-03-01T00:05:00Z"))),
            ..Default::default()
        };
        // Retry 2 would start at 00:29 + 10 min = 00:39, past 00:30.
        match on_unreported_failure(&p, &[first], ts("2026-03-01T00:29:00Z"), "r", "o") {
            FailureDecision::GiveUp(m) => assert!(m.contains("retryTimeout (30m0s)"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            on_unreported_failure(
                &policy(300, 0, 1800),
                &[],
                ts("2026-03-01T00:00:00Z"),
                "r",
                "o"
            ),
            FailureDecision::GiveUp(_)
        ));
    }
}
