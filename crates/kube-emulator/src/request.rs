//! Parses request paths and query strings into routes, as the API server's request-info
//! resolver does (`/api/v1/...` for the core group, `/apis/<group>/<version>/...`).

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourcePath {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) plural: String,
    pub(crate) namespace: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) subresource: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Route {
    Version,
    Health,
    CoreVersions,
    Groups,
    Group(String),
    GroupVersion { group: String, version: String },
    OpenApiV2,
    OpenApiV3Index,
    OpenApiV3 { group: String, version: String },
    Resource(ResourcePath),
    NotFound,
}

/// Subresources of a namespace, which `namespaces/<ns>/<x>` could otherwise be mistaken
/// for a namespaced resource called `<x>`.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

pub(crate) fn route(path: &str) -> Route {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match parts.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3Index,
        ["openapi", "v3", "api", version] => Route::OpenApiV3 {
            group: String::new(),
            version: version.to_string(),
        },
        ["openapi", "v3", "apis", group, version] => Route::OpenApiV3 {
            group: group.to_string(),
            version: version.to_string(),
        },
        ["api", version] => Route::GroupVersion {
            group: String::new(),
            version: version.to_string(),
        },
        ["apis", group] => Route::Group(group.to_string()),
        ["apis", group, version] => Route::GroupVersion {
            group: group.to_string(),
            version: version.to_string(),
        },
        ["api", version, rest @ ..] => resource_route("", version, rest),
        ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let mut rest = rest;
    let mut namespace = None;
    if rest.first() == Some(&"namespaces")
        && rest.len() > 2
        && !NAMESPACE_SUBRESOURCES.contains(&rest[2])
    {
        namespace = Some(rest[1].to_string());
        rest = &rest[2..];
    }
    let (plural, name, subresource) = match rest {
        [plural] => (plural, None, None),
        [plural, name] => (plural, Some(name.to_string()), None),
        [plural, name, sub] => (plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return Route::NotFound,
    };
    Route::Resource(ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        plural: plural.to_string(),
        namespace,
        name,
        subresource,
    })
}

/// Decoded query parameters; a repeated key keeps its last value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query(HashMap<String, String>);

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(percent_decode(k), percent_decode(v));
        }
        Query(map)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        matches!(self.0.get(key).map(String::as_str), Some("true" | "1"))
    }

    pub(crate) fn number(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.parse().ok())
    }
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match route(path) {
            Route::Resource(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn resource_paths() {
        let r = res("/apis/pingcap.com/v1alpha1/namespaces/test1/backups/b1/status");
        assert_eq!(r.group, "pingcap.com");
        assert_eq!(r.namespace.as_deref(), Some("test1"));
        assert_eq!(r.name.as_deref(), Some("b1"));
        assert_eq!(r.subresource.as_deref(), Some("status"));
        let r = res("/api/v1/namespaces/test1");
        assert_eq!(
            (r.plural.as_str(), r.name.as_deref(), r.namespace),
            ("namespaces", Some("test1"), None)
        );
        let r = res("/api/v1/namespaces/test1/finalize");
        assert_eq!(
            (r.name.as_deref(), r.subresource.as_deref()),
            (Some("test1"), Some("finalize"))
        );
        let r = res("/api/v1/namespaces/test1/pods");
        assert_eq!(
            (r.plural.as_str(), r.namespace.as_deref(), r.name),
            ("pods", Some("test1"), None)
        );
        let r = res("/apis/batch/v1/jobs");
        assert_eq!((r.plural.as_str(), r.namespace), ("jobs", None));
        assert_eq!(route("/apis/batch"), Route::Group("batch".into()));
        assert_eq!(
            route("/api/v1"),
            Route::GroupVersion {
                group: "".into(),
                version: "v1".into()
            }
        );
        assert_eq!(
            route("/openapi/v3/apis/pingcap.com/v1alpha1"),
            Route::OpenApiV3 {
                group: "pingcap.com".into(),
                version: "v1alpha1".into()
            }
        );
        assert_eq!(route("/nope"), Route::NotFound);
    }

    #[test]
    fn query_decoding() {
        let q = Query::parse(Some(
            "labelSelector=app%3Dtidb%2Ctier+in+%28a%2Cb%29&watch=true&limit=5&x=",
        ));
        assert_eq!(q.get("labelSelector"), Some("app=tidb,tier in (a,b)"));
        assert!(q.flag("watch"));
        assert_eq!(q.number("limit"), Some(5));
        assert_eq!(q.get("x"), None);
        assert_eq!(percent_decode("100%"), "100%");
    }
}
