//! What the emulator's conformance tests share beyond `kube_emulator::testing`: a custom
//! resource to exercise CRDs with.
#![allow(dead_code)]

use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, PostParams},
};
use kube_emulator::{ClusterOptions, testing::TestCluster};
use serde_json::{Value, json};

/// A cluster of the test's own with an admin client ([`TestCluster`]).
pub type Env = TestCluster;

pub async fn start() -> Env {
    TestCluster::start().await
}

pub async fn start_with(configure: impl FnOnce(&mut ClusterOptions)) -> Env {
    TestCluster::start_with(configure).await
}

/// A CRD `widgets.example.com` (kind Widget, short name `wd`) with a status subresource,
/// printer columns, an enum, a default and a required field.
pub fn widget_crd(scope: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": scope,
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["size"],
                            "properties": {
                                "size": {"type": "string", "enum": ["small", "large"], "description": "How big the widget is."},
                                "count": {"type": "integer", "default": 3, "minimum": 1},
                                "note": {"type": "string"}
                            }
                        },
                        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}
                    }
                }}
            }]
        }
    })
}

pub fn widget_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    )
}

pub async fn install_widgets(client: &Client) {
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    );
    let crd: DynamicObject = serde_json::from_value(widget_crd("Namespaced")).unwrap();
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("CRD created");
}

pub fn widgets(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &widget_resource())
}

pub fn widget(name: &str, size: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": size}
    }))
    .unwrap()
}

// Not every test binary that includes this module uses every helper.
#[allow(unused_imports)]
pub use kube_emulator::testing::{Kubectl, Output, api_error, wait_until as eventually};
