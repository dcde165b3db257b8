//! The secret values this pod holds, so that none of them reaches a log line, a condition
//! message or an Event, whatever BR or a driver prints.
//!
//! They arrive only through the environment the operator sets (`BACKUP_MANAGER_PASSWORD`,
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` from Secrets, `AWS_SESSION_TOKEN` from web
//! identity tooling); BR inherits them the same way and never gets them as arguments.

use std::sync::Arc;

use tibr_storage::error::Redactor;

/// The TiDB password variable (TiDB Operator's name).
pub const PASSWORD_VAR: &str = "BACKUP_MANAGER_PASSWORD";

const SECRET_VARS: &[&str] = &[
    PASSWORD_VAR,
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Blanks known secret values out of text.
#[derive(Clone)]
pub struct Secrets {
    redactor: Arc<Redactor>,
    password: Arc<Option<String>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([REDACTED])")
    }
}

impl Secrets {
    /// The values of this process's secret variables.
    pub fn from_env() -> Self {
        let values: Vec<String> = SECRET_VARS
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .collect();
        Secrets::new(values, std::env::var(PASSWORD_VAR).ok())
    }

    /// Explicit values (the environment's, or a test's); `password` is also one of them.
    pub fn new(values: Vec<String>, password: Option<String>) -> Self {
        let values = values
            .into_iter()
            .chain(password.clone())
            .filter(|v| !v.is_empty());
        Secrets {
            redactor: Arc::new(Redactor::new(values)),
            password: Arc::new(password.filter(|p| !p.is_empty())),
        }
    }

    /// The TiDB password, when the operator provided one.
    pub fn tidb_password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    pub fn scrub(&self, text: &str) -> String {
        let out = self.redactor.redact(text);
        // The Redactor ignores values under 4 characters; a short password still must go
        // (a single character would blank every occurrence of a letter, and says nothing).
        match self.password.as_deref() {
            Some(p) if p.len() >= 2 && out.contains(p) => out.replace(p, "[REDACTED]"),
            _ => out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_are_blanked_even_short_passwords() {
        let s = Secrets::new(
            vec!["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()],
            Some("pw".into()),
        );
        let out = s.scrub("key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and pw here");
        assert_eq!(out, "key [REDACTED] and [REDACTED] here");
        assert_eq!(s.tidb_password(), Some("pw"));
        assert_eq!(format!("{s:?}"), "Secrets([REDACTED])");
        let none = Secrets::new(vec![], Some(String::new()));
        assert_eq!(none.tidb_password(), None);
        assert_eq!(none.scrub("text"), "text");
    }
}
