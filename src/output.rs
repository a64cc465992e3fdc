//! Rendering: human text or one JSON document on stdout; errors rendered once, on stderr
//! (text) or stdout (`--json`); notices on stderr. Everything printed goes through here, so
//! terminal escapes from outside are neutralised once.

// The one module that writes to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use crate::error::AuthError;
use crate::redact::scrub_secrets;
use crate::style::{self, Look};
use crate::terminal_text::{is_active, printable};
use serde::Serialize;
use serde_json::Value;
use std::sync::OnceLock;

/// How stdout and stderr show text, decided once by [`configure`]; plain Unicode until then.
static LOOKS: OnceLock<(Look, Look)> = OnceLock::new();

/// Decides colour and marks for stdout and stderr from `env` and whether each is a terminal.
/// Call once, before anything is printed; later calls change nothing.
pub fn configure(env: &crate::envvars::Env) {
    let (stdout_tty, stderr_tty) = crate::terminal::output_streams_are_ttys();
    let _ = LOOKS.get_or_init(|| (Look::of(env, stdout_tty), Look::of(env, stderr_tty)));
}

fn stdout_look() -> Look {
    LOOKS.get().map(|looks| looks.0).unwrap_or_default()
}

fn stderr_look() -> Look {
    LOOKS.get().map(|looks| looks.1).unwrap_or_default()
}

/// What a command produced: text for people, a document for `--json`, an exit status.
pub struct Outcome {
    pub human: String,
    pub json: Value,
    pub exit_code: i32,
    /// Why a command that still has a report to show failed; its `error` object joins the
    /// report, so every failing command's JSON has `.error.code`, `.message` and `.hint`.
    pub failure: Option<AuthError>,
}

/// A command's result as a type: serialised, it is the `--json` document (keys in
/// alphabetical order, as `serde_json::Value` keeps them); `text` is the same facts for
/// people. One type for both, so the two renderings cannot drift apart.
pub trait Report: Serialize {
    /// The human rendering, printed on stdout without `--json`.
    fn text(&self) -> String;
}

impl Outcome {
    /// A successful outcome from a typed report.
    pub fn report(report: &impl Report) -> Outcome {
        Outcome::ok(report.text(), document(report))
    }

    /// A failed outcome from a typed report: `failure` joins it as the top-level `error`.
    pub fn failed_report(report: &impl Report, failure: AuthError) -> Outcome {
        Outcome::failed(report.text(), document(report), failure)
    }

    /// A successful outcome.
    pub fn ok(human: impl Into<String>, json: Value) -> Outcome {
        Outcome {
            human: human.into(),
            json,
            exit_code: 0,
            failure: None,
        }
    }

    /// A command that has already printed its data (a stream of lines, see [`LineWriter`]):
    /// nothing more is printed, in text or JSON.
    pub fn streamed() -> Outcome {
        Outcome::ok(String::new(), Value::Null)
    }

    /// A report that is also a failure: exits with `failure`'s status, and its JSON carries
    /// `failure` as the top-level `error` beside the report's own fields.
    pub fn failed(human: impl Into<String>, json: Value, failure: AuthError) -> Outcome {
        Outcome {
            human: human.into(),
            json,
            exit_code: failure.exit_code(),
            failure: Some(failure),
        }
    }
}

