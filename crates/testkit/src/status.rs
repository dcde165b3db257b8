//! Reading what controllers report, the way assertions want it, and checking that no
//! secret leaked into what they report.

use tibr_api::{Backup, BackupSchedule};

/// A Backup's condition of `type_` as `(status, reason, message)`.
pub fn condition(b: &Backup, type_: &str) -> Option<(String, String, String)> {
    b.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_.as_str() == type_)
        .map(|c| {
            (
                c.status.as_str().to_string(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

/// A BackupSchedule's condition of `type_` as `(status, reason, message)`.
pub fn schedule_condition(s: &BackupSchedule, type_: &str) -> Option<(String, String, String)> {
    s.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Whether the Backup's phase is `Complete`.
pub fn is_complete(b: &Backup) -> bool {
    b.phase().is_some_and(|p| p.as_str() == "Complete")
}

/// A Backup's status as JSON text.
pub fn status_json(b: &Backup) -> String {
    serde_json::to_string(&b.status).unwrap()
}

/// Fails if any of `secrets` appears in `text`, showing the lines that hold one.
pub fn assert_no_secrets(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(s.len() >= 8, "a secret worth looking for");
        assert!(
            !text.contains(s),
            "a secret value appears in {what}:\n{}",
            text.lines()
                .filter(|l| l.contains(s))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
