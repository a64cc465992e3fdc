//! Where the audit log's HMAC key lives (the configured store, item [`KEY_ITEM`]) and how it
//! is had without ever prompting: a line that cannot be signed is written unsigned, saying
//! why, instead of asking for a passphrase to write an audit line. A command that read the
//! key itself (after a prompt of its own) hands it over with [`offer`].

use super::chain::{ChainKey, KEY_ITEM};
use crate::config::schema::StorageKind;
use crate::context::Context;
use crate::envvars::{Env, CLAUDE_PASSPHRASE};
use crate::error::AuthError;
use crate::secret::Secret;
use crate::storage::encrypted_file::{EncryptedFile, KeySource};
use crate::storage::keychain::Keychain;
use crate::storage::{ItemMeta, SecretStore};
use crate::time::UnixTime;
use std::path::PathBuf;
use std::sync::OnceLock;

/// How this process signs lines: with the key, or not, for a reason the line carries.
pub enum Signer {
    Key(ChainKey),
    Unsigned(String),
}

/// Why lines cannot be signed, found before the command acts.
pub enum KeyProblem {
    /// The key is in the store, which cannot be opened without asking (or failed to open).
    Unreadable(String),
    /// There is no key yet, and none can be made now.
    Uncreatable(String),
    /// A command that changes nothing found no key: it makes none.
    NotMade,
    /// There is no key, but the log holds lines signed with one: every line is unsigned
    /// from now on, until the key comes back or the log is moved aside. `restore` says how
    /// to bring it back.
    Missing { why: String, restore: String },
}

impl KeyProblem {
    /// The reason an unsigned line carries: `the audit key could not be read: …`, `… could
    /// not be created: …`, `… is missing: …`.
    pub fn reason(&self) -> String {
        match self {
            KeyProblem::Unreadable(why) => format!("the audit key could not be read: {why}"),
            KeyProblem::Uncreatable(why) => format!("the audit key could not be created: {why}"),
            KeyProblem::NotMade => format!(
                "the store holds no `{KEY_ITEM}`, and a command that changes nothing does not make one"
            ),
            KeyProblem::Missing { why, .. } => format!("the audit key is missing: {why}"),
        }
    }
}

/// A key this process's command read from the store itself, for the audit layer.
static OFFERED: OnceLock<Signer> = OnceLock::new();

/// Hands the audit layer the key (as stored: hex) that the command read from the store
/// itself, after asking for the passphrase at its own prompt (`--reset-auth`): the layer
/// never prompts, so without this the command's own lines would go unsigned although the
/// key was in hand. Only the first offer counts; one that is not a key is ignored.
pub fn offer(hex: &Secret<String>) {
    if let Some(key) = ChainKey::from_hex(hex.expose()) {
        let _ = OFFERED.set(Signer::Key(key));
    }
}

/// The key offered by the command, if any.
pub(super) fn offered() -> Option<&'static Signer> {
    OFFERED.get()
}

/// The configured store, described so that it can be opened from the event sink (which
/// outlives the command's `Context` and must be `Send`), never with a prompt.
pub struct KeyPlace {
    kind: Place,
    env: Env,
    dir: PathBuf,
    config_path: PathBuf,
    now: UnixTime,
}

enum Place {
    Keychain,
    FileWithMasterKey,
    FileWithPassphrase(Secret<String>),
    /// No store can be opened without asking: why.
    Nowhere(String),
}

impl KeyPlace {
    /// The store `ctx` is configured with.
    pub fn of(ctx: &Context) -> KeyPlace {
        let storage = &ctx.loaded.config.authentication.storage;
        let kind = match storage.kind {
            StorageKind::Keychain => Place::Keychain,
            StorageKind::EncryptedFile if storage.passphrase_sealed() => {
                match ctx.env.raw(CLAUDE_PASSPHRASE) {
                    Some(value) if !value.is_empty() => {
                        Place::FileWithPassphrase(Secret::new(value.to_string()))
                    }
                    _ => Place::Nowhere(
                        "the encrypted file's passphrase is not in CLAUDE_PASSPHRASE, and an \
                         audit line never prompts for it"
                            .to_string(),
                    ),
                }
            }
            StorageKind::EncryptedFile => Place::FileWithMasterKey,
        };
        KeyPlace {
            kind,
            env: ctx.env.clone(),
            dir: ctx.state_dir.clone(),
            config_path: ctx.loaded.path.clone(),
            now: ctx.clock.now(),
        }
    }

