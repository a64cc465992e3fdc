//! The edges a command may touch: configuration, state directory, clock, store, and how to
//! talk to the user.

use crate::cli::Cli;
use crate::clock::Clock;
use crate::config::{self, schema::StorageKind, Loaded};
use crate::envvars::Env;
use crate::error::AuthError;
use crate::output;
use crate::secret::Secret;
use crate::storage::encrypted_file::{EncryptedFile, KeySource};
use crate::storage::keychain::Keychain;
use crate::storage::{FileLock, SecretStore};
use std::path::PathBuf;

/// Output preferences from the global flags.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutputPrefs {
    pub json: bool,
    pub quiet: bool,
    pub verbose: u8,
    pub yes: bool,
}

/// Everything a command handler needs; built once per call.
pub struct Context {
    pub prefs: OutputPrefs,
    pub state_dir: PathBuf,
    pub loaded: Loaded,
    pub clock: Box<dyn Clock>,
    /// The key given with `--api-key` for this call only.
    pub flag_key: Option<Secret<String>>,
    /// `--mfa-code` as given (`-`: read stdin when a code is needed; see `mfa::gate`).
    pub mfa_code: Option<Secret<String>>,
    /// The environment, as it was when the command started, with the `env` block of Claude
    /// Code's settings applied over it (as Claude Code applies it).
    pub env: Env,
    /// Claude Code's user settings, as far as they decide credentials.
    pub claude_code: crate::config::claude_code::Settings,
    /// The user's terminal: prompts, piped input, whether a person is there.
    pub terminal: std::rc::Rc<dyn crate::terminal::Terminal>,
    /// The HTTP client, built on first use (offline commands never build one).
    http: std::cell::OnceCell<reqwest::Client>,
    /// Unit tests: the store every `store()` call returns.
    #[cfg(test)]
    memory: Option<crate::storage::memory::MemoryStore>,
}

impl Context {
    /// Loads the configuration named by the flags and this process's environment.
    ///
    /// # Errors
    /// `config_error` for a bad or missing configuration.
    pub fn from_cli(cli: &Cli, flag_key: Option<Secret<String>>) -> Result<Context, AuthError> {
        Context::new(cli, flag_key, Env::from_process())
    }

    /// Loads the configuration named by the flags and `env` (a test's own variables).
    ///
    /// # Errors
    /// `config_error` for a bad or missing configuration.
    pub fn new(
        cli: &Cli,
        flag_key: Option<Secret<String>>,
        env: Env,
    ) -> Result<Context, AuthError> {
        let mut env = env;
        let state_dir = config::state_dir(&env)?;
        let link = crate::storage::ownership::inspect_state_dir(&state_dir)?;
        let wiping = matches!(
            cli.action(),
            crate::cli::Action::Logout | crate::cli::Action::ResetAuth
        );
        let project_dir = std::env::current_dir().ok();
        let mut claude_code = match crate::config::claude_code::read(&state_dir, project_dir, &env)
        {
            Ok(settings) => settings,
            // Wiping must not depend on a settings file that may be what went wrong.
            Err(err) if wiping => crate::config::claude_code::Settings::recovered(&state_dir, &err),
            Err(err) => return Err(err),
        };
        // Managed settings before the user's `env` is applied: nothing in an `env` block may
        // move them (CLAUDE_MANAGED_SETTINGS_DIR is not applied). A failure is reported by
        // `config::load`, where it always was.
        let mut policy = config::managed::read(&env);
        if let Ok(Some(layer)) = &mut policy {
            claude_code.managed = std::mem::take(&mut layer.claude_code);
        }
        // Before the configuration: its `${VAR}` and CLAUDE_ENV see what a Claude Code
        // session would see.
        claude_code.apply_env(&mut env);
        let mut loaded = match config::load(
            cli.config.as_deref(),
            cli.environment.as_deref(),
            &state_dir,
            &env,
            policy,
        ) {
            // Wiping must not depend on the configuration that may be what went wrong.
            Err(err) if err.code() == crate::error::ErrorCode::ConfigError && wiping => {
                config::recover(cli.config.as_deref(), &state_dir, &env, &err)
            }
            other => other?,
        };
        loaded
            .warnings
            .extend(std::mem::take(&mut claude_code.warnings));
        // Every request checks `security.ipRestrictions` (`http::send`): the policy is in
        // place as soon as the configuration is loaded, before any client can exist.
        crate::policy::ip::install(crate::policy::ip::Policy::new(
            &loaded.config.security,
            &env,
        )?);
        let prefs = OutputPrefs {
            json: cli.json,
            quiet: cli.quiet,
            verbose: cli.verbose,
            yes: cli.yes,
        };
        let ctx = Context {
            prefs,
            state_dir,
            loaded,
            clock: crate::clock::from_env(&env),
            flag_key,
            mfa_code: cli.mfa_code.clone(),
            env,
            claude_code,
            terminal: std::rc::Rc::new(crate::terminal::SystemTerminal),
            http: std::cell::OnceCell::new(),
            #[cfg(test)]
            memory: None,
        };
        if let Some(target) = link {
            ctx.warn(&format!(
                "the state directory {} is a symbolic link; credentials are kept in {}",
                ctx.state_dir.display(),
                target.display()
            ));
        }
        for warning in &ctx.loaded.warnings {
            ctx.warn(warning);
        }
        Ok(ctx)
    }

