//! The passphrase cache: the encrypted file's derived key (never the passphrase) kept in the
//! Linux kernel's user keyring (`@u`) with a timeout, so a shell session types the
//! passphrase once. Reached through the `add_key`/`keyctl` system calls (no helper program,
//! no crate); any failure (no keyring in a container, a quota) means "no cache", silently:
//! the passphrase is then asked for as before. Other platforms have no cache.
//!
//! Each entry is named after the file's random Argon2 salt, so a file made again (a new
//! salt) never meets an old key, and two state directories never share one.

use zeroize::Zeroizing;

/// The cache's default lifetime (`authentication.storage.passphraseCacheSeconds`).
pub const DEFAULT_SECONDS: u64 = 900;

/// The kernel keyring cache, for entries that live `seconds`.
#[derive(Clone, Copy, Debug)]
pub struct KeyCache {
    seconds: u64,
}

impl KeyCache {
    /// A cache whose entries expire after `seconds`; `None` (no cache) for 0. `disabled`
    /// (debug builds: `CLAUDE_TEST_NO_KEYRING`) acts as a kernel without keyrings, for tests.
    pub fn new(seconds: u64, disabled: bool) -> Option<KeyCache> {
        (seconds > 0 && !disabled && cfg!(target_os = "linux")).then_some(KeyCache { seconds })
    }

    fn description(salt: &str) -> String {
        format!("claude-auth:derived-key:{salt}")
    }

    /// The key cached for the file with `salt`, if any.
    pub fn load(&self, salt: &str) -> Option<Zeroizing<[u8; 32]>> {
        sys::load(&Self::description(salt))
    }

    /// Keeps `key` for the file with `salt`; a failure is ignored (no cache).
    pub fn store(&self, salt: &str, key: &[u8; 32]) {
        let seconds = u32::try_from(self.seconds).unwrap_or(u32::MAX);
        sys::store(&Self::description(salt), key, seconds);
    }

    /// Forgets the key of the file with `salt`, whatever the cache setting is now (it may
    /// have been on when the key was kept).
    pub fn forget(salt: &str) {
        sys::forget(&Self::description(salt));
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::ffi::CString;
    use zeroize::Zeroizing;

    const KEY_SPEC_USER_KEYRING: libc::c_long = -4;
    const KEYCTL_SETPERM: libc::c_long = 5;
    const KEYCTL_SEARCH: libc::c_long = 10;
    const KEYCTL_READ: libc::c_long = 11;
    const KEYCTL_SET_TIMEOUT: libc::c_long = 15;
    const KEYCTL_INVALIDATE: libc::c_long = 21;
    /// Possessor: everything; the user (this uid, which can read the file and the
    /// passphrase's prompt anyway): view, read, search. Nobody else.
    const PERMISSIONS: libc::c_long = 0x3f0b_0000;

    fn c(text: &str) -> Option<CString> {
        CString::new(text).ok()
    }

    fn search(description: &str) -> Option<libc::c_long> {
        let (kind, description) = (c("user")?, c(description)?);
        // SAFETY: both strings are NUL-terminated and outlive the call; no destination
        // keyring (0) is asked for.
        let id = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                KEYCTL_SEARCH,
                KEY_SPEC_USER_KEYRING,
                kind.as_ptr(),
                description.as_ptr(),
                0 as libc::c_long,
            )
        };
        (id > 0).then_some(id)
    }

    pub fn load(description: &str) -> Option<Zeroizing<[u8; 32]>> {
        let id = search(description)?;
        let mut key = Zeroizing::new([0u8; 32]);
        // SAFETY: the buffer is 32 writable bytes and its length is passed; the kernel
        // writes at most that many and returns the payload's full length.
        let len = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                KEYCTL_READ,
                id,
                key.as_mut_ptr(),
                key.len() as libc::size_t,
            )
        };
        (len == 32).then_some(key)
    }

    pub fn store(description: &str, key: &[u8; 32], seconds: u32) {
        let (Some(kind), Some(description)) = (c("user"), c(description)) else {
            return;
        };
        // SAFETY: the strings are NUL-terminated, the payload is 32 readable bytes and its
        // length is passed.
        let id = unsafe {
            libc::syscall(
                libc::SYS_add_key,
                kind.as_ptr(),
                description.as_ptr(),
                key.as_ptr(),
                key.len() as libc::size_t,
                KEY_SPEC_USER_KEYRING,
            )
        };
        if id <= 0 {
            return;
        }
        // SAFETY: plain integer arguments.
        let timed = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                KEYCTL_SET_TIMEOUT,
                id,
                libc::c_long::from(seconds),
            )
        };
        if timed != 0 {
            // A key that would never expire is worse than no cache.
            // SAFETY: plain integer arguments.
            unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_INVALIDATE, id) };
            return;
        }
        // SAFETY: plain integer arguments; a refusal leaves the default permissions.
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, id, PERMISSIONS) };
    }

    pub fn forget(description: &str) {
        while let Some(id) = search(description) {
            // SAFETY: plain integer arguments.
            if unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_INVALIDATE, id) } != 0 {
                return;
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use zeroize::Zeroizing;

    pub fn load(_description: &str) -> Option<Zeroizing<[u8; 32]>> {
        None
    }

    pub fn store(_description: &str, _key: &[u8; 32], _seconds: u32) {}

    pub fn forget(_description: &str) {}
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_cached_key_reads_back_until_forgotten() {
        let salt = format!(
            "unit-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        );
        let Some(cache) = KeyCache::new(60, false) else {
            return;
        };
        cache.store(&salt, &[7u8; 32]);
        let Some(found) = cache.load(&salt) else {
            // No kernel keyring here: the cache is off, which is the fallback under test
            // elsewhere.
            return;
        };
        assert_eq!(*found, [7u8; 32]);
        KeyCache::forget(&salt);
        assert!(cache.load(&salt).is_none());
        assert!(KeyCache::new(0, false).is_none());
        assert!(KeyCache::new(60, true).is_none());
    }
}
