//! `--set-storage keychain|encrypted-file`: moves every stored credential to the other
//! store and records the choice in the user's config, so nobody edits JSON by hand.
//!
//! Under the state lock, in an order where a failure at any step loses nothing: check that
//! the config can be written and the new store used; copy every item of the old store's
//! index; read each back and compare; write the config (atomically, only the one value
//! changed in its text); only then remove the items from the old store. A failure before
//! the config is written removes the copies and leaves the old store and the config as
//! they were.

use crate::config::schema::StorageKind;
use crate::context::Context;
use crate::error::AuthError;
use crate::output::{Outcome, Report};
use crate::resolve::Source;
use crate::secret::Secret;
use crate::storage::encrypted_file::{EncryptedFile, MASTER_KEY_ITEM};
use crate::storage::keychain::Keychain;
use crate::storage::{FileLock, ItemMeta, SecretStore};
use serde::Serialize;

/// The setting this command writes.
const TYPE_PATH: [&str; 3] = ["authentication", "storage", "type"];
const KEY_PATH: [&str; 3] = ["authentication", "storage", "encryptionKey"];

/// `--set-storage`'s result.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageSet {
    /// The store in force now.
    pub storage: &'static str,
    /// The store before (the same when nothing changed).
    pub previous: &'static str,
    /// The items moved, by name (`api-key`, `session:anthropic`, …); never their values.
    pub moved: Vec<String>,
    /// Items the old store's index listed but that it no longer held (nothing to move).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The configuration file that records the choice.
    pub config: String,
    /// Whether the configuration file was changed.
    pub config_changed: bool,
    /// The uid that owned the configuration file before it was rewritten, when that was
    /// another user (root): the rewrite made it the user's own file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_owner_before: Option<u32>,
    #[serde(skip)]
    passphrase: bool,
    /// The encrypted file exists (something is sealed in it now).
    #[serde(skip)]
    file_exists: bool,
}

impl Report for StorageSet {
    fn text(&self) -> String {
        let place = |name: &str| match name {
            "keychain" => Source::Stored(StorageKind::Keychain).describe(),
            _ => Source::Stored(StorageKind::EncryptedFile).describe(),
        };
        if !self.config_changed {
            return format!(
                "Credentials are already kept in {}; nothing moved.",
                place(self.storage)
            );
        }
        let what = if self.moved.is_empty() {
            "Nothing was stored, so nothing moved".to_string()
        } else {
            format!(
                "Moved {} ({}) from {}",
                crate::output::count(self.moved.len() as u64, "item", "items"),
                self.moved.join(", "),
                place(self.previous)
            )
        };
        let mut text = format!(
            "✓ Credentials are now kept in {}. {what}.\n  {} now sets `authentication.storage.type` to \"{}\".",
            place(self.storage),
            self.config,
            self.storage
        );
        if let Some(owner) = self.config_owner_before {
            let owner = if owner == 0 {
                "root".to_string()
            } else {
                format!("uid {owner}")
            };
            text.push_str(&format!(
                "\n  {} belonged to {owner}; it was replaced by a file of your own with the same settings and this change.",
                self.config
            ));
        }
        if self.passphrase && self.file_exists {
            text.push_str(
                "\n  The file is sealed with your passphrase (`encryptionKey: \"user-derived-key\"`); \
                 scripts give it in CLAUDE_PASSPHRASE.",
            );
        } else if self.passphrase {
            text.push_str(
                "\n  The file will be created, sealed with your passphrase (`encryptionKey: \"user-derived-key\"`), \
                 when something is stored; scripts give it in CLAUDE_PASSPHRASE.",
            );
        }
        if !self.missing.is_empty() {
            text.push_str(&format!(
                "\n  Listed but no longer held by the old store, so not moved: {}.",
                self.missing.join(", ")
            ));
        }
        text
    }
}

