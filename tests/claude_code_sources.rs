//! Claude Code's own credential sources end to end: `ANTHROPIC_AUTH_TOKEN`,
//! `ANTHROPIC_API_KEY`, `apiKeyHelper`, `CLAUDE_CODE_OAUTH_TOKEN`, the stored key; their
//! order and shadowing in `--auth-status`, how each is sent, the helper's cache, rerun,
//! warning and environment, and `--print-token --format`.

mod common;

use common::servers::{Reply, Server};
use common::*;
use std::path::{Path, PathBuf};

const AUTH_TOKEN: &str = "gateway-TESTBEARERTOKENxxxxxxxxxx-t9T9";
const OAUTH_TOKEN: &str = "sk-ant-oat01-TESTOAUTHTOKENOOOOOOOOO-o8O8";

/// An encrypted-file user whose config also sets `apiKeyHelper` to `helper`.
fn with_helper(helper: &str) -> TestEnv {
    let env = TestEnv::encrypted();
    let config = serde_json::json!({
        "authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
        "apiKeyHelper": helper,
    });
    env.write_config(&config.to_string());
    env
}

/// A helper script that counts its runs in `runs` and prints the key held in `key_file`.
fn counting_helper(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let script = dir.join("get-key");
    let runs = dir.join("runs");
    let key_file = dir.join("key");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho run >> '{}'\ncat '{}'\n",
            runs.display(),
            key_file.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    (script, runs, key_file)
}

/// The API stand-in: a known key in `x-api-key`, or a known bearer token.
fn api() -> Server {
    Server::start(|req, _| {
        let key_ok = req.header("x-api-key") == Some(KEY_A);
        let bearer = req.header("authorization");
        let bearer_ok = bearer == Some(&format!("Bearer {AUTH_TOKEN}"))
            || (bearer == Some(&format!("Bearer {OAUTH_TOKEN}"))
                && req.header("anthropic-beta") == Some("oauth-2025-04-20"));
        if key_ok || bearer_ok {
            Reply::models()
        } else {
            Reply::error(401, "authentication_error")
        }
    })
}

