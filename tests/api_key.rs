//! API keys end to end: set, test, validate, rotate, remove, and every answer the API can give.

mod common;

use common::servers::{Reply, Server};
use common::*;
use predicates::prelude::*;
use std::time::{Duration, Instant};

#[test]
fn set_key_from_stdin_then_status_shows_only_its_fingerprint() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    let out = env.run_with_stdin(&["--set-api-key", "-"], &format!("{KEY_A}\n"));
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("sk-ant-api03-…a1A1"));
    assert_no_secret(&out, KEY_A);

    let status = env.run(&["--auth-status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let doc = json_stdout(&status);
    assert_eq!(doc["configured"], true);
    assert_eq!(doc["source"], "encrypted-file");
    assert_eq!(doc["fingerprint"], "sk-ant-api03-…a1A1");
    assert_eq!(doc["method"], "api-key");
    assert_no_secret(&status, KEY_A);
    assert_no_secret_in_files(env.home.path(), KEY_A);
}

#[test]
fn set_key_sends_the_key_and_api_version_headers() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    env.store_key(KEY_A);
    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/models");
    assert_eq!(requests[0].header("x-api-key"), Some(KEY_A));
    assert_eq!(requests[0].header("anthropic-version"), Some("2023-06-01"));
}

#[test]
fn rejected_key_is_not_stored() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_B);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("sk-ant-api03-…b2B2"));
    assert_no_secret(&out, KEY_B);
    assert!(!env.state_dir().join("credentials.enc").exists());
    env.claude().arg("--auth-status").assert().code(4);
}

#[test]
fn malformed_key_is_refused_offline() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    let out = env.run_with_stdin(&["--validate-key", "-"], "sk-ant-api03-short");
    assert_eq!(out.status.code(), Some(5));
    assert!(text(&out).contains("too short"), "{}", text(&out));
    let out = env.run_with_stdin(&["--validate-key", "-"], "hello-world-this-is-not-a-key");
    assert_eq!(out.status.code(), Some(5));
    assert!(text(&out).contains("does not start with `sk-ant-`"));
    assert!(
        api.requests().is_empty(),
        "a malformed key must never reach the network"
    );
}

#[test]
fn key_with_a_line_break_never_becomes_a_header() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::new()
        .api(&api.url())
        .with("ANTHROPIC_API_KEY", &format!("{KEY_A}\nX-Injected: 1"));
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("line break"));
    assert!(api.requests().is_empty());
}

#[test]
fn validate_key_from_argv_warns_about_ps() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::new().api(&api.url());
    let out = env.run(&["--validate-key", KEY_A]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`ps`"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("was not stored"));
    assert_no_secret(&out, KEY_A);
}

#[test]
fn validate_key_without_a_value_reads_stdin_and_does_not_warn() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::new().api(&api.url());
    let out = env.run_with_stdin(&["--validate-key"], KEY_A);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is a valid API key"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("`ps`"));
    assert_eq!(api.requests()[0].header("x-api-key"), Some(KEY_A));
    assert_no_secret(&out, KEY_A);
}

#[test]
fn test_api_key_names_the_source_and_what_it_shadows() {
    let api = Server::anthropic(&[KEY_A, KEY_B]);
    let mut env = TestEnv::with_stored_key(&api.url(), KEY_A);
    env.set("ANTHROPIC_API_KEY", KEY_B);

    let out = env.run(&["--test-api-key", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["source"], "env:ANTHROPIC_API_KEY");
    assert_eq!(doc["fingerprint"], "sk-ant-api03-…b2B2");
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_B)
    );

    let status = env.run(&["--auth-status", "--json"]);
    let doc = json_stdout(&status);
    assert_eq!(doc["source"], "env:ANTHROPIC_API_KEY");
    assert_eq!(doc["shadowed"], serde_json::json!(["encrypted-file"]));
    let human = env.run(&["--auth-status"]);
    let human_text = String::from_utf8_lossy(&human.stdout);
    assert!(
        human_text.contains("shadowed:") && human_text.contains("sk-ant-api03-…a1A1"),
        "{human_text}"
    );
    for out in [&status, &human] {
        assert_no_secret(out, KEY_A);
        assert_no_secret(out, KEY_B);
    }
}

#[test]
fn api_key_flag_wins_over_everything_and_can_come_from_stdin() {
    let api = Server::anthropic(&[KEY_C]);
    let env = TestEnv::env_key(&api.url(), KEY_B);
    let out = env.run_with_stdin(&["--test-api-key", "--api-key", "-", "--json"], KEY_C);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json_stdout(&out)["source"], "flag");
    let out = env.run(&["--auth-status", "--api-key", KEY_C]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("argv"));
    assert_no_secret(&out, KEY_C);
}

