//! tibr-sandbox: a Kubernetes API emulator, a job runner that runs Job pods as local
//! processes, and an embedded S3 server, so that the tibr operator, its agent and the
//! federation manager run end to end with no cluster and no cloud.
pub mod cli;
pub mod cloud;
pub mod demo;
pub mod runner;
pub mod s3;
pub mod sandbox;
pub mod testing;
