//! The Windows trust rule as a table of descriptors: the ACLs Windows gives a folder under
//! `C:\Program Files` and a user's temp folder, and the grants that must refuse a policy.

use super::*;
use std::path::PathBuf;

const ME: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";
const USERS: &str = "S-1-5-32-545";
const EVERYONE: &str = "S-1-1-0";
const AUTHENTICATED: &str = "S-1-5-11";
const INTERACTIVE: &str = "S-1-5-4";
const CREATOR_OWNER: &str = "S-1-3-0";
const PACKAGES: &str = "S-1-15-2-1";

// icacls's simple rights and flags, as masks and ACE flags.
const F: u32 = 0x001F_01FF;
const M: u32 = 0x0013_01BF;
const RX: u32 = 0x0012_00A9;
const R: u32 = 0x0012_0089;
const W: u32 = 0x0010_0116;
const GA: u32 = 0x1000_0000;
const GR_GE: u32 = 0xA000_0000;
const OI_CI: u8 = 0x03;
const IO: u8 = INHERIT_ONLY_ACE;
const INHERITED: u8 = 0x10;

fn allow(sid: &str, mask: u32, flags: u8) -> Ace {
    Ace {
        kind: AceKind::Allow,
        flags,
        mask,
        sid: Some(sid.to_string()),
    }
}

fn deny(sid: &str, mask: u32) -> Ace {
    Ace {
        kind: AceKind::Deny,
        flags: 0,
        mask,
        sid: Some(sid.to_string()),
    }
}

fn owned_by(owner: &str, aces: Vec<Ace>) -> Descriptor {
    Descriptor {
        owner: Some(owner.to_string()),
        dacl: Some(aces),
    }
}

/// What `C:\Program Files\ClaudeCode` inherits when an administrator creates it.
fn program_files_folder() -> Vec<Ace> {
    vec![
        allow(TRUSTED_INSTALLER, F, INHERITED),
        allow(TRUSTED_INSTALLER, GA, INHERITED | OI_CI | IO),
        allow(SYSTEM, M, INHERITED),
        allow(SYSTEM, GA, INHERITED | OI_CI | IO),
        allow(ADMINISTRATORS, M, INHERITED),
        allow(ADMINISTRATORS, GA, INHERITED | OI_CI | IO),
        allow(USERS, RX, INHERITED),
        allow(USERS, GR_GE, INHERITED | OI_CI | IO),
        allow(CREATOR_OWNER, GA, INHERITED | OI_CI | IO),
        allow(PACKAGES, RX, INHERITED),
        allow(PACKAGES, GR_GE, INHERITED | OI_CI | IO),
    ]
}

/// What a file or folder under the user's `%TEMP%` gets.
fn temp_folder() -> Vec<Ace> {
    vec![
        allow(SYSTEM, F, INHERITED | OI_CI),
        allow(ADMINISTRATORS, F, INHERITED | OI_CI),
        allow(ME, F, INHERITED | OI_CI),
    ]
}

#[test]
fn what_an_administrator_deploys_is_trusted() {
    let cases = [
        (
            "a folder under Program Files",
            owned_by(ADMINISTRATORS, program_files_folder()),
        ),
        ("owned by SYSTEM", owned_by(SYSTEM, program_files_folder())),
        (
            "owned by TrustedInstaller",
            owned_by(TRUSTED_INSTALLER, program_files_folder()),
        ),
        (
            "the ACL the hint's icacls leaves on a file",
            owned_by(
                ADMINISTRATORS,
                vec![
                    allow(ADMINISTRATORS, F, 0),
                    allow(SYSTEM, F, 0),
                    allow(USERS, R, 0),
                ],
            ),
        ),
        (
            "an empty DACL: only the owner",
            owned_by(ADMINISTRATORS, vec![]),
        ),
        (
            "a deny entry for Users",
            owned_by(ADMINISTRATORS, vec![allow(SYSTEM, F, 0), deny(USERS, W)]),
        ),
        (
            "OWNER RIGHTS stands for the trusted owner",
            owned_by(SYSTEM, vec![allow("S-1-3-4", F, 0)]),
        ),
        (
            "read and execute for everyone",
            owned_by(
                ADMINISTRATORS,
                vec![allow(EVERYONE, RX, 0), allow(AUTHENTICATED, R, 0)],
            ),
        ),
    ];
    for (what, descriptor) in cases {
        assert_eq!(judge(&descriptor, None), Ok(()), "{what}");
    }
}

