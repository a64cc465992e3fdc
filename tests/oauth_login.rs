//! `--login`: PKCE through a fake browser against the strict OAuth stand-in, the callback
//! listener's defences, the paste flow, and OpenID Connect.

mod common;

use common::browser::{approve, get, with_param, without_param, LoginRun};
use common::oauth_env::{browser_login, oauth_env, oidc_env};
use common::oauth_server::{OAuthOptions, OAuthServer};
use common::*;
use std::time::{Duration, Instant};

fn server() -> OAuthServer {
    OAuthServer::start(OAuthOptions::default())
}

/// The stand-in, logging everyone in as `account_email`.
fn server_as(account_email: &str) -> OAuthServer {
    OAuthServer::start(OAuthOptions {
        account_email: account_email.into(),
        ..OAuthOptions::default()
    })
}

/// `claude --login --no-browser` started under the fake browser, before any approval.
fn start_login(env: &TestEnv) -> LoginRun {
    let mut cmd = env.std_command();
    cmd.args(["--login", "--no-browser"]);
    LoginRun::start(cmd)
}

/// The access token in force, as `--print-token` gives it.
fn print_token(env: &TestEnv) -> String {
    let out = env.run(&["--print-token"]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn login_through_the_browser_callback_starts_a_session() {
    let server = server();
    let env = oauth_env(&server, "", "");
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Logged in to anthropic as dev@example.com"),
        "{}",
        text(&out)
    );

    let seen = server.last_authorization().unwrap();
    assert_eq!(seen.code_challenge_method, "S256");
    assert!(seen.state.len() >= 22, "state must carry at least 128 bits");
    assert_eq!(seen.scope, "read write");

    let status = env.run(&["--auth-status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let doc = json_stdout(&status);
    assert_eq!(doc["method"], "oauth");
    assert_eq!(doc["source"], "oauth:anthropic");
    assert_eq!(doc["billing"], "subscription");
    assert_eq!(doc["session"]["account"], "dev@example.com");

    let token = print_token(&env);
    assert!(token.starts_with("at_"), "{token}");
    for output in [&out, &status] {
        assert!(!text(output).contains(&token), "the access token leaked");
    }
    assert_no_secret_in_files(env.home.path(), &token);
}

#[test]
fn scopes_flag_overrides_the_configured_scopes() {
    let server = server();
    let env = oauth_env(&server, "", "");
    let out = browser_login(&env, &["--scopes", "read write admin"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        server.last_authorization().unwrap().scope,
        "read write admin"
    );
}

#[test]
fn callback_with_wrong_or_missing_state_gets_400_and_the_login_goes_on() {
    let server = server();
    let env = oauth_env(&server, "", "");
    let run = start_login(&env);
    let callback = approve(&run.authorize_url());

    let wrong = get(&with_param(&callback, "state", "forged"));
    assert_eq!(wrong.status, 400);
    let missing = get(&without_param(&callback, "state"));
    assert_eq!(missing.status, 400);
    let doubled = get(&format!("{callback}&state=forged"));
    assert_eq!(doubled.status, 400);
    let forged_denial = get(&with_param(
        &with_param(&callback, "state", "forged"),
        "error",
        "access_denied",
    ));
    assert_eq!(
        forged_denial.status, 400,
        "an error callback without the state must not cancel the login"
    );

    let good = get(&callback);
    assert_eq!(good.status, 200);
    let out = run.finish();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn callback_page_is_static_and_uncached() {
    let server = server();
    let env = oauth_env(&server, "", "");
    let run = start_login(&env);
    let callback = approve(&run.authorize_url());
    let probe = get(&with_param(
        &callback,
        "state",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ));
    assert!(
        !probe.body.contains("<script>"),
        "query parameters must not be reflected"
    );
    let page = get(&callback);
    assert_eq!(page.header("Cache-Control"), Some("no-store"));
    assert_eq!(page.header("Referrer-Policy"), Some("no-referrer"));
    assert!(!page.body.contains("code="));
    assert!(run.finish().status.success());
}

#[test]
fn access_denied_in_the_browser_is_a_clear_cancellation() {
    let server = server();
    let env = oauth_env(&server, "", "");
    server.deny_next_authorization();
    let run = start_login(&env);
    let callback = approve(&run.authorize_url());
    assert!(callback.contains("error=access_denied"));
    assert_eq!(get(&callback).status, 200);
    let out = run.finish();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(text(&out).contains("denied"), "{}", text(&out));
    env.claude().arg("--auth-status").assert().code(4);
}

#[test]
fn no_callback_times_out() {
    let server = server();
    let env = oauth_env(&server, "", "");
    env.write_config(
        &std::fs::read_to_string(env.config_path())
            .unwrap()
            .replace(r#""loginTimeout": 20"#, r#""loginTimeout": 2"#),
    );
    let started = Instant::now();
    let run = start_login(&env);
    let _ = run.authorize_url();
    let out = run.finish();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(text(&out).contains("within 2 s"), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[cfg(unix)]
#[test]
fn taken_port_is_reported_before_any_browser_opens() {
    let server = server();
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port();
    let opened = tempfile::NamedTempFile::new().unwrap();
    std::fs::remove_file(opened.path()).unwrap();
    let browser = write_browser_script(&format!("echo \"$1\" > {}", opened.path().display()));
    let env = oauth_env(&server, "", "").with("BROWSER", browser.to_str().unwrap());
    env.write_config(
        &std::fs::read_to_string(env.config_path()).unwrap().replace(
            "127.0.0.1:0/callback",
            &format!("127.0.0.1:{port}/callback"),
        ),
    );
    let out = env.run_with_stdin(&["--login"], "");
    assert_eq!(out.status.code(), Some(17), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("port {port}")) && stderr.contains("oauth.redirectUri"),
        "{stderr}"
    );
    assert!(
        stderr.contains("paste"),
        "the paste flow is offered: {stderr}"
    );
    assert!(
        !opened.path().exists(),
        "no browser may open when the callback cannot be received"
    );
    drop(blocker);
}

#[test]
fn paste_flow_accepts_the_redirected_url_with_its_state() {
    let server = server();
    let env = oauth_env(&server, "", "");
    let mut run = start_login(&env);
    let callback = approve(&run.authorize_url());
    run.type_line(&with_param(&callback, "state", "not-this-login"));
    run.type_line("a-bare-code-without-state");
    run.type_line(&callback);
    let out = run.finish();
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not belong to this login"), "{stderr}");
    assert!(stderr.contains("bare code"), "{stderr}");
}

/// `claude --login` with `BROWSER` set to a script that records the address it is given:
/// the run, the authorization URL printed on stderr, and the address the browser got.
#[cfg(unix)]
fn login_with_recording_browser(
    server: &OAuthServer,
) -> (LoginRun, String, String, tempfile::NamedTempFile, TestEnv) {
    let opened = tempfile::NamedTempFile::new().unwrap();
    let browser = write_browser_script(&format!(
        "echo \"$1\" > {}.tmp && mv {}.tmp {}",
        opened.path().display(),
        opened.path().display(),
        opened.path().display()
    ));
    let env = oauth_env(server, "", "").with("BROWSER", browser.to_str().unwrap());
    let mut cmd = env.std_command();
    cmd.arg("--login");
    let run = LoginRun::start(cmd);
    let printed = run.authorize_url();
    let deadline = Instant::now() + Duration::from_secs(20);
    let start = loop {
        let text = std::fs::read_to_string(opened.path()).unwrap_or_default();
        if text.contains("/start-") {
            break text.trim().to_string();
        }
        assert!(Instant::now() < deadline, "BROWSER was not run");
        std::thread::sleep(Duration::from_millis(50));
    };
    (run, printed, start, opened, env)
}

#[cfg(unix)]
#[test]
fn browser_variable_is_used_to_open_the_url() {
    let server = server();
    let (run, printed, start, _opened, _env) = login_with_recording_browser(&server);
    // The browser's command line (readable by every user in /proc) carries no state and
    // no PKCE challenge: only a one-time loopback address that leads to the printed URL.
    assert!(start.starts_with("http://127.0.0.1:"), "{start}");
    assert!(
        !start.contains("state=") && !start.contains("code_challenge"),
        "{start}"
    );
    let page = get(&start);
    assert_eq!(page.status, 302);
    assert_eq!(page.header("Location"), Some(printed.as_str()));
    assert_eq!(get(&approve(&printed)).status, 200);
    assert!(run.finish().status.success());
}

#[cfg(unix)]
#[test]
fn a_start_address_opened_twice_stops_the_login() {
    let server = server();
    let (run, _, start, _opened, _env) = login_with_recording_browser(&server);
    // Another program read the address first; the user's browser comes second.
    assert_eq!(get(&start).status, 302);
    assert_eq!(get(&start).status, 409);
    let out = run.finish();
    assert_eq!(out.status.code(), Some(15), "{}", text(&out));
    assert!(text(&out).contains("opened twice"), "{}", text(&out));
    assert_eq!(server.token_requests("authorization_code"), 0);
}

#[test]
fn openid_connect_login_verifies_the_id_token_and_shows_the_email() {
    let server = server_as("sso-user@company.example");
    let env = TestEnv::encrypted();
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}},
            "oauth": {{"clientId": "claude-test-client", "issuer": "{}", "redirectUri": "http://localhost:0/callback", "loginTimeout": 20}}}}"#,
        server.url()
    ));
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let seen = server.last_authorization().unwrap();
    assert!(
        seen.scope.split(' ').any(|s| s == "openid"),
        "{}",
        seen.scope
    );
    assert!(seen.nonce.is_some(), "a nonce is sent");
    let status = env.status_json();
    assert_eq!(status["session"]["account"], "sso-user@company.example");
    let list = env.run(&["--list-sessions"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("sso-user@company.example"));
}

#[test]
fn an_id_token_without_email_gets_the_account_from_userinfo() {
    let server = OAuthServer::start(OAuthOptions {
        account_email: "only-in-userinfo@company.example".into(),
        email_in_id_token: false,
        ..OAuthOptions::default()
    });
    let env = oidc_env(&server);
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        env.status_json()["session"]["account"],
        "only-in-userinfo@company.example"
    );
    let list = env.run(&["--list-sessions"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("only-in-userinfo@company.example"));
}

#[test]
fn callback_with_the_wrong_issuer_is_refused() {
    let server = server();
    let env = oidc_env(&server);
    let run = start_login(&env);
    let callback = approve(&run.authorize_url());
    assert_eq!(
        get(&with_param(&callback, "iss", "https%3A%2F%2Fevil.example")).status,
        200
    );
    let out = run.finish();
    assert_eq!(out.status.code(), Some(15), "{}", text(&out));
    assert!(text(&out).contains("mix-up"), "{}", text(&out));
    assert_eq!(
        server.token_requests("authorization_code"),
        0,
        "the code must not be redeemed"
    );
}

#[test]
fn discovery_with_another_issuer_is_not_used() {
    let server = server();
    let env = TestEnv::encrypted();
    // Same server, another name: its discovery document names 127.0.0.1, not localhost.
    let issuer = server.url().replace("127.0.0.1", "localhost");
    env.write_config(&format!(
        r#"{{"oauth": {{"clientId": "claude-test-client", "issuer": "{issuer}"}}}}"#
    ));
    let out = env.run_with_stdin(&["--login", "--no-browser"], "");
    assert_eq!(out.status.code(), Some(15), "{}", text(&out));
    assert!(text(&out).contains("not the configured"), "{}", text(&out));
    assert!(server.last_authorization().is_none());
}

#[test]
fn token_endpoint_answering_html_is_a_provider_error() {
    let server = server();
    server.set_token_mode(common::oauth_server::TokenMode::Html);
    let env = oauth_env(&server, "", "");
    let out = browser_login(&env, &[]);
    assert_eq!(out.status.code(), Some(14), "{}", text(&out));
    assert!(
        !text(&out).contains("<html>"),
        "server bodies are not echoed"
    );
    env.claude().arg("--auth-status").assert().code(4);
}

#[cfg(unix)]
fn write_browser_script(body: &str) -> tempfile::TempPath {
    let file = tempfile::Builder::new().suffix(".sh").tempfile().unwrap();
    std::fs::write(file.path(), format!("#!/bin/sh\n{body}\n")).unwrap();
    set_mode(file.path(), 0o755);
    file.into_temp_path()
}

#[test]
fn codes_verifiers_and_tokens_never_reach_output_or_files() {
    let server = server();
    let env = oauth_env(&server, "", "").with("CLAUDE_TEST_NOW", "1800000000");
    let mut outputs = vec![browser_login(&env, &["-v"])];
    let env = env.with("CLAUDE_TEST_NOW", "1800007200");
    for args in [
        &["--auth-status", "-v"][..],
        &["--auth-status", "--json"],
        &["--list-sessions", "--json"],
        &["--print-token", "-v"],
    ] {
        outputs.push(env.claude().args(args).output().unwrap());
    }
    assert_eq!(
        server.token_requests("refresh_token"),
        1,
        "the stale token was refreshed"
    );
    // Everything secret the stand-in received: the code, the verifier, the refresh token.
    let mut secrets = Vec::new();
    for request in server.requests().iter().filter(|r| r.path == "/token") {
        let form = common::oauth_server::parse_form(&request.body).unwrap();
        for field in ["code", "code_verifier", "refresh_token"] {
            secrets.extend(form.get(field).cloned());
        }
    }
    let printed_token = String::from_utf8(outputs.last().unwrap().stdout.clone()).unwrap();
    assert_eq!(secrets.len(), 3, "{secrets:?}");
    for secret in &secrets {
        for out in &outputs {
            assert!(
                !text(out).contains(secret.as_str()),
                "a secret leaked into output: {}",
                text(out)
            );
        }
        assert_no_secret_in_files(env.home.path(), secret);
    }
    for out in &outputs[..outputs.len() - 1] {
        assert!(
            !text(out).contains(printed_token.trim()),
            "the access token leaked"
        );
    }
    assert_no_secret_in_files(env.home.path(), printed_token.trim());
}

#[test]
fn sso_integration_domain_switches_login_to_discovery() {
    let server = server_as("okta-user@company.example");
    let env = TestEnv::encrypted();
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}},
            "oauth": {{"clientId": "claude-test-client", "redirectUri": "http://127.0.0.1:0/callback"}},
            "compliance": {{"ssoIntegration": {{"enabled": true, "provider": "okta", "domain": "{}"}}}}}}"#,
        server.url()
    ));
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(server
        .requests()
        .iter()
        .any(|r| r.path == "/.well-known/openid-configuration"));
    let doc = env.status_json();
    assert_eq!(doc["session"]["account"], "okta-user@company.example");
}

#[test]
fn login_without_a_terminal_says_it_waits_for_the_callback_and_how_long() {
    let server = server();
    let env = oauth_env(&server, "", "");
    // stdin is a pipe here, not a terminal: nothing can be typed, so say what happens.
    let run = start_login(&env);
    let callback = approve(&run.authorize_url());
    assert_eq!(get(&callback).status, 200);
    let out = run.finish();
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Waiting up to 20 s for the login callback on http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("stdin is not a terminal"), "{stderr}");
    assert!(!stderr.contains("paste the full address"), "{stderr}");
}
