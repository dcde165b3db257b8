//! `validate()`: every rule named by its field as the VolumeBackup spells it, the data
//! plane's own rules reused, and nothing refused that TiDB accepts unless the backup
//! could not run anyway.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::federation::validate;
use crate::reconcile::reasons;

fn known() -> BTreeSet<String> {
    CLUSTERS.iter().map(|c| c.to_string()).collect()
}

/// The fields `patch` makes the spec break, each with its message.
fn errors(patch: Value) -> Vec<(String, String)> {
    match validate(&vbk().tweak(patch), Some(&known())) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_iter().map(|e| (e.field, e.message)).collect(),
    }
}

#[test]
fn the_users_volume_backup_is_valid() {
    let valid = validate(&vbk(), Some(&known())).unwrap();
    assert_eq!(valid.member_name, "fed-vbk1");
    assert_eq!(valid.namespace, "br-fed");
    assert_eq!(
        valid
            .members
            .iter()
            .map(|m| m.k8s_cluster_name.as_str())
            .collect::<Vec<_>>(),
        CLUSTERS
    );
    assert!(valid.warnings.is_empty());
}

#[test]
fn each_broken_rule_names_its_field_once() {
    let table: &[(Value, &str, &str)] = &[
        (
            json!({"spec": {"clusters": []}}),
            "spec.clusters",
            "must list",
        ),
        (
            json!({"spec": {"clusters": [{"k8sClusterName": "k8s1", "tcName": "tc1", "tcNamespace": "ns1"},
                                         {"k8sClusterName": "k8s2", "tcName": "tc2"}]}}),
            "spec.clusters[1].tcNamespace",
            "must name the TidbCluster's namespace",
        ),
        (
            json!({"spec": {"clusters": [{"k8sClusterName": "k8s1", "tcName": "tc1", "tcNamespace": "ns1"},
                                         {"k8sClusterName": " k8s1 ", "tcName": "tc2", "tcNamespace": "ns2"}]}}),
            "spec.clusters[1].k8sClusterName",
            "\"k8s1\" is already spec.clusters[0]",
        ),
        (
            json!({"spec": {"template": {"s3": null}}}),
            "spec.template.s3",
            "required",
        ),
        (
            json!({"spec": {"template": {"s3": null, "gcs": {"projectId": "p", "bucket": "b"}}}}),
            "spec.template.gcs",
            "keep their snapshot metadata in S3",
        ),
        (
            json!({"spec": {"template": {"s3": {"bucket": "My_Bucket"}}}}),
            "spec.template.s3.bucket",
            "not a valid S3 bucket name",
        ),
        (
            json!({"spec": {"template": {"s3": {"acl": "everyone"}}}}),
            "spec.template.s3.acl",
            "unsupported value",
        ),
        (
            json!({"spec": {"template": {"s3": {"prefix": "a/../b"}}}}),
            "spec.template.s3.prefix",
            "\"..\" segment",
        ),
        (
            json!({"spec": {"clusters": [{"k8sClusterName": "k8s1", "tcName": "tc1", "tcNamespace": "ns1"},
                                         {"k8sClusterName": "k8s?2", "tcName": "tc2", "tcNamespace": "ns2"}]}}),
            "spec.clusters[1].k8sClusterName",
            "makes this member's prefix \"daily/vbk1-k8s?2\" unusable",
        ),
        (
            json!({"spec": {"template": {"br": {"options": ["--storage=s3://x/y"]}}}}),
            "spec.template.br.options[0]",
            "would move the storage",
        ),
        (
            json!({"spec": {"template": {"toolImage": "pingcap/br:v8 .5"}}}),
            "spec.template.toolImage",
            "not an image reference",
        ),
        (
            json!({"spec": {"template": {"volumeBackupInitJobMaxActiveSeconds": 0}}}),
            "spec.template.volumeBackupInitJobMaxActiveSeconds",
            "is not a duration",
        ),
    ];
    for (patch, field, fragment) in table {
        let found = if *field == "spec.clusters[1].k8sClusterName" && fragment.contains("prefix") {
            // Valid as a context name for this case: only the prefix rule applies.
            let mut k = known();
            k.insert("k8s?2".into());
            validate(&vbk().tweak(patch.clone()), Some(&k))
                .unwrap_err()
                .into_iter()
                .map(|e| (e.field, e.message))
                .collect()
        } else {
            errors(patch.clone())
        };
        let at: Vec<_> = found.iter().filter(|(f, _)| f == field).collect();
        assert_eq!(at.len(), 1, "{field}: {found:?}");
        assert!(at[0].1.contains(fragment), "{field}: {}", at[0].1);
    }
}

