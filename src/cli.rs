//! The command line: every action is a flag, one action per call (a clap `ArgGroup`).
//! Modifiers declare the actions they belong to (`requires`, `conflicts_with`), so a
//! modifier alone or with an action that ignores it is a usage error. Real Claude Code's
//! words (`claude auth login|logout|status`, `claude setup-token`, `claude help`) are clap
//! subcommands that [`Cli::with_words_applied`] maps onto the same flags.

use crate::error::exit_codes_help;
use crate::secret::Secret;
use clap::{ArgAction, ArgGroup, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
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
  claude --auth-status --check              the same, after asking the server whether it works
  claude auth status                        Claude Code's spelling: the status as JSON

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
    args_conflicts_with_subcommands = true,
    subcommand_value_name = "WORD",
    subcommand_help_heading = "Claude Code's spellings (mapped onto the flags)",
    max_term_width = 100
)]
#[command(group(ArgGroup::new("action").multiple(false).args([
    "slash", "auth_status", "set_api_key", "remove_api_key", "test_api_key", "validate_key",
    "rotate_key", "set_storage", "login", "logout", "list_sessions", "print_token", "subscription_status",
    "manage_subscription", "enable_mfa", "show_auth_logs", "test_auth", "check_permissions",
    "reset_auth", "debug_auth", "completions",
])))]
// What each modifier belongs to (`requires`); `MODIFIERS` repeats it for the conflicts.
#[command(group(ArgGroup::new("takes_provider").multiple(true).args(["login", "logout", "print_token"])))]
#[command(group(ArgGroup::new("takes_no_browser").multiple(true).args(["login", "slash", "manage_subscription"])))]
#[command(group(ArgGroup::new("takes_since").multiple(true).args(["show_auth_logs", "slash"])))]
#[command(group(ArgGroup::new("takes_mfa_code").multiple(true).args(["enable_mfa", "login", "set_api_key", "rotate_key"])))]
pub struct Cli {
    /// Slash command: `/cost`, `/upgrade` or `/install-github-app`
    #[arg(value_name = "/COMMAND", value_parser = ["/upgrade", "/cost", "/install-github-app"])]
    pub slash: Option<String>,

    /// Claude Code's spellings: `auth login|logout|status`, `setup-token`, `help`
    #[command(subcommand)]
    pub word: Option<Word>,

    /// Show the credential in force, where it came from and what it shadows (offline)
    #[arg(long, help_heading = "Status")]
    pub auth_status: bool,
    /// With `--auth-status`: also ask the server whether the credential works (online)
    #[arg(long, requires = "auth_status", help_heading = "Status")]
    pub check: bool,

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
    /// With `--login`, `--logout` or `--print-token`: `anthropic`, `github` or a provider of
    /// `oauth.providers`
    #[arg(
        long,
        value_name = "NAME",
        value_parser = provider_name,
        requires = "takes_provider",
        help_heading = "Login and sessions"
    )]
    pub provider: Option<String>,
    /// With `--print-token`: `plain` (the default), `apikeyhelper` (the key alone, for Claude
    /// Code's `apiKeyHelper`), `env` (an `export` line) or `aws-credential-process` (Bedrock
    /// with AWS keys: the `Version: 1` JSON)
    #[arg(
        long,
        value_name = "FORMAT",
        value_parser = ["plain", "apikeyhelper", "env", "aws-credential-process"],
        requires = "print_token",
        conflicts_with = "json",
        help_heading = "Login and sessions"
    )]
    pub format: Option<String>,
    /// With `--login`: space-separated scopes, e.g. "read write"
    #[arg(
        long,
        value_name = "SCOPES",
        requires = "login",
        help_heading = "Login and sessions"
    )]
    pub scopes: Option<String>,
    /// With `--logout`: every session (not with `--provider`)
    #[arg(
        long,
        requires = "logout",
        conflicts_with = "provider",
        help_heading = "Login and sessions"
    )]
    pub all: bool,

    /// Show plan, status and usage
    #[arg(long, help_heading = "Subscription")]
    pub subscription_status: bool,
    /// Open the subscription management page and wait for the plan to change
    #[arg(long, help_heading = "Subscription")]
    pub manage_subscription: bool,
    /// With `/upgrade`: open the Claude Max page and wait for the plan to change
    #[arg(long, help_heading = "Subscription")]
    pub claude_max: bool,
    /// With `/cost`: cost and tokens per model and day, and the cache hit share
    #[arg(long, help_heading = "Subscription")]
    pub detailed: bool,

    /// Enroll a TOTP second factor (QR code and otpauth:// URI, confirmed by a first code)
    #[arg(long, help_heading = "Security")]
    pub enable_mfa: bool,
    /// The current second-factor code, for scripts (`-`: read it from stdin; else
    /// CLAUDE_MFA_CODE, else a hidden prompt)
    #[arg(
        long,
        value_name = "CODE",
        requires = "takes_mfa_code",
        help_heading = "Security"
    )]
    #[arg(value_parser = crate::secret::from_arg)]
    pub mfa_code: Option<Secret<String>>,
    /// Show the audit log
    #[arg(long, help_heading = "Security")]
    pub show_auth_logs: bool,
    /// With `--show-auth-logs`: check the log's HMAC chain and name the first bad line
    #[arg(
        long,
        requires = "show_auth_logs",
        conflicts_with = "since",
        help_heading = "Security"
    )]
    pub verify: bool,
    /// With `--show-auth-logs`: entries newer than this (e.g. `1h`, `7d`); with `/cost`:
    /// the report's first day (`7d`, `30d`, `2026-11-01`)
    #[arg(
        long,
        value_name = "AGE",
        requires = "takes_since",
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

    /// Print the completion script for SHELL on stdout
    #[arg(
        long,
        value_name = "SHELL",
        conflicts_with = "json",
        help_heading = "Shell integration"
    )]
    pub completions: Option<clap_complete::Shell>,

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
    /// With `--reset-auth`: answer yes to its confirmation prompt
    #[arg(long, short = 'y', requires = "reset_auth", help_heading = "Modifiers")]
    pub yes: bool,
    /// With `--login`, `/install-github-app`, `/upgrade` or `--manage-subscription`: never
    /// open a browser (print the URL)
    #[arg(long, requires = "takes_no_browser", help_heading = "Modifiers")]
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

