//! Reads the configuration file: syntax errors with line:column, type errors with the JSON
//! path, unknown keys as warnings with a suggestion, then `${VAR}` interpolation.

use super::interpolate::interpolate;
use super::introspect::{known_keys, suggest};
use super::schema::Config;
use crate::error::AuthError;
use std::path::Path;

/// A parsed file and what the user should hear about it.
pub struct Parsed {
    pub config: Config,
    pub warnings: Vec<String>,
    /// JSON paths holding a credential written literally (not through `${VAR}`).
    pub literal_secrets: Vec<String>,
}

/// Parses `text` (the contents of `path`), resolving `${VAR}` with `lookup`.
///
/// # Errors
/// `config_error` naming the file and line:column (syntax), the JSON path (types) or the
/// variable and path (interpolation).
pub fn parse(
    path: &Path,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    active_environment: Option<&str>,
    managed: Option<&serde_json::Value>,
) -> Result<Parsed, AuthError> {
    let shown = path.display();
    let mut raw: serde_json::Value = super::strict_json::from_str(text).map_err(|err| {
        let at = format!("{shown}:{}:{}", err.line(), err.column());
        match super::strict_json::duplicate_path(text) {
            // Tools disagree on which of two values counts (serde keeps the last, a
            // reader of the file sees the first): the file must say one thing.
            Some(key) => AuthError::config(format!(
                "{at}: `{}` is written twice in the same object",
                shown_key(&key)
            ))
            .with_hint("keep one of the two values and remove the other"),
            None => AuthError::config(format!("{at}: invalid JSON: {}", bare_message(&err)))
                .with_hint("fix the file at that line and column (a trailing comma or a missing quote is the usual cause)"),
        }
    })?;
    if !raw.is_object() {
        return Err(AuthError::config(format!(
            "{shown}: the configuration must be a JSON object `{{…}}`"
        )));
    }
    // Policy wins over the user's values before anything is typed (the managed blocks were
    // checked on their own, against their own file).
    if let Some(managed) = managed {
        super::managed::overlay(&mut raw, managed);
    }

    // The text is parsed once; types are checked on the parsed tree, and only a file that
    // fails that check is read again, to give its error a line:column as well as a path.
    let mut unknown = Vec::new();
    let mut track = |path: serde_ignored::Path<'_>| unknown.push(segments(&path));
    let ignoring = serde_ignored::Deserializer::new(&raw, &mut track);
    if serde_path_to_error::deserialize::<_, Config>(ignoring).is_err() {
        return Err(type_error(path, text));
    }

    let literal_secrets = literal_secret_paths(&raw);
    // Only the selected environment is interpolated: production must not need DEV_API_KEY.
    if let Some(envs) = raw.get_mut("environments").and_then(|v| v.as_object_mut()) {
        for (name, env) in envs.iter_mut() {
            if Some(name.as_str()) != active_environment {
                *env = serde_json::Value::Object(Default::default());
            }
        }
    }
    interpolate(&mut raw, lookup, &mut Vec::new()).map_err(|err| {
        AuthError::config(format!("{shown}: {}", err.message()))
            .with_hint(err.hint().unwrap_or_default())
    })?;
    // Interpolation only rewrites string contents, so the typed parse above still holds.
    let config: Config = serde_json::from_value(raw).map_err(|err| {
        AuthError::config(format!("{shown}: after `${{VAR}}` interpolation: {err}"))
    })?;

    validate(&config, &shown.to_string())?;
    let warnings = unknown
        .iter()
        .map(|path| unknown_key_warning(&shown.to_string(), path))
        .collect();
    Ok(Parsed {
        config,
        warnings,
        literal_secrets,
    })
}

/// What to do about a value of the wrong type: the message says which key and what it expects.
const TYPE_HINT: &str =
    "fix the value at that line and column: the message names the key and the type it must have";

/// The first type error of `text`, located by line:column and JSON path.
fn type_error(path: &Path, text: &str) -> AuthError {
    let mut de = serde_json::Deserializer::from_str(text);
    let Err(err) = serde_path_to_error::deserialize::<_, Config>(&mut de) else {
        return AuthError::config(format!("{}: a value has the wrong type", path.display()))
            .with_hint(TYPE_HINT);
    };
    let inner = err.inner();
    AuthError::config(format!(
        "{}:{}:{}: `{}`: {}",
        path.display(),
        inner.line(),
        inner.column(),
        err.path(),
        bare_message(inner)
    ))
    .with_hint(TYPE_HINT)
}

/// Checks what types alone cannot: CIDRs that parse, an `ipCheckUrl` that is a safe URL.
pub(super) fn validate(config: &Config, file: &str) -> Result<(), AuthError> {
    // A typo here would silently trade passphrase protection for a keychain key; the value
    // is not quoted (people paste the passphrase itself into this field).
    let key = config.authentication.storage.encryption_key.as_deref();
    if !matches!(key, None | Some("user-derived-key" | "keychain")) {
        return Err(AuthError::config(format!(
            "{file}: `authentication.storage.encryptionKey` must be \"user-derived-key\" (a passphrase) or \"keychain\" (a random key kept in the keychain)"
        ))
        .with_hint("set it to \"user-derived-key\" to seal the file with a passphrase (which goes in CLAUDE_PASSPHRASE or the prompt, never in the config), or to \"keychain\""));
    }
    crate::policy::ip::parse_ranges(&config.security.ip_restrictions, file)?;
    if let Some(url) = &config.security.ip_check_url {
        crate::policy::ip::parse_check_url(url, file)?;
    }
    Ok(())
}

