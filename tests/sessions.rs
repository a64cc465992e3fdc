//! Sessions: listing, logout with revocation, logout of all, idle and absolute expiry with
//! an injected clock, and encrypted session metadata.

mod common;

use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer};
use common::*;

const T0: u64 = 1_800_000_000;

fn logged_in(session_policy: &str) -> (OAuthServer, TestEnv) {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", session_policy).with("CLAUDE_TEST_NOW", &T0.to_string());
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    (server, env)
}

fn at(env: TestEnv, now: u64) -> TestEnv {
    env.with("CLAUDE_TEST_NOW", &now.to_string())
}

#[test]
fn list_sessions_marks_the_current_one() {
    let (_server, env) = logged_in("");
    let out = env.run(&["--list-sessions"]);
    assert!(out.status.success(), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("* anthropic") && l.contains("dev@example.com")),
        "{table}"
    );
    let doc = json_stdout(&env.run(&["--list-sessions", "--json"]));
    assert_eq!(doc["sessions"][0]["current"], true);
    assert_eq!(doc["sessions"][0]["state"], "active");
    assert_eq!(doc["sessions"][0]["createdAt"], "2027-01-15T08:00:00Z");
}

#[test]
fn list_sessions_widens_its_columns_for_a_long_account() {
    let account = "a.very.long.account.name.for.the.table@subsidiary.example.com";
    let server = OAuthServer::start(OAuthOptions {
        account_email: account.into(),
        ..OAuthOptions::default()
    });
    let env = oauth_env(&server, "", "").with("CLAUDE_TEST_NOW", &T0.to_string());
    assert!(browser_login(&env, &[]).status.success());
    let out = env.run(&["--list-sessions"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let header = table.lines().next().unwrap();
    let row = table.lines().find(|l| l.contains(account)).expect(&table);
    let created = header.find("CREATED").unwrap();
    assert_eq!(
        row.get(created..created + 20),
        Some("2027-01-15T08:00:00Z"),
        "the dates stay under their header:\n{table}"
    );
    assert!(
        row.contains(&format!("{account} ")),
        "the account is whole:\n{table}"
    );
}

#[test]
fn logout_revokes_at_the_provider_then_forgets_locally() {
    let (server, env) = logged_in("");
    let out = env.run(&["--logout", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["loggedOut"][0]["revoked"], true, "{doc}");
    let revoked = server.revoked_tokens();
    assert_eq!(revoked.len(), 1);
    assert!(
        revoked[0].starts_with("rt_"),
        "the refresh token ends the grant"
    );
    env.claude().arg("--auth-status").assert().code(4);
    env.claude().arg("--print-token").assert().code(4);
    let again = env.run(&["--logout"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to log out of"));
    let all = env.run(&["--logout", "--all"]);
    assert!(
        String::from_utf8_lossy(&all.stdout).starts_with("There are no sessions;"),
        "{}",
        text(&all)
    );
}

#[test]
fn logout_without_a_revocation_endpoint_says_it_only_forgot_locally() {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", "");
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    env.write_config(&config.replace(
        &format!(
            r#""revocationEndpoint": "{}","#,
            server.revocation_endpoint()
        ),
        "",
    ));
    assert!(browser_login(&env, &[]).status.success());
    let out = env.run(&["--logout"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("offers no revocation"),
        "{}",
        text(&out)
    );
    assert!(server.revoked_tokens().is_empty());
}

#[test]
fn logout_all_ends_every_session() {
    let main = OAuthServer::start(OAuthOptions::default());
    let corp = OAuthServer::start(OAuthOptions {
        account_email: "me@corp.example".into(),
        ..OAuthOptions::default()
    });
    let providers = format!(
        r#", "providers": {{"corp": {{"clientId": "claude-test-client", "authEndpoint": "{}", "tokenEndpoint": "{}", "revocationEndpoint": "{}", "redirectUri": "http://127.0.0.1:0/cb"}}}}"#,
        corp.authorize_endpoint(),
        corp.token_endpoint(),
        corp.revocation_endpoint()
    );
    let env = oauth_env(&main, &providers, "");
    assert!(browser_login(&env, &[]).status.success());
    let out = browser_login(&env, &["--provider", "corp"]);
    assert!(out.status.success(), "{}", text(&out));
    let list = json_stdout(&env.run(&["--list-sessions", "--json"]));
    assert_eq!(list["sessions"].as_array().unwrap().len(), 2);

    let out = env.run(&["--logout", "--all"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(main.revoked_tokens().len(), 1);
    assert_eq!(corp.revoked_tokens().len(), 1);
    let list = json_stdout(&env.run(&["--list-sessions", "--json"]));
    assert_eq!(list["sessions"], serde_json::json!([]));
}

#[test]
fn idle_timeout_with_auto_extend_counts_from_the_last_use() {
    let (_server, env) = logged_in(r#", "session": {"timeout": 600, "autoExtend": true}"#);
    let env = at(env, T0 + 500);
    env.claude().arg("--print-token").assert().success();
    let env = at(env, T0 + 1000);
    env.claude().arg("--print-token").assert().success();
    let env = at(env, T0 + 1700);
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        text(&out).contains("idle") && text(&out).contains("claude --login"),
        "{}",
        text(&out)
    );
    let status = env.status_json();
    assert_eq!(status["authenticated"], false);
    assert_eq!(status["session"]["state"], "expired");
}

#[test]
fn idle_timeout_without_auto_extend_counts_from_the_login() {
    let (_server, env) = logged_in(r#", "session": {"timeout": 600, "autoExtend": false}"#);
    let env = at(env, T0 + 500);
    env.claude().arg("--print-token").assert().success();
    let env = at(env, T0 + 700);
    env.claude().arg("--print-token").assert().code(6);
}

#[test]
fn max_duration_ends_a_session_however_busy() {
    let (_server, env) =
        logged_in(r#", "session": {"timeout": 600, "autoExtend": true, "maxDuration": 1000}"#);
    let mut env = env;
    for now in [T0 + 300, T0 + 600, T0 + 900] {
        env = at(env, now);
        env.claude().arg("--print-token").assert().success();
    }
    let env = at(env, T0 + 1000);
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(text(&out).contains("maxDuration"), "{}", text(&out));
}

#[test]
fn session_encryption_keeps_the_account_out_of_plain_metadata() {
    let (_server, env) = logged_in(r#", "security": {"sessionEncryption": true}"#);
    let metadata = std::fs::read_to_string(env.state_dir().join("sessions.json")).unwrap();
    assert!(!metadata.contains("dev@example.com"), "{metadata}");
    let status = env.run(&["--auth-status"]);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("kept encrypted"),
        "{}",
        text(&status)
    );
    for file in files_under(env.home.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("dev@example.com"),
            "{}",
            file.display()
        );
    }
}

#[test]
fn api_key_in_the_environment_shadows_the_login_and_status_says_so() {
    let (_server, env) = logged_in("");
    let env = env.with("ANTHROPIC_API_KEY", KEY_A);
    let doc = env.status_json();
    assert_eq!(doc["source"], "env:ANTHROPIC_API_KEY");
    assert_eq!(doc["shadowed"], serde_json::json!(["oauth:anthropic"]));
}

#[test]
fn method_oauth_puts_the_login_first_and_falls_back_to_keys() {
    let (_server, env) = logged_in(r#", "environments": {"prod": {"authentication": "oauth"}}"#);
    let env = env
        .with("ANTHROPIC_API_KEY", KEY_A)
        .with("CLAUDE_ENV", "prod");
    let doc = env.status_json();
    assert_eq!(doc["source"], "oauth:anthropic", "{doc}");
    assert_eq!(doc["credentials"][1]["state"], "refused");
    env.claude().arg("--logout").assert().success();
    let after = env.run(&["--auth-status", "--json"]);
    assert_eq!(
        after.status.code(),
        Some(4),
        "an OAuth-only environment never falls back to the key"
    );
}

#[test]
fn method_oauth_with_fallback_uses_the_key_when_the_session_has_expired() {
    let (_server, env) = logged_in(r#", "session": {"maxDuration": 1000}"#);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    env.write_config(&config.replacen(
        r#""authentication": {"#,
        r#""authentication": {"method": "oauth", "fallback": "api-key", "#,
        1,
    ));
    let env = env.with("ANTHROPIC_API_KEY", KEY_A);
    let fresh = env.status_json();
    assert_eq!(
        fresh["source"], "oauth:anthropic",
        "the session comes first while it works"
    );
    let later = at(env, T0 + 2000);
    let doc = later.status_json();
    assert_eq!(doc["source"], "env:ANTHROPIC_API_KEY", "{doc}");
    assert_eq!(doc["configured"], true);
}

#[test]
fn logout_that_cannot_read_the_tokens_changes_nothing() {
    let (server, env) = logged_in("");
    let wrong = env.with("CLAUDE_PASSPHRASE", "wrong passphrase");
    let out = wrong.run(&["--logout"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(server.revoked_tokens().is_empty());
    let list = json_stdout(&wrong.run(&["--list-sessions", "--json"]));
    assert_eq!(
        list["sessions"].as_array().unwrap().len(),
        1,
        "the session is kept so that it can still be revoked"
    );
}
