//! Structural-schema processing for custom resources: pruning, defaulting, validation
//! against an `apiextensions.k8s.io/v1` `openAPIV3Schema`, the CRD-level schema checks,
//! and object-metadata validation ([`meta`]).
//!
//! Everything here is a pure function over `serde_json::Value`, so the request handlers
//! can run the same pipeline the real API server runs on a custom resource write:
//! [`prune`] (which also drops non-nullable nulls without defaults), [`apply_defaults`],
//! then [`validate`] and [`meta::validate_object_meta`].
//!
//! Deviations from the real server, all deliberate:
//! - Map iteration follows the JSON document order (the server iterates Go maps, so its
//!   error order for sibling fields is not stable anyway); pruned paths are sorted as
//!   the server sorts them.
//! - Error values that Go prints with `%#v` (maps, slices) are printed as Go would for
//!   `map[string]interface {}` / `[]interface {}`; floats follow Go's `%v`.
//! - CEL `x-kubernetes-validations` are accepted and ignored.
//! - `anyOf`/`oneOf` report the failures of the alternative with the fewest errors, where
//!   the server picks the alternative with the most passed checks.

// The CRD-level schema checks are held to the API server's messages by their unit tests, but
// no write path calls them yet: creating a CRD does not check that its schema is structural.
#[cfg_attr(not(test), allow(dead_code))]
mod crd_checks;
mod defaults;
mod embedded;
mod formats;
pub(crate) mod gofmt;
mod listtype;
pub(crate) mod meta;
mod node;
mod prune;
#[cfg_attr(not(test), allow(dead_code))]
mod structural;
mod validate;

#[cfg(test)]
mod tests_prune_default;
#[cfg(test)]
mod tests_structural;
#[cfg(test)]
mod tests_validate;

pub(crate) use defaults::apply_defaults;
pub(crate) use prune::prune;
#[cfg(test)]
pub(crate) use structural::{check_structural, check_structural_at};
pub(crate) use validate::validate;
#[cfg(test)]
pub(crate) use validate::validate_at;

/// The field paths the API server prints, built like apimachinery's `field.Path`.
pub(crate) mod path {
    /// `parent.name`, or `name` at the root.
    pub(crate) fn child(parent: &str, name: &str) -> String {
        if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        }
    }

    /// `parent[key]`: map keys in CRD schema paths and list-type errors.
    pub(crate) fn key(parent: &str, key: &str) -> String {
        format!("{parent}[{key}]")
    }

    /// `parent[i]`.
    pub(crate) fn index(parent: &str, i: usize) -> String {
        format!("{parent}[{i}]")
    }
}
