//! The real OS keychain: a Secret Service (gnome-keyring) on a private session bus.
//!
//! `.ci/run` starts `dbus-run-session` and an unlocked `gnome-keyring-daemon` and sets
//! `CLAUDE_TEST_REQUIRE_KEYCHAIN=1`, so these tests fail rather than skip in CI.

mod common;

use common::servers::Server;
use common::*;

/// A user on the session bus, or `None` (skip) outside CI when there is no bus.
fn keychain_env(api: &Server) -> Option<TestEnv> {
    let required = std::env::var("CLAUDE_TEST_REQUIRE_KEYCHAIN").is_ok_and(|v| v == "1");
    if std::env::var("DBUS_SESSION_BUS_ADDRESS").is_err() {
        assert!(!required, "CLAUDE_TEST_REQUIRE_KEYCHAIN=1 but there is no session bus: the keychain tests cannot run");
        eprintln!(
            "skipping: no D-Bus session bus (run the suite through .ci/run for the real keychain)"
        );
        return None;
    }
    Some(TestEnv::new().api(&api.url()).with_session_bus())
}

#[test]
fn key_is_stored_read_and_removed_through_the_secret_service() {
    let api = Server::anthropic(&[KEY_A]);
    let Some(env) = keychain_env(&api) else {
        return;
    };

    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("in the keychain"));
    assert_no_secret(&out, KEY_A);

    let status = env.run(&["--auth-status", "--json"]);
    let doc = json_stdout(&status);
    assert_eq!(doc["source"], "keychain");
    assert_eq!(doc["storage"], "keychain");
    assert_eq!(doc["fingerprint"], "sk-ant-api03-…a1A1");

    let test = env.run(&["--test-api-key", "--json"]);
    assert!(test.status.success(), "{}", text(&test));
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_A),
        "the key read back from the keychain"
    );
    assert_no_secret_in_files(env.home.path(), KEY_A);

    env.claude().arg("--remove-api-key").assert().success();
    let after = env.run(&["--test-api-key"]);
    assert_eq!(after.status.code(), Some(4), "{}", text(&after));
}

#[test]
fn replacing_a_key_updates_the_item_in_place() {
    let api = Server::anthropic(&[KEY_A, KEY_B]);
    let Some(env) = keychain_env(&api) else {
        return;
    };
    env.store_key(KEY_A);
    env.store_key(KEY_B);
    env.claude().arg("--test-api-key").assert().success();
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_B)
    );
    env.claude().arg("--remove-api-key").assert().success();
    env.claude().arg("--test-api-key").assert().code(4);
}

#[test]
fn rotation_swaps_the_keychain_item() {
    let api = Server::anthropic(&[KEY_A, KEY_B]);
    let Some(env) = keychain_env(&api) else {
        return;
    };
    env.store_key(KEY_A);
    env.claude()
        .args(["--rotate-key", "-"])
        .write_stdin(KEY_B)
        .assert()
        .success();
    env.claude().arg("--test-api-key").assert().success();
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_B)
    );
    env.claude().arg("--remove-api-key").assert().success();
}

#[test]
fn encrypted_file_with_a_keychain_master_key_round_trips() {
    let api = Server::anthropic(&[KEY_A]);
    let Some(env) = keychain_env(&api) else {
        return;
    };
    env.write_config(r#"{"authentication": {"storage": {"type": "encrypted-file"}}}"#);
    env.store_key(KEY_A);
    let out = env.run(&["--test-api-key", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json_stdout(&out)["source"], "encrypted-file");
    assert_no_secret_in_files(env.home.path(), KEY_A);
}

#[test]
fn no_session_bus_fails_closed_and_names_the_alternative() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::new().api(&api.url());
    let out = env.run_with_stdin(&["--set-api-key", "-", "--json"], KEY_A);
    assert_eq!(out.status.code(), Some(12), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "keychain_unavailable");
    assert!(doc["error"]["message"].as_str().unwrap().contains("D-Bus"));
    assert!(doc["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("encrypted-file"));
    assert!(
        common::files_under(&env.state_dir())
            .iter()
            .all(|p| !p.ends_with("credentials.enc")),
        "no silent fallback"
    );
    assert_no_secret_in_files(env.home.path(), KEY_A);
}

/// The keychain holds KEY_B while the index still names KEY_A: what a `--set-api-key`
/// killed between the keychain write and the index write leaves behind.
#[test]
fn an_index_left_behind_by_an_interrupted_change_is_corrected_on_next_use() {
    let api = Server::anthropic(&[KEY_A, KEY_B]);
    let Some(env) = keychain_env(&api) else {
        return;
    };
    let index = env.state_dir().join("credentials.json");
    env.store_key(KEY_A);
    let index_naming_a = std::fs::read(&index).unwrap();
    env.store_key(KEY_B);
    std::fs::write(&index, &index_naming_a).unwrap();
    assert_eq!(
        env.status_json()["fingerprint"],
        "sk-ant-api03-…a1A1",
        "status reads only the index"
    );

    let test = env.run(&["--test-api-key"]);
    assert!(test.status.success(), "{}", text(&test));
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_B),
        "the key the keychain holds is the one used"
    );
    assert!(
        text(&test).contains(
            "listed sk-ant-api03-…a1A1 but holds sk-ant-api03-…b2B2 (an earlier change was interrupted)"
        ),
        "{}",
        text(&test)
    );
    assert_no_secret(&test, KEY_B);

    let status = env.status_json();
    assert_eq!(status["fingerprint"], "sk-ant-api03-…b2B2");
    let again = env.run(&["--test-api-key"]);
    assert!(
        !text(&again).contains("interrupted"),
        "corrected once: {}",
        text(&again)
    );
    env.claude().arg("--remove-api-key").assert().success();
}

/// The keychain item is gone while the index still lists it: an interrupted `--remove-api-key`.
#[test]
fn an_index_naming_a_removed_key_is_cleared_on_next_use() {
    let api = Server::anthropic(&[KEY_A]);
    let Some(env) = keychain_env(&api) else {
        return;
    };
    let index = env.state_dir().join("credentials.json");
    env.store_key(KEY_A);
    let index_naming_a = std::fs::read(&index).unwrap();
    env.claude().arg("--remove-api-key").assert().success();
    std::fs::write(&index, &index_naming_a).unwrap();

    let test = env.run(&["--test-api-key", "--json"]);
    assert_eq!(test.status.code(), Some(4), "{}", text(&test));
    assert_eq!(json_stdout(&test)["error"]["code"], "not_authenticated");
    assert!(
        text(&test).contains("listed sk-ant-api03-…a1A1 but holds no key"),
        "{}",
        text(&test)
    );
    let status = env.run(&["--auth-status"]);
    assert_eq!(
        status.status.code(),
        Some(4),
        "the index no longer claims a key: {}",
        text(&status)
    );
}
