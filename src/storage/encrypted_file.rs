//! `encrypted-file` storage: one file, sealed with XChaCha20-Poly1305 under a key from
//! Argon2id (a passphrase) or a random master key kept in the keychain.
//!
//! Format (version 1): `CLAUDEAE` · version byte · header length (u32 BE) · header JSON ·
//! 24-byte nonce · ciphertext. The header (KDF parameters, salt and the non-secret item
//! metadata) is authenticated as associated data, so any change to any byte fails to open.
//! `--auth-status` reads the header without running the KDF, so there it is unproven: `get`
//! and `remove` always open (authenticate) the whole file and trust only what it holds.

use super::aside::{move_aside, Aside};
use super::atomic::{read_private, write_atomic, FileLock};
use super::key_cache::KeyCache;
use super::keychain::Keychain;
use super::passphrase::passphrase;
use super::{Index, ItemMeta, SecretStore, StorageKind};
use crate::error::AuthError;
use crate::secret::Secret;
use crate::time::UnixTime;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

const MAGIC: &[u8; 8] = b"CLAUDEAE";
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Keychain item holding the random master key when no passphrase is used.
pub const MASTER_KEY_ITEM: &str = "encrypted-file-master-key";
/// OWASP's Argon2id baseline: 19 MiB, 2 passes, 1 lane.
const ARGON2_M_KIB: u32 = 19_456;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;
/// Upper bounds on parameters read from a header, which is only authenticated after the KDF
/// has run: a crafted file must not make us allocate gigabytes.
const ARGON2_MAX_M_KIB: u32 = 1 << 20;
const ARGON2_MAX_T: u32 = 16;
const ARGON2_MAX_P: u32 = 16;

/// Where the file's key comes from (`authentication.storage.encryptionKey`).
pub enum KeySource {
    /// `user-derived-key`: Argon2id of `CLAUDE_PASSPHRASE` (as set, empty included) or a
    /// hidden prompt.
    Passphrase {
        from_env: Option<Secret<String>>,
        /// Where to ask when `CLAUDE_PASSPHRASE` is not set.
        terminal: std::rc::Rc<dyn crate::terminal::Terminal>,
        /// Where a key derived from a typed passphrase is kept for the next commands
        /// (`None`: `passphraseCacheSeconds` is 0 or there is no kernel keyring).
        cache: Option<KeyCache>,
    },
    /// Anything else: a random 256-bit key held in the OS keychain.
    KeychainMasterKey(Keychain),
}

/// The encrypted credential file `STATE_DIR/credentials.enc`.
pub struct EncryptedFile {
    path: PathBuf,
    key_source: KeySource,
    /// The key found for this file in this process, by salt (`""` for a master key): one
    /// command that opens the file several times asks and derives once.
    memo: std::cell::RefCell<Option<(String, Zeroizing<[u8; 32]>)>>,
    /// The memo's key was derived from a passphrase typed at the prompt, not yet cached.
    typed: std::cell::Cell<bool>,
    /// The command's time, for the names its hints offer to move the file aside to.
    now: UnixTime,
}

/// How the file's key is made. On disk it is a flat object with an `alg` field (see
/// [`KdfOnDisk`]); a plain struct keeps serde's buffering code for tagged enums off the
/// `--auth-status` path, which reads this header.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "KdfOnDisk", into = "KdfOnDisk")]
enum Kdf {
    Argon2id {
        m_kib: u32,
        t: u32,
        p: u32,
        salt: String,
    },
    KeychainMasterKey,
}

/// `{"alg": "argon2id", "m_kib", "t", "p", "salt"}` or `{"alg": "keychain-master-key"}`.
#[derive(Clone, Serialize, Deserialize)]
struct KdfOnDisk {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    m_kib: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
}

impl TryFrom<KdfOnDisk> for Kdf {
    type Error = String;

    fn try_from(disk: KdfOnDisk) -> Result<Kdf, String> {
        match (disk.alg.as_str(), disk.m_kib, disk.t, disk.p, disk.salt) {
            ("argon2id", Some(m_kib), Some(t), Some(p), Some(salt)) => {
                Ok(Kdf::Argon2id { m_kib, t, p, salt })
            }
            ("keychain-master-key", ..) => Ok(Kdf::KeychainMasterKey),
            _ => Err("unknown or incomplete key derivation".to_string()),
        }
    }
}

