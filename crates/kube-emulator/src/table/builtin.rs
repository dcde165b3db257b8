//! Tables for built-in kinds, after the server's printers: Pod, Job, Namespace, core
//! Event, ConfigMap, Secret, and CustomResourceDefinition (which, like every kind
//! without a printer on the real server, uses the generic `NAME CREATED AT` table).
//! Any other kind gets `NAME AGE`.

use serde_json::Value;

use super::{
    CREATION_TIMESTAMP_DESCRIPTION, Column, IncludeObject, NAME_DESCRIPTION, Row, Table, age, at,
    build_table, human_duration, i64_at, list_at, pod, str_at, timestamp,
};

/// Computes one row's cells.
type CellsFn = fn(&Value, jiff::Timestamp) -> Vec<Value>;

const CONTAINERS_DESCRIPTION: &str = "Names of each container in the template.";
const IMAGES_DESCRIPTION: &str = "Images referenced by each container in the template.";

/// The Table for objects of a built-in kind (`group` is `""` for the core group).
pub(crate) fn builtin_table<'a>(
    group: &str,
    kind: &str,
    objects: &[&'a Value],
    include: IncludeObject,
    now: jiff::Timestamp,
    list_metadata: Value,
) -> Table<'a> {
    let (columns, cells): (Vec<Column>, CellsFn) = match (group, kind) {
        ("", "Pod") => (pod::columns(), pod::cells),
        ("batch", "Job") => (job_columns(), job_cells),
        ("", "Namespace") => (namespace_columns(), namespace_cells),
        ("", "Event") => (event_columns(), event_cells),
        ("", "ConfigMap") => (config_map_columns(), config_map_cells),
        ("", "Secret") => (secret_columns(), secret_cells),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            (created_at_columns(), created_at_cells)
        }
        _ => (age_columns(), age_cells),
    };
    let rows = objects
        .iter()
        .map(|&obj| Row {
            cells: cells(obj, now),
            conditions: if (group, kind) == ("", "Pod") {
                pod::row_conditions(obj)
            } else {
                None
            },
            object: obj,
        })
        .collect();
    build_table(&columns, rows, include, list_metadata)
}

fn name(obj: &Value) -> Value {
    Value::from(str_at(obj, &["metadata", "name"]))
}

fn age_of(obj: &Value, now: jiff::Timestamp) -> Value {
    Value::from(age(at(obj, &["metadata", "creationTimestamp"]), now))
}

fn age_column() -> Column {
    Column::new("Age", "string", CREATION_TIMESTAMP_DESCRIPTION)
}

fn age_columns() -> Vec<Column> {
    vec![Column::name_column(), age_column()]
}

fn age_cells(obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    vec![name(obj), age_of(obj, now)]
}

fn created_at_columns() -> Vec<Column> {
    vec![
        Column::name_column(),
        Column::new("Created At", "date", CREATION_TIMESTAMP_DESCRIPTION),
    ]
}

/// The generic convertor prints the creation time itself, in UTC.
fn created_at_cells(obj: &Value, _now: jiff::Timestamp) -> Vec<Value> {
    let created = timestamp(at(obj, &["metadata", "creationTimestamp"]))
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
    vec![name(obj), Value::from(created)]
}

fn namespace_columns() -> Vec<Column> {
    vec![
        Column::name_column(),
        Column::new("Status", "string", "The status of the namespace"),
        age_column(),
    ]
}

fn namespace_cells(obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        Value::from(str_at(obj, &["status", "phase"])),
        age_of(obj, now),
    ]
}

fn job_columns() -> Vec<Column> {
    vec![
        Column::name_column(),
        Column::new("Status", "string", "Status of the job."),
        Column::new("Completions", "string", "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs."),
        Column::new("Duration", "string", "Time required to complete the job."),
        age_column(),
        Column::new("Containers", "string", CONTAINERS_DESCRIPTION).wide(),
        Column::new("Images", "string", IMAGES_DESCRIPTION).wide(),
        Column::new("Selector", "string", "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors").wide(),
    ]
}

/// The first condition of a type decides, as in the server's `hasJobCondition`.
fn job_condition(job: &Value, type_: &str) -> bool {
    list_at(job, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == type_)
        .is_some_and(|c| str_at(c, &["status"]) == "True")
}