/// Moves every stored credential to `target` and records it in the config.
///
/// # Errors
/// `config_error` when the config cannot be changed (managed, unwritable, not an object);
/// the stores' errors; in every case the old store and the config are left as they were.
pub fn set(ctx: &Context, target: StorageKind) -> Result<Outcome, AuthError> {
    let storage = &ctx.loaded.config.authentication.storage;
    let current = storage.kind;
    let path = ctx.loaded.path.display().to_string();
    if current == target {
        return Ok(Outcome::report(&StorageSet {
            storage: target.as_str(),
            previous: current.as_str(),
            moved: Vec::new(),
            missing: Vec::new(),
            config: path,
            config_changed: false,
            config_owner_before: None,
            passphrase: false,
            file_exists: false,
        }));
    }
    // A file needs a key that does not depend on the keychain being there, unless the user
    // chose the keychain for it explicitly.
    let encryption_key = match (target, storage.encryption_key.as_deref()) {
        (StorageKind::EncryptedFile, None) => Some("user-derived-key"),
        (_, given) => given,
    };
    // The config's text is read under the lock, so an edit made while this waited for it
    // is kept, not overwritten with the text from before.
    let lock = ctx.lock()?;
    let new_text = edited_config(ctx, target, storage.encryption_key.is_none())?;
    let old = ctx.store();
    let new = ctx.store_of(target, encryption_key);
    // The index is a local file, readable without the keychain.
    let nothing_stored = old.index().is_ok_and(|index| index.items.is_empty());
    new.probe().map_err(|err| {
        // A new file's own hint (e.g. "set CLAUDE_PASSPHRASE …") says how to fix it: kept.
        // The keychain's points back at this command, so it is not.
        let fix = err
            .hint()
            .filter(|_| target == StorageKind::EncryptedFile)
            .map_or_else(|| "fix the above".to_string(), str::to_string);
        if nothing_stored {
            return err.with_hint(format!(
                "{fix}; the configuration was not changed, so run the command again after that"
            ));
        }
        err.with_hint(format!(
            "{fix}; nothing was moved: the credentials stay in {}, so run the command again after that",
            Source::Stored(current).describe()
        ))
    })?;
    let copied = copy_all(old.as_ref(), new.as_ref(), &lock)?;
    // The rename puts a file of the user's own in place of one another user (root) owned:
    // said in the output, since its owner changes.
    let config_owner_before = std::fs::metadata(&ctx.loaded.path)
        .ok()
        .and_then(|meta| crate::storage::ownership::other_owner(&meta));
    crate::storage::atomic::write_atomic(&ctx.loaded.path, new_text.as_bytes(), &lock)
        .inspect_err(|_| undo(new.as_ref(), &copied, &lock))?;
    let Copied { moved, missing, .. } = copied;
    clear_old(ctx, old.as_ref(), &moved, &lock);
    drop(lock);
    Ok(Outcome::report(&StorageSet {
        storage: target.as_str(),
        previous: current.as_str(),
        moved,
        missing,
        config: path,
        config_changed: true,
        config_owner_before,
        passphrase: target == StorageKind::EncryptedFile
            && encryption_key == Some("user-derived-key"),
        file_exists: ctx.state_dir.join("credentials.enc").exists(),
    }))
}

/// The config's new text, checked before anything moves: not managed, a JSON object, and a
/// directory that can take the atomic write.
fn edited_config(ctx: &Context, target: StorageKind, add_key: bool) -> Result<String, AuthError> {
    let path = &ctx.loaded.path;
    let refused = |why: String| {
        AuthError::config(format!(
            "cannot record the storage choice in {}: {why}; nothing was moved",
            path.display()
        ))
    };
    if ctx.loaded.managed.covers("authentication.storage.type")
        || ctx.loaded.managed.covers("authentication.storage")
    {
        return Err(
            refused("`authentication.storage` is set by managed settings".to_string()).with_hint(
                "ask your administrator: managed settings decide where credentials are kept",
            ),
        );
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(
            refused("it is a symbolic link".to_string()).with_hint(format!(
                "set `authentication.storage.type` to \"{}\" in the file it points to",
                target.as_str()
            )),
        );
    }
    let text = crate::config::read_text(path)?.unwrap_or_else(|| "{}\n".to_string());
    // Another `--set-storage` may have moved the credentials while this one waited for the
    // lock: the store this one would copy from is then no longer the one in force.
    let now_in_file = stored_kind(&text).unwrap_or(ctx.loaded.config.authentication.storage.kind);
    if now_in_file != ctx.loaded.config.authentication.storage.kind {
        return Err(refused(format!(
            "the storage choice changed to \"{}\" while this command waited for another one",
            now_in_file.as_str()
        ))
        .with_hint("run the command again"));
    }
    let mut edited = crate::config::edit::set_string(&text, &TYPE_PATH, target.as_str())
        .map_err(|why| refused(why).with_hint("fix the file, then run the command again"))?;
    if target == StorageKind::EncryptedFile && add_key {
        edited = crate::config::edit::set_string(&edited, &KEY_PATH, "user-derived-key")
            .map_err(|why| refused(why).with_hint("fix the file, then run the command again"))?;
    }
    // The atomic write needs a temporary file beside the config: find out now, not after
    // the secrets were copied.
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !dir.exists() {
        crate::storage::atomic::ensure_private_dir(dir)?;
    }
    tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|err| {
            refused(format!("its directory cannot be written ({err})")).with_hint(format!(
                "make {} writable, then run the command again",
                dir.display()
            ))
        })?;
    Ok(edited)
}