impl From<Kdf> for KdfOnDisk {
    fn from(kdf: Kdf) -> KdfOnDisk {
        match kdf {
            Kdf::Argon2id { m_kib, t, p, salt } => KdfOnDisk {
                alg: "argon2id".into(),
                m_kib: Some(m_kib),
                t: Some(t),
                p: Some(p),
                salt: Some(salt),
            },
            Kdf::KeychainMasterKey => KdfOnDisk {
                alg: "keychain-master-key".into(),
                m_kib: None,
                t: None,
                p: None,
                salt: None,
            },
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    kdf: Kdf,
    /// The non-secret index, as `items` at the top of the header (no `flatten`: its generic
    /// buffering code would sit on `--auth-status`'s path).
    #[serde(default)]
    items: BTreeMap<String, ItemMeta>,
}

/// An opened file: its header, key and secrets.
struct Opened {
    header: Header,
    key: Zeroizing<[u8; 32]>,
    secrets: BTreeMap<String, Secret<String>>,
}

impl EncryptedFile {
    /// The encrypted store of state directory `dir`, for a command running at `now`.
    pub fn new(dir: &Path, key_source: KeySource, now: UnixTime) -> EncryptedFile {
        EncryptedFile {
            path: dir.join("credentials.enc"),
            key_source,
            memo: std::cell::RefCell::new(None),
            typed: std::cell::Cell::new(false),
            now,
        }
    }

    /// Puts a key derived from a typed passphrase in the passphrase cache, once it has
    /// proved itself (opened the file, or is about to seal a new one).
    fn remember(&self, kdf: &Kdf, key: &[u8; 32]) {
        if let (
            Kdf::Argon2id { salt, .. },
            KeySource::Passphrase {
                cache: Some(cache), ..
            },
        ) = (kdf, &self.key_source)
        {
            if self.typed.replace(false) {
                cache.store(salt, key);
            }
        }
    }

    /// Forgets the passphrase cache's key for the file in `dir`, if the file exists and is
    /// sealed with a passphrase (`--reset-auth`, before the file goes).
    pub fn forget_cached_key(dir: &Path) {
        let Ok(Some(bytes)) = read_private(&dir.join("credentials.enc")) else {
            return;
        };
        if let Ok((header, _)) = parse_header(&bytes) {
            if let Kdf::Argon2id { salt, .. } = header.kdf {
                KeyCache::forget(&salt);
            }
        }
    }

    /// Whether the file exists.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    fn read_header(&self) -> Result<Option<(Header, Vec<u8>, usize)>, AuthError> {
        let Some(bytes) = read_private(&self.path)? else {
            return Ok(None);
        };
        let (header, body_at) = parse_header(&bytes).map_err(|why| self.damaged(why))?;
        Ok(Some((header, bytes, body_at)))
    }

    fn damaged(&self, why: &str) -> AuthError {
        AuthError::storage(format!("{} cannot be opened: {why}", self.path.display())).with_hint(
            format!("the file was left untouched; {}", self.start_over()),
        )
    }

    /// The ways out of a file that will not open: a backup, or starting over without it
    /// (`--reset-auth` removes a file it cannot open, as it removes a good one).
    fn start_over(&self) -> String {
        format!(
            "restore it from a backup, or start over: move it away (`{}`) or run `claude \
             --reset-auth` (it removes every stored credential, this file included), then \
             store your credentials again",
            move_aside(&self.path, Aside::Bad, self.now)
        )
    }

    /// AEAD cannot tell a wrong key from a changed byte, so the error names both and says
    /// what to do about each.
    fn undecryptable(&self) -> AuthError {
        let (key, check) = match self.key_source {
            KeySource::Passphrase { .. } => (
                "wrong passphrase",
                "check CLAUDE_PASSPHRASE (or what you typed)",
            ),
            KeySource::KeychainMasterKey(_) => (
                "the master key in the keychain does not belong to it",
                "check that the keychain item `encrypted-file-master-key` is the one made with this file",
            ),
        };
        AuthError::storage(format!(
            "cannot decrypt {}: {key}, or the file was modified or truncated",
            self.path.display()
        ))
        .with_hint(format!(
            "{check}; the file was left untouched. If it is right, the file was tampered \
             with or damaged: {}",
            self.start_over()
        ))
    }

    /// Opens the file (running the KDF), or `None` when it does not exist yet. Everything it
    /// returns is authenticated: header, item list and secrets.
    fn open(&self) -> Result<Option<Opened>, AuthError> {
        let Some((header, bytes, body_at)) = self.read_header()? else {
            return Ok(None);
        };
        if bytes.len() < body_at + NONCE_LEN + TAG_LEN {
            return Err(self.damaged("it is truncated"));
        }
        let (aad, body) = bytes.split_at(body_at);
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| self.damaged("it is truncated"))?;
        let decrypt = |key: &[u8; 32]| {
            cipher(key)
                .decrypt(
                    &nonce,
                    Payload {
                        msg: ciphertext,
                        aad,
                    },
                )
                .map(Zeroizing::new)
        };
        let (key, cached) = self.key_for(&header.kdf, false)?;
        let (key, plaintext) = match decrypt(&key) {
            Ok(plaintext) => {
                self.remember(&header.kdf, &key);
                (key, plaintext)
            }
            // A cached key that no longer opens the file (it was replaced with one of the
            // same salt, or damaged): forget it and ask, once.
            Err(_) if cached => {
                if let Kdf::Argon2id { salt, .. } = &header.kdf {
                    KeyCache::forget(salt);
                }
                self.memo.replace(None);
                let (key, _) = self.key_for(&header.kdf, false)?;
                let plaintext = decrypt(&key).map_err(|_| self.undecryptable())?;
                self.remember(&header.kdf, &key);
                (key, plaintext)
            }
            Err(_) => return Err(self.undecryptable()),
        };
        let plain: BTreeMap<String, String> = serde_json::from_slice(&plaintext)
            .map_err(|_| self.damaged("its contents are not valid"))?;
        let secrets = plain
            .into_iter()
            .map(|(item, value)| (item, Secret::new(value)))
            .collect();
        Ok(Some(Opened {
            header,
            key,
            secrets,
        }))
    }

