//! The verbs, as operations on a cluster's locked state. The HTTP layer and the
//! emulator's own controllers (garbage collector, namespace lifecycle) both go through
//! these, so objects change the same way whoever changes them.

mod admit;
mod delete;
mod read;
mod write;

pub(crate) use admit::{finalizers, is_noop as is_noop_value};
pub(crate) use delete::{DeleteOptions, Deleted, Propagation, delete};
pub(crate) use read::{ListOptions, get, list, matches};
pub(crate) use write::{PatchKind, create, patch, update};

use jiff::Timestamp;

/// What the server does with fields the schema does not know (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    pub(crate) fn parse(v: Option<&str>) -> Self {
        match v {
            Some("Strict") => FieldValidation::Strict,
            Some("Ignore") => FieldValidation::Ignore,
            _ => FieldValidation::Warn,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct WriteOptions {
    pub(crate) dry_run: bool,
    /// The `fieldManager` parameter, or the name derived from the client's User-Agent.
    pub(crate) field_manager: String,
    pub(crate) field_validation: FieldValidation,
    /// `status` for writes through the status subresource.
    pub(crate) subresource: Option<String>,
    pub(crate) force: bool,
    pub(crate) now: Timestamp,
}

impl WriteOptions {
    pub(crate) fn internal(manager: &str, now: Timestamp) -> Self {
        WriteOptions {
            dry_run: false,
            field_manager: manager.to_string(),
            field_validation: FieldValidation::Ignore,
            subresource: None,
            force: false,
            now,
        }
    }

    pub(crate) fn status(mut self) -> Self {
        self.subresource = Some("status".to_string());
        self
    }
}

/// The result of a successful write.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub(crate) object: serde_json::Value,
    pub(crate) warnings: Vec<String>,
    pub(crate) created: bool,
}
