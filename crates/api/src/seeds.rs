//! The YAML of the two seed documents (`crates/api/tests/seeds/*.md`), extracted from their
//! code fences and filled in so that it can be parsed and applied.
//!
//! Shared by the api tests (the YAML against our types) and the sandbox's `seeds` test (the
//! YAML against the CRDs with kubectl), so both check exactly the same manifests. Only for
//! tests: behind the `test-support` feature.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One YAML code block of a seed document.
#[derive(Clone, Debug)]
pub struct Block {
    /// The document's file name.
    pub file: String,
    /// 1-based line of the opening fence, for messages.
    pub line: usize,
    /// The YAML with its placeholders filled in and `- ...` ellipsis items removed.
    pub text: String,
}

impl Block {
    /// The YAML as JSON.
    pub fn value(&self) -> Value {
        yaml_serde::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{self}: not YAML after filling in: {e}\n{}", self.text))
    }

    /// `kind` of a manifest; None for fragments.
    pub fn kind(&self) -> Option<String> {
        self.value()
            .get("kind")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// `crates/api/tests/seeds`, given any crate directory of the workspace.
pub fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("seeds")
}

/// Every YAML block (fences tagged `yaml`, and untagged ones, which in these documents hold
/// YAML fragments) of every seed document, in file then document order.
pub fn blocks(dir: &Path) -> Vec<Block> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md") && !p.ends_with("SOURCES.md"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        2,
        "two seed documents expected in {}",
        dir.display()
    );
    let mut out = Vec::new();
    for path in files {
        let markdown = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for (line, raw) in fenced_yaml(&markdown) {
            out.push(Block {
                file: file.clone(),
                line,
                text: fill(&raw),
            });
        }
    }
    out
}

/// The blocks that are whole manifests (they have a `kind`).
pub fn manifests(dir: &Path) -> Vec<Block> {
    blocks(dir)
        .into_iter()
        .filter(|b| b.kind().is_some())
        .collect()
}

/// `(line of the fence, content)` of each fenced block tagged `yaml` or untagged, with the
/// fence's indentation removed from its lines.
pub fn fenced_yaml(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, bool, Vec<String>)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let info = info.trim();
                    open = Some((i + 1, indent, info.is_empty() || info == "yaml", Vec::new()));
                }
            }
            Some((start, fence_indent, wanted, mut lines)) => {
                if trimmed.trim_end() == "```" {
                    if wanted {
                        out.push((start, lines.join("\n") + "\n"));
                    }
                } else {
                    let cut = fence_indent.min(line.len() - line.trim_start().len());
                    lines.push(line[cut..].to_owned());
                    open = Some((start, fence_indent, wanted, lines));
                }
            }
        }
    }
    assert!(open.is_none(), "unterminated code fence");
    out
}

/// Fills the documents' placeholders (`${name}` and `{name}`) with plausible values and
/// drops the `- ... # other clusters` lines, which stand for "more of the same". An unknown
/// placeholder is a test failure: the documents changed and the values need a look.
pub fn fill(yaml: &str) -> String {
    let mut out = String::new();
    for line in yaml.lines() {
        if line.trim_start().starts_with("- ...") {
            continue;
        }
        out.push_str(&fill_line(line));
        out.push('\n');
    }
    out
}

fn fill_line(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('{') {
        let (before, from) = rest.split_at(start);
        let dollar = before.ends_with('$');
        let Some(end) = from.find('}') else { break };
        let name = &from[1..end];
        let is_placeholder = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !is_placeholder {
            out.push_str(&rest[..start + end + 1]);
            rest = &from[end + 1..];
            continue;
        }
        out.push_str(if dollar {
            &before[..before.len() - 1]
        } else {
            before
        });
        out.push_str(
            value_of(name)
                .unwrap_or_else(|| panic!("no value for placeholder {{{name}}} in: {line}")),
        );
        rest = &from[end + 1..];
    }
    out.push_str(rest);
    out
}

fn value_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "tidb_host" => "demo1-tidb",
        "tidb_port" => "4000",
        "tidb_user" => "root",
        "status_addr" => "0.0.0.0:8287",
        "time" => "1h",
        "backup-name" => "vbk-demo",
        "scheduler-name" => "vbks-demo",
        "namespace-name" => "test1",
        "k8s-name1" => "dp-1",
        "k8s-name2" => "dp-2",
        "tc-name1" | "tc-name2" => "basic",
        "tc-namespace1" | "tc-namespace2" => "tidb-cluster",
        "region-name" => "us-west-2",
        "bucket-name" => "my-bucket",
        "backup-path" => "vbk-demo",
        "br-image" => "pingcap/br:v8.5.0",
        "number" => "5",
        "bool" => "false",
        "duration" => "72h",
        "cron-expression" => "\"0 */6 * * *\"",
        _ => return None,
    })
}

/// `value` without the `null`s, which in Kubernetes objects mean "not set".
pub fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}
