//! `encrypted-file` storage: round trip, wrong passphrase, tampering, truncation, modes.

mod common;

use common::servers::Server;
use common::*;

fn store_file(env: &TestEnv) -> std::path::PathBuf {
    env.state_dir().join("credentials.enc")
}

/// The stored key is used only after a successful decrypt; the stand-in sees which one.
fn assert_unreadable_and_untouched(env: &TestEnv, api: &Server, before: &[u8]) {
    let requests = api.requests().len();
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("untouched"),
        "{}",
        text(&out)
    );
    assert_eq!(
        api.requests().len(),
        requests,
        "nothing may be sent when the store cannot be opened"
    );
    assert_eq!(
        std::fs::read(store_file(env)).unwrap(),
        before,
        "a failed read must not rewrite the file"
    );
    assert_no_secret(&out, KEY_A);
}

#[test]
fn round_trip_uses_the_stored_key() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json_stdout(&out)["source"], "encrypted-file");
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_A)
    );
    assert_no_secret_in_files(env.home.path(), KEY_A);
}

#[cfg(unix)]
#[test]
fn files_are_private_at_creation() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::new()
        .with("CLAUDE_PASSPHRASE", PASSPHRASE)
        .api(&api.url());
    // Config outside the state directory, so that claude creates the directory itself.
    let config = env.home.path().join("claude.json");
    std::fs::write(&config, r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}"#).unwrap();
    env.claude()
        .args(["--set-api-key", "-", "--config"])
        .arg(&config)
        .write_stdin(KEY_A)
        .assert()
        .success();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(env.state_dir()).unwrap().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(store_file(&env)).unwrap().mode() & 0o777,
        0o600
    );
}

#[test]
fn status_reads_metadata_without_the_passphrase() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = TestEnv::with_stored_key(&api.url(), KEY_A);
    env.unset("CLAUDE_PASSPHRASE");
    let out = env.run(&["--auth-status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json_stdout(&out)["fingerprint"], "sk-ant-api03-…a1A1");
    let test = env.run(&["--test-api-key"]);
    assert_eq!(
        test.status.code(),
        Some(11),
        "using the key needs the passphrase: {}",
        text(&test)
    );
    assert!(text(&test).contains("CLAUDE_PASSPHRASE"));
}

#[test]
fn wrong_passphrase_is_a_storage_error_and_the_file_is_untouched() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let before = std::fs::read(store_file(&env)).unwrap();
    let env = env.with("CLAUDE_PASSPHRASE", "not the passphrase");
    assert_unreadable_and_untouched(&env, &api, &before);
    // Writing with the wrong passphrase must not replace the store either.
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert_eq!(std::fs::read(store_file(&env)).unwrap(), before);
}

#[test]
fn one_flipped_byte_anywhere_is_detected() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let original = std::fs::read(store_file(&env)).unwrap();
    // A byte in the header (authenticated data), one in the nonce, one in the ciphertext.
    let header_len = u32::from_be_bytes(original[9..13].try_into().unwrap()) as usize;
    for at in [20, 13 + header_len + 3, original.len() - 5] {
        let mut tampered = original.clone();
        tampered[at] ^= 0x01;
        std::fs::write(store_file(&env), &tampered).unwrap();
        assert_unreadable_and_untouched(&env, &api, &tampered);
    }
}

#[test]
fn truncated_file_is_detected() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let original = std::fs::read(store_file(&env)).unwrap();
    for len in [original.len() - 1, original.len() / 2, 10, 0] {
        std::fs::write(store_file(&env), &original[..len]).unwrap();
        assert_unreadable_and_untouched(&env, &api, &original[..len]);
    }
}

#[cfg(unix)]
#[test]
fn store_that_others_can_read_is_refused_with_a_chmod_hint() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    set_mode(store_file(&env), 0o644);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(11));
    assert!(text(&out).contains("chmod 600"), "{}", text(&out));
}

#[cfg(unix)]
#[test]
fn symlinked_store_is_refused() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let moved = env.home.path().join("elsewhere.enc");
    std::fs::rename(store_file(&env), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, store_file(&env)).unwrap();
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(11));
    assert!(text(&out).contains("symbolic link"), "{}", text(&out));
}

#[test]
fn no_passphrase_and_no_terminal_says_what_to_set() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = TestEnv::encrypted().api(&api.url());
    env.unset("CLAUDE_PASSPHRASE");
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(text(&out).contains("CLAUDE_PASSPHRASE"));
    assert!(!store_file(&env).exists());
}

#[cfg(unix)]
#[test]
fn state_directory_others_can_write_is_refused() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    set_mode(env.state_dir(), 0o777);
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(text(&out).contains("chmod 700"));
    assert!(!store_file(&env).exists());
}

