//! A secret store in memory, for unit tests of the rules that read stores (resolution,
//! refusals, status): no keychain, no file, no lock contention.

use super::{FileLock, Index, ItemMeta, SecretStore, StorageKind};
use crate::error::AuthError;
use crate::secret::Secret;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Item name → its secret and metadata.
type Items = BTreeMap<String, (Secret<String>, ItemMeta)>;

/// Items kept in memory; clones share them, as two handles on one keychain would.
#[derive(Clone, Default)]
pub struct MemoryStore {
    items: Rc<RefCell<Items>>,
}

impl MemoryStore {
    /// Stores `secret` as `item` (no lock needed: nothing else sees this store).
    pub fn insert(&self, item: &str, secret: &str, meta: ItemMeta) {
        self.items
            .borrow_mut()
            .insert(item.to_string(), (Secret::new(secret.to_string()), meta));
    }
}

impl SecretStore for MemoryStore {
    fn kind(&self) -> StorageKind {
        StorageKind::Keychain
    }

    fn index(&self) -> Result<Index, AuthError> {
        let items = self
            .items
            .borrow()
            .iter()
            .map(|(name, (_, meta))| (name.clone(), meta.clone()))
            .collect();
        Ok(Index { items })
    }

    fn get(&self, item: &str) -> Result<Option<Secret<String>>, AuthError> {
        Ok(self.items.borrow().get(item).map(|(s, _)| s.clone()))
    }

    fn put(
        &self,
        item: &str,
        secret: &Secret<String>,
        meta: ItemMeta,
        _lock: &FileLock,
    ) -> Result<(), AuthError> {
        self.items
            .borrow_mut()
            .insert(item.to_string(), (secret.clone(), meta));
        Ok(())
    }

    fn remove(&self, item: &str, _lock: &FileLock) -> Result<bool, AuthError> {
        Ok(self.items.borrow_mut().remove(item).is_some())
    }
}
