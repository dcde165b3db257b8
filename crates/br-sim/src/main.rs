//! The `br` binary: the stand-in's entry point (see the library for what it does).

fn main() {
    std::process::exit(tibr_br_sim::main_with_args(std::env::args().collect()));
}
