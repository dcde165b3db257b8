use super::*;
use crate::apiserver::openapi::{v2_document, v3_group_version, v3_index};

#[test]
fn dump() {
    let r = all_resources();
    std::fs::write("/tmp/v2.json", serde_json::to_string_pretty(&v2_document(&r)).unwrap()).unwrap();
    std::fs::write("/tmp/v3.json", serde_json::to_string_pretty(&v3_group_version(&r, "pingcap.com", "v1alpha1")).unwrap()).unwrap();
    std::fs::write("/tmp/v3core.json", serde_json::to_string_pretty(&v3_group_version(&r, "", "v1")).unwrap()).unwrap();
    std::fs::write("/tmp/v3index.json", serde_json::to_string_pretty(&v3_index(&r)).unwrap()).unwrap();
    std::fs::write("/tmp/v2.pb", crate::apiserver::openapi::v2_protobuf(&v2_document(&r))).unwrap();
}