#[test]
fn item_dropped_from_the_header_is_damage_not_absence() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    edit_store_header(&store_file(&env), |header| {
        header["items"].as_object_mut().unwrap().remove("api-key");
    });
    let tampered = std::fs::read(store_file(&env)).unwrap();
    let requests = api.requests().len();
    for args in [
        &["--print-token"][..],
        &["--test-api-key"],
        &["--remove-api-key"],
    ] {
        let out = env.run(args);
        assert_eq!(
            out.status.code(),
            Some(11),
            "{args:?} must report the damage: {}",
            text(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("modified"), "{args:?}: {stderr}");
        assert!(stderr.contains("untouched"), "{args:?}: {stderr}");
        assert_no_secret(&out, KEY_A);
        assert_eq!(
            std::fs::read(store_file(&env)).unwrap(),
            tampered,
            "{args:?} must not rewrite the file"
        );
    }
    assert_eq!(api.requests().len(), requests, "nothing may be sent");
}
#[test]
fn short_passphrase_is_refused_when_the_store_is_created() {
    let api = Server::anthropic(&[KEY_A]);
    // 11 characters; the accented one is 22 bytes, so the rule counts characters.
    for short in ["eleven char", "ééééééééééé"] {
        let env = TestEnv::encrypted()
            .api(&api.url())
            .with("CLAUDE_PASSPHRASE", short);
        let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
        assert_eq!(out.status.code(), Some(2), "{short:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("at least 12 characters"), "{stderr}");
        assert!(stderr.contains("hint:"), "{stderr}");
        assert!(!stderr.contains(short), "the passphrase is never echoed");
        assert!(!store_file(&env).exists());
        assert!(
            api.requests().is_empty(),
            "the store's probe refuses the passphrase before the key is sent"
        );
    }
    let env = TestEnv::encrypted()
        .api(&api.url())
        .with("CLAUDE_PASSPHRASE", "twelve chars");
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    assert!(out.status.success(), "{}", text(&out));
}

/// A version-1 store sealed with `passphrase` holding `key`, built from the documented
/// format (docs/storage.md) rather than through claude, which no longer creates such a
/// file when the passphrase is short.
fn sealed_store(passphrase: &str, key: &str) -> Vec<u8> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let salt = [7u8; 16];
    let salt_hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
    let params = argon2::Params::new(19_456, 2, 1, Some(32)).unwrap();
    let mut file_key = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &salt, &mut file_key)
        .unwrap();
    let header = serde_json::json!({
        "kdf": {"alg": "argon2id", "m_kib": 19_456, "t": 2, "p": 1, "salt": salt_hex},
        "items": {"api-key": {"fingerprint": "sk-ant-api03-…a1A1", "createdAt": 1_764_000_000}},
    });
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = b"CLAUDEAE\x01".to_vec();
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(&header);
    let nonce = [9u8; 24];
    let plaintext = serde_json::to_vec(&serde_json::json!({ "api-key": key })).unwrap();
    let ciphertext = chacha20poly1305::XChaCha20Poly1305::new(&file_key.into())
        .encrypt(
            &nonce.into(),
            Payload {
                msg: &plaintext,
                aad: &out,
            },
        )
        .unwrap();
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

#[test]
fn existing_store_with_a_short_passphrase_still_opens() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted()
        .api(&api.url())
        .with("CLAUDE_PASSPHRASE", "short");
    std::fs::write(store_file(&env), sealed_store("short", KEY_A)).unwrap();
    set_mode(store_file(&env), 0o600);
    let out = env.run(&["--test-api-key"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_A)
    );
    // Changing it keeps the file's passphrase: the length rule is for new stores only.
    let out = env.run(&["--remove-api-key"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = env.run(&["--test-api-key"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "the rewritten file opens with the same passphrase and holds no key: {}",
        text(&out)
    );
}

#[test]
fn set_storage_to_a_new_file_applies_the_passphrase_rules() {
    // No passphrase and no terminal: the hint says what to set.
    let mut env = TestEnv::new();
    env.unset("DBUS_SESSION_BUS_ADDRESS");
    env.unset("CLAUDE_PASSPHRASE");
    let out = env.run(&["--set-storage", "encrypted-file"]);
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no terminal")
            && stderr.contains("hint:")
            && stderr.contains("CLAUDE_PASSPHRASE"),
        "{stderr}"
    );
    assert!(!env.config_path().exists(), "the config is not changed");

    // A short passphrase is refused now, not by the next command that creates the file.
    let env = env.with("CLAUDE_PASSPHRASE", "short");
    let out = env.run(&["--set-storage", "encrypted-file"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 12 characters"), "{stderr}");
    assert!(stderr.contains("CLAUDE_PASSPHRASE"), "{stderr}");
    assert_eq!(
        stderr.matches("run the command again").count(),
        1,
        "the hint says it once: {stderr}"
    );
    assert!(!env.config_path().exists(), "the config is not changed");
    assert!(!store_file(&env).exists());

    let env = env.with("CLAUDE_PASSPHRASE", PASSPHRASE);
    let out = env.run(&["--set-storage", "encrypted-file"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// A new store's passphrase typed too short at the prompt is asked for again, and the key
/// typed (and checked by the API) before it is stored once a good one is given; three
/// refusals end the command with `usage`, nothing written.
#[test]
fn a_short_passphrase_at_the_prompt_is_asked_again_and_the_key_kept() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = TestEnv::encrypted().api(&api.url());
    env.unset("CLAUDE_PASSPHRASE");
    let typed = format!("{KEY_A}\nshort\n{PASSPHRASE}\n{PASSPHRASE}\n");
    let Some(shown) = env.on_terminal(&["--set-api-key"], &typed) else {
        return;
    };
    assert_eq!(shown.code, 0, "{}", shown.text);
    assert!(shown.text.contains("try again (2 of 3)"), "{}", shown.text);
    assert!(shown.text.contains("Stored API key"), "{}", shown.text);
    let env = env.with("CLAUDE_PASSPHRASE", PASSPHRASE);
    let out = env.run(&["--test-api-key"]);
    assert!(out.status.success(), "{}", text(&out));

    let mut env = TestEnv::encrypted().api(&api.url());
    env.unset("CLAUDE_PASSPHRASE");
    let typed = format!("{KEY_A}\nshort\n\nstill short\n{PASSPHRASE}\n{PASSPHRASE}\n");
    let shown = env.on_terminal(&["--set-api-key"], &typed).unwrap();
    assert_eq!(shown.code, 2, "{}", shown.text);
    assert!(
        shown.text.contains("3 tries were refused"),
        "{}",
        shown.text
    );
    assert!(!store_file(&env).exists(), "nothing was written");
}
