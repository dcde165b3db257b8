//! The emulator and job runner scenario: a CRD with printer columns, validation, a Job
//! that completes and one that runs past its deadline, namespace deletion, and the
//! embedded S3 server.

use std::time::Duration;

use k8s_openapi::{
    api::{
        batch::v1::Job,
        core::v1::{ConfigMap, Namespace, Pod},
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

use super::{Report, command, get_table, heading, table_text, wait_for};
use crate::sandbox::Sandbox;

const NS: &str = "demo";

fn notes_crd() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "notes.demo.tibr.dev"},
        "spec": {
            "group": "demo.tibr.dev",
            "scope": "Namespaced",
            "names": {"plural": "notes", "singular": "note", "kind": "Note", "shortNames": ["nt"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Priority", "type": "string", "jsonPath": ".spec.priority"},
                    {"name": "State", "type": "string", "jsonPath": ".status.state", "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["text"], "properties": {
                        "text": {"type": "string", "description": "What the note says."},
                        "priority": {"type": "string", "enum": ["low", "high"], "default": "low"}
                    }},
                    "status": {"type": "object", "properties": {"state": {"type": "string"}}}
                }}}
            }]
        }
    })
}

pub async fn run(sandbox: &Sandbox, report: &mut Report) -> anyhow::Result<()> {
    let client = super::admin_client(sandbox).await?;
    custom_resources(&client, report).await?;
    jobs(&client, report).await?;
    namespace_deletion(&client, report).await?;
    s3(sandbox, report).await?;
    Ok(())
}

async fn custom_resources(client: &Client, report: &mut Report) -> anyhow::Result<()> {
    heading("Custom resources: schema defaults, validation, printer columns");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": NS}}))?,
        )
        .await?;
    command("kubectl apply -f notes-crd.yaml");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(notes_crd())?,
    )
    .await?;
    println!("customresourcedefinition.apiextensions.k8s.io/notes.demo.tibr.dev created");

    let notes = Api::<kube::api::DynamicObject>::namespaced_with(
        client.clone(),
        NS,
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("demo.tibr.dev", "v1", "Note"),
            "notes",
        ),
    );
    command("kubectl apply -f notes.yaml");
    for (name, spec) in [
        (
            "backup-window",
            json!({"text": "backups run at 02:00", "priority": "high"}),
        ),
        (
            "gc-life-time",
            json!({"text": "raise to 72h during backups"}),
        ),
    ] {
        let obj = serde_json::from_value(
            json!({"apiVersion": "demo.tibr.dev/v1", "kind": "Note", "metadata": {"name": name}, "spec": spec}),
        )?;
        notes.create(&PostParams::default(), &obj).await?;
        println!("note.demo.tibr.dev/{name} created");
    }
    notes
        .patch_status(
            "backup-window",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"state": "acknowledged"}})),
        )
        .await?;

    command("kubectl get notes -n demo -o wide");
    let table = get_table(
        client,
        &format!("/apis/demo.tibr.dev/v1/namespaces/{NS}/notes"),
    )
    .await?;
    let text = table_text(&table, true);
    print!("{text}");
    report.check(
        text.starts_with("NAME") && text.contains("PRIORITY") && text.contains("STATE"),
        "printer columns become table columns (STATE only with -o wide)",
    );
    report.check(
        text.lines()
            .any(|l| l.starts_with("gc-life-time") && l.contains("low")),
        "the schema default fills spec.priority",
    );

    command("kubectl apply -f bad-note.yaml   # priority: urgent, no text");
    let bad = serde_json::from_value(
        json!({"apiVersion": "demo.tibr.dev/v1", "kind": "Note", "metadata": {"name": "bad"}, "spec": {"priority": "urgent"}}),
    )?;
    match notes.create(&PostParams::default(), &bad).await {
        Err(e) => {
            let text = super::error_text(&e);
            println!("{text}");
            report.check(
                text.contains(r#"spec.priority: Unsupported value: "urgent""#)
                    && text.contains("spec.text: Required value"),
                "an invalid object is refused with 422 naming each field",
            );
        }
        Ok(_) => {
            report.check(
                false,
                "an invalid object is refused with 422 naming each field",
            );
        }
    }
    Ok(())
}

fn job(name: &str, script: &str, deadline: Option<i64>) -> anyhow::Result<Job> {
    let mut spec = json!({"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
        "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", script]}]}}});
    if let Some(d) = deadline {
        spec["activeDeadlineSeconds"] = json!(d);
    }
    Ok(serde_json::from_value(
        json!({"metadata": {"name": name}, "spec": spec}),
    )?)
}

