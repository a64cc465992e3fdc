//! The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager) through
//! `keyring-core`, every call bounded by a timeout; its index is a private JSON file.

use super::atomic::{read_private, write_atomic, FileLock};
use super::{alternatives_hint, Index, ItemMeta, SecretStore, StorageKind};
use crate::envvars;
use crate::error::AuthError;
use crate::secret::{Fingerprint, Secret};
use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The keychain service items are stored under, unless `CLAUDE_KEYCHAIN_SERVICE` says otherwise.
pub const DEFAULT_SERVICE: &str = "claude-auth";
/// An item never stored: looking it up proves the keychain answers.
pub const PROBE_ITEM: &str = "reachability-probe";
/// How long one keychain call may take unless `CLAUDE_KEYCHAIN_TIMEOUT_MS` says otherwise:
/// an unlocked keychain answers in milliseconds, so 3 s only ever delays a hung one.
pub const DEFAULT_TIMEOUT_MS: u64 = 3_000;

/// Set, to the timeout that expired, once a keychain call in this process has not answered.
/// Its worker is still stuck on the same daemon, and each later call (there can be several
/// in one command, and errors some commands shrug off) would wait the full timeout again,
/// so they all fail at once: one command waits for the keychain at most once.
static HUNG_AFTER_MS: OnceLock<u128> = OnceLock::new();

/// Secrets in the OS keychain; metadata in `STATE_DIR/credentials.json`.
pub struct Keychain {
    service: String,
    dir: PathBuf,
    config_path: PathBuf,
    timeout: Duration,
    /// Where the session bus would be: `DBUS_SESSION_BUS_ADDRESS`, else `XDG_RUNTIME_DIR/bus`
    /// (Linux only: other platforms' keychains need no bus).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    bus_address: Option<String>,
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    runtime_dir: Option<String>,
    /// Used for the encrypted file's master key, not as the store (changes the way out an
    /// "unavailable" error names).
    for_master_key: bool,
    /// "Use ANTHROPIC_API_KEY" is a way out to offer (see [`Keychain::offer_env_key`]).
    offer_env_key: bool,
}

impl Keychain {
    /// A keychain store for the state directory `dir`. Connects lazily, on first use.
    pub fn new(env: &envvars::Env, dir: &Path, config_path: &Path) -> Keychain {
        let timeout_ms = env
            .get(envvars::CLAUDE_KEYCHAIN_TIMEOUT_MS)
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_TIMEOUT_MS);
        Keychain {
            service: env
                .get(envvars::CLAUDE_KEYCHAIN_SERVICE)
                .unwrap_or_else(|| DEFAULT_SERVICE.to_string()),
            dir: dir.to_path_buf(),
            config_path: config_path.to_path_buf(),
            timeout: Duration::from_millis(timeout_ms),
            bus_address: env.get(envvars::DBUS_SESSION_BUS_ADDRESS),
            runtime_dir: env.get(envvars::XDG_RUNTIME_DIR),
            for_master_key: false,
            offer_env_key: true,
        }
    }

    /// Whether its errors may offer `ANTHROPIC_API_KEY` as a way out: not where policy
    /// refuses API keys, nor when that variable is already set (and so already the way
    /// out, or the key in use).
    #[must_use]
    pub fn offer_env_key(mut self, offer: bool) -> Keychain {
        self.offer_env_key = offer;
        self
    }

    /// This keychain as the holder of the encrypted file's master key.
    #[must_use]
    pub fn for_master_key(mut self) -> Keychain {
        self.for_master_key = true;
        self
    }

    /// Why the keychain cannot possibly answer, found without touching it.
    fn preflight(&self) -> Result<(), String> {
        #[cfg(target_os = "linux")]
        {
            let runtime_bus = self
                .runtime_dir
                .as_ref()
                .map(|dir| Path::new(dir).join("bus"));
            let has_bus = self.bus_address.is_some() || runtime_bus.is_some_and(|bus| bus.exists());
            if !has_bus {
                return Err(
                    "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service"
                        .to_string(),
                );
            }
        }
        Ok(())
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("credentials.json")
    }

    fn write_index(&self, index: &Index, lock: &FileLock) -> Result<(), AuthError> {
        let bytes = serde_json::to_vec_pretty(index)
            .map_err(|e| AuthError::internal("cannot encode the index").caused_by(e))?;
        write_atomic(&self.index_path(), &bytes, lock)
    }

    /// Runs `op` on the entry for `item` in a worker thread and gives up after the timeout,
    /// so a hung keychain daemon cannot hang the command; after one such timeout, every
    /// later call in the process fails at once (see [`HUNG_AFTER_MS`]).
    fn call<T, F>(&self, item: &str, op: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce(&Entry) -> keyring_core::Result<T> + Send + 'static,
    {
        self.preflight().map_err(|why| self.unavailable(why))?;
        if let Some(ms) = HUNG_AFTER_MS.get() {
            return Err(self.unavailable(format!(
                "the keychain did not answer within {ms} ms earlier in this command, so it \
                 was not asked again"
            )));
        }
        let (service, user) = (self.service.clone(), item.to_string());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let result = platform_store()
                .and_then(|store| Entry::new_in_store(&store, &service, &user))
                .and_then(|entry| op(&entry));
            let _ = tx.send(result);
        });
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(self.translate(err)),
            Err(RecvTimeoutError::Timeout) => {
                let ms = *HUNG_AFTER_MS.get_or_init(|| self.timeout.as_millis());
                Err(self.unavailable(format!("the keychain did not answer within {ms} ms")))
            }
            // The worker died (a panic in the platform client): no answer, but not hung.
            Err(RecvTimeoutError::Disconnected) => {
                Err(self.unavailable("the keychain client stopped without an answer".to_string()))
            }
        }
    }

    /// Stores `secret` as `item` without listing it in the index (for the encrypted file's
    /// master key, written while the caller already holds the state lock).
    pub fn put_unindexed(&self, item: &str, secret: &Secret<String>) -> Result<(), AuthError> {
        let value = secret.clone();
        self.call(item, move |entry| entry.set_password(value.expose()))
    }

    /// Deletes `item`, which the index does not list; `false` when it was not there.
    ///
    /// # Errors
    /// `keychain_unavailable` / `storage_error`.
    pub fn remove_unindexed(&self, item: &str) -> Result<bool, AuthError> {
        self.call(item, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(err) => Err(err),
        })
    }

    fn unavailable(&self, why: String) -> AuthError {
        AuthError::keychain_unavailable(format!("the OS keychain is unavailable: {why}")).with_hint(
            alternatives_hint(&self.config_path, self.for_master_key, self.offer_env_key),
        )
    }

    fn translate(&self, err: KeyringError) -> AuthError {
        match err {
            KeyringError::NoStorageAccess(cause) => self.unavailable(format!(
                "the keychain is locked or access was denied ({cause})"
            )),
            KeyringError::PlatformFailure(cause) => self.unavailable(format!(
                "no Secret Service answered on the session bus ({cause})"
            )),
            KeyringError::NoDefaultStore | KeyringError::NotSupportedByStore(_) => {
                self.unavailable("this platform has no supported keychain".to_string())
            }
            // Never render the payload of BadEncoding/BadDataFormat: it is the secret.
            KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(..) => {
                AuthError::storage("the keychain item is not valid text")
                    .with_hint("run `claude --remove-api-key` and store the key again")
            }
            other => {
                AuthError::storage("the keychain refused the request").caused_by(describe(&other))
            }
        }
    }
}

