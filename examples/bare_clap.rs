//! The benchmark baseline: a bare clap binary that parses a flag and prints one line, so
//! `scripts/bench.sh` can show what `claude --auth-status` costs on top of clap alone.

use clap::Parser;

/// Baseline.
#[derive(Parser)]
struct Args {
    /// A flag like `--auth-status`.
    #[arg(long)]
    auth_status: bool,
}

fn main() {
    let args = Args::parse();
    println!("auth-status: {}", args.auth_status);
}