/// Real Claude Code's spellings, each mapped onto the flags by [`Cli::with_words_applied`].
#[derive(Debug, Subcommand)]
pub enum Word {
    /// `claude auth login|logout|status`: `--login`, `--logout`, `--auth-status --json`
    Auth {
        #[command(subcommand)]
        verb: AuthVerb,
    },
    /// Log in and keep the session for this machine: `--login`
    SetupToken(LoginWords),
}

/// The verbs of `claude auth`.
#[derive(Debug, Subcommand)]
pub enum AuthVerb {
    /// Log in with OAuth 2.0: `--login`
    Login(LoginWords),
    /// Log out: `--logout`
    Logout {
        /// The provider's session: `--provider`
        #[arg(long, value_name = "NAME", value_parser = provider_name)]
        provider: Option<String>,
        /// Every session: `--all`
        #[arg(long, conflicts_with = "provider")]
        all: bool,
    },
    /// The credential in force, as JSON (like Claude Code): `--auth-status --json`
    Status {
        /// Human text instead of JSON (not with `--json`)
        #[arg(long, conflicts_with = "json")]
        text: bool,
    },
}

/// The modifiers of `--login`, for the words that mean it.
#[derive(Debug, Args)]
pub struct LoginWords {
    /// `--provider`
    #[arg(long, value_name = "NAME", value_parser = provider_name)]
    provider: Option<String>,
    /// `--scopes`
    #[arg(long, value_name = "SCOPES")]
    scopes: Option<String>,
    /// `--no-browser`
    #[arg(long)]
    no_browser: bool,
}

/// `--provider NAME`: one syntax for every command. Which names exist depends on the
/// configuration, which `crate::oauth::known_provider` checks once it is loaded.
///
/// # Errors
/// A name that cannot be a provider's (empty, upper case, spaces, punctuation).
pub fn provider_name(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(
            "a provider name is lower-case letters, digits, `-` and `_` (e.g. `anthropic`, `github`)"
                .to_string(),
        )
    }
}

