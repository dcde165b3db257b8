//! The emulator as a user meets it: the real kubectl applying, listing, explaining,
//! editing, patching and watching a custom resource, and deleting things.

mod common;

use std::{os::unix::fs::PermissionsExt, process::Stdio, time::Duration};

use common::*;
use tokio::io::AsyncReadExt;

const WIDGETS: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata:
  name: small-one
  labels: {team: db}
spec:
  size: small
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: large-one
  labels: {team: web}
spec:
  size: large
  count: 7
"#;

async fn with_widgets() -> (Env, Kubectl) {
    let env = start().await;
    let k = Kubectl::new(&env.cluster);
    let crd = k.write(
        "crd.yaml",
        &yaml_serde::to_string(&widget_crd("Namespaced")).unwrap(),
    );
    k.ok(&["apply", "-f", &crd]).await;
    let objs = k.write("widgets.yaml", WIDGETS);
    let out = k.ok(&["apply", "-f", &objs]).await;
    assert!(
        out.contains("widget.example.com/small-one created"),
        "{out}"
    );
    (env, k)
}

fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn apply_get_wide_and_label_selection() {
    let (env, k) = with_widgets().await;
    let table = rows(&k.ok(&["get", "wd"]).await);
    assert_eq!(table[0], vec!["NAME", "SIZE", "AGE"]);
    assert_eq!(
        table[1][..2],
        ["large-one".to_string(), "large".to_string()]
    );
    assert_eq!(table.len(), 3);

    let api = widgets(&env.client, "default");
    api.patch_status(
        "small-one",
        &Default::default(),
        &kube::api::Patch::Merge(serde_json::json!({"status": {"phase": "Ready"}})),
    )
    .await
    .unwrap();
    let wide = rows(
        &k.ok(&["get", "widgets.example.com", "-o", "wide", "-l", "team=db"])
            .await,
    );
    assert_eq!(wide[0], vec!["NAME", "SIZE", "PHASE", "AGE"]);
    assert_eq!(
        wide[1][..3],
        [
            "small-one".to_string(),
            "small".to_string(),
            "Ready".to_string()
        ]
    );
    assert_eq!(wide.len(), 2);

    let json: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "widget", "small-one", "-o", "json"]).await).unwrap();
    assert_eq!(json["spec"]["count"], 3, "the schema default is applied");
    // Applying the same manifest again changes nothing.
    let again = k
        .ok(&["apply", "-f", &k.path("widgets.yaml").display().to_string()])
        .await;
    assert!(
        again.contains("widget.example.com/small-one unchanged"),
        "{again}"
    );
}

#[tokio::test]
async fn explain_reads_the_crd_schema() {
    let (_env, k) = with_widgets().await;
    let out = k.ok(&["explain", "widget.spec.size"]).await;
    assert!(out.contains("How big the widget is."), "{out}");
    assert!(out.contains("small") && out.contains("large"), "{out}");
    let recursive = k.ok(&["explain", "wd", "--recursive"]).await;
    assert!(
        recursive.contains("count") && recursive.contains("phase"),
        "{recursive}"
    );
}

