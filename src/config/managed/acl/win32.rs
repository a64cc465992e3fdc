//! Reads a file's owner and DACL from Windows (`GetSecurityInfo` on an open handle,
//! `GetNamedSecurityInfoW` on a path) and the current user's SID from the process token,
//! as the SID strings `acl.rs` judges. Every pointer Windows hands back is freed here.

use super::{Ace, AceKind, Descriptor};
use std::ffi::c_void;
use std::fs::File;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;
use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, ERROR_SUCCESS, HANDLE, HLOCAL};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, GetNamedSecurityInfoW, GetSecurityInfo, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    GetAce, GetLengthSid, GetTokenInformation, IsValidSid, TokenUser, ACE_HEADER, ACL,
    DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, TOKEN_QUERY,
    TOKEN_USER,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// Memory Windows allocated with `LocalAlloc` for us to free.
struct Local(HLOCAL);

impl Drop for Local {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: self.0 came from an API that hands over a LocalAlloc'd block (the
            // security descriptor, a SID string) and nothing else frees or uses it after this.
            unsafe { LocalFree(self.0) };
        }
    }
}

/// The owner and DACL of an open file, read through its handle, so that what is judged is
/// what was opened (std opens for reading with `GENERIC_READ`, which includes
/// `READ_CONTROL`).
///
/// # Errors
/// The Windows error `GetSecurityInfo` reports.
pub fn of_file(file: &File) -> io::Result<Descriptor> {
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: the handle is the open file's and outlives the call; every out-pointer points
    // at a local of the type the function writes; group and SACL are not asked for, so
    // their out-pointers may be null.
    let status = unsafe {
        GetSecurityInfo(
            file.as_raw_handle() as HANDLE,
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &mut owner,
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    descriptor(status, owner, dacl, sd)
}

/// The owner and DACL of the file or directory at `path`.
///
/// # Errors
/// The Windows error `GetNamedSecurityInfoW` reports; `InvalidInput` for a path with a NUL.
pub fn of_path(path: &Path) -> io::Result<Descriptor> {
    let mut wide: Vec<u16> = path.as_os_str().encode_wide().collect();
    if wide.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path contains NUL",
        ));
    }
    wide.push(0);
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `wide` is a NUL-terminated UTF-16 string that lives across the call; the
    // out-pointers are as in `of_file`.
    let status = unsafe {
        GetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &mut owner,
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    descriptor(status, owner, dacl, sd)
}

/// Turns what `Get[Named]SecurityInfo` returned into a [`Descriptor`], then frees it.
fn descriptor(
    status: u32,
    owner: PSID,
    dacl: *mut ACL,
    sd: PSECURITY_DESCRIPTOR,
) -> io::Result<Descriptor> {
    // `owner` and `dacl` point into `sd`: it is freed only when this function returns.
    let _sd = Local(sd);
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    let owner = if owner.is_null() {
        None
    } else {
        Some(sid_string(owner)?)
    };
    let dacl = if dacl.is_null() {
        None
    } else {
        Some(aces(dacl)?)
    };
    Ok(Descriptor { owner, dacl })
}

/// The entries of a DACL that lives inside a security descriptor still allocated.
fn aces(dacl: *mut ACL) -> io::Result<Vec<Ace>> {
    // SAFETY: `dacl` is non-null and points at the ACL header inside the security
    // descriptor Windows just returned, which is still allocated.
    let count = unsafe { (*dacl).AceCount };
    let mut out = Vec::with_capacity(usize::from(count));
    for index in 0..u32::from(count) {
        let mut raw: *mut c_void = std::ptr::null_mut();
        // SAFETY: `dacl` is a valid ACL (above) and `index` is below its AceCount; GetAce
        // writes a pointer to the entry, inside the same descriptor, into `raw`.
        if unsafe { GetAce(dacl, index, &mut raw) } == 0 {
            return Err(io::Error::last_os_error());
        }
        out.push(ace(raw.cast::<u8>())?);
    }
    Ok(out)
}

