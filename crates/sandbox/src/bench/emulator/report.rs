//! The emulator bench's figures and their Markdown.

use std::{fmt, time::Duration};

use crate::bench::Machine;

/// This process's resident memory (the emulator runs in it, beside the bench's client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub resident_kib: u64,
}

impl Memory {
    pub(crate) fn now() -> Memory {
        let resident_kib = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
            .unwrap_or(0);
        Memory { resident_kib }
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.0} MB", self.resident_kib as f64 / 1024.0)
    }
}

/// What was measured with `size` Backups in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeFigures {
    pub size: usize,
    pub creates_per_second: f64,
    /// The median wall time of `kubectl get bk`.
    pub kubectl: Duration,
    /// The median wall time of the same command against the emulator's recorded answers
    /// sent back from memory: kubectl's own share, the floor for any server.
    pub kubectl_alone: Duration,
    /// The median time to read the same Table list without kubectl.
    pub table_pages: Duration,
    pub memory: Memory,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub machine: Machine,
    pub date: String,
    pub sample: usize,
    pub kubectl_runs: usize,
    pub concurrency: usize,
    pub sizes: Vec<SizeFigures>,
    /// The time to create every Backup that is not a timed sample.
    pub fill: Duration,
    pub after_delete: Memory,
    /// After deleting them and forgetting the change history.
    pub after_compact: Memory,
}

/// `0.42 s`, `12.3 s`.
pub(crate) fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2} s")
    }
}

impl Report {
    pub fn render(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "### Emulator: writes and lists as the store grows ({})\n\n\
             {} CPUs ({}), load {} at the start. Creates are timed {} at a time, one after \
             the other; `kubectl get bk` is the median of {} runs, and so are kubectl alone (the \
             same command against a server that sends the emulator's recorded answers back from \
             memory, over the same TLS: kubectl's own share, which no server can go below) and \
             the time to read the same Table list (asked for 500 rows a page, as kubectl asks; \
             the emulator answers a Table whole) without kubectl; memory is this process's \
             resident set.\n\n",
            self.date,
            m.cpus,
            m.cpu_model,
            m.load.as_deref().unwrap_or("unknown"),
            self.sample,
            self.kubectl_runs,
        );
        out.push_str(
            "| Backups in the store | creates/s | kubectl get bk | kubectl alone | its Table list | resident memory |\n",
        );
        out.push_str("|---:|---:|---:|---:|---:|---:|\n");
        for s in &self.sizes {
            out.push_str(&format!(
                "| {} | {:.0} | {} | {} | {} | {} |\n",
                thousands(s.size),
                s.creates_per_second,
                seconds(s.kubectl),
                seconds(s.kubectl_alone),
                seconds(s.table_pages),
                s.memory
            ));
        }
        out.push_str(&format!(
            "| 0 (all deleted) | | | | | {} |\n",
            self.after_delete
        ));
        out.push_str(&format!(
            "| 0, history compacted | | | | | {} |\n\n",
            self.after_compact
        ));
        if let (Some(first), Some(last)) = (self.sizes.first(), self.sizes.last()) {
            out.push_str(&format!(
                "- Create rate at {} / at {}: {:.2} (a write should cost the same at any size: ≈ 1).\n",
                thousands(last.size),
                thousands(first.size),
                last.creates_per_second / first.creates_per_second
            ));
            out.push_str(&format!(
                "- `kubectl get bk` at {}: {} (target: under 1 s); kubectl alone on the same \
                 bytes: {}, so {:.2}x kubectl's floor; its Table list alone: {}.\n",
                thousands(last.size),
                seconds(last.kubectl),
                seconds(last.kubectl_alone),
                ratio(last.kubectl, last.kubectl_alone),
                seconds(last.table_pages)
            ));
        }
        out.push_str(&format!(
            "- Filling the store took {} ({} creates in flight).\n",
            seconds(self.fill),
            self.concurrency
        ));
        out
    }
}

/// `a / b` (infinite when `b` is zero).
fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// `10,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well() {
        assert_eq!(thousands(10), "10");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(seconds(Duration::from_millis(420)), "0.42 s");
        assert_eq!(seconds(Duration::from_millis(12_340)), "12.3 s");
    }
}
