//! Integer ranges in the generated CRDs: every integer field has one, so the API server
//! refuses a value the operator could not read, and no range refuses a value TiDB
//! Operator accepts for the same field (facts in `upstream/integer-fields.txt`).

mod support;

use serde_json::Value;
use support::*;

/// The largest bound a 64-bit field can get (see `INT64_CEILING` in `tibr_api`'s schema
/// module): the API server stores int64, and a CRD states bounds as doubles, of which
/// this is the largest below 2^63. The 1023 int64 values above it are no meaningful size,
/// count or duration.
const INT64_CEILING: i128 = (1 << 63) - 1024;

/// `(minimum, maximum)` of an integer schema, exactly (bounds are whole numbers).
fn bounds(n: &Value, at: &str) -> (i128, i128) {
    assert_eq!(n["type"], "integer", "{at}");
    let bound = |key: &str| {
        let b = n[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{at} has no {key}"));
        assert_eq!(b.fract(), 0.0, "{at}: {key} {b}");
        b as i128
    };
    (bound("minimum"), bound("maximum"))
}

/// Every integer schema under `n`, with its path.
fn integers<'a>(n: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    if n["type"] == "integer" {
        out.push((path.clone(), n));
    }
    if let Some(props) = n["properties"].as_object() {
        for (k, v) in props {
            integers(v, format!("{path}.{k}"), out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if n[key].is_object() {
            integers(&n[key], format!("{path}.{key}"), out);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for (i, alt) in n[key].as_array().into_iter().flatten().enumerate() {
            integers(alt, format!("{path}.{key}[{i}]"), out);
        }
    }
}

#[test]
fn every_integer_field_has_the_range_of_its_type() {
    let mut checked = 0;
    for crd in CRDS.iter() {
        let plural = &crd.spec.names.plural;
        let schema = schema(plural);
        let mut found = Vec::new();
        integers(&schema, String::new(), &mut found);
        for (path, n) in found {
            let at = format!("{plural}{path}");
            let (low, high) = bounds(n, &at);
            // A field without a format has no Rust type the range could come from: give it
            // one (schemars does for every Rust integer type).
            let expected: (i128, i128) = match n["format"].as_str() {
                Some("int32") => (i32::MIN.into(), i32::MAX.into()),
                Some("int64") => (i64::MIN.into(), INT64_CEILING),
                Some("uint32") => (0, u32::MAX.into()),
                Some("uint64") => (0, INT64_CEILING),
                other => panic!("{at}: unexpected format {other:?}"),
            };
            // A narrower minimum is the field's own rule (`shardCount` is at least 1).
            assert!(low >= expected.0, "{at}: minimum {low}");
            assert_eq!(high, expected.1, "{at}: maximum");
            if low != expected.0 {
                assert_eq!(at, "backupschedules.spec.compactBackupTemplate.shardCount");
            }
            checked += 1;
        }
    }
    // Our own fields and those of Kubernetes types (volumes, affinity, ...).
    assert!(checked > 500, "{checked}");
}

/// The values of a Go integer type the API server can store (int64).
fn go_range(go_type: &str) -> (i128, i128) {
    match go_type {
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "int" | "int64" => (i64::MIN.into(), i64::MAX.into()),
        "uint" | "uint64" => (0, i64::MAX.into()),
        other => panic!("no range for Go type {other}"),
    }
}

#[test]
fn ranges_accept_what_tidb_operator_accepts() {
    let facts = include_str!("upstream/integer-fields.txt");
    let mut checked = 0;
    for line in facts
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let [plural, path, go_type, typical] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("malformed fact: {line:?}")
        };
        let at = format!("{plural} {path}");
        let (low, high) = bounds(node(&schema(plural), path), &at);
        let (go_low, go_high) = go_range(go_type);
        let typical: i128 = typical.parse().unwrap();
        // TiDB Operator's maximum, less what no double below 2^63 can state (see
        // INT64_CEILING).
        let top = go_high.min(INT64_CEILING);
        for value in [go_low, 0, typical, top] {
            assert!(
                (low..=high).contains(&value),
                "{at}: {value} ({go_type}) is refused by our range {low}..={high}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 44);
}
