//! `cargo xtask bench federation [--planes 3,10] [--runs N] [...]` and `cargo xtask bench
//! emulator [--sizes 10,1000,10000]`: the benchmarks live in the sandbox binary
//! (`tibr-sandbox bench federation`, `… bench emulator`), which this runs in release mode,
//! its output passed through. xtask stays free of the sandbox crate, so the crate graph
//! keeps its shape (`deps --check`).

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

/// Runs `tibr-sandbox bench <what> <args>` from the workspace root; its exit code is ours.
pub fn run(args: &[&str]) -> Result<ExitCode> {
    match args.first() {
        Some(&"federation" | &"emulator") => {}
        Some(other) => bail!("no benchmark named {other}; there are: federation, emulator"),
        None => bail!("which benchmark? there are: federation, emulator"),
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(super::workspace_root())
        .args(["run", "--release", "-p", "tibr-sandbox", "--", "bench"])
        .args(args)
        .status()
        .with_context(|| format!("running {cargo}"))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}
