//! Table-driven tests of the Table output: ages, JSONPath, CRD and built-in tables.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::short_human_duration;
use super::{IncludeObject, JsonPath, PrinterColumn, human_duration, omit_headers};

/// The CRD table as the client reads it.
fn crd_table(
    columns: &[PrinterColumn],
    objects: &[Value],
    include: IncludeObject,
    now: Timestamp,
    list_metadata: Value,
) -> Value {
    let objects: Vec<&Value> = objects.iter().collect();
    super::crd_table(columns, &objects, include, now, list_metadata).to_value()
}

/// A built-in kind's table as the client reads it.
fn builtin_table(
    group: &str,
    kind: &str,
    objects: &[Value],
    include: IncludeObject,
    now: Timestamp,
    list_metadata: Value,
) -> Value {
    let objects: Vec<&Value> = objects.iter().collect();
    super::builtin_table(group, kind, &objects, include, now, list_metadata).to_value()
}

fn now() -> Timestamp {
    "2024-06-01T12:00:00Z".parse().unwrap()
}

/// An RFC 3339 time `secs` seconds before [`now`].
fn ago(secs: i64) -> String {
    (now() - SignedDuration::from_secs(secs)).to_string()
}

#[test]
fn human_durations() {
    let cases: &[(i64, &str)] = &[
        (-3, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (5 * 60 + 3, "5m3s"),
        (10 * 60 + 3, "10m"),
        (179 * 60, "179m"),
        (3 * 3600 + 4 * 60, "3h4m"),
        (5 * 3600, "5h"),
        (47 * 3600, "47h"),
        (51 * 3600, "2d3h"),
        (7 * 86400, "7d"),
        (45 * 86400, "45d"),
        ((365 * 2 + 3) * 86400, "2y3d"),
        (365 * 3 * 86400, "3y"),
        (365 * 9 * 86400, "9y"),
    ];
    for (secs, want) in cases {
        assert_eq!(
            human_duration(SignedDuration::from_secs(*secs)),
            *want,
            "{secs}s"
        );
    }
    let short: &[(i64, &str)] = &[
        (59, "59s"),
        (61, "1m"),
        (3 * 3600 + 240, "3h"),
        (51 * 3600, "2d"),
        (400 * 86400, "1y"),
    ];
    for (secs, want) in short {
        assert_eq!(
            short_human_duration(SignedDuration::from_secs(*secs)),
            *want,
            "{secs}s"
        );
    }
}

#[test]
fn jsonpath_subset() {
    let doc = json!({
        "metadata": {"name": "n", "labels": {"app": "web", "x.y/z": "dotted"}},
        "spec": {"items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}, {"name": "c", "n": 3}]},
        "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}
    });
    let cases: Vec<(&str, Vec<Value>)> = vec![
        (".metadata.name", vec![json!("n")]),
        ("{.metadata.labels.app}", vec![json!("web")]),
        (".metadata.labels['x.y/z']", vec![json!("dotted")]),
        (".metadata.labels.x\\.y/z", vec![json!("dotted")]),
        (".spec.items[0].name", vec![json!("a")]),
        (".spec.items[-1].name", vec![json!("c")]),
        (
            ".spec.items[*].name",
            vec![json!("a"), json!("b"), json!("c")],
        ),
        (".spec.items[1:].n", vec![json!(2), json!(3)]),
        (".spec.items[?(@.n > 1)].name", vec![json!("b"), json!("c")]),
        (
            ".status.conditions[?(@.type==\"Ready\")].status",
            vec![json!("True")],
        ),
        (".status.conditions[?(@.type=='Missing')].status", vec![]),
        (
            ".status.conditions[?(@.status)].type",
            vec![json!("Synced"), json!("Ready")],
        ),
        (
            "..name",
            vec![json!("n"), json!("a"), json!("b"), json!("c")],
        ),
        (".metadata.missing", vec![]),
        (".spec.items[7].name", vec![]),
        (".metadata.name.deeper", vec![]),
    ];
    for (path, want) in cases {
        let parsed = JsonPath::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let got: Vec<Value> = parsed.find(&doc).into_iter().cloned().collect();
        assert_eq!(got, want, "{path}");
    }
    for bad in [".a[", ".a[?(@.x ==)]", ".a[x]"] {
        assert!(JsonPath::parse(bad).is_err(), "{bad}");
    }
}

fn column(name: &str, type_: &str, path: &str) -> PrinterColumn {
    serde_json::from_value(json!({"name": name, "type": type_, "jsonPath": path})).unwrap()
}

#[test]
fn printer_columns_deserialize_from_a_crd() {
    let c: PrinterColumn = serde_json::from_value(json!({
        "name": "Status", "type": "string", "jsonPath": ".status.phase", "priority": 1, "description": "d", "format": "f"
    }))
    .unwrap();
    assert_eq!(
        (
            c.name.as_str(),
            c.type_.as_str(),
            c.json_path.as_str(),
            c.priority
        ),
        ("Status", "string", ".status.phase", 1)
    );
    assert_eq!((c.description.as_str(), c.format.as_str()), ("d", "f"));
}

#[test]
fn crd_table_cells_follow_the_column_type() {
    let columns = vec![
        column("Phase", "string", ".status.phase"),
        column(
            "Ready",
            "string",
            ".status.conditions[?(@.type==\"Ready\")].status",
        ),
        column("Names", "string", ".spec.items[*].name"),
        column("Obj", "string", ".spec.obj"),
        column("Null", "string", ".spec.nothing"),
        column("Count", "integer", ".spec.count"),
        column("Ratio", "number", ".spec.ratio"),
        column("Whole", "number", ".spec.whole"),
        column("Flag", "boolean", ".spec.flag"),
        column("Mistyped", "integer", ".status.phase"),
        column("Missing", "string", ".status.missing"),
        column("Started", "date", ".status.started"),
        column("Bad", "date", ".status.phase"),
    ];
    let obj = json!({
        "metadata": {"name": "b1", "namespace": "ns", "creationTimestamp": ago(90)},
        "spec": {"items": [{"name": "x"}, {"name": "y"}], "obj": {"b": 1, "a": [true]}, "nothing": null,
                 "count": 7.9, "ratio": 0.5, "whole": 2, "flag": true},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "started": ago(3 * 3600 + 240)}
    });
    let table = crd_table(
        &columns,
        std::slice::from_ref(&obj),
        IncludeObject::None,
        now(),
        json!({"resourceVersion": "5"}),
    );
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(table["metadata"], json!({"resourceVersion": "5"}));
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[..3], ["Name", "Phase", "Ready"]);
    assert_eq!(table["columnDefinitions"][0]["format"], "name");
    assert_eq!(
        table["columnDefinitions"][1]["description"],
        "Custom resource definition column (in JSONPath format): .status.phase"
    );
    assert_eq!(
        table["rows"][0]["cells"],
        json!([
            "b1",
            "Running",
            "True",
            "x",
            r#"{"a":[true],"b":1}"#,
            "<no value>",
            7,
            0.5,
            2,
            true,
            null,
            null,
            "3h4m",
            "<invalid>"
        ])
    );
    assert_eq!(
        serde_json::to_string(&table["rows"][0]["cells"][8]).unwrap(),
        "2"
    );
    assert_eq!(table["rows"][0]["object"], Value::Null);
}