fn condition(job: &Job, kind: &str) -> Option<(String, String)> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind && c.status == "True")
        .map(|c| {
            (
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

async fn jobs(client: &Client, report: &mut Report) -> anyhow::Result<()> {
    heading("Jobs run as local processes");
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    command("kubectl create job hello -n demo --image=busybox -- sh -c 'echo hello; exit 0'");
    jobs.create(
        &PostParams::default(),
        &job("hello", "echo hello from a sandbox pod; exit 0", None)?,
    )
    .await?;
    println!("job.batch/hello created");
    let done = wait_for(Duration::from_secs(30), || {
        let jobs = jobs.clone();
        async move {
            jobs.get("hello")
                .await
                .ok()
                .filter(|j| condition(j, "Complete").is_some())
        }
    })
    .await;
    report.check(done.is_some(), "the Job completes");
    command("kubectl get jobs,pods -n demo");
    print!(
        "{}",
        table_text(
            &get_table(client, &format!("/apis/batch/v1/namespaces/{NS}/jobs")).await?,
            false
        )
    );
    println!();
    print!(
        "{}",
        table_text(
            &get_table(client, &format!("/api/v1/namespaces/{NS}/pods")).await?,
            false
        )
    );
    command("kubectl logs job/hello -n demo");
    let pod = pods
        .list(&ListParams::default().labels("job-name=hello"))
        .await?
        .items
        .into_iter()
        .next();
    let logs = match pod {
        Some(p) => pods
            .logs(&p.name_any(), &LogParams::default())
            .await
            .unwrap_or_default(),
        None => String::new(),
    };
    print!("{logs}");
    report.check(
        logs == "hello from a sandbox pod\n",
        "the pod's output is served by `kubectl logs`",
    );

    command("kubectl apply -f slow-job.yaml   # sleep 60 with activeDeadlineSeconds: 2");
    jobs.create(&PostParams::default(), &job("slow", "sleep 60", Some(2))?)
        .await?;
    println!("job.batch/slow created");
    let failed = wait_for(Duration::from_secs(30), || {
        let jobs = jobs.clone();
        async move {
            jobs.get("slow")
                .await
                .ok()
                .and_then(|j| condition(&j, "Failed"))
        }
    })
    .await;
    command(
        "kubectl get job slow -n demo -o jsonpath='{.status.conditions[?(@.type==\"Failed\")]}'",
    );
    if let Some((reason, message)) = &failed {
        println!("reason: {reason}, message: {message}");
    }
    report.check(
        failed
            .as_ref()
            .is_some_and(|(r, _)| r == "DeadlineExceeded"),
        "a Job past activeDeadlineSeconds fails with DeadlineExceeded",
    );
    Ok(())
}

async fn namespace_deletion(client: &Client, report: &mut Report) -> anyhow::Result<()> {
    heading("Deleting a namespace removes what it holds");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "scratch"}}))?,
        )
        .await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "scratch");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "settings"}, "data": {"a": "b"}}))?,
    )
    .await?;
    command("kubectl delete namespace scratch");
    namespaces
        .delete("scratch", &DeleteParams::default())
        .await?;
    println!("namespace \"scratch\" deleted");
    let gone = wait_for(Duration::from_secs(10), || {
        let namespaces = namespaces.clone();
        async move {
            namespaces
                .get_opt("scratch")
                .await
                .ok()
                .filter(Option::is_none)
                .map(|_| ())
        }
    })
    .await;
    report.check(gone.is_some(), "the namespace and its ConfigMaps are gone");
    Ok(())
}

async fn s3(sandbox: &Sandbox, report: &mut Report) -> anyhow::Result<()> {
    use futures::TryStreamExt;
    use object_store::{ObjectStore, ObjectStoreExt, PutPayload, path::Path};
    heading("The embedded S3 server");
    sandbox.s3.ensure_bucket("demo")?;
    let store = super::s3_store(sandbox, "demo")?;
    command("aws s3 cp - s3://demo/hello/greeting.txt");
    store
        .put(
            &Path::from("hello/greeting.txt"),
            PutPayload::from_static(b"hello from the sandbox\n"),
        )
        .await?;
    command("aws s3 ls --recursive s3://demo/");
    let listed: Vec<_> = store.list(None).try_collect().await?;
    for meta in &listed {
        println!(
            "{}  {:>8}  {}",
            meta.last_modified.format("%Y-%m-%d %H:%M:%S"),
            meta.size,
            meta.location
        );
    }
    report.check(
        listed.len() == 1 && listed[0].size == 23,
        "objects are stored and listed",
    );
    let on_disk = sandbox.s3.data_dir.join("demo/hello/greeting.txt");
    report.check(
        on_disk.is_file(),
        "objects live as files under DIR/s3/<bucket>/<key>",
    );
    Ok(())
}
