//! Private files done right: a cross-process lock, atomic durable writes, and reads that
//! refuse symlinks and files other users can read.
//!
//! On Unix files are created 0600 and directories 0700, and modes are checked on read. On
//! Windows there are no modes: files inherit their folder's ACL (see
//! [`super::ownership`]), and symlinks are refused all the same.

use super::checked_file::{CheckedFile, Trust};
use crate::error::{AuthError, ErrorCode};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The shortest wait for another `claude` process to finish a write.
const LOCK_WAIT: Duration = Duration::from_secs(15);
/// What a lock holder may spend beyond its HTTP budget: a keychain read and write (3 s
/// each at worst) or two Argon2id runs, and the fsyncs of the write.
const LOCK_MARGIN: Duration = Duration::from_secs(10);
/// Name prefix of the temp files behind atomic writes.
const TEMP_PREFIX: &str = ".tmp-";

/// An exclusive lock on the state directory, held until dropped.
///
/// Writes take `&FileLock` so that no read-modify-write can run without it.
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the lock `DIR/.lock`, waiting up to 15 s for another process to release it.
    /// Commands take it through `Context::lock`, which waits longer (see [`Self::wait_for`]).
    ///
    /// # Errors
    /// `storage_error` when the lock file cannot be opened or stays held.
    pub fn acquire(dir: &Path) -> Result<FileLock, AuthError> {
        FileLock::acquire_within(dir, LOCK_WAIT)
    }

    /// How long to wait for a holder that may be in an HTTP exchange of up to `budget`
    /// (a refresh keeps the lock across it: refresh tokens are single-use): the budget
    /// plus [`LOCK_MARGIN`], and never less than 15 s.
    pub fn wait_for(budget: Duration) -> Duration {
        budget.saturating_add(LOCK_MARGIN).max(LOCK_WAIT)
    }

    /// Takes the lock `DIR/.lock`, waiting up to `wait` for another process to release it.
    ///
    /// # Errors
    /// `storage_error` when the lock file cannot be opened or stays held for `wait`.
    pub fn acquire_within(dir: &Path, wait: Duration) -> Result<FileLock, AuthError> {
        let file = lock_file(dir, ".lock", wait)?;
        remove_orphaned_temp_files(dir);
        Ok(FileLock { _file: file })
    }

    /// Takes the lock `DIR/.lock` in a directory another program keeps for the user (the
    /// AWS CLI's SSO token cache), which that program may have made group-writable under
    /// a user-private group (umask 002, Ubuntu's default): see
    /// [`super::ownership::check_users_dir`].
    ///
    /// # Errors
    /// `storage_error` when the directory is not the user's alone, or as [`Self::acquire_within`].
    pub fn acquire_in_users_dir(dir: &Path, wait: Duration) -> Result<FileLock, AuthError> {
        create_private_dir(dir)?;
        let meta = std::fs::metadata(dir).map_err(|err| storage_io("cannot stat", dir, err))?;
        super::ownership::check_users_dir(dir, &meta)?;
        let file = lock_in(dir, ".lock", wait)?;
        remove_orphaned_temp_files(dir);
        Ok(FileLock { _file: file })
    }
}

/// Opens `DIR/NAME` (created 0600, never through a symlink) and takes an exclusive lock on
/// it, waiting up to `wait` for another process to release it; the lock lasts as long as
/// the returned handle.
///
/// # Errors
/// `storage_error` when the file cannot be opened or stays locked for `wait`.
pub(crate) fn lock_file(dir: &Path, name: &str, wait: Duration) -> Result<File, AuthError> {
    ensure_private_dir(dir)?;
    lock_in(dir, name, wait)
}

/// [`lock_file`] in a directory already checked.
fn lock_in(dir: &Path, name: &str, wait: Duration) -> Result<File, AuthError> {
    let path = dir.join(name);
    let file = no_follow()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|err| storage_io("cannot open the lock file", &path, err))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(AuthError::storage(format!(
                    "another claude process has held {} for {}",
                    path.display(),
                    seconds(wait)
                ))
                .with_hint("wait for it to finish, or end it if it is stuck"))
            }
            Err(std::fs::TryLockError::Error(err)) => {
                return Err(storage_io("cannot lock", &path, err))
            }
        }
    }
}

/// Reads the private JSON state file `path` (`T::default()` when absent).
///
/// # Errors
/// `storage_error` when it is unreadable, readable by others or damaged; `hint` says how
/// to recover from damage (a damaged file is never taken as empty).
pub fn read_json<T: serde::de::DeserializeOwned + Default>(
    path: &Path,
    hint: &str,
) -> Result<T, AuthError> {
    match read_private(path)? {
        None => Ok(T::default()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            AuthError::storage(format!("{} is damaged", path.display()))
                .caused_by(e)
                .with_hint(hint)
        }),
    }
}

/// Writes `value` as the private JSON state file `path`, atomically, under `lock`.
///
/// # Errors
/// `storage_error`; the previous file is then kept.
pub fn write_json<T: serde::Serialize>(
    path: &Path,
    value: &T,
    lock: &FileLock,
) -> Result<(), AuthError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| {
        AuthError::internal(format!("cannot encode {}", path.display())).caused_by(e)
    })?;
    write_atomic(path, &bytes, lock)
}

/// `15 s`, or `1.5 s` for a wait that is not whole seconds.
fn seconds(wait: Duration) -> String {
    if wait.subsec_millis() == 0 {
        format!("{} s", wait.as_secs())
    } else {
        format!("{:.1} s", wait.as_secs_f64())
    }
}

