//! Whether a Windows security descriptor leaves a managed file to the machine's
//! administrators: its owner, and every grant of write access in its DACL, judged from SID
//! strings so that the rule runs and is tested on any platform. `acl/win32.rs` reads the
//! descriptor from Windows; this file decides and words the refusal.
//!
//! Trusted: BUILTIN\Administrators, LOCAL SYSTEM and TrustedInstaller (and, in a debug build
//! pointed at a test directory, the current user). Deny entries are not weighed against
//! allow entries: any allow entry that gives a write-type right to anyone else refuses the
//! file, which can only refuse more than Windows' own evaluation would.

use crate::error::AuthError;
use std::path::Path;

/// BUILTIN\Administrators.
pub const ADMINISTRATORS: &str = "S-1-5-32-544";
/// NT AUTHORITY\SYSTEM (LOCAL SYSTEM).
pub const SYSTEM: &str = "S-1-5-18";
/// NT SERVICE\TrustedInstaller, which owns what Windows itself installs.
pub const TRUSTED_INSTALLER: &str =
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464";
/// BUILTIN\Users: given read access by the fix the hints spell out.
const USERS: &str = "S-1-5-32-545";
/// OWNER RIGHTS: stands for whoever owns the object.
const OWNER_RIGHTS: &str = "S-1-3-4";

/// The ACE flag of an entry that only passes to children and does not apply to the object
/// itself (`CREATOR OWNER:(OI)(CI)(IO)(F)` on every folder under `C:\Program Files`).
pub const INHERIT_ONLY_ACE: u8 = 0x08;

/// Access rights that let their holder change what the file says, replace or delete it, or
/// change who may: icacls's `F`, `M`, `W`, `D`, `DC`, `WDAC`, `WO`, `GA` and `GW`. On a
/// directory the same bits add and delete files in it.
pub const WRITE_RIGHTS: u32 = FILE_WRITE_DATA
    | FILE_APPEND_DATA
    | FILE_WRITE_EA
    | FILE_DELETE_CHILD
    | FILE_WRITE_ATTRIBUTES
    | DELETE
    | WRITE_DAC
    | WRITE_OWNER
    | GENERIC_ALL
    | GENERIC_WRITE;

const FILE_WRITE_DATA: u32 = 0x0002;
const FILE_APPEND_DATA: u32 = 0x0004;
const FILE_WRITE_EA: u32 = 0x0010;
const FILE_DELETE_CHILD: u32 = 0x0040;
const FILE_WRITE_ATTRIBUTES: u32 = 0x0100;
const DELETE: u32 = 0x0001_0000;
const WRITE_DAC: u32 = 0x0004_0000;
const WRITE_OWNER: u32 = 0x0008_0000;
const GENERIC_ALL: u32 = 0x1000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
/// icacls's `F`: every specific and standard right of a file.
const FILE_ALL_ACCESS: u32 = 0x001F_01FF;
/// icacls's `M`: read, write, execute and delete.
const MODIFY: u32 = 0x0013_01BF;

/// An object's owner and DACL, as SID strings (`S-1-5-32-544`).
#[derive(Clone, Debug)]
pub struct Descriptor {
    /// `None` when the descriptor names no owner.
    pub owner: Option<String>,
    /// `None` for a NULL DACL, which grants everyone every right.
    pub dacl: Option<Vec<Ace>>,
}

/// One access control entry.
#[derive(Clone, Debug)]
pub struct Ace {
    pub kind: AceKind,
    /// The ACE header's flags (`INHERIT_ONLY_ACE`, …).
    pub flags: u8,
    pub mask: u32,
    /// `None` when the entry's layout hides its SID from this version (compound entries)
    /// or the SID could not be read: such a principal is nobody trusted.
    pub sid: Option<String>,
}

/// What an entry does to access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AceKind {
    /// Grants its rights (plain, object and callback allow entries).
    Allow,
    /// Denies its rights: not weighed (see the module doc).
    Deny,
    /// Grants nothing (audit, alarm and label entries).
    Other,
}

