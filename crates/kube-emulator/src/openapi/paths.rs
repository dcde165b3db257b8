//! The REST operations of a resource, described once and rendered as Swagger 2.0 or
//! OpenAPI 3.0 path items.
//!
//! The set of routes, their operation ids, tags, `x-kubernetes-action` values, query
//! parameters (from the Get/List/Create/Update/Patch/DeleteOptions of each verb), request
//! bodies, media types and responses mirror what the apiextensions-apiserver registers for a
//! custom resource. Parameters every operation of a path shares move to the path item, as the
//! server's builder does; kubectl only looks at the PATCH operation's own parameters for
//! `fieldValidation`, which therefore must stay on the operation.

use serde_json::{Map, Value, json};

use super::meta::{DELETE_OPTIONS, PATCH, SCALE, STATUS};
use super::{Dialect, OpenApiResource};

const JSON: &str = "application/json";
const YAML: &str = "application/yaml";
const JSON_PATCH: &str = "application/json-patch+json";
const MERGE_PATCH: &str = "application/merge-patch+json";
const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
const APPLY_PATCH: &str = "application/apply-patch+yaml";

/// What a body or response holds.
#[derive(Debug, Clone, PartialEq)]
enum Payload {
    Definition(String),
    /// A kind the emulator publishes no schema for.
    AnyObject,
}

