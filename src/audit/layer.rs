//! The audit layer of the event sink: every credential event becomes one line of
//! `audit.log`, whatever its fields (variants added to `AuthEvent` later are logged as they
//! are), with the facts of this process around them.

use super::file::Append;
use super::key::{KeyPlace, KeyProblem, Signer};
use crate::error::AuthError;
use crate::events::sink::{Kind, Layer, Record};
use crate::output::Outcome;
use crate::time::UnixTime;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Names the line itself sets: an event field with one of them is kept as `eventNAME`.
const RESERVED: [&str; 12] = [
    "time",
    "event",
    "provider",
    "fingerprint",
    "account",
    "outcome",
    "environment",
    "host",
    "pid",
    "unsigned",
    "prev",
    "mac",
];

/// Writes credential events to `audit.log`.
pub struct AuditLayer {
    pub(super) dir: PathBuf,
    pub(super) retention_days: Option<u32>,
    pub(super) environment: Option<String>,
    pub(super) place: KeyPlace,
    /// Why lines cannot be signed, found before the command acts (then lines go unsigned).
    pub(super) setup_error: Option<KeyProblem>,
    /// The key, fetched from the store on the first event of the process only.
    signer: OnceLock<Signer>,
    /// The first line that could not be written, for the command's end.
    failures: Failures,
    /// Warn once per process when retention refuses to prune.
    warned: Mutex<bool>,
    /// Warn once per process when a line goes unsigned because the key is missing.
    warned_missing: AtomicBool,
}

/// The first audit line of this process that could not be written, shared between the
/// layer and the end of the command ([`Failures::conclude`]): a command whose events are
/// not all in the log fails, whatever `-q` says, so no gap in the log goes unnoticed.
#[derive(Clone, Default)]
pub struct Failures(Arc<Mutex<Option<WriteFailure>>>);

/// The message and hint of an append's error, kept as text for the end of the command.
type WriteFailure = (String, Option<String>);

impl Failures {
    fn record(&self, err: &AuthError) {
        let mut first = self.0.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert_with(|| (err.message().to_string(), err.hint().map(str::to_string)));
    }

    /// `result`, unless an audit line could not be written: then a command that succeeded
    /// fails with `storage_error` (what it did is done, but not in the log), and a command
    /// that failed keeps its error, the audit failure said on stderr.
    ///
    /// # Errors
    /// `result`'s, or `storage_error`.
    pub fn conclude(&self, result: Result<Outcome, AuthError>) -> Result<Outcome, AuthError> {
        let first = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some((message, hint)) = first else {
            return result;
        };
        let failure = AuthError::storage(format!(
            "the command ran, but its audit log line could not be written: {message}"
        ))
        .with_hint(format!(
            "{}the audit log is missing this command's events: record them elsewhere",
            hint.map(|h| format!("{h}; ")).unwrap_or_default()
        ));
        match result {
            Ok(outcome) if outcome.failure.is_none() => Err(failure),
            failed => {
                crate::output::notice(&format!(
                    "error: {}{}",
                    failure.message(),
                    failure
                        .hint()
                        .map(|h| format!("\n  hint: {h}"))
                        .unwrap_or_default()
                ));
                failed
            }
        }
    }
}

impl AuditLayer {
    pub(super) fn new(
        dir: PathBuf,
        retention_days: Option<u32>,
        environment: Option<String>,
        place: KeyPlace,
        setup_error: Option<KeyProblem>,
        failures: Failures,
    ) -> AuditLayer {
        AuditLayer {
            dir,
            retention_days,
            environment,
            place,
            setup_error,
            signer: OnceLock::new(),
            failures,
            warned: Mutex::new(false),
            warned_missing: AtomicBool::new(false),
        }
    }

    /// The key the command offered (it read the key itself), else the store's, fetched on
    /// the first event, else why there is none.
    fn signer(&self) -> &Signer {
        if let Some(offered) = super::key::offered() {
            return offered;
        }
        self.signer.get_or_init(|| match &self.setup_error {
            Some(problem) => Signer::Unsigned(problem.reason()),
            None => self.place.signer(),
        })
    }

    /// After an unsigned line: when it went unsigned because the key is missing while the
    /// log holds signed lines, says so once (even with `-q`, as a refused prune is): from
    /// here on every line is unsigned, which `--verify` alone would reveal only later.
    fn warn_if_missing(&self, signer: &Signer, at: UnixTime) {
        let (Signer::Unsigned(_), Some(problem @ KeyProblem::Missing { restore, .. })) =
            (signer, &self.setup_error)
        else {
            return;
        };
        if self.warned_missing.swap(true, Ordering::Relaxed) {
            return;
        }
        let log = super::file::log_path(&self.dir);
        let aside =
            crate::storage::aside::move_aside(&log, crate::storage::aside::Aside::Unverifiable, at);
        // Paths come from the environment: each part stays on its one line.
        let single = crate::terminal_text::single_line;
        crate::output::notice(&format!(
            "warning: {}\n  hint: {}",
            single(&format!(
                "the audit log is no longer signed (this command's lines and every later \
                 one): {}",
                problem.reason()
            )),
            single(&format!(
                "{restore}; or, if the key is lost, keep the log as a record and move it aside \
                 (`{aside}`): the next audited command starts a new signed chain"
            ))
        ));
    }
}

impl Layer for AuditLayer {
    fn wants(&self, kind: Kind) -> bool {
        kind == Kind::Event
    }

