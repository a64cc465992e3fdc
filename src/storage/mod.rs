//! Secret storage: the `SecretStore` trait, its non-secret index, and choosing a backend.

pub mod aside;
pub mod atomic;
pub mod checked_file;
pub mod encrypted_file;
pub mod key_cache;
pub mod keychain;
#[cfg(test)]
pub mod memory;
pub mod ownership;
mod passphrase;

pub use crate::config::schema::StorageKind;
use crate::error::AuthError;
use crate::secret::{Fingerprint, Secret};
use crate::time::UnixTime;
pub use atomic::FileLock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The item name of the stored Anthropic API key.
pub const API_KEY_ITEM: &str = "api-key";

/// What may be known about a stored secret without unlocking anything.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ItemMeta {
    pub fingerprint: String,
    /// When this value was first stored.
    pub created_at: UnixTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<UnixTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_fingerprint: Option<String>,
    /// For a command's cached output (`apiKeyHelper`): which command produced it, so status
    /// never shows one command's output as another's without unlocking the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper_digest: Option<String>,
}

/// The non-secret index of a store: item name → metadata.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Index {
    #[serde(default)]
    pub items: BTreeMap<String, ItemMeta>,
}

/// A place secrets live. Implementations report "not found" as `Ok(None)` / `Ok(false)`,
/// apart from failures, and never hang. Writes take the state lock from the caller, who holds
/// it across the whole read-modify-write.
pub trait SecretStore {
    /// Which backend this is.
    fn kind(&self) -> StorageKind;

    /// Why this store cannot possibly answer here, found without touching it (a keychain
    /// with no D-Bus session bus); `None` when it may.
    fn unreachable(&self) -> Option<String> {
        None
    }

    /// The metadata of every stored item. Never unlocks the keychain or runs the KDF.
    ///
    /// # Errors
    /// `storage_error` when the index exists but cannot be read.
    fn index(&self) -> Result<Index, AuthError>;

    /// The secret stored as `item`.
    ///
    /// # Errors
    /// `storage_error` / `keychain_unavailable` when the backend fails.
    fn get(&self, item: &str) -> Result<Option<Secret<String>>, AuthError>;

    /// Stores `secret` as `item` with `meta`, replacing any previous value atomically.
    ///
    /// # Errors
    /// `storage_error` / `keychain_unavailable`; the previous value is then kept.
    fn put(
        &self,
        item: &str,
        secret: &Secret<String>,
        meta: ItemMeta,
        lock: &FileLock,
    ) -> Result<(), AuthError>;

    /// Forgets `item`; `false` when there was nothing to forget.
    ///
    /// # Errors
    /// `storage_error` / `keychain_unavailable`.
    fn remove(&self, item: &str, lock: &FileLock) -> Result<bool, AuthError>;

    /// Removes every item but those `keep` accepts (index entries and secrets alike) and
    /// returns the names removed. Stores that hold everything in one file do it in one
    /// atomic write, so nothing `keep` accepts is ever missing, even for a moment; the
    /// default removes the indexed items one by one.
    ///
    /// # Errors
    /// What opening or writing the store fails with; for a one-file store, nothing was
    /// then changed.
    fn keep_only(
        &self,
        keep: &dyn Fn(&str) -> bool,
        lock: &FileLock,
    ) -> Result<Vec<String>, AuthError> {
        let mut removed = Vec::new();
        for item in self.index()?.items.into_keys().filter(|item| !keep(item)) {
            if self.remove(&item, lock)? {
                removed.push(item);
            }
        }
        Ok(removed)
    }

    /// Proves that the index is what was stored, for a caller about to say "nothing is
    /// stored" on the index's word (`index` never unlocks anything, so it cannot tell a
    /// deleted entry from an absent one). Stores whose index cannot be checked against the
    /// secrets (the keychain's is a plain file) accept it as it is, hence the default.
    ///
    /// # Errors
    /// `storage_error` when the store exists but does not open (wrong key, tampering);
    /// `keychain_unavailable` when its key is in a keychain that cannot be reached.
    fn authenticate(&self) -> Result<(), AuthError> {
        Ok(())
    }

    /// Checks, before anything is sent anywhere, that a write could succeed: the keychain
    /// answers, the encrypted file opens or a passphrase for a new one can be had without
    /// asking twice. Never writes.
    ///
    /// # Errors
    /// What the write would fail with.
    fn probe(&self) -> Result<(), AuthError> {
        Ok(())
    }

    /// Brings the index in line with what `get` found for `item` (`None`: nothing), after a
    /// change that stopped between writing a secret and writing its index. `true` when the
    /// index was wrong and is now corrected. Stores that write a secret and its metadata in
    /// one step cannot disagree with themselves, hence the default.
    ///
    /// # Errors
    /// `storage_error` when the index cannot be rewritten.
    fn reconcile(
        &self,
        _item: &str,
        _found: Option<&Fingerprint>,
        _lock: &FileLock,
    ) -> Result<bool, AuthError> {
        Ok(false)
    }
}

/// The hint a "keychain unavailable" error ends with: the alternatives that do not need it.
/// `master_key`: the keychain was wanted for the encrypted file's master key (storage is
/// already `encrypted-file`), so the way out is a passphrase, not `encrypted-file` again.
/// `api_key`: an API key from the environment is a way out (policy does not refuse keys).
pub fn alternatives_hint(config_path: &std::path::Path, master_key: bool, api_key: bool) -> String {
    let or_key = if api_key {
        ", or use ANTHROPIC_API_KEY"
    } else {
        ""
    };
    if master_key {
        format!(
            "set `authentication.storage.encryptionKey` to \"user-derived-key\" in {} to seal \
             the file with a passphrase instead of a key kept in the keychain (CLAUDE_PASSPHRASE \
             in scripts){or_key}",
            config_path.display()
        )
    } else {
        format!(
            "run `claude --set-storage encrypted-file` to keep credentials in a file sealed \
             with a passphrase (CLAUDE_PASSPHRASE in scripts){or_key}"
        )
    }
}
