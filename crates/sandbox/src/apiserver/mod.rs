//! The Kubernetes API emulator: one HTTPS server per emulated cluster.
pub mod cause;
pub mod patch;
