//! Who may own and write a managed file or directory: root and nobody else on Unix, the
//! machine's administrators (Administrators, SYSTEM, TrustedInstaller) on Windows. A debug
//! build pointed at a test directory trusts the current user too, so tests need no root.

use crate::error::AuthError;
use std::fs::{File, Metadata};
use std::path::Path;

/// Refuses a managed file or directory that someone other than root owns, or that group or
/// others may write. `file` is the open handle when there is one (unused here: `meta` came
/// from it).
#[cfg(unix)]
pub(super) fn check(
    path: &Path,
    meta: &Metadata,
    _file: Option<&File>,
    test_override: bool,
) -> Result<(), AuthError> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let owner_ok = meta.uid() == 0 || (test_override && meta.uid() == me);
    let shown = path.display();
    if !owner_ok {
        return Err(AuthError::config(format!(
            "managed settings {shown} are owned by uid {}, not root; whoever owns them can change the policy, so they are not used",
            meta.uid()
        ))
        .with_hint(format!("an administrator must run `sudo chown root {shown}`")));
    }
    if meta.mode() & 0o022 != 0 {
        let fix = if meta.is_dir() { "755" } else { "644" };
        return Err(AuthError::config(format!(
            "managed settings {shown} can be written by group or others (mode {:03o}), so they are not used",
            meta.mode() & 0o777
        ))
        .with_hint(format!("an administrator must run `sudo chmod {fix} {shown}`")));
    }
    Ok(())
}

/// Refuses a managed file or directory that is not owned by an administrative principal, or
/// whose DACL lets anyone else write, delete or re-permission it (`super::acl::judge`). The
/// descriptor is read from the open handle when there is one, so what is judged is what is
/// read.
#[cfg(windows)]
pub(super) fn check(
    path: &Path,
    meta: &Metadata,
    file: Option<&File>,
    test_override: bool,
) -> Result<(), AuthError> {
    use super::acl;
    let descriptor = match file {
        Some(file) => acl::win32::of_file(file),
        None => acl::win32::of_path(path),
    }
    .map_err(|err| {
        AuthError::config(format!(
            "cannot read who may write managed settings {}",
            path.display()
        ))
        .caused_by(err)
        .with_hint("run `icacls` on it to see its owner and ACL; managed settings whose ACL cannot be read are not used")
    })?;
    // Only needed to trust a test directory, and to say "you": a token that cannot be read
    // trusts nobody extra.
    let me = acl::win32::current_user().ok();
    let trusted_me = if test_override { me.as_deref() } else { None };
    acl::judge(&descriptor, trusted_me)
        .map_err(|refusal| acl::explain(path, meta.is_dir(), &refusal, me.as_deref()))
}

/// Neither Unix nor Windows: no owner to check, so nothing is trusted.
#[cfg(not(any(unix, windows)))]
pub(super) fn check(
    path: &Path,
    _meta: &Metadata,
    _file: Option<&File>,
    _test_override: bool,
) -> Result<(), AuthError> {
    Err(AuthError::config(format!(
        "managed settings {} were found, but this platform has no owner or ACL to check, so they are not used",
        path.display()
    ))
    .with_hint("move the managed settings away; this platform cannot vouch for them"))
}
