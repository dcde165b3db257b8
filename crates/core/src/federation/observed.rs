//! What the federation binary reads before a decision: per member cluster whether it
//! answered, and the member Backup it holds, read fresh (never from a cache: a decision
//! to create a member must not rest on a stale "not found").

use std::collections::BTreeSet;

use jiff::Timestamp;
use tibr_api::Backup;

/// How a member's Kubernetes cluster answered the read of the member Backup.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// It answered: the member Backup as read now, or `None` when it has none (404).
    Reachable(Option<Box<Backup>>),
    /// The federation kubeconfig (as the registry holds it now) has no context of that
    /// name: the cluster cannot be reached at all until it is added back.
    UnknownContext,
    /// The context exists but the read failed (connection, TLS, authorization, 5xx), and
    /// has been failing since `since` (kept by the binary across reconciles).
    Unreachable { error: String, since: Timestamp },
}

/// One member cluster, as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedMember {
    /// `spec.clusters[].k8sClusterName` as [`MemberCluster::from_spec`] reads it (trimmed):
    /// the decision finds members by that name. The member Backup to read is
    /// [`member_name`] in the entry's `tcNamespace`.
    ///
    /// [`MemberCluster::from_spec`]: super::MemberCluster::from_spec
    /// [`member_name`]: super::member_name
    pub k8s_cluster_name: String,
    pub access: Access,
}

/// Everything a decision about one VolumeBackup reads besides the VolumeBackup itself,
/// which the binary also reads fresh and passes to `decide` beside this.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// One entry per `spec.clusters` entry, in spec order (a name listed twice is read
    /// once and may appear once).
    pub members: Vec<ObservedMember>,
    /// The contexts of the federation kubeconfig now, for naming the known ones when the
    /// spec names another.
    pub known_clusters: BTreeSet<String>,
}
