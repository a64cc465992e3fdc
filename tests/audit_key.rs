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
    // Nor does a reset: with nothing stored there is nothing to keep, or to claim kept.
    let out = env.run(&["--reset-auth", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!store_file(&env).exists(), "the reset made a store");
    assert!(!text(&out).contains("was kept"), "{}", text(&out));
    // A command that acts makes it, and signs with it.
    refuse(&env);
    assert!(lists_audit_key(&env));
    assert!(log_lines(&env).last().unwrap()["mac"].is_string());
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

/// The passphrase typed at the reset's own prompt opens the file, and the file is rewritten
/// under it holding only the audit key: no new passphrase is asked for (at end of input
/// that question used to end the reset with exit 130, the file and the key already gone),
/// and the reset's own line is signed with the key it read.
#[test]
fn reset_at_a_terminal_keeps_the_key_under_the_passphrase_it_typed() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = audited(&api);
    env.store_key(KEY_A);
    env.unset("CLAUDE_PASSPHRASE");
    // The answer, the passphrase, then end of input: nothing else will be typed.
    let Some(shown) = env.on_terminal(&["--reset-auth"], &format!("y\n{PASSPHRASE}\n")) else {
        return;
    };
    assert_eq!(shown.code, 0, "{}", shown.text);
    assert!(
        !shown.text.contains("new encrypted credential store"),
        "{}",
        shown.text
    );
    assert!(
        shown.text.contains("audit-hmac-key) was kept"),
        "{}",
        shown.text
    );
    assert!(
        shown.text.contains("now holds only what was kept"),
        "{}",
        shown.text
    );
    assert!(lists_audit_key(&env));
    let last = log_lines(&env).pop().unwrap();
    assert_eq!(last["event"], "auth_reset", "{last}");
    assert!(
        last["mac"].is_string(),
        "the reset's own line is signed: {last}"
    );
    assert!(last.get("unsigned").is_none(), "{last}");

    // The old passphrase opens the file, which holds the key and nothing else, and every
    // line verifies, the reset's included.
    let env = env.with("CLAUDE_PASSPHRASE", PASSPHRASE);
    let out = env.run(&["--show-auth-logs", "--verify", "--json"]);
    let doc = json_stdout(&out);
    assert!(out.status.success(), "{doc}");
    assert_eq!(doc["verified"], true, "{doc}");
    let status = env.status_json();
    assert_eq!(
        status["fingerprint"],
        Value::Null,
        "the API key went: {status}"
    );
}

/// A CLAUDE_PASSPHRASE that does not open the file: with auditing on the reset stops and
/// says to check it (it is set) and how to move both files aside; with auditing off the file
/// goes whole and the report says it did not open.
#[test]
fn reset_with_a_wrong_passphrase_says_it_did_not_open_the_file() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = audited(&api).with("CLAUDE_TEST_NOW", "1796020812");
    env.store_key(KEY_A);
    let before = std::fs::read(store_file(&env)).unwrap();
    env.set("CLAUDE_PASSPHRASE", "not the passphrase at all");
    let out = env.run(&["--reset-auth", "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{stderr}");
    assert!(stderr.contains("nothing was removed"), "{stderr}");
    assert!(
        stderr.contains("check CLAUDE_PASSPHRASE (it did not open the file)"),
        "{stderr}"
    );
    assert!(!stderr.contains("set CLAUDE_PASSPHRASE"), "{stderr}");
    let file = store_file(&env).display().to_string();
    let log = env.state_dir().join("audit.log").display().to_string();
    assert!(
        stderr.contains(&format!("`mv {file} {file}.bad-20261130T064012Z`")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("`mv {log} {log}.unverifiable-20261130T064012Z`")),
        "{stderr}"
    );
    assert_eq!(std::fs::read(store_file(&env)).unwrap(), before);

    // Auditing off: a reset of a store it cannot open removes it whole, and says so.
    env.write_config(
        r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}"#,
    );
    let out = env.run(&["--reset-auth", "--yes", "--json"]);
    let doc = json_stdout(&out);
    assert!(out.status.success(), "{doc}");
    assert!(
        doc["unopened"]
            .as_str()
            .is_some_and(|why| why.contains("wrong passphrase")),
        "{doc}"
    );
    assert!(!store_file(&env).exists());
    std::fs::write(store_file(&env), &before).unwrap();
    common::set_mode(store_file(&env), 0o600);
    let out = env.run(&["--reset-auth", "--yes"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout.contains("did not open"), "{stdout}");
    assert!(stdout.contains("removed whole, unread"), "{stdout}");
    assert_no_secret(&out, KEY_A);
}

