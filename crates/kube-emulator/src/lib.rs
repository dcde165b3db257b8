//! A Kubernetes API server in a library, for tests: one HTTPS server per emulated cluster,
//! which kube-rs and the real kubectl use as they would a real cluster. It knows nothing of
//! the programs that talk to it, so any kube-rs project can run its controllers against it.
//!
//! Its surface is small on purpose: start a [`RunningCluster`] from [`ClusterOptions`] and a
//! [`Tls`], connect clients to it, install the objects it starts with, and read what was
//! asked of it ([`Cluster::accesses`], tokens it issued). Everything else is reached the way
//! clients reach a real cluster, over HTTP.
mod access;
mod builtin;
mod cause;
mod cluster;
mod engines;
mod error;
mod garbage_collector;
mod hooks;
mod http;
mod openapi;
mod ops;
mod patch;
pub mod pod_identity;
mod protobuf;
mod registry;
mod request;
mod running;
mod schema;
mod seed;
mod selector;
mod store;
mod table;
pub mod testing;
mod tls;

pub use access::{Access, AccessLog};
pub use cluster::{Cluster, ClusterOptions, Identity, IssuedToken, TokenError};
pub use running::{RunningCluster, kubeconfig_yaml};
pub use seed::timestamp_now;
pub use tls::Tls;
