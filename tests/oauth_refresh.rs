//! Token refresh: before use when stale, once across many processes, rotation-safe, and
//! never destroying a good token set.

mod common;

use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer, TokenMode};
use common::*;
use std::process::Stdio;

const T0: u64 = 1_800_000_000;
const HOUR: u64 = 3600;

fn logged_in(options: OAuthOptions, extra: &str) -> (OAuthServer, TestEnv) {
    let server = OAuthServer::start(options);
    let env = oauth_env(&server, "", extra).with("CLAUDE_TEST_NOW", &T0.to_string());
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    (server, env)
}

fn at(env: TestEnv, now: u64) -> TestEnv {
    env.with("CLAUDE_TEST_NOW", &now.to_string())
}

fn print_token(env: &TestEnv) -> std::process::Output {
    env.run(&["--print-token"])
}

#[test]
fn stale_token_is_refreshed_before_use_and_the_rotated_refresh_token_is_kept() {
    let (server, env) = logged_in(OAuthOptions::default(), "");
    let first = print_token(&env);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(
        server.token_requests("refresh_token"),
        0,
        "a fresh token is used as is"
    );

    let env = at(env, T0 + HOUR);
    let second = print_token(&env);
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(server.token_requests("refresh_token"), 1);
    assert_ne!(first.stdout, second.stdout, "a new access token");

    // The rotated refresh token was saved: the next refresh presents it, not the spent one.
    let env = at(env, T0 + 2 * HOUR);
    assert!(print_token(&env).status.success());
    assert_eq!(server.token_requests("refresh_token"), 2);
    assert!(!server.grant_revoked(), "an old refresh token was reused");
    let token = String::from_utf8(print_token(&env).stdout).unwrap();
    assert_no_secret_in_files(env.home.path(), token.trim());
}

#[test]
fn eight_processes_with_an_expired_token_send_one_refresh_per_round() {
    let (server, env) = logged_in(OAuthOptions::default(), "");
    let mut env = env;
    let rounds = 20;
    let started = std::time::Instant::now();
    for round in 1..=rounds {
        env.set("CLAUDE_TEST_NOW", &(T0 + round * HOUR).to_string());
        let children: Vec<_> = (0..8)
            .map(|_| {
                env.std_command()
                    .args(["--print-token", "-q"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        for out in &outputs {
            assert!(out.status.success(), "round {round}: {}", text(out));
        }
        let tokens: std::collections::HashSet<_> =
            outputs.iter().map(|o| o.stdout.clone()).collect();
        assert_eq!(
            tokens.len(),
            1,
            "round {round}: every process uses the one refreshed token"
        );
        assert_eq!(
            server.token_requests("refresh_token"),
            round as usize,
            "round {round}: exactly one refresh"
        );
    }
    assert!(!server.grant_revoked(), "the grant survived");
    eprintln!("{rounds} rounds × 8 processes in {:?}", started.elapsed());
}

#[test]
fn invalid_grant_is_expired_token_and_keeps_the_stored_tokens() {
    let (server, env) = logged_in(OAuthOptions::default(), "");
    let env = at(env, T0 + HOUR);
    server.set_token_mode(TokenMode::InvalidGrant);
    let out = print_token(&env);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("claude --login"), "{}", text(&out));
    server.set_token_mode(TokenMode::Normal);
    let again = print_token(&env);
    assert!(
        again.status.success(),
        "one refusal must not destroy the token set: {}",
        text(&again)
    );
}

#[test]
fn server_error_during_refresh_is_a_network_error_and_nothing_is_lost() {
    let (server, env) = logged_in(OAuthOptions::default(), "");
    let env = at(env, T0 + HOUR);
    server.set_token_mode(TokenMode::ServerError);
    let out = print_token(&env);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out));
    server.set_token_mode(TokenMode::Html);
    assert_eq!(print_token(&env).status.code(), Some(14));
    server.set_token_mode(TokenMode::Normal);
    assert!(print_token(&env).status.success());
}

#[test]
fn refresh_answer_without_a_refresh_token_keeps_the_old_one() {
    let options = OAuthOptions {
        return_refresh_token_on_refresh: false,
        ..OAuthOptions::default()
    };
    let (server, env) = logged_in(options, "");
    let env = at(env, T0 + HOUR);
    assert!(print_token(&env).status.success());
    let env = at(env, T0 + 2 * HOUR);
    let out = print_token(&env);
    assert!(
        out.status.success(),
        "the kept refresh token still works: {}",
        text(&out)
    );
    assert_eq!(server.token_requests("refresh_token"), 2);
}

#[test]
fn auto_refresh_off_means_a_stale_token_is_expired() {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", "").with("CLAUDE_TEST_NOW", &T0.to_string());
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    env.write_config(&config.replacen(
        r#""authentication": {"#,
        r#""authentication": {"autoRefresh": false, "#,
        1,
    ));
    assert!(browser_login(&env, &[]).status.success());
    let env = at(env, T0 + HOUR);
    let out = print_token(&env);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("autoRefresh"));
    assert_eq!(server.token_requests("refresh_token"), 0);
}

#[test]
fn slow_token_endpoint_is_a_network_error_within_the_timeout() {
    let (server, env) = logged_in(OAuthOptions::default(), "");
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    env.write_config(&config.replacen(
        r#""authentication": {"#,
        r#""authentication": {"timeout": 700, "#,
        1,
    ));
    let env = at(env, T0 + HOUR);
    server.set_token_mode(TokenMode::Slow(std::time::Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let out = print_token(&env);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "the timeout was not enforced"
    );
    assert!(text(&out).contains("within 700 ms"), "{}", text(&out));
}
