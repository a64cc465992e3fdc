//! The command line: every action is a flag, one action per call (a clap `ArgGroup`).

use crate::error::exit_codes_help;
use crate::secret::Secret;
use clap::{ArgAction, ArgGroup, Parser};
use std::path::PathBuf;

/// After the options: examples, then every exit status with its code, generated from the
/// error table so a new code cannot be missing here.
const AFTER_HELP: &str = concat!(
    "\
Examples:
  claude --auth-status                      what is in force, from where, what it shadows
  claude --set-api-key                      store a key (hidden prompt), after checking it
  echo \"$KEY\" | claude --set-api-key -      the same from a script
  claude --test-api-key                     check the key in force against the API
  claude --rotate-key                       replace the stored key with a new, checked one
  claude --auth-status --json               the same facts as one JSON document

",
    exit_codes_help!()
);

/// `claude`: log in, store and check credentials for Claude.
#[derive(Debug, Parser)]
#[command(
    name = "claude",
    version,
    about = "Manage Claude credentials: API keys, logins, providers and policy",
    after_help = AFTER_HELP,
    arg_required_else_help = true,
    disable_help_subcommand = true,
    max_term_width = 100
)]
#[command(group(ArgGroup::new("action").multiple(false).args([
    "slash", "auth_status", "set_api_key", "remove_api_key", "test_api_key", "validate_key",
    "rotate_key", "set_storage", "login", "logout", "list_sessions", "print_token", "subscription_status",
    "manage_subscription", "enable_mfa", "show_auth_logs", "test_auth", "check_permissions",
    "reset_auth", "debug_auth",
])))]
pub struct Cli {
    /// Slash command: `/upgrade`, `/cost` or `/install-github-app`
    #[arg(value_name = "COMMAND", value_parser = ["/upgrade", "/cost", "/install-github-app"])]
    pub slash: Option<String>,

    /// Show the credential in force, where it came from and what it shadows (offline)
    #[arg(long, help_heading = "Status")]
    pub auth_status: bool,

    /// Store an API key after checking it; no value: hidden prompt (TTY) or stdin; `-`: stdin
    #[arg(long, value_name = "KEY", num_args = 0..=1, help_heading = "API keys")]
    #[arg(value_parser = crate::secret::from_arg)]
    pub set_api_key: Option<Option<Secret<String>>>,
    /// Forget the stored API key
    #[arg(long, help_heading = "API keys")]
    pub remove_api_key: bool,
    /// Check the API key in force against the API and say where it came from
    #[arg(long, help_heading = "API keys")]
    pub test_api_key: bool,
    /// Check a key's format offline, then against the API, without storing it (no value:
    /// prompt/stdin)
    #[arg(long, value_name = "KEY", num_args = 0..=1, help_heading = "API keys")]
    #[arg(value_parser = crate::secret::from_arg)]
    pub validate_key: Option<Option<Secret<String>>>,
    /// Replace the stored key with a new one, checked before the swap (no value: prompt/stdin)
    #[arg(long, value_name = "KEY", num_args = 0..=1, help_heading = "API keys")]
    #[arg(value_parser = crate::secret::from_arg)]
    pub rotate_key: Option<Option<Secret<String>>>,

    /// Move every stored credential to `keychain` or `encrypted-file` (a file sealed with a
    /// passphrase) and record the choice in the config
    #[arg(long, value_name = "TYPE", help_heading = "Storage")]
    #[arg(value_parser = ["keychain", "encrypted-file"])]
    pub set_storage: Option<String>,

