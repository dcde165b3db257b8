//! The simulated PD's state as a pure function of the calls made and the times they were
//! made at: no clock is read here, every operation takes `now` (milliseconds since the Unix
//! epoch), so the tests below drive time by hand.
//!
//! Deadlines are settled lazily: before any operation, every service safepoint and scheduler
//! pause whose deadline is at or before `now` ends, and the history records it at its
//! deadline, not at the moment it was noticed. Since every operation settles first, history
//! entries are in time order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A TSO from a physical time in milliseconds and a logical counter (PD's layout).
pub fn compose_ts(physical_ms: i64, logical: u64) -> u64 {
    ((physical_ms.max(0) as u64) << 18) | (logical & 0x3FFFF)
}

/// The physical part of a TSO, in milliseconds.
pub fn physical_ms(ts: u64) -> i64 {
    (ts >> 18) as i64
}

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A service registered a GC safepoint (GC cannot pass it while it lives).
    GcPaused,
    /// A service removed its safepoint (TTL 0).
    GcResumed,
    /// A service safepoint reached its TTL without being refreshed.
    GcExpired,
    /// Every scheduler became paused.
    SchedulersPaused,
    /// A scheduler was resumed by a call (delay 0) while all were paused.
    SchedulersResumed,
    /// A scheduler's pause reached its deadline while all were paused.
    SchedulersExpired,
    ResolvedTsDisabled,
    ResolvedTsEnabled,
}

/// One transition, with when and (for calls) by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub at_ms: i64,
    /// `at_ms` as RFC 3339, for people reading the endpoint.
    pub at: String,
    pub event: Event,
    /// The service id (GC) or the caller's name (schedulers); absent for expiries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// GC events: the safepoint concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_point: Option<u64>,
    /// `gc_paused`: the TTL asked for; `schedulers_paused`: the pause's delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<i64>,
    /// `schedulers_paused`: the earliest deadline among the schedulers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSafePoint {
    pub service_id: String,
    pub safe_point: u64,
    pub ttl_seconds: i64,
    pub expires_at_ms: i64,
    pub expires_at: String,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerView {
    pub name: String,
    #[serde(default)]
    pub paused_until_ms: Option<i64>,
    #[serde(default)]
    pub paused_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulersView {
    /// Every scheduler is paused.
    pub paused: bool,
    /// When the current pause began (all paused), by whom.
    #[serde(default)]
    pub paused_since_ms: Option<i64>,
    #[serde(default)]
    pub paused_by: Option<String>,
    /// The earliest deadline among the paused schedulers: scheduling resumes then unless
    /// the pause is refreshed.
    #[serde(default)]
    pub paused_until_ms: Option<i64>,
    #[serde(default)]
    pub paused_until: Option<String>,
    /// When a pause of every scheduler was last renewed.
    #[serde(default)]
    pub refreshed_at_ms: Option<i64>,
    pub list: Vec<SchedulerView>,
}

/// Everything the read-only endpoint shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdSnapshot {
    pub now_ms: i64,
    pub now: String,
    pub cluster_version: String,
    /// The last TSO handed out (0 before the first).
    pub tso: u64,
    pub resolved_ts_enabled: bool,
    pub min_resolved_ts: u64,
    /// The cluster's GC safepoint: GC has removed versions older than this.
    pub gc_safe_point: u64,
    pub service_gc_safe_points: Vec<ServiceSafePoint>,
    pub schedulers: SchedulersView,
    pub history: Vec<Transition>,
}

impl PdSnapshot {
    /// History entries of one kind, oldest first.
    pub fn events(&self, event: Event) -> Vec<&Transition> {
        self.history.iter().filter(|t| t.event == event).collect()
    }