    fn store(&self) -> Result<Box<dyn SecretStore>, String> {
        let keychain = || Keychain::new(&self.env, &self.dir, &self.config_path);
        Ok(match &self.kind {
            Place::Keychain => Box::new(keychain()),
            Place::FileWithMasterKey => Box::new(EncryptedFile::new(
                &self.dir,
                KeySource::KeychainMasterKey(keychain()),
                self.now,
            )),
            // The passphrase is given, so the terminal is never asked.
            Place::FileWithPassphrase(passphrase) => Box::new(EncryptedFile::new(
                &self.dir,
                KeySource::Passphrase {
                    from_env: Some(passphrase.clone()),
                    terminal: std::rc::Rc::new(crate::terminal::SystemTerminal),
                    // A given passphrase is never cached (as for CLAUDE_PASSPHRASE).
                    cache: None,
                },
                self.now,
            )),
            Place::Nowhere(why) => return Err(why.clone()),
        })
    }

    /// Makes sure lines can be signed: the store's index lists the key, or, when `create`,
    /// the key is made (once, under the state lock, taken here before any command holds
    /// it). Reading the index opens nothing, so when the key exists this costs one small
    /// file read. A command that changes nothing passes `create: false`: it must not make
    /// a store (or a key) as a side effect of being audited.
    ///
    /// No key is made while `audit.log` holds signed lines: they were signed with a key that
    /// is gone from the store (the file was deleted, another store is configured), and a new
    /// one would make every one of them look tampered with. Lines are then written unsigned
    /// ([`KeyProblem::Missing`]) and `--verify` says the key is missing.
    ///
    /// # Errors
    /// Why lines go unsigned.
    pub fn ensure(&self, ctx: &Context, create: bool) -> Result<(), KeyProblem> {
        let unreadable = |why: &str| KeyProblem::Unreadable(why.to_string());
        let uncreatable = |why: &str| KeyProblem::Uncreatable(why.to_string());
        let store = match self.store() {
            Ok(store) => store,
            // The file cannot be opened without asking, but its header says whether the key
            // is in it: so the line can say which it is.
            Err(why) => {
                return Err(match self.listed_in_header() {
                    Some(false) => self
                        .absent(StorageKind::EncryptedFile)
                        .unwrap_or_else(|_| uncreatable(&why)),
                    _ => unreadable(&why),
                })
            }
        };
        let listed = |store: &dyn SecretStore| -> Result<bool, KeyProblem> {
            Ok(store
                .index()
                .map_err(|e| unreadable(e.message()))?
                .items
                .contains_key(KEY_ITEM))
        };
        if listed(store.as_ref())? {
            return Ok(());
        }
        if !create {
            return Err(self.absent(store.kind()).unwrap_or(KeyProblem::NotMade));
        }
        let lock = ctx.lock().map_err(|e| uncreatable(e.message()))?;
        // Another process may have created it while this one waited for the lock.
        if listed(store.as_ref())? {
            return Ok(());
        }
        // `--reset-auth` with an older version may have dropped the index entry only:
        // never replace a key that still signs the log.
        if store
            .get(KEY_ITEM)
            .map_err(|e| unreadable(&describe(&e)))?
            .is_some()
        {
            return Ok(());
        }
        match self.absent(store.kind()) {
            Ok(missing) => return Err(missing),
            Err(Some(why)) => return Err(uncreatable(&why)),
            Err(None) => {}
        }
        let hex =
            ChainKey::generate_hex().map_err(|e| uncreatable(&format!("no randomness: {e}")))?;
        let meta = ItemMeta {
            fingerprint: "audit-hmac-key".to_string(),
            created_at: ctx.clock.now(),
            rotated_at: None,
            previous_fingerprint: None,
            helper_digest: None,
        };
        store
            .put(KEY_ITEM, &Secret::new(hex.to_string()), meta, &lock)
            .map_err(|e| uncreatable(&describe(&e)))
    }

