use serde_json::Value;

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../../tests/fixtures/protobuf/", $name, ".pb")).as_slice(),
            include_str!(concat!("../../../tests/fixtures/protobuf/", $name, ".json")),
        )
    };
}

/// Bodies kubectl 1.33 sent, each beside what `--dry-run=client -o json` printed for the
/// same command.
const DRY_RUN: &[(&str, &[u8], &str)] = &[
    fixture!("namespace"),
    fixture!("secret_literal"),
    fixture!("secret_binary"),
    fixture!("secret_docker"),
    fixture!("configmap"),
    fixture!("serviceaccount"),
    fixture!("role"),
    fixture!("clusterrole"),
    fixture!("clusterrole_aggregate"),
    fixture!("rolebinding"),
    fixture!("clusterrolebinding"),
    fixture!("job"),
];

#[test]
fn kubectl_bodies_decode_to_its_dry_run_output() {
    let mut failed = Vec::new();
    for (name, body, json) in DRY_RUN {
        let want: Value = serde_json::from_str(json).unwrap();
        match decode_request(body) {
            Ok(got) if got == want => {}
            Ok(got) => failed.push(format!(
                "{name}: got\n{}\nwant\n{}",
                serde_json::to_string_pretty(&got).unwrap(),
                serde_json::to_string_pretty(&want).unwrap()
            )),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
