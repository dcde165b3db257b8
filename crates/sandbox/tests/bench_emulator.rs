//! The emulator benchmark's code path on a small store: every figure is measured at every
//! size, including kubectl's own share against the recorded answers, which only exists if
//! the replay answered every request kubectl made. Timings are printed, never asserted.

use std::time::Duration;

use tibr_sandbox::bench::emulator;

#[tokio::test]
async fn the_bench_reports_kubectl_beside_its_floor() {
    tibr_testkit::logs::capture_logs("warn", false);
    let mut options = emulator::Options::new();
    options.sizes = vec![3, 12];
    options.sample = 2;
    options.kubectl_runs = 2;
    let report = emulator::run(&options).await.expect("the bench runs");
    let text = report.render();
    println!("{text}");

    let sizes: Vec<usize> = report.sizes.iter().map(|s| s.size).collect();
    assert_eq!(sizes, [3, 12]);
    for s in &report.sizes {
        assert!(s.kubectl > Duration::ZERO, "{s:?}");
        assert!(s.kubectl_alone > Duration::ZERO, "{s:?}");
        assert!(s.creates_per_second > 0.0, "{s:?}");
    }
    for needle in [
        "| kubectl alone |",
        "kubectl alone on the same bytes",
        "x kubectl's floor",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}
