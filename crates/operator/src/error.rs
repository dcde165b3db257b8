//! The operator's errors. Each has a bounded [`Error::category`] used as a metric label
//! and to pick a retry interval; messages name objects, never secret values.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A read or write of the Kubernetes API failed.
    #[error("{what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
    /// A write was refused because the object changed since it was read: the reconcile
    /// reads and decides again.
    #[error("{what}: the object changed since it was read")]
    Conflict { what: String },
    /// The object in the API cannot be read as its kind (a wrong type in a field).
    #[error("{kind} {namespace}/{name} cannot be read: {error}")]
    InvalidObject {
        kind: &'static str,
        namespace: String,
        name: String,
        error: String,
    },
    /// Putting TiKV's GC life time back failed.
    #[error("restoring tikv_gc_life_time for Backup {backup}: {message}")]
    GcRestore { backup: String, message: String },
    /// Deleting a backup's data from the operator's process failed.
    #[error("deleting the data of Backup {backup}: {message}")]
    Clean { backup: String, message: String },
    /// A schedule's create or delete was refused.
    #[error("BackupSchedule {schedule}: {message}")]
    Schedule { schedule: String, message: String },
}

impl Error {
    pub fn kube(what: impl Into<String>, source: kube::Error) -> Self {
        let what = what.into();
        match &source {
            kube::Error::Api(status) if status.code == 409 => Error::Conflict { what },
            _ => Error::Kube { what, source },
        }
    }

    /// A short, fixed name for the kind of failure.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube { .. } => "kube",
            Error::Conflict { .. } => "conflict",
            Error::InvalidObject { .. } => "invalid_object",
            Error::GcRestore { .. } => "gc_restore",
            Error::Clean { .. } => "clean",
            Error::Schedule { .. } => "schedule",
        }
    }

    /// When to try again; `None` means only when the object changes.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Conflict { .. } => Some(Duration::from_millis(500)),
            Error::Kube { .. } => Some(Duration::from_secs(5)),
            Error::InvalidObject { .. } => None,
            Error::GcRestore { .. } | Error::Clean { .. } => Some(Duration::from_secs(30)),
            Error::Schedule { .. } => Some(Duration::from_secs(5)),
        }
    }
}

impl tibr_runtime::reconcile::ReconcileError for Error {
    fn category(&self) -> &'static str {
        Error::category(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        Error::retry_after(self)
    }

    fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether a kube error is the API server's 404.
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// Whether a kube error is the API server's 409 (exists already, or a stale precondition).
pub fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}
