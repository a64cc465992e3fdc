//! Rendering: human text or one JSON document on stdout; errors rendered once, on stderr
//! (text) or stdout (`--json`).

use crate::error::AuthError;
use serde_json::{json, Value};

/// What a command produced: text for people, a document for `--json`, an exit status.
pub struct Outcome {
    pub human: String,
    pub json: Value,
    pub exit_code: i32,
}

impl Outcome {
    /// A successful outcome.
    pub fn ok(human: impl Into<String>, json: Value) -> Outcome {
        Outcome {
            human: human.into(),
            json,
            exit_code: 0,
        }
    }
}

/// Prints `outcome` on stdout in the chosen form.
pub fn emit(outcome: &Outcome, as_json: bool) {
    if as_json {
        print_stdout(&serde_json::to_string_pretty(&outcome.json).unwrap_or_default());
    } else if !outcome.human.is_empty() {
        print_stdout(outcome.human.trim_end());
    }
}

/// Writes a line to stdout; a closed pipe (`claude --auth-status | head -1`) is not an error
/// worth a panic.
fn print_stdout(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

/// Prints `err`: `{"error":{…}}` on stdout with `--json`, else `error:`/`caused by:`/`hint:`
/// on stderr.
pub fn emit_error(err: &AuthError, as_json: bool) {
    if as_json {
        print_stdout(&serde_json::to_string_pretty(&error_document(err)).unwrap_or_default());
        return;
    }
    eprintln!("error: {}", err.message());
    for cause in err.causes() {
        eprintln!("caused by: {cause}");
    }
    if let Some(hint) = err.hint() {
        eprintln!("hint: {hint}");
    }
}

/// `{"error":{"code","message","hint","exitCode","causes"}}`.
pub fn error_document(err: &AuthError) -> Value {
    let mut error = json!({
        "code": err.code().as_str(),
        "message": err.message(),
        "hint": err.hint(),
        "exitCode": err.exit_code(),
    });
    if !err.causes().is_empty() {
        error["causes"] = json!(err.causes());
    }
    json!({ "error": error })
}
