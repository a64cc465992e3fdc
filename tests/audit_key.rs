//! The audit log's HMAC key: only a command that changes something makes it, never over a
//! log signed with an earlier key; `--verify` without it says the key is missing (not that
//! lines were changed); `--reset-auth` keeps it, or stops when it cannot read it.

mod common;

use common::servers::Server;
use common::*;
use serde_json::Value;

/// An `encrypted-file` user (passphrase in CLAUDE_PASSPHRASE) with auditing on, the API at
/// `api`.
fn audited(api: &Server) -> TestEnv {
    let env = TestEnv::encrypted().api(&api.url());
    env.write_config(
        r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
            "security": {"auditLogging": true}}"#,
    );
    env
}

fn store_file(env: &TestEnv) -> std::path::PathBuf {
    env.state_dir().join("credentials.enc")
}

fn log_lines(env: &TestEnv) -> Vec<Value> {
    std::fs::read_to_string(env.state_dir().join("audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Whether the store's header lists the audit key (read without the passphrase).
fn lists_audit_key(env: &TestEnv) -> bool {
    let bytes = std::fs::read(store_file(env)).unwrap();
    let len = u32::from_be_bytes(bytes[9..13].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[13..13 + len]).unwrap();
    header["items"].get("audit-hmac-key").is_some()
}

/// A malformed key refused offline: one `refused` line, and a command that acts.
fn refuse(env: &TestEnv) {
    let out = env.run_with_stdin(&["--validate-key", "-"], "not-a-key");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
}

#[test]
fn verify_after_the_store_is_deleted_says_the_key_is_missing() {
    let api = Server::anthropic(&[KEY_A]);
    let env = audited(&api);
    env.store_key(KEY_A);
    std::fs::remove_file(store_file(&env)).unwrap();
    let out = env.run(&["--show-auth-logs", "--verify"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(11), "{all}");
    assert!(all.contains("`audit-hmac-key` is missing"), "{all}");
    assert!(all.contains("deleted or moved away"), "{all}");
    assert!(all.contains("can no longer be verified"), "{all}");
    assert!(!all.contains("MAC does not match"), "{all}");
    let out = env.run(&["--show-auth-logs", "--verify", "--json"]);
    let doc = json_stdout(&out);
    assert_eq!(doc["problem"], "key_missing", "{doc}");
    assert_eq!(doc["verified"], false, "{doc}");
    assert_eq!(doc["error"]["code"], "storage_error", "{doc}");
    assert!(
        !store_file(&env).exists(),
        "a read-only check must not make a store or a key"
    );
}

#[test]
fn read_only_commands_make_no_audit_key() {
    let api = Server::anthropic(&[KEY_A]);
    let env = audited(&api);
    for args in [
        &["--auth-status"][..],
        &["--auth-status", "--json"],
        &["--list-sessions"],
        &["--show-auth-logs"],
        &["--show-auth-logs", "--verify"],
    ] {
        env.run(args);
        assert!(!store_file(&env).exists(), "{args:?} made a store");
    }
    // A command that acts makes it, and signs with it.
    refuse(&env);
    assert!(lists_audit_key(&env));
    assert!(log_lines(&env)[0]["mac"].is_string());
}

#[test]
fn no_new_key_is_made_over_a_log_signed_with_a_lost_one() {
    let api = Server::anthropic(&[KEY_A]);
    let env = audited(&api);
    refuse(&env);
    std::fs::remove_file(store_file(&env)).unwrap();
    // Storing a key makes a new store, but no audit key in it: the old lines stay
    // checkable the day the old store comes back, and --verify says what happened.
    env.store_key(KEY_A);
    assert!(!lists_audit_key(&env));
    let lines = log_lines(&env);
    let last = lines.last().unwrap();
    assert_eq!(last["mac"], Value::Null, "{last}");
    assert!(
        last["unsigned"]
            .as_str()
            .unwrap()
            .starts_with("the audit key is missing"),
        "{last}"
    );
    let doc = json_stdout(&env.run(&["--show-auth-logs", "--verify", "--json"]));
    assert_eq!(doc["problem"], "key_missing", "{doc}");
    // A log moved away: the next command starts a new, signed chain.
    let log = env.state_dir().join("audit.log");
    std::fs::rename(&log, env.state_dir().join("audit.log.unverifiable")).unwrap();
    refuse(&env);
    assert!(lists_audit_key(&env));
    let out = env.run(&["--show-auth-logs", "--verify"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn reset_without_the_passphrase_removes_nothing_while_auditing() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = audited(&api);
    env.store_key(KEY_A);
    let before = std::fs::read(store_file(&env)).unwrap();
    env.unset("CLAUDE_PASSPHRASE");
    let out = env.run_with_stdin(&["--reset-auth", "--yes"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{stderr}");
    assert!(stderr.contains("nothing was removed"), "{stderr}");
    assert!(stderr.contains("CLAUDE_PASSPHRASE"), "{stderr}");
    let path = store_file(&env).display().to_string();
    assert!(stderr.contains(&format!("`mv {path} ")), "{stderr}");
    assert!(stderr.contains("no longer be verified"), "{stderr}");
    assert_eq!(std::fs::read(store_file(&env)).unwrap(), before);
    assert_no_secret(&out, KEY_A);

    // With the passphrase, the key is kept, and the report says so.
    env.set("CLAUDE_PASSPHRASE", PASSPHRASE);
    let out = env.run(&["--reset-auth", "--yes"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout.contains("(api-key)"), "{stdout}");
    assert!(
        !stdout.contains("credentials.enc)"),
        "the file is not removed: {stdout}"
    );
    assert!(stdout.contains("audit-hmac-key) was kept"), "{stdout}");
    assert!(
        stdout.contains(&format!("{path} now holds only what was kept")),
        "{stdout}"
    );
    assert!(lists_audit_key(&env));
    let out = env.run(&["--show-auth-logs", "--verify"]);
    assert!(out.status.success(), "{}", text(&out));
    // The same reset, as JSON: what went, what stayed.
    env.store_key(KEY_A);
    let doc = json_stdout(&env.run(&["--reset-auth", "--yes", "--json"]));
    assert_eq!(doc["removed"], serde_json::json!(["api-key"]), "{doc}");
    assert_eq!(doc["kept"], serde_json::json!(["audit-hmac-key"]), "{doc}");
    assert_eq!(doc["rewritten"], path.as_str(), "{doc}");
}

#[test]
fn an_unreadable_key_is_not_called_uncreatable() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = audited(&api);
    env.store_key(KEY_A);
    env.unset("CLAUDE_PASSPHRASE");
    refuse(&env);
    let lines = log_lines(&env);
    let why = lines.last().unwrap()["unsigned"].as_str().unwrap();
    assert!(why.starts_with("the audit key could not be read"), "{why}");
}
