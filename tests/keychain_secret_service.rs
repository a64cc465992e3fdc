//! The real OS keychain: a Secret Service (gnome-keyring) on a private session bus; and a
//! bus that never answers, on which every command must fail closed within seconds.
//!
//! `.ci/run` starts `dbus-run-session` and an unlocked `gnome-keyring-daemon` and sets
//! `CLAUDE_TEST_REQUIRE_KEYCHAIN=1`, so these tests fail rather than skip in CI. The
//! silent-bus tests need no keychain and always run (on Linux: macOS and Windows have no
//! Secret Service).
#![cfg(target_os = "linux")]

mod common;

use common::servers::Server;
use common::*;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// With auditing on, `--reset-auth` of a file sealed with a keychain master key keeps the
/// audit key in the file and the master key that opens it (it used to remove the master
/// key, then seal the kept key with it: a file nothing could open).
#[test]
fn reset_keeps_the_master_key_of_a_file_that_keeps_the_audit_key() {
    let api = Server::anthropic(&[KEY_A]);
    let Some(env) = keychain_env(&api) else {
        return;
    };
    env.write_config(
        r#"{"authentication": {"storage": {"type": "encrypted-file"}}, "security": {"auditLogging": true}}"#,
    );
    env.store_key(KEY_A);
    let out = env.run(&["--reset-auth", "--yes", "--json"]);
    let doc = json_stdout(&out);
    assert!(out.status.success(), "{doc}");
    assert_eq!(doc["removed"], serde_json::json!(["api-key"]), "{doc}");
    assert_eq!(doc["kept"], serde_json::json!(["audit-hmac-key"]), "{doc}");
    let out = env.run(&["--show-auth-logs", "--verify", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json_stdout(&out)["verified"], true);
    // Nothing to keep (no audit key was ever made): the file and its master key go.
    let env = keychain_env(&api).unwrap();
    env.write_config(r#"{"authentication": {"storage": {"type": "encrypted-file"}}}"#);
    env.store_key(KEY_A);
    let doc = json_stdout(&env.run(&["--reset-auth", "--yes", "--json"]));
    assert!(
        doc["removed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item == "encrypted-file master key"),
        "{doc}"
    );
    assert!(!env.state_dir().join("credentials.enc").exists());
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

/// A session bus that accepts every connection and never says a word: a hung D-Bus
/// daemon or Secret Service. Stopped (its connections closed) on drop.
struct SilentBus {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentBus {
    fn start() -> SilentBus {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bus");
        let listener = UnixListener::bind(&path).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                // Held open and never read: the client waits for an answer that never comes.
                let mut held = Vec::new();
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    held.extend(conn.ok());
                }
            }
        });
        SilentBus {
            _dir: dir,
            path,
            stop,
            thread: Some(thread),
        }
    }

    /// The user's environment pointed at this bus, with the default keychain timeout.
    fn env(&self, api: &Server) -> TestEnv {
        let mut env = TestEnv::new().api(&api.url()).with(
            "DBUS_SESSION_BUS_ADDRESS",
            &format!("unix:path={}", self.path.display()),
        );
        env.unset("CLAUDE_KEYCHAIN_TIMEOUT_MS");
        env
    }
}

impl Drop for SilentBus {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees `stop`.
        let _ = UnixStream::connect(&self.path);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Far above the 3 s default timeout, far below two of them plus start-up: a bound on
/// behaviour, not a benchmark.
const FAIL_CLOSED_WITHIN: Duration = Duration::from_secs(6);

#[test]
fn keychain_that_never_answers_fails_closed_within_seconds() {
    let api = Server::anthropic(&[KEY_A]);
    let bus = SilentBus::start();
    let env = bus.env(&api);
    let started = Instant::now();
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(12), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did not answer within 3000 ms"), "{stderr}");
    assert!(
        stderr.contains("encrypted-file"),
        "the hint names the way out: {stderr}"
    );
    assert!(elapsed < FAIL_CLOSED_WITHIN, "took {elapsed:?}");
    assert!(
        !env.state_dir().join("credentials.json").exists()
            && !env.state_dir().join("credentials.enc").exists(),
        "nothing stored anywhere else"
    );
    assert_no_secret(&out, KEY_A);
    drop(bus);
}

/// `--test-auth` asks the keychain twice (the storage probe, then the key for the server
/// check): after one call hung, the second must not wait again.
#[test]
fn one_hung_keychain_call_bounds_the_whole_command() {
    let api = Server::anthropic(&[KEY_A]);
    let bus = SilentBus::start();
    let env = bus.env(&api);
    // The index a `--set-api-key` writes, so that the key in force is the keychain's.
    env.write_config("{}");
    std::fs::write(
        env.state_dir().join("credentials.json"),
        r#"{"items":{"api-key":{"fingerprint":"sk-ant-api03-…a1A1","createdAt":1764000000}}}"#,
    )
    .unwrap();
    std::fs::set_permissions(
        env.state_dir().join("credentials.json"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let started = Instant::now();
    let out = env.run(&["--test-auth"]);
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(12), "{}", text(&out));
    assert!(text(&out).contains("did not answer"), "{}", text(&out));
    assert!(
        elapsed < FAIL_CLOSED_WITHIN,
        "took {elapsed:?}: {}",
        text(&out)
    );
    assert!(api.requests().is_empty(), "no key, no request");
    drop(bus);
}

#[test]
fn set_storage_moves_every_item_from_the_keychain_to_the_encrypted_file_and_back() {
    let api = Server::anthropic(&[KEY_A]);
    let Some(env) = keychain_env(&api) else {
        return;
    };
    let env = env.with("CLAUDE_PASSPHRASE", PASSPHRASE);
    env.store_key(KEY_A);
    // A second item (a pending MFA enrollment) moves with the key.
    let _ = env.run_with_stdin(&["--enable-mfa"], "");
    let listed =
        |file: &str| std::fs::read_to_string(env.state_dir().join(file)).unwrap_or_default();
    assert!(listed("credentials.json").contains("api-key"));

    let out = env.run(&["--set-storage", "encrypted-file", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["storage"], "encrypted-file");
    let moved = doc["moved"].as_array().unwrap();
    assert!(moved.iter().any(|m| m == "api-key"), "{doc}");
    assert_no_secret(&out, KEY_A);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("\"type\": \"encrypted-file\""), "{config}");
    assert!(
        !listed("credentials.json").contains("api-key"),
        "removed from the keychain's index"
    );
    let status = json_stdout(&env.run(&["--auth-status", "--json"]));
    assert_eq!(status["source"], "encrypted-file");
    env.claude().arg("--test-api-key").assert().success();
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_A)
    );

    let out = env.run(&["--set-storage", "keychain"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("now kept in the keychain"),
        "{}",
        text(&out)
    );
    assert!(!env.state_dir().join("credentials.enc").exists());
    let status = json_stdout(&env.run(&["--auth-status", "--json"]));
    assert_eq!(status["source"], "keychain");
    env.claude().arg("--test-api-key").assert().success();
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_A)
    );
    assert_no_secret_in_files(env.home.path(), KEY_A);
    env.claude()
        .args(["--reset-auth", "--yes"])
        .assert()
        .success();
}