#[test]
fn status_names_the_winner_and_shadows_in_claude_codes_order() {
    let dir = tempfile::tempdir().unwrap();
    let (script, helper_runs, _) = counting_helper(dir.path());
    let env = with_helper(&script.display().to_string())
        .with("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN)
        .with("ANTHROPIC_API_KEY", KEY_A)
        .with("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN);
    let out = env.run(&["--auth-status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["source"], "env:ANTHROPIC_AUTH_TOKEN");
    assert_eq!(doc["method"], "bearer-token");
    assert_eq!(
        doc["shadowed"],
        serde_json::json!([
            "env:ANTHROPIC_API_KEY",
            "apiKeyHelper",
            "env:CLAUDE_CODE_OAUTH_TOKEN"
        ])
    );
    let human = env.run(&["--auth-status"]);
    let shown = text(&human);
    assert!(shown.contains("Bearer token configured"), "{shown}");
    assert!(shown.contains("ANTHROPIC_AUTH_TOKEN"), "{shown}");
    assert!(shown.contains("`apiKeyHelper` command"), "{shown}");
    for secret in [AUTH_TOKEN, KEY_A, OAUTH_TOKEN] {
        assert_not_echoed(&out, secret);
        assert_not_echoed(&human, secret);
    }
    assert_eq!(
        runs(&helper_runs),
        0,
        "offline status never runs apiKeyHelper"
    );
}

#[test]
fn status_says_the_helper_would_run_and_never_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let (script, helper_runs, _) = counting_helper(dir.path());
    let env = with_helper(&script.display().to_string());
    let out = env.run(&["--auth-status"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("API key helper configured"), "{shown}");
    assert!(
        shown.contains(&format!("would run `{}`", script.display())),
        "{shown}"
    );
    assert_eq!(runs(&helper_runs), 0);
}

#[test]
fn status_never_shows_one_helpers_cached_output_as_anothers() {
    let dir = tempfile::tempdir().unwrap();
    let (script, _, key_file) = counting_helper(dir.path());
    std::fs::write(&key_file, KEY_B).unwrap();
    let env = with_helper(&script.display().to_string());
    let out = env.run(&["--print-token"]);
    assert!(out.status.success(), "{}", text(&out));
    let cached = env.status_json();
    assert_eq!(cached["fingerprint"], "sk-ant-api03-…b2B2", "{cached}");
    // Another command now: its output is not the cached one, so status does not claim it.
    let config = serde_json::json!({
        "authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
        "apiKeyHelper": "/bin/echo sk-ant-api03-OTHEROTHEROTHEROTHER00-ZZZZ",
    });
    env.write_config(&config.to_string());
    let out = env.run(&["--auth-status"]);
    let shown = text(&out);
    assert!(!shown.contains("b2B2"), "{shown}");
    assert!(shown.contains("a command would run `/bin/echo"), "{shown}");
}

#[test]
fn each_source_wins_when_the_ones_before_it_are_unset() {
    let dir = tempfile::tempdir().unwrap();
    let (script, _, key_file) = counting_helper(dir.path());
    std::fs::write(&key_file, KEY_B).unwrap();
    let mut env = with_helper(&script.display().to_string())
        .with("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN)
        .with("ANTHROPIC_API_KEY", KEY_A)
        .with("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN);
    let order = [
        ("env:ANTHROPIC_AUTH_TOKEN", Some("ANTHROPIC_AUTH_TOKEN")),
        ("env:ANTHROPIC_API_KEY", Some("ANTHROPIC_API_KEY")),
        ("apiKeyHelper", None),
        (
            "env:CLAUDE_CODE_OAUTH_TOKEN",
            Some("CLAUDE_CODE_OAUTH_TOKEN"),
        ),
    ];
    for (source, variable) in order {
        assert_eq!(env.status_json()["source"], source);
        match variable {
            Some(name) => env.unset(name),
            None => with_helper_removed(&env),
        }
    }
    assert_eq!(env.status_json()["configured"], false);
}

fn with_helper_removed(env: &TestEnv) {
    env.write_config(r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}"#);
}

#[test]
fn auth_token_is_sent_as_a_bearer_token_and_never_as_a_key() {
    let api = api();
    let env = TestEnv::encrypted()
        .api(&api.url())
        .with("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN)
        .with("ANTHROPIC_API_KEY", KEY_B);
    let out = env.run(&["--auth-status", "--check"]);
    assert!(out.status.success(), "{}", text(&out));
    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {AUTH_TOKEN}").as_str())
    );
    assert_eq!(requests[0].header("x-api-key"), None);
    assert_eq!(requests[0].header("anthropic-beta"), None);
    assert_not_echoed(&out, AUTH_TOKEN);
    assert_not_echoed(&out, KEY_B);
}

#[test]
fn test_api_key_under_a_bearer_token_tests_the_key_behind_it_or_points_at_test_auth() {
    let api = api();
    let env = TestEnv::encrypted()
        .api(&api.url())
        .with("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("the credential in force is the ANTHROPIC_AUTH_TOKEN environment variable, a bearer token")
            && text(&out).contains("claude --test-auth"),
        "{}",
        text(&out)
    );
    assert!(
        api.requests().is_empty(),
        "a bearer token is not sent as a key"
    );

    let env = env.with("ANTHROPIC_API_KEY", KEY_A);
    let out = env.run(&["--test-api-key"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("not this key: `claude --test-auth` checks it"),
        "{}",
        text(&out)
    );
    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("x-api-key"), Some(KEY_A));
    assert_not_echoed(&out, AUTH_TOKEN);
    assert_not_echoed(&out, KEY_A);
}

#[test]
fn claude_code_oauth_token_is_sent_with_the_oauth_beta_flag() {
    let api = api();
    let env = TestEnv::encrypted()
        .api(&api.url())
        .with("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN);
    let out = env.run(&["--test-auth"]);
    assert!(out.status.success(), "{}", text(&out));
    let requests = api.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {OAUTH_TOKEN}").as_str())
    );
    assert_eq!(
        requests[0].header("anthropic-beta"),
        Some("oauth-2025-04-20")
    );
    assert_not_echoed(&out, OAUTH_TOKEN);
}

#[test]
fn helper_output_is_cached_then_rerun_when_the_api_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let (script, helper_runs, key_file) = counting_helper(dir.path());
    let api = api();
    let env = with_helper(&script.display().to_string()).api(&api.url());
    std::fs::write(&key_file, KEY_B).unwrap();
    let first = env.run(&["--print-token", "--format", "apikeyhelper"]);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), KEY_B);
    let second = env.run(&["--print-token"]);
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), KEY_B);
    assert_eq!(runs(&helper_runs), 1, "the second use read the cache");
    // The cached key is refused: the helper runs again and its new key is accepted.
    std::fs::write(&key_file, KEY_A).unwrap();
    let check = env.run(&["--test-auth"]);
    assert!(check.status.success(), "{}", text(&check));
    assert_eq!(runs(&helper_runs), 2);
    let keys: Vec<_> = api
        .requests()
        .iter()
        .map(|r| r.header("x-api-key").unwrap_or_default().to_string())
        .collect();
    assert_eq!(keys, [KEY_B, KEY_A]);
    assert_not_echoed(&check, KEY_A);
    assert_not_echoed(&check, KEY_B);
    assert_no_secret_in_files(env.home.path(), KEY_A);
}

#[test]
fn helper_ttl_zero_runs_it_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let (script, helper_runs, key_file) = counting_helper(dir.path());
    std::fs::write(&key_file, KEY_A).unwrap();
    let env =
        with_helper(&script.display().to_string()).with("CLAUDE_CODE_API_KEY_HELPER_TTL_MS", "0");
    for _ in 0..2 {
        assert!(env.run(&["--print-token"]).status.success());
    }
    assert_eq!(runs(&helper_runs), 2);
}

