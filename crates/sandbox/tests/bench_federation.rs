//! The federation benchmark's code path on a small sandbox (`control` and two data planes,
//! one VolumeBackup): the report holds every figure and a pair for every kind of
//! transition. Timings are printed, never asserted: they depend on the machine.

use std::{path::PathBuf, time::Duration};

use tibr_sandbox::bench::{self, Kind};

#[tokio::test]
async fn the_bench_reports_every_figure_on_two_data_planes() {
    tibr_testkit::logs::capture_logs("warn", false);
    let mut options = bench::Options::new(PathBuf::from(env!("CARGO_BIN_EXE_tibr-sandbox")));
    options.planes = vec![2];
    options.runs = 1;
    options.snapshot_duration = Duration::from_secs(1);
    options.timeout = Duration::from_secs(180);
    let report = bench::run(&options).await.expect("the bench runs");
    let text = report.render();
    println!("{text}");

    let [set] = &report.sets[..] else {
        panic!("one plane count: {report:#?}")
    };
    assert_eq!(set.planes, 2);
    let [run] = &set.runs[..] else {
        panic!("one run: {set:#?}")
    };
    for kind in Kind::ALL {
        let n = run.pairs.iter().filter(|p| p.kind == kind).count();
        assert_eq!(n, kind.expected(2), "{kind:?} pairs: {run:#?}");
    }
    // Every figure is there; these two follow from causality (PD paused before anything
    // reported it), not from timing.
    assert!(run.window > 0 && run.until_requested > 0, "{run:#?}");
    assert!(run.status_pause_window.is_some(), "{run:#?}");
    assert!(set.polled().is_some_and(|s| s.n == 5));

    for needle in [
        "## 2 data planes, 1 VolumeBackups",
        "window: first pause → last resume",
        "BR's need",
        "every member-triggered write",
        "transition overhead p50",
        "up to 30 s",
        "## Summary",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    for kind in Kind::ALL {
        assert!(
            text.contains(kind.label()),
            "{kind:?} missing from:\n{text}"
        );
    }
}
