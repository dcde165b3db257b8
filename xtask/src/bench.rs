//! `cargo xtask bench <federation|clean|operator|emulator> [options]`: the benchmarks live in
//! the sandbox binary (`tibr-sandbox bench <name>`), which this runs in release mode,
//! its output passed through. `bench build` times the release build itself
//! ([`crate::bench_build`]). xtask stays free of the sandbox crate, so the crate graph
//! keeps its shape (`deps --check`).

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const NAMES: &str = "federation, clean, operator, emulator, build";

/// Runs `tibr-sandbox bench <what> <args>` from the workspace root; its exit code is ours.
pub fn run(args: &[&str]) -> Result<ExitCode> {
    match args.first() {
        Some(&"build") => return crate::bench_build::run(&args[1..]),
        Some(&("federation" | "clean" | "operator" | "emulator")) => {}
        Some(other) => bail!("no benchmark named {other}; there are: {NAMES}"),
        None => bail!("which benchmark? there are: {NAMES}"),
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if args.first() == Some(&"operator") {
        // The operator runs as its own process, from the same release build.
        let status = Command::new(&cargo)
            .current_dir(super::workspace_root())
            .args(["build", "--release", "-p", "tibr-operator"])
            .status()
            .with_context(|| format!("running {cargo}"))?;
        if !status.success() {
            bail!("building tibr-operator failed");
        }
    }
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
