//! API group `federation.pingcap.com`: the kinds of PingCAP's BR Federation Manager.

pub mod v1alpha1;
