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
//! - managed settings (`crate::config::managed`, root-owned) may set the same keys, and
//!   win over everything: their helpers over the config's and this file's, their `env` over
//!   this file's and the shell's, as Claude Code gives managed settings the last word
//!   ([`ManagedKeys`]);
//! - project files (`./.claude/settings.json`, `settings.local.json`) are never used for
//!   credentials ([`project`]);
//! - a `claude` started by one of its own helpers runs no helper (the recursion guard,
//!   [`envvars::CLAUDE_AUTH_HELPER_CHILD`]).

pub mod project;
mod read;
pub mod report;

pub use read::{keys, read};

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
    /// The managed settings file at this path (the last, in merge order, that set it).
    Managed(PathBuf),
}

impl Origin {
    /// The settings file, when the value came from one (the user's or a managed one).
    pub fn settings_file(&self) -> Option<&Path> {
        match self {
            Origin::Own => None,
            Origin::Settings(path) | Origin::Managed(path) => Some(path),
        }
    }

    /// For a variable: "the `env` block of FILE" when a settings file set it.
    pub fn set_by(&self) -> Option<String> {
        match self {
            Origin::Own => None,
            Origin::Settings(path) => Some(format!("the `env` block of {}", path.display())),
            Origin::Managed(path) => Some(format!(
                "the `env` block of managed settings {}",
                path.display()
            )),
        }
    }

    /// For a variable: ", set by the `env` block of FILE" when a file set it, else "".
    pub fn note(&self) -> String {
        self.set_by()
            .map(|by| format!(", set by {by}"))
            .unwrap_or_default()
    }