/// Deleting the store deletes the audit key with it: the next audited command says at once
/// that the log is no longer signed, why and what to do, even with `-q`, and whether the
/// passphrase is at hand or not; a key merely unreadable without a passphrase is no news.
#[test]
fn losing_the_store_warns_that_the_log_is_no_longer_signed() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = audited(&api);
    env.store_key(KEY_A);
    let out = env.run_with_stdin(&["--validate-key", "-"], "not-a-key");
    assert!(
        !text(&out).contains("no longer signed"),
        "the key is there: {}",
        text(&out)
    );
    env.unset("CLAUDE_PASSPHRASE");
    let out = env.run_with_stdin(&["--validate-key", "-"], "not-a-key");
    assert!(
        !text(&out).contains("no longer signed"),
        "an unreadable key is the ordinary case: {}",
        text(&out)
    );

    std::fs::remove_file(store_file(&env)).unwrap();
    let file = store_file(&env).display().to_string();
    let log = env.state_dir().join("audit.log").display().to_string();
    for passphrase in [false, true] {
        if passphrase {
            env.set("CLAUDE_PASSPHRASE", PASSPHRASE);
        }
        let out = env.run_with_stdin(&["-q", "--validate-key", "-"], "not-a-key");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{stderr}");
        assert_eq!(
            stderr
                .matches("warning: the audit log is no longer signed")
                .count(),
            1,
            "once, even with -q ({passphrase}): {stderr}"
        );
        assert!(
            stderr.contains(&format!("{file} does not exist")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("restore {file} from a backup")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("`mv {log} {log}.unverifiable-")),
            "{stderr}"
        );
        let last = log_lines(&env).pop().unwrap();
        assert_eq!(last["mac"], Value::Null, "{last}");
    }
    // Storing a key says it too: a ✓ alone would hide it.
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no longer signed"),
        "{}",
        text(&out)
    );
    assert_no_secret(&out, KEY_A);
}

/// The hints that move the log aside never offer a name that is taken: following one twice
/// keeps both copies.
#[test]
fn moving_the_log_aside_twice_keeps_both_copies() {
    let api = Server::anthropic(&[KEY_A]);
    let env = audited(&api).with("CLAUDE_TEST_NOW", "1796020812");
    refuse(&env);
    std::fs::remove_file(store_file(&env)).unwrap();
    let offered = |env: &TestEnv| -> String {
        let out = env.run(&["--show-auth-logs", "--verify"]);
        let all = text(&out);
        let log = env.state_dir().join("audit.log").display().to_string();
        let start = all.find(&format!("`mv {log} ")).expect(&all) + 1;
        let command = &all[start..start + all[start..].find('`').unwrap()];
        command.rsplit(' ').next().unwrap().to_string()
    };
    let first = offered(&env);
    assert!(
        first.ends_with("audit.log.unverifiable-20261130T064012Z"),
        "{first}"
    );
    std::fs::rename(env.state_dir().join("audit.log"), &first).unwrap();
    refuse(&env);
    std::fs::remove_file(store_file(&env)).unwrap();
    let second = offered(&env);
    assert_ne!(first, second);
    assert!(!std::path::Path::new(&second).exists(), "{second}");
    assert!(second.starts_with(&first), "{second}");
}
