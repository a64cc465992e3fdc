//! `--test-auth`, `--debug-auth`, `--check-permissions` and `--reset-auth`.

mod common;

use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer};
use common::servers::{Reply, Server};
use common::*;

#[test]
fn test_auth_on_an_unconfigured_machine_says_what_to_do_next() {
    let env = TestEnv::new();
    let out = env.run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("✗ credential"), "{stdout}");
    assert!(stdout.contains("claude --set-api-key"), "{stdout}");
    assert!(
        !stdout.contains("claude --login"),
        "--login refuses without oauth.clientId, so it is not offered: {stdout}"
    );
    assert!(
        stdout.contains("– server"),
        "online steps are skipped: {stdout}"
    );
}

#[test]
fn the_no_credential_hint_offers_login_once_a_client_id_is_configured() {
    // The encrypted file: a keychain this machine lacks would come first in the hint.
    let env = TestEnv::encrypted();
    env.write_config(r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}}, "oauth": {"clientId": "cli-app"}}"#);
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("log in with `claude --login`, or store an API key"),
        "{}",
        text(&out)
    );

    env.write_config(r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}}, "oauth": {"providers": {"corp": {"clientId": "corp-cli", "issuer": "https://sso.example.com"}}}}"#);
    let status = env.status_json();
    assert_eq!(
        status["nextStep"],
        "log in with `claude --login --provider corp`, or store an API key with `claude --set-api-key` (or export ANTHROPIC_API_KEY)"
    );
}

#[test]
fn test_auth_passes_every_step_with_a_working_key() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-auth", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["ok"], true);
    let names: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "config",
            "managed settings",
            "environment",
            "provider",
            "credential",
            "compliance",
            "audit log",
            "key rotation",
            "storage",
            "file permissions",
            "callback port",
            "mfa",
            "ip policy",
            "server",
            "clock"
        ]
    );
    let server = test_auth_step(&doc, "server");
    assert_eq!(server["state"], "ok");
    assert!(server["detail"].as_str().unwrap().contains("accepted"));
    assert_no_secret(&out, KEY_A);
}

#[test]
fn test_auth_exits_with_the_first_failure() {
    let api = Server::anthropic(&[]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("✗ server"));
}

#[test]
fn test_auth_reports_clock_skew_from_the_server_date() {
    let skewed =
        httpdate::fmt_http_date(std::time::SystemTime::now() + std::time::Duration::from_secs(900));
    let api = Server::scripted(vec![Reply::models().header("Date", &skewed)]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(14), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("✗ clock") && stdout.contains("behind"),
        "{stdout}"
    );
}

#[test]
fn debug_auth_traces_every_exchange_with_secrets_redacted() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--debug-auth"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("debug: → GET") && stderr.contains("/v1/models"),
        "{stderr}"
    );
    assert!(stderr.contains("x-api-key: [redacted]"), "{stderr}");
    assert!(stderr.contains("debug: ← HTTP 200"), "{stderr}");
    assert!(
        stderr.contains("candidate env:ANTHROPIC_API_KEY"),
        "resolution is traced: {stderr}"
    );
    assert_no_secret(&out, KEY_A);
}

