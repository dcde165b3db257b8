//! Volume-snapshot backups in a data plane: the documents they write (the volume file the
//! operator builds, the `backupmeta` BR writes), and how a data plane's TiKV volumes are
//! found.

pub mod clustermeta;
pub mod meta;
pub mod summary;
pub mod tags;

pub use clustermeta::{ClusterObjects, build as build_clustermeta};
pub use meta::VolumeMeta;
