//! What BR prints and writes while it snapshots volumes: the summary line of an EBS backup
//! (its `resolved_ts` is the backup's commitTs), and the progress file it rewrites with a
//! percentage.

use crate::progress::parse_line;

/// BR's summary of an EBS backup that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbsSummary {
    pub resolved_ts: u64,
    /// BR's own size: the provisioned size of the snapshotted volumes.
    pub size: Option<String>,
}

/// The summary, if `line` is BR's "EBS backup success" line.
pub fn parse_ebs_summary(line: &str) -> Option<EbsSummary> {
    let parsed = parse_line(line)?;
    if !parsed.message.contains("EBS backup success") {
        return None;
    }
    let resolved_ts = parsed.field("resolved_ts")?.parse().ok()?;
    Some(EbsSummary {
        resolved_ts,
        size: parsed.field("size").map(str::to_string),
    })
}

/// The percentage in BR's progress file (`37.50`), bounded to 0..=100.
pub fn parse_progress_file(text: &str) -> Option<f64> {
    let value: f64 = text.trim().trim_end_matches('%').parse().ok()?;
    value.is_finite().then(|| value.clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_success_line_gives_the_resolved_ts() {
        let line = r#"[2026/12/05 10:00:00.000 +00:00] [INFO] [backup_ebs.go:300] ["EBS backup success"] [size=20GiB] [resolved_ts=449123456789012481] [backup_start_ts=449123456789012480]"#;
        let s = parse_ebs_summary(line).unwrap();
        assert_eq!(s.resolved_ts, 449_123_456_789_012_481);
        assert_eq!(s.size.as_deref(), Some("20GiB"));
        assert_eq!(
            parse_ebs_summary(
                r#"[2026/12/05 10:00:00.000 +00:00] [ERROR] [backup_ebs.go:1] ["EBS backup failed"] [error="x"]"#
            ),
            None
        );
    }

    #[test]
    fn progress_files_read_as_percentages() {
        assert_eq!(parse_progress_file("37.50\n"), Some(37.5));
        assert_eq!(parse_progress_file("100.00"), Some(100.0));
        assert_eq!(parse_progress_file("120"), Some(100.0));
        assert_eq!(parse_progress_file(""), None);
        assert_eq!(parse_progress_file("NaN"), None);
    }
}
