//! The verbs, as operations on a cluster's locked state. The HTTP layer and the
//! emulator's own controllers (garbage collector, namespace lifecycle) both go through
//! these, so objects change the same way whoever changes them.

mod admit;
mod delete;
mod read;
mod write;

pub use admit::{finalizers, is_noop as is_noop_value};
pub use delete::{DeleteOptions, Deleted, Propagation, delete, remove_if_finalized};
pub use read::{ListOptions, Listed, get, list, matches};
pub use write::{PatchKind, create, patch, update};

use jiff::Timestamp;

/// What the server does with fields the schema does not know (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(v: Option<&str>) -> Self {
        match v {
            Some("Strict") => FieldValidation::Strict,
            Some("Ignore") => FieldValidation::Ignore,
            _ => FieldValidation::Warn,
        }
    }
}

#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub dry_run: bool,
    /// The `fieldManager` parameter, or the name derived from the client's User-Agent.
    pub field_manager: String,
    pub field_validation: FieldValidation,
    /// `status` for writes through the status subresource.
    pub subresource: Option<String>,
    pub force: bool,
    pub now: Timestamp,
}

impl WriteOptions {
    pub fn internal(manager: &str, now: Timestamp) -> Self {
        WriteOptions {
            dry_run: false,
            field_manager: manager.to_string(),
            field_validation: FieldValidation::Ignore,
            subresource: None,
            force: false,
            now,
        }
    }

    pub fn status(mut self) -> Self {
        self.subresource = Some("status".to_string());
        self
    }
}

/// The result of a successful write.
#[derive(Debug, Clone)]
pub struct Written {
    pub object: serde_json::Value,
    pub warnings: Vec<String>,
    pub created: bool,
}
