//! The federation manager's VolumeBackup controller, as pure functions: one EBS snapshot
//! backup of a TiDB cluster whose TidbClusters live in several Kubernetes clusters, driven
//! through one member `Backup` per data plane (docs/volume-snapshots.md is the data plane's
//! side; docs/adr/0008-federation-decisions.md records the choices made here).
//!
//! The shape is the one every controller follows (docs/architecture.md): the federation
//! binary observes ([`Observed`]: the VolumeBackup read fresh, and per member cluster
//! whether it answered and the member Backup it holds), calls [`decide`], carries the
//! [`Plan`] out (finalizer first, then the member writes in order), and hands what
//! happened ([`Outcomes`]) to [`settle`], which says what to write.
//!
//! - `validate`: the spec, checked with the data plane's own rules ([`validate()`]).
//! - `member`: the member Backup as TiDB's manager builds it ([`member_backup`]).
//! - `decide`: the protocol (start, execute, resume, teardown, the end) and deletion.
//! - `settle`: outcomes of the writes into status, conditions, Events and finalizer.
//!
//! Every decision is made from what is observed (member Backups, their conditions and
//! spec, the VolumeBackup's own status), never from memory, so a restarted manager picks
//! up where the last one stopped and never creates a member twice.

mod decide;
mod member;
mod observed;
mod plan;
mod settle;
mod status;
#[cfg(test)]
mod tests;
mod validate;

use std::time::Duration;

pub use decide::{decide, is_settled};
pub use member::{member_backup, member_name};
pub use observed::{Access, Observed, ObservedMember};
pub use plan::{FinalizerChange, MemberAction, MemberPatch, MemberWrite, Plan};
pub use settle::{ActionOutcome, Outcomes, Settled, settle};
pub use status::NewCondition;
pub use validate::{MemberCluster, ValidVolumeBackup, validate};

/// How the federation manager is configured, as far as decisions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Member Backups are polled, not watched: how often while nothing is paused.
    pub poll_interval: Duration,
    /// How often while GC and PD scheduling are paused (from the init member's creation
    /// until it reports the pause over): every step the manager is late lengthens the
    /// pause of the whole TiDB cluster.
    pub paused_poll_interval: Duration,
    /// Look again this soon after a write whose effect the next step depends on.
    pub short_interval: Duration,
    /// Waiting on a cluster that does not answer: the wait grows with the time it has not
    /// answered, between these two bounds.
    pub unreachable_min: Duration,
    pub unreachable_max: Duration,
    /// How often a cluster name the kubeconfig does not know is looked up again (the
    /// registry is reloaded while the manager runs).
    pub registry_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            poll_interval: Duration::from_secs(30),
            paused_poll_interval: Duration::from_secs(5),
            short_interval: Duration::from_secs(2),
            unreachable_min: Duration::from_secs(5),
            unreachable_max: Duration::from_secs(300),
            registry_interval: Duration::from_secs(60),
        }
    }
}
