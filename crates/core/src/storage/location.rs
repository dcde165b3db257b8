//! Where a backup lives: a bucket and a key prefix inside it.
//!
//! TiDB Operator joins `bucket` and `prefix`, cleans the result and splits it at the first
//! `/`, so `bucket: b/mid` with `prefix: p` means bucket `b`, keys under `mid/p` and the path
//! `s3://b/mid/p`. BR writes there, `status.backupPath` shows it and the clean deletes
//! there, and all three are formed from one [`Location`], which only [`Location::parse`]
//! makes. It keeps the join and the split, and refuses what would make those three places
//! differ or leave the bucket the spec names: `.` and `..` segments (Go's path cleaning
//! resolves them, BR's URL keeps them), `?`, `#` and `%` (BR reads the location as a URL,
//! where they start a query, a fragment or an escape), and control characters.

/// A bucket and a key prefix inside it, both checked; the prefix has no leading, trailing
/// or doubled `/` and is empty for the bucket root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    bucket: String,
    prefix: String,
}

/// Which of the two spec fields a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Bucket,
    Prefix,
}

impl Part {
    /// The field's name in `spec.s3`.
    pub fn field(self) -> &'static str {
        match self {
            Part::Bucket => "bucket",
            Part::Prefix => "prefix",
        }
    }
}

/// Why a bucket and prefix do not form a [`Location`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationError {
    pub part: Part,
    pub message: String,
}

impl std::fmt::Display for LocationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.part.field(), self.message)
    }
}

impl Location {
    /// The location `bucket` (which may carry a sub-path) and `prefix` name, or why they
    /// name none. Bucket names are checked loosely here (the characters any S3-compatible
    /// store accepts); `crate::storage::S3Target` applies AWS's stricter rule for `aws`.
    pub fn parse(bucket: &str, prefix: &str) -> Result<Location, LocationError> {
        let bucket_parts = segments(bucket, Part::Bucket)?;
        let prefix_parts = segments(prefix, Part::Prefix)?;
        let Some((name, sub_path)) = bucket_parts.split_first() else {
            return Err(LocationError {
                part: Part::Bucket,
                message: "must name a bucket".into(),
            });
        };
        check_bucket_characters(name)?;
        let prefix: Vec<&str> = sub_path.iter().chain(&prefix_parts).copied().collect();
        Ok(Location {
            bucket: (*name).to_string(),
            prefix: prefix.join("/"),
        })
    }

    /// The location a `status.backupPath` such as `s3://b/p/q` names, under the same rules.
    pub fn from_url(url: &str, scheme: &str) -> Result<Location, LocationError> {
        let rest = url
            .strip_prefix(scheme)
            .and_then(|r| r.strip_prefix("://"))
            .ok_or_else(|| LocationError {
                part: Part::Bucket,
                message: format!("{url:?} is not a {scheme}:// path"),
            })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(LocationError {
                part: Part::Bucket,
                message: format!("{url:?} names no bucket"),
            });
        }
        Location::parse(bucket, prefix)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix, without leading or trailing `/`; empty at the bucket root.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the backup would be written straight into the bucket, beside anything else
    /// stored there.
    pub fn is_bucket_root(&self) -> bool {
        self.prefix.is_empty()
    }

    /// `scheme://bucket/prefix` (no trailing slash), the value of `status.backupPath`.
    pub fn url(&self, scheme: &str) -> String {
        if self.prefix.is_empty() {
            format!("{scheme}://{}", self.bucket)
        } else {
            format!("{scheme}://{}/{}", self.bucket, self.prefix)
        }
    }

    /// Whether `key` (a full key in the bucket) lies under this location: the prefix itself
    /// or below it segment-wise (`a/b` holds `a/b/x`, not `a/bc`); everything at the root.
    pub fn holds_key(&self, key: &str) -> bool {
        self.prefix.is_empty()
            || key
                .strip_prefix(self.prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// The full key of `name`, a name relative to this location that BR or its metadata
    /// gave: `None` unless it stays inside (no `.`/`..` segment, no absolute name).
    pub fn key(&self, name: &str) -> Option<String> {
        if name.starts_with('/') || name.chars().any(char::is_control) {
            return None;
        }
        let parts: Vec<&str> = name.split('/').filter(|s| !s.is_empty()).collect();
        if parts.is_empty() || parts.iter().any(|p| *p == "." || *p == "..") {
            return None;
        }
        let name = parts.join("/");
        Some(if self.prefix.is_empty() {
            name
        } else {
            format!("{}/{name}", self.prefix)
        })
    }
}

/// A prefix with a sub-directory appended, as schedules form each run's prefix: slashes
/// trimmed, nothing resolved (the result is checked by [`Location::parse`] like any prefix).
pub fn join_prefix(base: &str, child: &str) -> String {
    [base, child]
        .iter()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// The non-empty `/`-separated segments of `text`, refusing what makes a location ambiguous.
fn segments(text: &str, part: Part) -> Result<Vec<&str>, LocationError> {
    let refuse = |message: String| Err(LocationError { part, message });
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return refuse(format!(
            "holds the control character U+{:04X}, which object stores and URLs treat differently",
            c as u32
        ));
    }
    if let Some(c) = text.chars().find(|c| matches!(c, '?' | '#' | '%')) {
        let role = match c {
            '?' => "a query",
            '#' => "a fragment",
            _ => "an escape",
        };
        return refuse(format!(
            "holds {c:?}: BR reads the location as a URL, where {c:?} starts {role}, so it would \
             write somewhere other than the path shown and cleaned"
        ));
    }
    let parts: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(dot) = parts.iter().find(|s| **s == "." || **s == "..") {
        return refuse(format!(
            "has a {dot:?} segment: a backup location must lie plainly inside the bucket the \
             spec names, and {dot:?} would make BR, status.backupPath and the clean disagree \
             about where that is"
        ));
    }
    Ok(parts)
}

/// The characters and length any S3-compatible store accepts in a bucket name.
fn check_bucket_characters(name: &str) -> Result<(), LocationError> {
    let ok = (1..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(LocationError {
            part: Part::Bucket,
            message: format!(
                "{name:?} is not a bucket name: use letters, digits, '.', '-' and '_' (AWS \
                 allows lowercase letters, digits, '.' and '-', 3 to 63 characters)"
            ),
        })
    }
}

#[cfg(test)]
mod tests;