#[test]
fn unauthorized_key_exits_5_and_says_where_it_came_from() {
    let api = Server::anthropic(&[]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "error: the API rejected the key sk-ant-api03-…a1A1 (HTTP 401, authentication_error)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint:") && stderr.contains("ANTHROPIC_API_KEY"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("echo of x-api-key"),
        "server messages are not echoed"
    );
    assert_no_secret(&out, KEY_A);
}

#[test]
fn json_error_is_one_document_on_stdout() {
    let api = Server::anthropic(&[]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key", "--json"]);
    assert_eq!(out.status.code(), Some(5));
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "invalid_api_key");
    assert!(doc["error"]["message"].as_str().unwrap().contains("401"));
    assert!(doc["error"]["hint"].is_string());
    assert_no_secret(&out, KEY_A);
}

#[test]
fn forbidden_key_is_insufficient_permissions() {
    let api = Server::scripted(vec![Reply::error(403, "permission_error")]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key", "--json"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        json_stdout(&out)["error"]["code"],
        "insufficient_permissions"
    );
}

#[test]
fn rate_limit_waits_for_retry_after_then_succeeds() {
    let api = Server::scripted(vec![
        Reply::error(429, "rate_limit_error").header("Retry-After", "1"),
        Reply::models(),
    ]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let started = Instant::now();
    let out = env.run(&["--test-api-key", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was not honoured"
    );
    assert_eq!(api.requests().len(), 2);
    assert_eq!(json_stdout(&out)["attempts"], 2);
}

#[test]
fn rate_limit_that_persists_is_rate_limited_after_retry_attempts() {
    let api = Server::scripted(vec![
        Reply::error(429, "rate_limit_error").header("Retry-After", "0")
    ]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    env.write_config(r#"{"authentication": {"retryAttempts": 2}}"#);
    let out = env.run(&["--test-api-key", "--json"]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    assert_eq!(json_stdout(&out)["error"]["code"], "rate_limited");
    assert_eq!(api.requests().len(), 3, "one try and two retries");
}

#[test]
fn server_error_is_retried_with_backoff() {
    let api = Server::scripted(vec![Reply::error(500, "api_error"), Reply::models()]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(api.requests().len(), 2);
}

#[test]
fn persistent_server_error_is_a_network_error() {
    let api = Server::scripted(vec![Reply::error(503, "overloaded_error")]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key", "--json"]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out));
    assert_eq!(json_stdout(&out)["error"]["code"], "network_error");
}

#[test]
fn slow_answer_past_the_timeout_is_a_network_error_in_time() {
    let api = Server::scripted(vec![Reply::models().delayed(Duration::from_secs(5))]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    env.write_config(r#"{"authentication": {"timeout": 700}}"#);
    let started = Instant::now();
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the timeout was not enforced"
    );
    assert!(text(&out).contains("within 700 ms"), "{}", text(&out));
}

#[test]
fn html_answer_is_a_provider_error_not_a_crash() {
    let api = Server::scripted(vec![Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: "<html><body>Hotel Wi-Fi login</body></html>".into(),
        delay: Duration::ZERO,
    }]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(14), "{}", text(&out));
    assert!(text(&out).contains("got text/html"));
}

#[test]
fn redirect_is_not_followed_with_the_key() {
    let elsewhere = Server::anthropic(&[KEY_A]);
    let api = Server::scripted(vec![Reply::json(302, "{}").header(
        "Location",
        &format!("{}/v1/models?token=x", elsewhere.url()),
    )]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(14), "{}", text(&out));
    assert!(text(&out).contains("redirects are not followed"));
    assert!(
        elsewhere.requests().is_empty(),
        "the key was sent to the redirect target"
    );
    assert!(
        !text(&out).contains("token=x"),
        "the redirect's query is not printed"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let env = TestEnv::env_key("http://api.example.invalid", KEY_A);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("https://"));
}

#[test]
fn rotate_checks_the_new_key_before_swapping() {
    let api = Server::anthropic(&[KEY_A, KEY_B]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);

    let bad = env.run_with_stdin(&["--rotate-key", "-"], KEY_C);
    assert_eq!(bad.status.code(), Some(5), "{}", text(&bad));
    let status = env.status_json();
    assert_eq!(
        status["fingerprint"], "sk-ant-api03-…a1A1",
        "a rejected new key must not replace the old one"
    );

    let same = env.run_with_stdin(&["--rotate-key", "-"], KEY_A);
    assert_eq!(same.status.code(), Some(2), "{}", text(&same));

    let out = env.run_with_stdin(&["--rotate-key", "-", "--json"], KEY_B);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["previousFingerprint"], "sk-ant-api03-…a1A1");
    assert_eq!(doc["fingerprint"], "sk-ant-api03-…b2B2");
    let status = env.status_json();
    assert_eq!(status["fingerprint"], "sk-ant-api03-…b2B2");
    assert_eq!(
        status["rotation"]["previousFingerprint"],
        "sk-ant-api03-…a1A1"
    );
    env.claude().arg("--test-api-key").assert().success();
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_B)
    );
    assert_no_secret_in_files(env.home.path(), KEY_A);
    assert_no_secret_in_files(env.home.path(), KEY_B);
}

#[test]
fn rotate_without_a_stored_key_says_how_to_store_one() {
    let env = TestEnv::encrypted();
    let out = env.run_with_stdin(&["--rotate-key", "-"], KEY_B);
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out).contains("--set-api-key"));
}

#[test]
fn status_warns_when_rotation_is_due() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted()
        .api(&api.url())
        .with("CLAUDE_TEST_NOW", "1700000000");
    env.write_config(
        r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
            "security": {"keyRotation": {"enabled": true, "interval": 2592000}}}"#,
    );
    env.store_key(KEY_A);
    let fresh = env.status_json();
    assert_eq!(fresh["rotation"]["due"], false);
    let later = env.with(
        "CLAUDE_TEST_NOW",
        &(1_700_000_000u64 + 31 * 86_400).to_string(),
    );
    let out = later.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("--rotate-key"),
        "{}",
        text(&out)
    );
}

