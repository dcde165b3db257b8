//! Backups: the validated view of a `Backup`, and (as they land) the Job builders, the BR
//! command line and the phase decisions.

pub mod br;
pub mod status;
mod validate;
mod view;

pub use validate::{FieldError, validate};
pub use view::*;