    /// How the user stops using what this origin set: the user cannot edit managed
    /// settings, so they are told who can.
    pub fn removal(&self) -> Option<String> {
        match self {
            Origin::Own => None,
            Origin::Settings(path) => Some(format!("remove it from {}", path.display())),
            Origin::Managed(path) => Some(format!(
                "it is set by managed settings {}, which only an administrator can change",
                path.display()
            )),
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
    /// "in the config", "in Claude Code's /home/me/.claude/settings.json" or "in managed
    /// settings /etc/claude-code/managed-settings.json".
    pub fn place(&self) -> String {
        match &self.origin {
            Origin::Own => "in the config".to_string(),
            Origin::Settings(path) => format!("in Claude Code's {}", path.display()),
            Origin::Managed(path) => format!("in managed settings {}", path.display()),
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

/// What became of one variable of an `env` block (the user's settings' or a managed one).
#[derive(Clone, Debug)]
pub struct EnvEntry {
    pub name: String,
    /// The file whose `env` block set it.
    pub origin: Origin,
    /// `None`: applied. `Some(why)`: left out.
    pub ignored: Option<String>,
    /// The shell held another value, which this one replaced.
    pub replaced: bool,
}

/// Claude Code's credential keys as the managed files set them, each with the file that
/// set it: the last one in merge order, as the managed module merges its own blocks (a
/// later file wins per key, and per variable of `env`). Only files that passed the managed
/// module's ownership checks get here.
#[derive(Default)]
pub struct ManagedKeys {
    pub helpers: Vec<(HelperKey, String, PathBuf)>,
    pub env: Vec<(String, Zeroizing<String>, PathBuf)>,
}

impl ManagedKeys {
    /// Lays one managed file's keys over those of the files before it.
    pub fn merge(&mut self, keys: Keys, file: &Path) {
        for key in HelperKey::ALL {
            if let Some(command) = keys.value(key) {
                self.helpers.retain(|(k, _, _)| *k != key);
                self.helpers
                    .push((key, command.to_string(), file.to_path_buf()));
            }
        }
        for (name, value) in keys.env {
            self.env.retain(|(n, _, _)| *n != name);
            self.env.push((name, value, file.to_path_buf()));
        }
    }

    /// Each variable of the `env` block and the managed file that sets it.
    pub fn env_files(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.env
            .iter()
            .map(|(name, _, file)| (name.as_str(), file.as_path()))
    }

    fn helper(&self, key: HelperKey) -> Option<Helper> {
        self.helpers
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, command, file)| Helper {
                command: command.trim().to_string(),
                origin: Origin::Managed(file.clone()),
            })
    }
}

/// The credential keys of one settings file, as read (values of the wrong type left out).
#[derive(Default)]
pub struct Keys {
    pub api_key_helper: Option<String>,
    pub aws_auth_refresh: Option<String>,
    pub aws_credential_export: Option<String>,
    pub env: Vec<(String, Zeroizing<String>)>,
}

impl Keys {
    fn value(&self, key: HelperKey) -> Option<&str> {
        match key {
            HelperKey::ApiKeyHelper => self.api_key_helper.as_deref(),
            HelperKey::AwsAuthRefresh => self.aws_auth_refresh.as_deref(),
            HelperKey::AwsCredentialExport => self.aws_credential_export.as_deref(),
        }
    }
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
    /// Its credential keys; the `env` block only until [`Settings::apply_env`] applies it.
    keys: Keys,
    /// The same keys in managed settings, which win; `env` likewise until applied.
    pub managed: ManagedKeys,
    /// Each variable of the `env` blocks (the user's file's, then the managed files'),
    /// after [`Settings::apply_env`].
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
            keys: Keys {
                api_key_helper: Some(command.to_string()),
                ..Keys::default()
            },
            guard,
            ..Settings::default()
        }
    }

    /// Applies the `env` block over `env`, as Claude Code applies it over the shell's
    /// variables: a value in the file replaces the process's (an empty one unsets it). Then
    /// the managed files' `env` over both: policy, which neither the user's file nor the
    /// shell can override. The process environment itself is never changed.
    pub fn apply_env(&mut self, env: &mut Env) {
        let shell = |env: &Env, name: &str| env.raw(name).map(str::to_string);
        let managed = std::mem::take(&mut self.managed.env);
        // What the shell held, before the user's file changes it: "replaced" is about it.
        let shell_values: Vec<Option<String>> = managed
            .iter()
            .map(|(name, _, _)| shell(env, name))
            .collect();
        let origin = Origin::Settings(self.path.clone());
        for (name, value) in std::mem::take(&mut self.keys.env) {
            let ignored = not_applied(&name).map(str::to_string);
            let replaced = ignored.is_none()
                && env
                    .raw(&name)
                    .is_some_and(|old| !old.is_empty() && old != value.as_str());
            if ignored.is_none() {
                env.set(&name, &value);
            }
            self.applied.push(EnvEntry {
                name,
                origin: origin.clone(),
                ignored,
                replaced,
            });
        }
        for ((name, value, file), before) in managed.into_iter().zip(shell_values) {
            let ignored = not_applied(&name).map(str::to_string);
            let replaced = ignored.is_none()
                && before.is_some_and(|old| !old.is_empty() && old != value.as_str());
            if ignored.is_none() {
                env.set(&name, &value);
                let why = format!(
                    "managed settings {} set it too, and they win",
                    file.display()
                );
                for entry in self.applied.iter_mut().filter(|e| e.name == name) {
                    entry.ignored.get_or_insert_with(|| why.clone());
                    entry.replaced = false;
                }
            }
            self.applied.push(EnvEntry {
                name,
                origin: Origin::Managed(file),
                ignored,
                replaced,
            });
        }
        self.managed_proxy_decides_all_spellings(env);
    }

    /// A managed proxy variable decides its whole family: the other spelling takes the same
    /// value, and, when managed settings name a proxy but no exceptions, the user's
    /// `NO_PROXY`/`no_proxy` go (`https_proxy` is read before `HTTPS_PROXY`, and
    /// `NO_PROXY=*` turns every proxy off, so either would route around the policy).
    fn managed_proxy_decides_all_spellings(&self, env: &mut Env) {
        const FAMILY: [[&str; 2]; 4] = [
            ["HTTPS_PROXY", "https_proxy"],
            ["HTTP_PROXY", "http_proxy"],
            ["ALL_PROXY", "all_proxy"],
            ["NO_PROXY", "no_proxy"],
        ];
        let managed = |name: &str| {
            self.applied.iter().any(|e| {
                e.name == name && e.ignored.is_none() && matches!(e.origin, Origin::Managed(_))
            })
        };
        let mut sets_a_proxy = false;
        for pair in FAMILY {
            let Some(value) = pair
                .iter()
                .find(|name| managed(name))
                .and_then(|name| env.raw(name).map(str::to_string))
            else {
                continue;
            };
            sets_a_proxy |= pair[0] != "NO_PROXY";
            for name in pair {
                env.set(name, &value);
            }
        }
        if sets_a_proxy && !managed("NO_PROXY") && !managed("no_proxy") {
            env.remove("NO_PROXY");
            env.remove("no_proxy");
        }
    }

    /// Where the variable `name` in force came from.
    pub fn origin_of(&self, name: &str) -> Origin {
        self.applied
            .iter()
            .rev()
            .find(|entry| entry.name == name && entry.ignored.is_none())
            .map_or(Origin::Own, |entry| entry.origin.clone())
    }

    /// ", set by the `env` block of FILE" when `name` came from a settings file, else "".
    pub fn variable_note(&self, name: &str) -> String {
        self.origin_of(name).note()
    }

    /// Whether Claude Code's keys were found in managed settings.
    pub fn has_managed(&self) -> bool {
        !self.managed.helpers.is_empty()
            || self
                .applied
                .iter()
                .any(|e| matches!(e.origin, Origin::Managed(_)))
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
        let theirs = self.keys.value(key).map(|command| Helper {
            command: command.trim().to_string(),
            origin: Origin::Settings(self.path.clone()),
        });
        self.managed
            .helper(key)
            .into_iter()
            .chain(own)
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
