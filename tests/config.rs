//! Configuration errors a user can make, and environments.

mod common;

use common::servers::Server;
use common::*;

#[test]
fn malformed_json_names_file_line_and_column() {
    let env = TestEnv::new();
    env.write_config(
        "{\n  \"model\": \"claude\",\n  \"authentication\": {\"timeout\": 30000,}\n}\n",
    );
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.json:3:"), "{stderr}");
    assert!(stderr.contains("invalid JSON"), "{stderr}");
}

#[test]
fn a_key_written_twice_is_refused_at_its_second_place() {
    // A reader of the file sees the first value; the last would be used.
    let env = TestEnv::new();
    env.write_config(
        "{\"authentication\": {\n  \"method\": \"api-key\",\n  \"method\": \"oauth\"}}\n",
    );
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.json:3:"), "{stderr}");
    assert!(
        stderr.contains("`authentication.method` is written twice"),
        "{stderr}"
    );
}

#[test]
fn wrong_type_names_the_json_path() {
    let env = TestEnv::new();
    env.write_config(r#"{"authentication": {"timeout": "30s"}}"#);
    let out = env.run(&["--auth-status", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "config_error");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.contains("`authentication.timeout`"), "{message}");
    assert!(message.contains(":1:"), "line:column expected in {message}");
}

#[test]
fn unknown_storage_type_lists_the_allowed_ones() {
    let env = TestEnv::new();
    env.write_config(r#"{"authentication": {"storage": {"type": "plaintext"}}}"#);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("authentication.storage.type") && stderr.contains("encrypted-file"),
        "{stderr}"
    );
}

#[test]
fn unknown_key_warns_with_a_suggestion_and_still_works() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A);
    env.write_config(r#"{"authentication": {"retryAttempt": 2}, "modle": "x"}"#);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`authentication.retryAttempt`")
            && stderr.contains("did you mean `retryAttempts`?"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `model`?"), "{stderr}");
}

#[test]
fn undefined_variable_is_an_error_naming_it_and_its_path() {
    let env = TestEnv::new().with("CLAUDE_ENV", "development");
    env.write_config(r#"{"environments": {"development": {"authentication": "api-key", "apiKey": "${DEV_API_KEY}"}}}"#);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`DEV_API_KEY`") && stderr.contains("environments.development.apiKey"),
        "{stderr}"
    );
}

#[test]
fn environment_key_comes_from_the_interpolated_variable() {
    let env = TestEnv::new()
        .with("CLAUDE_ENV", "development")
        .with("DEV_API_KEY", KEY_B);
    env.write_config(r#"{"apiKey": "${TOP_KEY}", "environments": {"development": {"authentication": "api-key", "apiKey": "${DEV_API_KEY}"}}}"#);
    let env = env.with("TOP_KEY", KEY_C);
    let out = env.run(&["--auth-status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["source"], "environment:development");
    assert_eq!(doc["environment"], "development");
    assert_eq!(doc["fingerprint"], "sk-ant-api03-…b2B2");
    assert_eq!(doc["shadowed"], serde_json::json!(["config"]));
    assert_no_secret(&out, KEY_B);
}

#[test]
fn dollar_escape_keeps_a_literal() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A);
    env.write_config(r#"{"model": "$${NOT_A_VAR}"}"#);
    env.claude().arg("--auth-status").assert().success();
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let env = TestEnv::new();
    env.write_config(r#"{"environments": {"staging": {"authentication": "bedrock", "region": "us-west-2"}, "production": {"authentication": "oauth"}}}"#);
    let out = env.run(&["--auth-status", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown environment `prod`") && stderr.contains("production, staging"),
        "{stderr}"
    );
}

#[test]
fn oauth_only_environment_refuses_the_env_key_and_says_why() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::env_key(&api.url(), KEY_A).with("CLAUDE_ENV", "production");
    env.write_config(
        r#"{"environments": {"production": {"authentication": "oauth", "requireMFA": true}}}"#,
    );

    let status = env.run(&["--auth-status", "--json"]);
    assert_eq!(status.status.code(), Some(4), "{}", text(&status));
    let doc = json_stdout(&status);
    assert_eq!(doc["authenticated"], false);
    assert_eq!(doc["credentials"][0]["source"], "env:ANTHROPIC_API_KEY");
    assert_eq!(doc["credentials"][0]["state"], "refused");
    assert!(doc["credentials"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("production"));

    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(16), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("allows only `oauth`"));
    assert!(api.requests().is_empty(), "a refused key must not be sent");
    assert_no_secret(&out, KEY_A);
}

#[test]
fn missing_explicit_config_is_an_error() {
    let env = TestEnv::new();
    let out = env.run(&["--auth-status", "--config", "/nonexistent/claude.json"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out).contains("/nonexistent/claude.json"));
}

#[cfg(unix)]
#[test]
fn config_with_a_literal_key_that_others_can_read_is_refused() {
    let env = TestEnv::new();
    // The user wrote this key into their own config: the one plaintext copy we allow.
    const LITERAL: &str = "sk-ant-api03-LITERALCONFIGKEY00000-d4D4";
    env.write_config(&format!(r#"{{"apiKey": "{LITERAL}"}}"#));
    set_mode(env.config_path(), 0o644);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out).contains("chmod 600"), "{}", text(&out));
    assert_no_secret(&out, LITERAL);

    set_mode(env.config_path(), 0o600);
    let doc = env.status_json();
    assert_eq!(doc["source"], "config");
}

#[test]
fn every_seed_block_loads_without_warnings() {
    let env = TestEnv::new().with("DEV_API_KEY", KEY_A);
    env.write_config(include_str!("fixtures/seed-config.json"));
    let out = env.run(&["--auth-status", "--env", "development"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{}",
        text(&out)
    );
}

#[test]
fn seed_config_production_does_not_need_the_development_variable() {
    // The seed's development environment reads ${DEV_API_KEY}; production must load without it.
    let env = TestEnv::new().with("CLAUDE_ENV", "production");
    let seed = include_str!("fixtures/seed-config.json");
    env.write_config(&seed.replace("\"apiKey\": \"${DEV_API_KEY}\",\n  \"model\"", "\"model\""));
    let out = env.run(&["--auth-status", "--json"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["environment"], "production");
    assert_eq!(doc["mfa"]["required"], true);
    assert!(doc["nextStep"].as_str().unwrap().contains("--env"), "{doc}");
}

#[test]
fn bedrock_environment_says_api_keys_do_not_apply() {
    let env = TestEnv::new()
        .with("CLAUDE_ENV", "staging")
        .with("ANTHROPIC_API_KEY", KEY_A);
    env.write_config(
        r#"{"environments": {"staging": {"authentication": "bedrock", "region": "us-west-2"}}}"#,
    );
    let out = env.run(&["--auth-status", "--json"]);
    assert_eq!(out.status.code(), Some(4));
    let doc = json_stdout(&out);
    assert_eq!(doc["provider"], "bedrock");
    assert_eq!(doc["credentials"][0]["state"], "refused");
    assert!(doc["credentials"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("`bedrock` provider"));
}

#[test]
fn malformed_cidr_is_a_config_error_naming_its_path() {
    let env = TestEnv::new();
    env.write_config(r#"{"security": {"ipRestrictions": ["192.168.1.0/24", "10.0.0.0/33"]}}"#);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out).contains("security.ipRestrictions[1]"),
        "{}",
        text(&out)
    );
}

#[test]
fn unknown_key_warnings_also_reach_the_json_status() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A);
    env.write_config(r#"{"sesion": {"timeout": 3600}}"#);
    let doc = env.status_json();
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("did you mean `session`?"), "{warnings}");
}

#[test]
fn method_bedrock_refuses_anthropic_keys() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A);
    env.write_config(r#"{"authentication": {"method": "bedrock"}}"#);
    let doc = env.status_json();
    assert_eq!(doc["provider"], "bedrock");
    assert_eq!(doc["credentials"][0]["state"], "refused");
}

/// Runs `--auth-status` (text, then `--json`) on a config holding `secret` and checks both
/// renderings: exit 3, `path` named with line:column, `secret` not echoed. The file is
/// removed afterwards (it holds a fixture key that no file may keep).
fn assert_config_error_hides(config: &str, path: &str, secret: &str) {
    let env = TestEnv::new();
    env.write_config(config);
    for args in [&["--auth-status"][..], &["--auth-status", "--json"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        let all = text(&out);
        assert!(all.contains("config.json:1:"), "line:column kept: {all}");
        assert!(all.contains(path), "JSON path kept: {all}");
        assert_not_echoed(&out, secret);
    }
    std::fs::remove_file(env.config_path()).unwrap();
}

#[test]
fn a_key_pasted_into_a_wrong_field_is_not_echoed_by_the_type_error() {
    let config = format!(r#"{{"authentication": {{"method": "{KEY_A}"}}}}"#);
    assert_config_error_hides(&config, "`authentication.method`", KEY_A);
    let env = TestEnv::new();
    env.write_config(&config);
    let out = env.run(&["--auth-status"]);
    assert!(text(&out).contains("sk-ant-api03-…a1A1"), "{}", text(&out));
    assert_no_secret(&out, KEY_A);
    std::fs::remove_file(env.config_path()).unwrap();
}

#[test]
fn github_tokens_and_jwts_in_wrong_fields_are_not_echoed() {
    assert_config_error_hides(
        &format!(r#"{{"authentication": {{"method": "{FAKE_GITHUB_TOKEN}"}}}}"#),
        "`authentication.method`",
        FAKE_GITHUB_TOKEN,
    );
    assert_config_error_hides(
        &format!(r#"{{"authentication": {{"timeout": "{FAKE_JWT}"}}}}"#),
        "`authentication.timeout`",
        FAKE_JWT,
    );
}

#[test]
fn a_secret_in_the_ip_allow_list_is_not_echoed_by_its_validation_error() {
    let env = TestEnv::new();
    env.write_config(&format!(
        r#"{{"security": {{"ipRestrictions": ["10.0.0.0/8", "{FAKE_AWS_SECRET}"]}}}}"#
    ));
    for args in [&["--auth-status"][..], &["--auth-status", "--json"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("security.ipRestrictions[1]"),
            "{}",
            text(&out)
        );
        assert_not_echoed(&out, FAKE_AWS_SECRET);
    }
}

#[test]
fn an_unknown_encryption_key_is_refused_without_quoting_it() {
    let env = TestEnv::new().with("CLAUDE_PASSPHRASE", PASSPHRASE);
    env.write_config(
        r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user_derived_key"}}}"#,
    );
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("user-derived-key"), "{}", text(&out));
    assert!(!text(&out).contains("user_derived_key"), "{}", text(&out));
    env.write_config(
        r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "keychain"}}}"#,
    );
    assert_ne!(env.run(&["--auth-status"]).status.code(), Some(3));
}