impl SecretStore for Keychain {
    fn unreachable(&self) -> Option<String> {
        self.preflight().err()
    }

    fn kind(&self) -> StorageKind {
        StorageKind::Keychain
    }

    fn index(&self) -> Result<Index, AuthError> {
        match read_private(&self.index_path())? {
            None => Ok(Index::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                AuthError::storage(format!("{} is damaged", self.index_path().display()))
                    .caused_by(err)
                    .with_hint("run `claude --remove-api-key` and store the key again")
            }),
        }
    }

    fn get(&self, item: &str) -> Result<Option<Secret<String>>, AuthError> {
        let found = self.call(item, |entry| match entry.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(err) => Err(err),
        })?;
        Ok(found.map(Secret::new))
    }

    fn put(
        &self,
        item: &str,
        secret: &Secret<String>,
        meta: ItemMeta,
        lock: &FileLock,
    ) -> Result<(), AuthError> {
        let mut index = self.index()?;
        let value = secret.clone();
        // set_password updates an existing item in place.
        self.call(item, move |entry| entry.set_password(value.expose()))?;
        index.items.insert(item.to_string(), meta);
        self.write_index(&index, lock)
    }

    /// A lookup of an item that does not exist proves the keychain answers, unlocked.
    fn probe(&self) -> Result<(), AuthError> {
        self.get(PROBE_ITEM).map(drop)
    }

    fn remove(&self, item: &str, lock: &FileLock) -> Result<bool, AuthError> {
        let mut index = self.index()?;
        let removed = self.remove_unindexed(item)?;
        let indexed = index.items.remove(item).is_some();
        if indexed {
            self.write_index(&index, lock)?;
        }
        Ok(removed || indexed)
    }

    /// The keychain item and `credentials.json` are two writes, so a process killed between
    /// them leaves the index naming the previous key, or a key already removed.
    fn reconcile(
        &self,
        item: &str,
        found: Option<&Fingerprint>,
        lock: &FileLock,
    ) -> Result<bool, AuthError> {
        let mut index = self.index()?;
        let Some(meta) = index.items.get_mut(item) else {
            return Ok(false);
        };
        match found {
            Some(actual) if meta.fingerprint == actual.as_str() => return Ok(false),
            // `createdAt` stays: it is older than the key found, so a rotation reminder comes
            // early rather than late.
            Some(actual) => meta.fingerprint = actual.to_string(),
            None => {
                index.items.remove(item);
            }
        }
        self.write_index(&index, lock)?;
        Ok(true)
    }
}

/// A display of a keyring error that never includes secret payloads.
fn describe(err: &KeyringError) -> String {
    match err {
        KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(..) => {
            "undecodable item".to_string()
        }
        KeyringError::Ambiguous(entries) => format!("{} items match", entries.len()),
        other => other.to_string(),
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(KeyringError::NoDefaultStore)
}
