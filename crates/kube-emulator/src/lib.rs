//! A Kubernetes API server in a library, for tests: one HTTPS server per emulated cluster,
//! which kube-rs and the real kubectl use as they would a real cluster. It knows nothing of
//! the programs that talk to it, so any kube-rs project can run its controllers against it.
pub mod access;
pub mod builtin;
pub mod cause;
pub mod cluster;
pub mod engines;
pub mod error;
pub mod gc;
pub mod hooks;
pub mod http;
pub mod openapi;
pub mod ops;
pub mod patch;
pub mod pod_identity;
pub mod protobuf;
pub mod registry;
pub mod request;
pub mod running;
pub mod schema;
mod seed;
pub mod selector;
pub mod store;
pub mod table;
pub mod tls;

pub use cluster::ClusterOptions;
pub use running::{RunningCluster, kubeconfig_yaml};
pub use tls::Tls;
pub mod testing;
pub use seed::timestamp_now;
