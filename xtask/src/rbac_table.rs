//! The table of API calls in `deploy/README.md` ("What each identity may do, and why"): one
//! row per identity, API group and resource, with its verbs. Read by `cargo xtask`'s tests
//! (the table against the RBAC manifests) and by the sandbox's end-to-end tests (what the
//! agent and the operator really did against the table), so the three cannot drift apart.

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
    let mut calls = Vec::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() != 5 || !matches!(cells[0], "agent" | "operator") {
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
