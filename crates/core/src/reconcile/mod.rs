//! The vocabulary every controller's plan speaks, whatever it reconciles: the [`Event`]s it
//! records, the one rule by which a condition is updated ([`update_condition`]), the
//! [`reasons`] those carry, and how a plan asks to be looked at again ([`sooner`]).
//!
//! Each controller follows the same shape (docs/architecture.md): observe (all reads) →
//! `decide` (pure, here in `tibr-core`) → act (carries out the plan's writes and returns
//! what happened, deciding nothing) → `settle` (pure, here again) turns those outcomes into
//! the status, conditions and Events to write.

mod condition;
mod event;
pub mod reasons;

use std::time::Duration;

pub use condition::{ConditionRecord, update_condition};
pub use event::{Event, EventKind, EventSubject, Related};

/// Asks to look again after `after`, keeping the sooner of two requests: a plan gathers
/// every wait that applies and the shortest one wins.
pub fn sooner(requeue: &mut Option<Duration>, after: Duration) {
    *requeue = Some(requeue.map_or(after, |r| r.min(after)));
}

/// The sooner of two optional requeues.
pub fn soonest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
