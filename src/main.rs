//! `claude`: parse, run, render the outcome or the error once, exit with its code.

use clap::Parser;
use claude_auth::cli::Cli;
use claude_auth::error::AuthError;
use claude_auth::{app, output};

fn main() {
    claude_auth::coredump::disable();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => usage_error(err),
    };
    let code = match app::run(&cli) {
        Ok(outcome) => {
            output::emit(&outcome, cli.json);
            outcome.exit_code
        }
        Err(err) => {
            output::emit_error(&err, cli.json);
            err.exit_code()
        }
    };
    std::process::exit(code);
}

/// clap's errors, with any key the user typed by mistake reduced to its fingerprint, as one
/// JSON document when `--json` was asked for.
fn usage_error(err: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        err.exit()
    }
    let text = claude_auth::redact::scrub_keys(&err.render().to_string());
    if std::env::args().any(|a| a == "--json") {
        let message = text
            .lines()
            .next()
            .unwrap_or("invalid usage")
            .trim_start_matches("error: ")
            .to_string();
        let usage = AuthError::usage(message).with_hint("run `claude --help`");
        output::emit_error(&usage, true);
        std::process::exit(usage.exit_code());
    }
    eprint!("{text}");
    std::process::exit(err.exit_code())
}