    /// For a store of `kind` that holds no key: [`KeyProblem::Missing`] when `audit.log`
    /// holds signed lines; `Err(None)` when it holds none (a key may be made), `Err(Some(why))`
    /// when the log cannot be read to tell.
    fn absent(&self, kind: StorageKind) -> Result<KeyProblem, Option<String>> {
        let log = super::file::log_path(&self.dir);
        match super::file::holds_signed_line(&self.dir) {
            Ok(false) => Err(None),
            Ok(true) => {
                let file = self.dir.join("credentials.enc");
                let (gone, restore) = match kind {
                    StorageKind::EncryptedFile if !file.exists() => (
                        format!(" ({} does not exist)", file.display()),
                        format!(
                            "restore {} from a backup (it holds the key)",
                            file.display()
                        ),
                    ),
                    StorageKind::EncryptedFile => (
                        String::new(),
                        format!(
                            "restore {} from a backup taken before the key went (it holds the key)",
                            file.display()
                        ),
                    ),
                    StorageKind::Keychain => (
                        String::new(),
                        format!(
                            "restore the keychain item `{KEY_ITEM}` from a backup, or set \
                             `authentication.storage` back to the store the log was signed \
                             under in {}",
                            self.config_path.display()
                        ),
                    ),
                };
                Ok(KeyProblem::Missing {
                    why: format!(
                        "the {} store holds no `{KEY_ITEM}`{gone}, but {} holds lines signed \
                         with one, which a new key could never verify, so none is made",
                        kind.as_str(),
                        log.display()
                    ),
                    restore,
                })
            }
            Err(err) => Err(Some(format!(
                "{} cannot be read to see whether an earlier key signed it ({err})",
                log.display()
            ))),
        }
    }

    /// For a passphrase-sealed file that cannot be opened without asking: whether its header
    /// lists the key (`None`: the header cannot be read, or this is another store).
    fn listed_in_header(&self) -> Option<bool> {
        let Place::Nowhere(_) = self.kind else {
            return None;
        };
        // `index` reads the header only: the terminal is never asked.
        let file = EncryptedFile::new(
            &self.dir,
            KeySource::Passphrase {
                from_env: None,
                terminal: std::rc::Rc::new(crate::terminal::SystemTerminal),
                cache: None,
            },
            self.now,
        );
        file.index()
            .ok()
            .map(|index| index.items.contains_key(KEY_ITEM))
    }

    /// The signer for this process's lines: the key from the store, or why there is none.
    pub fn signer(&self) -> Signer {
        let found = self
            .store()
            .and_then(|store| store.get(KEY_ITEM).map_err(|e| describe(&e)));
        match found {
            Ok(Some(hex)) => match ChainKey::from_hex(hex.expose()) {
                Some(key) => Signer::Key(key),
                None => Signer::Unsigned(format!("the store's `{KEY_ITEM}` item is not a key")),
            },
            Ok(None) => Signer::Unsigned(format!("the store holds no `{KEY_ITEM}`")),
            Err(why) => Signer::Unsigned(why),
        }
    }
}

/// The key for `--verify` and `--show-auth-logs`: from the configured store, prompting for a
/// passphrase if the store needs one (the user asked for this).
///
/// # Errors
/// The store's errors.
pub fn for_reading(ctx: &Context) -> Result<Option<ChainKey>, AuthError> {
    let Some(hex) = ctx.store().get(KEY_ITEM)? else {
        return Ok(None);
    };
    ChainKey::from_hex(hex.expose()).map(Some).ok_or_else(|| {
        AuthError::storage(format!("the store's `{KEY_ITEM}` item is not a key"))
            .with_hint("the audit log cannot be verified without its key")
    })
}

fn describe(err: &AuthError) -> String {
    err.message().to_string()
}
