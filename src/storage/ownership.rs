//! Who may own and write the files and directories that decide where secrets go, checked
//! the way ssh checks its own: the configuration names the endpoints that receive keys and
//! tokens, and the state directory holds them, so another user must not be able to change
//! either.
//!
//! The checks read Unix owners and mode bits. Windows has neither: there the checks pass,
//! and privacy comes from the ACL that files inherit from their folder. The default state
//! directory, `%USERPROFILE%\.claude`, inherits the profile's ACL (the user, SYSTEM and
//! Administrators only); a `CLAUDE_CONFIG_DIR` elsewhere gets that folder's ACL, which is
//! not checked (see docs/security.md). Managed settings do read owners and DACLs on
//! Windows (`config/managed/acl.rs`, whose reading could serve these checks too).

use crate::error::AuthError;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

/// Who owns a file, its permission bits, and who we are: the facts the checks judge.
struct Posix {
    owner: u32,
    mode: u32,
    me: u32,
}

/// The Unix owner and mode of `meta`; `None` on platforms without them (Windows).
fn posix(meta: &Metadata) -> Option<Posix> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        Some(Posix {
            owner: meta.uid(),
            mode: meta.mode(),
            me,
        })
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// The permission bits (`0o777` and the rest) of `meta`, on Unix; `None` elsewhere.
pub fn unix_mode(meta: &Metadata) -> Option<u32> {
    posix(meta).map(|p| p.mode)
}

/// The owner of `meta` when it is not this process's user (root's file in the user's
/// directory, say); `None` when it is ours, or on platforms without owners.
pub fn other_owner(meta: &Metadata) -> Option<u32> {
    posix(meta).filter(|p| p.owner != p.me).map(|p| p.owner)
}

/// Refuses a configuration file owned by another user (root excepted, for system-wide files)
/// or writable by anyone but its owner.
///
/// # Errors
/// `config_error` with a fix the user can run (`chmod`, or a file of their own in its place).
pub fn check_config(path: &Path, meta: &Metadata) -> Result<(), AuthError> {
    check_believed(path, meta, "it decides where credentials are sent")
}

/// [`check_config`] for a CA bundle, whose certificates decide which servers are believed
/// to be who they say (and so which ones receive credentials).
///
/// # Errors
/// As [`check_config`].
pub fn check_ca_bundle(path: &Path, meta: &Metadata) -> Result<(), AuthError> {
    check_believed(
        path,
        meta,
        "its certificates decide which servers are trusted",
    )
}

/// A file whose contents are believed (`why` says what they decide): the user's or root's,
/// writable by no one else.
fn check_believed(path: &Path, meta: &Metadata, why: &str) -> Result<(), AuthError> {
    let Some(p) = posix(meta) else {
        return Ok(());
    };
    let shown = path.display();
    let word = super::aside::shell_word(path);
    if p.owner != p.me && p.owner != 0 {
        return Err(AuthError::config(format!(
            "{shown} is owned by another user (uid {}); {why}, so it is not used",
            p.owner
        ))
        .with_hint(not_yours_hint(path, &p, "write your own in its place")));
    }
    // Group write is refused even for a group that looks like the user's own: who else has
    // it as their primary group cannot be known for certain (NSS directories need not
    // enumerate), and whoever can write this file runs commands as the user. umask 002
    // users get the `chmod go-w` below.
    if p.mode & 0o022 != 0 {
        let hint = if p.owner == p.me {
            format!("run `chmod go-w {word}`")
        } else {
            // Root's file that others can write: only root can chmod it, and what it holds
            // may no longer be what root wrote, so a copy is made only after reading it.
            let copy = if replaceable(path, p.me) {
                format!(
                    "replace it with a private copy of your own (`install -m 600 {word} {word}.mine && mv {word}.mine {word}`)"
                )
            } else {
                "use a copy of your own instead".to_string()
            };
            format!(
                "it belongs to root, and others could have changed it: check what it holds first (`cat {word}`); then {copy} and undo anything you did not write, or ask an administrator to run `chmod go-w {word}`"
            )
        };
        return Err(AuthError::config(format!(
            "{shown} can be written by other users (mode {:03o}); {why}, so it is not used",
            p.mode & 0o777
        ))
        .with_hint(hint));
    }
    Ok(())
}

