//! A rule a spec breaks, named by the field that breaks it. Every validator in this crate
//! reports with it, so conditions and Events read the same whatever checked the spec.

/// One rule a spec breaks: `spec.s3.bucket: must not be empty`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// `base.rest`, or `rest` alone when there is no base: validators are written against
/// `spec.…` and reused under `spec.backupTemplate.…`.
pub fn path(base: &str, rest: &str) -> String {
    match (base.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (false, true) => base.to_string(),
        (false, false) => format!("{base}.{rest}"),
    }
}
