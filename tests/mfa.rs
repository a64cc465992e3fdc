//! MFA end to end: TOTP enrollment without a terminal, the gate before `--set-api-key`,
//! `--rotate-key` and `--login`, ±1 step, replays across processes, the back-off a new
//! process cannot skip, `sessionTtl`, SMS through a delivery command, `--reset-auth`, and
//! the secret never leaving the enrollment output and the store. The clock is fixed with
//! `CLAUDE_TEST_NOW`; codes are computed with totp-rs from the `secret=` of the URI that
//! `--enable-mfa --json` prints.

mod common;

use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer};
use common::servers::{Reply, Server};
use common::*;

/// A step boundary (1_800_000_000 / 30 is whole), so `T0 + 30 * n` is step `n` later.
const T0: u64 = 1_800_000_000;
const STORE: &str = r#""authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}}"#;

/// An `encrypted-file` user whose policy requires MFA (`security.mfa` = `{"enabled": true}`
/// plus `mfa_extra`), the clock at `T0`, the API at `api`.
fn mfa_env(api: &str, mfa_extra: &str) -> TestEnv {
    let env = TestEnv::encrypted()
        .api(api)
        .with("CLAUDE_TEST_NOW", &T0.to_string())
        .with("USER", "ada");
    env.write_config(&format!(
        r#"{{{STORE}, "security": {{"mfa": {{"enabled": true {mfa_extra}}}}}}}"#
    ));
    env
}

fn at(env: &mut TestEnv, time: u64) {
    env.set("CLAUDE_TEST_NOW", &time.to_string());
}

/// The 6-digit code of `secret` (base32) at `time`.
fn code(secret: &str, time: u64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).expect("base32 secret");
    totp_rs::Builder::new()
        .with_secret(bytes)
        .build()
        .expect("a valid TOTP")
        .generate(time)
        .to_string()
}

/// `secret=` of an otpauth:// URI.
fn secret_of(uri: &str) -> String {
    let query = uri.split_once('?').expect("a query").1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("secret="))
        .expect("secret=")
        .to_string()
}

/// Starts an enrollment without a terminal and returns the URI it printed.
fn start_enrollment(env: &TestEnv) -> String {
    let out = env.run(&["--enable-mfa", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["pending"], true);
    doc["uri"].as_str().expect("uri").to_string()
}

/// Enrolls and confirms at the env's clock (`now`); returns the secret.
fn enroll(env: &TestEnv, now: u64) -> String {
    let secret = secret_of(&start_enrollment(env));
    let out = env.run_with_stdin(&["--enable-mfa", "--mfa-code", "-"], &code(&secret, now));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    secret
}

/// `--set-api-key -` with `key` on stdin and `code` in CLAUDE_MFA_CODE (when given).
fn set_key(env: &TestEnv, key: &str, code: Option<&str>) -> std::process::Output {
    let mut cmd = env.claude();
    cmd.args(["--set-api-key", "-"]).write_stdin(key);
    if let Some(code) = code {
        cmd.env("CLAUDE_MFA_CODE", code);
    }
    cmd.output().unwrap()
}

fn stored_fingerprint(env: &TestEnv) -> serde_json::Value {
    env.status_json()["fingerprint"].clone()
}

fn error_code(out: &std::process::Output) -> String {
    let all = text(out);
    all.lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_default()
        .to_string()
}

/// No trace of the secret (or of the URI that carries it) in `out` or in any file but the
/// encrypted store, where it is sealed.
fn assert_secret_kept(env: &TestEnv, secret: &str, out: &std::process::Output) {
    assert!(
        !text(out).contains(secret),
        "TOTP secret in output:\n{}",
        text(out)
    );
    assert_no_secret_in_files(env.home.path(), secret);
    assert_no_secret_in_files(env.home.path(), "otpauth://");
}

#[test]
fn enrollment_without_a_terminal_prints_the_uri_and_waits_for_a_first_code() {
    let api = Server::anthropic(&[KEY_A]);
    let env = mfa_env(&api.url(), "");
    let uri = start_enrollment(&env);
    let secret = secret_of(&uri);
    assert_eq!(
        uri,
        format!("otpauth://totp/Claude:ada?secret={secret}&issuer=Claude&algorithm=SHA1&digits=6&period=30")
    );
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let status = env.status_json();
    assert_eq!(status["mfa"]["pending"], true);
    assert_eq!(status["mfa"]["enrolled"], false);
    assert_eq!(status["mfa"]["required"], true);

    // The plain text form is the URI alone on stdout, for scripts.
    let plain = env.run(&["--enable-mfa"]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain));
    let second = String::from_utf8(plain.stdout.clone()).unwrap();
    assert!(second
        .trim()
        .starts_with("otpauth://totp/Claude:ada?secret="));
    let secret = secret_of(second.trim());
    assert!(text(&plain).contains("--enable-mfa --mfa-code -"));

    let confirm = env
        .claude()
        .args(["--enable-mfa", "--mfa-code", "-", "-v"])
        .write_stdin(code(&secret, T0))
        .output()
        .unwrap();
    assert_eq!(confirm.status.code(), Some(0), "{}", text(&confirm));
    assert!(text(&confirm).contains("enrolled"), "{}", text(&confirm));
    assert!(
        !text(&confirm).contains(&code(&secret, T0)),
        "the code in -v"
    );

    let status = env.run(&["--auth-status", "--json"]);
    let doc = json_stdout(&status);
    assert_eq!(doc["mfa"]["enrolled"], true);
    assert_eq!(doc["mfa"]["pending"], false);
    assert_eq!(doc["mfa"]["methods"], serde_json::json!(["totp"]));
    assert!(doc["mfa"]["lastVerifiedAt"].is_string());
    let human = env.run(&["--auth-status"]);
    assert!(
        text(&human).contains("mfa:          required (totp); TOTP enrolled"),
        "{}",
        text(&human)
    );
    let test_auth = env.run(&["--test-auth", "--json"]);
    let steps = json_stdout(&test_auth)["steps"].clone();
    let mfa = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mfa")
        .unwrap()
        .clone();
    assert_eq!(mfa["state"], "ok", "{mfa}");
    assert!(
        mfa["detail"].as_str().unwrap().contains("TOTP enrolled"),
        "{mfa}"
    );
    for out in [&confirm, &status, &human, &test_auth] {
        assert_secret_kept(&env, &secret, out);
    }
}

