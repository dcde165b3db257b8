//! `tibr-sandbox`: run the Kubernetes API emulator, job runner and embedded S3 locally.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tibr_sandbox::cli::init_tracing();
    let args = tibr_sandbox::cli::Args::parse();
    match tibr_sandbox::cli::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tibr-sandbox: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
