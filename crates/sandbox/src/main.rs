//! `tibr-sandbox`: run the Kubernetes API emulator, job runner and embedded S3 locally.
//!
//! Multi-call: started as `br` it is the BR stand-in, as `tibr-agent` the agent (the sandbox
//! links both names to itself for Job pods, see `sandbox::programs`). Those build their own
//! runtime, so this `main` does not start one before it knows which program it is.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if let Some(program) = argv
        .first()
        .and_then(|a| tibr_sandbox::sandbox::programs::multicall(a))
    {
        let code = program(argv);
        return std::process::ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let args = tibr_sandbox::cli::Args::parse();
    tibr_sandbox::cli::init_tracing(args.command.default_log_level());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tibr-sandbox: starting the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tibr_sandbox::cli::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tibr-sandbox: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