#[test]
fn remove_forgets_the_key_and_is_idempotent() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    env.claude()
        .arg("--remove-api-key")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Removed the stored API key sk-ant-api03-…a1A1",
        ));
    env.claude().arg("--auth-status").assert().code(4);
    env.claude()
        .arg("--remove-api-key")
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to remove"));
}

#[test]
fn no_key_at_all_exits_4_and_says_how_to_get_one() {
    let env = TestEnv::new();
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out).contains("--set-api-key"));
    let status = env.run(&["--auth-status"]);
    assert_eq!(status.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&status.stdout).contains("claude --set-api-key"));
}

#[test]
fn two_actions_are_a_usage_error_naming_both() {
    let env = TestEnv::new();
    env.claude()
        .args(["--set-api-key", "--remove-api-key"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--set-api-key")
                .and(predicate::str::contains("--remove-api-key")),
        );
    let out = env.run(&["--login", "--logout", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_stdout(&out)["error"]["code"], "usage");
}

#[test]
fn empty_stdin_is_a_usage_error_and_changes_nothing() {
    let env = TestEnv::encrypted();
    let out = env.run_with_stdin(&["--set-api-key", "-"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("stdin was empty"));
}

#[test]
fn status_does_not_call_a_malformed_env_key_authenticated() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", "hello");
    let out = env.run(&["--auth-status", "--json"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["authenticated"], false);
    assert_eq!(doc["credentials"][0]["state"], "invalid");
    assert!(doc["nextStep"]
        .as_str()
        .unwrap()
        .contains("unset ANTHROPIC_API_KEY"));
    assert!(!text(&out).contains("hello"), "the value is not echoed");
}

#[test]
fn empty_env_key_is_treated_as_unset() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", "");
    let doc = env.status_json();
    assert_eq!(doc["credentials"], serde_json::json!([]));
}

#[test]
fn oversized_answer_is_refused_not_buffered() {
    let huge = format!(r#"{{"data":[],"pad":"{}"}}"#, "x".repeat(2 << 20));
    let api = Server::scripted(vec![Reply::json(200, &huge)]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(14), "{}", text(&out));
    assert!(text(&out).contains("more than 1 MiB"));
}

#[test]
fn a_key_typed_in_the_wrong_place_is_not_echoed_by_usage_errors() {
    let env = TestEnv::new();
    for args in [
        vec![KEY_A],
        vec!["--auth-status", KEY_A],
        vec!["--json", KEY_A],
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("sk-ant-api03-…a1A1"), "{}", text(&out));
        assert_no_secret(&out, KEY_A);
    }
}

#[test]
fn credentials_of_any_shape_are_not_echoed_by_usage_errors() {
    let env = TestEnv::new();
    for secret in [
        FAKE_GITHUB_TOKEN,
        FAKE_AWS_SECRET,
        FAKE_JWT,
        FAKE_GITLAB_TOKEN,
        FAKE_HF_TOKEN,
    ] {
        for args in [
            vec![secret],
            vec!["--auth-status", secret],
            vec!["--frobnicate", secret],
            vec!["--json", secret],
            vec!["--auth-status", "--json", secret],
        ] {
            let out = env.run(&args);
            assert_eq!(out.status.code(), Some(2), "{}", text(&out));
            assert_not_echoed(&out, secret);
            if args.contains(&"--json") {
                assert_eq!(json_stdout(&out)["error"]["code"], "usage");
            }
        }
    }
}
