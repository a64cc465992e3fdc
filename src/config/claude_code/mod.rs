//! Claude Code's own settings, read where they decide credentials: `settings.json` in the
//! state directory (`$CLAUDE_CONFIG_DIR`, else `~/.claude`) shares this tool's directory, and
//! its `apiKeyHelper`, `awsAuthRefresh`, `awsCredentialExport` and `env` block choose the
//! credential Claude Code uses. Everything else in the file is Claude Code's business and is
//! ignored without a word.
//!
//! The rules (docs/configuration.md, "Claude Code's settings.json"):
//! - the file gets the checks `config.json` gets (owner, no group/other write, a credential
//!   in `env` needs a private file), a 1 MiB cap and one parse; a file that is not JSON is a
//!   warning naming line:column and is then ignored, as Claude Code ignores it;
//! - this tool's `config.json` wins over it for the three commands (it is explicit to this
//!   tool); the one it shadows is still listed;
//! - its `env` is applied over the process environment, as Claude Code applies it over the
//!   shell's, into the [`Env`] snapshot only (the process environment is never changed);
//! - project files (`./.claude/settings.json`, `settings.local.json`) are never used for
//!   credentials ([`project`]);
//! - a `claude` started by one of its own helpers runs no helper (the recursion guard,
//!   [`envvars::CLAUDE_AUTH_HELPER_CHILD`]).

pub mod project;
pub mod report;

use crate::envvars::{self, Env};
use crate::error::AuthError;
use serde_json::Value;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Claude Code's settings file, in the state directory.
pub const FILE_NAME: &str = "settings.json";
/// The largest settings file read (Claude Code's own are a few KiB).
const MAX_BYTES: u64 = 1 << 20;

/// Where a credential setting or variable was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// This tool's own configuration file, or the process environment.
    Own,
    /// Claude Code's user settings at this path (a key, or its `env` block).
    Settings(PathBuf),
}

impl Origin {
    /// The settings file, when the value came from one.
    pub fn settings_file(&self) -> Option<&Path> {
        match self {
            Origin::Own => None,
            Origin::Settings(path) => Some(path),
        }
    }
}

/// The commands that both this tool's config and Claude Code's settings may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelperKey {
    ApiKeyHelper,
    AwsAuthRefresh,
    AwsCredentialExport,
}

impl HelperKey {
    pub const ALL: [HelperKey; 3] = [
        HelperKey::ApiKeyHelper,
        HelperKey::AwsAuthRefresh,
        HelperKey::AwsCredentialExport,
    ];

    /// The key as both files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            HelperKey::ApiKeyHelper => "apiKeyHelper",
            HelperKey::AwsAuthRefresh => "awsAuthRefresh",
            HelperKey::AwsCredentialExport => "awsCredentialExport",
        }
    }
}

/// A helper command and the file it was set in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Helper {
    pub command: String,
    pub origin: Origin,
}

impl Helper {
    /// "in the config" or "in /home/me/.claude/settings.json (Claude Code's settings)".
    pub fn place(&self) -> String {
        match &self.origin {
            Origin::Own => "in the config".to_string(),
            Origin::Settings(path) => {
                format!("in {} (Claude Code's settings)", path.display())
            }
        }
    }
}

/// One helper command present, in the order it is considered, and why it is not run when
/// it is not.
#[derive(Clone, Debug)]
pub struct Listed {
    pub helper: Helper,
    pub skipped: Option<String>,
}

/// What became of one variable of the `env` block.
#[derive(Clone, Debug)]
pub struct EnvEntry {
    pub name: String,
    /// `None`: applied. `Some(why)`: left out.
    pub ignored: Option<&'static str>,
    /// The process environment held another value, which this one replaced.
    pub replaced: bool,
}

/// Claude Code's user settings as far as they decide credentials.
#[derive(Default)]
pub struct Settings {
    /// `STATE_DIR/settings.json`.
    pub path: PathBuf,
    /// The file exists (whether or not it could be used).
    pub found: bool,
    /// Its keys are used: it exists and is a JSON object.
    pub read: bool,
    api_key_helper: Option<String>,
    aws_auth_refresh: Option<String>,
    aws_credential_export: Option<String>,
    /// The `env` block as read, until [`Settings::apply_env`] applies it.
    env: Vec<(String, Zeroizing<String>)>,
    /// Each variable of the `env` block, after [`Settings::apply_env`].
    pub applied: Vec<EnvEntry>,
    /// The recursion guard is on: this process was started by one of this tool's helpers.
    pub guard: bool,
    /// The directory project settings would be read from (the working directory).
    pub project_dir: Option<PathBuf>,
    /// What the user should hear about the file (a syntax error, a value of the wrong type).
    pub warnings: Vec<String>,
}

