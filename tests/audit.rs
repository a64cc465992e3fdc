//! The audit trail: credential events become HMAC-chained lines of `audit.log`, never with
//! a secret; `--show-auth-logs` lists them (`--since`, `--json`) and `--verify` names the
//! first line that was edited, removed, moved or cut; concurrent writers keep one chain;
//! retention prunes behind an anchor; nothing is written while auditing is off.

mod common;

use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer};
use common::servers::Server;
use common::*;
use serde_json::Value;
use std::process::Stdio;

const T0: u64 = 1_800_000_000;
const DAY: u64 = 86_400;
/// The exit status of `storage_error`, which a broken chain reports.
const STORAGE_ERROR: i32 = 11;
/// A malformed key: `--validate-key` refuses it offline, which logs a `refused` line.
const BAD_KEY: &str = "not-a-key-CANARYCANARY";

/// An `encrypted-file` user (passphrase in CLAUDE_PASSPHRASE) with auditing on and `extra`
/// JSON members at the top level.
fn audited(api: Option<&Server>, extra: &str) -> TestEnv {
    let mut env = TestEnv::encrypted().with("CLAUDE_TEST_NOW", &T0.to_string());
    if let Some(api) = api {
        env = env.api(&api.url());
    }
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}},
            "security": {{"auditLogging": true}} {extra}}}"#
    ));
    env
}

fn log_text(env: &TestEnv) -> String {
    std::fs::read_to_string(env.state_dir().join("audit.log")).unwrap_or_default()
}

