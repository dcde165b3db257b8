//! Storage locations and targets: the one place a spec's storage fields become the location
//! BR writes to, the `status.backupPath` shown, and the location cleaned.

mod location;
mod s3;

pub use location::{Location, LocationError, Part, join_prefix};
pub use s3::{
    AWS_DEFAULT_ACL, AWS_DEFAULT_STORAGE_CLASS, S3_ACLS, S3_SSE_MODES, S3_STORAGE_CLASSES,
    S3Target, Target, endpoint_problem, s3_target,
};
