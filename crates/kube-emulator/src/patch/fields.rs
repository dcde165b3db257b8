//! Field sets: the trees of field paths that `metadata.managedFields` records per manager,
//! with the `FieldsV1` encoding the API server stores and the path notation it prints in
//! apply conflicts.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One step of a field path. The variant order is the order the API server sorts siblings
/// in: named fields, then list items by key, by value, by index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum PathElement {
    /// `f:name`: an object member.
    Field(String),
    /// `k:{"name":"x"}`: an item of a list keyed by fields; holds the compact JSON object of
    /// the key fields in name order.
    Key(String),
    /// `v:"x"`: an item of a set, by its compact JSON value.
    Value(String),
    /// `i:3`: an item of a list identified by position.
    Index(usize),
}

impl PathElement {
    pub(crate) fn key(fields: &[(String, Value)]) -> Self {
        let mut sorted: Vec<&(String, Value)> = fields.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let object: Map<String, Value> = sorted
            .into_iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        PathElement::Key(Value::Object(object).to_string())
    }

    pub(crate) fn value(value: &Value) -> Self {
        PathElement::Value(value.to_string())
    }

    /// The `FieldsV1` spelling.
    fn encode(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(json) => format!("k:{json}"),
            PathElement::Value(json) => format!("v:{json}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    fn decode(text: &str) -> Result<Self, String> {
        let (kind, rest) = text
            .split_once(':')
            .ok_or_else(|| format!("unrecognized path element: {text:?}"))?;
        let json = |rest: &str| -> Result<Value, String> {
            serde_json::from_str(rest).map_err(|e| format!("invalid path element {text:?}: {e}"))
        };
        match kind {
            "f" => Ok(PathElement::Field(rest.to_string())),
            "k" => match json(rest)? {
                Value::Object(map) => {
                    let fields: Vec<(String, Value)> = map.into_iter().collect();
                    Ok(PathElement::key(&fields))
                }
                _ => Err(format!(
                    "invalid path element {text:?}: key is not an object"
                )),
            },
            "v" => Ok(PathElement::value(&json(rest)?)),
            "i" => rest
                .parse()
                .map(PathElement::Index)
                .map_err(|_| format!("invalid path element {text:?}: bad index")),
            _ => Err(format!("unrecognized path element: {text:?}")),
        }
    }

    /// The conflict-message spelling: `.name`, `[name="x",port=80]`, `[="x"]`, `[3]`.
    fn render(&self) -> String {
        match self {
            PathElement::Field(name) => format!(".{name}"),
            PathElement::Key(json) => {
                let parts: Vec<String> = match serde_json::from_str::<Value>(json) {
                    Ok(Value::Object(map)) => map
                        .iter()
                        .map(|(name, value)| format!("{name}={value}"))
                        .collect(),
                    _ => vec![json.clone()],
                };
                format!("[{}]", parts.join(","))
            }
            PathElement::Value(json) => format!("[={json}]"),
            PathElement::Index(i) => format!("[{i}]"),
        }
    }
}

pub(crate) type Path = Vec<PathElement>;

pub(crate) fn render_path(path: &[PathElement]) -> String {
    path.iter().map(PathElement::render).collect()
}

/// A set of field paths as a tree. `member` marks the path ending at a node as part of the
/// set; nodes exist only while they or a descendant are members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSet {
    pub(crate) member: bool,
    pub(crate) children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub(crate) fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    /// Adds `path`; the empty path (the object itself) is never a member.
    pub(crate) fn insert(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let child = self.children.entry(first.clone()).or_default();
        if rest.is_empty() {
            child.member = true;
        } else {
            child.insert(rest);
        }
    }

    pub(crate) fn child(&self, element: &PathElement) -> Option<&FieldSet> {
        self.children.get(element)
    }

    pub(crate) fn union_with(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (element, theirs) in &other.children {
            self.children
                .entry(element.clone())
                .or_default()
                .union_with(theirs);
        }
    }

    /// Removes every member of `other`, keeping the rest of the subtrees.
    pub(crate) fn subtract(&mut self, other: &FieldSet) {
        if other.member {
            self.member = false;
        }
        for (element, theirs) in &other.children {
            if let Some(mine) = self.children.get_mut(element) {
                mine.subtract(theirs);
                if mine.is_empty() {
                    self.children.remove(element);
                }
            }
        }
    }