/// Each modifier and the actions that read it. `requires` on the modifier (declared on
/// the field) refuses it alone; [`command`] adds `conflicts_with` every other action, which
/// refuses it beside an action that would ignore it. (clap skips a `requires` whose target
/// conflicts with an argument present, and every action conflicts with every other through
/// the one-action group, so `requires` alone would let `--auth-status --all` through.)
const MODIFIERS: &[(&str, &[&str])] = &[
    ("provider", &["login", "logout", "print_token"]),
    ("format", &["print_token"]),
    ("scopes", &["login"]),
    ("all", &["logout"]),
    ("yes", &["reset_auth"]),
    ("no_browser", &["login", "slash", "manage_subscription"]),
    ("claude_max", &["slash"]),
    ("detailed", &["slash"]),
    ("since", &["show_auth_logs", "slash"]),
    ("verify", &["show_auth_logs"]),
    (
        "mfa_code",
        &["enable_mfa", "login", "set_api_key", "rotate_key"],
    ),
    ("check", &["auth_status"]),
];

/// The clap command: the derive's definition plus the modifiers' conflicts ([`MODIFIERS`]).
/// Parsing, `--completions` and the man page all use this one.
pub fn command() -> clap::Command {
    let mut command = Cli::command();
    let actions: Vec<clap::Id> = command
        .get_groups()
        .find(|g| g.get_id() == "action")
        .map(|g| g.get_args().cloned().collect())
        .unwrap_or_default();
    for (modifier, allowed) in MODIFIERS {
        let others: Vec<clap::Id> = actions
            .iter()
            .filter(|a| !allowed.contains(&a.as_str()))
            .cloned()
            .collect();
        command = command.mut_arg(*modifier, |arg| arg.conflicts_with_all(others));
    }
    command
}

/// Suggestions for what people type out of habit from other tools or by a slip of the
/// finger. clap's own spelling suggestion only measures similarity, so it offered
/// `--reset-auth` for `--stauts`; this replaces it where it would mislead.
mod habits {
    use clap::builder::StyledStr;
    use clap::error::{ContextKind, ContextValue, ErrorKind};

    /// Flag typed → the flag or slash command that does it here.
    const HABITS: &[(&str, &str)] = &[
        ("--status", "--auth-status"),
        ("--whoami", "--auth-status"),
        ("--token", "--print-token"),
        ("--signin", "--login"),
        ("--sign-in", "--login"),
        ("--signout", "--logout"),
        ("--sign-out", "--logout"),
        ("--completion", "--completions"),
        ("--cost", "/cost"),
        ("--usage", "/cost"),
        ("--upgrade", "/upgrade"),
        ("--install-github-app", "/install-github-app"),
    ];

    /// A word given where a slash command goes → what to type instead.
    const WORDS: &[(&str, &str)] = &[
        ("status", "`claude --auth-status` (or `claude auth status`)"),
        (
            "/status",
            "`claude --auth-status` (or `claude auth status`)",
        ),
        ("login", "`claude --login` (or `claude auth login`)"),
        ("/login", "`claude --login` (or `claude auth login`)"),
        ("logout", "`claude --logout` (or `claude auth logout`)"),
        ("/logout", "`claude --logout` (or `claude auth logout`)"),
        ("cost", "`claude /cost`"),
        ("usage", "`claude /cost`"),
        ("/usage", "`claude /cost`"),
        ("upgrade", "`claude /upgrade`"),
        ("whoami", "`claude --auth-status`"),
    ];

    /// Flags a typo must never be steered to: they destroy something, so only the exact
    /// word runs them.
    const NEVER_SUGGESTED: &[&str] = &["--reset-auth"];

    /// Whether clap's suggestion is too unlike what was typed to help: clap takes any
    /// flag close enough by its own measure (`--frobnicate` → `--format`, `--verbose` →
    /// `--verify`), which sends people to a flag that does something else. Below half the
    /// letters in common (edit distance with transpositions), nothing is suggested.
    fn far_from(typed: &str, suggested: &str) -> bool {
        let name = |flag: &str| flag.trim_start_matches('-').to_ascii_lowercase();
        strsim::normalized_damerau_levenshtein(&name(typed), &name(suggested)) < 0.5
    }

    /// clap's usage line for an error lists the flags given and then `[/COMMAND]`, as if a
    /// slash command could follow any action (`claude --reset-auth --yes [/COMMAND]`); it
    /// cannot (one action per call), so the slash command is left out of those lines.
    fn tidy_usage(err: &mut clap::Error) {
        let Some(ContextValue::StyledStr(usage)) = err.get(ContextKind::Usage) else {
            return;
        };
        let plain = usage.to_string();
        if plain.contains("[OPTIONS]") || !plain.contains(" [/COMMAND]") {
            return;
        }
        let tidy = plain.replace(" [/COMMAND]", "");
        err.insert(
            ContextKind::Usage,
            ContextValue::StyledStr(StyledStr::from(tidy)),
        );
    }