/// `n` and the noun for it: `1 model`, `2 models`, `0 models`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `value` as a JSON document. Report types hold strings, numbers and maps with string keys
/// only, which cannot fail to serialise; `null` would show a bug rather than hide one.
pub fn document(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Prints `outcome` on stdout in the chosen form.
///
/// # Security
/// Human text quotes servers and the environment (account names, scopes, fingerprints of
/// malformed keys): its control characters are escaped here, for every command. It is not
/// scrubbed of credentials: `--print-token` prints one on purpose.
pub fn emit(outcome: &Outcome, as_json: bool) {
    if as_json && outcome.json.is_null() && outcome.failure.is_none() {
        return;
    }
    if as_json {
        let mut doc = outcome.json.clone();
        if let (Some(failure), Some(fields)) = (&outcome.failure, doc.as_object_mut()) {
            fields.insert("error".into(), document(&ErrorObject::of(failure)));
        }
        print_stdout(&json_text(&doc));
    } else if !outcome.human.is_empty() {
        // Styled after escaping: the only escapes that reach the terminal are our colours.
        let text = printable(outcome.human.trim_end());
        print_stdout(&style::render(&text, stdout_look()));
    }
}

/// Prints `text` and a newline on stderr, control characters escaped: progress, prompts and
/// warnings, which often quote a server's answer or a configured value.
pub fn notice(text: &str) {
    err_line(&style::render(&printable(text), stderr_look()));
}

/// Prints `text` on stderr without a newline and flushes it: a question awaiting an answer
/// on the same line.
pub fn ask(text: &str) {
    use std::io::Write;
    err_text(&printable(text));
    let _ = std::io::stderr().flush();
}

/// `value` as pretty JSON in which the characters serde_json leaves raw but a terminal acts
/// on or that hide text (DEL, C1 controls, format characters, line separators, fillers) are
/// `\uXXXX` escapes too.
/// The document is the same: such characters only ever occur inside JSON strings.
fn json_text(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    escape_active_json(&text).into_owned()
}

/// JSON text with the characters [`json_text`] escapes as `\uXXXX`.
fn escape_active_json(text: &str) -> std::borrow::Cow<'_, str> {
    if !has_active(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_active(c) {
            // JSON escapes UTF-16 code units: a character beyond the Basic Multilingual Plane
            // (a tag character) is a surrogate pair.
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `text` holds a character [`is_active`] names. Bytes first: text is mostly
/// ASCII, and only a byte at or above 0x80 starts a character worth decoding.
fn has_active(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b < 0x80 {
            if (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f {
                return true;
            }
            i += 1;
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            if is_active(c) {
                return true;
            }
            i += c.len_utf8();
        }
    }
    false
}

/// Lines printed as they are produced (`--show-auth-logs` over a long log), through one
/// buffer, escaped as [`emit`] escapes.
pub struct LineWriter {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    closed: bool,
}

impl LineWriter {
    /// A writer on stdout.
    pub fn stdout() -> LineWriter {
        LineWriter {
            out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock()),
            closed: false,
        }
    }

    /// Writes `text` and a newline, control characters escaped. `false` once stdout is
    /// closed (`| head`): the caller can stop.
    pub fn text(&mut self, text: &str) -> bool {
        if has_active(text) {
            self.write(&printable(text))
        } else {
            self.write(text)
        }
    }

    /// Writes one line of JSON text as it is, but for the characters a terminal acts on,
    /// which become `\uXXXX` escapes (the same JSON value).
    pub fn json(&mut self, text: &str) -> bool {
        self.write(&escape_active_json(text))
    }

    fn write(&mut self, text: &str) -> bool {
        use std::io::Write;
        if !self.closed && writeln!(self.out, "{text}").is_err() {
            self.closed = true;
        }
        !self.closed
    }

    /// Flushes what is buffered.
    pub fn finish(mut self) {
        use std::io::Write;
        let _ = self.out.flush();
    }
}

/// Shows a secret the user must see once (the TOTP enrollment's QR code and URI) on stdout,
/// the command's own output: never on stderr, which `-v` runs and CI jobs append to logs.
pub fn show_secret_once(text: &str) {
    print_stdout(&printable(text));
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
///
/// # Security
/// Every error passes here, so here, in text, control characters are escaped, line breaks
/// too: an error's message, causes and hint are one line each, so a path or name from the
/// environment (`AWS_CONFIG_FILE`, `GOOGLE_APPLICATION_CREDENTIALS`) cannot print a
/// `hint:` line of its own. Values shaped like credentials were already masked when the
/// error was built (`AuthError::new`).
pub fn emit_error(err: &AuthError, as_json: bool) {
    if as_json {
        print_stdout(&json_text(&error_document(err)));
        return;
    }
    let look = stderr_look();
    let shown = |prefix: &str, text: &str| {
        style::render(
            &format!("{prefix} {}", crate::terminal_text::single_line(text)),
            look,
        )
    };
    err_line(&shown("error:", err.message()));
    for cause in err.causes() {
        err_line(&shown("caused by:", cause));
    }
    if let Some(hint) = err.hint() {
        err_line(&shown("hint:", hint));
    }
}

/// Prints a usage error as clap rendered it (it quotes the arguments, which may hold a key
/// typed in the wrong place): credential-shaped values masked as `AuthError` masks them,
/// control characters escaped.
pub fn emit_usage_text(rendered: &str) {
    err_text(&printable(&scrub_secrets(rendered)));
}

/// The `error` object of every failing command's JSON (and of each failed `--test-auth`
/// step): what went wrong, the next step and the exit status.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorObject<'a> {
    pub code: &'static str,
    pub message: &'a str,
    pub hint: Option<&'a str>,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub causes: &'a [String],
}

impl ErrorObject<'_> {
    /// The object for `err`.
    pub fn of(err: &AuthError) -> ErrorObject<'_> {
        ErrorObject {
            code: err.code().as_str(),
            message: err.message(),
            hint: err.hint(),
            exit_code: err.exit_code(),
            causes: err.causes(),
        }
    }
}

/// `{"error":{"code","message","hint","exitCode","causes"}}`.
pub fn error_document(err: &AuthError) -> Value {
    #[derive(Serialize)]
    struct Failed<'a> {
        error: ErrorObject<'a>,
    }
    document(&Failed {
        error: ErrorObject::of(err),
    })
}

/// A spinner on stderr (`| / - \\` then `message`), redrawn until the task running it is
/// aborted; then [`clear_spinner`]. Callers show it only when stderr is a terminal.
pub async fn spin(message: &'static str) {
    const FRAMES: [&str; 4] = ["|", "/", "-", "\\"];
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(120));
    for frame in FRAMES.iter().cycle() {
        tick.tick().await;
        redraw(&format!("{frame} {message}"));
    }
}

/// Erases the spinner's line.
pub fn clear_spinner() {
    redraw("\x1b[2K");
}

/// Returns to the start of the spinner's line and writes `text` there: the one place the
/// product writes control sequences of its own (`\r`, and `ESC [2K` to erase the line), so
/// it bypasses [`notice`], which would escape them. Only constants reach it.
fn redraw(text: &str) {
    use std::io::Write;
    err_text(&format!("\r{text}"));
    let _ = std::io::stderr().flush();
}

/// Writes `text` and a newline on stderr. A closed stderr (`2>&1 | head -1`) is not worth a
/// panic and exit 101: the outcome's own exit status still says what happened.
fn err_line(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Writes `text` on stderr as it is (no newline), for prompts and the spinner; errors are
/// ignored as in [`err_line`].
fn err_text(text: &str) {
    use std::io::Write as _;
    let _ = write!(std::io::stderr(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_escapes_invisible_characters_and_keeps_the_value() {
        // A tag character and a Kaithi mark lie beyond the Basic Multilingual Plane.
        let value = json!({ "account": "a\u{1b}b\u{202e}c\u{E0041}d\u{110BD}e" });
        let text = json_text(&value);
        assert!(!text.chars().any(is_active), "{text}");
        assert!(text.contains(r"\udb40\udc41"), "a surrogate pair: {text}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
