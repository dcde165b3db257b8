//! A VolumeBackup's spec into a [`ValidVolumeBackup`], or every rule it breaks with the
//! field named.
//!
//! TiDB's manager checks nothing: a bad spec shows up as a member refused in a data plane,
//! or, worse, after GC and PD scheduling were paused for the whole cluster. Here each
//! member Backup is built and checked with the data plane's own rules
//! (`crate::backup::validate`), with the fields named as the VolumeBackup spells them, so
//! anything a data plane would refuse is refused before anything is paused. Beyond those,
//! only what would stop the backup anyway is refused, each with its reason.

use std::collections::BTreeSet;

use tibr_api::{
    VolumeBackup,
    federation::v1alpha1::VolumeBackupMemberCluster,
    pingcap::v1alpha1::{FederalVolumeBackupPhase, StorageProvider},
};

use super::member::{member_backup, member_name, member_prefix};
use crate::field::FieldError;
use crate::names::{MAX_LABEL_VALUE, clean_job, init_job};
use crate::storage::{Location, Part};

/// One entry of `spec.clusters`, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCluster {
    pub k8s_cluster_name: String,
    pub tc_name: String,
    pub tc_namespace: String,
}

impl MemberCluster {
    /// The entry as written; a missing field is empty.
    pub fn from_spec(c: &VolumeBackupMemberCluster) -> Self {
        let text = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_string();
        MemberCluster {
            k8s_cluster_name: text(&c.k8s_cluster_name),
            tc_name: text(&c.tc_name),
            tc_namespace: text(&c.tc_namespace),
        }
    }
}

/// A VolumeBackup whose spec passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidVolumeBackup {
    pub name: String,
    pub namespace: String,
    /// `fed-<name>`, the member Backup in every data plane.
    pub member_name: String,
    /// In spec order; `members[0]` pauses GC and PD scheduling.
    pub members: Vec<MemberCluster>,
    /// What is allowed but deserves a word (a snapshot deletion rate out of range).
    pub warnings: Vec<FieldError>,
}

/// Checks `vbk`. `known` is the registry's set of cluster names, to be given only while
/// no member Backup exists yet: once one does, a name the registry lost is a cluster
/// gone missing during the backup (handled by the decision), not a spec error. The
/// registry is reloaded at run time, so this is checked again on every reconcile.
pub fn validate(
    vbk: &VolumeBackup,
    known: Option<&BTreeSet<String>>,
) -> Result<ValidVolumeBackup, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = Vec::new();
    // The same template problem shows in every member: once is enough.
    fn push(errors: &mut Vec<FieldError>, e: FieldError) {
        if !errors.contains(&e) {
            errors.push(e);
        }
    }
    let name = vbk.metadata.name.clone().unwrap_or_default();
    let member = member_name(&name);
    let longest = init_job(&member);
    if longest.len() > MAX_LABEL_VALUE {
        push(
            &mut errors,
            FieldError::new(
                "metadata.name",
                format!(
                    "must be at most {} characters: the member Backups are named {member:?} and \
                     the first data plane's Job {longest:?} (and the clean Job {:?}) must fit \
                     the {MAX_LABEL_VALUE} characters of a label value, or no Job can be created",
                    MAX_LABEL_VALUE - (longest.len() - name.len()),
                    clean_job(&member)
                ),
            ),
        );
    }

    let members: Vec<MemberCluster> = vbk
        .spec
        .clusters
        .iter()
        .map(MemberCluster::from_spec)
        .collect();
    if members.is_empty() {
        push(
            &mut errors,
            FieldError::new(
                "spec.clusters",
                "must list the TidbClusters (one per Kubernetes cluster) that make up the TiDB \
                 cluster",
            ),
        );
    }
    for (i, m) in members.iter().enumerate() {
        let field = |rest: &str| format!("spec.clusters[{i}].{rest}");
        for (value, rest, what) in [
            (
                &m.k8s_cluster_name,
                "k8sClusterName",
                "the Kubernetes cluster (a context of the federation kubeconfig)",
            ),
            (&m.tc_name, "tcName", "the TidbCluster"),
            (
                &m.tc_namespace,
                "tcNamespace",
                "the TidbCluster's namespace, where the member Backup is created",
            ),
        ] {
            if value.is_empty() {
                push(
                    &mut errors,
                    FieldError::new(field(rest), format!("must name {what}")),
                );
            }
        }
        if let Some(first) = members[..i].iter().position(|o| {
            !m.k8s_cluster_name.is_empty() && o.k8s_cluster_name == m.k8s_cluster_name
        }) {
            push(
                &mut errors,
                FieldError::new(
                    field("k8sClusterName"),
                    format!(
                        "{:?} is already spec.clusters[{first}]: each data plane writes under \
                         <prefix>-<k8sClusterName>, so a second member there would find the first \
                         one's files and fail",
                        m.k8s_cluster_name
                    ),
                ),
            );
        }
        if let Some(known) = known
            && !m.k8s_cluster_name.is_empty()
            && !known.contains(&m.k8s_cluster_name)
        {
            let names: Vec<&str> = known.iter().map(String::as_str).collect();
            push(
                &mut errors,
                FieldError::new(
                    field("k8sClusterName"),
                    format!(
                        "{:?} is not a context of the federation kubeconfig (known: {}); it is \
                         looked up again as the kubeconfig is reloaded",
                        m.k8s_cluster_name,
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                ),
            );
        }
    }

    let mut warnings = Vec::new();
    if storage_usable(&vbk.spec.template.storage, &mut errors) {
        for (i, m) in members.iter().enumerate() {
            let phase = if i == 0 {
                FederalVolumeBackupPhase::Initialize
            } else {
                FederalVolumeBackupPhase::Execute
            };
            let backup = member_backup(vbk, m, phase);
            let (found, found_warnings) = match crate::backup::validate(&backup, None) {
                Ok(valid) => (Vec::new(), valid.warnings),
                Err(e) => (e, Vec::new()),
            };
            for e in found {
                if let Some(e) = as_template_error(vbk, i, m, e) {
                    push(&mut errors, e);
                }
            }
            for w in found_warnings {
                if let Some(w) = as_template_error(vbk, i, m, w)
                    && !warnings.contains(&w)
                {
                    warnings.push(w);
                }
            }
        }
    }

    if errors.is_empty() {
        Ok(ValidVolumeBackup {
            name,
            namespace: vbk.metadata.namespace.clone().unwrap_or_default(),
            member_name: member,
            members,
            warnings,
        })
    } else {
        Err(errors)
    }
}

