//! Choosing the store without editing JSON (`--set-storage`), checking the store before
//! anything is sent, and the wiping commands that must work when the config is broken.
//! The moves through the real keychain are in keychain_secret_service.rs.

mod common;

use common::servers::Server;
use common::*;

/// A user with no session bus: the keychain cannot answer.
fn no_bus() -> TestEnv {
    let mut env = TestEnv::new();
    env.unset("DBUS_SESSION_BUS_ADDRESS");
    env
}

#[test]
fn set_storage_writes_the_choice_and_keeps_the_rest_of_the_config() {
    let env = no_bus()
        .with("CLAUDE_PASSPHRASE", PASSPHRASE)
        .with("MY_KEY", "x");
    let original = "{\n  \"model\": \"claude-x\",\n  \"authentication\": {\n    \"timeout\": 5000\n  },\n  \"apiKey\": \"${MY_KEY}\"\n}\n";
    env.write_config(original);
    let out = env.run(&["--set-storage", "encrypted-file"]);
    assert!(out.status.success(), "{}", text(&out));
    let written = std::fs::read_to_string(env.config_path()).unwrap();
    assert_eq!(
        written,
        original.replace(
            "\"timeout\": 5000",
            "\"storage\": {\"encryptionKey\": \"user-derived-key\", \"type\": \"encrypted-file\"},\n    \"timeout\": 5000"
        ),
        "only the storage setting is added; `${{MY_KEY}}` and the layout stay"
    );
    let again = env.run(&["--set-storage", "encrypted-file"]);
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already"),
        "{}",
        text(&again)
    );
}

#[test]
fn set_storage_to_an_unreachable_keychain_moves_nothing_and_changes_nothing() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let config = std::fs::read(env.config_path()).unwrap();
    let file = std::fs::read(env.state_dir().join("credentials.enc")).unwrap();
    let mut env = env;
    env.unset("DBUS_SESSION_BUS_ADDRESS");
    let out = env.run(&["--set-storage", "keychain"]);
    assert_eq!(out.status.code(), Some(12), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing was moved"), "{stderr}");
    assert!(
        !stderr.contains("--set-storage encrypted-file"),
        "no circular hint: {stderr}"
    );
    assert_eq!(std::fs::read(env.config_path()).unwrap(), config);
    assert_eq!(
        std::fs::read(env.state_dir().join("credentials.enc")).unwrap(),
        file
    );
    env.claude().arg("--test-api-key").assert().success();
}

#[cfg(unix)]
#[test]
fn set_storage_refuses_a_config_that_is_a_symbolic_link() {
    let env = no_bus().with("CLAUDE_PASSPHRASE", PASSPHRASE);
    let real = env.home.path().join("real-config.json");
    std::fs::create_dir_all(env.state_dir()).unwrap();
    set_mode(env.state_dir(), 0o700);
    std::fs::write(&real, "{}").unwrap();
    set_mode(&real, 0o600);
    std::os::unix::fs::symlink(&real, env.config_path()).unwrap();
    let out = env.run(&["--set-storage", "encrypted-file"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("symbolic link"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "{}");
}

#[test]
fn set_storage_json_names_what_moved_never_the_secret() {
    let env = no_bus().with("CLAUDE_PASSPHRASE", PASSPHRASE);
    let out = env.run(&["--set-storage", "encrypted-file", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["storage"], "encrypted-file");
    assert_eq!(doc["previous"], "keychain");
    assert_eq!(doc["configChanged"], true);
    assert_eq!(doc["moved"], serde_json::json!([]));
}

#[test]
fn a_keychain_that_cannot_be_used_stops_set_api_key_before_any_request() {
    let api = Server::anthropic(&[KEY_A]);
    let env = no_bus().api(&api.url());
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(12), "{}", text(&out));
    assert!(
        api.requests().is_empty(),
        "the key was sent before the store was checked"
    );
    assert!(
        text(&out).contains("claude --set-storage encrypted-file"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_encrypted_file_with_a_master_key_points_at_a_passphrase_not_at_itself() {
    let api = Server::anthropic(&[KEY_A]);
    let env = no_bus().api(&api.url());
    env.write_config(r#"{"authentication": {"storage": {"type": "encrypted-file"}}}"#);
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(12), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`authentication.storage.encryptionKey` to \"user-derived-key\""),
        "{stderr}"
    );
    assert!(!stderr.contains("`type` to `encrypted-file`"), "{stderr}");
    assert!(api.requests().is_empty());
}

#[test]
fn remove_api_key_with_nothing_stored_exits_0_even_without_a_keychain() {
    let out = no_bus().run(&["--remove-api-key"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to remove"));
}

#[test]
fn encryption_key_accepts_only_its_documented_values_and_says_which() {
    let env = no_bus();
    env.write_config(r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "hunter2"}}}"#);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"user-derived-key\"") && stderr.contains("\"keychain\""),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "the value may be a passphrase: {stderr}"
    );
}

#[test]
fn logout_and_reset_work_with_a_config_that_does_not_parse() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    // Broken by hand after the key was stored: a trailing comma.
    env.write_config(r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key",}}}"#);
    env.claude().arg("--auth-status").assert().code(3);
    let out = env.run(&["--logout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("warning:"), "{}", text(&out));
    let out = env.run(&["--reset-auth", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!env.state_dir().join("credentials.enc").exists());
    assert!(env.config_path().exists(), "the config is kept");
}

#[cfg(unix)]
#[test]
fn set_storage_reads_the_config_under_the_lock_and_keeps_an_edit_made_meanwhile() {
    let env = no_bus().with("CLAUDE_PASSPHRASE", PASSPHRASE);
    env.write_config("{\n  \"model\": \"claude-x\"\n}\n");
    // Another claude process holds the state lock while the user edits the config.
    let lock_path = env.state_dir().join(".lock");
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .unwrap();
    set_mode(&lock_path, 0o600);
    lock.lock().unwrap();
    let child = env
        .std_command()
        .args(["--set-storage", "encrypted-file"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    env.write_config("{\n  \"model\": \"claude-y\"\n}\n");
    lock.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let written = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        written.contains("\"model\": \"claude-y\"")
            && written.contains("\"type\": \"encrypted-file\""),
        "the edit made while waiting for the lock is kept: {written}"
    );
}