impl AceKind {
    /// The kind of an `ACE_HEADER.AceType`.
    pub fn of(ace_type: u8) -> AceKind {
        match ace_type {
            // ACCESS_ALLOWED, _COMPOUND, _OBJECT, _CALLBACK, _CALLBACK_OBJECT
            0x00 | 0x04 | 0x05 | 0x09 | 0x0B => AceKind::Allow,
            // ACCESS_DENIED, _OBJECT, _CALLBACK, _CALLBACK_OBJECT
            0x01 | 0x06 | 0x0A | 0x0C => AceKind::Deny,
            _ => AceKind::Other,
        }
    }
}

/// Where an entry's SID starts, in bytes from the start of the entry; `None` when this
/// version does not read that layout (the compound entry) or for entries that grant nothing.
/// `object_flags` is the `Flags` field of an object entry (ignored for the others).
pub fn sid_offset(ace_type: u8, object_flags: u32) -> Option<usize> {
    const HEADER_AND_MASK: usize = 8;
    match ace_type {
        // ACCESS_ALLOWED/DENIED and their callback forms: the SID follows the mask.
        0x00 | 0x01 | 0x09 | 0x0A => Some(HEADER_AND_MASK),
        // Object forms: a Flags word, then each GUID that Flags says is present.
        0x05 | 0x06 | 0x0B | 0x0C => {
            let guids = usize::from(object_flags & 1 != 0) + usize::from(object_flags & 2 != 0);
            Some(HEADER_AND_MASK + 4 + 16 * guids)
        }
        _ => None,
    }
}

/// Why a descriptor is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    NoOwner,
    /// Owned by this SID, which is not trusted.
    Owner(String),
    NullDacl,
    /// Allow entries that give write-type rights to untrusted principals: (SID, rights).
    Writable(Vec<(Option<String>, u32)>),
}

/// Accepts a descriptor owned by a trusted principal whose DACL gives no write-type right
/// to anyone else. `me` is the current user's SID when it is to be trusted too (debug
/// builds reading a test directory), `None` otherwise.
///
/// # Errors
/// The first thing wrong, in the order owner, NULL DACL, writers (all of them).
pub fn judge(descriptor: &Descriptor, me: Option<&str>) -> Result<(), Refusal> {
    let trusted =
        |sid: &str| [ADMINISTRATORS, SYSTEM, TRUSTED_INSTALLER].contains(&sid) || Some(sid) == me;
    let owner = descriptor.owner.as_deref().ok_or(Refusal::NoOwner)?;
    if !trusted(owner) {
        return Err(Refusal::Owner(owner.to_string()));
    }
    let dacl = descriptor.dacl.as_ref().ok_or(Refusal::NullDacl)?;
    let writers: Vec<(Option<String>, u32)> = dacl
        .iter()
        .filter(|ace| ace.kind == AceKind::Allow && ace.flags & INHERIT_ONLY_ACE == 0)
        .filter(|ace| ace.mask & WRITE_RIGHTS != 0)
        // OWNER RIGHTS stands for the owner, already found trusted.
        .filter(|ace| {
            !ace.sid
                .as_deref()
                .is_some_and(|sid| trusted(sid) || sid == OWNER_RIGHTS)
        })
        .map(|ace| (ace.sid.clone(), ace.mask & WRITE_RIGHTS))
        .collect();
    if writers.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Writable(writers))
    }
}

/// The `config_error` for a refused managed file or directory: what is wrong, in the
/// names `icacls` shows, and the commands an administrator runs to fix it. `me` is the
/// current user's SID, named "you" when it appears.
pub fn explain(path: &Path, is_dir: bool, refusal: &Refusal, me: Option<&str>) -> AuthError {
    let shown = path.display();
    let quoted = format!("\"{shown}\"");
    let reset = reset_command(&quoted, is_dir);
    match refusal {
        Refusal::NoOwner | Refusal::Owner(_) => {
            let who = match refusal {
                Refusal::Owner(sid) => format!("are owned by {}", principal(Some(sid), me, None)),
                _ => "have no owner".to_string(),
            };
            AuthError::config(format!(
                "managed settings {shown} {who}, not Administrators, SYSTEM or TrustedInstaller; whoever owns them can change who may write them, so they are not used"
            ))
            .with_hint(format!(
                "an administrator must run `takeown /F {quoted} /A` in an elevated prompt (it gives them to the Administrators group)"
            ))
        }
        Refusal::NullDacl => AuthError::config(format!(
            "managed settings {shown} have no access control list (a NULL DACL), so anyone can change them; they are not used"
        ))
        .with_hint(format!("an administrator must run {reset}")),
        Refusal::Writable(writers) => {
            let named: Vec<String> = writers
                .iter()
                .map(|(sid, rights)| principal(sid.as_deref(), me, Some(&rights_words(*rights))))
                .collect();
            // `/grant:r` replaces the grants of the SIDs it names; anyone else's explicit
            // grant stays unless removed by name.
            let strays: Vec<String> = writers
                .iter()
                .filter_map(|(sid, _)| sid.as_deref())
                .filter(|sid| *sid != USERS)
                .map(|sid| format!("*{sid}"))
                .collect();
            let remove = if strays.is_empty() {
                String::new()
            } else {
                format!("`icacls {quoted} /remove:g {}`, then ", strays.join(" "))
            };
            AuthError::config(format!(
                "managed settings {shown} can be changed by {}; only Administrators, SYSTEM and TrustedInstaller may write them, so they are not used",
                named.join(", ")
            ))
            .with_hint(format!("an administrator must run {remove}{reset}"))
        }
    }
}

