//! The Pod printer: `NAME READY STATUS RESTARTS AGE`, wide `IP NODE NOMINATED NODE
//! READINESS GATES`, with the STATUS reason worked out from the container states the
//! way `kubectl get pods` shows it (`Init:0/1`, `ContainerCreating`, `Completed`,
//! `CrashLoopBackOff`, `Terminating`...).

use serde_json::{Value, json};

use super::{CREATION_TIMESTAMP_DESCRIPTION, human_duration};
use super::{Column, age, at, i64_at, list_at, str_at, timestamp};

pub(super) fn columns() -> Vec<Column> {
    vec![
        Column::name_column(),
        Column::new("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        Column::new("Status", "string", "The aggregate status of the containers in this pod."),
        Column::new(
            "Restarts",
            "string",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        Column::new("Age", "string", CREATION_TIMESTAMP_DESCRIPTION),
        Column::new("IP", "string", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.").wide(),
        Column::new("Node", "string", "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename").wide(),
        Column::new("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.").wide(),
        Column::new("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates").wide(),
    ]
}

/// The `conditions` of a finished pod's row.
pub(super) fn row_conditions(pod: &Value) -> Option<Value> {
    let (reason, message) = match str_at(pod, &["status", "phase"]) {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

fn condition_true(pod: &Value, type_: &str) -> bool {
    list_at(pod, &["status", "conditions"])
        .iter()
        .any(|c| str_at(c, &["type"]) == type_ && str_at(c, &["status"]) == "True")
}

/// When a container last terminated, if that is later than `latest`.
fn later_termination(status: &Value, latest: Option<jiff::Timestamp>) -> Option<jiff::Timestamp> {
    let finished = timestamp(at(status, &["lastState", "terminated", "finishedAt"]));
    match (latest, finished) {
        (Some(l), Some(f)) => Some(l.max(f)),
        (l, f) => l.or(f),
    }
}

/// Reason text for a terminated container without a reason.
fn exit_text(terminated: &Value) -> String {
    match i64_at(terminated, &["signal"]) {
        0 => format!("ExitCode:{}", i64_at(terminated, &["exitCode"])),
        signal => format!("Signal:{signal}"),
    }
}

pub(super) fn cells(pod: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let init_specs = list_at(pod, &["spec", "initContainers"]);
    let restartable = |name: &str| {
        init_specs
            .iter()
            .any(|c| str_at(c, &["name"]) == name && str_at(c, &["restartPolicy"]) == "Always")
    };
    let total = list_at(pod, &["spec", "containers"]).len()
        + init_specs
            .iter()
            .filter(|c| str_at(c, &["restartPolicy"]) == "Always")
            .count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut restartable_restarts = 0;
    let mut last_restart = None;
    let mut last_restartable_restart = None;

    let phase = str_at(pod, &["status", "phase"]);
    let mut reason = match str_at(pod, &["status", "reason"]) {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    let gated = list_at(pod, &["status", "conditions"]).iter().any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    });
    if gated {
        reason = "SchedulingGated".to_string();
    }

    let mut initializing = false;
    for (i, status) in list_at(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        let count = i64_at(status, &["restartCount"]);
        let name = str_at(status, &["name"]);
        restarts += count;
        last_restart = later_termination(status, last_restart);
        if restartable(name) {
            restartable_restarts += count;
            last_restartable_restart = later_termination(status, last_restartable_restart);
        }
        let terminated = at(status, &["state", "terminated"]);
        let waiting_reason = str_at(status, &["state", "waiting", "reason"]);
        if terminated.is_object() && i64_at(terminated, &["exitCode"]) == 0 {
            continue;
        }
        if restartable(name) && at(status, &["started"]).as_bool() == Some(true) {
            if at(status, &["ready"]).as_bool() == Some(true) {
                ready += 1;
            }
            continue;
        }
        reason = if terminated.is_object() {
            match str_at(terminated, &["reason"]) {
                "" => format!("Init:{}", exit_text(terminated)),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = restartable_restarts;
        last_restart = last_restartable_restart;
        let mut has_running = false;
        for status in list_at(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += i64_at(status, &["restartCount"]);
            last_restart = later_termination(status, last_restart);
            let waiting_reason = str_at(status, &["state", "waiting", "reason"]);
            let terminated = at(status, &["state", "terminated"]);
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if terminated.is_object() {
                reason = match str_at(terminated, &["reason"]) {
                    "" => exit_text(terminated),
                    r => r.to_string(),
                };
            } else if at(status, &["ready"]).as_bool() == Some(true)
                && at(status, &["state", "running"]).is_object()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(pod, "Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .to_string();
        }
    }

    let deleting = !at(pod, &["metadata", "deletionTimestamp"]).is_null();
    if deleting && str_at(pod, &["status", "reason"]) == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }

    let restarts_text = match last_restart {
        Some(t) if restarts != 0 => {
            format!("{restarts} ({} ago)", human_duration(now.duration_since(t)))
        }
        _ => restarts.to_string(),
    };

    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let ip = list_at(pod, &["status", "podIPs"])
        .first()
        .map(|p| str_at(p, &["ip"]))
        .unwrap_or_else(|| str_at(pod, &["status", "podIP"]));
    let gates = list_at(pod, &["spec", "readinessGates"]);
    let gates_text = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let satisfied = gates
            .iter()
            .filter(|g| {
                let wanted = str_at(g, &["conditionType"]);
                list_at(pod, &["status", "conditions"])
                    .iter()
                    .find(|c| str_at(c, &["type"]) == wanted)
                    .is_some_and(|c| str_at(c, &["status"]) == "True")
            })
            .count();
        format!("{satisfied}/{}", gates.len())
    };

    vec![
        Value::from(str_at(pod, &["metadata", "name"])),
        Value::from(format!("{ready}/{total}")),
        Value::from(reason),
        Value::from(restarts_text),
        Value::from(age(at(pod, &["metadata", "creationTimestamp"]), now)),
        Value::from(or_none(ip)),
        Value::from(or_none(str_at(pod, &["spec", "nodeName"]))),
        Value::from(or_none(str_at(pod, &["status", "nominatedNodeName"]))),
        Value::from(gates_text),
    ]
}
