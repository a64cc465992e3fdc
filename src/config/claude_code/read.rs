//! Reading Claude Code's user settings: the checks `config.json` gets (owner, no group or
//! other write, a credential in `env` only in a private file), a 1 MiB cap, one parse; a
//! file that is not JSON, or a value of the wrong type, is a warning and is left out.

use super::{HelperKey, Keys, Settings, FILE_NAME};
use crate::envvars::{self, Env};
use crate::error::AuthError;
use crate::storage::checked_file::{is_private, CheckedFile, Trust};
use serde_json::Value;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The largest settings file read (Claude Code's own are a few KiB).
const MAX_BYTES: u64 = 1 << 20;

/// Reads `STATE_DIR/settings.json`. `env` is the process environment (for the recursion
/// guard); `project_dir` is kept for [`project::scan`].
///
/// # Errors
/// `config_error`, as for `config.json`: a file owned by another user, writable by group or
/// others, not a regular file, unreadable, over 1 MiB, or holding a credential in `env`
/// while others can read it. A file that is not JSON, or a key of the wrong type, is a
/// warning instead: Claude Code does not use such a file either.
pub fn read(
    state_dir: &Path,
    project_dir: Option<PathBuf>,
    env: &Env,
) -> Result<Settings, AuthError> {
    let path = state_dir.join(FILE_NAME);
    let mut settings = Settings {
        path: path.clone(),
        guard: env.get(envvars::CLAUDE_AUTH_HELPER_CHILD).is_some(),
        project_dir,
        ..Settings::default()
    };
    let Some((text, private)) = read_text(&path)? else {
        return Ok(settings);
    };
    settings.found = true;
    let shown = path.display().to_string();
    let raw: Value = match serde_json::from_str(&text) {
        Ok(raw) => raw,
        Err(err) => {
            settings.warnings.push(format!(
                "{shown}:{}:{}: invalid JSON in Claude Code's settings: {}; the file is ignored (its apiKeyHelper, env, …) until it is fixed",
                err.line(),
                err.column(),
                crate::config::load::bare_message(&err)
            ));
            return Ok(settings);
        }
    };
    let Value::Object(fields) = raw else {
        settings.warnings.push(format!(
            "{shown}: Claude Code's settings must be a JSON object `{{…}}`; the file is ignored"
        ));
        return Ok(settings);
    };
    settings.read = true;
    settings.keys = keys(&fields, &shown, &mut settings.warnings);
    if !private {
        if let Some((name, _)) = settings.keys.env.iter().find(|(name, value)| {
            let value = std::ffi::OsStr::new(value.as_str());
            !value.is_empty()
                && (crate::process::is_secret_variable(std::ffi::OsStr::new(name))
                    || crate::process::has_secret_value(value)
                    || crate::process::has_url_password(value))
        }) {
            return Err(AuthError::config(format!(
                "{shown} holds a credential at `env.{name}` but other users can read it; it decides where credentials are sent, so it is not used"
            ))
            .with_hint(format!(
                "run `chmod 600 {}`",
                crate::storage::aside::shell_word(&path)
            )));
        }
        // A command line may carry a key too (`echo sk-ant-…`, `curl -u me:ghp_…`).
        if let Some(key) = HelperKey::ALL.into_iter().find(|key| {
            settings
                .keys
                .value(*key)
                .is_some_and(crate::redact::holds_credential)
        }) {
            return Err(AuthError::config(format!(
                "{shown} holds a credential in its `{}` command but other users can read it, so it is not used",
                key.as_str()
            ))
            .with_hint(format!(
                "run `chmod 600 {}`",
                crate::storage::aside::shell_word(&path)
            )));
        }
    }
    Ok(settings)
}

/// The credential keys of a settings file's top level (`shown` names it in warnings): the
/// user's, or a managed one's. A value of the wrong type is a warning and is left out.
pub fn keys(
    fields: &serde_json::Map<String, Value>,
    shown: &str,
    warnings: &mut Vec<String>,
) -> Keys {
    let mut string = |key: HelperKey| match fields.get(key.as_str()) {
        None | Some(Value::Null) => None,
        Some(Value::String(command)) => Some(command.clone()).filter(|c| !c.trim().is_empty()),
        Some(_) => {
            warnings.push(format!(
                "{shown}: `{}` must be a string (a command line); it is ignored",
                key.as_str()
            ));
            None
        }
    };
    let api_key_helper = string(HelperKey::ApiKeyHelper);
    let aws_auth_refresh = string(HelperKey::AwsAuthRefresh);
    let aws_credential_export = string(HelperKey::AwsCredentialExport);
    Keys {
        api_key_helper,
        aws_auth_refresh,
        aws_credential_export,
        env: env_block(fields.get("env"), shown, warnings),
    }
}

/// The `env` block's variables with string values (numbers and booleans as written, as
/// Claude Code takes them); anything else is a warning.
fn env_block(
    value: Option<&Value>,
    shown: &str,
    warnings: &mut Vec<String>,
) -> Vec<(String, Zeroizing<String>)> {
    let fields = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Object(fields)) => fields,
        Some(_) => {
            warnings.push(format!(
                "{shown}: `env` must be an object of variable names and values; it is ignored"
            ));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (name, value) in fields {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            _ => {
                warnings.push(format!(
                    "{shown}: `env.{}` must be a string; it is ignored",
                    crate::terminal_text::single_line(&crate::redact::scrub_secrets(name))
                ));
                continue;
            }
        };
        let valid_name = super::is_variable_name(name);
        if !valid_name || text.contains('\0') {
            warnings.push(format!(
                "{shown}: `env.{}` cannot be an environment variable; it is ignored",
                crate::terminal_text::single_line(&crate::redact::scrub_secrets(name))
            ));
            continue;
        }
        out.push((name.clone(), Zeroizing::new(text)));
    }
    out
}

/// The file's text and whether it is private to its owner (mode `& 077` = 0), checked on
/// the open handle like `config.json`; `None` when it does not exist.
fn read_text(path: &Path) -> Result<Option<(String, bool)>, AuthError> {
    let read = CheckedFile::new("Claude Code settings file", Trust::Config, MAX_BYTES)
        .hint("check the file's permissions and contents, or move it away to run without it")
        .read_text_and_meta(path)?;
    Ok(read.map(|(text, meta)| {
        let private = is_private(&meta);
        (text, private)
    }))
}
