//! Objects the operator cannot read (a value our types do not take, stored under an older
//! CRD without ranges): each is marked on its own status with the field named, and holds
//! up no other Backup or schedule.

mod common;

use common::*;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api,
    api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use tibr_api::{Backup, BackupSchedule};

const SCHEDULE_LABEL: &str = "tidb.pingcap.com/backup-schedule";

/// Puts CRD `name` back as it was before it had integer ranges, so that the API server
/// stores values our types do not take.
async fn without_ranges(env: &Env, name: &str) {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("minimum");
                map.remove("maximum");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let api: Api<CustomResourceDefinition> = Api::all(env.client.clone());
    let mut crd = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
    strip(&mut crd["spec"]["versions"]);
    let crd: CustomResourceDefinition = serde_json::from_value(crd).unwrap();
    api.replace(name, &PostParams::default(), &crd)
        .await
        .unwrap();
}

/// The objects of kind `K` in the test namespace, untyped: a typed read of an unreadable
/// one fails.
fn raw<K: kube::Resource<DynamicType = ()>>(env: &Env) -> Api<DynamicObject> {
    Api::namespaced_with(env.client.clone(), NS, &ApiResource::erase::<K>(&()))
}

async fn create_raw<K: kube::Resource<DynamicType = ()>>(env: &Env, object: Value) {
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    raw::<K>(env)
        .create(&PostParams::default(), &object)
        .await
        .unwrap();
}

/// The status of `name` once `ready` says it is what the test waits for.
async fn wait_status<K: kube::Resource<DynamicType = ()>>(
    env: &Env,
    name: &str,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    wait_for(60, what, || async {
        let object = raw::<K>(env).get_opt(name).await.ok()??;
        let status = object.data.get("status")?.clone();
        ready(&status).then_some(status)
    })
    .await
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("no {type_} condition in {status}"))
}

#[tokio::test]
async fn an_unreadable_backup_is_marked_invalid_and_holds_up_no_other() {
    let mut env = Env::start().await;
    env.s3_secret(NS, true).await;
    env.tidb_secret(NS).await;
    // The dying backup below raised the GC life time (the stub records it, as the agent does).
    env.tidb.set_variable("tikv_gc_life_time", "72h0m0s");
    without_ranges(&env, "backups.pingcap.com").await;
    env.start_operator().await;

    // A Backup of the same TiDB cluster, with `from`, that cannot be read.
    let mut spec = env.backup_spec("unreadable");
    spec["br"]["concurrency"] = json!(99_999_999_999u64);
    create_raw::<Backup>(
        &env,
        json!({"apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
               "metadata": {"name": "unreadable", "namespace": NS}, "spec": spec}),
    )
    .await;
    // A good one whose pod dies with the GC life time raised: putting it back reads every
    // other Backup of the cluster.
    env.backup(
        NS,
        "killed",
        "killed",
        json!({"env": [{"name": "STUB_MODE", "value": "die"}, {"name": "STUB_GC_RAISED", "value": "72h"}],
               "backoffRetryPolicy": {"maxRetryTimes": 0}}),
    )
    .await;

    let status = wait_status::<Backup>(&env, "unreadable", "phase Invalid", |s| {
        s["phase"] == "Invalid"
    })
    .await;
    let invalid = condition(&status, "Invalid");
    assert_eq!(invalid["status"], "True");
    assert_eq!(invalid["reason"], "InvalidObject");
    assert_eq!(invalid["observedGeneration"], 1);
    let message = invalid["message"].as_str().unwrap();
    assert!(
        message.starts_with("spec.br.concurrency: ") && message.contains("99999999999"),
        "{message}"
    );
    wait_for(20, "the InvalidObject Event", || async {
        let events = env.events(NS, Some("unreadable")).await;
        events
            .iter()
            .any(|e| {
                e.starts_with(
                    "Warning InvalidObject: this Backup cannot be read: spec.br.concurrency: ",
                )
            })
            .then_some(())
    })
    .await;

    // The other backup is not held up: its GC life time is put back...
    let killed = wait_for(90, "gcLifeTime.restored of killed", || async {
        let b = env.get(NS, "killed").await?;
        b.status
            .as_ref()?
            .gc_life_time
            .as_ref()?
            .restored
            .then_some(b)
    })
    .await;
    assert_eq!(env.tidb.gc_life_time(), "10m0s");
    assert_eq!(killed.phase().map(|p| p.as_str()), Some("Failed"));
    // ...after reading the other Backups of the cluster, leaving out the unreadable one.
    let logs = logs();
    assert!(
        logs.lines().any(|l| l.contains("left out of a list")
            && l.contains("name=unreadable")
            && l.contains("spec.br.concurrency")),
        "no warning about the Backup left out"
    );

    // Fixing the field is enough: the Backup is read again and goes ahead.
    raw::<Backup>(&env)
        .patch(
            "unreadable",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"br": {"concurrency": 8}}})),
        )
        .await
        .unwrap();
    let fixed = wait_for(30, "the fixed Backup past Invalid", || async {
        let b = env.get(NS, "unreadable").await?;
        let (status, reason, _) = tibr_testkit::status::condition(&b, "Invalid")?;
        (status == "False").then_some((reason, b))
    })
    .await;
    assert_eq!(fixed.0, "SpecCorrected");
    env.stop().await;
}