    fn on_record(&self, record: &Record) {
        // `events::record` carries its clock's time as a number field.
        let at = record
            .fields
            .iter()
            .find(|(name, _)| *name == "at")
            .and_then(|(_, value)| value.as_u64())
            .map_or(UnixTime::EPOCH, UnixTime::from_secs);
        let head = head(record, at, self.environment.as_deref());
        let append = Append {
            dir: &self.dir,
            now: at,
            retention_days: self.retention_days,
        };
        let signer = self.signer();
        let appended = append.line(&head, signer);
        if appended.is_ok() {
            self.warn_if_missing(signer, at);
        }
        match appended {
            Ok(None) => {}
            Ok(Some(refused)) => {
                // A log whose old lines do not verify: said even with `-q`, once.
                let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
                if !*warned {
                    crate::output::notice(&format!("warning: {refused}"));
                }
                *warned = true;
            }
            Err(err) => self.failures.record(&err),
        }
    }
}

/// The entry as a JSON object left open (`prev` and `mac` come at append time): the common
/// fields first, then the event's own, in the order it gave them, names in camelCase.
pub fn head(record: &Record, at: UnixTime, environment: Option<&str>) -> String {
    let field = |name: &str| {
        record
            .fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    };
    let mut out = String::with_capacity(320);
    let mut push = |name: &str, value: &Value| {
        out.push(if out.is_empty() { '{' } else { ',' });
        out.push_str(&Value::from(name).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    };
    push("time", &Value::from(at.rfc3339()));
    push("event", &Value::from(record.name));
    let provider = field("provider")
        .cloned()
        .or_else(|| record.name.starts_with("key_").then(|| "anthropic".into()))
        .unwrap_or(Value::Null);
    push("provider", &provider);
    for name in ["fingerprint", "account"] {
        if let Some(value) = field(name) {
            push(name, value);
        }
    }
    push("outcome", &Value::from(outcome(record, field("outcome"))));
    push("environment", &environment.map_or(Value::Null, Value::from));
    push("host", &host().map_or(Value::Null, Value::from));
    push("pid", &Value::from(std::process::id()));
    for (name, value) in &record.fields {
        if matches!(
            *name,
            "at" | "provider" | "fingerprint" | "account" | "outcome"
        ) {
            continue;
        }
        let name = camel(name);
        if RESERVED.contains(&name.as_str()) {
            push(
                &format!("event{}{}", name[..1].to_uppercase(), &name[1..]),
                value,
            );
        } else {
            push(&name, value);
        }
    }
    out
}

/// `success`, `failure` or `refused`, unless the event says.
fn outcome(record: &Record, given: Option<&Value>) -> String {
    if let Some(text) = given.and_then(Value::as_str) {
        return text.to_string();
    }
    if record.name == "refused" {
        "refused".into()
    } else if record.name.ends_with("_failed")
        || record.name.ends_with("_rejected")
        || record.fields.iter().any(|(n, _)| *n == "code")
    {
        "failure".into()
    } else {
        "success".into()
    }
}

/// `previous_fingerprint` → `previousFingerprint`.
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// This machine's name, once per process.
fn host() -> Option<&'static str> {
    static HOST: OnceLock<Option<String>> = OnceLock::new();
    HOST.get_or_init(hostname).as_deref()
}

#[cfg(unix)]
fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

#[cfg(not(unix))]
fn hostname() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &'static str, fields: Vec<(&'static str, Value)>) -> Record {
        Record {
            kind: Kind::Event,
            name,
            message: String::new(),
            fields,
        }
    }

    #[test]
    fn an_event_becomes_common_fields_then_its_own() {
        let r = record(
            "key_rotated",
            vec![
                ("at", Value::from(1_764_410_400_u64)),
                ("previous_fingerprint", Value::from("sk-ant-api03-…a1A1")),
                ("fingerprint", Value::from("sk-ant-api03-…b2B2")),
                ("storage", Value::from("keychain")),
            ],
        );
        let line: Value = serde_json::from_str(&format!(
            "{}}}",
            head(&r, UnixTime::from_secs(1_764_410_400), Some("prod"))
        ))
        .unwrap();
        assert_eq!(line["time"], "2025-11-29T10:00:00Z");
        assert_eq!(line["event"], "key_rotated");
        assert_eq!(line["provider"], "anthropic");
        assert_eq!(line["fingerprint"], "sk-ant-api03-…b2B2");
        assert_eq!(line["previousFingerprint"], "sk-ant-api03-…a1A1");
        assert_eq!(line["outcome"], "success");
        assert_eq!(line["environment"], "prod");
        assert_eq!(line["pid"], std::process::id());
        assert!(line.get("at").is_none());
    }

    #[test]
    fn unknown_events_are_logged_with_their_fields_and_reserved_names_kept_apart() {
        let r = record(
            "mfa_failed",
            vec![("method", Value::from("totp")), ("time", Value::from(3))],
        );
        let line: Value =
            serde_json::from_str(&format!("{}}}", head(&r, UnixTime::EPOCH, None))).unwrap();
        assert_eq!(line["outcome"], "failure");
        assert_eq!(line["method"], "totp");
        assert_eq!(line["eventTime"], 3);
        assert_eq!(line["provider"], Value::Null);
        let refused = record("refused", vec![("code", Value::from("ip_restricted"))]);
        let line: Value =
            serde_json::from_str(&format!("{}}}", head(&refused, UnixTime::EPOCH, None))).unwrap();
        assert_eq!(line["outcome"], "refused");
    }
}
