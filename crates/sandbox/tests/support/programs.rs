//! A whole sandbox whose agent and BR images run the built multi-call `tibr-sandbox`, and
//! the BR stand-in's knobs tests set in pods: shared by the agent tests (which play the
//! operator's part) and the end-to-end tests (which run the operator).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tibr_sandbox::sandbox::{Sandbox, SandboxConfig};

/// A one-cluster sandbox in `dir/sandbox`; the operator runs in it when `operator`.
pub async fn start_sandbox(dir: &Path, operator: bool) -> Sandbox {
    let mut config = SandboxConfig::new(dir.join("sandbox"), vec!["sandbox".into()]);
    // A test executable cannot serve as `br`: the built binary does.
    config.programs = Some(PathBuf::from(env!("CARGO_BIN_EXE_tibr-sandbox")));
    config.operator = operator;
    let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
    assert!(
        sandbox.mount_namespaces(),
        "these tests need private mount namespaces for pods (root and `unshare --mount`): \
         BR images provide /br that way"
    );
    sandbox
}

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
