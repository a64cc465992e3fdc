//! What users and scripts read, pinned: human and JSON output of the offline commands and
//! of failures, as snapshots (`tests/snapshots/`, reviewed with `cargo insta review` or by
//! reading the diff), and the one rule for failures: every failing command's JSON has a
//! top-level `error` object with `code`, `message` and `hint`, beside any report it prints.
//!
//! Paths, ports and times differ between runs; filters replace them with placeholders.

mod common;

use common::servers::Server;
use common::*;

/// The filters every snapshot here uses: the test's temporary home, loopback ports,
/// timings and timestamps become placeholders.
fn settings(env: &TestEnv) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let home = env.home.path().display().to_string();
    settings.add_filter(&regex_escape(&home), "[HOME]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(r#""ms": \d+"#, r#""ms": [MS]"#);
    settings.add_filter(r"\(\d+ ms\)", "([MS] ms)");
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// `text` with regex metacharacters escaped (temporary paths contain `.`).
fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Stdout, then stderr under a marker, as one snapshot text; and the exit code.
fn transcript(out: &std::process::Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn status_of_an_unconfigured_machine() {
    let env = TestEnv::new();
    settings(&env).bind(|| {
        insta::assert_snapshot!(
            "status_unconfigured_text",
            transcript(&env.run(&["--auth-status"]))
        );
        insta::assert_snapshot!(
            "status_unconfigured_json",
            transcript(&env.run(&["--auth-status", "--json"]))
        );
    });
}

#[test]
fn status_with_a_key_in_the_environment() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A);
    settings(&env).bind(|| {
        insta::assert_snapshot!(
            "status_env_key_text",
            transcript(&env.run(&["--auth-status"]))
        );
        insta::assert_snapshot!(
            "status_env_key_json",
            transcript(&env.run(&["--auth-status", "--json"]))
        );
    });
}

#[test]
fn status_of_a_cloud_provider_without_its_settings() {
    let env = TestEnv::new()
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("ANTHROPIC_API_KEY", KEY_A);
    settings(&env).bind(|| {
        insta::assert_snapshot!(
            "status_bedrock_no_region_text",
            transcript(&env.run(&["--auth-status"]))
        );
        insta::assert_snapshot!(
            "status_bedrock_no_region_json",
            transcript(&env.run(&["--auth-status", "--json"]))
        );
    });
}

#[test]
fn a_key_check_that_the_api_refuses() {
    let api = Server::anthropic(&[KEY_B]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    settings(&env).bind(|| {
        insta::assert_snapshot!(
            "test_api_key_refused_text",
            transcript(&env.run(&["--test-api-key"]))
        );
        insta::assert_snapshot!(
            "test_api_key_refused_json",
            transcript(&env.run(&["--test-api-key", "--json"]))
        );
    });
}

#[test]
fn a_usage_error() {
    let env = TestEnv::new();
    settings(&env).bind(|| {
        insta::assert_snapshot!("usage_error_text", transcript(&env.run(&["--frobnicate"])));
        insta::assert_snapshot!(
            "usage_error_json",
            transcript(&env.run(&["--frobnicate", "--json"]))
        );
    });
}

/// Every command that fails here, with `--json`: one document with `.error.code`.
#[test]
fn every_failing_command_reports_an_error_object_in_json() {
    let env = TestEnv::new().api("http://127.0.0.1:9");
    let bad_config = TestEnv::new();
    bad_config.write_config(r#"{"authentication": {"timeout": "soon"}}"#);
    let bedrock = TestEnv::new().with("CLAUDE_CODE_USE_BEDROCK", "1");
    let cases: Vec<(&TestEnv, Vec<&str>)> = vec![
        (&env, vec!["--auth-status"]),
        (&env, vec!["--test-api-key"]),
        (&env, vec!["--print-token"]),
        (&env, vec!["--test-auth"]),
        (&env, vec!["--enable-mfa", "--mfa-code", "123456"]),
        (&env, vec!["--frobnicate"]),
        (&bad_config, vec!["--auth-status"]),
        (&bedrock, vec!["--auth-status"]),
        (&bedrock, vec!["--test-auth"]),
    ];
    for (user, args) in cases {
        let mut args = args.clone();
        args.push("--json");
        let out = user.run(&args);
        assert_ne!(out.status.code(), Some(0), "{args:?} should fail here");
        let doc = json_stdout(&out);
        let error = &doc["error"];
        assert!(
            error["code"].is_string(),
            "{args:?}: no error.code in {doc}"
        );
        assert!(error["message"].is_string(), "{args:?}: no error.message");
        assert!(error.get("hint").is_some(), "{args:?}: no error.hint");
        assert_eq!(
            error["exitCode"].as_i64(),
            out.status.code().map(i64::from),
            "{args:?}: error.exitCode is the exit status"
        );
    }
}