    /// Log in with OAuth 2.0 (browser, or paste/device code without one)
    #[arg(long, help_heading = "Login and sessions")]
    pub login: bool,
    /// Log out of the current session (`--all`: every session)
    #[arg(long, help_heading = "Login and sessions")]
    pub logout: bool,
    /// List sessions
    #[arg(long, help_heading = "Login and sessions")]
    pub list_sessions: bool,
    /// Print the access token or key in force, for another program
    #[arg(long, help_heading = "Login and sessions")]
    pub print_token: bool,
    /// With `--login`/`--logout`: `anthropic`, `github` or a configured provider
    #[arg(long, value_name = "NAME", help_heading = "Login and sessions")]
    pub provider: Option<String>,
    /// With `--login`: space-separated scopes, e.g. "read write"
    #[arg(
        long,
        value_name = "SCOPES",
        requires = "login",
        help_heading = "Login and sessions"
    )]
    pub scopes: Option<String>,
    /// With `--logout`: every session
    #[arg(long, requires = "logout", help_heading = "Login and sessions")]
    pub all: bool,

    /// Show plan, status and usage
    #[arg(long, help_heading = "Subscription")]
    pub subscription_status: bool,
    /// Open the subscription management page
    #[arg(long, help_heading = "Subscription")]
    pub manage_subscription: bool,
    /// With `/upgrade`: upgrade to Claude Max
    #[arg(long, help_heading = "Subscription")]
    pub claude_max: bool,
    /// With `/cost`: per-model breakdown
    #[arg(long, help_heading = "Subscription")]
    pub detailed: bool,

    /// Enroll a TOTP second factor (QR code and otpauth:// URI, confirmed by a first code)
    #[arg(long, help_heading = "Security")]
    pub enable_mfa: bool,
    /// The current second-factor code, for scripts (`-`: read it from stdin; else
    /// CLAUDE_MFA_CODE, else a hidden prompt)
    #[arg(long, value_name = "CODE", help_heading = "Security")]
    #[arg(value_parser = crate::secret::from_arg)]
    pub mfa_code: Option<Secret<String>>,
    /// Show the audit log
    #[arg(long, help_heading = "Security")]
    pub show_auth_logs: bool,
    /// With `--show-auth-logs`: check the log's HMAC chain and name the first bad line
    #[arg(long, requires = "show_auth_logs", help_heading = "Security")]
    pub verify: bool,
    /// With `--show-auth-logs`: entries newer than this (e.g. `1h`, `7d`)
    #[arg(
        long,
        value_name = "AGE",
        requires = "show_auth_logs",
        help_heading = "Security"
    )]
    pub since: Option<String>,

    /// Test authentication end to end, step by step
    #[arg(long, help_heading = "Troubleshooting")]
    pub test_auth: bool,
    /// Compare required and granted permissions
    #[arg(long, help_heading = "Troubleshooting")]
    pub check_permissions: bool,
    /// Remove stored keys, tokens and sessions (keeps config)
    #[arg(long, help_heading = "Troubleshooting")]
    pub reset_auth: bool,
    /// `--test-auth` with a trace of every step and HTTP exchange (secrets redacted)
    #[arg(long, help_heading = "Troubleshooting")]
    pub debug_auth: bool,

    /// Use this API key for this call (`-`: read it from stdin; argv is visible in `ps`)
    #[arg(
        long,
        value_name = "KEY",
        global = true,
        help_heading = "Global options"
    )]
    #[arg(value_parser = crate::secret::from_arg)]
    pub api_key: Option<Secret<String>>,
    /// Configuration file [default: $CLAUDE_CONFIG_DIR/config.json; env: CLAUDE_CONFIG]
    #[arg(
        long,
        value_name = "PATH",
        global = true,
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,
    /// Environment from `environments` in the config [env: CLAUDE_ENV]
    #[arg(
        long = "env",
        value_name = "NAME",
        global = true,
        help_heading = "Global options"
    )]
    pub environment: Option<String>,
    /// Machine-readable output: one JSON document on stdout
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    /// Answer yes to confirmation prompts
    #[arg(long, short = 'y', global = true, help_heading = "Global options")]
    pub yes: bool,
    /// Never open a browser
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_browser: bool,
    /// More detail on stderr (repeatable)
    #[arg(long, short = 'v', action = ArgAction::Count, global = true, help_heading = "Global options")]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(
        long,
        short = 'q',
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,
}

/// The one thing a call does.
#[derive(Debug, Clone)]
pub enum Action {
    AuthStatus,
    SetApiKey(Option<Secret<String>>),
    RemoveApiKey,
    TestApiKey,
    ValidateKey(Option<Secret<String>>),
    RotateKey(Option<Secret<String>>),
    /// `--set-storage TYPE`.
    SetStorage(crate::config::schema::StorageKind),
    Login,
    Logout,
    ListSessions,
    PrintToken,
    TestAuth,
    DebugAuth,
    CheckPermissions,
    ResetAuth,
    /// `/install-github-app`.
    InstallGithubApp,
    EnableMfa,
    ShowAuthLogs,
    /// A flag that parses but whose feature this version does not have yet.
    Unavailable(&'static str),
}

impl Cli {
    /// The action the user asked for (clap guarantees there is exactly one).
    pub fn action(&self) -> Action {
        if self.auth_status {
            return Action::AuthStatus;
        }
        if let Some(arg) = &self.set_api_key {
            return Action::SetApiKey(arg.clone());
        }
        if self.remove_api_key {
            return Action::RemoveApiKey;
        }
        if self.test_api_key {
            return Action::TestApiKey;
        }
        if let Some(arg) = &self.validate_key {
            return Action::ValidateKey(arg.clone());
        }
        if let Some(arg) = &self.rotate_key {
            return Action::RotateKey(arg.clone());
        }
        if let Some(kind) = &self.set_storage {
            return Action::SetStorage(match kind.as_str() {
                "keychain" => crate::config::schema::StorageKind::Keychain,
                _ => crate::config::schema::StorageKind::EncryptedFile,
            });
        }
        if self.login {
            return Action::Login;
        }
        if self.logout {
            return Action::Logout;
        }
        if self.list_sessions {
            return Action::ListSessions;
        }
        if self.print_token {
            return Action::PrintToken;
        }
        if self.test_auth {
            return Action::TestAuth;
        }
        if self.debug_auth {
            return Action::DebugAuth;
        }
        if self.check_permissions {
            return Action::CheckPermissions;
        }
        if self.reset_auth {
            return Action::ResetAuth;
        }
        if self.slash.as_deref() == Some("/install-github-app") {
            return Action::InstallGithubApp;
        }
        if self.enable_mfa {
            return Action::EnableMfa;
        }
        if self.show_auth_logs {
            return Action::ShowAuthLogs;
        }
        let later: [(bool, &'static str); 3] = [
            (self.subscription_status, "--subscription-status"),
            (self.manage_subscription, "--manage-subscription"),
            (self.slash.is_some(), "slash command"),
        ];
        let flag = later.iter().find(|(set, _)| *set).map(|(_, flag)| *flag);
        match (flag, &self.slash) {
            (Some("slash command"), Some(slash)) => Action::Unavailable(match slash.as_str() {
                "/upgrade" => "/upgrade",
                "/cost" => "/cost",
                _ => "/install-github-app",
            }),
            (Some(flag), _) => Action::Unavailable(flag),
            (None, _) => Action::AuthStatus,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn two_actions_are_a_usage_error_naming_both() {
        let err = Cli::try_parse_from(["claude", "--login", "--logout"]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("--login") && text.contains("--logout"),
            "{text}"
        );
    }
}
