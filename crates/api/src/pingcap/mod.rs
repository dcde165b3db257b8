//! API group `pingcap.com`: the kinds TiDB Operator defines that tibr serves or reads.

pub mod v1alpha1;