    /// Opens the file or starts a new one, holding `lock` for the read-modify-write.
    fn open_or_create(&self, _lock: &FileLock) -> Result<Opened, AuthError> {
        if let Some(opened) = self.open()? {
            return Ok(opened);
        }
        let kdf = match self.key_source {
            KeySource::Passphrase { .. } => Kdf::Argon2id {
                m_kib: ARGON2_M_KIB,
                t: ARGON2_T,
                p: ARGON2_P,
                salt: hex(&random::<16>()?),
            },
            KeySource::KeychainMasterKey(_) => Kdf::KeychainMasterKey,
        };
        let (key, _) = self.key_for(&kdf, true)?;
        self.remember(&kdf, &key);
        Ok(Opened {
            header: Header {
                kdf,
                items: BTreeMap::new(),
            },
            key,
            secrets: BTreeMap::new(),
        })
    }

    fn seal(&self, opened: &Opened, lock: &FileLock) -> Result<(), AuthError> {
        let header_json = serde_json::to_vec(&opened.header)
            .map_err(|e| AuthError::internal("cannot encode the header").caused_by(e))?;
        let mut out = Vec::with_capacity(header_json.len() + 256);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(header_json.len() as u32).to_be_bytes());
        out.extend_from_slice(&header_json);
        let aad_len = out.len();
        let nonce = random::<NONCE_LEN>()?;
        let plain: BTreeMap<&str, &str> = opened
            .secrets
            .iter()
            .map(|(item, secret)| (item.as_str(), secret.expose().as_str()))
            .collect();
        // Written once into a buffer of its exact size: no freed copy of the secrets.
        let plaintext = crate::secret::to_secret_json(&plain)
            .map_err(|e| AuthError::internal("cannot encode").caused_by(e))?;
        let ciphertext = cipher(&opened.key)
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext.expose().as_bytes(),
                    aad: &out[..aad_len],
                },
            )
            .map_err(|_| AuthError::internal("encryption failed"))?;
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        write_atomic(&self.path, &out, lock)
    }

    /// The file's key, and whether it came from the passphrase cache (so a failure to
    /// decrypt with it means "ask", not "wrong passphrase").
    fn key_for(&self, kdf: &Kdf, creating: bool) -> Result<(Zeroizing<[u8; 32]>, bool), AuthError> {
        let memo_name = match kdf {
            Kdf::Argon2id { salt, .. } => salt.as_str(),
            Kdf::KeychainMasterKey => "",
        };
        if let Some((name, key)) = self.memo.borrow().as_ref() {
            if name == memo_name {
                return Ok((key.clone(), false));
            }
        }
        let mut cached = false;
        let key = match (kdf, &self.key_source) {
            // (`creating`: a new file's salt has no cached key.)
            // CLAUDE_PASSPHRASE, when set, is what the user chose for this command: the
            // cache is only for passphrases typed at the prompt.
            (
                Kdf::Argon2id { salt, .. },
                KeySource::Passphrase {
                    from_env: None,
                    cache: Some(cache),
                    ..
                },
            ) if !creating => match cache.load(salt) {
                Some(key) => {
                    cached = true;
                    key
                }
                None => self.derive(kdf, creating)?,
            },
            _ => self.derive(kdf, creating)?,
        };
        self.memo
            .replace(Some((memo_name.to_string(), key.clone())));
        Ok((key, cached))
    }

    fn derive(&self, kdf: &Kdf, creating: bool) -> Result<Zeroizing<[u8; 32]>, AuthError> {
        match (kdf, &self.key_source) {
            (Kdf::Argon2id { m_kib, t, p, salt }, source) => {
                if *m_kib > ARGON2_MAX_M_KIB || *t > ARGON2_MAX_T || *p > ARGON2_MAX_P {
                    return Err(self.damaged("its KDF parameters are out of range"));
                }
                let (given, terminal, cache): (_, &dyn crate::terminal::Terminal, _) = match source {
                    KeySource::Passphrase { from_env, terminal, cache } => {
                        (from_env.as_ref(), terminal.as_ref(), *cache)
                    }
                    KeySource::KeychainMasterKey(_) => (None, &crate::terminal::SystemTerminal, None),
                };
                let passphrase = passphrase(&self.path, creating, given, terminal)?;
                let salt_bytes = unhex(salt).ok_or_else(|| self.damaged("its salt is not valid"))?;
                let params = argon2::Params::new(*m_kib, *t, *p, Some(32)).map_err(|_| self.damaged("its KDF parameters are not valid"))?;
                let mut key = Zeroizing::new([0u8; 32]);
                argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                    .hash_password_into(passphrase.expose().as_bytes(), &salt_bytes, key.as_mut())
                    .map_err(|_| AuthError::internal("key derivation failed"))?;
                // Kept only for a passphrase typed at the prompt, once it has opened the file
                // (or made it): see `remember`.
                if let (None, Some(_)) = (given, cache) {
                    self.typed.set(true);
                }
                Ok(key)
            }
            (Kdf::KeychainMasterKey, KeySource::KeychainMasterKey(keychain)) => master_key(keychain, creating, &self.path, self.now),
            (Kdf::KeychainMasterKey, KeySource::Passphrase { .. }) => Err(AuthError::storage(format!(
                "{} is sealed with a master key from the keychain, but `encryptionKey` is `user-derived-key`",
                self.path.display()
            ))
            .with_hint("remove `authentication.storage.encryptionKey` from the config to open it")),
        }
    }
}

