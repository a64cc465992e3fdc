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

    /// Takes the state directory's lock, for a read-modify-write of stored credentials.
    ///
    /// # Errors
    /// `storage_error` when the lock cannot be taken within its wait.
    pub fn lock(&self) -> Result<FileLock, AuthError> {
        FileLock::acquire(&self.state_dir)
    }

    /// Prints `warning: …` on stderr unless `-q`, control characters escaped (warnings quote
    /// config files and servers).
    pub fn warn(&self, message: &str) {
        if !self.prefs.quiet {
            output::notice(&format!("warning: {message}"));
        }
    }

    /// Prints a progress or detail line on stderr with `-v`, control characters escaped.
    pub fn detail(&self, message: &str) {
        if self.prefs.verbose > 0 {
            output::notice(message);
        }
    }
}