#[test]
fn an_untrusted_owner_is_refused() {
    let cases = [
        ("the current user", ME),
        ("Users", USERS),
        ("Everyone", EVERYONE),
        ("CREATOR OWNER", CREATOR_OWNER),
    ];
    for (what, owner) in cases {
        let descriptor = owned_by(owner, program_files_folder());
        assert_eq!(
            judge(&descriptor, None),
            Err(Refusal::Owner(owner.to_string())),
            "{what}"
        );
    }
    let ownerless = Descriptor {
        owner: None,
        dacl: Some(vec![]),
    };
    assert_eq!(judge(&ownerless, None), Err(Refusal::NoOwner));
}

#[test]
fn a_null_dacl_lets_everyone_write() {
    let descriptor = Descriptor {
        owner: Some(ADMINISTRATORS.to_string()),
        dacl: None,
    };
    assert_eq!(judge(&descriptor, None), Err(Refusal::NullDacl));
}

#[test]
fn any_write_type_right_for_anyone_else_refuses() {
    let rights = [
        ("full control", F),
        ("modify", M),
        ("write", W),
        ("write data", 0x2),
        ("append data / add subdirectory", 0x4),
        ("write extended attributes", 0x10),
        ("delete children", 0x40),
        ("write attributes", 0x100),
        ("delete", 0x1_0000),
        ("change permissions", 0x4_0000),
        ("take ownership", 0x8_0000),
        ("generic all", GA),
        ("generic write", 0x4000_0000),
    ];
    for who in [
        USERS,
        EVERYONE,
        AUTHENTICATED,
        INTERACTIVE,
        ME,
        CREATOR_OWNER,
    ] {
        for (what, mask) in rights {
            let mut aces = program_files_folder();
            aces.push(allow(who, mask, 0));
            let refusal = judge(&owned_by(ADMINISTRATORS, aces), None);
            let Err(Refusal::Writable(writers)) = refusal else {
                panic!("{who} with {what}: {refusal:?}");
            };
            assert_eq!(
                writers,
                vec![(Some(who.to_string()), mask & WRITE_RIGHTS)],
                "{what}"
            );
        }
    }
}

#[test]
fn reading_executing_and_synchronising_are_not_writing() {
    for mask in [R, RX, GR_GE, 0x0010_0000, 0x0002_0000] {
        let descriptor = owned_by(ADMINISTRATORS, vec![allow(EVERYONE, mask, 0)]);
        assert_eq!(judge(&descriptor, None), Ok(()), "{mask:#x}");
    }
}

#[test]
fn what_applies_only_to_children_is_not_the_objects_own_access() {
    // CREATOR OWNER:(OI)(CI)(IO)(F) is on every folder under Program Files.
    let descriptor = owned_by(ADMINISTRATORS, vec![allow(CREATOR_OWNER, F, OI_CI | IO)]);
    assert_eq!(judge(&descriptor, None), Ok(()));
    // The same entry without IO applies to the folder itself.
    let descriptor = owned_by(ADMINISTRATORS, vec![allow(USERS, W, OI_CI | INHERITED)]);
    assert!(judge(&descriptor, None).is_err());
}

#[test]
fn deny_entries_do_not_excuse_an_allowed_write() {
    let descriptor = owned_by(ADMINISTRATORS, vec![deny(USERS, W), allow(USERS, M, 0)]);
    assert_eq!(
        judge(&descriptor, None),
        Err(Refusal::Writable(vec![(
            Some(USERS.to_string()),
            M & WRITE_RIGHTS
        )]))
    );
}

#[test]
fn an_entry_whose_principal_cannot_be_read_counts_as_a_stranger() {
    let unreadable = Ace {
        kind: AceKind::Allow,
        flags: 0,
        mask: W,
        sid: None,
    };
    let descriptor = owned_by(ADMINISTRATORS, vec![unreadable.clone()]);
    assert_eq!(
        judge(&descriptor, None),
        Err(Refusal::Writable(vec![(None, W & WRITE_RIGHTS)]))
    );
    // Audit and label entries grant nothing, whatever their mask.
    let audit = Ace {
        kind: AceKind::Other,
        ..unreadable
    };
    assert_eq!(judge(&owned_by(ADMINISTRATORS, vec![audit]), None), Ok(()));
}