impl Payload {
    fn schema(&self, dialect: Dialect) -> Value {
        match self {
            Payload::Definition(name) => dialect.ref_schema(name),
            Payload::AnyObject => json!({"type": "object"}),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Param {
    name: &'static str,
    location: &'static str,
    description: String,
    ty: &'static str,
}

impl Param {
    fn query(name: &'static str, ty: &'static str, description: &str) -> Param {
        let description = description.to_owned();
        Param {
            name,
            location: "query",
            description,
            ty,
        }
    }

    fn path(name: &'static str, description: String) -> Param {
        Param {
            name,
            location: "path",
            description,
            ty: "string",
        }
    }

    fn render(&self, dialect: Dialect) -> Value {
        let mut out = Map::new();
        match dialect {
            Dialect::V2 => {
                out.insert("uniqueItems".into(), Value::Bool(true));
                out.insert("type".into(), self.ty.into());
                out.insert("description".into(), self.description.clone().into());
                out.insert("name".into(), self.name.into());
                out.insert("in".into(), self.location.into());
            }
            Dialect::V3 => {
                out.insert("name".into(), self.name.into());
                out.insert("in".into(), self.location.into());
                out.insert("description".into(), self.description.clone().into());
            }
        }
        if self.location == "path" {
            out.insert("required".into(), Value::Bool(true));
        }
        if dialect == Dialect::V3 {
            out.insert(
                "schema".into(),
                json!({"type": self.ty, "uniqueItems": true}),
            );
        }
        Value::Object(out)
    }
}

/// Query parameters of `metav1.ListOptions`.
fn list_options() -> Vec<Param> {
    vec![
        Param::query(
            "allowWatchBookmarks",
            "boolean",
            "Ask for BOOKMARK events while watching; servers may ignore the request.",
        ),
        Param::query(
            "continue",
            "string",
            "Token from a previous paginated list response, asking for the next page.",
        ),
        Param::query(
            "fieldSelector",
            "string",
            "Only return objects whose fields match this selector.",
        ),
        Param::query(
            "labelSelector",
            "string",
            "Only return objects whose labels match this selector.",
        ),
        Param::query(
            "limit",
            "integer",
            "Largest number of items to return in one response; the rest is fetched with `continue`.",
        ),
        Param::query(
            "resourceVersion",
            "string",
            "How recent the result must be; its meaning depends on resourceVersionMatch.",
        ),
        Param::query(
            "resourceVersionMatch",
            "string",
            "How resourceVersion constrains a list: Exact or NotOlderThan.",
        ),
        Param::query(
            "sendInitialEvents",
            "boolean",
            "With watch=true, begin the stream with synthetic events for the current objects.",
        ),
        Param::query(
            "timeoutSeconds",
            "integer",
            "Time limit for the list or watch call, in seconds.",
        ),
        Param::query(
            "watch",
            "boolean",
            "Stream add, update and delete events instead of returning a list.",
        ),
    ]
}

fn dry_run() -> Param {
    Param::query(
        "dryRun",
        "string",
        "Validate and process the request without persisting it; the only value is All.",
    )
}

/// Query parameters of `metav1.CreateOptions` and `metav1.UpdateOptions`.
fn write_options() -> Vec<Param> {
    vec![
        dry_run(),
        Param::query(
            "fieldManager",
            "string",
            "Name of the actor making the change, recorded in managedFields.",
        ),
        Param::query(
            "fieldValidation",
            "string",
            "How the server treats unknown or duplicate fields in the body: Ignore, Warn or Strict.",
        ),
    ]
}

/// Query parameters of `metav1.PatchOptions`.
fn patch_options() -> Vec<Param> {
    let mut params = write_options();
    params.push(Param::query(
        "force",
        "boolean",
        "Take over fields other managers own when applying; only for apply patches.",
    ));
    params
}

/// Query parameters of `metav1.DeleteOptions`.
fn delete_options() -> Vec<Param> {
    vec![
        dry_run(),
        Param::query(
            "gracePeriodSeconds",
            "integer",
            "Seconds to wait before the object is deleted; zero deletes it at once.",
        ),
        Param::query(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "boolean",
            "Delete an object whose stored data cannot be read or decoded. Unsafe.",
        ),
        Param::query(
            "orphanDependents",
            "boolean",
            "Deprecated in favour of propagationPolicy: leave dependents behind.",
        ),
        Param::query(
            "propagationPolicy",
            "string",
            "What happens to dependents: Orphan, Background or Foreground.",
        ),
    ]
}

/// One operation on one path.
#[derive(Debug, Clone)]
struct Route {
    path: String,
    method: &'static str,
    action: &'static str,
    operation_id: String,
    tag: String,
    description: String,
    params: Vec<Param>,
    body: Option<(Payload, bool)>,
    consumes: Vec<&'static str>,
    responses: Vec<(u16, &'static str, Payload)>,
    gvk: Value,
}

/// Upstream's operation-id sanitizer: letters and `_` are kept, other characters are dropped
/// and capitalize what follows them.
fn valid_operation_id(s: &str, capitalize_first: bool) -> String {
    let mut out = String::new();
    let mut capitalize = capitalize_first;
    for (i, c) in s.chars().enumerate() {
        if c.is_alphabetic() || c == '_' || (i != 0 && c.is_ascii_digit()) {
            if capitalize {
                out.extend(c.to_uppercase());
                capitalize = false;
            } else {
                out.push(c);
            }
        } else {
            capitalize = true;
        }
    }
    out
}

fn title(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn article(kind: &str) -> &'static str {
    match kind.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => " an ",
        _ => " a ",
    }
}

/// Builds the routes of one resource: the cluster-wide list for namespaced kinds, the
/// collection, the object and its subresources.
fn routes(resource: &OpenApiResource) -> Vec<Route> {
    let kind = resource.kind.as_str();
    let own = |name: &str| match resource.schema {
        Some(_) => Payload::Definition(resource.definition_name(name)),
        None => Payload::AnyObject,
    };
    let object = own(kind);
    let list = own(&resource.list_kind);
    let status = Payload::Definition(STATUS.into());
    let group_part = resource
        .group
        .strip_suffix(".k8s.io")
        .unwrap_or(&resource.group);
    let group_part = if resource.group.is_empty() {
        "core"
    } else {
        group_part
    };
    let id_infix = format!(
        "{}{}",
        valid_operation_id(group_part, true),
        valid_operation_id(&resource.version, true)
    );
    let tag = format!(
        "{}_{}",
        valid_operation_id(group_part, false),
        valid_operation_id(&resource.version, false)
    );
    let scope = if resource.namespaced {
        "Namespaced"
    } else {
        ""
    };
    let cluster_root = format!("{}/{}", resource.api_prefix(), resource.plural);
    let root = if resource.namespaced {
        format!(
            "{}/namespaces/{{namespace}}/{}",
            resource.api_prefix(),
            resource.plural
        )
    } else {
        cluster_root.clone()
    };
    let patch_types: Vec<&'static str> = match resource.schema {
        Some(_) => vec![JSON_PATCH, MERGE_PATCH, APPLY_PATCH],
        // Built-in kinds accept strategic merge patches on the real server.
        None => vec![JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH],
    };

    let mut out = Vec::new();
    let mut add = |path: &str,
                   method: &'static str,
                   verb: &'static str,
                   action: &'static str,
                   sub: &str,
                   extra: Vec<Param>| {
        let sub_title = title(sub);
        let sub_text = if sub.is_empty() {
            String::new()
        } else {
            format!(" {sub} of")
        };
        let description = match verb {
            "list" => format!("list objects of kind {kind}"),
            "read" | "replace" => format!("{verb}{sub_text} the specified {kind}"),
            "patch" => format!("partially update{sub_text} the specified {kind}"),
            "deletecollection" => format!("delete collection of {kind}"),
            _ => format!("{verb}{sub_text}{}{kind}", article(kind)),
        };
        // The verb prefix is the shortest known verb, so `deletecollection` reads as `delete`
        // followed by `Collection`, as in upstream's operation ids.
        let (prefix, rest_verb) = if verb == "deletecollection" {
            ("delete", "collection")
        } else {
            (verb, "")
        };
        let for_all = if path == cluster_root && resource.namespaced {
            "ForAllNamespaces"
        } else {
            ""
        };
        let rest = format!(
            "{rest_verb}{}{kind}{sub_title}{for_all}",
            if for_all.is_empty() { scope } else { "" }
        );
        let operation_id = format!("{prefix}{id_infix}{}", valid_operation_id(&rest, true));
        let mut params = vec![Param::query(
            "pretty",
            "string",
            "Pretty-print the response when 'true'.",
        )];
        if path.contains("{namespace}") {
            params.push(Param::path(
                "namespace",
                "Namespace of the objects, which scopes names and access.".into(),
            ));
        }
        if path.contains("{name}") {
            params.push(Param::path("name", format!("Name of the {kind}.")));
        }
        params.extend(extra);
        let payload = if sub == "scale" {
            Payload::Definition(SCALE.into())
        } else {
            object.clone()
        };
        let (body, responses, consumes) = match action {
            "list" => (None, vec![(200, "OK", list.clone())], vec![JSON, YAML]),
            "post" => (
                Some((payload.clone(), true)),
                vec![
                    (200, "OK", payload.clone()),
                    (201, "Created", payload.clone()),
                    (202, "Accepted", payload),
                ],
                vec![JSON, YAML],
            ),
            "deletecollection" => (None, vec![(200, "OK", status.clone())], vec![JSON, YAML]),
            "put" => (
                Some((payload.clone(), true)),
                vec![(200, "OK", payload.clone()), (201, "Created", payload)],
                vec![JSON, YAML],
            ),
            "delete" => (
                Some((Payload::Definition(DELETE_OPTIONS.into()), false)),
                vec![
                    (200, "OK", status.clone()),
                    (202, "Accepted", status.clone()),
                ],
                vec![JSON, YAML],
            ),
            "patch" => (
                Some((Payload::Definition(PATCH.into()), true)),
                vec![(200, "OK", payload)],
                patch_types.clone(),
            ),
            _ => (None, vec![(200, "OK", payload)], vec![JSON, YAML]),
        };
        out.push(Route {
            path: path.to_owned(),
            method,
            action,
            operation_id,
            tag: tag.clone(),
            description,
            params,
            body,
            consumes,
            responses,
            gvk: resource.gvk(kind),
        });
    };

    let get_options = || {
        vec![Param::query(
            "resourceVersion",
            "string",
            "How recent the returned object must be.",
        )]
    };
    if resource.namespaced {
        add(&cluster_root, "get", "list", "list", "", list_options());
    }
    add(&root, "get", "list", "list", "", list_options());
    add(&root, "post", "create", "post", "", write_options());
    add(
        &root,
        "delete",
        "deletecollection",
        "deletecollection",
        "",
        list_options(),
    );
    let object_path = format!("{root}/{{name}}");
    add(&object_path, "get", "read", "get", "", get_options());
    add(&object_path, "put", "replace", "put", "", write_options());
    add(
        &object_path,
        "delete",
        "delete",
        "delete",
        "",
        delete_options(),
    );
    add(&object_path, "patch", "patch", "patch", "", patch_options());
    for sub in &resource.subresources {
        let path = format!("{object_path}/{sub}");
        if sub == "status" || sub == "scale" {
            add(&path, "get", "read", "get", sub, get_options());
            add(&path, "put", "replace", "put", sub, write_options());
            add(&path, "patch", "patch", "patch", sub, patch_options());
        } else {
            add(&path, "get", "read", "get", sub, Vec::new());
        }
    }
    out
}

/// Renders the path items of the given resources, sorted by path.
pub(super) fn path_items(resources: &[&OpenApiResource], dialect: Dialect) -> Map<String, Value> {
    let mut by_path: Vec<(String, Vec<Route>)> = Vec::new();
    for route in resources.iter().flat_map(|r| routes(r)) {
        match by_path.iter_mut().find(|(p, _)| *p == route.path) {
            Some((_, routes)) => {
                // A later resource serving the same path and method replaces the earlier one.
                routes.retain(|r| r.method != route.method);
                routes.push(route);
            }
            None => by_path.push((route.path.clone(), vec![route])),
        }
    }
    by_path.sort_by(|a, b| a.0.cmp(&b.0));
    by_path
        .into_iter()
        .map(|(path, routes)| (path, render_path(routes, dialect)))
        .collect()
}

fn sort_params(params: &mut [Param]) {
    params.sort_by(|a, b| a.name.cmp(b.name).then(a.location.cmp(b.location)));
}

fn render_path(mut routes: Vec<Route>, dialect: Dialect) -> Value {
    let mut common: Vec<Param> = routes[0]
        .params
        .iter()
        .filter(|p| routes.iter().all(|r| r.params.contains(p)))
        .cloned()
        .collect();
    sort_params(&mut common);
    let mut item = Map::new();
    // Upstream serializes operations in the order of its PathItem struct.
    for method in ["get", "put", "post", "delete", "patch"] {
        if let Some(route) = routes.iter_mut().find(|r| r.method == method) {
            route.params.retain(|p| !common.contains(p));
            sort_params(&mut route.params);
            item.insert(method.into(), render_operation(route, dialect));
        }
    }
    if !common.is_empty() {
        let common: Vec<Value> = common.iter().map(|p| p.render(dialect)).collect();
        item.insert("parameters".into(), Value::Array(common));
    }
    Value::Object(item)
}

fn render_operation(route: &Route, dialect: Dialect) -> Value {
    let mut op = Map::new();
    match dialect {
        Dialect::V2 => {
            op.insert("description".into(), route.description.clone().into());
            op.insert("consumes".into(), json!(route.consumes));
            op.insert("produces".into(), json!([JSON, YAML]));
            op.insert("schemes".into(), json!(["https"]));
            op.insert("tags".into(), json!([route.tag]));
            op.insert("operationId".into(), route.operation_id.clone().into());
            let mut params: Vec<(&str, &str, Value)> = route
                .params
                .iter()
                .map(|p| (p.name, p.location, p.render(dialect)))
                .collect();
            if let Some((payload, required)) = &route.body {
                let body = json!({"name": "body", "in": "body", "required": required, "schema": payload.schema(dialect)});
                params.push(("body", "body", body));
            }
            params.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(b.1)));
            if !params.is_empty() {
                op.insert(
                    "parameters".into(),
                    params.into_iter().map(|p| p.2).collect(),
                );
            }
            let mut responses = Map::new();
            for (code, description, payload) in &route.responses {
                let response =
                    json!({"description": description, "schema": payload.schema(dialect)});
                responses.insert(code.to_string(), response);
            }
            responses.insert("401".into(), json!({"description": "Unauthorized"}));
            op.insert("responses".into(), Value::Object(responses));
        }
        Dialect::V3 => {
            op.insert("tags".into(), json!([route.tag]));
            op.insert("description".into(), route.description.clone().into());
            op.insert("operationId".into(), route.operation_id.clone().into());
            if !route.params.is_empty() {
                let params = route.params.iter().map(|p| p.render(dialect)).collect();
                op.insert("parameters".into(), Value::Array(params));
            }
            if let Some((payload, required)) = &route.body {
                let content = media_types(&route.consumes, payload, dialect);
                op.insert(
                    "requestBody".into(),
                    json!({"content": content, "required": required}),
                );
            }
            let mut responses = Map::new();
            for (code, description, payload) in &route.responses {
                let content = media_types(&[JSON, YAML], payload, dialect);
                responses.insert(
                    code.to_string(),
                    json!({"description": description, "content": content}),
                );
            }
            responses.insert("401".into(), json!({"description": "Unauthorized"}));
            op.insert("responses".into(), Value::Object(responses));
        }
    }
    op.insert("x-kubernetes-action".into(), route.action.into());
    op.insert("x-kubernetes-group-version-kind".into(), route.gvk.clone());
    Value::Object(op)
}

fn media_types(types: &[&str], payload: &Payload, dialect: Dialect) -> Value {
    let schema = payload.schema(dialect);
    let content: Map<String, Value> = types
        .iter()
        .map(|t| ((*t).to_owned(), json!({"schema": schema})))
        .collect();
    Value::Object(content)
}