    /// The service safepoint of `service_id`, if it lives.
    pub fn service(&self, service_id: &str) -> Option<&ServiceSafePoint> {
        self.service_gc_safe_points
            .iter()
            .find(|s| s.service_id == service_id)
    }
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdError {
    #[error("scheduler not found: {0}")]
    SchedulerNotFound(String),
    #[error("{0}")]
    Invalid(String),
}

/// The knobs of a simulated PD.
#[derive(Debug, Clone)]
pub struct PdConfig {
    /// Without `v`, as PD reports it (`8.5.0`).
    pub cluster_version: String,
    /// How far behind now TiDB's GC worker keeps the GC safepoint (`tikv_gc_life_time`).
    pub gc_life_time_ms: i64,
    /// How far the cluster's min resolved ts trails the wall clock.
    pub resolved_ts_lag_ms: i64,
    /// The schedulers PD runs; pausing all of them is "schedulers paused".
    pub schedulers: Vec<String>,
}

impl Default for PdConfig {
    fn default() -> Self {
        PdConfig {
            cluster_version: crate::TIDB_VERSION.trim_start_matches('v').to_string(),
            gc_life_time_ms: 10 * 60 * 1000,
            resolved_ts_lag_ms: 2_000,
            schedulers: [
                "balance-hot-region-scheduler",
                "balance-leader-scheduler",
                "balance-region-scheduler",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

#[derive(Debug, Clone)]
struct Scheduler {
    paused_until_ms: Option<i64>,
    paused_by: Option<String>,
}

#[derive(Debug)]
pub struct PdState {
    config: PdConfig,
    last_tso: u64,
    resolved_ts: u64,
    resolved_ts_enabled: bool,
    gc_safe_point: u64,
    services: BTreeMap<String, ServiceSafePoint>,
    schedulers: BTreeMap<String, Scheduler>,
    /// Since when, and by whom, every scheduler has been paused.
    all_paused: Option<(i64, String)>,
    refreshed_at_ms: Option<i64>,
    history: Vec<Transition>,
}

pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn transition(at_ms: i64, event: Event) -> Transition {
    Transition {
        at_ms,
        at: rfc3339(at_ms),
        event,
        by: None,
        safe_point: None,
        ttl_seconds: None,
        until_ms: None,
    }
}

impl PdState {
    pub fn new(config: PdConfig, now_ms: i64) -> PdState {
        let schedulers = config
            .schedulers
            .iter()
            .map(|name| {
                (
                    name.clone(),
                    Scheduler {
                        paused_until_ms: None,
                        paused_by: None,
                    },
                )
            })
            .collect();
        PdState {
            gc_safe_point: compose_ts(now_ms - config.gc_life_time_ms, 0),
            config,
            last_tso: 0,
            resolved_ts: 0,
            resolved_ts_enabled: true,
            services: BTreeMap::new(),
            schedulers,
            all_paused: None,
            refreshed_at_ms: None,
            history: Vec::new(),
        }
    }

    fn all_schedulers_paused(&self) -> bool {
        !self.schedulers.is_empty()
            && self
                .schedulers
                .values()
                .all(|s| s.paused_until_ms.is_some())
    }

    fn earliest_deadline(&self) -> Option<i64> {
        self.schedulers
            .values()
            .filter_map(|s| s.paused_until_ms)
            .min()
    }

    /// Ends what has reached its deadline and moves GC and resolved ts forward.
    fn settle(&mut self, now: i64) {
        let mut ended: Vec<Transition> = Vec::new();
        let expired: Vec<String> = self
            .services
            .values()
            .filter(|s| s.expires_at_ms <= now)
            .map(|s| s.service_id.clone())
            .collect();
        for id in expired {
            if let Some(s) = self.services.remove(&id) {
                let mut t = transition(s.expires_at_ms, Event::GcExpired);
                t.by = Some(id);
                t.safe_point = Some(s.safe_point);
                ended.push(t);
            }
        }
        // The pause of "every scheduler" ends at the first deadline that passes.
        let was_all = self.all_paused.is_some();
        let mut first_expiry: Option<i64> = None;
        for s in self.schedulers.values_mut() {
            if let Some(until) = s.paused_until_ms.filter(|u| *u <= now) {
                first_expiry = Some(first_expiry.map_or(until, |f: i64| f.min(until)));
                s.paused_until_ms = None;
                s.paused_by = None;
            }
        }
        if let (true, Some(at)) = (was_all, first_expiry) {
            self.all_paused = None;
            ended.push(transition(at, Event::SchedulersExpired));
        }
        ended.sort_by_key(|t| t.at_ms);
        self.history.extend(ended);

        // TiDB's GC worker keeps the safepoint a life time behind now, held back by every
        // live service safepoint; it never moves backwards.
        let candidate = compose_ts(now - self.config.gc_life_time_ms, 0);
        let held = self
            .services
            .values()
            .map(|s| s.safe_point)
            .min()
            .unwrap_or(u64::MAX);
        self.gc_safe_point = self.gc_safe_point.max(candidate.min(held));
        if self.resolved_ts_enabled {
            let resolved = compose_ts(now - self.config.resolved_ts_lag_ms, 0);
            self.resolved_ts = self.resolved_ts.max(resolved);
        }
    }

    /// A new timestamp: the wall clock's, or one past the last when the clock has not moved.
    pub fn tso(&mut self, now: i64) -> u64 {
        self.settle(now);
        self.last_tso = compose_ts(now, 0).max(self.last_tso + 1);
        self.last_tso
    }

    /// The cluster's min resolved ts; 0 while resolved ts is disabled (as TiKV reports it).
    pub fn min_resolved_ts(&mut self, now: i64) -> u64 {
        self.settle(now);
        if self.resolved_ts_enabled {
            self.resolved_ts
        } else {
            0
        }
    }

    pub fn set_resolved_ts_enabled(&mut self, enabled: bool, now: i64) {
        self.settle(now);
        if self.resolved_ts_enabled != enabled {
            self.resolved_ts_enabled = enabled;
            let event = if enabled {
                Event::ResolvedTsEnabled
            } else {
                Event::ResolvedTsDisabled
            };
            self.history.push(transition(now, event));
            self.settle(now);
        }
    }

    pub fn gc_safe_point(&mut self, now: i64) -> u64 {
        self.settle(now);
        self.gc_safe_point
    }

    /// PD's `UpdateServiceGCSafePoint`: `ttl_seconds <= 0` removes the service's safepoint;
    /// a safepoint behind the GC safepoint is not recorded. Returns the minimum safepoint
    /// (the GC safepoint), which a caller compares with what it asked for.
    pub fn update_service_safe_point(
        &mut self,
        service_id: &str,
        ttl_seconds: i64,
        safe_point: u64,
        now: i64,
    ) -> Result<u64, PdError> {
        if service_id.is_empty() {
            return Err(PdError::Invalid("service id is empty".into()));
        }
        self.settle(now);
        if ttl_seconds <= 0 {
            if let Some(s) = self.services.remove(service_id) {
                let mut t = transition(now, Event::GcResumed);
                t.by = Some(service_id.to_string());
                t.safe_point = Some(s.safe_point);
                self.history.push(t);
            }
            self.settle(now);
            return Ok(self.gc_safe_point);
        }
        if safe_point < self.gc_safe_point {
            return Ok(self.gc_safe_point);
        }
        let expires_at_ms = now.saturating_add(ttl_seconds.saturating_mul(1000));
        let entry = ServiceSafePoint {
            service_id: service_id.to_string(),
            safe_point,
            ttl_seconds,
            expires_at_ms,
            expires_at: rfc3339(expires_at_ms),
            updated_at_ms: now,
        };
        if self
            .services
            .insert(service_id.to_string(), entry)
            .is_none()
        {
            let mut t = transition(now, Event::GcPaused);
            t.by = Some(service_id.to_string());
            t.safe_point = Some(safe_point);
            t.ttl_seconds = Some(ttl_seconds);
            self.history.push(t);
        }
        self.settle(now);
        Ok(self.gc_safe_point)
    }

    /// PD's scheduler delay: `delay_seconds > 0` pauses `name` until now + delay (a renewal
    /// moves the deadline), 0 resumes it.
    pub fn pause_scheduler(
        &mut self,
        name: &str,
        delay_seconds: i64,
        by: &str,
        now: i64,
    ) -> Result<Option<i64>, PdError> {
        if delay_seconds < 0 {
            return Err(PdError::Invalid(format!(
                "delay must not be negative: {delay_seconds}"
            )));
        }
        self.settle(now);
        let scheduler = self
            .schedulers
            .get_mut(name)
            .ok_or_else(|| PdError::SchedulerNotFound(name.to_string()))?;
        let until = (delay_seconds > 0).then(|| now.saturating_add(delay_seconds * 1000));
        scheduler.paused_until_ms = until;
        scheduler.paused_by = until.map(|_| by.to_string());
        let all = self.all_schedulers_paused();
        match (self.all_paused.is_some(), all) {
            (false, true) => {
                self.all_paused = Some((now, by.to_string()));
                self.refreshed_at_ms = Some(now);
                let mut t = transition(now, Event::SchedulersPaused);
                t.by = Some(by.to_string());
                t.ttl_seconds = Some(delay_seconds);
                t.until_ms = self.earliest_deadline();
                self.history.push(t);
            }
            (true, false) => {
                self.all_paused = None;
                let mut t = transition(now, Event::SchedulersResumed);
                t.by = Some(by.to_string());
                self.history.push(t);
            }
            (true, true) => self.refreshed_at_ms = Some(now),
            (false, false) => {}
        }
        Ok(until)
    }

    pub fn scheduler_names(&self) -> Vec<String> {
        self.schedulers.keys().cloned().collect()
    }

    pub fn cluster_version(&self) -> &str {
        &self.config.cluster_version
    }

    pub fn snapshot(&mut self, now: i64) -> PdSnapshot {
        self.settle(now);
        let until = self
            .all_paused
            .as_ref()
            .and_then(|_| self.earliest_deadline());
        PdSnapshot {
            now_ms: now,
            now: rfc3339(now),
            cluster_version: self.config.cluster_version.clone(),
            tso: self.last_tso,
            resolved_ts_enabled: self.resolved_ts_enabled,
            min_resolved_ts: if self.resolved_ts_enabled {
                self.resolved_ts
            } else {
                0
            },
            gc_safe_point: self.gc_safe_point,
            service_gc_safe_points: self.services.values().cloned().collect(),
            schedulers: SchedulersView {
                paused: self.all_paused.is_some(),
                paused_since_ms: self.all_paused.as_ref().map(|(at, _)| *at),
                paused_by: self.all_paused.as_ref().map(|(_, by)| by.clone()),
                paused_until_ms: until,
                paused_until: until.map(rfc3339),
                refreshed_at_ms: self.all_paused.as_ref().and(self.refreshed_at_ms),
                list: self
                    .schedulers
                    .iter()
                    .map(|(name, s)| SchedulerView {
                        name: name.clone(),
                        paused_until_ms: s.paused_until_ms,
                        paused_by: s.paused_by.clone(),
                    })
                    .collect(),
            },
            history: self.history.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
