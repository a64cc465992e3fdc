//! The passphrase cache (Linux): a passphrase typed once at the prompt opens the encrypted
//! file for the next commands without a prompt or CLAUDE_PASSPHRASE, until it expires,
//! `--reset-auth` clears it, or `passphraseCacheSeconds` is 0; no kernel keyring means no
//! cache, silently.
#![cfg(target_os = "linux")]

mod common;

use common::servers::Server;
use common::{TestEnv, KEY_A, PASSPHRASE};

/// A passphrase user without CLAUDE_PASSPHRASE: it is typed at the prompt.
fn typing_user(api: &Server, cache: &str) -> TestEnv {
    let env = TestEnv::new().api(&api.url());
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"{cache}}}}}}}"#
    ));
    env
}

/// Stores KEY_A with the passphrase typed (twice: the file is new) on a terminal; `false`
/// when no terminal can be had here.
fn store_typing(env: &TestEnv) -> bool {
    if !kernel_keyring_works() {
        eprintln!("skipped: this machine's kernel keyring cannot be used (a container's seccomp profile may block keyctl); the no-keyring path is tested on its own");
        return false;
    }
    let typed = format!("{PASSPHRASE}\n{PASSPHRASE}\n");
    let Some(shown) = env.on_terminal(&["--set-api-key", KEY_A], &typed) else {
        return false;
    };
    assert_eq!(shown.code, 0, "{}", shown.text);
    true
}

/// `--remove-api-key` with no terminal and no CLAUDE_PASSPHRASE: only a cached key opens the
/// file.
fn remove_without_passphrase(env: &TestEnv) -> std::process::Output {
    env.claude()
        .arg("--remove-api-key")
        .write_stdin("")
        .output()
        .unwrap()
}

#[test]
fn a_typed_passphrase_is_not_asked_again_while_cached() {
    let api = Server::anthropic(&[KEY_A]);
    let env = typing_user(&api, "");
    if !store_typing(&env) {
        return;
    }
    let out = remove_without_passphrase(&env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Removed the stored API key"), "{stdout}");
}

#[test]
fn reset_auth_clears_the_cached_key() {
    let api = Server::anthropic(&[KEY_A]);
    let env = typing_user(&api, "");
    if !store_typing(&env) {
        return;
    }
    let file = env.state_dir().join("credentials.enc");
    let kept = std::fs::read(&file).unwrap();
    env.claude()
        .args(["--reset-auth", "--yes"])
        .assert()
        .success();
    // The same file (same salt) back in place: only the cache could open it now.
    std::fs::write(&file, kept).unwrap();
    common::set_mode(&file, 0o600);
    let out = remove_without_passphrase(&env);
    assert_eq!(out.status.code(), Some(11), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs a passphrase"),
        "{out:?}"
    );
}

#[test]
fn a_cache_of_0_seconds_or_false_keeps_nothing() {
    for setting in [
        r#", "passphraseCacheSeconds": 0"#,
        r#", "passphraseCacheSeconds": false"#,
    ] {
        let api = Server::anthropic(&[KEY_A]);
        let env = typing_user(&api, setting);
        if !store_typing(&env) {
            return;
        }
        let out = remove_without_passphrase(&env);
        assert_eq!(out.status.code(), Some(11), "{setting}: {out:?}");
    }
}

#[test]
fn without_a_kernel_keyring_the_passphrase_is_asked_as_before() {
    let api = Server::anthropic(&[KEY_A]);
    let env = typing_user(&api, "").with("CLAUDE_TEST_NO_KEYRING", "1");
    if !store_typing(&env) {
        return;
    }
    let out = remove_without_passphrase(&env);
    assert_eq!(out.status.code(), Some(11), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("keyring"), "silent fallback: {stderr}");
    // With the passphrase it opens as ever.
    env.claude()
        .arg("--remove-api-key")
        .env("CLAUDE_PASSPHRASE", PASSPHRASE)
        .assert()
        .success();
}

#[test]
fn claude_passphrase_is_used_as_given_and_not_cached() {
    let api = Server::anthropic(&[KEY_A]);
    let env = typing_user(&api, "").with("CLAUDE_PASSPHRASE", PASSPHRASE);
    env.store_key(KEY_A);
    let mut bare = env;
    bare.unset("CLAUDE_PASSPHRASE");
    let out = remove_without_passphrase(&bare);
    assert_eq!(out.status.code(), Some(11), "{out:?}");
}

/// Whether this process may use its user keyring at all (containers often forbid `keyctl`):
/// the cache tests need one; the fallback test does not.
fn kernel_keyring_works() -> bool {
    #[cfg(target_os = "linux")]
    {
        const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
        const KEY_SPEC_USER_KEYRING: libc::c_long = -4;
        // SAFETY: a read-only keyctl call with integer arguments only.
        let id = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                KEYCTL_GET_KEYRING_ID,
                KEY_SPEC_USER_KEYRING,
                1 as libc::c_long,
            )
        };
        id >= 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