/// The icacls call that leaves Administrators and SYSTEM full control and Users read access,
/// and drops what the object inherits. SIDs rather than names: names are translated.
fn reset_command(quoted: &str, is_dir: bool) -> String {
    let (inherit, read) = if is_dir {
        ("(OI)(CI)", "RX")
    } else {
        ("", "R")
    };
    format!(
        "`icacls {quoted} /inheritance:r /grant:r *{ADMINISTRATORS}:{inherit}F *{SYSTEM}:{inherit}F *{USERS}:{inherit}{read}` in an elevated prompt"
    )
}

/// "Users (S-1-5-32-545: modify)", "S-1-5-21-…-1001 (you)", or the SID alone; `rights`
/// go inside the brackets.
fn principal(sid: Option<&str>, me: Option<&str>, rights: Option<&str>) -> String {
    let (label, tag) = match sid {
        None => ("an entry whose principal this version cannot read", None),
        Some(sid) if Some(sid) == me => (sid, Some("you".to_string())),
        Some(sid) => match well_known(sid) {
            Some(name) => (name, Some(sid.to_string())),
            None => (sid, None),
        },
    };
    match (tag, rights) {
        (Some(tag), Some(rights)) => format!("{label} ({tag}: {rights})"),
        (Some(tag), None) => format!("{label} ({tag})"),
        (None, Some(rights)) => format!("{label} ({rights})"),
        (None, None) => label.to_string(),
    }
}

/// The English name of a well-known SID that hints and errors may name.
fn well_known(sid: &str) -> Option<&'static str> {
    Some(match sid {
        "S-1-1-0" => "Everyone",
        "S-1-5-11" => "Authenticated Users",
        "S-1-5-32-545" => "Users",
        "S-1-5-32-546" => "Guests",
        "S-1-5-32-547" => "Power Users",
        "S-1-5-4" => "INTERACTIVE",
        "S-1-5-2" => "NETWORK",
        "S-1-5-7" => "ANONYMOUS LOGON",
        "S-1-3-0" => "CREATOR OWNER",
        "S-1-15-2-1" => "ALL APPLICATION PACKAGES",
        _ => return None,
    })
}

/// The write-type rights of `mask` in words: "full control", "modify", or a list.
fn rights_words(mask: u32) -> String {
    if mask & GENERIC_ALL != 0
        || mask & FILE_ALL_ACCESS & WRITE_RIGHTS == FILE_ALL_ACCESS & WRITE_RIGHTS
    {
        return "full control".to_string();
    }
    if mask & MODIFY & WRITE_RIGHTS == MODIFY & WRITE_RIGHTS {
        return "modify".to_string();
    }
    const WORDS: [(u32, &str); 9] = [
        (GENERIC_WRITE, "write"),
        (FILE_WRITE_DATA, "write data"),
        (FILE_APPEND_DATA, "append data"),
        (FILE_WRITE_EA, "write extended attributes"),
        (FILE_WRITE_ATTRIBUTES, "write attributes"),
        (FILE_DELETE_CHILD, "delete children"),
        (DELETE, "delete"),
        (WRITE_DAC, "change permissions"),
        (WRITE_OWNER, "take ownership"),
    ];
    WORDS
        .iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, word)| *word)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(windows)]
pub mod win32;

#[cfg(test)]
mod tests;
