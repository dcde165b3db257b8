//! The pod status the kubelet reports: phase, conditions, container statuses, times and
//! addresses, built from what the pod worker knows and written whole through the status
//! subresource.
//!
//! Differences: every pod has `hostIP` and `podIP` 127.0.0.1 (pods share the host's
//! network); `containerID` is `process://<pid>` and `imageID` names the image, since
//! nothing is pulled; there are no probes, so a running container is ready.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Value, json};

/// Kubernetes `Time`: RFC 3339, UTC, seconds.
pub fn time(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminated {
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub reason: String,
    pub message: Option<String>,
    pub started: Timestamp,
    pub finished: Timestamp,
    pub container_id: Option<String>,
}

impl Terminated {
    fn to_json(&self) -> Value {
        let mut t = json!({
            "exitCode": self.exit_code,
            "reason": self.reason,
            "startedAt": time(self.started),
            "finishedAt": time(self.finished),
        });
        if let Some(s) = self.signal {
            t["signal"] = json!(s);
        }
        if let Some(m) = &self.message {
            t["message"] = json!(m);
        }
        if let Some(id) = &self.container_id {
            t["containerID"] = json!(id);
        }
        t
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started: Timestamp,
        pid: i32,
    },
    Terminated(Terminated),
}

impl State {
    pub fn waiting(reason: &str, message: Option<String>) -> Self {
        State::Waiting {
            reason: reason.to_string(),
            message,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            State::Waiting { reason, message } => {
                let mut w = json!({"reason": reason});
                if let Some(m) = message {
                    w["message"] = json!(m);
                }
                json!({"waiting": w})
            }
            State::Running { started, .. } => json!({"running": {"startedAt": time(*started)}}),
            State::Terminated(t) => json!({"terminated": t.to_json()}),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ContainerStatus {
    pub name: String,
    pub image: String,
    pub state: State,
    pub last: Option<Terminated>,
    pub restart_count: i32,
    pub container_id: Option<String>,
}

impl ContainerStatus {
    pub fn new(name: &str, image: &str, reason: &str) -> Self {
        ContainerStatus {
            name: name.to_string(),
            image: image.to_string(),
            state: State::waiting(reason, None),
            last: None,
            restart_count: 0,
            container_id: None,
        }
    }

    pub fn running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    pub fn succeeded(&self) -> bool {
        matches!(&self.state, State::Terminated(t) if t.exit_code == 0)
    }

    fn to_json(&self) -> Value {
        let mut s = json!({
            "name": self.name,
            "image": self.image,
            "imageID": format!("tibr-sandbox://{}", self.image),
            "ready": self.running(),
            "started": self.running(),
            "restartCount": self.restart_count,
            "state": self.state.to_json(),
            "lastState": self.last.as_ref().map_or(json!({}), |t| json!({"terminated": t.to_json()})),
        });
        if let Some(id) = &self.container_id {
            s["containerID"] = json!(id);
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
        }
    }

    pub fn terminal(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed)
    }
}

/// Everything the kubelet reports about one pod.
#[derive(Debug, Clone)]
pub struct PodStatus {
    pub phase: Phase,
    pub start_time: Timestamp,
    /// The sandbox (volumes, credentials) is ready.
    pub sandbox_ready: bool,
    pub init: Vec<ContainerStatus>,
    pub main: Vec<ContainerStatus>,
    /// When each condition last changed, so unchanged conditions keep their time.
    transitions: HashMap<&'static str, (bool, Timestamp)>,
}

impl PodStatus {
    pub fn new(init: Vec<ContainerStatus>, main: Vec<ContainerStatus>) -> Self {
        PodStatus {
            phase: Phase::Pending,
            start_time: Timestamp::now(),
            sandbox_ready: false,
            init,
            main,
            transitions: HashMap::new(),
        }
    }

    pub fn initialized(&self) -> bool {
        self.init.iter().all(ContainerStatus::succeeded)
    }

    fn condition(
        &mut self,
        kind: &'static str,
        ok: bool,
        reason: Option<&str>,
        message: Option<String>,
    ) -> Value {
        let now = Timestamp::now();
        let since = match self.transitions.get(kind) {
            Some((was, at)) if *was == ok => *at,
            _ => now,
        };
        self.transitions.insert(kind, (ok, since));
        let mut c = json!({
            "type": kind,
            "status": if ok { "True" } else { "False" },
            "lastProbeTime": null,
            "lastTransitionTime": time(since),
        });
        if let Some(r) = reason {
            c["reason"] = json!(r);
        }
        if let Some(m) = message {
            c["message"] = json!(m);
        }
        c
    }

    /// The `status` object to write.
    pub fn render(&mut self) -> Value {
        let done = self.phase.terminal();
        let pending_init: Vec<&str> = self
            .init
            .iter()
            .filter(|c| !c.succeeded())
            .map(|c| c.name.as_str())
            .collect();
        let unready: Vec<&str> = self
            .main
            .iter()
            .filter(|c| !c.running())
            .map(|c| c.name.as_str())
            .collect();
        let init_msg = (!pending_init.is_empty()).then(|| {
            format!(
                "containers with incomplete status: [{}]",
                pending_init.join(" ")
            )
        });
        let ready_msg = (!unready.is_empty())
            .then(|| format!("containers with unready status: [{}]", unready.join(" ")));
        let initialized = pending_init.is_empty();
        let ready = unready.is_empty() && !done;
        let not_ready_reason = if done {
            "PodCompleted"
        } else {
            "ContainersNotReady"
        };
        let sandbox = self.sandbox_ready && !done;
        let conditions = vec![
            self.condition("PodReadyToStartContainers", sandbox, None, None),
            self.condition(
                "Initialized",
                initialized,
                (!initialized).then_some("ContainersNotInitialized"),
                init_msg,
            ),
            self.condition(
                "Ready",
                ready,
                (!ready).then_some(not_ready_reason),
                if ready || done {
                    None
                } else {
                    ready_msg.clone()
                },
            ),
            self.condition(
                "ContainersReady",
                ready,
                (!ready).then_some(not_ready_reason),
                if ready || done { None } else { ready_msg },
            ),
            self.condition("PodScheduled", true, None, None),
        ];
        let mut status = json!({
            "phase": self.phase.as_str(),
            "conditions": conditions,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "startTime": time(self.start_time),
            "containerStatuses": self.main.iter().map(ContainerStatus::to_json).collect::<Vec<_>>(),
        });
        if !self.init.is_empty() {
            status["initContainerStatuses"] = json!(
                self.init
                    .iter()
                    .map(ContainerStatus::to_json)
                    .collect::<Vec<_>>()
            );
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_follow_containers() {
        let mut s = PodStatus::new(
            vec![ContainerStatus::new("init", "i", "PodInitializing")],
            vec![ContainerStatus::new("main", "m", "PodInitializing")],
        );
        let v = s.render();
        assert_eq!(v["phase"], "Pending");
        assert_eq!(v["conditions"][1]["reason"], "ContainersNotInitialized");
        assert_eq!(
            v["conditions"][1]["message"],
            "containers with incomplete status: [init]"
        );
        assert_eq!(
            v["conditions"][2]["message"],
            "containers with unready status: [main]"
        );
        s.init[0].state = State::Terminated(Terminated {
            exit_code: 0,
            signal: None,
            reason: "Completed".into(),
            message: None,
            started: Timestamp::now(),
            finished: Timestamp::now(),
            container_id: None,
        });
        s.main[0].state = State::Running {
            started: Timestamp::now(),
            pid: 1,
        };
        s.phase = Phase::Running;
        let v = s.render();
        assert_eq!(v["conditions"][1]["status"], "True");
        assert_eq!(v["conditions"][2]["status"], "True");
        assert_eq!(v["containerStatuses"][0]["ready"], true);
        assert_eq!(
            v["initContainerStatuses"][0]["state"]["terminated"]["exitCode"],
            0
        );
        assert_eq!(v["containerStatuses"][0]["lastState"], json!({}));
    }
}
