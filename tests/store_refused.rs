//! A store that cannot be used (shared, foreign, damaged, tampered, locked by a wrong
//! passphrase) is reported as the store's own `storage_error` with its fix by every command
//! that needs it, never as "no credential"; and `--test-auth` shows no verdict for a check
//! it could not make.

mod common;

use common::servers::Server;
use common::*;

fn store_file(env: &TestEnv) -> std::path::PathBuf {
    env.state_dir().join("credentials.enc")
}

/// Fails unless `out` is the store's error (exit 11) and not "no credential" (exit 4 and its
/// "store an API key" next step).
fn assert_store_error(args: &[&str], out: &std::process::Output, fix: &str) {
    let all = text(out);
    assert_eq!(out.status.code(), Some(11), "{args:?}: {all}");
    assert!(
        all.contains(fix),
        "{args:?} must give the store's fix {fix:?}: {all}"
    );
    assert!(!all.contains("set-api-key"), "{args:?}: {all}");
    assert!(
        !all.contains("no Anthropic credential is configured"),
        "{args:?}: {all}"
    );
    assert_no_secret(out, KEY_A);
}

/// `--auth-status` (text, JSON, `--check`) and `--test-auth` all give the store's error.
fn assert_every_status_names_the_store(env: &TestEnv, api: &Server, fix: &str) {
    let requests = api.requests().len();
    for args in [
        &["--auth-status"][..],
        &["--auth-status", "--check"],
        &["--test-auth"],
    ] {
        assert_store_error(args, &env.run(args), fix);
    }
    let out = env.run(&["--auth-status", "--json"]);
    assert_store_error(&["--auth-status", "--json"], &out, fix);
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "storage_error", "{doc}");
    assert_eq!(doc["error"]["exitCode"], 11, "{doc}");
    assert_eq!(doc["configured"], false, "{doc}");
    assert!(
        doc["nextStep"].as_str().unwrap().contains(fix),
        "the next step is the store's fix: {doc}"
    );
    let out = env.run(&["--test-auth", "--json"]);
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "storage_error", "{doc}");
    assert_eq!(api.requests().len(), requests, "nothing may be sent");
}

#[cfg(unix)]
#[test]
fn a_store_others_can_read_is_reported_by_status_and_test_auth() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    set_mode(store_file(&env), 0o644);
    assert_every_status_names_the_store(&env, &api, "chmod 600");
    let out = env.run(&["--auth-status"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("the credential store cannot be used"),
        "{stdout}"
    );
}

#[cfg(unix)]
#[test]
fn check_permissions_gives_the_stores_error_too() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&config).unwrap();
    doc["permissions"] = serde_json::json!(["read"]);
    env.write_config(&doc.to_string());
    set_mode(store_file(&env), 0o644);
    let args = ["--check-permissions"];
    assert_store_error(&args, &env.run(&args), "chmod 600");
}

#[test]
fn a_file_that_is_not_a_store_is_reported_by_status_and_test_auth() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    std::fs::write(store_file(&env), b"NOTOURS!\x01 something else entirely").unwrap();
    set_mode(store_file(&env), 0o600);
    assert_every_status_names_the_store(&env, &api, "claude --reset-auth");
    // The hint gives both ways to start over, with the file's own path.
    let out = env.run(&["--auth-status"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("not a claude-auth encrypted store"),
        "{stdout}"
    );
    let path = store_file(&env).display().to_string();
    assert!(
        stdout.contains(&format!("mv {path} {path}.bad-20")),
        "{stdout}"
    );
    assert!(stdout.contains("claude --reset-auth"), "{stdout}");
    // And `--reset-auth` does work on it.
    let out = env.run(&["--reset-auth", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!store_file(&env).exists());
}

#[test]
fn an_item_removed_from_the_header_fails_every_path_that_decrypts() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    edit_store_header(&store_file(&env), |header| {
        header["items"].as_object_mut().unwrap().remove("api-key");
    });
    let requests = api.requests().len();
    for args in [&["--test-auth"][..], &["--auth-status", "--check"]] {
        let out = env.run(args);
        assert_store_error(args, &out, "modified");
        assert!(text(&out).contains("claude --reset-auth"), "{}", text(&out));
    }
    let out = env.run(&["--test-auth", "--json"]);
    let doc = json_stdout(&out);
    let credential = test_auth_step(&doc, "credential");
    assert_eq!(credential["error"]["code"], "storage_error", "{doc}");
    // Offline status reads the header only: without decrypting, it cannot tell (storage.md
    // says so).
    assert_eq!(env.run(&["--auth-status"]).status.code(), Some(4));
    assert_eq!(api.requests().len(), requests, "nothing may be sent");
}

#[test]
fn test_auth_does_not_claim_a_server_check_it_could_not_make() {
    let api = Server::anthropic(&[KEY_A]);
    let env =
        TestEnv::with_stored_key(&api.url(), KEY_A).with("CLAUDE_PASSPHRASE", "not the passphrase");
    let requests = api.requests().len();
    let out = env.run(&["--test-auth"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(11), "{stdout}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.chars().skip(2).collect::<String>().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} step: {stdout}"))
            .to_string()
    };
    assert!(line("storage").starts_with('✗'), "{stdout}");
    let server = line("server ");
    assert!(server.starts_with('–'), "not checked, so no mark: {stdout}");
    assert!(server.contains("kept in the store"), "{stdout}");
    assert!(!server.contains(" ms)"), "no request, no time: {stdout}");
    let clock = line("clock");
    assert!(clock.starts_with('–'), "{stdout}");
    assert!(!clock.contains("Date header"), "{stdout}");
    assert!(
        stdout.contains("First failure: storage_error (exit 11)"),
        "{stdout}"
    );
    let doc = json_stdout(&env.run(&["--test-auth", "--json"]));
    let state = |name: &str| {
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["state"].clone())
            .unwrap()
    };
    assert_eq!(state("server"), "skipped", "{doc}");
    assert_eq!(state("clock"), "skipped", "{doc}");
    assert_eq!(api.requests().len(), requests, "nothing may be sent");
}

#[test]
fn keychain_hint_offers_no_api_key_where_policy_refuses_keys() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::new().api(&api.url());
    env.write_config(r#"{"authentication": {"method": "oauth"}}"#);
    // No session bus: the keychain is unavailable at once.
    let out = env.run(&["--test-auth"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let storage: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.contains(" storage "))
        .take(2)
        .collect();
    assert!(storage[0].contains("keychain is unavailable"), "{stdout}");
    assert!(
        storage[1].contains("--set-storage encrypted-file"),
        "{stdout}"
    );
    assert!(
        !storage[1].contains("ANTHROPIC_API_KEY"),
        "policy refuses API keys here: {stdout}"
    );
    // Where keys are allowed, the same hint offers one.
    let env = TestEnv::new().api(&api.url());
    let out = env.run(&["--test-auth"]);
    assert!(
        text(&out).contains("or use ANTHROPIC_API_KEY"),
        "{}",
        text(&out)
    );
}
