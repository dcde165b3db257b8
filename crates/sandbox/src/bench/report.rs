//! The bench's report, as Markdown (docs/benchmarks.md holds one): per plane count the
//! pause window with its parts and the overhead of each kind of transition, each beside
//! its anchor, then a summary over plane counts.
//!
//! The anchors are TiDB's manager's design (spec-federation §2.1, §2.4): it polls the
//! member Backups, so every step that waits on a data plane waits for the next poll, up to
//! 30 s; two such steps lie inside the pause (the pause reported → the other members
//! created; every snapshot requested → the resume asked), so its window is BR's need plus
//! up to 60 s.

use std::{fmt::Write, time::Duration};

use super::analyse::{Kind, Micros, RunFigures, Stats};

/// TiDB's manager's poll of member Backups.
const TIDB_POLL: Micros = 30_000_000;
/// Polled steps of TiDB's protocol inside the pause window.
const TIDB_POLLS_IN_WINDOW: i64 = 2;

/// What the figures were measured on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    /// The one-minute load average when the bench started: what else ran on the machine.
    pub load: Option<String>,
}

impl Machine {
    pub(crate) fn this() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_string));
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            load,
        }
    }
}

/// One plane count's backups.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneSet {
    pub planes: usize,
    pub runs: Vec<RunFigures>,
}

impl PlaneSet {
    fn stats(&self, f: impl Fn(&RunFigures) -> Micros) -> Stats {
        Stats::of(self.runs.iter().map(f)).expect("at least one run")
    }

    pub(crate) fn window(&self) -> Stats {
        self.stats(|r| r.window)
    }

    pub(crate) fn until_requested(&self) -> Stats {
        self.stats(|r| r.until_requested)
    }

    pub(crate) fn manager_in_window(&self) -> Stats {
        self.stats(|r| r.manager_in_window)
    }

    pub(crate) fn resume_to_pd(&self) -> Stats {
        self.stats(|r| r.resume_to_pd)
    }

    /// Writes of `kinds`, over every run.
    pub(crate) fn transitions(&self, kinds: &[Kind]) -> Option<Stats> {
        Stats::of(
            self.runs
                .iter()
                .flat_map(|r| &r.pairs)
                .filter(|p| kinds.contains(&p.kind))
                .map(|p| p.latency),
        )
    }

    /// Every write a member status change made due: what TiDB's manager polls for.
    pub fn polled(&self) -> Option<Stats> {
        let kinds: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|k| k.polled_by_tidb())
            .collect();
        self.transitions(&kinds)
    }

    /// TiDB's window for the same BR: its need (median) plus the polled steps inside.
    pub(crate) fn tidb_window(&self) -> Micros {
        self.until_requested().p50 + TIDB_POLLS_IN_WINDOW * TIDB_POLL
    }
}

/// Everything measured, with how.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub machine: Machine,
    pub runs: usize,
    pub snapshot_duration: Duration,
    pub sets: Vec<PlaneSet>,
}

