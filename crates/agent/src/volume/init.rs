//! The init Job: BR's `operator pause-gc-and-schedulers` holds GC and PD scheduling paused
//! for the whole TiDB cluster for as long as it runs. The agent reports
//! `VolumeBackupInitialized` once BR says both are paused, and otherwise only waits: the
//! operator deletes the Job when the federation asks for the pause to end, and the SIGTERM
//! that follows is forwarded to BR, which lifts the pause before it exits.
//!
//! BR ending on its own (an error, a lost PD, the Job's deadline) ends the pause too early
//! for a consistent backup: that is `VolumeBackupInitializeFailed`, even after the pause
//! was reported.

use tibr_api::BackupConditionType;
use tibr_core::backup::br::{pause_args, redact_args};
use tibr_core::backup::status::NewCondition;
use tibr_core::reconcile::reasons;
use tokio::sync::{mpsc, watch};

use super::{Context, cluster_tls};
use crate::signals::Signals;
use crate::{Failure, Outcome};

/// BR's words once each pause holds.
const SCHEDULERS_PAUSED: &str = "Schedulers are paused.";
const GC_PAUSED: &str = "GC is paused.";
const REPORT_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// Which of BR's pauses it has announced.
#[derive(Debug, Default)]
struct Announced {
    schedulers: bool,
    gc: bool,
}

impl Announced {
    fn see(&mut self, line: &str) {
        self.schedulers |= line.contains(SCHEDULERS_PAUSED);
        self.gc |= line.contains(GC_PAUSED);
    }

    fn both(&self) -> bool {
        self.schedulers && self.gc
    }
}

pub(super) async fn run(cx: &Context<'_>, signals: &mut Signals) -> Outcome {
    let failed = |reason: &str, message: String| {
        Outcome::InitializeFailed(Failure::new(reason, cx.secrets.scrub(&message)))
    };
    if let Err(e) = cx
        .writer
        .condition(NewCondition::true_(BackupConditionType::Running, "", ""))
        .await
    {
        return failed(reasons::UPDATE_STATUS_FAILED, e.to_string());
    }
    let br_args = pause_args(cx.valid, cluster_tls(cx));
    tracing::info!(br = %cx.args.br_path.display(), args = ?redact_args(&br_args), "pausing GC and PD scheduling through BR");
    let (lines_tx, mut lines) = mpsc::unbounded_channel();
    let (progress, _) = watch::channel(Vec::new());
    let br = crate::br::run(
        &cx.args.br_path,
        &br_args,
        cx.secrets,
        &progress,
        Some(&lines_tx),
        signals,
    );
    tokio::pin!(br);
    let mut announced = Announced::default();
    let mut reported = false;
    // A failed report is tried again: BR holds the pause whether or not it is known.
    let mut retry = tokio::time::interval(REPORT_RETRY);
    let result = loop {
        tokio::select! {
            result = &mut br => break result,
            Some(line) = lines.recv() => {
                announced.see(&line);
                if announced.both() && !reported {
                    reported = report(cx).await;
                }
            }
            _ = retry.tick(), if announced.both() && !reported => {
                reported = report(cx).await;
            }
        }
    };
    while let Ok(line) = lines.try_recv() {
        announced.see(&line);
    }
    let br = match result {
        Ok(br) => br,
        Err(e) => return failed(reasons::PAUSE_GC_AND_SCHEDULERS_FAILED, e.to_string()),
    };
    match br.stopped_by {
        Some(stop) if reported => Outcome::Released {
            note: format!(
                "stopped by {} as asked: BR lifted the pause of GC and PD scheduling ({})",
                stop.name(),
                exit(&br)
            ),
        },
        Some(stop) => Outcome::Interrupted {
            stop,
            note: format!(
                "stopped by {} before GC and PD scheduling were paused",
                stop.name()
            ),
        },
        None if reported => failed(
            reasons::PAUSE_GC_AND_SCHEDULERS_FAILED,
            format!(
                "BR stopped holding the pause of GC and PD scheduling before the snapshots were taken: {}",
                br.failure_message()
            ),
        ),
        None => failed(
            reasons::PAUSE_GC_AND_SCHEDULERS_FAILED,
            format!(
                "BR could not pause GC and PD scheduling: {}",
                br.failure_message()
            ),
        ),
    }
}

/// Records `VolumeBackupInitialized`; false when the write failed.
async fn report(cx: &Context<'_>) -> bool {
    let initialized = NewCondition::true_(
        BackupConditionType::VolumeBackupInitialized,
        "",
        "GC and PD scheduling are paused until this Job is deleted",
    );
    match cx.writer.condition(initialized).await {
        Ok(_) => {
            tracing::info!("GC and PD scheduling are paused");
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "could not report the pause; trying again");
            false
        }
    }
}

fn exit(br: &crate::br::BrResult) -> String {
    match br.status.code() {
        Some(code) => format!("BR exited with status {code}"),
        None => "BR was killed by a signal".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_pauses_must_be_announced() {
        let mut a = Announced::default();
        a.see(
            r#"[2026/12/05 10:00:00.000 +00:00] [INFO] [operator.go:1] ["Schedulers are paused."]"#,
        );
        assert!(!a.both());
        a.see("an unrelated line");
        assert!(!a.both());
        a.see(r#"[2026/12/05 10:00:00.000 +00:00] [INFO] [operator.go:2] ["GC is paused."]"#);
        assert!(a.both());
    }
}
