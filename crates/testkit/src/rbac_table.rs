//! The table of API calls in `deploy/README.md` ("What each identity may do, and why"): one
//! row per identity, API group and resource, with its verbs. Read by `cargo xtask`'s tests
//! (the table against the RBAC manifests) and by the sandbox's end-to-end tests (what the
//! agent and the operator really did against the table), so the three cannot drift apart.

use std::collections::BTreeSet;

use kube_emulator::{Identity, RunningCluster};

/// One documented call: who (`agent` or `operator`), API group (`""` for core), resource
/// (`backups/status` for a subresource) and verb.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    pub who: String,
    pub group: String,
    pub resource: String,
    pub verb: String,
}

/// Every call the table in `readme` lists, a row per verb.
pub fn calls(readme: &str) -> Vec<Call> {
    calls_by(readme, &["agent", "operator"])
}

/// Every call a table of API calls lists for the identities `who` (the first column), a
/// row per verb: `deploy/federation/README.md` has its own, for `manager` and `member`.
pub fn calls_by(readme: &str, who: &[&str]) -> Vec<Call> {
    let mut calls = Vec::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() != 5 || !who.contains(&cells[0]) {
            continue;
        }
        let group = if cells[1] == "core" { "" } else { cells[1] };
        for verb in cells[3].split(',').map(str::trim) {
            calls.push(Call {
                who: cells[0].to_owned(),
                group: group.to_owned(),
                resource: cells[2].trim_matches('`').to_owned(),
                verb: verb.to_owned(),
            });
        }
    }
    calls
}

/// Every request the agent's pods (ServiceAccount `<namespace>/tidb-backup-manager`) and the
/// operator (`tibr-system/tibr-operator`) made to `cluster` is a row of the table of API
/// calls in `deploy/README.md`, which `cargo xtask`'s tests hold against the Role of
/// `deploy/backup-rbac.yaml` and the ClusterRole of `deploy/operator/rbac.yaml`: so every
/// call that ran is allowed. The agent's calls stay in its namespace (a Role grants no more).
/// Returns how many requests each made, so a test can tell the check saw them.
pub fn assert_covers_what_ran(cluster: &RunningCluster, namespace: &str) -> (usize, usize) {
    let readme = crate::workspace().join("deploy/README.md");
    let documented: BTreeSet<Call> = calls(&std::fs::read_to_string(readme).unwrap())
        .into_iter()
        .collect();
    let (mut agent, mut operator) = (0, 0);
    for a in cluster.cluster.accesses.all() {
        let Identity::ServiceAccount {
            namespace: sa_namespace,
            name,
        } = &a.user
        else {
            continue;
        };
        let who = match (sa_namespace.as_str(), name.as_str()) {
            (ns, crate::BACKUP_SERVICE_ACCOUNT) if ns == namespace => {
                agent += 1;
                assert_eq!(a.namespace.as_deref(), Some(namespace), "{a:?}");
                "agent"
            }
            ("tibr-system", "tibr-operator") => {
                operator += 1;
                "operator"
            }
            _ => continue,
        };
        let call = Call {
            who: who.to_string(),
            group: a.group.clone(),
            resource: a.resource.clone(),
            verb: a.verb.clone(),
        };
        assert!(
            documented.contains(&call),
            "the table of API calls in deploy/README.md (and so the RBAC manifests) lacks {call:?}"
        );
    }
    (agent, operator)
}