/// `1.93 s`, `85 ms`, `4.2 ms`, `0.31 ms`.
pub(crate) fn duration(us: Micros) -> String {
    let ms = us as f64 / 1000.0;
    if ms.abs() >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms.abs() >= 10.0 {
        format!("{ms:.0} ms")
    } else if ms.abs() >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// `anchor / ours` to two significant digits: `350x`, `41x`, `3.2x`.
fn ratio(anchor: Micros, ours: Micros) -> String {
    if ours <= 0 {
        return "∞".into();
    }
    let r = anchor as f64 / ours as f64;
    if r >= 100.0 {
        let scale = 10f64.powi(r.log10().floor() as i32 - 1);
        format!("{:.0}x", (r / scale).round() * scale)
    } else if r >= 10.0 {
        format!("{r:.0}x")
    } else {
        format!("{r:.1}x")
    }
}

fn percent(part: Micros, whole: Micros) -> String {
    if whole <= 0 {
        return "-".into();
    }
    format!("{:.1} %", part as f64 * 100.0 / whole as f64)
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let planes: Vec<String> = self.sets.iter().map(|s| s.planes.to_string()).collect();
        let _ = writeln!(out, "# Federation manager benchmark\n");
        let _ = writeln!(
            out,
            "`tibr-sandbox bench federation --planes {} --runs {}` on {} CPUs ({}), load average {} at the start; EC2 snapshots pending {:?}.\n",
            planes.join(","),
            self.runs,
            self.machine.cpus,
            self.machine.cpu_model,
            self.machine.load.as_deref().unwrap_or("unknown"),
            self.snapshot_duration
        );
        for set in &self.sets {
            self.render_set(&mut out, set);
        }
        self.render_summary(&mut out);
        out
    }

    fn render_set(&self, out: &mut String, set: &PlaneSet) {
        let _ = writeln!(
            out,
            "## {} data planes, {} VolumeBackups\n",
            set.planes,
            set.runs.len()
        );
        let w = set.window();
        let _ = writeln!(out, "| pause of GC and PD scheduling | p50 | max |");
        let _ = writeln!(out, "|---|---:|---:|");
        let mut row = |what: &str, s: Stats| {
            let _ = writeln!(
                out,
                "| {what} | {} | {} |",
                duration(s.p50),
                duration(s.max)
            );
        };
        row("window: first pause → last resume (simulated PD)", w);
        row(
            "BR's need: pause → the last member reports its snapshots requested",
            set.until_requested(),
        );
        row(
            "the manager's two steps inside the window",
            set.manager_in_window(),
        );
        row(
            "`resumeGcSchedule` seen → resumed in PD (first data plane)",
            set.resume_to_pd(),
        );
        let status: Vec<&str> = set
            .runs
            .iter()
            .filter_map(|r| r.status_pause_window.as_deref())
            .collect();
        let _ = writeln!(
            out,
            "\nThe VolumeBackups' own `status.pauseWindow` (whole seconds): {}.\n",
            if status.is_empty() {
                "absent".to_string()
            } else {
                status.join(", ")
            }
        );
        let _ = writeln!(
            out,
            "| transition: member change seen → the manager's write seen | writes | p50 | max | TiDB's manager | TiDB / ours (max) |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---|---:|");
        for kind in Kind::ALL {
            let Some(s) = set.transitions(&[kind]) else {
                continue;
            };
            let (anchor, r) = if kind.polled_by_tidb() {
                ("up to 30 s".to_string(), ratio(TIDB_POLL, s.max))
            } else {
                ("prompt (watched)".to_string(), "-".to_string())
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {anchor} | {r} |",
                kind.label(),
                s.n,
                duration(s.p50),
                duration(s.max)
            );
        }
        if let Some(s) = set.polled() {
            let _ = writeln!(
                out,
                "| **every member-triggered write** | {} | {} | {} | up to 30 s | {} |",
                s.n,
                duration(s.p50),
                duration(s.max),
                ratio(TIDB_POLL, s.max)
            );
            let _ = writeln!(
                out,
                "\n- transition overhead p50 {}, max {}; TiDB's manager up to 30 s: {} less at the max, {} less at p50",
                duration(s.p50),
                duration(s.max),
                ratio(TIDB_POLL, s.max),
                ratio(TIDB_POLL, s.p50)
            );
        }
        let need = set.until_requested();
        let manager = set.manager_in_window();
        let tidb = set.tidb_window();
        let _ = writeln!(
            out,
            "- pause window p50 {}, max {}; BR's own need p50 {} ({} of the window); the manager's steps p50 {}, max {} ({} of the window), where TiDB's manager waits up to 2 × 30 s for its polls: {} less at the max; TiDB's design: BR's need + up to 60 s = up to {}: {} longer than ours\n",
            duration(w.p50),
            duration(w.max),
            duration(need.p50),
            percent(need.p50, w.p50),
            duration(manager.p50),
            duration(manager.max),
            percent(manager.p50, w.p50),
            ratio(TIDB_POLLS_IN_WINDOW * TIDB_POLL, manager.max),
            duration(tidb),
            ratio(tidb, w.p50)
        );
    }

    fn render_summary(&self, out: &mut String) {
        let _ = writeln!(out, "## Summary\n");
        let _ = writeln!(
            out,
            "| data planes | backups | pause window p50 (max) | BR's need p50 | manager in window p50 (max) | vs TiDB's up to 2 × 30 s (at max) | transitions p50 (max) | vs TiDB's 30 s poll (at max) | TiDB's window (up to) / ours |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for set in &self.sets {
            let w = set.window();
            let (t, r) = match set.polled() {
                Some(s) => (
                    format!("{} ({})", duration(s.p50), duration(s.max)),
                    ratio(TIDB_POLL, s.max),
                ),
                None => ("-".into(), "-".into()),
            };
            let m = set.manager_in_window();
            let _ = writeln!(
                out,
                "| {} | {} | {} ({}) | {} | {} ({}) | {} | {t} | {r} | {} |",
                set.planes,
                set.runs.len(),
                duration(w.p50),
                duration(w.max),
                duration(set.until_requested().p50),
                duration(m.p50),
                duration(m.max),
                ratio(TIDB_POLLS_IN_WINDOW * TIDB_POLL, m.max),
                ratio(set.tidb_window(), w.p50)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_ratios_read_well() {
        assert_eq!(duration(1_930_000), "1.93 s");
        assert_eq!(duration(85_400), "85 ms");
        assert_eq!(duration(4_240), "4.2 ms");
        assert_eq!(duration(310), "0.31 ms");
        assert_eq!(ratio(30_000_000, 85_000), "350x");
        assert_eq!(ratio(30_000_000, 19_330), "1600x");
        assert_eq!(ratio(61_000_000, 1_500_000), "41x");
        assert_eq!(ratio(61_800_000, 19_300_000), "3.2x");
        assert_eq!(ratio(1, 0), "∞");
    }
}