#[test]
fn a_slow_helper_is_reported_and_a_failing_one_explained() {
    // A key written into the command itself, never shown: the output masks it.
    let in_command = "sk-ant-api03-TESTSLOWSLOWSLOWSLOWSL-s1S1";
    let env = with_helper(&format!("sleep 1; echo {in_command}"))
        .with("CLAUDE_TEST_HELPER_SLOW_MS", "200");
    let out = env.run(&["--print-token"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("taking longer than"), "{err}");
    assert!(!err.contains("SLOWSLOW"), "the command is masked: {err}");

    let failing = with_helper("false");
    let out = failing.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("apiKeyHelper `false` failed"),
        "{}",
        text(&out)
    );
}

#[cfg(target_os = "linux")]
#[test]
fn helper_runs_without_a_shell_and_without_secrets_in_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (script, environ) = environ_recording_helper(dir.path());
    let env = with_helper(&script.display().to_string())
        .with("GH_TOKEN", "ghp_CANARYCANARYCANARYCANARYCANARY00")
        .with("AWS_SECRET_ACCESS_KEY", FAKE_AWS_SECRET)
        .with("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN);
    let out = env.run(&["--print-token"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), KEY_A);
    let seen = std::fs::read_to_string(&environ)
        .unwrap()
        .replace('\0', "\n");
    for canary in ["ghp_CANARY", FAKE_AWS_SECRET, OAUTH_TOKEN, PASSPHRASE] {
        assert!(
            !seen.contains(canary),
            "{canary} reached the helper:\n{seen}"
        );
    }
    assert!(seen.contains("HOME="), "the helper keeps what it needs");
}