    /// The HTTP client (rustls, no redirects, the proxy rules), built on first use.
    ///
    /// # Errors
    /// `config_error` when `CLAUDE_CA_BUNDLE` or a proxy variable cannot be used.
    pub fn http(&self) -> Result<&reqwest::Client, AuthError> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = crate::http::client(&self.env)?;
        // The `security.ipCheckUrl` echo goes through the same client (proxy, CA bundle).
        crate::policy::ip::use_client(&client);
        Ok(self.http.get_or_init(|| client))
    }

    /// Opens `url` in the user's browser (see [`crate::browser::open`]).
    ///
    /// # Errors
    /// Why no browser was opened.
    pub fn open_browser(&self, url: &str, no_browser: bool) -> Result<(), String> {
        crate::browser::open(&self.env, url, no_browser)
    }

    /// A context for unit tests: `config_json` (with environment `env_name` selected), the
    /// variables `env`, a clock stopped at `now`, a state directory that does not exist and
    /// `store` as the only store. Nothing is read from or written to the filesystem.
    #[cfg(test)]
    pub fn for_test(
        config_json: &str,
        env_name: Option<&str>,
        env: Env,
        now: crate::time::UnixTime,
        store: crate::storage::memory::MemoryStore,
    ) -> Context {
        let path = PathBuf::from("/nonexistent/claude-test/config.json");
        let mut config: crate::config::Config =
            serde_json::from_str(config_json).expect("a valid test config");
        let environment =
            config::environments::select(&mut config, env_name, &path).expect("known environment");
        Context {
            prefs: OutputPrefs::default(),
            state_dir: PathBuf::from("/nonexistent/claude-test"),
            loaded: Loaded {
                config,
                path,
                file_exists: true,
                environment,
                warnings: Vec::new(),
                managed: Default::default(),
            },
            clock: Box::new(crate::clock::FixedClock(now)),
            flag_key: None,
            mfa_code: None,
            env,
            claude_code: Default::default(),
            terminal: std::rc::Rc::new(crate::terminal::SystemTerminal),
            http: std::cell::OnceCell::new(),
            memory: Some(store),
        }
    }

    /// The `key` command in force (managed settings first, then this tool's config, then
    /// Claude Code's settings),
    /// leaving out any the recursion guard or a self-reference keeps from running.
    pub fn helper(
        &self,
        key: crate::config::claude_code::HelperKey,
    ) -> Option<crate::config::claude_code::Helper> {
        let own = crate::config::claude_code::report::own(self, key);
        self.claude_code.helper(key, own)
    }

    /// The configured secret store. Constructing it touches nothing.
    pub fn store(&self) -> Box<dyn SecretStore> {
        #[cfg(test)]
        if let Some(memory) = &self.memory {
            return Box::new(memory.clone());
        }
        let storage = &self.loaded.config.authentication.storage;
        self.store_of(storage.kind, storage.encryption_key.as_deref())
    }

    /// The store of `kind` (with `encryption_key` as `authentication.storage.encryptionKey`
    /// says, for the encrypted file), whatever the configuration says: `--set-storage` moves
    /// secrets between two of them. Constructing it touches nothing.
    pub fn store_of(
        &self,
        kind: StorageKind,
        encryption_key: Option<&str>,
    ) -> Box<dyn SecretStore> {
        let keychain = Keychain::new(&self.env, &self.state_dir, &self.loaded.path).offer_env_key(
            !crate::resolve::keys_refused(self)
                && self.env.get(crate::envvars::ANTHROPIC_API_KEY).is_none(),
        );
        match kind {
            StorageKind::Keychain => Box::new(keychain),
            StorageKind::EncryptedFile => {
                let source = if encryption_key == Some("user-derived-key") {
                    KeySource::Passphrase {
                        from_env: self
                            .env
                            .raw(crate::envvars::CLAUDE_PASSPHRASE)
                            .map(|value| Secret::new(value.to_string())),
                        terminal: self.terminal.clone(),
                        cache: crate::storage::key_cache::KeyCache::new(
                            self.loaded.config.authentication.storage.cache_seconds(),
                            cfg!(debug_assertions)
                                && self
                                    .env
                                    .get(crate::envvars::CLAUDE_TEST_NO_KEYRING)
                                    .is_some(),
                        ),
                    }
                } else {
                    KeySource::KeychainMasterKey(keychain.for_master_key())
                };
                Box::new(EncryptedFile::new(
                    &self.state_dir,
                    source,
                    self.clock.now(),
                ))
            }
        }
    }

    /// Checks, before a login talks to anyone, that its result can be kept: the state
    /// directory is (or can be made) private and ours, and the session file is readable.
    ///
    /// # Errors
    /// `storage_error` saying what to fix.
    pub fn check_state_dir(&self) -> Result<(), AuthError> {
        crate::storage::atomic::ensure_private_dir(&self.state_dir)?;
        crate::session::load(&self.state_dir).map(drop)
    }

    /// The time and attempt budget of one logical request (`authentication.timeout`,
    /// `authentication.retryAttempts`).
    pub fn budget(&self) -> crate::http::Budget {
        crate::http::budget(&self.loaded.config.authentication)
    }

    /// Takes the state directory's lock, for a read-modify-write of stored credentials,
    /// waiting for as long as another process may hold it: a refresh keeps it across an
    /// HTTP exchange of up to `authentication.timeout`.
    ///
    /// # Errors
    /// `storage_error` when the lock cannot be taken within its wait.
    pub fn lock(&self) -> Result<FileLock, AuthError> {
        let budget = self.budget().total;
        FileLock::acquire_within(&self.state_dir, FileLock::wait_for(budget))
    }

    /// Prints `warning: …` on stderr unless `-q`, control characters escaped (warnings quote
    /// config files and servers).
    pub fn warn(&self, message: &str) {
        if !self.prefs.quiet {
            // Warnings quote files and servers; a credential among them is masked as in
            // errors (a key pasted where a name goes, a helper's command line).
            // One line: a path or name quoted in it (CLAUDE_CONFIG holding a line break)
            // must not print a `hint:` line of its own.
            output::notice(&format!(
                "warning: {}",
                crate::terminal_text::single_line(&crate::redact::scrub_secrets(message))
            ));
        }
    }

    /// A progress or detail line, shown on stderr with `-v` (or `--debug-auth`) by the event
    /// sink, credentials masked and control characters escaped.
    pub fn detail(&self, message: &str) {
        crate::events::detail(message);
    }
}