/// Who owns `path`, said as people read it: `root` or `uid N`.
fn who(owner: u32) -> String {
    if owner == 0 {
        "root".to_string()
    } else {
        format!("uid {owner}")
    }
}

/// Whether the user could put a file of their own at `path` (rename over it, or move it
/// aside): root can, anyone else only in a directory of their own.
fn replaceable(path: &Path, me: u32) -> bool {
    if me == 0 {
        return true;
    }
    let parent = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::metadata(parent)
        .ok()
        .and_then(|meta| posix(&meta))
        .is_some_and(|d| d.owner == me && d.mode & 0o300 == 0o300)
}

/// The fix for a file that belongs to someone else, runnable by the user as printed: only
/// root can `chown`, so anyone else is told whose it is, to move it aside and `then` (put
/// their own in its place), or to ask.
fn not_yours_hint(path: &Path, p: &Posix, then: &str) -> String {
    let word = super::aside::shell_word(path);
    let owner = who(p.owner);
    let chown = if path.is_dir() { "chown -R" } else { "chown" };
    if p.me == 0 {
        return format!(
            "it belongs to {owner}: if it is yours, run `{chown} 0 {word}`; otherwise move it aside and {then}"
        );
    }
    let ask = if p.owner == 0 {
        format!("ask an administrator to run `{chown} {} {word}`", p.me)
    } else {
        format!(
            "ask its owner to remove it, or an administrator to run `{chown} {} {word}`",
            p.me
        )
    };
    if replaceable(path, p.me) {
        format!(
            "it belongs to {owner}, not to you (uid {}): move it aside (`mv {word} {word}.{}`) and {then}, or {ask}",
            p.me,
            owner.replace(' ', "")
        )
    } else {
        format!(
            "it belongs to {owner}, not to you (uid {}), in a directory you cannot change: use a file of your own elsewhere, or {ask}",
            p.me
        )
    }
}

/// The fix for a file the user cannot open because it is someone else's (a root-owned
/// `config.json` at mode 600 in the user's own directory), or the user's own without read
/// permission; `None` when neither explains it, or its owner cannot be read. `private`: it holds secrets (it is created again
/// rather than written over).
pub fn unreadable_hint(path: &Path, private: bool) -> Option<String> {
    let p = std::fs::metadata(path).ok().and_then(|meta| posix(&meta))?;
    if p.owner == p.me {
        // The user's own file, without read permission for the user.
        let mode = if private { "600" } else { "u+r" };
        return (p.mode & 0o400 == 0)
            .then(|| format!("run `chmod {mode} {}`", super::aside::shell_word(path)));
    }
    let then = if private {
        RECREATE
    } else {
        "write your own in its place"
    };
    Some(not_yours_hint(path, &p, then))
}

/// What to do once someone else's file of secrets is moved aside.
const RECREATE: &str = "create it again as yourself";

/// Refuses a credential file owned by another user (who could have planted it).
///
/// # Errors
/// `storage_error` with a fix the user can run: whose it is, and a file of their own in its
/// place (root: the `chown`).
pub fn check_owner(path: &Path, meta: &Metadata) -> Result<(), AuthError> {
    let Some(p) = posix(meta) else {
        return Ok(());
    };
    if p.owner == p.me {
        return Ok(());
    }
    Err(AuthError::storage(format!(
        "{} is owned by another user (uid {}); refusing to use it",
        path.display(),
        p.owner
    ))
    .with_hint(not_yours_hint(path, &p, RECREATE)))
}

/// Refuses a credential file another user owns or that group or others can read or write,
/// as ssh does for private keys.
///
/// # Errors
/// `storage_error` with the `chown` or `chmod 600` that fixes it.
pub fn check_private_file(path: &Path, meta: &Metadata) -> Result<(), AuthError> {
    check_owner(path, meta)?;
    let Some(p) = posix(meta) else {
        return Ok(());
    };
    if p.mode & 0o077 != 0 {
        return Err(AuthError::storage(format!(
            "{} is readable by other users (mode {:03o}); refusing to use it",
            path.display(),
            p.mode & 0o777
        ))
        .with_hint(format!(
            "run `chmod 600 {}`",
            super::aside::shell_word(path)
        )));
    }
    Ok(())
}

