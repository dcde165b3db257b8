//! The agent in Job pods: the real `tibr-agent` run by the job runner as the operator's
//! Jobs run it, with the BR stand-in, MariaDB as TiDB and the sandbox S3 (and moto).
//!
//! BR images must provide an executable named `br`, and the only one this crate's tests can
//! build without depending on a crate that depends on the agent is the test itself: so
//! this target has its own `main` (no libtest harness; see docs/adr/0006). Run as `br`, it
//! is the BR stand-in; otherwise it runs the tests below with libtest's options and output.

mod backup;
mod clean;
mod interrupted;
mod moto;
mod status;
mod support;

use libtest_mimic::{Arguments, Trial};

/// `module::function` for each async test, as a trial on a runtime of its own (what
/// `#[tokio::test]` gives each test).
macro_rules! trials {
    ($($module:ident :: $test:ident),* $(,)?) => {
        vec![$(
            Trial::test(concat!(stringify!($module), "::", stringify!($test)), || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the test")
                    .block_on($module::$test());
                Ok(())
            })
        ),*]
    };
}

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let name = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str());
    if name == Some("br") {
        let code = tibr_br_sim::main_with_args(argv);
        return std::process::ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let trials = trials![
        backup::the_seeds_static_key_backup_completes_with_gc_held_only_while_br_runs,
        backup::a_longer_gc_life_time_is_never_lowered,
        backup::a_br_failure_is_reported_with_brs_message_and_gc_restored,
        backup::two_backups_of_one_cluster_restore_the_original_once_both_are_done,
        backup::a_backup_that_cannot_be_read_does_not_stop_the_gc_step_of_others,
        clean::clean_deletes_everything_under_the_prefix_and_nothing_beside_it,
        clean::a_backup_that_wrote_nothing_is_clean_not_failed,
        clean::wrong_credentials_are_clean_failed_and_the_job_fails,
        interrupted::a_killed_agent_leaves_the_original_recorded_and_the_rerun_restores_it,
        interrupted::a_failed_gc_restore_keeps_a_good_backup_complete_and_says_so,
        interrupted::sigterm_stops_br_and_still_restores_gc,
        moto::brs_objects_get_standard_ia_by_default_and_the_acl_only_when_asked,
        status::concurrent_writers_lose_nothing_and_phase_follows_the_latest_condition,
    ];
    libtest_mimic::run(&Arguments::from_args(), trials).exit_code()
}
