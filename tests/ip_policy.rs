//! `security.ipRestrictions`: the source address toward the target (and, with
//! `security.ipCheckUrl`, the public address an echo service reports) is checked before any
//! request, and a request from outside the ranges is never sent.

mod common;

use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer};
use common::servers::{Reply, Server};
use common::*;
use std::time::Duration;

const ALLOW_LIST_403: &str = r#"{"type":"error","error":{"type":"permission_error","message":"Your IP address isn't in this organization's allowed range"}}"#;

/// A user with KEY_A in ANTHROPIC_API_KEY, the API at `api`, and `security` as given.
fn restricted(api: &Server, security: &str) -> TestEnv {
    let env = TestEnv::env_key(&api.url(), KEY_A);
    env.write_config(&format!(r#"{{"security": {security}}}"#));
    env
}

/// An echo service answering `body` as plain text.
fn echo(body: &str) -> Server {
    Server::scripted(vec![Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: body.into(),
        delay: Duration::ZERO,
    }])
}

#[test]
fn test_api_key_from_outside_the_ranges_sends_nothing() {
    let api = Server::anthropic(&[KEY_A]);
    let env = restricted(&api, r#"{"ipRestrictions": ["10.0.0.0/8"]}"#);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains("local address 127.0.0.1 toward 127.0.0.1:"),
        "{shown}"
    );
    assert!(shown.contains("10.0.0.0/8"), "{shown}");
    assert!(shown.contains("nothing was sent"), "{shown}");
    assert!(api.requests().is_empty(), "the key reached the server");
    assert_no_secret(&out, KEY_A);
}

#[test]
fn test_api_key_from_inside_the_ranges_passes() {
    let api = Server::anthropic(&[KEY_A]);
    let env = restricted(
        &api,
        r#"{"ipRestrictions": ["192.168.0.0/16", "127.0.0.0/8"]}"#,
    );
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(api.requests().len(), 1);
}

#[test]
fn an_ipv6_range_does_not_admit_an_ipv4_source() {
    let api = Server::anthropic(&[KEY_A]);
    let env = restricted(&api, r#"{"ipRestrictions": ["::1/128"]}"#);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    assert!(text(&out).contains("127.0.0.1"), "{}", text(&out));
    assert!(text(&out).contains("::1/128"), "{}", text(&out));
    assert!(api.requests().is_empty());
}

#[test]
fn a_v4_mapped_range_admits_its_ipv4_addresses() {
    let api = Server::anthropic(&[KEY_A]);
    let env = restricted(&api, r#"{"ipRestrictions": ["::ffff:127.0.0.0/104"]}"#);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn an_empty_list_means_no_restriction() {
    let api = Server::anthropic(&[KEY_A]);
    let env = restricted(&api, r#"{"ipRestrictions": []}"#);
    env.claude().arg("--test-api-key").assert().success();
}

#[test]
fn login_from_outside_the_ranges_never_exchanges_a_code() {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(
        &server,
        "",
        r#", "security": {"ipRestrictions": ["10.0.0.0/8"]}"#,
    );
    let out = env.run_with_stdin(&["--login", "--no-browser"], "");
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    assert!(
        text(&out).contains("local address 127.0.0.1"),
        "{}",
        text(&out)
    );
    assert_eq!(server.token_requests("authorization_code"), 0);
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn a_public_address_outside_the_ranges_is_refused_and_labelled() {
    let api = Server::anthropic(&[KEY_A]);
    let echo = echo("203.0.113.9\n");
    let env = restricted(
        &api,
        &format!(
            r#"{{"ipRestrictions": ["127.0.0.0/8"], "ipCheckUrl": "{}/ip"}}"#,
            echo.url()
        ),
    );
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    let expected = format!("public address 203.0.113.9 according to {}/ip", echo.url());
    assert!(text(&out).contains(&expected), "{}", text(&out));
    assert_eq!(echo.requests().len(), 1);
    assert_eq!(echo.requests()[0].header("x-api-key"), None);
    assert!(api.requests().is_empty(), "the key reached the server");
}

#[test]
fn a_public_address_inside_the_ranges_passes() {
    let api = Server::anthropic(&[KEY_A]);
    let echo = Server::scripted(vec![Reply::json(200, r#"{"ip": "127.0.0.1"}"#)]);
    let env = restricted(
        &api,
        &format!(
            r#"{{"ipRestrictions": ["127.0.0.0/8"], "ipCheckUrl": "{}"}}"#,
            echo.url()
        ),
    );
    let out = env.run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let expected = format!(
        "public address 127.0.0.1 according to {}/ is in 127.0.0.0/8",
        echo.url()
    );
    assert!(text(&out).contains(&expected), "{}", text(&out));
}

#[test]
fn an_echo_service_that_fails_stops_the_request() {
    let api = Server::anthropic(&[KEY_A]);
    let echo = echo("<html>captive portal</html>");
    let env = restricted(
        &api,
        &format!(
            r#"{{"ipRestrictions": ["127.0.0.0/8"], "ipCheckUrl": "{}"}}"#,
            echo.url()
        ),
    );
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    assert!(
        text(&out).contains("public address could not be learned"),
        "{}",
        text(&out)
    );
    assert!(
        !text(&out).contains("captive portal"),
        "echoed a stranger's answer"
    );
    assert!(api.requests().is_empty());
}

#[test]
fn a_plain_http_check_url_off_this_machine_is_a_config_error() {
    let api = Server::anthropic(&[KEY_A]);
    let env = restricted(
        &api,
        r#"{"ipRestrictions": ["127.0.0.0/8"], "ipCheckUrl": "http://ip.example.com/"}"#,
    );
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("security.ipCheckUrl"), "{}", text(&out));
}

#[test]
fn the_organization_allow_list_403_is_ip_restricted() {
    let api = Server::scripted(vec![Reply::json(403, ALLOW_LIST_403)]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key", "--json"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "ip_restricted", "{doc}");
    assert!(
        doc["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("allowed IP ranges"),
        "{doc}"
    );
    assert_no_secret(&out, KEY_A);
}

#[test]
fn a_proxy_in_use_is_named_and_its_route_checked() {
    // Nothing listens as the proxy: a request that went out would fail differently.
    let proxy = Server::scripted(vec![Reply::json(502, "{}")]);
    let env =
        TestEnv::env_key("https://api.anthropic.com", KEY_A).with("HTTPS_PROXY", &proxy.url());
    env.write_config(r#"{"security": {"ipRestrictions": ["10.0.0.0/8"]}}"#);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    let expected = format!(
        "local address 127.0.0.1 toward the proxy {} (HTTPS_PROXY, in use for api.anthropic.com)",
        proxy.addr
    );
    assert!(text(&out).contains(&expected), "{}", text(&out));
    assert!(proxy.requests().is_empty());
}

#[test]
fn test_auth_shows_the_ip_step() {
    let api = Server::anthropic(&[KEY_A]);
    let env = restricted(&api, r#"{"ipRestrictions": ["127.0.0.0/8"]}"#);
    let out = env.run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let expected = format!(
        "✓ ip policy         local address 127.0.0.1 toward {} is in 127.0.0.0/8",
        api.addr
    );
    assert!(stdout.contains(&expected), "{stdout}");

    let refused = restricted(&api, r#"{"ipRestrictions": ["10.0.0.0/8"]}"#);
    let before = api.requests().len();
    let out = refused.run(&["--test-auth", "--json"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    let doc = json_stdout(&out);
    let step = |name: &str| {
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(step("ip policy")["state"], "failed", "{doc}");
    assert_eq!(step("ip policy")["error"]["code"], "ip_restricted");
    assert_eq!(step("server")["state"], "skipped");
    assert_eq!(api.requests().len(), before, "test-auth sent the key");

    let open = TestEnv::env_key(&api.url(), KEY_A);
    let stdout = String::from_utf8_lossy(&open.run(&["--test-auth"]).stdout).to_string();
    assert!(
        stdout.contains("– ip policy         skipped: no ipRestrictions configured"),
        "{stdout}"
    );
}

#[test]
fn status_shows_the_ranges_offline() {
    // No server at all: status never goes to the network.
    let env = TestEnv::env_key("http://127.0.0.1:9", KEY_A);
    env.write_config(r#"{"security": {"ipRestrictions": ["10.1.2.3/8", "::1"]}}"#);
    let doc = env.status_json();
    assert_eq!(
        doc["ipRestrictions"]["ranges"],
        serde_json::json!(["10.0.0.0/8", "::1/128"])
    );
    assert_eq!(doc["ipRestrictions"]["checkedBeforeEachRequest"], true);
    let out = env.run(&["--auth-status"]);
    assert!(
        text(&out).contains(
            "ip ranges:    10.0.0.0/8, ::1/128 (the local address is checked before each request)"
        ),
        "{}",
        text(&out)
    );
    let open = TestEnv::env_key("http://127.0.0.1:9", KEY_A);
    assert!(open.status_json().get("ipRestrictions").is_none());
}

#[test]
fn a_refusal_is_an_event() {
    let api = Server::anthropic(&[KEY_A]);
    let env = restricted(&api, r#"{"ipRestrictions": ["10.0.0.0/8"]}"#);
    let out = env.run(&["-v", "--test-api-key"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    assert!(
        text(&out).contains("local address 127.0.0.1 is outside security.ipRestrictions: nothing sent to 127.0.0.1:"),
        "{}",
        text(&out)
    );
}

/// Adds `security` to the config file `env` already has.
fn restrict_existing(env: &TestEnv, security: serde_json::Value) {
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&text).unwrap();
    config["security"] = security;
    env.write_config(&config.to_string());
}

#[test]
fn refresh_and_revocation_from_outside_the_ranges_send_nothing() {
    const T0: u64 = 1_800_000_000;
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", "").with("CLAUDE_TEST_NOW", &T0.to_string());
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    restrict_existing(&env, serde_json::json!({"ipRestrictions": ["10.0.0.0/8"]}));
    let env = env.with("CLAUDE_TEST_NOW", &(T0 + 3600).to_string());

    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    assert_eq!(server.token_requests("refresh_token"), 0);

    let out = env.run(&["--logout", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["loggedOut"][0]["revoked"], false, "{doc}");
    assert_eq!(doc["loggedOut"][0]["revocationError"], "ip_restricted");
    assert!(server.revoked_tokens().is_empty());
}
