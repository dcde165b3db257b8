//! Object storage access for tibr: opening a [`Target`] with credentials from the environment
//! only ([`store`]), BR's `backupmeta` ([`backupmeta`]) and deleting a backup's objects
//! ([`clean`]).
//!
//! Where a backup lives is decided in `tibr_core::storage` (a checked [`Location`] inside an
//! [`S3Target`]); this crate only goes there. Keys are used literally (no percent-encoding),
//! as BR writes them. It is also what the BR stand-in (`tibr-br-sim`) writes with, so the
//! decoder is checked against real BR files (`tests/data/`) rather than only against the
//! stand-in.
//!
//! No credential value ever appears in a log line, an error or `Debug` output: credentials are
//! read from [`Env`] only, errors are built from redacted text, and the types holding a client
//! print only bucket, prefix and endpoint. (Keys fetched from STS or the instance metadata
//! service are never in hand here: object_store signs with them internally.)
//!
//! A store is opened at a location, and [`clean`] deletes only under it. object_store only
//! talks to STS over https, so web identity needs a real (or TLS) STS endpoint.

pub mod backupmeta;
pub mod clean;
pub mod env;
pub mod error;
pub mod store;
#[cfg(feature = "test-support")]
pub mod testing;

pub use backupmeta::{
    BACKUPMETA, Layout, MetaSummary, RetryPolicy, SizeSource, read_backup_meta,
    read_backup_meta_with,
};
pub use clean::{CleanOptions, CleanProgress, CleanReport, clean, clean_backup, clean_named};
pub use env::Env;
pub use error::{Result, StorageError};
pub use store::{CredentialSource, ObjectInfo, OpenOptions, Store, open, open_with};
pub use tibr_core::storage::{Location, S3Target, Target};
