//! Reading BR's output (br-formats §5): pingcap/log text lines
//! `[time] [LEVEL] [file.go:line] ["message"] [key=value] …`, the `[progress]` lines BR logs
//! while it works, the `… success summary` / `… failed summary` line, and which lines explain a
//! failure. Plus the pure parts of reporting progress: one `status.progresses` entry per step,
//! written at most every few seconds (and at once when the step changes or reaches 100 %).
//!
//! TiDB Operator does not report progress for snapshot backups at all (spec-backup §4.6); we
//! do, from the lines BR already prints when `BR_LOG_TO_TERM` is set.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::pingcap::v1alpha1::Progress;

/// A log record's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

/// One pingcap/log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub time: String,
    pub level: Level,
    pub caller: String,
    pub message: String,
    /// `[key=value]` fields in order, values unquoted.
    pub fields: Vec<(String, String)>,
}

impl LogLine {
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a pingcap/log text line; `None` for anything else (BR's plain stderr, bars).
pub fn parse_line(line: &str) -> Option<LogLine> {
    let groups = bracket_groups(line.trim())?;
    if groups.len() < 4 {
        return None;
    }
    let level = match groups[1].as_str() {
        "DEBUG" => Level::Debug,
        "INFO" => Level::Info,
        "WARN" | "WARNING" => Level::Warn,
        "ERROR" => Level::Error,
        "FATAL" | "PANIC" => Level::Fatal,
        _ => return None,
    };
    let fields = groups[4..]
        .iter()
        .map(|g| match split_field(g) {
            Some((k, v)) => (unquote(k), unquote(v)),
            None => (unquote(g), String::new()),
        })
        .collect();
    Some(LogLine {
        time: groups[0].clone(),
        level,
        caller: groups[2].clone(),
        message: unquote(&groups[3]),
        fields,
    })
}

/// The contents of each top-level `[...]` group; brackets inside quotes do not count.
/// `None` when the text is not a sequence of groups.
fn bracket_groups(text: &str) -> Option<Vec<String>> {
    let mut groups = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Some(groups),
            Some('[') => {}
            Some(_) => return None,
        }
        let mut group = String::new();
        let mut quoted = false;
        loop {
            let c = chars.next()?;
            match c {
                '\\' if quoted => {
                    group.push(c);
                    group.push(chars.next()?);
                }
                '"' => {
                    quoted = !quoted;
                    group.push(c);
                }
                ']' if !quoted => break,
                _ => group.push(c),
            }
        }
        groups.push(group);
    }
}

/// `key=value` at the first `=` outside quotes.
fn split_field(group: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in group.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '=' if !quoted => return Some((&group[..i], &group[i + 1..])),
            _ => {}
        }
    }
    None
}

/// Removes Go-style quotes and escapes (`"a \"b\""` → `a "b"`).
fn unquote(text: &str) -> String {
    let Some(inner) = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|_| text.len() >= 2)
    else {
        return text.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// How far one step of BR has got.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressUpdate {
    /// BR's step name: `Full Backup`, `Database Backup`, `Table Backup`, `Checksum`, …
    pub step: String,
    /// Percent, 0 to 100.
    pub percent: f64,
}

/// A progress report: the `[progress] [step=…] [progress=N%]` record BR logs, or the
/// terminal bar it draws (`Full Backup <----/....> 42.86%`).
pub fn parse_progress(line: &str) -> Option<ProgressUpdate> {
    if let Some(log) = parse_line(line) {
        if log.message != "progress" {
            return None;
        }
        let step = log.field("step")?.to_string();
        let percent = parse_percent(log.field("progress")?)?;
        return Some(ProgressUpdate { step, percent });
    }
    let text = line.trim();
    let (bar, pct) = text.rsplit_once(' ')?;
    let percent = parse_percent(pct).filter(|_| pct.ends_with('%'))?;
    let (step, rest) = bar.split_once(" <")?;
    if !rest.ends_with('>') || step.trim().is_empty() {
        return None;
    }
    Some(ProgressUpdate {
        step: step.trim().to_string(),
        percent,
    })
}

fn parse_percent(text: &str) -> Option<f64> {
    let v: f64 = text.trim().trim_end_matches('%').parse().ok()?;
    (v.is_finite() && (0.0..=100.0).contains(&v)).then_some(v)
}

/// BR's summary of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `Full Backup`, `Database Backup`, `Table Backup`, …
    pub command: String,
    pub succeeded: bool,
    pub fields: Vec<(String, String)>,
}

impl Summary {
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The snapshot TSO (`BackupTS`).
    pub fn backup_ts(&self) -> Option<u64> {
        self.field("BackupTS")?.parse().ok()
    }

    /// Bytes written (`Size`).
    pub fn size(&self) -> Option<u64> {
        self.field("Size")?.parse().ok()
    }
}

/// The `["<command> success summary"]` or `["<command> failed summary"]` record.
pub fn parse_summary(line: &str) -> Option<Summary> {
    let log = parse_line(line)?;
    let (command, succeeded) = if let Some(c) = log.message.strip_suffix(" success summary") {
        (c, true)
    } else {
        (log.message.strip_suffix(" failed summary")?, false)
    };
    Some(Summary {
        command: command.to_string(),
        succeeded,
        fields: log.fields,
    })
}