#[tokio::test]
async fn invalid_objects_are_rejected_with_the_field() {
    let (_env, k) = with_widgets().await;
    let bad = k.write(
        "bad.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bad}\nspec: {size: huge}\n",
    );
    let out = k.run(&["apply", "-f", &bad]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("is invalid"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(r#"spec.size: Unsupported value: "huge""#),
        "{}",
        out.stderr
    );
    let missing = k.write(
        "missing.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bad}\nspec: {count: 2}\n",
    );
    let out = k.run(&["create", "-f", &missing]).await;
    assert!(
        out.stderr.contains("spec.size: Required value"),
        "{}",
        out.stderr
    );
    let unknown = k.write("unknown.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bad}\nspec: {size: small, colour: red}\n");
    let out = k.run(&["apply", "-f", &unknown]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains(r#"unknown field "spec.colour""#),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn edit_and_patch() {
    let (_env, k) = with_widgets().await;
    let editor = k.path("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/size: small/size: large/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = k.command(&["edit", "widget", "small-one"]);
    cmd.env("KUBE_EDITOR", &editor);
    let out = k.run_with(cmd).await;
    assert!(out.ok, "{} {}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("widget.example.com/small-one edited"),
        "{}",
        out.stdout
    );
    assert_eq!(
        k.ok(&["get", "wd", "small-one", "-o", "jsonpath={.spec.size}"])
            .await,
        "large"
    );

    k.ok(&[
        "patch",
        "wd",
        "small-one",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"note":"merged"}}"#,
    ])
    .await;
    k.ok(&[
        "patch",
        "wd",
        "small-one",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/count","value":9}]"#,
    ])
    .await;
    let obj: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "wd", "small-one", "-o", "json"]).await).unwrap();
    assert_eq!(
        (obj["spec"]["note"].as_str(), obj["spec"]["count"].as_i64()),
        (Some("merged"), Some(9))
    );
    // Custom resources do not take strategic merge patches, as on a real server.
    let out = k
        .run(&["patch", "wd", "small-one", "-p", r#"{"spec":{"note":"x"}}"#])
        .await;
    assert!(
        !out.ok && out.stderr.contains("UnsupportedMediaType")
            || out.stderr.contains("unknown format"),
        "{}",
        out.stderr
    );

    k.ok(&["label", "wd", "small-one", "tier=gold"]).await;
    assert_eq!(
        k.ok(&["get", "wd", "-l", "tier=gold", "-o", "name"])
            .await
            .trim(),
        "widget.example.com/small-one"
    );
}

#[tokio::test]
async fn get_watch_streams_changes() {
    let (_env, k) = with_widgets().await;
    let mut cmd = k.command(&["get", "wd", "--watch", "--output-watch-events"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    k.ok(&[
        "patch",
        "wd",
        "large-one",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"size":"small"}}"#,
    ])
    .await;
    k.ok(&["delete", "wd", "large-one"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.start_kill().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    let events: Vec<Vec<String>> = rows(&out).into_iter().filter(|r| r.len() >= 2).collect();
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert!(
        summary.contains(&("ADDED".into(), "large-one".into())),
        "{out}"
    );
    assert!(
        summary.contains(&("MODIFIED".into(), "large-one".into())),
        "{out}"
    );
    assert!(
        summary.contains(&("DELETED".into(), "large-one".into())),
        "{out}"
    );
}

#[tokio::test]
async fn finalizers_and_namespace_deletion() {
    let (_env, k) = with_widgets().await;
    k.ok(&["create", "namespace", "scratch"]).await;
    let held = k.write("held.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: held, namespace: scratch, finalizers: [example.com/hold]}\nspec: {size: small}\n");
    k.ok(&["apply", "-f", &held]).await;
    k.ok(&[
        "create",
        "configmap",
        "cfg",
        "-n",
        "scratch",
        "--from-literal=a=b",
    ])
    .await;
    k.ok(&["delete", "wd", "held", "-n", "scratch", "--wait=false"])
        .await;
    let ts = k
        .ok(&[
            "get",
            "wd",
            "held",
            "-n",
            "scratch",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
        ])
        .await;
    assert!(!ts.is_empty(), "held by its finalizer");
    k.ok(&["delete", "namespace", "scratch", "--wait=false"])
        .await;
    let phase = k
        .ok(&[
            "get",
            "namespace",
            "scratch",
            "-o",
            "jsonpath={.status.phase}",
        ])
        .await;
    assert_eq!(phase, "Terminating");
    k.ok(&[
        "patch",
        "wd",
        "held",
        "-n",
        "scratch",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ])
    .await;
    let out = k
        .ok(&["wait", "--for=delete", "namespace/scratch", "--timeout=10s"])
        .await;
    assert!(out.contains("deleted") || out.is_empty(), "{out}");
    let gone = k.run(&["get", "namespace", "scratch"]).await;
    assert!(
        gone.stderr.contains("NotFound") || gone.stderr.contains("not found"),
        "{}",
        gone.stderr
    );
}

/// kubectl asks for 500 rows at a time and, past its first ten requests, waits for its
/// own rate limit before each one; a Table list is answered whole (ADR 0010), while
/// object lists still page as asked.
#[tokio::test]
async fn a_table_list_is_answered_whole_and_object_lists_page() {
    use futures::{StreamExt, stream};
    let (env, k) = with_widgets().await;
    let api = widgets(&env.client, "default");
    stream::iter(0..600)
        .for_each_concurrent(8, |i| {
            let api = api.clone();
            async move {
                api.create(&Default::default(), &widget(&format!("w-{i:03}"), "small"))
                    .await
                    .unwrap();
            }
        })
        .await;

    let out = k.run(&["get", "wd", "-v=6"]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(
        out.stdout.lines().count(),
        1 + 602,
        "a header and every Widget"
    );
    let lists: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("GET") && l.contains("/widgets?"))
        .collect();
    assert_eq!(
        lists.len(),
        1,
        "one request for the whole table: {lists:#?}"
    );
    assert!(lists[0].contains("limit=500"), "{}", lists[0]);

    let page = api
        .list(&kube::api::ListParams::default().limit(500))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 500);
    assert!(page.metadata.continue_.is_some());
}