#[test]
fn the_name_must_leave_room_for_the_init_jobs_name() {
    let name = |n: usize| "v".repeat(n);
    let ok = vbk().tweak(json!({"metadata": {"name": name(47)}}));
    assert!(validate(&ok, None).is_ok());
    let long = vbk().tweak(json!({"metadata": {"name": name(48)}}));
    let e = validate(&long, None).unwrap_err();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].field, "metadata.name");
    assert!(
        e[0].message.starts_with("must be at most 47 characters"),
        "{}",
        e[0].message
    );
    assert!(
        e[0].message
            .contains(&format!("backup-fed-{}-init", name(48)))
    );
}

#[test]
fn unknown_cluster_names_are_errors_only_when_the_registry_is_asked() {
    let mut k = known();
    k.remove("k8s2");
    let e = validate(&vbk(), Some(&k)).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].field, "spec.clusters[1].k8sClusterName");
    assert!(
        e[0].message.contains("known: k8s1, k8s3"),
        "{}",
        e[0].message
    );
    assert!(
        validate(&vbk(), None).is_ok(),
        "once a member exists the name is not checked"
    );
    let e = validate(&vbk(), Some(&BTreeSet::new())).unwrap_err();
    assert!(e[0].message.contains("known: none"));
}

#[test]
fn what_tidb_accepts_and_can_run_is_accepted() {
    for patch in [
        json!({"spec": {"template": {"calcSizeLevel": "none"}}}),
        json!({"spec": {"template": {"cleanPolicy": "Keep"}}}),
        json!({"spec": {"template": {"s3": {"prefix": null}}}}),
        json!({"spec": {"template": {"toolImage": "pingcap/br"}}}),
        json!({"spec": {"template": {"br": null}}}),
        json!({"spec": {"clusters": [
            {"k8sClusterName": "arn:aws:eks:us-west-2:123456789012:cluster/tidb-a", "tcName": "tc1", "tcNamespace": "ns1"}
        ]}}),
    ] {
        let v = vbk().tweak(patch.clone());
        let mut k = known();
        k.insert("arn:aws:eks:us-west-2:123456789012:cluster/tidb-a".into());
        assert!(
            validate(&v, Some(&k)).is_ok(),
            "{patch}: {:?}",
            validate(&v, Some(&k))
        );
    }
}

#[test]
fn a_deletion_rate_out_of_range_is_a_warning_said_when_the_backup_starts() {
    let v = vbk().tweak(json!({"spec": {"template": {"snapshotsDeleteRatio": 5.0}}}));
    let valid = validate(&v, Some(&known())).unwrap();
    assert_eq!(valid.warnings.len(), 1, "once, not once per member");
    assert_eq!(
        valid.warnings[0].field,
        "spec.template.snapshotsDeleteRatio"
    );
    let plan = run(&v, &observed(&[]));
    assert!(note(&plan, reasons::SPEC_WARNING).contains("spec.template.snapshotsDeleteRatio"));
    assert_eq!(creates(&plan).len(), 1);
}

#[test]
fn an_invalid_spec_creates_nothing_and_says_why() {
    let v = vbk().tweak(json!({"spec": {"template": {"s3": null}}}));
    let plan = run(&v, &observed(&[]));
    assert!(plan.actions.is_empty());
    assert_eq!(
        plan.finalizer,
        Some(crate::federation::FinalizerChange::Add)
    );
    assert_eq!(
        conditions(&plan),
        [cond("Invalid", "True", reasons::INVALID_SPEC)]
    );
    assert!(note(&plan, reasons::INVALID_SPEC).starts_with("spec.template.s3: required"));
    assert_eq!(plan.status.time_started, None, "it never started");
}