#[test]
fn print_token_formats() {
    let key = TestEnv::encrypted().with("ANTHROPIC_API_KEY", KEY_A);
    let stdout = |env: &TestEnv, args: &[&str]| {
        let out = env.run(args);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(stdout(&key, &["--print-token"]), format!("{KEY_A}\n"));
    assert_eq!(
        stdout(&key, &["--print-token", "--format", "plain"]),
        format!("{KEY_A}\n")
    );
    assert_eq!(
        stdout(&key, &["--print-token", "--format", "apikeyhelper"]),
        format!("{KEY_A}\n")
    );
    assert_eq!(
        stdout(&key, &["--print-token", "--format", "env"]),
        format!("export ANTHROPIC_API_KEY='{KEY_A}'\n")
    );
    let bearer = TestEnv::encrypted().with("ANTHROPIC_AUTH_TOKEN", "it's");
    assert_eq!(
        stdout(&bearer, &["--print-token", "--format", "env"]),
        "export ANTHROPIC_AUTH_TOKEN='it'\\''s'\n"
    );
    let oauth = TestEnv::encrypted().with("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN);
    assert_eq!(
        stdout(&oauth, &["--print-token", "--format", "env"]),
        format!("export CLAUDE_CODE_OAUTH_TOKEN='{OAUTH_TOKEN}'\n")
    );
    let refused = oauth.run(&["--print-token", "--format", "apikeyhelper"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert_not_echoed(&refused, OAUTH_TOKEN);
    let aws = key.run(&["--print-token", "--format", "aws-credential-process"]);
    assert_eq!(aws.status.code(), Some(2), "{}", text(&aws));
    assert!(
        text(&aws).contains("needs Bedrock as the provider"),
        "{}",
        text(&aws)
    );
    assert_not_echoed(&aws, KEY_A);
    let alone = key.run(&["--auth-status", "--format", "env"]);
    assert_eq!(alone.status.code(), Some(2), "{}", text(&alone));
    let bad = key.run(&["--print-token", "--format", "yaml"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

#[test]
fn status_of_a_cached_helper_key_is_one_well_spaced_line() {
    let dir = tempfile::tempdir().unwrap();
    let (script, _, key_file) = counting_helper(dir.path());
    let api = api();
    let env = with_helper(&script.display().to_string()).api(&api.url());
    std::fs::write(&key_file, KEY_B).unwrap();
    let first = env.run(&["--print-token"]);
    assert!(first.status.success(), "{}", text(&first));
    let shown = text(&env.run(&["--auth-status"]));
    assert!(
        shown.contains("status runs nothing, a command would reuse it)"),
        "{shown}"
    );
    let key_line = shown.lines().find(|l| l.contains("key:")).unwrap();
    let value = key_line.split_once("key:").unwrap().1.trim();
    assert!(!value.contains("  "), "{key_line}");
}

#[test]
fn status_of_auth_token_names_who_bills_without_nested_brackets() {
    let env = TestEnv::new().with("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN);
    let shown = text(&env.run(&["--auth-status"]));
    assert!(
        shown.contains("(from the ANTHROPIC_AUTH_TOKEN environment variable, a bearer token)"),
        "{shown}"
    );
    assert!(
        shown.contains("billed by the API at https://api.anthropic.com"),
        "{shown}"
    );
    assert!(!shown.contains("gateway"), "{shown}");
    let gateway = TestEnv::new()
        .with("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN)
        .with("ANTHROPIC_BASE_URL", "https://user:pw@gw.example.com/v1");
    let shown = text(&gateway.run(&["--auth-status"]));
    assert!(
        shown.contains("the gateway at https://gw.example.com (ANTHROPIC_BASE_URL)"),
        "{shown}"
    );
    assert!(!shown.contains("user:pw"), "{shown}");
}

/// True when `pid` is gone (or a zombie waiting for its reaper).
#[cfg(target_os = "linux")]
fn gone(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[cfg(target_os = "linux")]
#[test]
fn a_helper_that_leaves_a_process_holding_its_output_is_stopped_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let env = with_helper(&format!(
        "echo some-output; sleep 30 & echo $! > '{}'",
        pid_file.display()
    ))
    .with("CLAUDE_TEST_HELPER_TIMEOUT_MS", "1000");
    let started = std::time::Instant::now();
    let out = env.run(&["--print-token"]);
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("did not finish"), "{}", text(&out));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.trim();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !gone(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        gone(pid),
        "the helper's background process {pid} still runs"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn header_lists_and_credential_looking_values_do_not_reach_a_helper() {
    let dir = tempfile::tempdir().unwrap();
    let (script, environ) = environ_recording_helper(dir.path());
    let env = with_helper(&script.display().to_string())
        .with("ANTHROPIC_CUSTOM_HEADERS", "X-Gateway: CANARYHEADERS1")
        .with("OTEL_EXPORTER_OTLP_HEADERS", "api-key=CANARYHEADERS2")
        .with("SOME_SETTING", "Authorization: Bearer CANARYBEARER3")
        .with("OTHER_SETTING", "Basic CANARYBASIC4")
        .with("THIRD_SETTING", "sk-ant-CANARYANT5");
    let out = env.run(&["--print-token"]);
    assert!(out.status.success(), "{}", text(&out));
    let seen = std::fs::read_to_string(&environ)
        .unwrap()
        .replace('\0', "\n");
    for canary in [
        "CANARYHEADERS1",
        "CANARYHEADERS2",
        "CANARYBEARER3",
        "CANARYBASIC4",
        "CANARYANT5",
    ] {
        assert!(
            !seen.contains(canary),
            "{canary} reached the helper:\n{seen}"
        );
    }
    assert!(seen.contains("HOME="), "the helper keeps what it needs");
}

/// A helper script in `dir` that copies its own `/proc/PID/environ` to a file (as any
/// inspecting tool would read it) and prints KEY_A; returns the script and that file.
#[cfg(target_os = "linux")]
fn environ_recording_helper(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let script = dir.join("helper");
    let environ = dir.join("environ");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat /proc/$$/environ > '{}'\necho {KEY_A}\n",
            environ.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    (script, environ)
}