/// Whether a line of BR's output reports an error: an `ERROR`/`FATAL` record, cobra's
/// `Error: …`, or a Go panic.
pub fn is_error_line(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("Error:") || t.starts_with("panic:") || t.starts_with("fatal error:") {
        return true;
    }
    parse_line(line).is_some_and(|l| l.level >= Level::Error)
}

/// Collects the lines that explain a BR failure and turns them into a condition message.
#[derive(Debug, Clone, Default)]
pub struct FailureLines {
    /// cobra's final `Error: …` line, BR's clearest statement of what went wrong.
    cobra: Option<String>,
    /// `error=` of error records, and other error-ish lines, deduplicated, in order.
    details: Vec<String>,
}

/// Longest failure message kept (a condition message is for humans, not for full logs).
const MAX_MESSAGE: usize = 2000;
const MAX_DETAILS: usize = 8;

impl FailureLines {
    /// A line BR wrote on stdout: kept only if it is an error.
    pub fn stdout(&mut self, line: &str) {
        if is_error_line(line) {
            self.keep(line);
        }
    }

    /// A line BR wrote on stderr: kept unless blank or BR's pointer to its log file.
    pub fn stderr(&mut self, line: &str) {
        let t = line.trim();
        if !t.is_empty() && !t.starts_with("Detail BR log in") {
            self.keep(t);
        }
    }

    fn keep(&mut self, line: &str) {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Error:") {
            self.cobra = Some(rest.trim().to_string());
            return;
        }
        let text = match parse_line(t) {
            Some(log) => match log.field("error") {
                Some(e) => format!("{}: {e}", log.message),
                None => log.message,
            },
            None => t.to_string(),
        };
        if !self.details.contains(&text) && self.details.len() < MAX_DETAILS {
            self.details.push(text);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cobra.is_none() && self.details.is_empty()
    }

    /// `<cobra error>` then `; ` and the other lines, at most 2000 characters.
    pub fn message(&self) -> Option<String> {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(c) = &self.cobra {
            parts.push(c);
        }
        for d in &self.details {
            // "br failed: X" repeats the cobra error X; say it once.
            if !self.cobra.as_deref().is_some_and(|c| d.ends_with(c)) {
                parts.push(d);
            }
        }
        if parts.is_empty() {
            return None;
        }
        let mut text = parts.join("; ");
        if text.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        Some(text)
    }
}

/// Records `update` in `progresses` (one entry per step) at `now`; returns whether anything
/// changed.
pub fn record(
    progresses: &mut Vec<Progress>,
    update: &ProgressUpdate,
    now: jiff::Timestamp,
) -> bool {
    match progresses
        .iter_mut()
        .find(|p| p.step.as_deref() == Some(update.step.as_str()))
    {
        Some(p) if p.progress == Some(update.percent) => false,
        Some(p) => {
            p.progress = Some(update.percent);
            p.last_transition_time = Some(Time(now));
            true
        }
        None => {
            progresses.push(Progress {
                step: Some(update.step.clone()),
                progress: Some(update.percent),
                last_transition_time: Some(Time(now)),
            });
            true
        }
    }
}

/// Records every step of `latest` (see [`record`]); returns whether anything changed.
pub fn record_all(
    progresses: &mut Vec<Progress>,
    latest: &[ProgressUpdate],
    now: jiff::Timestamp,
) -> bool {
    let mut changed = false;
    for update in latest {
        changed |= record(progresses, update, now);
    }
    changed
}

/// Sets the entry for `update.step` in `latest` (the newest value of every step seen so far,
/// in order of appearance). Keeping every step, not just the newest update, means a fast
/// step change cannot swallow the previous step's final value before it is written.
pub fn upsert(latest: &mut Vec<ProgressUpdate>, update: ProgressUpdate) {
    match latest.iter_mut().find(|u| u.step == update.step) {
        Some(u) => u.percent = update.percent,
        None => latest.push(update),
    }
}

/// Paces progress writes of the per-step values ([`upsert`]): a new step or a step reaching
/// 100 % is written at once, other changes at most once per interval, and repeats never.
#[derive(Debug, Clone)]
pub struct Throttle {
    interval: Duration,
    last: Option<(Vec<ProgressUpdate>, jiff::Timestamp)>,
}

impl Throttle {
    pub fn new(interval: Duration) -> Self {
        Throttle {
            interval,
            last: None,
        }
    }

    /// `Ok(())` when `latest` should be written now; `Err(wait)` when it may be written after
    /// `wait` (call again then with the newest values); `Err(Duration::MAX)` when nothing
    /// changed since the last write.
    pub fn due(&self, latest: &[ProgressUpdate], now: jiff::Timestamp) -> Result<(), Duration> {
        let Some((last, at)) = &self.last else {
            return if latest.is_empty() {
                Err(Duration::MAX)
            } else {
                Ok(())
            };
        };
        if last.as_slice() == latest {
            return Err(Duration::MAX);
        }
        let urgent = latest
            .iter()
            .any(|u| match last.iter().find(|l| l.step == u.step) {
                None => true,
                Some(l) => u.percent >= 100.0 && l.percent < 100.0,
            });
        if urgent {
            return Ok(());
        }
        let elapsed = now.duration_since(*at).unsigned_abs();
        if elapsed >= self.interval {
            Ok(())
        } else {
            Err(self.interval - elapsed)
        }
    }

    /// Notes that `latest` was written at `now`.
    pub fn written(&mut self, latest: &[ProgressUpdate], now: jiff::Timestamp) {
        self.last = Some((latest.to_vec(), now));
    }
}

#[cfg(test)]
mod tests;
