//! Starting, restarting and stopping one pod's containers: init containers one after
//! another, then the main containers together, restarted as `restartPolicy` says with the
//! crash-loop back-off, and the pod phase that follows from their states.

use std::time::Duration;

use jiff::Timestamp;
use kube::ResourceExt;
use nix::sys::signal::Signal;
use tokio::time::Instant;

use super::{BACKOFF_RESET, IMAGE_RETRY, MAX_CRASH_BACKOFF, MIN_GRACE, RETRY, Worker};
use crate::runner::{
    containers::{self, Problem},
    events,
    process::{self, Exit},
    status::{ContainerStatus, Phase, State, Terminated},
};

impl Worker {
    /// Schedules what follows init container `done` (or the start, for `None`): the next
    /// init container, or all main containers.
    pub(super) fn arm_after_init(&mut self, done: Option<usize>) {
        let next = done.map_or(0, |i| i + 1);
        let now = Instant::now();
        if next < self.n_init {
            self.slots[next].retry_at = Some(now);
        } else {
            for s in &mut self.slots[self.n_init..] {
                s.retry_at = Some(now);
            }
        }
    }

    pub(super) async fn start_due(&mut self) {
        let now = Instant::now();
        for i in 0..self.slots.len() {
            if self.slots[i].retry_at.is_some_and(|t| t <= now) && self.slots[i].pid.is_none() {
                self.slots[i].retry_at = None;
                self.start(i).await;
            }
        }
    }

    async fn start(&mut self, i: usize) {
        let container = self.container(i);
        let ctx = self.ctx.clone().expect("started after prepare");
        let log = self.log_path(&container.name, false);
        match containers::launch(&self.shared, &self.pod, &container, &ctx, log.clone()).await {
            Err(Problem::Config(msg)) => {
                self.cs(i).state = State::waiting("CreateContainerConfigError", Some(msg.clone()));
                self.warn_once(i, "Failed", format!("Error: {msg}")).await;
                self.slots[i].retry_at = Some(Instant::now() + RETRY);
            }
            Err(Problem::Image { reason, message }) => {
                self.cs(i).state = State::waiting(&reason, Some(message.clone()));
                self.warn_once(i, "Failed", format!("Error: {reason}: {message}"))
                    .await;
                self.slots[i].retry_at = Some(Instant::now() + IMAGE_RETRY);
            }
            Err(Problem::Start(msg)) => self.start_failed(i, msg).await,
            Ok(launch) => {
                let restarted = self.slots[i].attempt > 0;
                if restarted {
                    let _ = std::fs::rename(&log, self.log_path(&container.name, true));
                }
                self.slots[i].attempt += 1;
                let attempt = self.slots[i].attempt;
                let tx = self.exits_tx.clone();
                let spawned = process::spawn(&self.shared.processes, &launch, move |exit| {
                    let _ = tx.send((i, attempt, exit));
                });
                match spawned {
                    Err(e) => {
                        self.start_failed(i, format!("starting {}: {e}", launch.program))
                            .await
                    }
                    Ok(pid) => {
                        let now = Timestamp::now();
                        self.slots[i].pid = Some(pid);
                        self.slots[i].started = Some(now);
                        self.slots[i].last_event = None;
                        let cs = self.cs(i);
                        if restarted {
                            cs.restart_count += 1;
                        }
                        cs.state = State::Running { started: now, pid };
                        cs.container_id = Some(format!("process://{pid}"));
                        let image = container.image.clone().unwrap_or_default();
                        let name = &container.name;
                        self.event(
                            events::NORMAL,
                            "Pulled",
                            &format!("Container image \"{image}\" already present on machine"),
                        )
                        .await;
                        self.event(
                            events::NORMAL,
                            "Created",
                            &format!("Created container: {name}"),
                        )
                        .await;
                        self.event(
                            events::NORMAL,
                            "Started",
                            &format!("Started container {name}"),
                        )
                        .await;
                    }
                }
            }
        }
    }

    /// A Warning event for container `i`, unless it repeats the previous one.
    async fn warn_once(&mut self, i: usize, reason: &str, message: String) {
        if self.slots[i].last_event.as_ref() != Some(&message) {
            self.event(events::WARNING, reason, &message).await;
            self.slots[i].last_event = Some(message);
        }
    }

    async fn start_failed(&mut self, i: usize, message: String) {
        self.slots[i].attempt += 1;
        let now = Timestamp::now();
        let term = Terminated {
            exit_code: 128,
            signal: None,
            reason: "StartError".to_string(),
            message: Some(message.clone()),
            started: now,
            finished: now,
            container_id: None,
        };
        self.warn_once(i, "Failed", format!("Error: {message}"))
            .await;
        self.after_exit(i, term).await;
    }

    pub(super) async fn on_exit(&mut self, i: usize, attempt: u64, exit: Exit) {
        if self.slots[i].attempt != attempt {
            return;
        }
        let started = self.slots[i].started.unwrap_or(exit.finished);
        let term = Terminated {
            exit_code: exit.code,
            signal: exit.signal,
            reason: if exit.code == 0 { "Completed" } else { "Error" }.to_string(),
            message: None,
            started,
            finished: exit.finished,
            container_id: self.cs(i).container_id.clone(),
        };
        self.after_exit(i, term).await;
    }