/// "unknown key `authentication.retryAttempt` … (did you mean `retryAttempts`?)"
///
/// The key is masked if it is shaped like a credential: a key pasted as a member name would
/// otherwise reach stderr and the `--auth-status --json` document, which errors never do.
pub(super) fn unknown_key_warning(file: &str, path: &[String]) -> String {
    let (key, parent) = path
        .split_last()
        .expect("serde_ignored reports non-empty paths");
    let mut text = format!(
        "{file}: unknown key `{}` is ignored",
        shown_key(&path.join("."))
    );
    if let Some(better) = suggest(key, known_keys(parent)) {
        text.push_str(&format!(" (did you mean `{better}`?)"));
    }
    text
}

/// A key name from a file, as a warning may quote it: on one line (a name holding `\n`
/// would print a line of its own) and with anything credential-shaped masked (people paste
/// keys where a name goes).
pub(super) fn shown_key(name: &str) -> String {
    crate::terminal_text::single_line(&crate::redact::scrub_secrets(name))
}

/// serde_ignored's path as its segments.
pub(super) fn segments(path: &serde_ignored::Path<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = path;
    loop {
        match current {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                out.push(index.to_string());
                current = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                out.push(key.clone());
                current = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => current = parent,
        }
    }
    out.reverse();
    out
}

/// serde_json's message without its trailing " at line L column C".
pub(super) fn bare_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Paths of `apiKey` values written in the file rather than taken from `${VAR}`.
fn literal_secret_paths(raw: &serde_json::Value) -> Vec<String> {
    let literal = |value: Option<&serde_json::Value>| {
        value
            .and_then(|v| v.as_str())
            .is_some_and(|s| !s.replace("$${", "").contains("${"))
    };
    let mut paths = Vec::new();
    if literal(raw.get("apiKey")) {
        paths.push("apiKey".to_string());
    }
    // A command line may carry a key too (`echo sk-ant-…`, `curl -u me:ghp_…`).
    for command in ["apiKeyHelper", "awsCredentialExport", "awsAuthRefresh"] {
        if raw
            .get(command)
            .and_then(|v| v.as_str())
            .is_some_and(crate::redact::holds_credential)
        {
            paths.push(command.to_string());
        }
    }
    if let Some(envs) = raw.get("environments").and_then(|v| v.as_object()) {
        for (name, env) in envs {
            if literal(env.get("apiKey")) {
                paths.push(format!("environments.{name}.apiKey"));
            }
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Parsed, AuthError> {
        parse(Path::new("c.json"), text, &|_| None, None, None)
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = parse_str("{\n  \"model\": \"x\",\n}").err().unwrap();
        assert!(
            err.message().starts_with("c.json:3:1: invalid JSON"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn type_error_names_the_json_path() {
        let err = parse_str(r#"{"authentication": {"timeout": "30s"}}"#)
            .err()
            .unwrap();
        assert!(
            err.message().contains("`authentication.timeout`"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn unselected_environments_are_not_interpolated() {
        let text = r#"{"environments": {"dev": {"apiKey": "${UNSET_DEV_KEY}"}, "prod": {"authentication": "oauth"}}}"#;
        let parsed = parse(Path::new("c.json"), text, &|_| None, Some("prod"), None)
            .ok()
            .unwrap();
        assert!(
            parsed.config.environments.contains_key("dev"),
            "known names are kept"
        );
        assert!(parse(Path::new("c.json"), text, &|_| None, Some("dev"), None).is_err());
    }

    #[test]
    fn malformed_cidr_is_a_config_error() {
        let err = parse_str(r#"{"security": {"ipRestrictions": ["10.0.0.0/8", "10.0.0/33"]}}"#)
            .err()
            .unwrap();
        assert!(
            err.message().contains("ipRestrictions[1]"),
            "{}",
            err.message()
        );
        assert!(parse_str(r#"{"security": {"ipRestrictions": ["::1", "2001:db8::/32"]}}"#).is_ok());
    }

    #[test]
    fn escaped_dollar_is_still_a_literal_secret() {
        let parsed = parse_str(r#"{"apiKey": "sk-ant-api03-x$${y}"}"#)
            .ok()
            .unwrap();
        assert_eq!(parsed.literal_secrets, vec!["apiKey".to_string()]);
    }

    #[test]
    fn unknown_key_warning_masks_a_pasted_key() {
        let text = r#"{"sk-ant-api03-abcdefghijklmnopWXYZ": true}"#;
        let parsed = parse_str(text).ok().unwrap();
        assert_eq!(
            parsed.warnings,
            vec!["c.json: unknown key `sk-ant-api03-…WXYZ` is ignored".to_string()]
        );
    }

    #[test]
    fn unknown_key_warns_with_suggestion() {
        let parsed = parse_str(r#"{"authentication": {"retryAttempt": 2}}"#)
            .ok()
            .unwrap();
        assert_eq!(parsed.warnings.len(), 1);
        assert!(
            parsed.warnings[0].contains("did you mean `retryAttempts`"),
            "{}",
            parsed.warnings[0]
        );
    }
}
