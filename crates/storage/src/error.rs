//! Errors of this crate.
//!
//! Every message is built from text that went through [`Redactor`], so no credential value can
//! reach a log line, a status condition or an event through an error — whether through
//! `Display` or `Debug`. Errors carry strings rather than the `object_store` error as a source
//! for the same reason: its text is only used after scrubbing.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid storage target: {0}")]
    InvalidTarget(String),

    #[error("storage credentials: {0}")]
    Credentials(String),

    #[error("{what} not found at {url}")]
    NotFound { what: String, url: String },

    #[error("access denied to {url}: {detail}")]
    AccessDenied { url: String, detail: String },

    #[error("{op} {url} failed: {detail}")]
    Request {
        op: &'static str,
        url: String,
        detail: String,
        /// Whether trying again later may succeed (network errors, 5xx, throttling).
        transient: bool,
    },

    #[error("backupmeta at {url} is invalid: {detail}")]
    InvalidMeta { url: String, detail: String },

    #[error("backupmeta at {url} is {what}, which tibr cannot read")]
    Unsupported { url: String, what: String },

    #[error(
        "refusing to clean s3://{bucket} by listing it: the backup is at the bucket root, and \
         listing would delete the whole bucket"
    )]
    EmptyPrefix { bucket: String },

    #[error(
        "refusing to clean {url}: the listing returned {key:?}, which lies outside it; nothing \
         more was deleted"
    )]
    OutsideLocation { url: String, key: String },

    #[error(
        "refusing to clean {url}: the backup is at the bucket root, and without its backupmeta \
         ({detail}) its own objects cannot be told from the rest of the bucket; nothing was \
         deleted: delete its objects by hand"
    )]
    UnknownObjects { url: String, detail: String },

    #[error(
        "cleaning {url} failed: {failed} deletions still failing after {rounds} rounds \
         ({deleted} objects deleted); first error: {first_error}"
    )]
    CleanFailed {
        url: String,
        deleted: u64,
        failed: u64,
        rounds: u32,
        first_error: String,
    },

    #[error("{remaining} objects remain under {url} after cleaning")]
    CleanIncomplete { url: String, remaining: u64 },
}

impl StorageError {
    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StorageError::Request {
                transient: true,
                ..
            }
        )
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::NotFound { .. })
    }

    pub fn is_access_denied(&self) -> bool {
        matches!(self, StorageError::AccessDenied { .. })
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Replaces known secret values in text with `[REDACTED]`.
///
/// It knows the values the store was opened with (static keys and session token) and, as a
/// second line of defence, blanks the `Credential=`/`Signature=` parts of SigV4 text some
/// servers echo back in error bodies.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} values)", self.secrets.len())
    }
}

const REDACTED: &str = "[REDACTED]";

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            // Very short values would blank unrelated text; real keys are 16+ characters.
            .filter(|s| s.len() >= 4)
            .collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        for marker in ["Credential=", "Signature=", "X-Amz-Security-Token="] {
            out = blank_after(&out, marker);
        }
        out
    }
}

/// Replaces the value after each `marker` (up to a delimiter) with the redaction mark.
fn blank_after(text: &str, marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(marker) {
        let (head, tail) = rest.split_at(pos + marker.len());
        out.push_str(head);
        let end = tail
            .find(|c: char| c == ',' || c == '&' || c == '"' || c == '<' || c.is_whitespace())
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str(REDACTED);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_values_and_signature_parts() {
        let r = Redactor::new(["SECRETSECRET".to_string(), "ab".to_string()]);
        let text = "bad SECRETSECRET here; Authorization: AWS4-HMAC-SHA256 \
                    Credential=AKIA123/20240101/us-east-1/s3/aws4_request, \
                    SignedHeaders=host, Signature=deadbeef ab";
        let out = r.redact(text);
        assert!(!out.contains("SECRETSECRET"));
        assert!(!out.contains("AKIA123"));
        assert!(!out.contains("deadbeef"));
        assert!(out.contains("SignedHeaders=host"));
        // Too short to be a key: left alone.
        assert!(out.ends_with(" ab"));
        assert_eq!(format!("{r:?}"), "Redactor(1 values)");
    }
}