/// Variables an `env` block may not set here, and why.
fn not_applied(name: &str) -> Option<&'static str> {
    match name {
        envvars::CLAUDE_CONFIG_DIR | envvars::HOME => {
            Some("it locates the files already read, this one included")
        }
        envvars::CLAUDE_CONFIG => {
            Some("Claude Code's settings do not choose this tool's configuration file")
        }
        envvars::CLAUDE_AUTH_HELPER_CHILD => {
            Some("it is this tool's recursion guard, which only this tool sets")
        }
        envvars::CLAUDE_MANAGED_SETTINGS_DIR => Some("it is a test switch of debug builds"),
        _ if name.starts_with("CLAUDE_TEST_") => Some("it is a test switch of debug builds"),
        _ => None,
    }
}

/// Whether `name` decides which credential is used or where it is sent: the variables
/// status reports when an `env` block sets them.
pub fn decides_credentials(name: &str) -> bool {
    const NAMES: [&str; 22] = [
        envvars::ANTHROPIC_API_KEY,
        envvars::ANTHROPIC_AUTH_TOKEN,
        envvars::ANTHROPIC_BASE_URL,
        envvars::ANTHROPIC_ADMIN_API_KEY,
        envvars::ANTHROPIC_ADMIN_BASE_URL,
        envvars::ANTHROPIC_BEDROCK_BASE_URL,
        envvars::ANTHROPIC_VERTEX_BASE_URL,
        envvars::ANTHROPIC_VERTEX_PROJECT_ID,
        envvars::CLAUDE_CODE_OAUTH_TOKEN,
        envvars::CLAUDE_CODE_API_KEY_HELPER_TTL_MS,
        envvars::CLAUDE_CODE_USE_BEDROCK,
        envvars::CLAUDE_CODE_USE_VERTEX,
        envvars::CLAUDE_CODE_SKIP_BEDROCK_AUTH,
        envvars::CLAUDE_CODE_SKIP_VERTEX_AUTH,
        envvars::CLOUD_ML_REGION,
        envvars::CLOUDSDK_CONFIG,
        envvars::GCE_METADATA_HOST,
        envvars::GCE_METADATA_IP,
        envvars::CLAUDE_CA_BUNDLE,
        envvars::CLAUDE_ENV,
        envvars::CLAUDE_KEYCHAIN_SERVICE,
        envvars::CLAUDE_PASSPHRASE,
    ];
    let upper = name.to_ascii_uppercase();
    NAMES.contains(&name)
        || name.starts_with("AWS_")
        || name.starts_with("GOOGLE_")
        || ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"].contains(&upper.as_str())
        || not_applied(name).is_some()
}

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
                super::load::bare_message(&err)
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
    let mut string = |key: HelperKey| match fields.get(key.as_str()) {
        None | Some(Value::Null) => None,
        Some(Value::String(command)) => Some(command.clone()).filter(|c| !c.trim().is_empty()),
        Some(_) => {
            settings.warnings.push(format!(
                "{shown}: `{}` must be a string (a command line); it is ignored",
                key.as_str()
            ));
            None
        }
    };
    let api_key_helper = string(HelperKey::ApiKeyHelper);
    let aws_auth_refresh = string(HelperKey::AwsAuthRefresh);
    let aws_credential_export = string(HelperKey::AwsCredentialExport);
    settings.api_key_helper = api_key_helper;
    settings.aws_auth_refresh = aws_auth_refresh;
    settings.aws_credential_export = aws_credential_export;
    settings.env = env_block(fields.get("env"), &shown, &mut settings.warnings);
    if !private {
        if let Some((name, _)) = settings.env.iter().find(|(name, value)| {
            !value.is_empty()
                && (crate::process::is_secret_variable(std::ffi::OsStr::new(name))
                    || value.contains("sk-ant-"))
        }) {
            return Err(AuthError::config(format!(
                "{shown} holds a credential at `env.{name}` but other users can read it; it decides where credentials are sent, so it is not used"
            ))
            .with_hint(format!("run `chmod 600 {shown}`")));
        }
    }
    Ok(settings)
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
        let valid_name = !name.is_empty() && !name.contains(['=', '\0']);
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
    use std::io::Read;
    let refused = |err: std::io::Error| {
        AuthError::config(format!(
            "cannot read Claude Code's settings {}",
            path.display()
        ))
        .caused_by(err)
        .with_hint("check the file's permissions, or move it away to run without it")
    };
    // Non-blocking: a FIFO planted at the path must not hang the command.
    let file = match crate::storage::atomic::open_nonblocking(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(refused(err)),
    };
    let meta = file.metadata().map_err(refused)?;
    if !meta.is_file() {
        return Err(AuthError::config(format!(
            "{} is not a regular file; Claude Code's settings must be one",
            path.display()
        ))
        .with_hint("replace it with a JSON file, or remove it"));
    }
    crate::storage::ownership::check_config(path, &meta)?;
    let private = crate::storage::ownership::unix_mode(&meta).is_none_or(|mode| mode & 0o077 == 0);
    let mut text = String::new();
    file.take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(refused)?;
    if text.len() as u64 > MAX_BYTES {
        return Err(AuthError::config(format!(
            "{} is larger than 1 MiB; that is not a settings file",
            path.display()
        ))
        .with_hint("check the file's contents, or move it away"));
    }
    Ok(Some((text, private)))
}