/// The `authentication.storage.type` a config's text names, if it names a known one.
fn stored_kind(text: &str) -> Option<StorageKind> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let name = doc.pointer("/authentication/storage/type")?.clone();
    serde_json::from_value(name).ok()
}

/// What [`copy_all`] did.
struct Copied {
    /// Items now in the new store with the old store's values.
    moved: Vec<String>,
    /// Items the old store's index listed but it no longer held.
    missing: Vec<String>,
    /// The moved items the new store did not hold before: an undo removes them.
    created: Vec<String>,
    /// What the new store held before under the names it now holds the moved items: an undo
    /// puts these back.
    overwritten: Vec<(String, Secret<String>, ItemMeta)>,
}

/// Copies every item the old store lists into the new one and reads each back. On any
/// failure the copies of items the new store did not already hold are removed again and
/// the error returned.
fn copy_all(
    old: &dyn SecretStore,
    new: &dyn SecretStore,
    lock: &FileLock,
) -> Result<Copied, AuthError> {
    let index = old.index()?;
    if index.items.is_empty() {
        // Nothing to copy: the old store need not open (a keychain this machine lacks).
        return Ok(Copied {
            moved: Vec::new(),
            missing: Vec::new(),
            created: Vec::new(),
            overwritten: Vec::new(),
        });
    }
    // The old store must open as a whole before anything is copied (a wrong passphrase is
    // found here, not halfway).
    old.authenticate()?;
    let before = new.index()?;
    let mut moved = Vec::new();
    let mut missing = Vec::new();
    let mut created = Vec::new();
    let mut overwritten = Vec::new();
    let result: Result<(), AuthError> = (|| {
        for (item, meta) in &index.items {
            let Some(secret) = old.get(item)? else {
                missing.push(item.clone());
                continue;
            };
            // Counted before the write: a put that fails halfway is undone too.
            match (before.items.get(item), new.get(item)?) {
                (Some(meta), Some(value)) => overwritten.push((item.clone(), value, meta.clone())),
                _ => created.push(item.clone()),
            }
            copy_one(new, item, &secret, meta.clone(), lock)?;
            moved.push(item.clone());
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(Copied {
            moved,
            missing,
            created,
            overwritten,
        }),
        Err(err) => {
            let copied = Copied {
                moved,
                missing,
                created,
                overwritten,
            };
            undo(new, &copied, lock);
            Err(err.with_hint(
                "nothing was changed: the credentials are still where they were and the config is as it was",
            ))
        }
    }
}

fn copy_one(
    new: &dyn SecretStore,
    item: &str,
    secret: &Secret<String>,
    meta: ItemMeta,
    lock: &FileLock,
) -> Result<(), AuthError> {
    new.put(item, secret, meta, lock)?;
    let back = new.get(item)?;
    if back.as_ref().map(|b| b.expose()) != Some(secret.expose()) {
        return Err(AuthError::storage(format!(
            "`{item}` did not read back from the new store as it was written"
        )));
    }
    Ok(())
}

/// Leaves the new store as it was before the move (best effort: the old store still holds
/// everything): the copies of items it did not hold are removed, and what a copy overwrote
/// is put back.
fn undo(new: &dyn SecretStore, copied: &Copied, lock: &FileLock) {
    for item in &copied.created {
        let _ = new.remove(item, lock);
    }
    for (item, value, meta) in &copied.overwritten {
        let _ = new.put(item, value, meta.clone(), lock);
    }
}

/// After the config names the new store: the old one forgets what moved. A failure here
/// loses nothing (the new store holds it all) and is a warning.
fn clear_old(ctx: &Context, old: &dyn SecretStore, moved: &[String], lock: &FileLock) {
    let place = Source::Stored(old.kind()).describe();
    if old.kind() == StorageKind::EncryptedFile {
        EncryptedFile::forget_cached_key(&ctx.state_dir);
        let file = ctx.state_dir.join("credentials.enc");
        if let Err(err) = std::fs::remove_file(&file) {
            if err.kind() != std::io::ErrorKind::NotFound {
                ctx.warn(&format!(
                    "the old copies stay in {} ({err}); remove it by hand",
                    file.display()
                ));
            }
        }
        let master = !ctx.loaded.config.authentication.storage.passphrase_sealed();
        if master {
            let keychain = Keychain::new(&ctx.env, &ctx.state_dir, &ctx.loaded.path);
            let _ = keychain.remove_unindexed(MASTER_KEY_ITEM);
        }
        return;
    }
    let left: Vec<&String> = moved
        .iter()
        .filter(|item| old.remove(item, lock).is_err())
        .collect();
    if !left.is_empty() {
        ctx.warn(&format!(
            "copies of {} stay in {place}: they could not be removed there (the new store holds them all)",
            left.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryStore;
    use crate::storage::Index;

    /// An old store whose `get` fails for one item, after the others were copied.
    struct FailsOn {
        store: MemoryStore,
        item: &'static str,
    }

    impl SecretStore for FailsOn {
        fn kind(&self) -> StorageKind {
            StorageKind::EncryptedFile
        }
        fn index(&self) -> Result<Index, AuthError> {
            self.store.index()
        }
        fn get(&self, item: &str) -> Result<Option<Secret<String>>, AuthError> {
            if item == self.item {
                return Err(AuthError::storage("cannot read it"));
            }
            self.store.get(item)
        }
        fn put(
            &self,
            item: &str,
            secret: &Secret<String>,
            meta: ItemMeta,
            lock: &FileLock,
        ) -> Result<(), AuthError> {
            self.store.put(item, secret, meta, lock)
        }
        fn remove(&self, item: &str, lock: &FileLock) -> Result<bool, AuthError> {
            self.store.remove(item, lock)
        }
    }

    fn meta() -> ItemMeta {
        ItemMeta {
            fingerprint: "fp".into(),
            created_at: crate::time::UnixTime::EPOCH,
            rotated_at: None,
            previous_fingerprint: None,
            helper_digest: None,
        }
    }

    #[test]
    fn a_failed_move_removes_only_what_the_new_store_did_not_hold_before() {
        let dir = tempfile::tempdir().unwrap();
        let lock = FileLock::acquire(dir.path()).unwrap();
        let old = FailsOn {
            store: MemoryStore::default(),
            item: "zz-unreadable",
        };
        old.store.insert("api-key", "old-key", meta());
        old.store.insert("session:anthropic", "old-session", meta());
        old.store.insert("zz-unreadable", "never-read", meta());
        let new = MemoryStore::default();
        new.insert("api-key", "kept-key", meta());

        assert!(copy_all(&old, &new, &lock).is_err());
        let index = new.index().unwrap();
        assert_eq!(
            new.get("api-key")
                .unwrap()
                .map(|s| s.expose().clone())
                .as_deref(),
            Some("kept-key"),
            "an item the new store held before the move is back as it was"
        );
        assert!(index.items.contains_key("api-key"));
        assert!(
            !index.items.contains_key("session:anthropic"),
            "a copy the move created is removed"
        );
    }

    #[test]
    fn the_storage_type_is_read_back_from_the_configs_text() {
        let text = r#"{"authentication": {"storage": {"type": "encrypted-file"}}}"#;
        assert_eq!(stored_kind(text), Some(StorageKind::EncryptedFile));
        assert_eq!(stored_kind(r#"{"authentication": {}}"#), None);
        assert_eq!(
            stored_kind(r#"{"authentication": {"storage": {"type": "floppy"}}}"#),
            None
        );
    }
}
