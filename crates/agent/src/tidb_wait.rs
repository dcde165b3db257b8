//! Waiting for TiDB where people look. Before the GC life time can be raised the agent may
//! wait minutes for TiDB; the log alone would leave the Backup at a bare `Prepare` all that
//! time. From the first failed attempt its `Prepare` condition says why (reason
//! `TidbUnreachable`: the address, the error, and until when attempts go on, counted from
//! the first), with a Warning Event. The phase stays `Prepare`, and so does the meaning
//! users know from TiDB Operator.
//!
//! Not every attempt is written: a new error text at most every 10 s (with an Event), the
//! same text again once a minute, so the attempt count moves. Once connected, the condition
//! says so (`TidbReachable`); the steps after it (`Running`) go on as ever. The final failure
//! is the caller's to report (`Failed`, `ConnectTidbFailed`), as before.

use std::time::{Duration, Instant};

use tibr_api::BackupConditionType;
use tibr_core::{backup::status::NewCondition, duration::format_go_duration};
use tibr_tidb::{Conn, ConnectOptions, FailedAttempt, TidbEndpoint};
use tokio::sync::mpsc;

use crate::status::StatusWriter;

pub const UNREACHABLE: &str = "TidbUnreachable";
pub const REACHABLE: &str = "TidbReachable";

/// Least time between two writes for errors that read differently.
const NEW_ERROR_GAP: Duration = Duration::from_secs(10);
/// Least time between two writes of the same error (only the attempt count moved).
const REFRESH: Duration = Duration::from_secs(60);

/// Connects like [`tibr_tidb::connect_reporting`], showing the wait on the Backup.
pub async fn connect(
    writer: &StatusWriter,
    endpoint: &TidbEndpoint,
    options: &ConnectOptions,
) -> tibr_tidb::Result<Conn> {
    let (tx, mut rx) = mpsc::unbounded_channel::<FailedAttempt>();
    let connecting = async move {
        tibr_tidb::connect_reporting(endpoint, options, |a| {
            // The receiver lives as long as this future's partner in the join below.
            let _ = tx.send(a.clone());
        })
        .await
    };
    let reporting = async {
        let mut throttle = Throttle::default();
        let mut failed = 0;
        while let Some(attempt) = rx.recv().await {
            failed = attempt.attempt;
            let say = throttle.admit(&attempt, Instant::now());
            if say == Say::Nothing {
                continue;
            }
            let condition = NewCondition::true_(
                BackupConditionType::Prepare,
                UNREACHABLE,
                message(&attempt, true),
            );
            if let Err(e) = writer.condition(condition).await {
                tracing::warn!(error = %e, "could not show the wait for TiDB in the Backup's status");
            }
            if say == Say::ConditionAndEvent {
                writer
                    .event(true, UNREACHABLE, "ConnectTidb", &message(&attempt, false))
                    .await;
            }
        }
        (failed > 0 && throttle.spoke()).then_some(failed)
    };
    // Joined, not spawned: every write about the wait is done before the caller's next one.
    let (result, reported) = tokio::join!(connecting, reporting);
    if let (Ok(conn), Some(failed)) = (&result, reported) {
        let note = format!(
            "connected to TiDB at {} after {failed} failed attempt(s)",
            conn.address()
        );
        tracing::info!("{note}");
        let condition = NewCondition::true_(BackupConditionType::Prepare, REACHABLE, note);
        if let Err(e) = writer.condition(condition).await {
            tracing::warn!(error = %e, "could not clear the wait for TiDB in the Backup's status");
        }
    }
    result
}

/// What to say about one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Say {
    Nothing,
    Condition,
    ConditionAndEvent,
}

/// Keeps the writes about a wait to a bounded rate.
#[derive(Debug, Default)]
struct Throttle {
    /// The error last written, and when.
    last: Option<(String, Instant)>,
}

