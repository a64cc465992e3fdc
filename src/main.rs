//! `claude`: parse, run, render the outcome or the error once, exit with its code.

use clap::Parser;
use claude_auth::cli::Cli;
use claude_auth::error::AuthError;
use claude_auth::{app, output};
use std::process::ExitCode;

/// Returns (never `process::exit`s) so that every value, the `Cli` holding a key given with
/// `--api-key` included, is dropped and wiped before the process ends.
fn main() -> ExitCode {
    claude_auth::coredump::disable();
    let cli = match Cli::try_parse().and_then(|cli| cli.check_modifiers().map(|()| cli)) {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
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
    exit_code(code)
}

/// The process status for an exit code of the table (all of them fit in a byte).
fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// clap's errors, rendered like every error (a credential typed in the wrong place masked,
/// control characters escaped), as one JSON document when `--json` was asked for.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        // Help and version go to stdout; a closed pipe is not worth a failure.
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let text = err.render().to_string();
    // `args_os`: an argument that is not UTF-8 is itself a usage error, not a panic.
    if std::env::args_os().any(|a| a == "--json") {
        let message = text
            .lines()
            .next()
            .unwrap_or("invalid usage")
            .trim_start_matches("error: ")
            .to_string();
        let usage = AuthError::usage(message).with_hint("run `claude --help`");
        output::emit_error(&usage, true);
        return exit_code(usage.exit_code());
    }
    output::emit_usage_text(&text);
    exit_code(err.exit_code())
}
