//! Backups: the validated view of a `Backup`, the Jobs that take and clean it, and the
//! operator's decisions about it.
//!
//! - [`br`]: BR's command line.
//! - `validate` / `view`: the spec, checked once, as typed data ([`ValidBackup`]).
//! - [`job`]: the backup and clean Jobs.
//! - [`decide`]: what the operator does about a Backup, as a pure plan.
//! - [`retry`]: `backoffRetryPolicy` arithmetic.
//! - [`gc_restore`]: putting TiKV's GC life time back after a dead pod.
//! - [`secrets`]: which Secrets must outlive their Backups.
//! - [`labels`]: labels, annotations and finalizers of the objects tibr touches.
//! - [`status`]: conditions and phase, shared by every status writer.

pub mod br;
pub mod decide;
#[cfg(test)]
mod fixtures;
pub mod gc_restore;
pub mod job;
pub mod labels;
pub mod retry;
pub mod secrets;
pub mod status;
mod validate;
mod view;

pub use decide::{Observed, Plan, Settings, decide};
pub use validate::{FieldError, validate, validate_template};
pub use view::*;
