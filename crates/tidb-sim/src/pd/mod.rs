//! One simulated PD for a whole sandbox: a TiDB cluster stretched over several Kubernetes
//! clusters has one PD, so every data plane's BR talks to this one, and tests read from it
//! when GC and scheduling were paused and resumed.
//!
//! What it keeps (see [`state`] for the rules):
//! - a TSO (physical milliseconds << 18, monotonic);
//! - the cluster's min resolved ts, [`PdConfig::resolved_ts_lag_ms`] behind the clock, or 0
//!   while switched off ([`Pd::set_resolved_ts_enabled`]), which is how TiKV reports a
//!   cluster with resolved ts disabled and what makes BR's pause fail with
//!   `GC safepoint … exceed TS 0`;
//! - the GC safepoint, a GC life time behind the clock, held back by service safepoints;
//! - service GC safepoints with TTLs, ending unless refreshed;
//! - the schedulers, each paused until a deadline;
//! - a history of transitions (GC paused/resumed/expired per service, all schedulers
//!   paused/resumed/expired, resolved ts switched), each with its time and the caller.
//!
//! [`PdServer`] serves it over HTTP on 127.0.0.1 (the paths are ours, not PD's: the BR
//! stand-in speaks them instead of PD's gRPC; bodies are JSON):
//!
//! | Method and path | Body | Answer |
//! |---|---|---|
//! | `GET /tibr/v1/state` | — | [`PdSnapshot`]: read-only, for tests and `sandbox.env` |
//! | `POST /tibr/v1/tso` | — | `{"tso": u64}` (a new timestamp, as PD's `GetTS`) |
//! | `GET /tibr/v1/min-resolved-ts` | — | `{"min_resolved_ts": u64, "is_real_time": bool}` (as PD's `/pd/api/v1/min-resolved-ts`) |
//! | `PUT /tibr/v1/min-resolved-ts` | `{"enabled": bool}` | as `GET` (the test switch) |
//! | `GET /tibr/v1/gc/safepoint` | — | `{"gc_safe_point": u64, "service_gc_safe_points": [ServiceSafePoint]}` |
//! | `POST /tibr/v1/gc/service-safepoint` | `{"service_id", "ttl": i64 s, "safe_point": u64}` | `{"service_id", "ttl", "min_safe_point"}` (PD's `UpdateServiceGCSafePoint`: TTL ≤ 0 removes) |
//! | `GET /tibr/v1/schedulers` | — | `["balance-hot-region-scheduler", …]` |
//! | `POST /tibr/v1/schedulers/{name}` | `{"delay": i64 s, "by": "caller"}` | `{"name", "paused_until_ms": i64 \| null}` (PD's scheduler delay: 0 resumes) |
//! | `GET /tibr/v1/cluster-version` | — | `{"version": "8.5.0"}` |
//!
//! Errors are `{"error": "…"}` with 400 (bad body), 404 (no such path or scheduler) or 405.
//!
//! Differences from PD: no members, stores, regions or keyspaces; the GC safepoint moves
//! continuously instead of every GC run; schedule-limit configs that BR also pauses are not
//! kept (pausing the schedulers stands for both); TiKV's prepare-snapshot lease is not
//! modelled (the BR stand-in logs it only).

pub mod http;
pub mod state;

use std::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{AtomicI64, Ordering},
};
use std::time::Duration;

pub use http::PdServer;
pub use state::{
    Event, PdConfig, PdError, PdSnapshot, PdState, SchedulerView, SchedulersView, ServiceSafePoint,
    Transition, compose_ts, physical_ms,
};

/// Where the simulated PD reads the time.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }
}

/// A clock that moves only when told, for tests of TTLs that must not wait.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start_ms: i64) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(start_ms)))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A handle on the one simulated PD; clones share it.
#[derive(Clone)]
pub struct Pd {
    state: Arc<Mutex<PdState>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Pd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pd").finish_non_exhaustive()
    }
}

impl Pd {
    /// A PD on the wall clock.
    pub fn new(config: PdConfig) -> Pd {
        Pd::with_clock(config, Arc::new(SystemClock))
    }

    pub fn with_clock(config: PdConfig, clock: Arc<dyn Clock>) -> Pd {
        let state = PdState::new(config, clock.now_ms());
        Pd {
            state: Arc::new(Mutex::new(state)),
            clock,
        }
    }

    fn lock(&self) -> (MutexGuard<'_, PdState>, i64) {
        // A panic while holding the lock leaves consistent data (every operation settles
        // first), so a poisoned lock is still usable.
        let guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (guard, self.clock.now_ms())
    }

    pub fn tso(&self) -> u64 {
        let (mut s, now) = self.lock();
        s.tso(now)
    }

    pub fn min_resolved_ts(&self) -> u64 {
        let (mut s, now) = self.lock();
        s.min_resolved_ts(now)
    }

    /// Switches resolved ts off (min resolved ts reads 0) or back on.
    pub fn set_resolved_ts_enabled(&self, enabled: bool) {
        let (mut s, now) = self.lock();
        s.set_resolved_ts_enabled(enabled, now);
    }

    pub fn gc_safe_point(&self) -> u64 {
        let (mut s, now) = self.lock();
        s.gc_safe_point(now)
    }

    /// See [`PdState::update_service_safe_point`].
    pub fn update_service_safe_point(
        &self,
        service_id: &str,
        ttl_seconds: i64,
        safe_point: u64,
    ) -> Result<u64, PdError> {
        let (mut s, now) = self.lock();
        s.update_service_safe_point(service_id, ttl_seconds, safe_point, now)
    }

    /// See [`PdState::pause_scheduler`]; returns the new deadline.
    pub fn pause_scheduler(
        &self,
        name: &str,
        delay_seconds: i64,
        by: &str,
    ) -> Result<Option<i64>, PdError> {
        let (mut s, now) = self.lock();
        s.pause_scheduler(name, delay_seconds, by, now)
    }

    pub fn scheduler_names(&self) -> Vec<String> {
        self.lock().0.scheduler_names()
    }

    pub fn cluster_version(&self) -> String {
        self.lock().0.cluster_version().to_string()
    }

    /// Everything at once, deadlines settled up to now.
    pub fn snapshot(&self) -> PdSnapshot {
        let (mut s, now) = self.lock();
        s.snapshot(now)
    }
}