    /// Levenshtein distance, for the near misses of `status`.
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut previous = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let here = row[j + 1];
                row[j + 1] = (previous + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(here + 1);
                previous = here;
            }
        }
        row[b.len()]
    }

    /// The suggestion for an unknown flag, if there is a better one than clap's.
    fn instead_of_flag(typed: &str) -> Option<&'static str> {
        if let Some((_, instead)) = HABITS.iter().find(|(habit, _)| *habit == typed) {
            return Some(instead);
        }
        let word = typed.trim_start_matches('-');
        let near = |target: &str| distance(word, target) <= 2;
        if word.len() >= 4 && (near("status") || near("auth-status") || near("authstatus")) {
            return Some("--auth-status");
        }
        None
    }

    /// `err` with the right tip: a known habit or a near miss of `status`, a word given
    /// where a slash command goes, and never a destructive flag for a typo.
    pub fn suggest(mut err: clap::Error, command: &mut clap::Command) -> clap::Error {
        tidy_usage(&mut err);
        match err.kind() {
            ErrorKind::UnknownArgument => {
                let typed = match err.get(ContextKind::InvalidArg) {
                    Some(ContextValue::String(arg)) => {
                        arg.split('=').next().unwrap_or_default().to_string()
                    }
                    _ => return err,
                };
                let clap_said = match err.get(ContextKind::SuggestedArg) {
                    Some(ContextValue::String(s)) => Some(s.clone()),
                    _ => None,
                };
                // clap's other tip, "to pass '--x' as a value, use '-- --x'", cannot help:
                // the one positional takes only the three slash commands.
                err.remove(ContextKind::Suggested);
                let mine = instead_of_flag(&typed);
                let misleading = clap_said
                    .as_deref()
                    .is_some_and(|s| NEVER_SUGGESTED.contains(&s) || far_from(&typed, s));
                if mine.is_none() && !misleading {
                    return err;
                }
                err.remove(ContextKind::SuggestedArg);
                err.remove(ContextKind::Suggested);
                // clap's usage line was built around its suggestion.
                err.insert(
                    ContextKind::Usage,
                    ContextValue::StyledStr(command.render_usage()),
                );
                match mine {
                    Some(slash) if slash.starts_with('/') => {
                        err.insert(
                            ContextKind::Suggested,
                            ContextValue::StyledStrs(vec![StyledStr::from(format!(
                                "did you mean `claude {slash}`? (a slash command, without dashes)"
                            ))]),
                        );
                    }
                    Some(flag) => {
                        err.insert(
                            ContextKind::SuggestedArg,
                            ContextValue::String(flag.to_string()),
                        );
                    }
                    None => {}
                }
                err.with_cmd(command)
            }
            ErrorKind::InvalidValue => {
                let Some(ContextValue::String(value)) = err.get(ContextKind::InvalidValue) else {
                    return err;
                };
                let Some((_, instead)) = WORDS.iter().find(|(w, _)| *w == value.as_str()) else {
                    return err;
                };
                err.insert(
                    ContextKind::Suggested,
                    ContextValue::StyledStrs(vec![StyledStr::from(format!(
                        "did you mean {instead}?"
                    ))]),
                );
                err.with_cmd(command)
            }
            _ => err,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn near_misses_of_status_mean_auth_status() {
            for typed in [
                "--stauts",
                "--statu",
                "--staus",
                "--auth-stauts",
                "--authstatus",
            ] {
                assert_eq!(instead_of_flag(typed), Some("--auth-status"), "{typed}");
            }
            assert_eq!(instead_of_flag("--reset"), None);
        }
    }
}

/// The one thing a call does.
#[derive(Debug, Clone)]
pub enum Action {
    AuthStatus,
    /// `--auth-status --check`: the status after one online check.
    AuthStatusCheck,
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
    /// `--completions SHELL`.
    Completions(clap_complete::Shell),
    /// `/cost [--detailed]`.
    Cost {
        detailed: bool,
    },
    /// `/upgrade [--claude-max]`.
    Upgrade {
        claude_max: bool,
    },
    SubscriptionStatus,
    ManageSubscription,
}

impl Cli {
    /// Parses `std::env::args_os`, maps Claude Code's words onto the flags and applies the
    /// rules clap cannot declare (those that depend on which slash command was given).
    ///
    /// # Errors
    /// Usage errors, help and version, as clap renders them.
    pub fn parse_args() -> Result<Cli, clap::Error> {
        Cli::parse_from_args(std::env::args_os())
    }