fn entries(env: &TestEnv) -> Vec<Value> {
    log_text(env)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn events(env: &TestEnv) -> Vec<String> {
    entries(env)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

/// One `refused` line (a malformed key, checked offline).
fn refuse(env: &TestEnv) {
    let out = env.run_with_stdin(&["--validate-key", "-"], BAD_KEY);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
}

fn verify(env: &TestEnv) -> std::process::Output {
    env.run(&["--show-auth-logs", "--verify"])
}

fn assert_verified(env: &TestEnv, entries: u64) {
    let out = env.run(&["--show-auth-logs", "--verify", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["verified"], true, "{doc}");
    assert_eq!(doc["entries"], entries, "{doc}");
}

/// `--verify` fails with `storage_error` and names `line` and `problem`.
fn assert_broken_at(env: &TestEnv, line: u64, problem: &str) {
    let out = env.run(&["--show-auth-logs", "--verify", "--json"]);
    assert_eq!(out.status.code(), Some(STORAGE_ERROR), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(
        (doc["line"].as_u64(), doc["problem"].as_str()),
        (Some(line), Some(problem)),
        "{doc}"
    );
    assert_eq!(doc["error"]["code"], "storage_error");
    let human = verify(env);
    assert!(
        String::from_utf8_lossy(&human.stdout).contains(&format!("audit.log line {line}:")),
        "{}",
        text(&human)
    );
}

fn rewrite(env: &TestEnv, edit: impl FnOnce(&mut Vec<String>)) {
    let path = env.state_dir().join("audit.log");
    let mut lines: Vec<String> = log_text(env).lines().map(str::to_string).collect();
    edit(&mut lines);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn key_events_become_signed_lines_without_any_secret() {
    let api = Server::anthropic(&[KEY_A, KEY_B]);
    let env = audited(Some(&api), "");
    env.store_key(KEY_A);
    let out = env.run_with_stdin(&["--rotate-key", "-"], KEY_B);
    assert!(out.status.success(), "{}", text(&out));
    env.claude().arg("--remove-api-key").assert().success();
    let out = env.run_with_stdin(&["--validate-key", "-"], KEY_C);
    assert_eq!(
        out.status.code(),
        Some(5),
        "KEY_C is refused: {}",
        text(&out)
    );
    env.claude()
        .args(["--reset-auth", "--yes"])
        .assert()
        .success();
    assert_eq!(
        events(&env),
        [
            "key_validated",
            "key_stored",
            "key_validated",
            "key_rotated",
            "key_removed",
            "key_rejected",
            "refused",
            "auth_reset"
        ]
    );
    let all = entries(&env);
    let rotated = &all[3];
    assert_eq!(rotated["time"], "2027-01-15T08:00:00Z");
    assert_eq!(rotated["provider"], "anthropic");
    assert_eq!(rotated["fingerprint"], "sk-ant-api03-…b2B2");
    assert_eq!(rotated["previousFingerprint"], "sk-ant-api03-…a1A1");
    assert_eq!(rotated["outcome"], "success");
    assert!(rotated["pid"].is_u64() && rotated["host"].is_string());
    assert_eq!(all[5]["outcome"], "failure");
    assert_eq!(all[6]["code"], "invalid_api_key");
    assert_eq!(all[6]["action"], "--validate-key");
    assert_eq!(all[6]["outcome"], "refused");
    assert!(all
        .iter()
        .all(|e| e["mac"].as_str().is_some_and(|m| m.len() == 64)));
    assert_eq!(all[0]["prev"], Value::Null);
    assert_eq!(all[1]["prev"], all[0]["mac"]);

    let log = log_text(&env);
    for canary in [KEY_A, KEY_B, KEY_C, PASSPHRASE, &KEY_C[13..KEY_C.len() - 4]] {
        assert!(!log.contains(canary), "{canary} in audit.log:\n{log}");
    }
    // The key survives `--reset-auth`: the entries before it still verify.
    assert_verified(&env, 8);
    let table = env.run(&["--show-auth-logs"]);
    let shown = String::from_utf8_lossy(&table.stdout);
    assert!(
        shown.contains("2027-01-15 08:00:00Z  key_rotated"),
        "{shown}"
    );
    assert!(shown.contains("sk-ant-api03-…b2B2"), "{shown}");
    assert!(shown.contains("refused (invalid_api_key)"), "{shown}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(env.state_dir().join("audit.log")).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
    }
}

#[test]
fn login_refresh_and_logout_are_logged_without_tokens() {
    let server = OAuthServer::start(OAuthOptions::default());
    let mut env = oauth_env(&server, "", r#", "security": {"auditLogging": true}"#)
        .with("CLAUDE_TEST_NOW", &T0.to_string());
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let first = env.run(&["--print-token"]);
    env.set("CLAUDE_TEST_NOW", &(T0 + 2 * 3600).to_string());
    let later = env;
    let second = later.run(&["--print-token"]);
    assert!(second.status.success(), "{}", text(&second));
    later.claude().arg("--logout").assert().success();
    assert_eq!(
        events(&later),
        ["logged_in", "token_refreshed", "logged_out"]
    );
    let all = entries(&later);
    assert_eq!(all[0]["account"], "dev@example.com");
    assert_eq!(all[2]["revoked"], true);
    let log = log_text(&later);
    let mut canaries: Vec<String> = [&first, &second]
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .collect();
    canaries.extend(server.revoked_tokens());
    for canary in canaries.iter().filter(|c| c.len() > 8) {
        assert!(
            !log.contains(canary.as_str()),
            "a token in audit.log:\n{log}"
        );
    }
    assert_verified(&later, 3);
}

#[test]
fn every_kind_of_tampering_is_named_by_verify() {
    let env = audited(None, "");
    for _ in 0..5 {
        refuse(&env);
    }
    assert_verified(&env, 5);
    let pristine = log_text(&env);
    let path = env.state_dir().join("audit.log");
    let reset = || std::fs::write(&path, &pristine).unwrap();

    rewrite(&env, |l| l[2] = l[2].replace("\"refused\"", "\"allowed\""));
    assert_broken_at(&env, 3, "mac_mismatch");
    reset();
    rewrite(&env, |l| {
        l.remove(1);
    });
    assert_broken_at(&env, 2, "prev_mismatch");
    reset();
    rewrite(&env, |l| l.swap(3, 4));
    assert_broken_at(&env, 4, "prev_mismatch");
    reset();
    std::fs::write(&path, &pristine[..pristine.len() - 30]).unwrap();
    assert_broken_at(&env, 5, "truncated");
    reset();
    rewrite(&env, |l| l.insert(2, "{not json".into()));
    assert_broken_at(&env, 3, "not_json");
    reset();
    // Recomputing a plain hash is not enough: without the key no line can be re-signed.
    rewrite(&env, |l| {
        let mut v: Value = serde_json::from_str(&l[4]).unwrap();
        v["code"] = "none".into();
        l[4] = v.to_string();
    });
    assert_broken_at(&env, 5, "mac_mismatch");
    reset();
    // A line break planted in a field is shown escaped, on the row it belongs to, and the
    // hint's `mv` names the log by its full path, moved to a name stamped with the time.
    rewrite(&env, |l| {
        let mut v: Value = serde_json::from_str(&l[1]).unwrap();
        v["reason"] = "x\n2099-01-01 00:00:00  login  anthropic  ok".into();
        l[1] = v.to_string();
    });
    let table = env.run(&["--show-auth-logs"]);
    let shown = String::from_utf8_lossy(&table.stdout);
    assert!(!shown.lines().any(|l| l.starts_with("2099")), "{shown}");
    let out = verify(&env);
    assert!(
        text(&out).contains(&format!(
            "`mv {0} {0}.broken-20270115T080000Z`",
            path.display()
        )),
        "{}",
        text(&out)
    );
}

#[test]
fn a_torn_last_line_is_closed_and_the_chain_goes_on() {
    let env = audited(None, "");
    refuse(&env);
    refuse(&env);
    let path = env.state_dir().join("audit.log");
    let text = log_text(&env);
    std::fs::write(&path, &text[..text.len() - 20]).unwrap();
    refuse(&env);
    assert_eq!(log_text(&env).lines().count(), 3);
    // The torn line is the one named; the line after it chains to the last whole one.
    assert_broken_at(&env, 2, "not_json");
}

#[test]
fn eight_concurrent_writers_keep_one_valid_chain() {
    let env = audited(None, "");
    refuse(&env); // creates the key, so the eight race only for the log
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut cmd = env.std_command();
            cmd.args(["--validate-key", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut child = cmd.spawn().unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(BAD_KEY.as_bytes())
                .unwrap();
            child
        })
        .collect();
    let pids: Vec<u32> = children.iter().map(std::process::Child::id).collect();
    for mut child in children {
        assert_eq!(child.wait().unwrap().code(), Some(5));
    }
    let all = entries(&env);
    assert_eq!(all.len(), 9);
    for pid in pids {
        assert!(all.iter().any(|e| e["pid"] == pid), "a line from {pid}");
    }
    assert_verified(&env, 9);
}

#[test]
fn the_first_writers_race_to_create_the_key_and_agree_on_one() {
    let env = audited(None, "");
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = env.std_command();
            cmd.args(["--validate-key", BAD_KEY])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            cmd.spawn().unwrap()
        })
        .collect();
    for mut child in children {
        child.wait().unwrap();
    }
    assert_verified(&env, 4);
}

#[test]
fn retention_prunes_behind_an_anchor_that_still_verifies() {
    let retention = r#", "compliance": {"logRetention": 30}"#;
    let mut env = audited(None, retention);
    for _ in 0..3 {
        refuse(&env);
    }
    env.set("CLAUDE_TEST_NOW", &(T0 + 20 * DAY).to_string());
    refuse(&env);
    env.set("CLAUDE_TEST_NOW", &(T0 + 40 * DAY).to_string());
    refuse(&env);
    let all = entries(&env);
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0]["event"], "anchor");
    assert_eq!(all[0]["prunedCount"], 3);
    assert_eq!(all[0]["prunedThrough"], "2027-01-15T08:00:00Z");
    assert_verified(&env, 3);
    let table = env.run(&["--show-auth-logs"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("3 older entries pruned"));

    // At most once a day: an hour later nothing is pruned though a line is now old enough.
    env.set("CLAUDE_TEST_NOW", &(T0 + 50 * DAY + 3600).to_string());
    refuse(&env);
    assert_eq!(entries(&env)[0]["prunedCount"], 4);
    env.set("CLAUDE_TEST_NOW", &(T0 + 50 * DAY + 7200).to_string());
    refuse(&env);
    assert_eq!(entries(&env)[0]["prunedCount"], 4, "not twice in a day");
    assert_verified(&env, 4);
    // Removing lines below the anchor is still caught.
    rewrite(&env, |l| {
        l.remove(1);
    });
    assert_broken_at(&env, 2, "prev_mismatch");
}

#[test]
fn since_keeps_recent_entries_and_json_lines_are_the_stored_lines() {
    let mut env = audited(None, "");
    refuse(&env);
    env.set("CLAUDE_TEST_NOW", &(T0 + 10 * DAY).to_string());
    refuse(&env);
    refuse(&env);
    let out = env.run(&["--show-auth-logs", "--since", "5d", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(log_text(&env).lines().count(), 3);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines, log_text(&env).lines().skip(1).collect::<Vec<_>>());
    let out = env.run(&["--show-auth-logs", "--since", "2027-01-01"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1 + 3);
    let bad = env.run(&["--show-auth-logs", "--since", "last tuesday"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

#[test]
fn nothing_is_written_while_auditing_is_off_and_show_says_how_to_turn_it_on() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    refuse(&env);
    env.claude().arg("--remove-api-key").assert().success();
    assert!(!env.state_dir().join("audit.log").exists());
    assert!(!env.state_dir().join("audit.lock").exists());
    let out = env.run(&["--show-auth-logs"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("Auditing is off"), "{said}");
    assert!(said.contains("`security.auditLogging`"), "{said}");
    assert!(!env.state_dir().join("audit.log").exists());
    // A bad --since is wrong whether or not auditing is on.
    let bad = env.run(&["--show-auth-logs", "--since", "last tuesday"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

#[test]
fn without_the_passphrase_lines_are_unsigned_and_verify_says_so() {
    let mut env = audited(None, "");
    refuse(&env);
    env.unset("CLAUDE_PASSPHRASE");
    refuse(&env);
    let all = entries(&env);
    assert_eq!(all[1]["mac"], Value::Null);
    assert!(
        all[1]["unsigned"]
            .as_str()
            .unwrap()
            .contains("CLAUDE_PASSPHRASE"),
        "{}",
        all[1]
    );
    env.set("CLAUDE_PASSPHRASE", PASSPHRASE);
    refuse(&env);
    let out = env.run(&["--show-auth-logs", "--verify", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(
        (doc["signed"].as_u64(), doc["unsigned"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(doc["firstUnsigned"]["line"], 2);
    let human = verify(&env);
    let said = String::from_utf8_lossy(&human.stdout);
    assert!(
        said.contains("3 entries, 2 signed") && said.contains("1 entry is unsigned, so it is"),
        "{said}"
    );
    // What the line says is what happened: the key exists but could not be read.
    assert!(
        all[1]["unsigned"]
            .as_str()
            .unwrap()
            .starts_with("the audit key could not be read"),
        "{}",
        all[1]
    );
}

/// The MAC of stored line `line` (0-based).
fn mac_at(env: &TestEnv, line: usize) -> String {
    entries(env)[line]["mac"].as_str().unwrap().to_string()
}

#[cfg(unix)]
#[test]
fn a_log_others_can_read_is_refused_before_the_command_acts() {
    let api = Server::anthropic(&[KEY_A]);
    let env = audited(Some(&api), "");
    refuse(&env);
    let log = env.state_dir().join("audit.log");
    set_mode(&log, 0o644);
    let out = env.run(&["--show-auth-logs"]);
    assert_eq!(out.status.code(), Some(STORAGE_ERROR), "{}", text(&out));
    set_mode(&log, 0o640);
    // `-q` hides nothing here: the key is not stored, as its events could not be logged.
    let out = env.run_with_stdin(&["-q", "--set-api-key", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(STORAGE_ERROR), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("audit log cannot be written"), "{said}");
    assert!(said.contains("chmod 600"), "{said}");
    set_mode(&log, 0o600);
    assert_eq!(
        events(&env),
        ["refused"],
        "nothing was done, so nothing is missing"
    );
    assert_verified(&env, 1);
}

#[cfg(unix)]
#[test]
fn a_log_that_is_a_link_is_refused_before_the_command_acts() {
    let api = Server::anthropic(&[KEY_A]);
    let env = audited(Some(&api), "");
    refuse(&env);
    let log = env.state_dir().join("audit.log");
    let elsewhere = env.state_dir().join("elsewhere.log");
    std::fs::rename(&log, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &log).unwrap();
    let out = env.run_with_stdin(&["-q", "--set-api-key", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(STORAGE_ERROR), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a regular file"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&elsewhere).unwrap().lines().count(),
        1
    );
}

#[test]
fn a_line_that_cannot_be_written_fails_the_command_even_with_quiet() {
    let api = Server::anthropic(&[KEY_A]);
    let env = audited(Some(&api), "");
    refuse(&env);
    // The log is fine, but no append can take the audit lock.
    let lock = env.state_dir().join("audit.lock");
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();
    let out = env.run_with_stdin(&["-q", "--set-api-key", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(STORAGE_ERROR), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("audit log line could not be written"),
        "{said}"
    );
    // A command that fails anyway keeps its own error, and says the audit failure too.
    let out = env.run_with_stdin(&["-q", "--validate-key", "-"], BAD_KEY);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("audit log line could not be written"),
        "{}",
        text(&out)
    );
}

#[test]
fn retention_never_prunes_lines_whose_chain_does_not_verify() {
    let retention = r#", "compliance": {"logRetention": 90}"#;
    let env = audited(None, retention);
    for _ in 0..5 {
        refuse(&env);
    }
    // Backdating lines 1-3 would have them pruned and an anchor signed over them.
    rewrite(&env, |l| {
        for line in &mut l[..3] {
            *line = line.replace("\"time\":\"2027-", "\"time\":\"2000-");
        }
    });
    let before = log_text(&env);
    let out = env.run_with_stdin(&["--validate-key", "-"], BAD_KEY);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("retention did not prune"),
        "{}",
        text(&out)
    );
    let after = log_text(&env);
    assert!(after.starts_with(&before), "the file is left as it was");
    assert_eq!(after.lines().count(), 6);
    assert_ne!(entries(&env)[0]["event"], "anchor");
    assert_broken_at(&env, 1, "mac_mismatch");

    // Said once a day, not on every audited command.
    let mut env = env;
    let out = env.run_with_stdin(&["--validate-key", "-"], BAD_KEY);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("retention did not prune"),
        "{}",
        text(&out)
    );
    assert_eq!(
        log_text(&env).lines().count(),
        7,
        "the line is appended all the same"
    );
    env.set("CLAUDE_TEST_NOW", &(T0 + DAY + 1).to_string());
    let out = env.run_with_stdin(&["--validate-key", "-"], BAD_KEY);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("retention did not prune"),
        "a day later it is tried and said again: {}",
        text(&out)
    );
}

#[test]
fn retention_checks_the_old_anchor_and_prunes_only_with_the_key() {
    let retention = r#", "compliance": {"logRetention": 30}"#;
    let mut env = audited(None, retention);
    for _ in 0..3 {
        refuse(&env);
    }
    // Without the key nothing is pruned (an anchor must be signed).
    env.set("CLAUDE_TEST_NOW", &(T0 + 40 * DAY).to_string());
    env.unset("CLAUDE_PASSPHRASE");
    refuse(&env);
    assert_eq!(entries(&env).len(), 4);
    assert_ne!(entries(&env)[0]["event"], "anchor");
    env.set("CLAUDE_PASSPHRASE", PASSPHRASE);
    // Every line is old: all are pruned, and the next line chains on past the anchor.
    env.set("CLAUDE_TEST_NOW", &(T0 + 80 * DAY).to_string());
    refuse(&env);
    let all = entries(&env);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0]["event"], "anchor");
    assert_eq!(all[0]["prunedCount"], 3);
    assert_eq!(all[0]["prunedUnsigned"], 1);
    assert_verified(&env, 2);
    // An edited anchor (a bigger count, backdated to lift the once-a-day limit) is not
    // carried over: the prune is refused.
    rewrite(&env, |l| {
        l[0] = l[0]
            .replace("\"prunedCount\":3", "\"prunedCount\":9")
            .replace("\"time\":\"2027-", "\"time\":\"2000-");
    });
    env.set("CLAUDE_TEST_NOW", &(T0 + 120 * DAY).to_string());
    let out = env.run_with_stdin(&["--validate-key", "-"], BAD_KEY);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("retention did not prune"),
        "{}",
        text(&out)
    );
    assert_eq!(entries(&env)[0]["prunedCount"], 9, "left as it was");
    assert_broken_at(&env, 1, "mac_mismatch");
}

#[test]
fn a_forged_unsigned_anchor_does_not_hide_removed_lines() {
    let env = audited(None, "");
    for _ in 0..5 {
        refuse(&env);
    }
    let second = mac_at(&env, 1);
    rewrite(&env, |l| {
        l.drain(..2);
        l.insert(
            0,
            format!(
                r#"{{"event":"anchor","prunedCount":0,"unsigned":"the keychain was locked","prev":"{second}","mac":null}}"#
            ),
        );
    });
    assert_broken_at(&env, 1, "unsigned_anchor");
    // The appender does not adopt it either: the log stays broken.
    refuse(&env);
    assert_broken_at(&env, 1, "unsigned_anchor");
}

#[test]
fn unsigned_lines_are_marked_in_the_table_and_kept_in_json() {
    let env = audited(None, "");
    refuse(&env);
    let last = mac_at(&env, 0);
    let forged = format!(
        r#"{{"time":"2027-01-15T08:00:00Z","event":"key_stored","provider":"anthropic","fingerprint":"sk-ant-api03-…f0RG","outcome":"success","unsigned":"the keychain was locked","prev":"{last}","mac":null}}"#
    );
    rewrite(&env, |l| l.push(forged.clone()));
    let out = env.run(&["--show-auth-logs"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = shown.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{shown}");
    assert!(!rows[0].contains("(unsigned)"), "{shown}");
    assert!(
        rows[1].contains("f0RG") && rows[1].ends_with("(unsigned)"),
        "{shown}"
    );
    let out = env.run(&["--show-auth-logs", "--json"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[1]["unsigned"], "the keychain was locked");
}

#[test]
fn a_line_longer_than_64_kib_is_never_read_whole() {
    let env = audited(None, "");
    refuse(&env);
    refuse(&env);
    let huge = format!("{{\"time\":\"{}\"}}", "x".repeat(200 * 1024));
    rewrite(&env, |l| l.push(huge.clone()));
    // The appender looks past it for the last MAC.
    refuse(&env);
    assert_eq!(log_text(&env).lines().count(), 4);
    assert_broken_at(&env, 3, "too_long");
    let out = env.run(&["--show-auth-logs"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1 + 3);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the first is line 3"),
        "{}",
        text(&out)
    );
    // Removing it leaves a valid chain: the line after it chained to the one before.
    rewrite(&env, |l| {
        l.remove(2);
    });
    assert_verified(&env, 3);
}

/// The real Secret Service (see tests/keychain_secret_service.rs): the key lives in the
/// keychain and every line is signed.
#[cfg(target_os = "linux")]
#[test]
fn with_the_keychain_store_the_key_lives_in_the_keychain_and_lines_are_signed() {
    let required = std::env::var("CLAUDE_TEST_REQUIRE_KEYCHAIN").is_ok_and(|v| v == "1");
    if std::env::var("DBUS_SESSION_BUS_ADDRESS").is_err() {
        assert!(
            !required,
            "CLAUDE_TEST_REQUIRE_KEYCHAIN=1 but there is no session bus"
        );
        eprintln!("skipping: no D-Bus session bus");
        return;
    }
    let env = TestEnv::new()
        .with_session_bus()
        .with("CLAUDE_TEST_NOW", &T0.to_string());
    env.write_config(r#"{"security": {"auditLogging": true}}"#);
    refuse(&env);
    refuse(&env);
    let all = entries(&env);
    assert!(
        all.iter().all(|e| e["mac"].is_string()),
        "signed with the keychain's key: {all:?}"
    );
    let index = std::fs::read_to_string(env.state_dir().join("credentials.json")).unwrap();
    assert!(index.contains("audit-hmac-key"), "{index}");
    assert_verified(&env, 2);
}

#[test]
fn an_ip_refusal_is_logged_as_refused_and_not_as_a_rejected_key() {
    let api = Server::anthropic(&[KEY_A]);
    let env = audited(Some(&api), "").with("ANTHROPIC_API_KEY", KEY_A);
    env.write_config(
        r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
            "security": {"auditLogging": true, "ipRestrictions": ["10.0.0.0/8"]}}"#,
    );
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    let all = entries(&env);
    let ip = all
        .iter()
        .find(|e| e["event"] == "ip_refused")
        .expect("an ip_refused line");
    assert_eq!(ip["outcome"], "refused", "{ip}");
    assert!(
        !all.iter().any(|e| e["event"] == "key_rejected"),
        "nothing was sent, so the key was not rejected: {all:?}"
    );
    // A script that looks for everything but successes finds every refusal.
    assert!(all
        .iter()
        .filter(|e| e["outcome"] != "success")
        .any(|e| e["event"] == "ip_refused"));
}

#[test]
fn status_and_test_auth_say_whether_lines_would_be_signed() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = audited(Some(&api), "").with("ANTHROPIC_API_KEY", KEY_A);
    let status = text(&env.run(&["--auth-status"]));
    assert!(status.contains("audit log:    on,"), "{status}");
    let signed = text(&env.run(&["--test-auth"]));
    assert!(
        signed.contains("✓ audit log") && signed.contains("lines are signed"),
        "{signed}"
    );
    // Without the passphrase an audit line never prompts: it would be unsigned, and the
    // step says so instead of passing.
    env.set("CLAUDE_PASSPHRASE", "");
    let unsigned = text(&env.run(&["--test-auth"]));
    assert!(
        unsigned.contains("! audit log") && unsigned.contains("unsigned"),
        "{unsigned}"
    );
}
