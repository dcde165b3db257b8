//! The BR stand-in's knobs, as tests set them in a pod's environment, and reading BR's log
//! lines.

use serde_json::{Value, json};

/// BR takes a few seconds (4 MiB at about 1 MiB/s), with frequent progress.
pub const SLOW_BR: &[(&str, &str)] = &[
    ("BR_SIM_DATA_BYTES", "4MiB"),
    ("BR_SIM_REGION_BYTES", "128KiB"),
    ("BR_SIM_STORE_SPEED", "384KiB"),
    ("BR_SIM_PROGRESS_INTERVAL_MS", "100"),
    ("TIBR_PROGRESS_INTERVAL", "300ms"),
];

/// BR is done in a moment.
pub const QUICK_BR: &[(&str, &str)] = &[
    ("BR_SIM_DATA_BYTES", "1MiB"),
    ("BR_SIM_REGION_BYTES", "64KiB"),
    ("BR_SIM_PROGRESS_INTERVAL_MS", "50"),
];

/// BR stops at 30 % and waits to be killed, reporting progress often.
pub const HANGING_BR: &[(&str, &str)] = &[
    ("BR_SIM_HANG_AT_PERCENT", "30"),
    ("BR_SIM_PROGRESS_INTERVAL_MS", "50"),
    ("TIBR_PROGRESS_INTERVAL", "100ms"),
];

/// Plain container variables, as a pod spec's `env` entries.
pub fn vars(pairs: &[(&str, &str)]) -> Vec<Value> {
    pairs
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect()
}

/// The value of `[key=value]` or `[key="value"]` in a BR log line.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("[{key}="))? + key.len() + 2;
    let rest = &line[start..];
    match rest.strip_prefix('"') {
        Some(q) => q.split('"').next(),
        None => rest.split(']').next(),
    }
}