    /// Like [`Cli::parse_args`], from `args` (the first is the program name).
    ///
    /// # Errors
    /// As [`Cli::parse_args`].
    pub fn parse_from_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command = command();
        let matches = command
            .try_get_matches_from_mut(args)
            .map_err(|e| habits::suggest(e, &mut command))?;
        Cli::from_arg_matches(&matches)
            .map_err(|e| e.format(&mut command))?
            .with_words_applied()
            .checked()
    }

    /// `claude auth login` → `--login`, and so on: after this, only the flags matter.
    /// (`args_conflicts_with_subcommands` keeps action flags out of a call with a word.)
    pub fn with_words_applied(mut self) -> Cli {
        let login = |cli: &mut Cli, words: LoginWords| {
            cli.login = true;
            cli.provider = words.provider;
            cli.scopes = words.scopes;
            cli.no_browser = words.no_browser;
        };
        match self.word.take() {
            None => {}
            Some(
                Word::SetupToken(words)
                | Word::Auth {
                    verb: AuthVerb::Login(words),
                },
            ) => login(&mut self, words),
            Some(Word::Auth {
                verb: AuthVerb::Logout { provider, all },
            }) => {
                self.logout = true;
                self.provider = provider;
                self.all = all;
            }
            Some(Word::Auth {
                verb: AuthVerb::Status { text },
            }) => {
                self.auth_status = true;
                self.json = !text;
            }
        }
        self
    }

    /// The modifiers that belong to one slash command: clap declares that they need a slash
    /// command (`requires = "slash"`); which one depends on its value, checked here.
    fn checked(self) -> Result<Cli, clap::Error> {
        let slash = self.slash.as_deref();
        let rules: [(bool, &str, &[&str]); 4] = [
            (self.claude_max, "--claude-max", &["/upgrade"]),
            (self.detailed, "--detailed", &["/cost"]),
            (
                self.since.is_some() && !self.show_auth_logs,
                "--since",
                &["/cost"],
            ),
            (
                self.no_browser && !self.login && !self.manage_subscription,
                "--no-browser",
                &["/upgrade", "/install-github-app"],
            ),
        ];
        for (given, flag, wanted) in rules {
            if given && !slash.is_some_and(|s| wanted.contains(&s)) {
                let message = match slash {
                    Some(slash) => format!(
                        "`{flag}` cannot be used with `{slash}`: it goes with `{}`",
                        wanted.join("` or `")
                    ),
                    None => format!(
                        "`{flag}` goes with `{}`, e.g. `claude {} {flag}`",
                        wanted.join("` or `"),
                        wanted[0]
                    ),
                };
                return Err(command().error(clap::error::ErrorKind::ArgumentConflict, message));
            }
        }
        Ok(self)
    }

    /// The action the user asked for (clap guarantees there is exactly one).
    pub fn action(&self) -> Action {
        if let Some(shell) = self.completions {
            return Action::Completions(shell);
        }
        if self.auth_status {
            return if self.check {
                Action::AuthStatusCheck
            } else {
                Action::AuthStatus
            };
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
        if self.subscription_status {
            return Action::SubscriptionStatus;
        }
        if self.manage_subscription {
            return Action::ManageSubscription;
        }
        match self.slash.as_deref() {
            Some("/cost") => Action::Cost {
                detailed: self.detailed,
            },
            Some("/upgrade") => Action::Upgrade {
                claude_max: self.claude_max,
            },
            _ => Action::AuthStatus,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn modifiers_need_their_slash_command() {
        let parse = |args: &[&str]| Cli::parse_from_args(args.iter().copied());
        assert!(parse(&["claude", "/cost", "--detailed", "--since", "7d"]).is_ok());
        assert!(parse(&["claude", "/upgrade", "--claude-max"]).is_ok());
        assert!(parse(&["claude", "--show-auth-logs", "--since", "7d"]).is_ok());
        assert!(parse(&["claude", "--detailed"]).is_err());
        assert!(parse(&["claude", "/upgrade", "--detailed"]).is_err());
        assert!(parse(&["claude", "/cost", "--claude-max"]).is_err());
        assert!(parse(&["claude", "/upgrade", "--since", "7d"]).is_err());
        assert!(parse(&["claude", "--auth-status", "--since", "7d"]).is_err());
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