    async fn after_exit(&mut self, i: usize, term: Terminated) {
        let slot = &mut self.slots[i];
        slot.pid = None;
        let ran = slot
            .started
            .and_then(|s| Timestamp::now().duration_since(s).try_into().ok())
            .unwrap_or(Duration::ZERO);
        if ran >= BACKOFF_RESET {
            slot.crashes = 0;
        }
        let init = i < self.n_init;
        let ok = term.exit_code == 0;
        let policy = self.restart_policy();
        let restart = !self.stopping
            && match (init, policy.as_str()) {
                (true, "Never") => false,
                (true, _) => !ok,
                (false, "Always") => true,
                (false, "OnFailure") => !ok,
                _ => false,
            };
        if init && ok {
            self.cs(i).state = State::Terminated(term);
            self.arm_after_init(Some(i));
            return;
        }
        if !restart {
            self.cs(i).state = State::Terminated(term);
            return;
        }
        let slot = &mut self.slots[i];
        slot.crashes += 1;
        let delay = if slot.crashes <= 1 {
            Duration::ZERO
        } else {
            let factor = 2u32.saturating_pow(slot.crashes - 2);
            self.shared
                .config
                .crash_backoff_base
                .saturating_mul(factor)
                .min(MAX_CRASH_BACKOFF)
        };
        slot.retry_at = Some(Instant::now() + delay);
        let name = self.cs(i).name.clone();
        let cs = self.cs(i);
        cs.last = Some(term.clone());
        if delay.is_zero() {
            cs.state = State::Terminated(term);
            return;
        }
        let pod = format!(
            "{}_{}({})",
            self.pod.name_any(),
            self.ns(),
            self.pod.uid().unwrap_or_default()
        );
        self.cs(i).state = State::waiting(
            "CrashLoopBackOff",
            Some(format!(
                "back-off {} restarting failed container={name} pod={pod}",
                humantime(delay)
            )),
        );
        self.event(
            events::WARNING,
            "BackOff",
            &format!("Back-off restarting failed container {name} in pod {pod}"),
        )
        .await;
    }

    pub(super) fn update_phase(&mut self) {
        let never = self.restart_policy() == "Never";
        let init_failed = self.status.init.iter().enumerate().any(|(i, c)| {
            never
                && self.slots[i].retry_at.is_none()
                && matches!(&c.state, State::Terminated(t) if t.exit_code != 0)
        });
        let main_slots = &self.slots[self.n_init..];
        self.status.phase = if init_failed {
            Phase::Failed
        } else if !self.status.initialized() {
            Phase::Pending
        } else {
            let done = self.status.main.iter().zip(main_slots).all(|(c, s)| {
                matches!(c.state, State::Terminated(_)) && s.retry_at.is_none() && s.pid.is_none()
            });
            let started = self.status.main.iter().any(|c| {
                c.running() || c.last.is_some() || matches!(c.state, State::Terminated(_))
            });
            if done {
                if self.status.main.iter().all(ContainerStatus::succeeded) {
                    Phase::Succeeded
                } else {
                    Phase::Failed
                }
            } else if started {
                Phase::Running
            } else {
                Phase::Pending
            }
        };
    }

    /// Stops every running container: SIGTERM to each group, SIGKILL when `grace` ends.
    pub(super) async fn stop_all(&mut self, grace: Duration) {
        self.stopping = true;
        for slot in &mut self.slots {
            slot.retry_at = None;
        }
        let running: Vec<(usize, i32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.pid.map(|p| (i, p)))
            .collect();
        for (i, pid) in &running {
            process::signal_group(*pid, Signal::SIGTERM);
            let name = self.cs(*i).name.clone();
            self.event(
                events::NORMAL,
                "Killing",
                &format!("Stopping container {name}"),
            )
            .await;
        }
        let deadline = Instant::now() + grace.max(MIN_GRACE);
        let mut killed = false;
        while self.slots.iter().any(|s| s.pid.is_some()) {
            tokio::select! {
                Some((i, attempt, exit)) = self.exits_rx.recv() => self.on_exit(i, attempt, exit).await,
                _ = tokio::time::sleep_until(deadline), if !killed => {
                    killed = true;
                    for pid in self.slots.iter().filter_map(|s| s.pid) {
                        process::signal_group(pid, Signal::SIGKILL);
                    }
                }
            }
        }
    }
}

/// A duration the way Go prints it in back-off messages (`10s`, `2m40s`, `500ms`).
fn humantime(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    if secs < 60 {
        return format!("{secs}s");
    }
    format!("{}m{}s", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(humantime(Duration::from_secs(10)), "10s");
        assert_eq!(humantime(Duration::from_secs(160)), "2m40s");
        assert_eq!(humantime(Duration::from_millis(200)), "200ms");
    }
}