#[test]
fn debug_auth_masks_a_key_that_a_server_echoes_in_its_headers() {
    let api = Server::scripted(vec![Reply::error(401, "authentication_error")
        .header(
            "Location",
            &format!("https://x.example/cb?token={KEY_A}#k={KEY_A}"),
        )
        .header("Content-Location", &format!("/cb?token={KEY_A}"))
        .header(
            "Link",
            &format!(r#"<https://u:{KEY_A}@x.example/next?key={KEY_A}>; rel="next""#),
        )
        .header(
            "WWW-Authenticate",
            &format!(r#"Bearer error="x", token="{KEY_A}""#),
        )
        .header("X-Echo", KEY_A)]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--debug-auth"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for shown in [
        "location: https://x.example/cb\n",
        "content-location: /cb\n",
        r#"link: <https://x.example/next>; rel="next""#,
        r#"www-authenticate: Bearer error="x", token="sk-ant-api03-…a1A1""#,
        "x-echo: sk-ant-api03-…a1A1",
    ] {
        assert!(stderr.contains(shown), "`{shown}` in:\n{stderr}");
    }
    assert_no_secret(&out, KEY_A);
}

#[test]
fn debug_auth_of_an_oauth_refresh_shows_no_token() {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", "").with("CLAUDE_TEST_NOW", "1800000000");
    assert!(browser_login(&env, &[]).status.success());
    let api = Server::scripted(vec![Reply::models()]);
    let env = env
        .with("CLAUDE_TEST_NOW", "1800007200")
        .with("ANTHROPIC_BASE_URL", &api.url());
    let out = env.run(&["--debug-auth"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.token_requests("refresh_token"), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("debug: → POST") && stderr.contains("/token"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not shown"),
        "bodies are never printed: {stderr}"
    );
    for request in server.requests().iter().filter(|r| r.path == "/token") {
        let form = common::oauth_server::parse_form(&request.body).unwrap();
        for field in ["code", "code_verifier", "refresh_token"] {
            if let Some(secret) = form.get(field) {
                assert!(!text(&out).contains(secret.as_str()), "{field} leaked");
            }
        }
    }
    let token = String::from_utf8(env.run(&["--print-token"]).stdout).unwrap();
    assert!(!text(&out).contains(token.trim()));
}

#[test]
fn test_auth_asks_the_api_about_an_oauth_session_and_a_revoked_token_fails() {
    let server = OAuthServer::start(OAuthOptions::default());
    let mut env = oauth_env(&server, "", "");
    assert!(browser_login(&env, &[]).status.success());
    let token = String::from_utf8(env.run(&["--print-token"]).stdout).unwrap();

    let api = Server::scripted(vec![Reply::models()]);
    env.set("ANTHROPIC_BASE_URL", &api.url());
    let ok = env.run(&["--test-auth"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let seen = api.requests();
    assert_eq!(seen.len(), 1, "one call to the API");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {}", token.trim()).as_str())
    );
    assert!(String::from_utf8_lossy(&ok.stdout)
        .contains("✓ server            the API accepted the anthropic access token"));

    // Revoked: the API answers 401, with a Date that the clock step still reads.
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let revoked = Server::scripted(vec![
        Reply::error(401, "authentication_error").header("Date", &date)
    ]);
    env.set("ANTHROPIC_BASE_URL", &revoked.url());
    let out = env.run(&["--test-auth", "--json"]);
    assert_eq!(out.status.code(), Some(6), "expired_token: {}", text(&out));
    let doc = json_stdout(&out);
    let step = |name: &str| {
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(step("server")["state"], "failed", "{doc}");
    assert_eq!(
        step("clock")["state"],
        "ok",
        "the 401's Date was read: {doc}"
    );
    assert_no_secret(&out, token.trim());
}

#[test]
fn check_permissions_lists_what_the_login_lacks() {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", r#", "permissions": ["read", "basic-write"]"#);
    assert!(browser_login(&env, &[]).status.success());
    let out = env.run(&["--check-permissions", "--json"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "insufficient_permissions");
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("basic-write"));

    let ok = browser_login(&env, &["--scopes", "read basic-write"]);
    assert!(ok.status.success());
    let out = env.run(&["--check-permissions", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json_stdout(&out)["missing"], serde_json::json!([]));
}

#[test]
fn check_permissions_with_nothing_required_says_so() {
    let env = TestEnv::new();
    let out = env.run(&["--check-permissions"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("Nothing to check"),
        "{}",
        text(&out)
    );
}

#[test]
fn reset_auth_leaves_nothing_but_the_config() {
    let api = Server::anthropic(&[KEY_A]);
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", "").api(&api.url());
    env.store_key(KEY_A);
    assert!(browser_login(&env, &[]).status.success());

    let refused = env.run_with_stdin(&["--reset-auth"], "");
    assert_eq!(
        refused.status.code(),
        Some(2),
        "no terminal and no --yes: {}",
        text(&refused)
    );
    env.claude().arg("--auth-status").assert().success();

    let out = env.run(&["--reset-auth", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    let mut left: Vec<String> = files_under(&env.state_dir())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [".lock", "config.json"],
        "only the config (and the empty lock file) remain"
    );
    env.claude().arg("--auth-status").assert().code(4);
    assert!(std::fs::metadata(env.config_path()).unwrap().len() > 0);
}

#[test]
fn reset_auth_answered_no_removes_nothing_and_exits_0() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let Some(shown) = env.on_terminal(&["--reset-auth"], "n\n") else {
        return;
    };
    assert_eq!(shown.code, 0, "{}", shown.text);
    assert!(
        shown.text.contains("[y/N] Nothing removed."),
        "{}",
        shown.text
    );
    assert!(!shown.text.contains("error:"), "{}", shown.text);
    env.claude().arg("--auth-status").assert().success();
}

#[test]
fn test_auth_counts_in_words_and_times_only_the_server() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let out = env.run(&["--test-auth"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(shown.contains("is authentic (1 item)\n"), "{shown}");
    assert!(shown.contains("1 credential file is private\n"), "{shown}");
    assert!(!shown.contains("items)") && !shown.contains("(0 ms)\n✓ environment"));
    let timed: Vec<&str> = shown.lines().filter(|l| l.ends_with(" ms)")).collect();
    assert_eq!(timed.len(), 1, "{shown}");
    assert!(timed[0].starts_with("✓ server "), "{shown}");
}