/// One entry, from its header, mask and (where its layout is known) SID.
fn ace(entry: *const u8) -> io::Result<Ace> {
    // SAFETY: GetAce returned `entry`, which starts with a 4-byte ACE_HEADER; it is read
    // without assuming alignment.
    let header = unsafe { entry.cast::<ACE_HEADER>().read_unaligned() };
    let kind = AceKind::of(header.AceType);
    let size = usize::from(header.AceSize);
    if size < 8 {
        // Too short for a mask, so malformed: an allow entry counts as every right given to
        // an unknown principal (refused); the other kinds grant nothing anyway.
        let mask = if kind == AceKind::Allow { u32::MAX } else { 0 };
        return Ok(Ace {
            kind,
            flags: header.AceFlags,
            mask,
            sid: None,
        });
    }
    // SAFETY: the entry is at least 8 bytes long (its AceSize says so); every kind of entry
    // has its 32-bit access mask at bytes 4..8.
    let mask = unsafe { entry.add(4).cast::<u32>().read_unaligned() };
    let object_flags = if size >= 12 {
        // SAFETY: the entry is at least 12 bytes long (its AceSize says so); bytes 8..12
        // are the object flags for object entries and are ignored for the others.
        unsafe { entry.add(8).cast::<u32>().read_unaligned() }
    } else {
        0
    };
    let sid = match super::sid_offset(header.AceType, object_flags) {
        // 8 bytes is the smallest SID: its header and one sub-authority.
        Some(offset) if kind != AceKind::Other && offset + 8 <= size => {
            // SAFETY: `offset` is inside the entry (checked against AceSize above).
            let sid: PSID = unsafe { entry.add(offset) } as PSID;
            // SAFETY: IsValidSid reads the SID's header, which lies inside the entry; only a
            // SID it accepts is measured.
            let fits = unsafe { IsValidSid(sid) } != 0
                && offset + unsafe { GetLengthSid(sid) } as usize <= size;
            if fits {
                Some(sid_string(sid)?)
            } else {
                None
            }
        }
        _ => None,
    };
    Ok(Ace {
        kind,
        flags: header.AceFlags,
        mask,
        sid,
    })
}

/// `S-1-5-32-544` for a valid SID.
fn sid_string(sid: PSID) -> io::Result<String> {
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sid` points at a valid SID inside memory still allocated; the function
    // writes a LocalAlloc'd NUL-terminated string into `text`, freed by `Local` below.
    if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let _text = Local(text.cast());
    let mut len = 0;
    // SAFETY: `text` is NUL-terminated (the function's contract): reading stops at the NUL.
    while unsafe { *text.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the `len` units before the NUL are initialised and stay allocated until
    // `_text` drops at the end of this function.
    let units = unsafe { std::slice::from_raw_parts(text, len) };
    Ok(String::from_utf16_lossy(units))
}

/// The SID of the user this process runs as.
///
/// # Errors
/// The Windows error from opening or reading the process token.
pub fn current_user() -> io::Result<String> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing; `token` is
    // a local the function writes on success.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let result = token_user(token);
    // SAFETY: `token` was opened above and is closed once, here.
    unsafe { CloseHandle(token) };
    result
}

fn token_user(token: HANDLE) -> io::Result<String> {
    let mut needed = 0u32;
    // SAFETY: a null buffer of length 0 asks only for the size, written to `needed`; the
    // expected failure is ERROR_INSUFFICIENT_BUFFER, and `needed` is checked below.
    unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut needed) };
    if (needed as usize) < std::mem::size_of::<TOKEN_USER>() {
        return Err(io::Error::last_os_error());
    }
    // u64s: TOKEN_USER holds a pointer, so the buffer must be pointer-aligned.
    let mut buffer = vec![0u64; (needed as usize).div_ceil(8)];
    // SAFETY: `buffer` is at least `needed` bytes, aligned for TOKEN_USER, and outlives the
    // call; the function fills it with a TOKEN_USER whose SID points into the same buffer.
    if unsafe {
        GetTokenInformation(
            token,
            TokenUser,
            buffer.as_mut_ptr().cast(),
            needed,
            &mut needed,
        )
    } == 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call succeeded, so the buffer starts with an initialised TOKEN_USER and
    // its SID pointer points into `buffer`, still alive.
    let sid = unsafe { (*buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    sid_string(sid)
}