#[test]
fn a_wrong_code_leaves_the_enrollment_pending() {
    let env = mfa_env("http://127.0.0.1:9", "");
    let secret = secret_of(&start_enrollment(&env));
    let wrong = if code(&secret, T0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let out = env.run_with_stdin(&["--enable-mfa", "--mfa-code", "-"], wrong);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(error_code(&out).contains("wrong"), "{}", text(&out));
    let status = env.status_json();
    assert_eq!(status["mfa"]["enrolled"], false);
    assert_eq!(status["mfa"]["pending"], true);
    // A code given with nothing pending is a usage error, not a silent new enrollment.
    let fresh = mfa_env("http://127.0.0.1:9", "");
    let out = fresh.run_with_stdin(&["--enable-mfa", "--mfa-code", "-"], "123456");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn set_api_key_without_a_code_exits_10_naming_both_ways_and_stores_nothing() {
    let api = Server::anthropic(&[KEY_A]);
    let env = mfa_env(&api.url(), "");
    enroll(&env, T0);
    let out = set_key(&env, KEY_A, None);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("--mfa-code -") && all.contains("CLAUDE_MFA_CODE"),
        "{all}"
    );
    assert!(
        api.requests().is_empty(),
        "the key was sent before the code"
    );
    assert_eq!(stored_fingerprint(&env), serde_json::Value::Null);
    assert_no_secret(&out, KEY_A);

    let json = env.run_with_stdin(&["--set-api-key", "-", "--json"], KEY_A);
    assert_eq!(json_stdout(&json)["error"]["code"], "mfa_required");
}

#[test]
fn set_api_key_with_a_code_on_stdin_or_in_the_environment_is_stored() {
    let api = Server::anthropic(&[KEY_A, KEY_B]);
    let mut env = mfa_env(&api.url(), "");
    let secret = enroll(&env, T0);
    // The confirming code's step is spent: the next step's code, a step later.
    at(&mut env, T0 + 30);
    let out = env
        .claude()
        .args(["--set-api-key", KEY_A, "--mfa-code", "-"])
        .write_stdin(code(&secret, T0 + 30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stored_fingerprint(&env), "sk-ant-api03-…a1A1");

    at(&mut env, T0 + 60);
    let out = env
        .claude()
        .args(["--rotate-key", "-"])
        .write_stdin(KEY_B)
        .env("CLAUDE_MFA_CODE", code(&secret, T0 + 60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(stored_fingerprint(&env), "sk-ant-api03-…b2B2");

    // Rotation needs a code too.
    at(&mut env, T0 + 90);
    let out = env.run_with_stdin(&["--rotate-key", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));

    // The key and the code cannot both come from stdin.
    let out = env.run_with_stdin(&["--set-api-key", "-", "--mfa-code", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("CLAUDE_MFA_CODE"), "{}", text(&out));
}

#[test]
fn policy_without_an_enrollment_says_to_run_enable_mfa_first() {
    let api = Server::anthropic(&[KEY_A]);
    let env = mfa_env(&api.url(), "");
    let out = set_key(&env, KEY_A, Some("123456"));
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(text(&out).contains("claude --enable-mfa"), "{}", text(&out));
    assert!(api.requests().is_empty());
    let status = env.status_json();
    assert!(
        status["warnings"].to_string().contains("--enable-mfa"),
        "{status}"
    );
}

#[test]
fn a_code_is_accepted_once_even_by_two_processes_at_the_same_time() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = mfa_env(&api.url(), "");
    let secret = enroll(&env, T0);
    at(&mut env, T0 + 30);
    let fresh = code(&secret, T0 + 30);
    let spawn = || {
        let mut cmd = env.std_command();
        cmd.args(["--set-api-key", "-"])
            .env("CLAUDE_MFA_CODE", &fresh)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(KEY_A.as_bytes())
            .unwrap();
        child
    };
    let (a, b) = (spawn(), spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let codes: Vec<_> = outs.iter().map(|o| o.status.code()).collect();
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(10)),
        "exactly one may pass: {codes:?}\n{}\n{}",
        text(&outs[0]),
        text(&outs[1])
    );
    let refused = outs.iter().find(|o| o.status.code() == Some(10)).unwrap();
    assert!(
        error_code(refused).contains("already used"),
        "{}",
        text(refused)
    );
    assert_eq!(api.requests().len(), 1, "the refused process sent nothing");

    // And later, in a third process, still refused.
    let again = set_key(&env, KEY_A, Some(&fresh));
    assert_eq!(again.status.code(), Some(10), "{}", text(&again));
}

#[test]
fn one_step_either_side_is_accepted_two_are_not_and_an_older_step_stays_spent() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = mfa_env(&api.url(), "");
    let secret = enroll(&env, T0);
    let now = T0 + 300;
    at(&mut env, now);
    for offset in [-60i64, 60] {
        let out = set_key(
            &env,
            KEY_A,
            Some(&code(&secret, now.saturating_add_signed(offset))),
        );
        assert_eq!(
            out.status.code(),
            Some(10),
            "±2 steps ({offset} s): {}",
            text(&out)
        );
    }
    let out = set_key(&env, KEY_A, Some(&code(&secret, now - 30)));
    assert_eq!(out.status.code(), Some(0), "-1 step: {}", text(&out));
    let out = set_key(&env, KEY_A, Some(&code(&secret, now + 30)));
    assert_eq!(out.status.code(), Some(0), "+1 step: {}", text(&out));
    // Step +1 was accepted: the current step is now in the past.
    let out = set_key(&env, KEY_A, Some(&code(&secret, now)));
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(error_code(&out).contains("already used"), "{}", text(&out));
}

#[test]
fn five_failures_back_off_for_30_seconds_even_for_a_new_process() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = mfa_env(&api.url(), "");
    let secret = enroll(&env, T0);
    let now = T0 + 600;
    at(&mut env, now);
    let good = code(&secret, now);
    let wrong = if good == "000000" { "111111" } else { "000000" };
    for attempt in 1..=5 {
        let out = set_key(&env, KEY_A, Some(wrong));
        assert_eq!(
            out.status.code(),
            Some(10),
            "attempt {attempt}: {}",
            text(&out)
        );
    }
    // Every later process, even with the right code, is turned away until 30 s have passed.
    for later in [0, 29] {
        at(&mut env, now + later);
        let out = set_key(&env, KEY_A, Some(&code(&secret, now + later)));
        assert_eq!(
            out.status.code(),
            Some(8),
            "{later} s after: {}",
            text(&out)
        );
        assert!(text(&out).contains("wait"), "{}", text(&out));
    }
    assert!(api.requests().is_empty());
    at(&mut env, now + 30);
    let out = set_key(&env, KEY_A, Some(&code(&secret, now + 30)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn login_needs_a_code_before_the_browser_but_status_and_print_token_do_not() {
    let server = OAuthServer::start(OAuthOptions::default());
    let mut env = oauth_env(
        &server,
        "",
        r#", "security": {"mfa": {"enabled": true, "sessionTtl": 600}}"#,
    )
    .with("CLAUDE_TEST_NOW", &T0.to_string());
    let secret = enroll(&env, T0);

    let out = env.run(&["--login", "--no-browser"]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(server.last_authorization().is_none(), "nothing was sent");

    at(&mut env, T0 + 30);
    env.set("CLAUDE_MFA_CODE", &code(&secret, T0 + 30));
    let out = browser_login(&env, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    env.unset("CLAUDE_MFA_CODE");

    let status = env.run(&["--auth-status"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let token = env.run(&["--print-token"]);
    assert_eq!(token.status.code(), Some(0), "{}", text(&token));

    // Past `sessionTtl`, the session's tokens need a new code.
    at(&mut env, T0 + 30 + 601);
    let stale = env.run(&["--print-token"]);
    assert_eq!(stale.status.code(), Some(10), "{}", text(&stale));
    assert!(text(&stale).contains("sessionTtl"), "{}", text(&stale));
    let renewed = env
        .claude()
        .arg("--print-token")
        .env("CLAUDE_MFA_CODE", code(&secret, T0 + 30 + 601))
        .output()
        .unwrap();
    assert_eq!(renewed.status.code(), Some(0), "{}", text(&renewed));
    let again = env.run(&["--print-token"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "verified again: {}",
        text(&again)
    );
}

/// Rewrites every `key` in the JSON file at `path` to `value`, keeping its mode.
fn rewrite_json(path: &std::path::Path, key: &str, value: u64) {
    fn walk(v: &mut serde_json::Value, key: &str, value: u64) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, inner) in map.iter_mut() {
                    if k == key {
                        *inner = value.into();
                    } else {
                        walk(inner, key, value);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, key, value)),
            _ => {}
        }
    }
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    walk(&mut doc, key, value);
    std::fs::write(path, doc.to_string()).unwrap();
}

#[test]
fn a_verification_or_session_start_in_the_future_does_not_keep_a_session_fresh() {
    let server = OAuthServer::start(OAuthOptions::default());
    let mut env = oauth_env(
        &server,
        "",
        r#", "security": {"mfa": {"enabled": true, "sessionTtl": 600}}"#,
    )
    .with("CLAUDE_TEST_NOW", &T0.to_string());
    let secret = enroll(&env, T0);
    at(&mut env, T0 + 30);
    env.set("CLAUDE_MFA_CODE", &code(&secret, T0 + 30));
    let out = browser_login(&env, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    env.unset("CLAUDE_MFA_CODE");
    let far = T0 + 10 * 365 * 86_400;

    // mfa.json says "verified in ten years": past `sessionTtl`, a code is still needed.
    rewrite_json(&env.state_dir().join("mfa.json"), "lastVerifiedAt", far);
    at(&mut env, T0 + 30 + 601);
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    // Even within it: a future time is not a verification.
    at(&mut env, T0 + 60);
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));

    // The same for a session whose start is in the future (mfa.json honest again).
    let renewed = env
        .claude()
        .arg("--print-token")
        .env("CLAUDE_MFA_CODE", code(&secret, T0 + 60))
        .output()
        .unwrap();
    assert_eq!(renewed.status.code(), Some(0), "{}", text(&renewed));
    rewrite_json(&env.state_dir().join("sessions.json"), "createdAt", far);
    at(&mut env, T0 + 60 + 601);
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
}

#[test]
fn github_login_needs_a_code_before_the_device_flow() {
    let github = Server::scripted(vec![Reply::json(500, "{}")]);
    let env = TestEnv::encrypted().with("CLAUDE_TEST_NOW", &T0.to_string());
    env.write_config(&format!(
        r#"{{{STORE}, "github": {{"clientId": "Iv1.test", "webUrl": "{0}", "apiUrl": "{0}"}},
            "environments": {{"prod": {{"requireMFA": true}}}}}}"#,
        github.url()
    ));
    enroll(&env, T0);
    let out = env.run(&[
        "--login",
        "--provider",
        "github",
        "--no-browser",
        "--env",
        "prod",
    ]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(
        text(&out).contains("environments.prod.requireMFA"),
        "{}",
        text(&out)
    );
    assert!(github.requests().is_empty(), "the device flow started");
}

#[test]
fn reenrolling_needs_a_current_code_and_replaces_the_secret() {
    let mut env = mfa_env("http://127.0.0.1:9", "");
    let old = enroll(&env, T0);
    let out = env.run(&["--enable-mfa"]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));

    at(&mut env, T0 + 30);
    let out = env.run_with_stdin(
        &["--enable-mfa", "--mfa-code", "-", "--json"],
        &code(&old, T0 + 30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let new = secret_of(json_stdout(&out)["uri"].as_str().unwrap());
    assert_ne!(new, old);
    assert_eq!(
        env.status_json()["mfa"]["enrolled"],
        true,
        "the old factor holds until confirmed"
    );

    at(&mut env, T0 + 60);
    let out = env.run_with_stdin(&["--enable-mfa", "--mfa-code", "-"], &code(&new, T0 + 60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(env.status_json()["mfa"]["pending"], false);
    at(&mut env, T0 + 90);
    let out = env.run_with_stdin(&["--enable-mfa", "--mfa-code", "-"], &code(&old, T0 + 90));
    assert_eq!(
        out.status.code(),
        Some(10),
        "the old secret no longer counts: {}",
        text(&out)
    );
}

#[test]
fn reset_auth_keeps_the_enrollment_under_policy_unless_a_code_is_given() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = mfa_env(&api.url(), "");
    let secret = enroll(&env, T0);
    at(&mut env, T0 + 30);
    let out = set_key(&env, KEY_A, Some(&code(&secret, T0 + 30)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Without a code: the credentials go, the factor stays (no re-enrolling to mint keys).
    let out = env.run(&["--reset-auth", "--yes", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json_stdout(&out)["kept"], serde_json::json!(["mfa-totp"]));
    let status = env.status_json();
    assert_eq!(status["mfa"]["enrolled"], true, "{status}");
    assert_eq!(status["fingerprint"], serde_json::Value::Null);
    let out = env.run(&["--enable-mfa"]);
    assert_eq!(
        out.status.code(),
        Some(10),
        "re-enrolling needs a code: {}",
        text(&out)
    );

    // A wrong code removes nothing.
    at(&mut env, T0 + 60);
    let out = set_key(&env, KEY_A, Some(&code(&secret, T0 + 60)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let good = code(&secret, T0 + 90);
    let wrong = if good == "000000" { "111111" } else { "000000" };
    at(&mut env, T0 + 90);
    let out = env
        .claude()
        .args(["--reset-auth", "--yes"])
        .env("CLAUDE_MFA_CODE", wrong)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(text(&out).contains("nothing was removed"), "{}", text(&out));
    assert!(env.status_json()["fingerprint"].is_string());

    // A current code removes the factor with everything else.
    let out = env
        .claude()
        .args(["--reset-auth", "--yes"])
        .env("CLAUDE_MFA_CODE", &good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = env.status_json();
    assert_eq!(status["mfa"]["enrolled"], false);
    assert_eq!(status["fingerprint"], serde_json::Value::Null);
    let out = set_key(&env, KEY_A, Some(&code(&secret, T0 + 120)));
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(
        text(&out).contains("no second factor is enrolled"),
        "{}",
        text(&out)
    );
}

#[test]
fn reset_auth_without_a_policy_removes_the_enrollment() {
    let api = Server::anthropic(&[KEY_A]);
    let env = mfa_env(&api.url(), "");
    enroll(&env, T0);
    env.write_config(&format!("{{{STORE}}}"));
    let out = env.run(&["--reset-auth", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(env.status_json()["mfa"]["enrolled"], false);
}

#[test]
fn back_offs_grow_while_the_guessing_goes_on() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = mfa_env(&api.url(), "");
    let secret = enroll(&env, T0);
    let mut now = T0 + 600;
    let wrong = |t: u64| {
        if code(&secret, t) == "000000" {
            "111111"
        } else {
            "000000"
        }
    };
    for expected in [30, 60] {
        at(&mut env, now);
        for _ in 1..=5 {
            let out = set_key(&env, KEY_A, Some(wrong(now)));
            assert_eq!(out.status.code(), Some(10), "{}", text(&out));
        }
        at(&mut env, now + expected - 1);
        let out = set_key(&env, KEY_A, Some(&code(&secret, now + expected - 1)));
        assert_eq!(
            out.status.code(),
            Some(8),
            "back-off of {expected} s: {}",
            text(&out)
        );
        assert!(text(&out).contains("for another 1 s"), "{}", text(&out));
        now += expected;
    }
    at(&mut env, now);
    let out = set_key(&env, KEY_A, Some(&code(&secret, now)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_code_in_argv_is_warned_about() {
    let api = Server::anthropic(&[KEY_A]);
    let env = mfa_env(&api.url(), "");
    let secret = secret_of(&start_enrollment(&env));
    let out = env.run(&["--enable-mfa", "--mfa-code", &code(&secret, T0)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("`--mfa-code` puts the code in argv"), "{all}");
    assert!(
        all.contains("`--mfa-code -`") && all.contains("CLAUDE_MFA_CODE"),
        "{all}"
    );
    let out = env.run_with_stdin(
        &["--enable-mfa", "--mfa-code", "-"],
        &code(&secret, T0 + 30),
    );
    assert!(!text(&out).contains("argv"), "{}", text(&out));
}

#[test]
fn mfa_not_required_asks_for_nothing() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    env.store_key(KEY_A);
    assert_eq!(env.status_json()["mfa"]["required"], false);
}

/// A delivery command that records its arguments, stdin and environment.
#[cfg(unix)]
fn sms_script(env: &TestEnv) -> std::path::PathBuf {
    let script = env.home.path().join("send-sms");
    let log = env.home.path().join("sms");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}.args'\ncat > '{0}.message'\nenv > '{0}.env'\n",
            log.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    script
}

#[cfg(unix)]
#[test]
fn sms_codes_are_made_here_delivered_by_the_command_and_used_once() {
    let api = Server::anthropic(&[KEY_A]);
    let probe = TestEnv::new();
    let script = sms_script(&probe);
    let env = mfa_env(
        &api.url(),
        &format!(
            r#", "methods": ["sms"], "sms": {{"command": ["{}", "--to"], "phone": "+15550001234"}}"#,
            script.display()
        ),
    );
    let out = set_key(&env, KEY_A, None);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(text(&out).contains("ending in 34"), "{}", text(&out));
    assert!(api.requests().is_empty());
    let log = probe.home.path().join("sms");
    let args = std::fs::read_to_string(log.with_extension("args")).unwrap();
    assert_eq!(
        args, "--to\n+15550001234\n",
        "the phone number is the last argument"
    );
    let message = std::fs::read_to_string(log.with_extension("message")).unwrap();
    let sent: String = message
        .split_whitespace()
        .find(|w| {
            w.trim_end_matches('.').len() == 6
                && w.trim_end_matches('.').bytes().all(|b| b.is_ascii_digit())
        })
        .expect("a code in the message")
        .trim_end_matches('.')
        .to_string();
    let child_env = std::fs::read_to_string(log.with_extension("env")).unwrap();
    assert!(
        !child_env.contains("CLAUDE_PASSPHRASE"),
        "a secret reached the command"
    );
    assert!(!text(&out).contains(&sent), "the code was printed");

    let out = set_key(&env, KEY_A, Some(&sent));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = set_key(&env, KEY_A, Some(&sent));
    assert_eq!(again.status.code(), Some(10), "used once: {}", text(&again));
    assert_no_secret_in_files(env.home.path(), &format!("code is {sent}"));
}

#[cfg(unix)]
#[test]
fn three_wrong_sms_codes_use_the_code_up() {
    let api = Server::anthropic(&[KEY_A]);
    let probe = TestEnv::new();
    let script = sms_script(&probe);
    let env = mfa_env(
        &api.url(),
        &format!(
            r#", "methods": ["sms"], "sms": {{"command": ["{}"], "phone": "+15550001234"}}"#,
            script.display()
        ),
    );
    let out = set_key(&env, KEY_A, None);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    let message =
        std::fs::read_to_string(probe.home.path().join("sms").with_extension("message")).unwrap();
    let sent: String = message
        .split_whitespace()
        .map(|w| w.trim_end_matches('.'))
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .expect("a code in the message")
        .to_string();
    let wrong = if sent == "000000" { "111111" } else { "000000" };
    for attempt in 1..=3 {
        let out = set_key(&env, KEY_A, Some(wrong));
        assert_eq!(out.status.code(), Some(10), "{attempt}: {}", text(&out));
    }
    let out = set_key(&env, KEY_A, Some(&sent));
    assert_eq!(
        out.status.code(),
        Some(10),
        "the code was used up: {}",
        text(&out)
    );
    assert!(api.requests().is_empty());
}

#[test]
fn sms_without_a_delivery_command_is_a_config_error_that_says_so() {
    let api = Server::anthropic(&[KEY_A]);
    let env = mfa_env(&api.url(), r#", "methods": ["sms"]"#);
    let out = set_key(&env, KEY_A, None);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("security.mfa.sms.command"),
        "{}",
        text(&out)
    );
    // Nothing to enroll when TOTP is not allowed.
    let out = env.run(&["--enable-mfa"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}
