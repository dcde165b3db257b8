use serde_json::{Value, json};

use super::*;

macro_rules! fixture {
    ($name:literal, $ext:literal) => {
        include_bytes!(concat!("../../tests/fixtures/protobuf/", $name, $ext)).as_slice()
    };
}

macro_rules! dry_run {
    ($name:literal) => {
        ($name, fixture!($name, ".pb"), fixture!($name, ".json"))
    };
}

/// Bodies kubectl 1.33 sent, each beside what `--dry-run=client -o json` printed for the
/// same command (see `tests/fixtures/protobuf/README.md`).
const DRY_RUN: &[(&str, &[u8], &[u8])] = &[
    dry_run!("namespace"),
    dry_run!("secret_literal"),
    dry_run!("secret_binary"),
    dry_run!("secret_docker"),
    dry_run!("configmap"),
    dry_run!("serviceaccount"),
    dry_run!("role"),
    dry_run!("clusterrole"),
    dry_run!("clusterrole_aggregate"),
    dry_run!("rolebinding"),
    dry_run!("clusterrolebinding"),
    dry_run!("job"),
];

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

#[test]
fn kubectl_bodies_decode_to_its_dry_run_output() {
    let mut failed = Vec::new();
    for (name, body, json) in DRY_RUN {
        let want: Value = serde_json::from_slice(json).unwrap();
        match decode_request(body) {
            Ok(got) if got == want => {}
            Ok(got) => failed.push(format!(
                "{name}: got\n{}\nwant\n{}",
                pretty(&got),
                pretty(&want)
            )),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// `kubectl create token` has no dry run; these are what Go prints for the
/// `TokenRequest` kubectl builds, pointers without `omitempty` included as null.
#[test]
fn kubectl_token_requests() {
    let got = decode_request(fixture!("token", ".pb")).unwrap();
    let want = json!({
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": {"audiences": ["a", "b"], "expirationSeconds": 7200, "boundObjectRef": null},
        "status": {"token": "", "expirationTimestamp": null}
    });
    assert_eq!(got, want, "{}", pretty(&got));
    let got = decode_request(fixture!("token_bound", ".pb")).unwrap();
    let want = json!({
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": {
            "audiences": null, "expirationSeconds": null,
            "boundObjectRef": {"kind": "Secret", "apiVersion": "v1", "name": "blobs", "uid": "1234"}
        },
        "status": {"token": "", "expirationTimestamp": null}
    });
    assert_eq!(got, want, "{}", pretty(&got));
}

/// `kubectl debug rich --copy-to=rich-debug` sends the pod spec it read from the sandbox
/// (`pod_debug_source.json`, as served) with its own changes, so the decoded body is
/// that source plus those changes, normalised the way Go prints structs.
#[test]
fn kubectl_debug_copy_is_the_pod_it_read() {
    let got = decode_request(fixture!("pod_debug", ".pb")).unwrap();
    let source: Value = serde_json::from_slice(fixture!("pod_debug_source", ".json")).unwrap();
    let mut spec = source["spec"].clone();
    // Zero values the sandbox served back as applied; Go's `omitempty` drops them.
    let dropped = [
        "/containers/0/env/1/value",
        "/containers/0/tty",
        "/priorityClassName",
        "/volumes/3/persistentVolumeClaim/readOnly",
    ];
    for pointer in dropped {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let removed = spec
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .and_then(|o| o.remove(key));
        assert!(removed.is_some(), "{pointer} not in the source");
    }
    // A zero ObjectMeta still prints its creationTimestamp.
    spec["volumes"][7]["ephemeral"]["volumeClaimTemplate"]["metadata"]["creationTimestamp"] =
        Value::Null;
    // What `--share-processes --container=dbg --image=busybox --profile=general -- sleep 10`
    // adds.
    spec["shareProcessNamespace"] = json!(true);
    spec["containers"].as_array_mut().unwrap().push(json!({
        "name": "dbg", "image": "busybox", "command": ["sleep", "10"], "resources": {},
        "terminationMessagePolicy": "File",
        "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}
    }));
    let want = json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {
            "name": "rich-debug", "namespace": "test1", "creationTimestamp": null,
            "labels": source["metadata"]["labels"],
            "annotations": source["metadata"]["annotations"],
        },
        "spec": spec,
        "status": {}
    });
    assert_eq!(got, want, "{}", pretty(&got));
}

