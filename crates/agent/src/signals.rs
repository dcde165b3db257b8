//! SIGTERM and SIGINT: Kubernetes sends SIGTERM when the pod is deleted or evicted and
//! SIGKILL after the grace period. The agent forwards each signal to BR and, while BR shuts
//! down, still puts the GC life time back.

use tokio::sync::watch;

/// A stop request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Terminate,
    Interrupt,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Terminate => "SIGTERM",
            Stop::Interrupt => "SIGINT",
        }
    }

    pub fn signal(self) -> nix::sys::signal::Signal {
        match self {
            Stop::Terminate => nix::sys::signal::Signal::SIGTERM,
            Stop::Interrupt => nix::sys::signal::Signal::SIGINT,
        }
    }

    /// The shell's exit status for death by this signal.
    pub fn exit_code(self) -> i32 {
        128 + self.signal() as i32
    }
}

/// Signals received so far: how many, and the latest.
#[derive(Clone)]
pub struct Signals {
    rx: watch::Receiver<(u32, Option<Stop>)>,
}

impl Signals {
    /// Starts listening; from now on the signals no longer kill the process.
    pub fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let (tx, rx) = watch::channel((0, None));
        tokio::spawn(async move {
            loop {
                let stop = tokio::select! {
                    Some(()) = term.recv() => Stop::Terminate,
                    Some(()) = int.recv() => Stop::Interrupt,
                    else => return,
                };
                tracing::warn!(signal = stop.name(), "stop requested");
                tx.send_modify(|(n, last)| {
                    *n += 1;
                    *last = Some(stop);
                });
            }
        });
        Ok(Signals { rx })
    }

    /// The latest signal received, if any.
    pub fn received(&self) -> Option<Stop> {
        self.rx.borrow().1
    }

    /// Waits for the next signal after the ones already seen by this handle.
    pub async fn next(&mut self) -> Stop {
        loop {
            if self.rx.changed().await.is_err() {
                return std::future::pending().await;
            }
            if let Some(stop) = self.rx.borrow_and_update().1 {
                return stop;
            }
        }
    }
}
