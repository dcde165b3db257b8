//! BR's log output: pingcap/log's text format
//! `[YYYY/MM/DD HH:MM:SS.mmm ±hh:mm] [LEVEL] [file.go:line] ["message"] [key=value] …`.
//!
//! Like BR: with `BR_LOG_TO_TERM` set every line goes to stdout; otherwise lines go to the log
//! file (`--log-file`, default `/tmp/br.log.<timestamp>`), BR prints `Detail BR log in <file>`
//! to stderr, and only the summary is duplicated to stdout.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

use crate::fmt::log_value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn parse(text: &str) -> Level {
        match text.to_ascii_lowercase().as_str() {
            "debug" => Level::Debug,
            "warn" | "warning" => Level::Warn,
            "error" | "fatal" => Level::Error,
            _ => Level::Info,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// One `[key=value]` field; build with [`field`] (strings, quoted when needed) or [`raw`].
pub type Field = (String, String);

pub fn field(key: &str, value: impl AsRef<str>) -> Field {
    (key.to_owned(), log_value(value.as_ref()))
}

/// A value printed as is (numbers, booleans).
pub fn raw(key: &str, value: impl std::fmt::Display) -> Field {
    (key.to_owned(), value.to_string())
}

enum Sink {
    Stdout,
    File(Mutex<File>),
}

pub struct Logger {
    min: Level,
    sink: Sink,
}

impl Logger {
    /// Logs to stdout (`BR_LOG_TO_TERM`).
    pub fn to_term(min: Level) -> Self {
        Logger {
            min,
            sink: Sink::Stdout,
        }
    }

    /// Logs to a file; the summary is also printed to stdout.
    pub fn to_file(min: Level, file: File) -> Self {
        Logger {
            min,
            sink: Sink::File(Mutex::new(file)),
        }
    }

    pub fn line(level: Level, caller: &str, msg: &str, fields: &[Field]) -> String {
        let now = jiff::Zoned::now();
        let mut out = format!(
            "[{}] [{}] [{}] [{}]",
            now.strftime("%Y/%m/%d %H:%M:%S%.3f %:z"),
            level.name(),
            caller,
            log_value(msg)
        );
        for (key, value) in fields {
            out.push_str(&format!(" [{key}={value}]"));
        }
        out
    }

    pub fn log(&self, level: Level, caller: &str, msg: &str, fields: &[Field]) {
        if level < self.min {
            return;
        }
        let line = Self::line(level, caller, msg, fields);
        self.write(&line);
    }

    fn write(&self, line: &str) {
        match &self.sink {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Sink::File(file) => {
                if let Ok(mut file) = file.lock() {
                    let _ = writeln!(file, "{line}");
                }
            }
        }
    }

    pub fn info(&self, caller: &str, msg: &str, fields: &[Field]) {
        self.log(Level::Info, caller, msg, fields);
    }

    pub fn warn(&self, caller: &str, msg: &str, fields: &[Field]) {
        self.log(Level::Warn, caller, msg, fields);
    }

    pub fn error(&self, caller: &str, msg: &str, fields: &[Field]) {
        self.log(Level::Error, caller, msg, fields);
    }

    /// The summary collector's output: always on stdout, also in the file when there is one.
    pub fn summary(&self, msg: &str, fields: &[Field]) {
        if Level::Info < self.min {
            return;
        }
        let line = Self::line(Level::Info, "collector.go:77", msg, fields);
        if let Sink::File(_) = &self.sink {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        self.write(&line);
    }
}