/// Every writer holds the lock while its temp file exists, so a temp file seen under the
/// lock was left by a writer that died mid-write: remove it (it may hold sealed secrets).
fn remove_orphaned_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Creates `dir` (and parents) with mode 0700 (on Unix) when it does not exist, and refuses
/// one that other users can write.
///
/// # Errors
/// `storage_error` when it cannot be created or is writable by others (with a `chmod` hint).
pub fn ensure_private_dir(dir: &Path) -> Result<(), AuthError> {
    create_private_dir(dir)?;
    let meta = std::fs::metadata(dir).map_err(|err| storage_io("cannot stat", dir, err))?;
    // Others who can write the directory can swap our files; reading names alone is harmless.
    super::ownership::check_state_dir(dir, &meta)
}

/// Creates `dir` (and its parents) 0700 when missing.
fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|err| storage_io("cannot create the directory", dir, err))
}

/// Replaces `path` with `bytes` atomically: a temp file in the same directory (exclusive
/// create, 0600 on Unix), fsync, rename over `path`, fsync the directory (on Unix).
///
/// # Errors
/// `storage_error`; `path` then still holds its previous contents.
pub fn write_atomic(path: &Path, bytes: &[u8], _lock: &FileLock) -> Result<(), AuthError> {
    let dir = parent_of(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut temp = builder
        .tempfile_in(&dir)
        .map_err(|err| storage_io("cannot create a temporary file in", &dir, err))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|err| storage_io("cannot write", temp.path(), err))?;
    temp.persist(path)
        .map_err(|err| storage_io("cannot replace", path, err.error))?;
    sync_dir(&dir)
}

/// Makes the rename durable: on Unix the new directory entry is only on disk once the
/// directory itself is synced.
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuthError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|err| storage_io("cannot sync the directory", dir, err))
}

/// NTFS journals the rename (`MoveFileEx`) itself, and a directory cannot be opened as a
/// file there: nothing to do.
#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> Result<(), AuthError> {
    Ok(())
}

/// Options that open a symbolic link itself, never what it points to: on Unix the open
/// fails (`O_NOFOLLOW`, ELOOP) and a created file is 0600; on Windows it opens the link
/// (`FILE_FLAG_OPEN_REPARSE_POINT`), which the caller then refuses by its type.
pub(crate) fn no_follow() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        /// `FILE_FLAG_OPEN_REPARSE_POINT` from the Windows SDK (winbase.h).
        const OPEN_REPARSE_POINT: u32 = 0x0020_0000;
        options.custom_flags(OPEN_REPARSE_POINT);
    }
    options
}

/// The largest private state file read: the biggest, the encrypted file, holds a few KiB
/// per item.
const MAX_PRIVATE: u64 = 64 << 20;

/// Reads a private file of the state directory; `None` when it does not exist.
///
/// # Errors
/// `storage_error` for a symlink, a file other users can read (with a `chmod` hint), one
/// that is not a regular file or is over 64 MiB, or an I/O failure.
pub fn read_private(path: &Path) -> Result<Option<Vec<u8>>, AuthError> {
    let bytes = CheckedFile::new("state file", Trust::Private, MAX_PRIVATE)
        .code(ErrorCode::StorageError)
        .no_links()
        .read(path)?;
    // Callers keep what they need; the buffer itself is handed over, not copied.
    Ok(bytes.map(|mut bytes| std::mem::take(&mut *bytes)))
}

/// Checks that no other user can read or write `path`.
///
/// # Errors
/// `storage_error` with a `chmod 600` hint.
pub fn check_private(path: &Path) -> Result<(), AuthError> {
    let meta = std::fs::metadata(path).map_err(|err| storage_io("cannot stat", path, err))?;
    super::ownership::check_private_file(path, &meta)
}

/// Opens `path` for reading without waiting on it: a FIFO (or device) planted where a
/// file is expected must not hang the command before its type is checked. Symbolic links
/// are followed (mounted secrets are often links); callers check what they opened.
///
/// # Errors
/// What `open` reports.
pub fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A `storage_error` for an I/O failure on `path`.
pub fn storage_io(what: &str, path: &Path, err: std::io::Error) -> AuthError {
    AuthError::storage(format!("{what} {}", path.display())).caused_by(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_are_private_and_readable_back() {
        let dir = tempfile::tempdir().unwrap();
        let lock = FileLock::acquire(dir.path()).unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one", &lock).unwrap();
        write_atomic(&path, b"two", &lock).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        }
        assert_eq!(read_private(&path).unwrap().unwrap(), b"two");
    }

    #[test]
    fn a_second_acquire_waits_as_long_as_it_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let held = FileLock::acquire(dir.path()).unwrap();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            drop(held);
        });
        let err = FileLock::acquire_within(dir.path(), Duration::from_millis(500))
            .err()
            .expect("a 0.5 s wait gives up on a lock held for 1.5 s");
        assert!(
            err.message().contains("has held") && err.message().contains("for 0.5 s"),
            "{}",
            err.message()
        );
        let started = Instant::now();
        FileLock::acquire_within(dir.path(), Duration::from_secs(3))
            .expect("a 3 s wait outlasts the holder");
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "it did wait"
        );
        holder.join().unwrap();
    }

    #[test]
    fn the_wait_covers_the_http_budget() {
        let wait = FileLock::wait_for;
        assert_eq!(wait(Duration::from_secs(30)), Duration::from_secs(40));
        assert_eq!(wait(Duration::from_millis(700)), Duration::from_secs(15));
        assert_eq!(wait(Duration::MAX), Duration::MAX);
    }

    #[cfg(unix)]
    #[test]
    fn shared_file_is_refused_with_chmod_hint() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_private(&path).unwrap_err();
        assert!(err.hint().unwrap().contains("chmod 600"));
    }

    // Creating a symlink on Windows takes a privilege CI runners may not have.
    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(read_private(&link)
            .unwrap_err()
            .message()
            .contains("symbolic link"));
    }
}
