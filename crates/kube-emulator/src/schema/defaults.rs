//! Structural-schema defaulting, as the API server applies `default:` to custom resources.

use serde_json::Value;

use super::node::Node;

/// Applies the `default` values of `schema` to `obj`: missing properties get their
/// default, a `null` for a non-nullable field with a default is replaced, and the
/// walk continues into the (possibly just defaulted) children, array items and map
/// values. Call it after [`super::prune`], which drops the `null`s that have no default.
pub(crate) fn apply_defaults(obj: &mut Value, schema: &Value) {
    default_value(obj, Node(schema));
}

fn is_non_nullable_null(x: &Value, s: Node) -> bool {
    x.is_null() && !s.nullable()
}

fn default_value(x: &mut Value, s: Node) {
    match x {
        Value::Object(map) => {
            if let Some(props) = s.properties() {
                for (k, prop) in props {
                    let prop = Node(prop);
                    let Some(default) = prop.default() else {
                        continue;
                    };
                    let missing = map.get(k).is_none_or(|v| is_non_nullable_null(v, prop));
                    if missing {
                        map.insert(k.clone(), default.clone());
                    }
                }
            }
            for (k, v) in map.iter_mut() {
                if let Some(prop) = s.prop(k) {
                    default_value(v, prop);
                } else if let Some(a) = s.additional_schema() {
                    if is_non_nullable_null(v, a) {
                        *v = a.default().cloned().unwrap_or(Value::Null);
                    }
                    default_value(v, a);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = s.items() else { return };
            for v in items.iter_mut() {
                if is_non_nullable_null(v, item_schema) {
                    *v = item_schema.default().cloned().unwrap_or(Value::Null);
                }
                default_value(v, item_schema);
            }
        }
        _ => {}
    }
}