#[test]
fn crd_table_without_columns_shows_age_and_includes_metadata() {
    let obj = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a", "creationTimestamp": ago(300)}, "spec": {}});
    let table = crd_table(
        &[],
        std::slice::from_ref(&obj),
        IncludeObject::default(),
        now(),
        Value::Null,
    );
    let defs = table["columnDefinitions"].as_array().unwrap();
    assert_eq!(defs.len(), 2);
    assert_eq!(defs[1]["name"], "Age");
    assert_eq!(defs[1]["type"], "date");
    assert_eq!(table["rows"][0]["cells"], json!(["a", "5m"]));
    assert_eq!(
        table["rows"][0]["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
    );
    assert_eq!(table["metadata"], json!({}));
    let full = crd_table(
        &[],
        std::slice::from_ref(&obj),
        IncludeObject::Object,
        now(),
        Value::Null,
    );
    assert_eq!(full["rows"][0]["object"], obj);
    let mut watched = super::crd_table(&[], &[&obj], IncludeObject::Object, now(), Value::Null);
    omit_headers(&mut watched);
    let watched = watched.to_value();
    assert_eq!(watched["columnDefinitions"], Value::Null);
    assert_eq!(watched["rows"], full["rows"]);
    assert_eq!(IncludeObject::from_query("None"), Some(IncludeObject::None));
    assert_eq!(IncludeObject::from_query("bogus"), None);
}

fn pod(status: Value) -> Value {
    json!({"metadata": {"name": "p", "creationTimestamp": ago(600)},
           "spec": {"containers": [{"name": "c"}], "nodeName": "n1"}, "status": status})
}

#[test]
fn pod_status_column() {
    let running = json!({"running": {}});
    let cases: Vec<(&str, Value, [&str; 3])> = vec![
        (
            "pending",
            pod(json!({"phase": "Pending"})),
            ["0/1", "Pending", "0"],
        ),
        (
            "creating",
            pod(
                json!({"phase": "Pending", "containerStatuses": [{"name": "c", "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
            ),
            ["0/1", "ContainerCreating", "0"],
        ),
        (
            "running",
            pod(
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0, "state": running}]}),
            ),
            ["1/1", "Running", "0"],
        ),
        (
            "completed",
            pod(
                json!({"phase": "Succeeded", "containerStatuses": [{"name": "c", "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
            ),
            ["0/1", "Completed", "0"],
        ),
        (
            "error",
            pod(
                json!({"phase": "Failed", "containerStatuses": [{"name": "c", "restartCount": 0,
            "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
            ),
            ["0/1", "Error", "0"],
        ),
        (
            "exit code without reason",
            pod(
                json!({"phase": "Failed", "containerStatuses": [{"name": "c",
            "state": {"terminated": {"exitCode": 2}}}]}),
            ),
            ["0/1", "ExitCode:2", "0"],
        ),
        (
            "crash loop",
            pod(
                json!({"phase": "Running", "containerStatuses": [{"name": "c", "restartCount": 3,
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(300)}},
            "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
            ),
            ["0/1", "CrashLoopBackOff", "3 (5m ago)"],
        ),
    ];
    for (name, obj, [ready, status, restarts]) in cases {
        let table = builtin_table("", "Pod", &[obj], IncludeObject::None, now(), Value::Null);
        let cells = &table["rows"][0]["cells"];
        assert_eq!(cells[1], ready, "{name}");
        assert_eq!(cells[2], status, "{name}");
        assert_eq!(cells[3], restarts, "{name}");
        assert_eq!(cells[4], "10m", "{name}");
    }
}

#[test]
fn pod_init_terminating_and_wide_cells() {
    let mut init = pod(
        json!({"phase": "Pending", "initContainerStatuses": [{"name": "i", "state": {"running": {}}}]}),
    );
    init["spec"]["initContainers"] = json!([{"name": "i"}]);
    let mut failed_init = pod(
        json!({"phase": "Pending", "initContainerStatuses": [{"name": "i",
        "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
    );
    failed_init["spec"]["initContainers"] = json!([{"name": "i"}]);
    let mut deleting = pod(json!({"phase": "Running", "podIP": "10.0.0.5"}));
    deleting["metadata"]["deletionTimestamp"] = json!(ago(1));
    let table = builtin_table(
        "",
        "Pod",
        &[init, failed_init, deleting],
        IncludeObject::None,
        now(),
        Value::Null,
    );
    let statuses: Vec<&Value> = (0..3).map(|i| &table["rows"][i]["cells"][2]).collect();
    assert_eq!(
        statuses,
        [
            &json!("Init:0/1"),
            &json!("Init:Error"),
            &json!("Terminating")
        ]
    );
    assert_eq!(
        table["rows"][2]["cells"],
        json!([
            "p",
            "0/1",
            "Terminating",
            "0",
            "10m",
            "10.0.0.5",
            "n1",
            "<none>",
            "<none>"
        ])
    );
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    let priorities: Vec<i64> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["priority"].as_i64().unwrap())
        .collect();
    assert_eq!(priorities, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
    let done = builtin_table(
        "",
        "Pod",
        &[pod(json!({"phase": "Succeeded"}))],
        IncludeObject::None,
        now(),
        Value::Null,
    );
    assert_eq!(done["rows"][0]["conditions"][0]["reason"], "Succeeded");
}

#[test]
fn job_namespace_event_and_generic_tables() {
    let job = json!({"metadata": {"name": "j", "creationTimestamp": ago(7200)},
        "spec": {"completions": 1, "selector": {"matchLabels": {"b": "2", "a": "1"}},
                 "template": {"spec": {"containers": [{"name": "br", "image": "pingcap/br"}, {"name": "s", "image": "busybox"}]}}},
        "status": {"succeeded": 1, "startTime": ago(7200), "completionTime": ago(7200 - 185),
                   "conditions": [{"type": "Complete", "status": "True"}]}});
    let table = builtin_table(
        "batch",
        "Job",
        &[job],
        IncludeObject::None,
        now(),
        Value::Null,
    );
    assert_eq!(
        table["rows"][0]["cells"],
        json!([
            "j",
            "Complete",
            "1/1",
            "3m5s",
            "120m",
            "br,s",
            "pingcap/br,busybox",
            "a=1,b=2"
        ])
    );

    let running = json!({"metadata": {"name": "r"}, "spec": {"parallelism": 2}, "status": {"startTime": ago(30)}});
    let table = builtin_table(
        "batch",
        "Job",
        &[running],
        IncludeObject::None,
        now(),
        Value::Null,
    );
    assert_eq!(
        table["rows"][0]["cells"],
        json!([
            "r",
            "Running",
            "0/1 of 2",
            "30s",
            "<unknown>",
            "",
            "",
            "<none>"
        ])
    );

    let ns = json!({"metadata": {"name": "default", "creationTimestamp": ago(86400 * 3)}, "status": {"phase": "Active"}});
    let table = builtin_table(
        "",
        "Namespace",
        &[ns],
        IncludeObject::None,
        now(),
        Value::Null,
    );
    assert_eq!(
        table["rows"][0]["cells"],
        json!(["default", "Active", "3d"])
    );

    let event = json!({"metadata": {"name": "e1"}, "type": "Warning", "reason": "Failed", "message": " boom \n",
        "involvedObject": {"kind": "Pod", "name": "p"}, "source": {"component": "kubelet", "host": "n1"},
        "firstTimestamp": ago(600), "lastTimestamp": ago(60), "count": 4});
    let table = builtin_table(
        "",
        "Event",
        &[event],
        IncludeObject::None,
        now(),
        Value::Null,
    );
    assert_eq!(
        table["rows"][0]["cells"],
        json!([
            "60s",
            "Warning",
            "Failed",
            "pod/p",
            "",
            "kubelet, n1",
            "boom",
            "10m",
            4,
            "e1"
        ])
    );

    let crd = json!({"metadata": {"name": "backups.br.pingcap.com", "creationTimestamp": "2024-05-01T10:00:00Z"}});
    let table = builtin_table(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        &[crd],
        IncludeObject::None,
        now(),
        Value::Null,
    );
    assert_eq!(table["columnDefinitions"][1]["name"], "Created At");
    assert_eq!(
        table["rows"][0]["cells"],
        json!(["backups.br.pingcap.com", "2024-05-01T10:00:00Z"])
    );

    let cm = json!({"metadata": {"name": "c", "creationTimestamp": ago(5)}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}});
    let table = builtin_table(
        "",
        "ConfigMap",
        &[cm],
        IncludeObject::None,
        now(),
        Value::Null,
    );
    assert_eq!(table["rows"][0]["cells"], json!(["c", 2, "5s"]));

    let other = json!({"metadata": {"name": "x", "creationTimestamp": ago(5)}});
    let table = builtin_table(
        "coordination.k8s.io",
        "Lease",
        &[other],
        IncludeObject::None,
        now(),
        Value::Null,
    );
    assert_eq!(table["rows"][0]["cells"], json!(["x", "5s"]));
    assert_eq!(table["rows"].as_array().unwrap().len(), 1);
    let empty = builtin_table("", "Pod", &[], IncludeObject::None, now(), Value::Null);
    assert_eq!(empty["rows"], json!([]));
}