    pub(crate) fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (element, mine) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                let both = mine.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(element.clone(), both);
                }
            }
        }
        out
    }

    /// Member paths in sorted order.
    pub(crate) fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        let mut prefix = Vec::new();
        self.collect(&mut prefix, &mut out);
        out
    }

    fn collect(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        for (element, child) in &self.children {
            prefix.push(element.clone());
            if child.member {
                out.push(prefix.clone());
            }
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// The `fieldsV1` object: `{}` for a member without children, `".": {}` next to the
    /// children of a member that has some.
    pub(crate) fn to_fields_v1(&self) -> Value {
        let mut out = Map::new();
        for (element, child) in &self.children {
            let mut inner = match child.to_fields_v1() {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            if child.member && !inner.is_empty() {
                let mut with_self = Map::new();
                with_self.insert(".".into(), Value::Object(Map::new()));
                with_self.append(&mut inner);
                inner = with_self;
            }
            out.insert(element.encode(), Value::Object(inner));
        }
        Value::Object(out)
    }

    pub(crate) fn from_fields_v1(fields: &Value) -> Result<FieldSet, String> {
        let Value::Object(map) = fields else {
            return Err("fieldsV1 is not an object".into());
        };
        let mut set = FieldSet::default();
        for (text, inner) in map {
            if text == "." {
                set.member = true;
                continue;
            }
            let element = PathElement::decode(text)?;
            let mut child = FieldSet::from_fields_v1(inner)?;
            if inner.as_object().is_some_and(Map::is_empty) {
                child.member = true;
            }
            if !child.is_empty() {
                set.children.insert(element, child);
            }
        }
        Ok(set)
    }
}

/// The paths the API server never records as owned: identity and bookkeeping of the
/// object. Only these exact paths count, so `metadata.labels` is not among them.
pub(crate) fn bookkeeping_paths() -> FieldSet {
    let mut set = FieldSet::default();
    for top in ["apiVersion", "kind", "metadata"] {
        set.insert(&[PathElement::Field(top.into())]);
    }
    for meta in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        set.insert(&[
            PathElement::Field("metadata".into()),
            PathElement::Field(meta.into()),
        ]);
    }
    set
}

pub(crate) fn strip_meta(set: &mut FieldSet) {
    set.subtract(&bookkeeping_paths());
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn f(name: &str) -> PathElement {
        PathElement::Field(name.into())
    }

    #[test]
    fn fields_v1_round_trips_in_the_api_server_layout() {
        let text = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {
                    "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}},
                },
                "f:finalizers": {"v:\"a\"": {}},
                "f:replicas": {},
            },
        });
        let set = FieldSet::from_fields_v1(&text).unwrap();
        assert_eq!(set.to_fields_v1(), text);
        assert_eq!(
            serde_json::to_string(&set.to_fields_v1()).unwrap(),
            serde_json::to_string(&text).unwrap()
        );
        let rendered: Vec<String> = set.paths().iter().map(|p| render_path(p)).collect();
        assert_eq!(
            rendered,
            [
                ".metadata.labels",
                ".metadata.labels.app",
                ".spec.containers[name=\"nginx\"]",
                ".spec.containers[name=\"nginx\"].image",
                ".spec.containers[name=\"nginx\"].name",
                ".spec.finalizers[=\"a\"]",
                ".spec.replicas",
            ]
        );
    }

    #[test]
    fn siblings_sort_fields_then_keys_then_values_then_indices() {
        let mut set = FieldSet::default();
        set.insert(&[f("l"), PathElement::Index(2)]);
        set.insert(&[f("l"), PathElement::value(&json!("x"))]);
        set.insert(&[
            f("l"),
            PathElement::key(&[("port".into(), json!(80)), ("a".into(), json!("TCP"))]),
        ]);
        set.insert(&[f("l"), f("z")]);
        let keys: Vec<String> = set.to_fields_v1()["f:l"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            ["f:z", "k:{\"a\":\"TCP\",\"port\":80}", "v:\"x\"", "i:2"]
        );
        assert_eq!(
            render_path(&[
                f("ports"),
                PathElement::key(&[
                    ("containerPort".into(), json!(80)),
                    ("protocol".into(), json!("TCP"))
                ])
            ]),
            ".ports[containerPort=80,protocol=\"TCP\"]"
        );
    }

    #[test]
    fn set_algebra() {
        let mut a = FieldSet::default();
        a.insert(&[f("a"), f("x")]);
        a.insert(&[f("a"), f("y")]);
        a.insert(&[f("b")]);
        let mut b = FieldSet::default();
        b.insert(&[f("a"), f("x")]);
        b.insert(&[f("c")]);
        let both = a.intersection(&b);
        assert_eq!(both.paths(), vec![vec![f("a"), f("x")]]);
        let mut rest = a.clone();
        rest.subtract(&b);
        assert_eq!(rest.paths(), vec![vec![f("a"), f("y")], vec![f("b")]]);
        rest.subtract(&a);
        assert!(rest.is_empty());
        let mut all = a.clone();
        all.union_with(&b);
        assert_eq!(all.paths().len(), 4);
    }

    #[test]
    fn strip_meta_drops_only_bookkeeping() {
        let mut set = FieldSet::from_fields_v1(&json!({
            "f:apiVersion": {}, "f:kind": {},
            "f:metadata": {".": {}, "f:name": {}, "f:uid": {}, "f:labels": {"f:a": {}}},
        }))
        .unwrap();
        strip_meta(&mut set);
        assert_eq!(
            set.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {"f:a": {}}}})
        );
    }

    #[test]
    fn malformed_fields_are_errors() {
        for bad in [
            json!([]),
            json!({"x": {}}),
            json!({"k:[1]": {}}),
            json!({"i:x": {}}),
        ] {
            assert!(FieldSet::from_fields_v1(&bad).is_err(), "{bad}");
        }
    }
}
