//! Managed settings on Windows: the owner and DACL decide, read from Windows itself. A
//! debug build pointed at a test directory (`CLAUDE_MANAGED_SETTINGS_DIR`) trusts the
//! current user as it trusts Administrators, SYSTEM and TrustedInstaller, so a folder
//! under the user's %TEMP% with the ACL it inherits is read; a grant of write access to
//! anyone else, set with `icacls`, refuses it. (The rule itself, including a file owned by
//! the user under `C:\Program Files`, is unit-tested in src/config/managed/acl/tests.rs.)
#![cfg(windows)]

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// A managed-settings folder in the user's %TEMP%, with the ACL it inherits there.
struct Managed {
    dir: tempfile::TempDir,
}

impl Managed {
    fn new() -> Managed {
        Managed {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn base(&self, json: &str) -> PathBuf {
        let path = self.dir.path().join("managed-settings.json");
        std::fs::write(&path, json).unwrap();
        path
    }

    fn drop_in(&self, name: &str, json: &str) -> PathBuf {
        let dir = self.dir.path().join("managed-settings.d");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, json).unwrap();
        path
    }

    fn user(&self) -> TestEnv {
        TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A).with(
            "CLAUDE_MANAGED_SETTINGS_DIR",
            &self.dir.path().display().to_string(),
        )
    }
}

/// Runs `icacls PATH ARGS…`; whether it succeeded, with its output on failure.
fn icacls(path: &Path, args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("icacls")
        .arg(path)
        .args(args)
        .output()
        .map_err(|err| format!("icacls did not start: {err}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "icacls {} {args:?}: {}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn a_test_folder_with_the_acl_it_inherits_from_temp_is_read() {
    let managed = Managed::new();
    let file = managed.base(r#"{"security": {"mfa": {"enabled": true}}}"#);
    let drop_in = managed.drop_in("10-eu.json", r#"{"compliance": {"dataResidency": "eu"}}"#);
    let out = managed.user().run(&["--auth-status", "--json"]);
    let doc = json_stdout(&out);
    assert_eq!(
        doc["managed"]["files"],
        serde_json::json!([file.display().to_string(), drop_in.display().to_string()]),
        "{}",
        text(&out)
    );
    assert_eq!(doc["mfa"]["required"], true, "{doc}");
    assert_no_secret(&out, KEY_A);
}

#[test]
fn a_managed_file_users_may_modify_is_refused_with_the_icacls_that_fixes_it() {
    let managed = Managed::new();
    let file = managed.base(r#"{"security": {"mfa": {"enabled": true}}}"#);
    icacls(&file, &["/grant", "*S-1-5-32-545:(M)"]).unwrap();
    let out = managed.user().run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains(&format!(
            "managed settings {} can be changed by Users (S-1-5-32-545: modify)",
            file.display()
        )),
        "{all}"
    );
    assert!(
        all.contains(&format!(
            "`icacls \"{}\" /inheritance:r /grant:r *S-1-5-32-544:F *S-1-5-18:F *S-1-5-32-545:R`",
            file.display()
        )),
        "{all}"
    );
    assert_no_secret(&out, KEY_A);
}

#[test]
fn a_drop_in_folder_everyone_may_write_is_refused() {
    let managed = Managed::new();
    managed.drop_in("10-mfa.json", r#"{"security": {"mfa": {"enabled": true}}}"#);
    let dir = managed.dir.path().join("managed-settings.d");
    icacls(&dir, &["/grant", "*S-1-1-0:(OI)(CI)(W)"]).unwrap();
    let out = managed.user().run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("Everyone (S-1-1-0: "), "{all}");
    assert!(
        all.contains(&format!(
            "`icacls \"{}\" /remove:g *S-1-1-0`",
            dir.display()
        )),
        "{all}"
    );
    assert!(all.contains("*S-1-5-32-545:(OI)(CI)RX"), "{all}");
}

#[test]
fn a_managed_file_owned_by_users_is_refused() {
    let managed = Managed::new();
    let file = managed.base(r#"{"security": {"mfa": {"enabled": true}}}"#);
    // Giving a file away takes SeRestorePrivilege: an elevated prompt (as on CI) has it.
    if let Err(why) = icacls(&file, &["/setowner", "*S-1-5-32-545"]) {
        eprintln!("skipped: cannot give the file to Users here ({why})");
        return;
    }
    let out = managed.user().run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains(
            "are owned by Users (S-1-5-32-545), not Administrators, SYSTEM or TrustedInstaller"
        ),
        "{all}"
    );
    assert!(
        all.contains(&format!("`takeown /F \"{}\" /A`", file.display())),
        "{all}"
    );
}