/// Refuses a state directory owned by another user or writable by others (who could swap
/// the files in it).
///
/// # Errors
/// `storage_error` with the `chown`/`chmod` command that fixes it.
pub fn check_state_dir(dir: &Path, meta: &Metadata) -> Result<(), AuthError> {
    check_state_dir_owner(dir, meta)?;
    let Some(p) = posix(meta) else {
        return Ok(());
    };
    let shown = dir.display();
    let word = super::aside::shell_word(dir);
    if p.mode & 0o022 != 0 {
        return Err(AuthError::storage(format!(
            "{shown} can be written by other users (mode {:03o}); refusing to keep credentials there",
            p.mode & 0o777
        ))
        .with_hint(if shared_directory(p.mode) {
            // `/tmp` and its kind: a chmod (as root) would break them for everyone.
            format!("set CLAUDE_CONFIG_DIR to a directory of your own (`mkdir -m 700 DIR`): {shown} is shared by every user")
        } else {
            format!("run `chmod 700 {word}`")
        }));
    }
    Ok(())
}

/// Whether a directory with these mode bits is shared by every user on purpose (`/tmp`,
/// `/var/tmp`, `/dev/shm`): writable by all, with the sticky bit that keeps users from
/// removing each other's files.
fn shared_directory(mode: u32) -> bool {
    mode & 0o1002 == 0o1002
}

/// Refuses a directory another program keeps for the user (the AWS CLI's SSO token cache)
/// when someone else could swap its files: owned by another user, writable by others, or
/// writable by a group that is not the user's own. Group write is allowed for a
/// user-private group (same id and name as the user, the `USERGROUPS_ENAB` scheme), which
/// is how such directories come out under umask 002: only the user is in that group.
///
/// # Errors
/// `storage_error` with the `chmod` that fixes it.
pub fn check_users_dir(dir: &Path, meta: &Metadata) -> Result<(), AuthError> {
    let Some(p) = posix(meta) else {
        return Ok(());
    };
    if p.owner != p.me {
        // Often root's, after `sudo aws sso login`: the program that fills it makes it again.
        return Err(AuthError::storage(format!(
            "{} is owned by another user (uid {}); refusing to write credentials there",
            dir.display(),
            p.owner
        ))
        .with_hint(not_yours_hint(
            dir,
            &p,
            "run the command that fills it again as yourself (`aws sso login` for the AWS SSO cache)",
        )));
    }
    let group_write_ok = p.mode & 0o020 == 0 || user_private_group(meta);
    if p.mode & 0o002 != 0 || !group_write_ok {
        let shown = dir.display();
        let word = super::aside::shell_word(dir);
        return Err(AuthError::storage(format!(
            "{shown} can be written by other users (mode {:03o}); refusing to write credentials there",
            p.mode & 0o777
        ))
        .with_hint(format!("run `chmod go-w {word}`")));
    }
    Ok(())
}

