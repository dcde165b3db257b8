//! The `tibr-agent` binary (see the library for what it does).

fn main() {
    std::process::exit(tibr_agent::main_with_args(std::env::args().collect()));
}