#[tokio::test]
async fn unreadable_schedules_and_runs_hold_up_no_other_schedule() {
    let mut env = Env::start().await;
    env.s3_secret(NS, true).await;
    env.tidb_secret(NS).await;
    without_ranges(&env, "backups.pingcap.com").await;
    without_ranges(&env, "backupschedules.pingcap.com").await;
    env.start_operator().await;

    // A schedule that cannot be read...
    create_raw::<BackupSchedule>(
        &env,
        json!({"apiVersion": "pingcap.com/v1alpha1", "kind": "BackupSchedule",
               "metadata": {"name": "broken", "namespace": NS},
               "spec": {"schedule": "@every 2s", "maxBackups": 4_294_967_296u64,
                        "backupTemplate": env.backup_spec("broken")}}),
    )
    .await;
    // ...and a run of another schedule that cannot be read, from before that schedule was
    // recreated.
    let mut spec = env.backup_spec("steady-old");
    spec["br"]["concurrency"] = json!(-1);
    create_raw::<Backup>(
        &env,
        json!({"apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
               "metadata": {"name": "steady-2020-01-01t00-00-00", "namespace": NS,
                            "labels": {SCHEDULE_LABEL: "steady"}},
               "spec": spec}),
    )
    .await;
    let mut template = env.backup_spec("steady");
    template["env"] = json!([{"name": "STUB_MODE", "value": "complete"}]);
    create_raw::<BackupSchedule>(
        &env,
        json!({"apiVersion": "pingcap.com/v1alpha1", "kind": "BackupSchedule",
               "metadata": {"name": "steady", "namespace": NS},
               "spec": {"schedule": "@every 2s", "backupTemplate": template}}),
    )
    .await;

    let status = wait_status::<BackupSchedule>(&env, "broken", "broken not Valid", |s| {
        s["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Valid"))
    })
    .await;
    let valid = condition(&status, "Valid");
    assert_eq!(
        (&valid["status"], &valid["reason"]),
        (&json!("False"), &json!("InvalidObject"))
    );
    let message = valid["message"].as_str().unwrap();
    assert!(message.starts_with("spec.maxBackups: "), "{message}");
    assert!(status.get("nextBackupTime").is_none(), "{status}");

    // The other schedule goes on: a new run of it completes.
    wait_for(60, "a run of steady to complete", || async {
        let runs = raw::<Backup>(&env)
            .list(&ListParams::default().labels(&format!("{SCHEDULE_LABEL}=steady")))
            .await
            .ok()?;
        runs.items
            .iter()
            .any(|b| {
                b.metadata.name.as_deref() != Some("steady-2020-01-01t00-00-00")
                    && b.data["status"]["phase"] == "Complete"
            })
            .then_some(())
    })
    .await;
    let old = wait_status::<Backup>(&env, "steady-2020-01-01t00-00-00", "old run Invalid", |s| {
        s["phase"] == "Invalid"
    })
    .await;
    assert!(
        condition(&old, "Invalid")["message"]
            .as_str()
            .unwrap()
            .starts_with("spec.br.concurrency: "),
        "{old}"
    );
    env.stop().await;
}
