//! tibr-sandbox: tibr on one machine. It composes emulated clusters (`kube-emulator`), Job
//! pods run as local processes with the cloud and S3 they reach (`tibr-cloud-sim`) and a
//! simulated TiDB (`tibr-tidb-sim`), runs the tibr operator of every cluster in process,
//! and serves as the agent and BR in pods (multi-call), so that the operator, its agent and
//! the federation manager run end to end with no cluster and no cloud.
pub mod bench;
pub mod cli;
pub mod demo;
pub mod sandbox;
