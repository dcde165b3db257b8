//! The generated CRDs and their schemas, for the tests that read them.

use std::sync::LazyLock;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

// Generating the schemas is slow in debug builds: once per test binary is enough.
pub static CRDS: LazyLock<Vec<CustomResourceDefinition>> = LazyLock::new(tibr_api::crds);

pub fn crd(plural: &str) -> CustomResourceDefinition {
    CRDS.iter()
        .find(|c| c.spec.names.plural == plural)
        .cloned()
        .unwrap_or_else(|| panic!("no CRD for {plural}"))
}

/// The OpenAPI schema of the CRD's first version, as JSON.
pub fn schema(plural: &str) -> Value {
    let crd = crd(plural);
    serde_json::to_value(
        &crd.spec.versions[0]
            .schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema,
    )
    .unwrap()
}

/// The schema node at a dotted path; `[]` steps into array items.
pub fn node<'a>(schema: &'a Value, path: &str) -> &'a Value {
    let mut n = schema;
    for step in path.split('.').filter(|s| !s.is_empty()) {
        n = if step == "[]" {
            &n["items"]
        } else {
            &n["properties"][step]
        };
        assert!(!n.is_null(), "no schema at {path} (stuck at {step})");
    }
    n
}