fn job_cells(job: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let succeeded = i64_at(job, &["status", "succeeded"]);
    let completions = match at(job, &["spec", "completions"]).as_i64() {
        Some(c) => format!("{succeeded}/{c}"),
        None => match i64_at(job, &["spec", "parallelism"]) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let duration = match (
        timestamp(at(job, &["status", "startTime"])),
        timestamp(at(job, &["status", "completionTime"])),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(now.duration_since(start)),
        (Some(start), Some(end)) => human_duration(end.duration_since(start)),
    };
    let status = if job_condition(job, "Complete") {
        "Complete"
    } else if job_condition(job, "Failed") {
        "Failed"
    } else if !at(job, &["metadata", "deletionTimestamp"]).is_null() {
        "Terminating"
    } else if job_condition(job, "Suspended") {
        "Suspended"
    } else if job_condition(job, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let containers = list_at(job, &["spec", "template", "spec", "containers"]);
    let joined = |key: &str| {
        containers
            .iter()
            .map(|c| str_at(c, &[key]))
            .collect::<Vec<_>>()
            .join(",")
    };
    vec![
        name(job),
        Value::from(status),
        Value::from(completions),
        Value::from(duration),
        age_of(job, now),
        Value::from(joined("name")),
        Value::from(joined("image")),
        Value::from(format_label_selector(at(job, &["spec", "selector"]))),
    ]
}

/// `metav1.FormatLabelSelector`: requirements sorted by key, `<none>` when empty.
pub(crate) fn format_label_selector(selector: &Value) -> String {
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = at(selector, &["matchLabels"]).as_object() {
        for (k, v) in labels {
            requirements.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for expr in list_at(selector, &["matchExpressions"]) {
        let key = str_at(expr, &["key"]);
        let mut values: Vec<&str> = list_at(expr, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let text = match str_at(expr, &["operator"]) {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return "<error>".to_string(),
        };
        requirements.push((key.to_string(), text));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    let text = requirements
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",");
    if text.is_empty() {
        "<none>".to_string()
    } else {
        text
    }
}

fn event_columns() -> Vec<Column> {
    vec![
        Column::new("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
        Column::new("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
        Column::new("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
        Column::new("Object", "string", "The object that this event is about."),
        Column::new("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.").wide(),
        Column::new("Source", "string", "The component reporting this event. Should be a short machine understandable string.").wide(),
        Column::new("Message", "string", "A human-readable description of the status of this operation."),
        Column::new("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)").wide(),
        Column::new("Count", "string", "The number of times this event has occurred.").wide(),
        Column { format: "name".to_string(), ..Column::new("Name", "string", NAME_DESCRIPTION) }.wide(),
    ]
}

fn event_cells(event: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let first = if timestamp(at(event, &["firstTimestamp"])).is_some() {
        age(at(event, &["firstTimestamp"]), now)
    } else {
        age(at(event, &["eventTime"]), now)
    };
    let mut last = if timestamp(at(event, &["lastTimestamp"])).is_some() {
        age(at(event, &["lastTimestamp"]), now)
    } else {
        first.clone()
    };
    let mut count = i64_at(event, &["count"]);
    if at(event, &["series"]).is_object() {
        last = age(at(event, &["series", "lastObservedTime"]), now);
        count = i64_at(event, &["series", "count"]);
    } else if count == 0 {
        // Events of the events.k8s.io API leave count unset for a single occurrence.
        count = 1;
    }
    let kind = str_at(event, &["involvedObject", "kind"]).to_lowercase();
    let target = match str_at(event, &["involvedObject", "name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let first_non_empty = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            a.to_string()
        }
    };
    let component = first_non_empty(
        str_at(event, &["source", "component"]),
        str_at(event, &["reportingComponent"]),
    );
    let host = first_non_empty(
        str_at(event, &["source", "host"]),
        str_at(event, &["reportingInstance"]),
    );
    let source = if host.is_empty() {
        component
    } else {
        format!("{component}, {host}")
    };
    vec![
        Value::from(last),
        Value::from(str_at(event, &["type"])),
        Value::from(str_at(event, &["reason"])),
        Value::from(target),
        Value::from(str_at(event, &["involvedObject", "fieldPath"])),
        Value::from(source),
        Value::from(str_at(event, &["message"]).trim()),
        Value::from(first),
        Value::from(count),
        name(event),
    ]
}

fn config_map_columns() -> Vec<Column> {
    vec![
        Column::name_column(),
        Column::new(
            "Data",
            "string",
            "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
        ),
        age_column(),
    ]
}

fn entries(obj: &Value, key: &str) -> usize {
    at(obj, &[key]).as_object().map_or(0, |m| m.len())
}

fn config_map_cells(obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        Value::from(entries(obj, "data") + entries(obj, "binaryData")),
        age_of(obj, now),
    ]
}

fn secret_columns() -> Vec<Column> {
    vec![
        Column::name_column(),
        Column::new(
            "Type",
            "string",
            "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
        ),
        Column::new(
            "Data",
            "string",
            "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
        ),
        age_column(),
    ]
}

fn secret_cells(obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        Value::from(str_at(obj, &["type"])),
        Value::from(entries(obj, "data")),
        age_of(obj, now),
    ]
}