#[test]
fn every_writer_is_reported() {
    let mut aces = program_files_folder();
    aces.push(allow(USERS, M, 0));
    aces.push(allow(EVERYONE, 0x2, 0));
    let Err(Refusal::Writable(writers)) = judge(&owned_by(ADMINISTRATORS, aces), None) else {
        panic!("not refused");
    };
    let sids: Vec<_> = writers.iter().map(|(sid, _)| sid.as_deref()).collect();
    assert_eq!(sids, [Some(USERS), Some(EVERYONE)]);
}

#[test]
fn a_test_directory_trusts_the_current_user_and_nobody_else() {
    let mine = owned_by(ME, temp_folder());
    assert_eq!(judge(&mine, Some(ME)), Ok(()));
    assert_eq!(judge(&mine, None), Err(Refusal::Owner(ME.to_string())));
    let mut shared = temp_folder();
    shared.push(allow(USERS, M, 0));
    assert!(matches!(
        judge(&owned_by(ME, shared), Some(ME)),
        Err(Refusal::Writable(_))
    ));
    let other = "S-1-5-21-1004336348-1177238915-682003330-1002";
    assert_eq!(
        judge(&owned_by(other, temp_folder()), Some(ME)),
        Err(Refusal::Owner(other.to_string()))
    );
}

#[test]
fn ace_types_are_sorted_into_allow_deny_and_neither() {
    for t in [0x00, 0x04, 0x05, 0x09, 0x0B] {
        assert_eq!(AceKind::of(t), AceKind::Allow, "{t:#x}");
    }
    for t in [0x01, 0x06, 0x0A, 0x0C] {
        assert_eq!(AceKind::of(t), AceKind::Deny, "{t:#x}");
    }
    // Audit, alarm, mandatory label, resource attribute, scoped policy, trust label.
    for t in [
        0x02, 0x03, 0x07, 0x08, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x14,
    ] {
        assert_eq!(AceKind::of(t), AceKind::Other, "{t:#x}");
    }
}

#[test]
fn the_sid_is_found_after_the_mask_or_after_the_object_guids() {
    assert_eq!(sid_offset(0x00, 0xFFFF_FFFF), Some(8));
    assert_eq!(sid_offset(0x09, 0), Some(8));
    assert_eq!(sid_offset(0x05, 0), Some(12));
    assert_eq!(sid_offset(0x05, 1), Some(28));
    assert_eq!(sid_offset(0x0B, 2), Some(28));
    assert_eq!(sid_offset(0x06, 3), Some(44));
    assert_eq!(sid_offset(0x04, 0), None, "compound entries are not read");
}

fn rendered(err: &AuthError) -> (String, String) {
    (err.to_string(), err.hint().unwrap_or_default().to_string())
}

#[test]
fn refusals_say_who_may_write_and_give_the_icacls_that_fixes_it() {
    let file = PathBuf::from(r"C:\Program Files\ClaudeCode\managed-settings.json");
    let refusal = Refusal::Writable(vec![
        (Some(USERS.to_string()), M & WRITE_RIGHTS),
        (Some(EVERYONE.to_string()), 0x6),
        (Some(ME.to_string()), F & WRITE_RIGHTS),
    ]);
    let (message, hint) = rendered(&explain(&file, false, &refusal, Some(ME)));
    assert_eq!(
        message,
        format!(
            r"managed settings C:\Program Files\ClaudeCode\managed-settings.json can be changed by Users (S-1-5-32-545: modify), Everyone (S-1-1-0: write data, append data), {ME} (you: full control); only Administrators, SYSTEM and TrustedInstaller may write them, so they are not used"
        )
    );
    assert_eq!(
        hint,
        format!(
            r#"an administrator must run `icacls "C:\Program Files\ClaudeCode\managed-settings.json" /remove:g *S-1-1-0 *{ME}`, then `icacls "C:\Program Files\ClaudeCode\managed-settings.json" /inheritance:r /grant:r *S-1-5-32-544:F *S-1-5-18:F *S-1-5-32-545:R` in an elevated prompt"#
        )
    );
}

