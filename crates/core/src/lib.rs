//! tibr's decisions, as pure functions: no Kubernetes client, no async runtime, no cloud
//! SDK, no clock. Every function that needs "now" takes it as an argument, so every
//! decision is a plain, testable function of its inputs.

pub mod backup;
pub mod duration;
pub mod federation;
pub mod field;
pub mod gc;
pub mod names;
pub mod progress;
pub mod reconcile;
pub mod schedule;
pub mod storage;
pub mod unreadable;
pub mod volume;
