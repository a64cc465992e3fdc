//! The edges a command may touch: configuration, state directory, clock, store, and how to
//! talk to the user.

use crate::cli::Cli;
use crate::clock::{Clock, SystemClock};
use crate::config::{self, schema::StorageKind, Loaded};
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
}

impl Context {
    /// Loads the configuration named by the flags and environment.
    ///
    /// # Errors
    /// `config_error` for a bad or missing configuration.
    pub fn from_cli(cli: &Cli, flag_key: Option<Secret<String>>) -> Result<Context, AuthError> {
        let state_dir = config::state_dir();
        let link = crate::storage::ownership::inspect_state_dir(&state_dir)?;
        let loaded = config::load(
            cli.config.as_deref(),
            cli.environment.as_deref(),
            &state_dir,
        )?;
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
            clock: Box::new(SystemClock),
            flag_key,
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

    /// The configured secret store. Constructing it touches nothing.
    pub fn store(&self) -> Box<dyn SecretStore> {
        let storage = &self.loaded.config.authentication.storage;
        let keychain = Keychain::new(&self.state_dir, &self.loaded.path);
        match storage.kind {
            StorageKind::Keychain => Box::new(keychain),
            StorageKind::EncryptedFile => {
                let source = if storage.encryption_key.as_deref() == Some("user-derived-key") {
                    KeySource::Passphrase
                } else {
                    KeySource::KeychainMasterKey(keychain)
                };
                Box::new(EncryptedFile::new(&self.state_dir, source))
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
            output::notice(&format!("warning: {message}"));
        }
    }

    /// A progress or detail line, shown on stderr with `-v` (or `--debug-auth`) by the event
    /// sink, credentials masked and control characters escaped.
    pub fn detail(&self, message: &str) {
        crate::events::detail(message);
    }
}
