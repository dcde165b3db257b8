//! Running BR: its output streamed line by line into `tracing` (so `kubectl logs` shows it),
//! its progress records turned into `status.progresses`, its error lines kept for the failure
//! message, and stop signals forwarded to it.
//!
//! BR inherits the agent's environment (the S3 credentials, `BR_LOG_TO_TERM`) and gets nothing
//! secret on its command line. Lines are scrubbed of secret values before they are logged.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tibr_core::progress::{self, FailureLines, ProgressUpdate, Summary, Throttle};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

use crate::secrets::Secrets;
use crate::signals::{Signals, Stop};
use crate::status::StatusWriter;

/// What BR did.
#[derive(Debug)]
pub struct BrResult {
    pub status: ExitStatus,
    pub failure: FailureLines,
    pub summary: Option<Summary>,
    /// The stop signal that was forwarded to BR, if any.
    pub stopped_by: Option<Stop>,
}

impl BrResult {
    pub fn success(&self) -> bool {
        self.status.success() && self.stopped_by.is_none()
    }

    /// The failure, for the condition message: BR's error lines, or its exit status.
    pub fn failure_message(&self) -> String {
        let status = match self.status.code() {
            Some(code) => format!("BR exited with status {code}"),
            None => "BR was killed by a signal".to_string(),
        };
        match self.failure.message() {
            Some(lines) => format!("{status}: {lines}"),
            None => status,
        }
    }
}

/// How long BR gets to stop after a forwarded signal before it is killed, so the GC life time
/// can still be restored within the pod's grace period.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Runs `br` with `args`, sending progress to `progress`, every (scrubbed) output line to
/// `observer` when given, and forwarding `signals`.
pub async fn run(
    br: &Path,
    args: &[String],
    secrets: &Secrets,
    progress: &watch::Sender<Vec<ProgressUpdate>>,
    observer: Option<&tokio::sync::mpsc::UnboundedSender<String>>,
    signals: &mut Signals,
) -> std::io::Result<BrResult> {
    let mut child = Command::new(br)
        .args(args)
        // BR needs the S3 credentials it inherits, not TiDB's password.
        .env_remove(crate::secrets::PASSWORD_VAR)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| std::io::Error::new(e.kind(), format!("starting {}: {e}", br.display())))?;
    let pid = child.id().map(|id| Pid::from_raw(id as i32));
    let mut out = lines(child.stdout.take());
    let mut err = lines(child.stderr.take());
    let (mut out_open, mut err_open) = (true, true);
    let mut failure = FailureLines::default();
    let mut summary = None;
    let mut stopped_by = None;
    let mut status = None;
    let mut kill_at: Option<tokio::time::Instant> = None;
    loop {
        if status.is_some() && !out_open && !err_open {
            break;
        }
        let kill_deadline = async {
            match kill_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            line = next(&mut out), if out_open => match line {
                Some(line) => {
                    let line = secrets.scrub(&line);
                    log_line(&line, false);
                    if let Some(update) = progress::parse_progress(&line) {
                        progress.send_modify(|latest| progress::upsert(latest, update));
                    } else if let Some(s) = progress::parse_summary(&line) {
                        summary = Some(s);
                    }
                    failure.stdout(&line);
                    if let Some(o) = observer {
                        let _ = o.send(line);
                    }
                }
                None => out_open = false,
            },
            line = next(&mut err), if err_open => match line {
                Some(line) => {
                    let line = secrets.scrub(&line);
                    log_line(&line, true);
                    failure.stderr(&line);
                    if let Some(o) = observer {
                        let _ = o.send(line);
                    }
                }
                None => err_open = false,
            },
            stop = signals.next(), if status.is_none() => {
                stopped_by.get_or_insert(stop);
                if let Some(pid) = pid {
                    tracing::warn!(signal = stop.name(), "forwarding to BR");
                    let _ = kill(pid, stop.signal());
                }
                kill_at.get_or_insert(tokio::time::Instant::now() + STOP_GRACE);
            },
            _ = kill_deadline, if status.is_none() => {
                tracing::warn!("BR did not stop in time after the signal; killing it");
                if let Some(pid) = pid {
                    let _ = kill(pid, Signal::SIGKILL);
                }
                kill_at = None;
            },
            exited = child.wait(), if status.is_none() => {
                status = Some(exited?);
            },
        }
    }
    let status = status.expect("loop ends after BR exited");
    tracing::info!(%status, "BR exited");
    Ok(BrResult {
        status,
        failure,
        summary,
        stopped_by,
    })
}

type Lines = Option<tokio::io::Split<BufReader<Box<dyn AsyncRead + Unpin + Send>>>>;

fn lines<R: AsyncRead + Unpin + Send + 'static>(r: Option<R>) -> Lines {
    r.map(|r| BufReader::new(Box::new(r) as Box<dyn AsyncRead + Unpin + Send>).split(b'\n'))
}

/// The next line, lossily decoded (BR output is not guaranteed UTF-8); `None` at the end.
async fn next(lines: &mut Lines) -> Option<String> {
    let segment = lines.as_mut()?.next_segment().await.ok().flatten()?;
    let text = String::from_utf8_lossy(&segment);
    Some(text.trim_end_matches('\r').to_string())
}

/// BR's line in the agent's log, at BR's level.
fn log_line(line: &str, stderr: bool) {
    let level = progress::parse_line(line).map(|l| l.level);
    match level {
        Some(progress::Level::Error | progress::Level::Fatal) => {
            tracing::error!(target: "br", "{line}")
        }
        Some(progress::Level::Warn) => tracing::warn!(target: "br", "{line}"),
        _ if stderr => tracing::warn!(target: "br", stream = "stderr", "{line}"),
        _ => tracing::info!(target: "br", "{line}"),
    }
}

/// Writes the newest value of each step to `status.progresses`, paced by [`Throttle`];
/// returns when the sender is dropped, after writing what was not written yet.
pub async fn write_progress(
    writer: StatusWriter,
    mut rx: watch::Receiver<Vec<ProgressUpdate>>,
    interval: Duration,
) {
    let mut throttle = Throttle::new(interval);
    let mut closed = false;
    while !closed {
        let latest = rx.borrow_and_update().clone();
        let now = jiff::Timestamp::now();
        let wait = match throttle.due(&latest, now) {
            Ok(()) => {
                if write(&writer, &latest).await {
                    throttle.written(&latest, now);
                }
                None
            }
            Err(Duration::MAX) => None,
            Err(wait) => Some(wait),
        };
        closed = match wait {
            // Not yet: wake when it is due, or earlier if a step changes or BR ends.
            Some(wait) => tokio::select! {
                changed = rx.changed() => changed.is_err(),
                _ = tokio::time::sleep(wait) => false,
            },
            None => rx.changed().await.is_err(),
        };
    }
    // The final values, whatever the pace.
    let latest = rx.borrow().clone();
    if throttle.due(&latest, jiff::Timestamp::MAX) != Err(Duration::MAX) {
        write(&writer, &latest).await;
    }
}

/// One write of every step's newest value; false (logged) when it failed: progress is for
/// humans, so a failed write never stops the backup.
async fn write(writer: &StatusWriter, latest: &[ProgressUpdate]) -> bool {
    let result = writer
        .update(|status, _, now| progress::record_all(&mut status.progresses, latest, now))
        .await;
    if let Err(e) = &result {
        tracing::warn!(error = %e, "could not record progress");
    }
    result.is_ok()
}
