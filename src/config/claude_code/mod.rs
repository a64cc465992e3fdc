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
mod read;
pub mod report;

pub use read::read;

use crate::envvars::{self, Env};
use crate::error::AuthError;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Claude Code's settings file, in the state directory.
pub const FILE_NAME: &str = "settings.json";

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

    /// For a variable: " (set by the `env` block of FILE)" when the file set it, else "".
    pub fn note(&self) -> String {
        match self {
            Origin::Own => String::new(),
            Origin::Settings(path) => format!(" (set by the `env` block of {})", path.display()),
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
    /// "in the config" or "in Claude Code's /home/me/.claude/settings.json".
    pub fn place(&self) -> String {
        match &self.origin {
            Origin::Own => "in the config".to_string(),
            Origin::Settings(path) => format!("in Claude Code's {}", path.display()),
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
/// A name a shell could export: `[A-Za-z_][A-Za-z0-9_]*`. Anything else in an `env` block
/// is no variable (and may hold line breaks meant to forge lines of status).
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

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

    /// Settings whose file at `path` sets `apiKeyHelper`, with the recursion guard on or
    /// off: for unit tests of resolution.
    #[cfg(test)]
    pub fn with_api_key_helper(path: &Path, command: &str, guard: bool) -> Settings {
        Settings {
            path: path.to_path_buf(),
            found: true,
            read: true,
            api_key_helper: Some(command.to_string()),
            guard,
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
        self.origin_of(name).note()
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