/// `kubectl auth reconcile` updates a role it read from the sandbox
/// (`role_reconcile_source.json`) with a PUT, so server-set metadata (uid,
/// resourceVersion, a real `creationTimestamp`) comes back through protobuf.
#[test]
fn kubectl_reconcile_update_carries_server_metadata() {
    let got = decode_request(fixture!("role_reconcile", ".pb")).unwrap();
    let mut want: Value =
        serde_json::from_slice(fixture!("role_reconcile_source", ".json")).unwrap();
    // Reconcile adds the missing permission as a rule of its own.
    want["rules"]
        .as_array_mut()
        .unwrap()
        .push(json!({"verbs": ["watch"], "apiGroups": [""], "resources": ["secrets"]}));
    assert_eq!(got, want, "{}", pretty(&got));
}

// Hand-built messages, for the kinds and encodings kubectl never sends.

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    out
}

fn num(field: u32, v: i64) -> Vec<u8> {
    [varint(u64::from(field) << 3), varint(v as u64)].concat()
}

fn len(field: u32, bytes: impl AsRef<[u8]>) -> Vec<u8> {
    let bytes = bytes.as_ref();
    [
        varint((u64::from(field) << 3) | 2),
        varint(bytes.len() as u64),
        bytes.to_vec(),
    ]
    .concat()
}

fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let type_meta = [len(1, api_version), len(2, kind)].concat();
    [
        b"k8s\0".to_vec(),
        len(1, type_meta),
        len(2, raw),
        len(3, ""),
        len(4, ""),
    ]
    .concat()
}

fn name_meta(name: &str) -> Vec<u8> {
    len(1, len(1, name))
}

#[test]
fn lease_keeps_present_zero_pointers_and_prints_micro_time() {
    let spec = [
        len(1, "me"),
        num(2, 15),
        len(3, [num(1, 1_700_000_000), num(2, 123_456_789)].concat()),
        num(5, 0),
    ]
    .concat();
    let body = envelope(
        "coordination.k8s.io/v1",
        "Lease",
        &[name_meta("l"), len(2, spec)].concat(),
    );
    let want = json!({
        "kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
        "metadata": {"name": "l", "creationTimestamp": null},
        "spec": {
            "holderIdentity": "me", "leaseDurationSeconds": 15,
            "acquireTime": "2023-11-14T22:13:20.123456Z", "leaseTransitions": 0
        }
    });
    assert_eq!(decode_request(&body).unwrap(), want);
}

#[test]
fn event_prints_times_and_fields_without_omitempty() {
    let raw = [
        name_meta("e"),
        len(2, [len(1, "Pod"), len(3, "p")].concat()),
        len(6, [num(1, 0)].concat()),
        len(7, ""),
        num(8, 2),
        len(10, [num(1, 1_700_000_000), num(2, 5_000)].concat()),
    ]
    .concat();
    let want = json!({
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"name": "e", "creationTimestamp": null},
        "involvedObject": {"kind": "Pod", "name": "p"},
        "source": {},
        "firstTimestamp": "1970-01-01T00:00:00Z",
        "lastTimestamp": null,
        "count": 2,
        "eventTime": "2023-11-14T22:13:20.000005Z",
        "reportingComponent": "",
        "reportingInstance": ""
    });
    let got = decode_request(&envelope("v1", "Event", &raw)).unwrap();
    assert_eq!(got, want, "{}", pretty(&got));
}

#[test]
fn delete_options() {
    let raw = [
        num(1, 0),
        len(2, len(1, "u-1")),
        len(4, "Foreground"),
        len(5, "All"),
    ]
    .concat();
    let want = json!({
        "kind": "DeleteOptions", "apiVersion": "batch/v1",
        "gracePeriodSeconds": 0, "preconditions": {"uid": "u-1"},
        "propagationPolicy": "Foreground", "dryRun": ["All"]
    });
    assert_eq!(
        decode_request(&envelope("batch/v1", "DeleteOptions", &raw)).unwrap(),
        want
    );
}