impl Settings {
    /// Settings that decide nothing, after `failure` (for `--logout` and `--reset-auth`,
    /// which must work when the file is what is broken).
    pub fn recovered(state_dir: &Path, failure: &AuthError) -> Settings {
        Settings {
            path: state_dir.join(FILE_NAME),
            found: true,
            warnings: vec![format!(
                "{} (going on without Claude Code's settings)",
                failure.message()
            )],
            ..Settings::default()
        }
    }

    /// Applies the `env` block over `env`, as Claude Code applies it over the shell's
    /// variables: a value in the file replaces the process's (an empty one unsets it).
    /// The process environment itself is never changed.
    pub fn apply_env(&mut self, env: &mut Env) {
        for (name, value) in std::mem::take(&mut self.env) {
            let ignored = not_applied(&name);
            let replaced = ignored.is_none()
                && env
                    .raw(&name)
                    .is_some_and(|old| !old.is_empty() && old != value.as_str());
            if ignored.is_none() {
                env.set(&name, &value);
            }
            self.applied.push(EnvEntry {
                name,
                ignored,
                replaced,
            });
        }
    }

    /// Where the variable `name` in force came from.
    pub fn origin_of(&self, name: &str) -> Origin {
        let applied = self
            .applied
            .iter()
            .any(|entry| entry.name == name && entry.ignored.is_none());
        if applied {
            Origin::Settings(self.path.clone())
        } else {
            Origin::Own
        }
    }

    /// " (set by the `env` block of FILE)" when `name` came from this file, else "".
    pub fn variable_note(&self, name: &str) -> String {
        match self.origin_of(name) {
            Origin::Own => String::new(),
            Origin::Settings(path) => format!(" (set by the `env` block of {})", path.display()),
        }
    }

    fn value(&self, key: HelperKey) -> Option<&str> {
        match key {
            HelperKey::ApiKeyHelper => self.api_key_helper.as_deref(),
            HelperKey::AwsAuthRefresh => self.aws_auth_refresh.as_deref(),
            HelperKey::AwsCredentialExport => self.aws_credential_export.as_deref(),
        }
    }

    /// Every `key` command present, the config's (`own`) first: this tool's configuration is
    /// explicit to it, so it wins. Each says why it would not be run, when it would not; a
    /// command that is not run counts as absent, so the next one is used.
    pub fn helpers(&self, key: HelperKey, own: Option<&str>) -> Vec<Listed> {
        let own = own
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|command| Helper {
                command: command.to_string(),
                origin: Origin::Own,
            });
        let theirs = self.value(key).map(|command| Helper {
            command: command.trim().to_string(),
            origin: Origin::Settings(self.path.clone()),
        });
        own.into_iter()
            .chain(theirs)
            .map(|helper| Listed {
                skipped: self.skip_reason(key, &helper.command),
                helper,
            })
            .collect()
    }

    /// The `key` command in force, if any (see [`Settings::helpers`]).
    pub fn helper(&self, key: HelperKey, own: Option<&str>) -> Option<Helper> {
        self.helpers(key, own)
            .into_iter()
            .find(|listed| listed.skipped.is_none())
            .map(|listed| listed.helper)
    }

    fn skip_reason(&self, key: HelperKey, command: &str) -> Option<String> {
        if self.guard {
            return Some(format!(
                "not run: this claude was started by one of its own helpers ({} is set), and running a helper from here could start the same command again without end",
                envvars::CLAUDE_AUTH_HELPER_CHILD
            ));
        }
        (key == HelperKey::ApiKeyHelper && runs_this_tool(command)).then(|| {
            "not run: it is this tool's own `claude --print-token`, which would answer with the credential that comes after it".to_string()
        })
    }
}

/// Whether `command` runs this tool's `--print-token` directly (`claude --print-token …`,
/// `/usr/local/bin/claude --print-token --format apikeyhelper -q`): the helper docs/login.md
/// gives Claude Code. Run from here, it would answer with the next source anyway. Indirect
/// forms (a wrapper script) are stopped by the recursion guard instead.
pub fn runs_this_tool(command: &str) -> bool {
    let mut words = command
        .split_whitespace()
        .map(|w| w.trim_matches(['"', '\'']));
    let program = words.next().unwrap_or_default();
    let name = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name == "claude" && words.any(|w| w == "--print-token" || w.starts_with("--print-token="))
}

#[cfg(test)]
mod tests;