impl SecretStore for EncryptedFile {
    fn kind(&self) -> StorageKind {
        StorageKind::EncryptedFile
    }

    fn index(&self) -> Result<Index, AuthError> {
        Ok(self
            .read_header()?
            .map(|(header, ..)| Index {
                items: header.items,
            })
            .unwrap_or_default())
    }

    /// Opens the whole file even when its header does not list `item`: the header is only
    /// authenticated by the decryption, so an item deleted from it must be an error, not an
    /// absent key.
    fn get(&self, item: &str) -> Result<Option<Secret<String>>, AuthError> {
        Ok(self
            .open()?
            .and_then(|mut opened| opened.secrets.remove(item)))
    }

    fn put(
        &self,
        item: &str,
        secret: &Secret<String>,
        meta: ItemMeta,
        lock: &FileLock,
    ) -> Result<(), AuthError> {
        let mut opened = self.open_or_create(lock)?;
        opened.secrets.insert(item.to_string(), secret.clone());
        opened.header.items.insert(item.to_string(), meta);
        self.seal(&opened, lock)
    }

    /// Like `get`, decides from the opened file, never from the header alone; a file that
    /// does not open is left as it is.
    fn remove(&self, item: &str, lock: &FileLock) -> Result<bool, AuthError> {
        let Some(mut opened) = self.open()? else {
            return Ok(false);
        };
        let held = opened.secrets.remove(item).is_some();
        let listed = opened.header.items.remove(item).is_some();
        if !held && !listed {
            return Ok(false);
        }
        self.seal(&opened, lock)?;
        Ok(true)
    }

