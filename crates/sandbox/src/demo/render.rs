//! Prints what a user would see: server-side Tables in kubectl's layout, API errors the
//! way kubectl reports them.

use serde_json::Value;

/// Renders a `meta.k8s.io/v1` Table like `kubectl get` (`wide` adds priority columns).
pub fn table_text(table: &Value, wide: bool) -> String {
    let columns: Vec<(usize, String)> = table["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, c)| wide || c["priority"].as_i64().unwrap_or(0) == 0)
        .map(|(i, c)| (i, c["name"].as_str().unwrap_or_default().to_uppercase()))
        .collect();
    let mut lines: Vec<Vec<String>> = vec![columns.iter().map(|(_, n)| n.clone()).collect()];
    for row in table["rows"].as_array().into_iter().flatten() {
        lines.push(
            columns
                .iter()
                .map(|(i, _)| match &row["cells"][*i] {
                    Value::Null => "<none>".to_string(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..columns.len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        let mut text = String::new();
        for (c, cell) in line.iter().enumerate() {
            if c + 1 == line.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}   ", w = widths[c]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// `Error from server (Reason): message`, as kubectl prints a failed request.
pub fn error_text(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => {
            format!("Error from server ({}): {}", status.reason, status.message)
        }
        other => format!("error: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tables_align_like_kubectl() {
        let table = json!({
            "columnDefinitions": [
                {"name": "Name", "priority": 0}, {"name": "Phase", "priority": 1}, {"name": "Age", "priority": 0}
            ],
            "rows": [{"cells": ["a-long-name", "Ready", "5s"]}, {"cells": ["b", null, "10m"]}]
        });
        assert_eq!(
            table_text(&table, false),
            "NAME          AGE\na-long-name   5s\nb             10m\n"
        );
        assert_eq!(
            table_text(&table, true),
            "NAME          PHASE    AGE\na-long-name   Ready    5s\nb             <none>   10m\n"
        );
    }
}
