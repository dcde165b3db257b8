//! `cargo xtask deps [--check]`: the dependency graph among the workspace's packages, as
//! `cargo metadata` resolves it, counting normal, build and dev dependencies alike. A cycle
//! that only dev-dependencies close still makes cargo build a crate twice (once as the
//! library its tests depend on through the other crate, once under test) and ties the two
//! crates' changes together, so `--check` fails on any cycle.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Package name to (dependency name to kinds: `normal`, `build`, `dev`).
pub type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// The graph of the workspace this xtask belongs to.
pub fn workspace_graph() -> Result<Graph> {
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let metadata: Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    graph(&metadata)
}

/// The graph among workspace members of a `cargo metadata --no-deps` document (every
/// package in it is a member; a dependency on another member is one on its name). A
/// package's dependency on itself (to turn on its own test features) is not an edge.
pub fn graph(metadata: &Value) -> Result<Graph> {
    let packages = metadata["packages"].as_array().context("packages")?;
    let members: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut graph = Graph::new();
    for package in packages {
        let name = package["name"].as_str().context("a package's name")?;
        let edges = graph.entry(name.to_string()).or_default();
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let Some(dep_name) = dep["name"].as_str() else {
                continue;
            };
            if dep_name == name || !members.contains(dep_name) {
                continue;
            }
            let kind = dep["kind"].as_str().unwrap_or("normal");
            edges
                .entry(dep_name.to_string())
                .or_default()
                .insert(kind.to_string());
        }
    }
    Ok(graph)
}

/// One line per package: its workspace dependencies, `(dev)`/`(build)` marked.
pub fn render(graph: &Graph) -> String {
    let mut out = String::new();
    for (name, deps) in graph {
        let list: Vec<String> = deps
            .iter()
            .map(|(d, kinds)| {
                let marks: Vec<&str> = kinds
                    .iter()
                    .map(String::as_str)
                    .filter(|k| *k != "normal")
                    .collect();
                if kinds.contains("normal") || marks.is_empty() {
                    d.clone()
                } else {
                    format!("{d} ({})", marks.join(", "))
                }
            })
            .collect();
        out.push_str(&format!("{name} -> {}\n", list.join(", ")));
    }
    out
}

/// Every cycle's packages in order (each cycle found once, from its first package).
pub fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|p| p == node) {
            found.push(path[at..].to_vec());
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_string());
        for dep in graph.get(node).into_iter().flat_map(|d| d.keys()) {
            visit(graph, dep, path, done, found);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(graph, node, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

/// Prints the graph; with `check`, fails when it has a cycle.
pub fn run(check: bool) -> Result<()> {
    let graph = workspace_graph()?;
    print!("{}", render(&graph));
    let cycles = cycles(&graph);
    if check && !cycles.is_empty() {
        let shown: Vec<String> = cycles
            .iter()
            .map(|c| format!("{} -> {}", c.join(" -> "), c[0]))
            .collect();
        bail!(
            "dependency cycles among workspace packages (normal, build and dev):\n{}",
            shown.join("\n")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata(edges: &[(&str, &str, Option<&str>)]) -> Value {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for (a, b, _) in edges {
            names.insert(a);
            names.insert(b);
        }
        let packages: Vec<Value> = names
            .iter()
            .map(|n| {
                let deps: Vec<Value> = edges
                    .iter()
                    .filter(|(a, _, _)| a == n)
                    .map(|(_, b, kind)| json!({"name": b, "kind": kind}))
                    .collect();
                json!({"name": n, "dependencies": deps})
            })
            .collect();
        json!({ "packages": packages })
    }

    #[test]
    fn a_cycle_closed_by_a_dev_dependency_is_found() {
        let g = graph(&metadata(&[
            ("operator", "core", None),
            ("sandbox", "operator", None),
            ("operator", "sandbox", Some("dev")),
        ]))
        .unwrap();
        assert_eq!(cycles(&g), vec![vec!["operator", "sandbox"]]);
        assert!(render(&g).contains("operator -> core, sandbox (dev)"));
    }

    #[test]
    fn a_self_dependency_and_a_diamond_are_not_cycles() {
        let g = graph(&metadata(&[
            ("storage", "storage", Some("dev")),
            ("agent", "storage", None),
            ("agent", "core", None),
            ("storage", "core", None),
        ]))
        .unwrap();
        assert!(cycles(&g).is_empty(), "{g:?}");
    }

    #[test]
    fn this_workspace_has_no_cycle() {
        let g = workspace_graph().unwrap();
        assert!(g.contains_key("tibr-testkit"), "{g:?}");
        assert_eq!(cycles(&g), Vec::<Vec<String>>::new(), "{}", render(&g));
    }
}
