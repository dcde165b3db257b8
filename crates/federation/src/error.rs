//! The manager's errors. Each has a bounded category (a metric label) and a retry interval;
//! messages name objects and clusters, never a credential.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A read or write of the control plane's API failed.
    #[error("{what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
    /// A write was refused because the VolumeBackup changed since it was read: the
    /// reconcile reads and decides again.
    #[error("{what}: the object changed since it was read")]
    Conflict { what: String },
    /// The VolumeBackup cannot be read as its kind; it waits for an edit.
    #[error("VolumeBackup {namespace}/{name} cannot be read: {error}")]
    InvalidObject {
        namespace: String,
        name: String,
        error: String,
    },
    /// Creating or deleting a schedule's VolumeBackup failed; retried.
    #[error("VolumeBackupSchedule {schedule}: {message}")]
    Schedule { schedule: String, message: String },
    /// A member cluster refused a write (or the finalizer could not be added); `settle`
    /// asked for a retry.
    #[error("VolumeBackup {volume_backup}: {message}")]
    Member {
        volume_backup: String,
        message: String,
    },
}

impl Error {
    pub fn kube(what: impl Into<String>, source: kube::Error) -> Self {
        let what = what.into();
        match &source {
            kube::Error::Api(status) if status.code == 409 => Error::Conflict { what },
            _ => Error::Kube { what, source },
        }
    }
}

impl tibr_runtime::reconcile::ReconcileError for Error {
    fn category(&self) -> &'static str {
        match self {
            Error::Kube { .. } => "kube",
            Error::Conflict { .. } => "conflict",
            Error::InvalidObject { .. } => "invalid_object",
            Error::Member { .. } => "member",
            Error::Schedule { .. } => "schedule",
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Conflict { .. } => Some(Duration::from_millis(500)),
            Error::Kube { .. } => Some(Duration::from_secs(5)),
            Error::InvalidObject { .. } => None,
            Error::Member { .. } | Error::Schedule { .. } => Some(Duration::from_secs(10)),
        }
    }

    fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The API server's status code, when the error is one.
pub fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}
