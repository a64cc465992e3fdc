//! Who may own and write the files and directories that decide where secrets go, checked
//! the way ssh checks its own: the configuration names the endpoints that receive keys and
//! tokens, and the state directory holds them, so another user must not be able to change
//! either.

use crate::error::AuthError;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The effective user id of this process.
fn me() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Refuses a configuration file owned by another user (root excepted, for system-wide files)
/// or writable by anyone but its owner.
///
/// # Errors
/// `config_error` with the `chown`/`chmod` command that fixes it.
pub fn check_config(path: &Path, meta: &Metadata) -> Result<(), AuthError> {
    let shown = path.display();
    if meta.uid() != me() && meta.uid() != 0 {
        return Err(AuthError::config(format!(
            "{shown} is owned by another user (uid {}); it decides where credentials are sent, so it is not used",
            meta.uid()
        ))
        .with_hint(format!("if the file is yours, run `chown {} {shown}`", me())));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(AuthError::config(format!(
            "{shown} can be written by other users (mode {:03o}); it decides where credentials are sent, so it is not used",
            meta.mode() & 0o777
        ))
        .with_hint(format!("run `chmod go-w {shown}`")));
    }
    Ok(())
}

/// Refuses a credential file owned by another user (who could have planted it).
///
/// # Errors
/// `storage_error` with the `chown` command that fixes it.
pub fn check_owner(path: &Path, meta: &Metadata) -> Result<(), AuthError> {
    if meta.uid() == me() {
        return Ok(());
    }
    Err(AuthError::storage(format!(
        "{} is owned by another user (uid {}); refusing to use it",
        path.display(),
        meta.uid()
    ))
    .with_hint(format!(
        "if it is yours, run `chown {} {}`",
        me(),
        path.display()
    )))
}

/// Refuses a state directory owned by another user or writable by others (who could swap
/// the files in it).
///
/// # Errors
/// `storage_error` with the `chown`/`chmod` command that fixes it.
pub fn check_state_dir(dir: &Path, meta: &Metadata) -> Result<(), AuthError> {
    check_state_dir_owner(dir, meta)?;
    let shown = dir.display();
    if meta.mode() & 0o022 != 0 {
        return Err(AuthError::storage(format!(
            "{shown} can be written by other users (mode {:03o}); refusing to keep credentials there",
            meta.mode() & 0o777
        ))
        .with_hint(format!("run `chmod 700 {shown}`")));
    }
    Ok(())
}

/// Refuses a state directory owned by another user: what it holds (sessions naming token
/// endpoints) decides where credentials are sent. Its mode matters for writes only
/// ([`check_state_dir`]): files in it must be ours anyway to be read.
///
/// # Errors
/// `storage_error` with the `chown` command that fixes it.
pub fn check_state_dir_owner(dir: &Path, meta: &Metadata) -> Result<(), AuthError> {
    let shown = dir.display();
    if meta.uid() != me() {
        return Err(AuthError::storage(format!(
            "{shown} is owned by another user (uid {}); refusing to keep credentials there",
            meta.uid()
        ))
        .with_hint(format!(
            "if it is yours, run `chown -R {} {shown}`; otherwise set CLAUDE_CONFIG_DIR to a directory of your own",
            me()
        )));
    }
    Ok(())
}

/// Checks the owner of an existing state directory before anything in it is believed, and
/// says where a state directory that is a symbolic link points (`Some(target)`), so the
/// caller can tell the user. A directory that does not exist yet passes (it is created 0700
/// on first write); its mode is checked when something is written.
///
/// # Errors
/// `storage_error` for a dangling link, or a directory (or link target) that fails
/// [`check_state_dir_owner`].
pub fn inspect_state_dir(dir: &Path) -> Result<Option<PathBuf>, AuthError> {
    let is_link = std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return match std::fs::metadata(dir) {
            Ok(meta) => check_state_dir_owner(dir, &meta).map(|()| None),
            Err(_) => Ok(None),
        };
    }
    let target = std::fs::canonicalize(dir).map_err(|err| {
        AuthError::storage(format!(
            "{} is a symbolic link that leads nowhere",
            dir.display()
        ))
        .caused_by(err)
        .with_hint(format!(
            "remove the link (`rm {}`) or create its target",
            dir.display()
        ))
    })?;
    let meta = std::fs::metadata(&target)
        .map_err(|err| super::atomic::storage_io("cannot stat", &target, err))?;
    check_state_dir_owner(&target, &meta)?;
    Ok(Some(target))
}
