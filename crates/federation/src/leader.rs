//! Leader election through a `coordination.k8s.io` Lease, so that of several managers
//! (a rollout, a second replica) only one writes members at a time.
//!
//! The rules are Kubernetes' own for Leases: the holder renews every retry period; another
//! manager takes the Lease only once it has seen it unchanged for a whole lease duration,
//! measured on its own clock (never by comparing its clock with the holder's); a holder
//! that could not renew for the renew deadline stops acting, before anyone else may take
//! over. On a clean shutdown the Lease is handed back at once.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
};
use kube::{Api, Client};

use crate::{LeaderElection, error::code, post_params};

pub(crate) struct Elector {
    api: Api<Lease>,
    identity: String,
    settings: LeaderElection,
    observed: Mutex<Option<Observed>>,
}

/// The Lease's holder and renew time as last seen, and when they were first seen so.
struct Observed {
    holder: Option<String>,
    renew: Option<MicroTime>,
    since: Instant,
}

impl Elector {
    pub fn new(client: &Client, settings: LeaderElection, identity: String) -> Self {
        let api = match &settings.namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::default_namespaced(client.clone()),
        };
        Elector {
            api,
            identity,
            settings,
            observed: Mutex::new(None),
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Returns once this manager holds the Lease.
    pub async fn acquire(&self) {
        let mut last_error: Option<String> = None;
        loop {
            match self.try_hold().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => {
                    let e = e.to_string();
                    if last_error.as_deref() != Some(e.as_str()) {
                        tracing::warn!(lease = %self.settings.lease_name, error = %e, "cannot read or take the Lease; trying again");
                        last_error = Some(e);
                    }
                }
            }
            tokio::time::sleep(self.settings.retry_period).await;
        }
    }

    /// Renews the Lease; returns when it is lost (another holder, or no renewal within
    /// the renew deadline).
    pub async fn hold(&self) {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(self.settings.retry_period).await;
            match self.try_hold().await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => return,
                Err(e) => {
                    tracing::debug!(lease = %self.settings.lease_name, error = %e, "renewing the Lease failed");
                    if renewed.elapsed() >= self.settings.renew_deadline {
                        return;
                    }
                }
            }
        }
    }

    /// Hands the Lease back, so that a successor need not wait for it to expire.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.settings.lease_name).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        if let Err(e) = self
            .api
            .replace(&self.settings.lease_name, &post_params(), &lease)
            .await
        {
            tracing::debug!(lease = %self.settings.lease_name, error = %e, "handing the Lease back failed; it expires on its own");
        }
    }

    /// Takes or renews the Lease: `Ok(true)` when this manager holds it now.
    async fn try_hold(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let name = &self.settings.lease_name;
        let duration = i32::try_from(self.settings.lease_duration.as_secs()).unwrap_or(15);
        let Some(mut lease) = self.api.get_opt(name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&post_params(), &lease).await {
                Ok(_) => Ok(true),
                Err(e) if code(&e) == Some(409) => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let mine = holder.as_deref() == Some(self.identity.as_str());
        if !mine && holder.is_some() {
            let held_for = spec
                .lease_duration_seconds
                .map_or(self.settings.lease_duration, |s| {
                    Duration::from_secs(u64::try_from(s).unwrap_or(0))
                });
            if !self.expired(holder.clone(), spec.renew_time.clone(), held_for) {
                return Ok(false);
            }
        }
        if !mine {
            spec.acquire_time = Some(MicroTime(now));
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            tracing::info!(lease = %name, identity = %self.identity, previous = holder.as_deref().unwrap_or("-"), "taking the Lease");
        }
        spec.holder_identity = Some(self.identity.clone());
        spec.lease_duration_seconds = Some(duration);
        spec.renew_time = Some(MicroTime(now));
        match self.api.replace(name, &post_params(), &lease).await {
            Ok(_) => Ok(true),
            Err(e) if code(&e) == Some(409) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether the holder's record has not changed for `held_for`, as this manager saw it.
    fn expired(
        &self,
        holder: Option<String>,
        renew: Option<MicroTime>,
        held_for: Duration,
    ) -> bool {
        let mut observed = self.observed.lock().unwrap_or_else(|p| p.into_inner());
        match observed.as_ref() {
            Some(o) if o.holder == holder && o.renew == renew => o.since.elapsed() >= held_for,
            _ => {
                *observed = Some(Observed {
                    holder,
                    renew,
                    since: Instant::now(),
                });
                false
            }
        }
    }
}
