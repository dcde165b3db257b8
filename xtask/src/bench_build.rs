//! `cargo xtask bench build [--dir D] [--keep]`: a cold `cargo build --release --workspace`
//! in an empty target directory, timed. It prints the wall time, the CPU time of cargo and
//! everything it ran, and their ratio to the bound a perfectly parallel build would reach on
//! this machine (CPU time ÷ CPUs), then the longest compilation units from cargo's
//! `--timings` report, as a Markdown section for docs/benchmarks.md.

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::Instant,
};

use anyhow::{Context, Result, bail};

/// How many of the longest units the report lists.
const LONGEST: usize = 8;

pub fn run(args: &[&str]) -> Result<ExitCode> {
    let mut dir = super::workspace_root().join("target").join("bench-build");
    let mut keep = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--dir" => dir = PathBuf::from(rest.next().context("--dir needs a directory")?),
            "--keep" => keep = true,
            other => bail!("bench build takes --dir D and --keep, not {other}"),
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let cpu_before = children_cpu_seconds()?;
    let started = Instant::now();
    let status = Command::new(&cargo)
        .current_dir(super::workspace_root())
        .env("CARGO_TARGET_DIR", &dir)
        .args(["build", "--release", "--workspace", "--locked", "--timings"])
        .status()
        .with_context(|| format!("running {cargo}"))?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = children_cpu_seconds()? - cpu_before;
    if !status.success() {
        bail!("the build failed");
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let units = longest_units(&dir.join("cargo-timings").join("cargo-timing.html"));
    println!("{}", render(wall, cpu, cpus, units.as_deref()));
    if !keep {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// User and system CPU seconds of the children this process has waited for.
fn children_cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    children_cpu(&stat).context("parsing /proc/self/stat")
}

/// Fields 16 and 17 of a `/proc/<pid>/stat` line (cutime, cstime), in clock ticks of
/// 1/100 s on Linux.
fn children_cpu(stat: &str) -> Option<f64> {
    // The command name, field 2, is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Field n of the line is at index n - 3 once the pid and command are cut off.
    let ticks = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some((ticks(16)? + ticks(17)?) as f64 / 100.0)
}

/// The longest units in cargo's timing report as `(seconds, name and target)`; `None` when
/// the report cannot be read (its embedded data is not a stable interface).
fn longest_units(report: &Path) -> Option<Vec<(f64, String)>> {
    let html = std::fs::read_to_string(report).ok()?;
    let start = html.find("const UNIT_DATA = ")? + "const UNIT_DATA = ".len();
    let end = start + html[start..].find(";\n")?;
    let data: Vec<serde_json::Value> = serde_json::from_str(&html[start..end]).ok()?;
    let mut units: Vec<(f64, String)> = data
        .iter()
        .filter_map(|u| {
            let name = u["name"].as_str()?;
            // Empty for a library; `<name> "bin"` and the like for other targets.
            let label = match u["target"].as_str().map(str::trim) {
                Some(target) if !target.is_empty() => format!("{name} ({target})"),
                _ => name.to_string(),
            };
            Some((u["duration"].as_f64()?, label))
        })
        .collect();
    units.sort_by(|a, b| b.0.total_cmp(&a.0));
    units.truncate(LONGEST);
    Some(units)
}

fn render(wall: f64, cpu: f64, cpus: usize, units: Option<&[(f64, String)]>) -> String {
    let bound = cpu / cpus as f64;
    let mut out = format!(
        "| cold release build of the workspace | wall | CPU | parallel bound (CPU ÷ {cpus}) | wall ÷ bound |\n\
         |---|---:|---:|---:|---:|\n\
         | `cargo xtask bench build` | {wall:.0} s | {cpu:.0} s | {bound:.0} s | {:.2}x |\n",
        wall / bound
    );
    match units {
        Some(units) => {
            out += "\n| longest units | s |\n|---|---:|\n";
            for (seconds, name) in units {
                out += &format!("| {name} | {seconds:.0} |\n");
            }
        }
        None => out += "\n(cargo's timing report could not be read)\n",
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_sets_wall_time_against_the_parallel_bound() {
        let text = render(600.0, 1000.0, 2, Some(&[(191.0, "aws-sdk-ec2".into())]));
        assert!(
            text.contains("| 600 s | 1000 s | 500 s | 1.20x |"),
            "{text}"
        );
        assert!(text.contains("| aws-sdk-ec2 | 191 |"), "{text}");
    }

    #[test]
    fn children_cpu_time_is_read_from_the_stat_line() {
        let stat = "4242 (cargo (x)) S 1 4242 4242 0 -1 4194304 100 200 0 0 \
                    50 7 125000 3000 20 0 1 0 100 1000 200";
        assert_eq!(children_cpu(stat), Some(1280.0));
        assert_eq!(children_cpu("4242 (cargo) S 1"), None);
        assert!(children_cpu_seconds().is_ok());
    }
}