#[test]
fn pod_special_encodings() {
    let managed = [
        len(1, "kubectl"),
        len(2, "Update"),
        len(4, num(1, 1_700_000_000)),
        len(6, "FieldsV1"),
        len(7, len(1, r#"{"f:metadata":{}}"#)),
    ]
    .concat();
    let owner = [
        len(1, "Job"),
        len(3, "j"),
        len(4, "uid-1"),
        len(5, "batch/v1"),
        num(6, 1),
    ]
    .concat();
    let meta = [
        len(1, "p"),
        len(9, num(1, 1_700_000_000)),
        len(11, [len(1, "b"), len(2, "2")].concat()),
        len(11, [len(1, "a"), len(2, "1")].concat()),
        len(13, owner),
        len(17, managed),
    ]
    .concat();
    let port =
        |kind: i64, int: i64, string: &str| [num(1, kind), num(2, int), len(3, string)].concat();
    let probe = len(
        1,
        len(2, [len(1, "/h"), len(2, port(1, 0, "http"))].concat()),
    );
    let limits = [len(1, "cpu"), len(2, len(1, "500m"))].concat();
    let container = [
        len(1, "c"),
        len(8, len(1, limits)),
        len(10, probe),
        len(11, len(1, len(3, len(1, port(0, 8080, ""))))),
    ]
    .concat();
    // Packed supplementalGroups, and a negative int64.
    let packed = [varint(1), varint(2)].concat();
    let security = [num(2, -1), len(4, packed)].concat();
    let spec = [len(2, container), len(14, security)].concat();
    let raw = [len(1, meta), len(2, spec)].concat();
    let got = decode_request(&envelope("v1", "Pod", &raw)).unwrap();
    let want = json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {
            "name": "p", "creationTimestamp": null, "deletionTimestamp": "2023-11-14T22:13:20Z",
            "labels": {"a": "1", "b": "2"},
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "uid-1", "controller": true}
            ],
            "managedFields": [{
                "manager": "kubectl", "operation": "Update", "time": "2023-11-14T22:13:20Z",
                "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}
            }]
        },
        "spec": {
            "containers": [{
                "name": "c",
                "resources": {"limits": {"cpu": "500m"}},
                "livenessProbe": {"httpGet": {"path": "/h", "port": "http"}},
                "readinessProbe": {"tcpSocket": {"port": 8080}}
            }],
            "securityContext": {"runAsUser": -1, "supplementalGroups": [1, 2]}
        },
        "status": {}
    });
    assert_eq!(got, want, "{}", pretty(&got));
    // Go's encoding/json sorts map keys; so does the decoder.
    let labels: Vec<&String> = got["metadata"]["labels"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(labels, ["a", "b"]);
}

#[test]
fn errors_name_the_message_field_and_place() {
    let container = [len(1, "c"), num(99, 1)].concat();
    let raw = [name_meta("p"), len(2, len(2, container))].concat();
    let err = decode_request(&envelope("v1", "Pod", &raw)).unwrap_err();
    assert_eq!(err.message, "k8s.io.api.core.v1.Container");
    assert_eq!(err.field, Some(99));
    assert_eq!(err.path, "spec.containers[0]");
    assert!(
        err.to_string().starts_with(
            "k8s.io.api.core.v1.Container field 99 (at spec.containers[0]): unknown field number"
        ),
        "{err}"
    );

    let err = decode_request(&envelope("apps/v1", "Deployment", &[])).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot decode apps/v1 Deployment from protobuf"),
        "{err}"
    );

    let err = decode_request(b"{\"kind\":\"Pod\"}").unwrap_err();
    assert!(err.to_string().contains("magic"), "{err}");

    // A string where ObjectMeta.generation (varint) belongs.
    let raw = len(1, len(7, "x"));
    let err = decode_request(&envelope("v1", "Secret", &raw)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta field 7 (at metadata.generation): \
         `generation` holds int64 but arrived as length-delimited"
    );

    let mut truncated = envelope("v1", "Secret", &name_meta("s"));
    truncated.truncate(truncated.len() - 6);
    assert!(decode_request(&truncated).is_err());

    let gzip = [
        b"k8s\0".to_vec(),
        len(1, [len(1, "v1"), len(2, "Secret")].concat()),
        len(3, "gzip"),
    ]
    .concat();
    let err = decode_request(&gzip).unwrap_err();
    assert!(err.to_string().contains("\"gzip\""), "{err}");
}
