//! `--completions SHELL`: the completion script for one shell, generated from the clap
//! definition itself, so every flag, value and word is in it. Offline; printed on stdout.

use crate::output::Outcome;
use clap::CommandFactory;
use clap_complete::Shell;

/// The script for `shell`, as the command's text.
pub fn run(shell: Shell) -> Outcome {
    Outcome::ok(script(shell), serde_json::Value::Null)
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut command = crate::cli::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "claude", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