#[test]
fn a_directory_gets_an_inheritable_reset_and_users_may_list_it() {
    let dir = PathBuf::from(r"C:\Program Files\ClaudeCode");
    let refusal = Refusal::Writable(vec![(Some(USERS.to_string()), 0x2)]);
    let (message, hint) = rendered(&explain(&dir, true, &refusal, None));
    assert!(
        message.contains("Users (S-1-5-32-545: write data)"),
        "{message}"
    );
    assert_eq!(
        hint,
        r#"an administrator must run `icacls "C:\Program Files\ClaudeCode" /inheritance:r /grant:r *S-1-5-32-544:(OI)(CI)F *S-1-5-18:(OI)(CI)F *S-1-5-32-545:(OI)(CI)RX` in an elevated prompt"#
    );
}

#[test]
fn an_owner_refusal_names_the_owner_and_the_takeown_that_fixes_it() {
    let file = PathBuf::from(r"C:\Program Files\ClaudeCode\managed-settings.json");
    let (message, hint) = rendered(&explain(
        &file,
        false,
        &Refusal::Owner(ME.to_string()),
        Some(ME),
    ));
    assert!(
        message.contains(&format!(
            "are owned by {ME} (you), not Administrators, SYSTEM or TrustedInstaller"
        )),
        "{message}"
    );
    assert!(
        hint.contains(r#"`takeown /F "C:\Program Files\ClaudeCode\managed-settings.json" /A`"#),
        "{hint}"
    );
    let (message, _) = rendered(&explain(
        &file,
        false,
        &Refusal::Owner(USERS.to_string()),
        Some(ME),
    ));
    assert!(
        message.contains("owned by Users (S-1-5-32-545)"),
        "{message}"
    );
    let (message, _) = rendered(&explain(&file, false, &Refusal::NoOwner, None));
    assert!(message.contains("have no owner"), "{message}");
}

#[test]
fn a_null_dacl_refusal_says_anyone_can_change_it() {
    let file = PathBuf::from(r"C:\Program Files\ClaudeCode\managed-settings.json");
    let (message, hint) = rendered(&explain(&file, false, &Refusal::NullDacl, None));
    assert!(message.contains("NULL DACL"), "{message}");
    assert!(hint.contains("/inheritance:r /grant:r"), "{hint}");
}

#[test]
fn rights_are_named_as_icacls_groups_them() {
    assert_eq!(rights_words(F & WRITE_RIGHTS), "full control");
    assert_eq!(rights_words(GA), "full control");
    assert_eq!(rights_words(M & WRITE_RIGHTS), "modify");
    assert_eq!(
        rights_words(W & WRITE_RIGHTS),
        "write data, append data, write extended attributes, write attributes"
    );
    assert_eq!(rights_words(0x4000_0000), "write");
    assert_eq!(
        rights_words(0x000C_0040),
        "delete children, change permissions, take ownership"
    );
    assert_eq!(
        principal(None, None, Some("write")),
        "an entry whose principal this version cannot read (write)"
    );
}

/// The FFI against Windows itself: a file the test writes in its %TEMP% has the owner and
/// DACL the user's temp folder gives (the user, SYSTEM, Administrators), read alike through
/// the path and through an open handle, trusted for a test directory only.
#[cfg(windows)]
#[test]
fn windows_reads_a_temp_files_owner_and_dacl_alike_by_path_and_by_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("managed-settings.json");
    std::fs::write(&path, "{}").unwrap();
    let me = win32::current_user().unwrap();
    assert!(me.starts_with("S-1-5-"), "{me}");
    let by_path = win32::of_path(&path).unwrap();
    let by_handle = win32::of_file(&std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(format!("{by_path:?}"), format!("{by_handle:?}"));
    let owner = by_path.owner.as_deref().expect("an owner");
    assert!(owner.starts_with("S-1-"), "{owner}");
    let dacl = by_path.dacl.as_ref().expect("a DACL");
    assert!(!dacl.is_empty(), "{by_path:?}");
    assert!(
        dacl.iter().all(|ace| ace
            .sid
            .as_deref()
            .is_some_and(|sid| sid.starts_with("S-1-"))),
        "{by_path:?}"
    );
    assert_eq!(judge(&by_path, Some(&me)), Ok(()), "{by_path:?}");
    let dir_descriptor = win32::of_path(dir.path()).unwrap();
    assert_eq!(
        judge(&dir_descriptor, Some(&me)),
        Ok(()),
        "{dir_descriptor:?}"
    );
    assert!(win32::of_path(&dir.path().join("absent")).is_err());
}