    /// One atomic rewrite under the same key (and salt): the file on disk is the old one
    /// until the new one replaces it, so an interruption loses nothing, and no new
    /// passphrase is asked for. A file that does not open is left as it is.
    fn keep_only(
        &self,
        keep: &dyn Fn(&str) -> bool,
        lock: &FileLock,
    ) -> Result<Vec<String>, AuthError> {
        let Some(mut opened) = self.open()? else {
            return Ok(Vec::new());
        };
        let mut dropped: Vec<String> = opened
            .secrets
            .keys()
            .chain(opened.header.items.keys())
            .filter(|item| !keep(item))
            .cloned()
            .collect();
        if dropped.is_empty() {
            return Ok(dropped);
        }
        dropped.sort();
        dropped.dedup();
        opened.secrets.retain(|item, _| keep(item));
        opened.header.items.retain(|item, _| keep(item));
        self.seal(&opened, lock)?;
        Ok(dropped)
    }

    fn authenticate(&self) -> Result<(), AuthError> {
        self.open().map(drop)
    }

    /// An existing file must open (the key is then remembered for the write); a new one
    /// needs a passphrase that can be had (CLAUDE_PASSPHRASE or a terminal) or a reachable
    /// keychain for its master key.
    fn probe(&self) -> Result<(), AuthError> {
        if self.exists() {
            return self.authenticate();
        }
        match &self.key_source {
            KeySource::Passphrase {
                from_env: None,
                terminal,
                ..
            } if !terminal.stderr_is_tty() => Err(AuthError::storage(format!(
                "{} needs a passphrase and there is no terminal to ask on",
                self.path.display()
            ))
            .with_hint("set CLAUDE_PASSPHRASE for scripts and CI")),
            // A new file takes the passphrase's rule now, not after a key was sent.
            KeySource::Passphrase {
                from_env: Some(value),
                ..
            } => super::passphrase::env_usable_for_new(value),
            KeySource::Passphrase { .. } => Ok(()),
            KeySource::KeychainMasterKey(keychain) => keychain.get(MASTER_KEY_ITEM).map(drop),
        }
    }
}

fn parse_header(bytes: &[u8]) -> Result<(Header, usize), &'static str> {
    if bytes.len() < MAGIC.len() + 5 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(
            if bytes.starts_with(&MAGIC[..bytes.len().min(MAGIC.len())]) {
                "it is truncated"
            } else {
                "it is not a claude-auth encrypted store"
            },
        );
    }
    let version = bytes[MAGIC.len()];
    if version != VERSION {
        return Err("it was written in a newer format; upgrade claude");
    }
    let len_at = MAGIC.len() + 1;
    let len = u32::from_be_bytes(bytes[len_at..len_at + 4].try_into().expect("4 bytes")) as usize;
    let header_at = len_at + 4;
    let header_bytes = bytes
        .get(header_at..header_at + len)
        .ok_or("it is truncated")?;
    let header = serde_json::from_slice(header_bytes).map_err(|_| "its header is damaged")?;
    Ok((header, header_at + len))
}

/// The random master key from the keychain, created with the file.
fn master_key(
    keychain: &Keychain,
    creating: bool,
    path: &Path,
    now: UnixTime,
) -> Result<Zeroizing<[u8; 32]>, AuthError> {
    if let Some(stored) = keychain.get(MASTER_KEY_ITEM)? {
        let bytes = unhex(stored.expose())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| AuthError::storage("the master key in the keychain is damaged"))?;
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&bytes);
        let mut bytes = bytes;
        bytes.zeroize();
        return Ok(key);
    }
    if !creating {
        return Err(AuthError::storage(format!(
            "the master key for {} is missing from the keychain",
            path.display()
        ))
        .with_hint(format!(
            "restore the keychain item, or move the file away (`{}`) and store your \
             credentials again",
            move_aside(path, Aside::Bad, now)
        )));
    }
    let key = Zeroizing::new(random::<32>()?);
    keychain.put_unindexed(MASTER_KEY_ITEM, &Secret::new(hex(key.as_ref())))?;
    Ok(key)
}

fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key).into())
}

fn random<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::internal("the OS random number generator failed").caused_by(e))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(
            unhex(&hex(&[0, 1, 254, 255])).unwrap(),
            vec![0, 1, 254, 255]
        );
        assert!(unhex("abc").is_none());
    }

    #[test]
    fn header_parse_rejects_foreign_and_truncated_files() {
        assert_eq!(
            parse_header(b"hello world, not ours").unwrap_err(),
            "it is not a claude-auth encrypted store"
        );
        assert_eq!(parse_header(b"CLAUDE").unwrap_err(), "it is truncated");
        let mut bytes = MAGIC.to_vec();
        bytes.push(VERSION);
        bytes.extend_from_slice(&100u32.to_be_bytes());
        bytes.extend_from_slice(b"{}");
        assert_eq!(parse_header(&bytes).unwrap_err(), "it is truncated");
    }
}