/// Whether `meta`'s group is the user's private group: the group id equals the user id,
/// the group's name the user's name, it lists no other member, and no other account that
/// the password database enumerates has it as its primary group. (A directory service that
/// does not enumerate could still hide one: used for the AWS CLI's cache directory only,
/// never for files that decide where credentials go.)
#[cfg(unix)]
fn user_private_group(meta: &Metadata) -> bool {
    use std::ffi::CStr;
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if meta.gid() != uid {
        return false;
    }
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all-zero is a valid `passwd`/`group` (null pointers, zero ids); the `_r`
    // functions fill them with pointers into `buf`, which outlives their use below.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut pw_out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and `buf.len()` is the buffer's size.
    let found = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut pw_out) };
    if found != 0 || pw_out.is_null() || pw.pw_name.is_null() {
        return false;
    }
    // SAFETY: getpwuid_r succeeded, so `pw_name` is a NUL-terminated string in `buf`.
    let user = unsafe { CStr::from_ptr(pw.pw_name) }.to_owned();
    // SAFETY: as for `pw`.
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut gr_out: *mut libc::group = std::ptr::null_mut();
    // SAFETY: as above; `buf` is reused, `user` was copied out of it first.
    let found = unsafe {
        libc::getgrgid_r(
            meta.gid(),
            &mut gr,
            buf.as_mut_ptr(),
            buf.len(),
            &mut gr_out,
        )
    };
    if found != 0 || gr_out.is_null() || gr.gr_name.is_null() {
        return false;
    }
    // SAFETY: getgrgid_r succeeded, so `gr_name` is a NUL-terminated string in `buf`.
    let group = unsafe { CStr::from_ptr(gr.gr_name) };
    if group != user.as_c_str() {
        return false;
    }
    // Named like the user is not enough: others may have been added to the group
    // (`usermod -aG alice bob`). Its member list must hold no one else.
    let mut member = gr.gr_mem;
    while !member.is_null() {
        // SAFETY: `gr_mem` is a NULL-terminated array of NUL-terminated strings in `buf`,
        // filled by the successful getgrgid_r above; `member` walks it up to the NULL.
        let name = unsafe { *member };
        if name.is_null() {
            break;
        }
        // SAFETY: as above, `name` points at a NUL-terminated string in `buf`.
        if unsafe { CStr::from_ptr(name) } != user.as_c_str() {
            return false;
        }
        // SAFETY: the array is NULL-terminated and `name` was not the terminator.
        member = unsafe { member.add(1) };
    }
    // Nor is it enough to be listed alone: an account whose primary group it is
    // (`mallory:x:4242:<our gid>`) is in it without being listed.
    !others_have_primary_group(meta.gid(), uid)
}

/// Whether an account other than `uid` has `gid` as its primary group, as far as the
/// password database enumerates (fails closed: an error counts as yes).
#[cfg(unix)]
fn others_have_primary_group(gid: u32, uid: u32) -> bool {
    // SAFETY: setpwent/getpwent/endpwent walk the database with libc's own state; this runs
    // on the main thread, and each entry is read before the next call replaces it.
    unsafe {
        libc::setpwent();
        let mut found = false;
        loop {
            let entry = libc::getpwent();
            if entry.is_null() {
                break;
            }
            if (*entry).pw_gid == gid && (*entry).pw_uid != uid {
                found = true;
                break;
            }
        }
        libc::endpwent();
        found
    }
}

#[cfg(not(unix))]
fn user_private_group(_meta: &Metadata) -> bool {
    false
}

/// Refuses a state directory owned by another user: what it holds (sessions naming token
/// endpoints) decides where credentials are sent. Its mode matters for writes only
/// ([`check_state_dir`]): files in it must be ours anyway to be read.
///
/// # Errors
/// `storage_error` with the `chown` command that fixes it.
pub fn check_state_dir_owner(dir: &Path, meta: &Metadata) -> Result<(), AuthError> {
    let Some(p) = posix(meta) else {
        return Ok(());
    };
    let shown = dir.display();
    let word = super::aside::shell_word(dir);
    if p.owner != p.me {
        let elsewhere = "set CLAUDE_CONFIG_DIR to a directory of your own (`mkdir -m 700 DIR`)";
        return Err(AuthError::storage(format!(
            "{shown} is owned by another user (uid {}); refusing to keep credentials there",
            p.owner
        ))
        .with_hint(if p.owner == 0 || shared_directory(p.mode) {
            // Never suggest taking over root's directories or `/tmp`.
            elsewhere.to_string()
        } else if p.me == 0 {
            format!("if it is yours, run `chown -R 0 {word}`; otherwise {elsewhere}")
        } else {
            // Only root can give a directory away: the user can only go elsewhere.
            format!(
                "it belongs to uid {}, not to you (uid {}): {elsewhere}, or ask an administrator to run `chown -R {} {word}`",
                p.owner, p.me, p.me
            )
        }));
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
            super::aside::shell_word(dir)
        ))
    })?;
    let meta = std::fs::metadata(&target)
        .map_err(|err| super::atomic::storage_io("cannot stat", &target, err))?;
    check_state_dir_owner(&target, &meta)?;
    Ok(Some(target))
}