/// S3 is the only place a volume-snapshot backup can keep its metadata: the member's
/// prefix is an S3 one, and sizes and cleaning read `backupmeta` from S3.
fn storage_usable(storage: &StorageProvider, errors: &mut Vec<FieldError>) -> bool {
    if storage.s3.is_some() {
        return true;
    }
    let other = [
        (storage.gcs.is_some(), "gcs"),
        (storage.azblob.is_some(), "azblob"),
        (storage.local.is_some(), "local"),
    ]
    .into_iter()
    .find_map(|(set, field)| set.then_some(field));
    errors.push(match other {
        Some(field) => FieldError::new(
            format!("spec.template.{field}"),
            "volume-snapshot backups keep their snapshot metadata in S3: use s3 (EBS snapshots \
             exist on AWS only)",
        ),
        None => FieldError::new(
            "spec.template.s3",
            "required: each data plane writes its snapshot metadata under \
             <s3.prefix>-<k8sClusterName>, and sizes and cleaning read it back from there",
        ),
    });
    false
}

/// A member's field error, named as the VolumeBackup spells the field, or `None` for the
/// ones checked above in the VolumeBackup's own words.
fn as_template_error(
    vbk: &VolumeBackup,
    index: usize,
    member: &MemberCluster,
    e: FieldError,
) -> Option<FieldError> {
    let s3 = vbk.spec.template.storage.s3.as_ref();
    let template_prefix = s3.and_then(|s| s.prefix.clone()).unwrap_or_default();
    let field = match e.field.as_str() {
        "metadata.name" => return None,
        f if f.starts_with("spec.br.cluster") => return None,
        "spec.s3.prefix" => {
            // The template's prefix alone is fine: the cluster name broke it.
            let bucket = s3.and_then(|s| s.bucket.clone()).unwrap_or_default();
            let template_ok = Location::parse(&bucket, template_prefix.trim())
                .map_or_else(|l| l.part != Part::Prefix, |_| true);
            if template_ok {
                let prefix = member_prefix(template_prefix.trim(), &member.k8s_cluster_name);
                return Some(FieldError::new(
                    format!("spec.clusters[{index}].k8sClusterName"),
                    format!(
                        "makes this member's prefix {prefix:?} unusable: {}",
                        e.message
                    ),
                ));
            }
            "spec.template.s3.prefix".to_string()
        }
        "spec.cleanOption.snapshotsDeleteRatio" => "spec.template.snapshotsDeleteRatio".into(),
        f => match f.strip_prefix("spec.") {
            Some(rest) => format!("spec.template.{rest}"),
            None => f.to_string(),
        },
    };
    Some(FieldError::new(field, e.message))
}