impl Throttle {
    fn admit(&mut self, attempt: &FailedAttempt, now: Instant) -> Say {
        // No retry follows: the caller reports the failure itself.
        if attempt.retry_in.is_none() {
            return Say::Nothing;
        }
        let say = match &self.last {
            None => Say::ConditionAndEvent,
            Some((error, at)) => {
                let since = now.saturating_duration_since(*at);
                if *error != attempt.error && since >= NEW_ERROR_GAP {
                    Say::ConditionAndEvent
                } else if since >= REFRESH {
                    Say::Condition
                } else {
                    Say::Nothing
                }
            }
        };
        if say != Say::Nothing {
            self.last = Some((attempt.error.clone(), now));
        }
        say
    }

    fn spoke(&self) -> bool {
        self.last.is_some()
    }
}

/// `cannot connect to TiDB at host:port as "user": <error>; retrying every 5s until
/// <first attempt + deadline>`, with the attempt count for the condition (an Event that
/// repeats word for word is folded into a series instead).
fn message(attempt: &FailedAttempt, with_count: bool) -> String {
    let until = jiff::Timestamp::try_from(attempt.gives_up_at())
        .ok()
        .and_then(|t| t.round(jiff::Unit::Second).ok())
        .map_or_else(|| "the deadline".to_string(), |t| t.to_string());
    let every = attempt
        .retry_in
        .map(|d| format!("retrying every {}", format_go_duration(d)))
        .unwrap_or_else(|| "giving up".into());
    let count = if with_count {
        format!(" ({} attempt(s) so far)", attempt.attempt)
    } else {
        String::new()
    };
    format!(
        "cannot connect to TiDB at {} as {:?}: {}; {every} until {until}{count}",
        attempt.address, attempt.user, attempt.error
    )
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn attempt(n: u32, error: &str) -> FailedAttempt {
        FailedAttempt {
            address: "10.0.0.7:4000".into(),
            user: "root".into(),
            attempt: n,
            error: error.into(),
            first_attempt_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_366_400),
            deadline: Duration::from_secs(600),
            retry_in: Some(Duration::from_secs(5)),
        }
    }

    #[test]
    fn the_message_names_the_address_error_and_the_deadline_from_the_first_attempt() {
        let a = attempt(3, "Connection refused (os error 111)");
        assert_eq!(
            message(&a, true),
            "cannot connect to TiDB at 10.0.0.7:4000 as \"root\": Connection refused (os error 111); \
             retrying every 5s until 2026-03-01T12:10:00Z (3 attempt(s) so far)"
        );
        assert!(!message(&a, false).contains("attempt(s)"));
    }

    #[test]
    fn writes_are_bounded_the_first_and_new_errors_at_once_repeats_once_a_minute() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let refused = "Connection refused (os error 111)";
        let mut t = Throttle::default();
        assert!(!t.spoke());
        assert_eq!(t.admit(&attempt(1, refused), at(0)), Say::ConditionAndEvent);
        assert!(t.spoke());
        for (n, s) in [(2, 5), (3, 10), (12, 55)] {
            assert_eq!(t.admit(&attempt(n, refused), at(s)), Say::Nothing, "{s}s");
        }
        assert_eq!(t.admit(&attempt(13, refused), at(60)), Say::Condition);
        assert_eq!(t.admit(&attempt(14, refused), at(65)), Say::Nothing);
        // A new error: not before 10 s after the last write, then with an Event.
        let timeout = "no answer within 10s";
        assert_eq!(t.admit(&attempt(15, timeout), at(66)), Say::Nothing);
        assert_eq!(
            t.admit(&attempt(16, timeout), at(71)),
            Say::ConditionAndEvent
        );
        assert_eq!(t.admit(&attempt(17, refused), at(76)), Say::Nothing);
        assert_eq!(
            t.admit(&attempt(18, refused), at(81)),
            Say::ConditionAndEvent
        );
        // The last attempt is the caller's to report.
        let mut last = attempt(19, "other");
        last.retry_in = None;
        assert_eq!(t.admit(&last, at(500)), Say::Nothing);
        assert_eq!(Throttle::default().admit(&last, at(0)), Say::Nothing);
    }
}
