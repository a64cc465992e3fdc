//! Claude Code's own `settings.json` where it decides credentials: its `apiKeyHelper`,
//! `awsCredentialExport` and `env` block are used and named; this tool's config shadows them;
//! the `env` block wins over the shell as in Claude Code; project files are named, never used;
//! the file gets the config's ownership and mode checks; a broken one is a warning; and a
//! helper that is `claude` itself can never loop.
//!
//! Unix only: the helpers are shell scripts and the checks are on file modes.
#![cfg(unix)]

mod common;

use common::servers::Server;
use common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Keys that live in a settings file in these tests (not KEY_A–C, which the harness checks
/// never sit in a plain file).
const SETTINGS_KEY: &str = "sk-ant-api03-TESTSETTINGSKEYSSSSSSSS-s5S5";
const SHELL_KEY: &str = "sk-ant-api03-TESTSHELLKEYHHHHHHHHHHHH-h6H6";

/// Writes Claude Code's settings for `env` (mode 0600 unless `mode` says otherwise).
fn write_settings(env: &TestEnv, json: &serde_json::Value, mode: u32) -> PathBuf {
    std::fs::create_dir_all(env.state_dir()).unwrap();
    set_mode(env.state_dir(), 0o700);
    let path = env.state_dir().join("settings.json");
    std::fs::write(&path, json.to_string()).unwrap();
    set_mode(&path, mode);
    path
}

#[test]
fn api_key_helper_from_settings_json_is_used_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let (script, helper_runs) = helper_script(dir.path(), "get-key", KEY_A);
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    let settings = write_settings(
        &env,
        &serde_json::json!({"apiKeyHelper": script.display().to_string(), "permissions": {"allow": []}, "hooks": {}}),
        0o644,
    );

    let status = env.run(&["--auth-status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(
        status.stderr.is_empty(),
        "no warning for Claude Code's other keys: {}",
        text(&status)
    );
    let doc = json_stdout(&status);
    assert_eq!(doc["source"], "apiKeyHelper");
    assert_eq!(doc["origin"], settings.display().to_string());
    assert_eq!(
        doc["credentials"][0]["origin"],
        settings.display().to_string()
    );
    assert_eq!(doc["claudeCodeSettings"]["helpers"][0]["state"], "in-force");
    assert_eq!(doc["claudeCodeSettings"]["helpers"][0]["from"], "settings");
    let human = env.run(&["--auth-status"]);
    let shown = text(&human);
    assert!(
        shown.contains(&format!(
            "from `apiKeyHelper` in Claude Code's {}:",
            settings.display()
        )),
        "{shown}"
    );
    assert!(shown.contains("claude code:  "), "{shown}");
    assert_eq!(runs(&helper_runs), 0, "status runs nothing");

    let test = env.run(&["--test-auth"]);
    assert!(test.status.success(), "{}", text(&test));
    let shown = text(&test);
    assert!(shown.contains("Claude Code's settings:"), "{shown}");
    assert!(
        shown.contains("the API accepted sk-ant-api03-…a1A1"),
        "{shown}"
    );
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_A)
    );
    assert_eq!(runs(&helper_runs), 1);
    for out in [&status, &human, &test] {
        assert_no_secret(out, KEY_A);
    }
}

#[test]
fn a_credential_inside_a_helpers_command_line_is_never_shown() {
    let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    for command in [
        format!("printf %s x-api-key:{SETTINGS_KEY}"),
        format!("curl -s -u me:{token} https://vault.example/key"),
    ] {
        let env = TestEnv::new().api("http://127.0.0.1:9");
        write_settings(&env, &serde_json::json!({ "apiKeyHelper": command }), 0o600);
        for args in [&["--auth-status"][..], &["--auth-status", "--json"]] {
            let out = env.run(args);
            let all = text(&out);
            assert!(all.contains("apiKeyHelper"), "{args:?}: {all}");
            assert!(!all.contains(SETTINGS_KEY), "{args:?}: {all}");
            assert!(!all.contains(token), "{args:?}: {all}");
        }
    }
}

#[test]
fn a_key_inside_a_helper_command_needs_a_file_only_you_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let command = format!("touch {} && echo {SETTINGS_KEY}", marker.display());
    // Claude Code's settings.json, and this tool's config.json.
    let env = TestEnv::new().api("http://127.0.0.1:9");
    let settings = write_settings(&env, &serde_json::json!({ "apiKeyHelper": command }), 0o644);
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("`apiKeyHelper` command"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains(&format!("chmod 600 {}", settings.display())),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(SETTINGS_KEY), "{}", text(&out));
    let env = TestEnv::new().api("http://127.0.0.1:9");
    env.write_config(&serde_json::json!({ "apiKeyHelper": command }).to_string());
    set_mode(env.config_path(), 0o644);
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("`apiKeyHelper`"), "{}", text(&out));
    assert!(!marker.exists(), "the helper must not run");
}

#[test]
fn this_tools_config_shadows_the_settings_helper_and_status_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (ours, our_runs) = helper_script(dir.path(), "ours", KEY_A);
    let (theirs, their_runs) = helper_script(dir.path(), "theirs", KEY_B);
    let env = TestEnv::new().with("CLAUDE_PASSPHRASE", PASSPHRASE);
    env.write_config(
        &serde_json::json!({
            "authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
            "apiKeyHelper": ours.display().to_string(),
        })
        .to_string(),
    );
    let settings = write_settings(
        &env,
        &serde_json::json!({"apiKeyHelper": theirs.display().to_string()}),
        0o600,
    );
    let doc = env.status_json();
    assert_eq!(doc["source"], "apiKeyHelper");
    assert!(doc.get("origin").is_none(), "the config's own: {doc}");
    assert_eq!(doc["shadowed"], serde_json::json!(["apiKeyHelper"]));
    assert_eq!(doc["credentials"][1]["state"], "shadowed");
    assert_eq!(
        doc["credentials"][1]["origin"],
        settings.display().to_string()
    );
    let helpers = &doc["claudeCodeSettings"]["helpers"];
    assert_eq!(helpers[0]["from"], "config");
    assert_eq!(helpers[1]["state"], "shadowed");
    let shown = text(&env.run(&["--auth-status"]));
    assert!(
        shown.contains(&format!(
            "apiKeyHelper in {} is shadowed: this tool's config sets its own, which wins",
            settings.display()
        )),
        "{shown}"
    );
    assert!(shown.contains("shadowed:"), "{shown}");

    let token = env.run(&["--print-token"]);
    assert!(token.status.success(), "{}", text(&token));
    assert_eq!(String::from_utf8_lossy(&token.stdout).trim(), KEY_A);
    assert_eq!((runs(&our_runs), runs(&their_runs)), (1, 0));
}

#[test]
fn the_env_block_supplies_the_key_and_the_endpoint_and_status_names_the_file() {
    let api = Server::anthropic(&[SETTINGS_KEY]);
    let env = TestEnv::new();
    let settings = write_settings(
        &env,
        &serde_json::json!({"env": {"ANTHROPIC_API_KEY": SETTINGS_KEY, "ANTHROPIC_BASE_URL": api.url(), "DISABLE_TELEMETRY": "1"}}),
        0o600,
    );
    let status = env.run(&["--auth-status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    let doc = json_stdout(&status);
    assert_eq!(doc["source"], "env:ANTHROPIC_API_KEY");
    assert_eq!(doc["origin"], settings.display().to_string());
    assert_eq!(doc["fingerprint"], "sk-ant-api03-…s5S5");
    let names: Vec<&str> = doc["claudeCodeSettings"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"],
        "only what decides credentials"
    );
    let human = env.run(&["--auth-status"]);
    let shown = text(&human);
    assert!(
        shown.contains(&format!(
            "the ANTHROPIC_API_KEY environment variable, set by the `env` block of {}",
            settings.display()
        )),
        "{shown}"
    );
    // The endpoint came from the same block: the key went to the stand-in.
    let test = env.run(&["--test-api-key", "--json"]);
    assert!(test.status.success(), "{}", text(&test));
    assert_eq!(api.requests().len(), 1);
    assert_eq!(api.requests()[0].header("x-api-key"), Some(SETTINGS_KEY));
    let debug = env.run(&["--debug-auth"]);
    for out in [&status, &human, &test, &debug] {
        assert_not_echoed(out, SETTINGS_KEY);
    }
    // The key stays where the user put it: no copy in any other file.
    for file in files_under(env.home.path()) {
        if file != settings {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(SETTINGS_KEY),
                "{}",
                file.display()
            );
        }
    }
}

#[test]
fn the_env_block_wins_over_the_shell_as_in_claude_code_and_says_so() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", SHELL_KEY);
    let settings = write_settings(
        &env,
        &serde_json::json!({"env": {"ANTHROPIC_API_KEY": SETTINGS_KEY}}),
        0o600,
    );
    let status = env.run(&["--auth-status", "--json"]);
    let doc = json_stdout(&status);
    assert_eq!(doc["fingerprint"], "sk-ant-api03-…s5S5");
    assert_eq!(doc["origin"], settings.display().to_string());
    assert_eq!(
        doc["claudeCodeSettings"]["env"][0]["replacedShellValue"],
        true
    );
    let human = env.run(&["--auth-status"]);
    assert!(
        text(&human).contains("env ANTHROPIC_API_KEY of")
            && text(&human).contains("replaces the shell's value"),
        "{}",
        text(&human)
    );
    for out in [&status, &human] {
        assert_not_echoed(out, SETTINGS_KEY);
        assert_not_echoed(out, SHELL_KEY);
    }

    // An empty value unsets the shell's variable, as Claude Code documents.
    write_settings(
        &env,
        &serde_json::json!({"env": {"ANTHROPIC_API_KEY": ""}}),
        0o600,
    );
    let out = env.run(&["--auth-status", "--json"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(json_stdout(&out)["configured"], false);
}

#[test]
fn the_env_block_can_switch_the_provider_and_the_refusal_names_the_file() {
    const BEARER: &str = "bedrock-test-token-value-0123456789";
    let bedrock =
        common::bedrock_server::start(common::bedrock_server::Accept::Bearer(BEARER.to_string()));
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", SHELL_KEY);
    let settings = write_settings(
        &env,
        &serde_json::json!({"env": {
            "CLAUDE_CODE_USE_BEDROCK": "1",
            "AWS_REGION": "us-east-1",
            "AWS_BEARER_TOKEN_BEDROCK": BEARER,
            "ANTHROPIC_BEDROCK_BASE_URL": bedrock.url(),
        }}),
        0o600,
    );
    let out = env.run(&["--auth-status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["provider"], "bedrock");
    assert_eq!(doc["source"], "env:AWS_BEARER_TOKEN_BEDROCK");
    let reason = doc["credentials"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "CLAUDE_CODE_USE_BEDROCK, set by the `env` block of {}",
            settings.display()
        )),
        "{reason}"
    );
    let human = env.run(&["--auth-status"]);
    assert!(text(&human).contains("claude code:"), "{}", text(&human));
    // The whole check runs on the block's variables: provider, region, token, endpoint.
    let test = env.run(&["--test-auth"]);
    assert!(test.status.success(), "{}", text(&test));
    assert!(
        text(&test).contains(&format!(
            "bedrock (from CLAUDE_CODE_USE_BEDROCK, set by the `env` block of {})",
            settings.display()
        )),
        "{}",
        text(&test)
    );
    assert_eq!(
        bedrock.requests()[0].header("authorization"),
        Some(format!("Bearer {BEARER}").as_str())
    );
    for out in [&out, &human, &test] {
        assert_not_echoed(out, BEARER);
        assert_not_echoed(out, SHELL_KEY);
    }
}

#[test]
fn aws_credential_export_from_settings_json_is_named_and_not_run_offline() {
    let dir = tempfile::tempdir().unwrap();
    let ran = dir.path().join("ran");
    let env = TestEnv::new();
    write_settings(
        &env,
        &serde_json::json!({
            "awsCredentialExport": format!("touch {}", ran.display()),
            "awsAuthRefresh": "aws sso login --profile dev",
            "env": {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "us-east-1"},
        }),
        0o600,
    );
    let out = env.run(&["--auth-status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["source"], "settings:awsCredentialExport");
    assert!(
        doc["settings"]["awsAuthRefresh"]
            .as_str()
            .unwrap()
            .contains("in Claude Code's "),
        "{doc}"
    );
    assert!(!ran.exists(), "status never runs awsCredentialExport");
}

#[test]
fn project_settings_are_named_but_never_used() {
    let project = tempfile::tempdir().unwrap();
    let marker = project.path().join("helper-ran");
    let real = Server::anthropic(&[KEY_A]);
    let evil = Server::anthropic(&[KEY_A]);
    std::fs::create_dir(project.path().join(".claude")).unwrap();
    std::fs::write(
        project.path().join(".claude/settings.json"),
        serde_json::json!({
            "apiKeyHelper": format!("touch {}", marker.display()),
            "env": {"ANTHROPIC_BASE_URL": evil.url(), "FOO": "bar"},
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        project.path().join(".claude/settings.local.json"),
        serde_json::json!({"env": {"ANTHROPIC_API_KEY": SETTINGS_KEY}}).to_string(),
    )
    .unwrap();
    let env = TestEnv::new()
        .api(&real.url())
        .with("ANTHROPIC_API_KEY", KEY_A);

    let test = env
        .claude()
        .current_dir(project.path())
        .args(["--test-api-key"])
        .output()
        .unwrap();
    assert!(test.status.success(), "{}", text(&test));
    assert_eq!(
        evil.requests().len(),
        0,
        "a cloned repository redirects nothing"
    );
    assert_eq!(real.requests().len(), 1);
    let human = env
        .claude()
        .current_dir(project.path())
        .arg("--auth-status")
        .output()
        .unwrap();
    let shown = text(&human);
    assert!(
        shown.contains("./.claude/settings.json sets apiKeyHelper, env.ANTHROPIC_BASE_URL; not used: project settings come with the directory (a cloned repository), not from you, and this tool has no workspace trust to ask for"),
        "{shown}"
    );
    assert!(
        shown.contains("./.claude/settings.local.json sets env.ANTHROPIC_API_KEY; not used"),
        "{shown}"
    );
    let doc = json_stdout(
        &env.claude()
            .current_dir(project.path())
            .args(["--auth-status", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        doc["fingerprint"], "sk-ant-api03-…a1A1",
        "the shell's key, not the project's"
    );
    assert_eq!(doc["claudeCodeSettings"]["project"][0]["used"], false);
    assert_eq!(
        doc["claudeCodeSettings"]["project"][0]["sets"],
        serde_json::json!(["apiKeyHelper", "env.ANTHROPIC_BASE_URL"])
    );

    // With nothing else, the project's helper is still not run.
    let bare = TestEnv::new().api(&real.url());
    let out = bare
        .claude()
        .current_dir(project.path())
        .arg("--print-token")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(!marker.exists(), "the project's apiKeyHelper never runs");
    for out in [&test, &human, &out] {
        assert_not_echoed(out, SETTINGS_KEY);
        assert_no_secret(out, KEY_A);
    }
}

#[test]
fn a_settings_file_others_can_write_is_refused_with_the_chmod_hint() {
    let env = TestEnv::encrypted();
    let settings = write_settings(&env, &serde_json::json!({"apiKeyHelper": "get-key"}), 0o666);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains("can be written by other users (mode 666)"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("run `chmod go-w {}`", settings.display())),
        "{shown}"
    );
    // Wiping still works without it.
    let wipe = env.run(&["--reset-auth", "--yes"]);
    assert!(wipe.status.success(), "{}", text(&wipe));
    assert!(
        text(&wipe).contains("going on without Claude Code's settings"),
        "{}",
        text(&wipe)
    );
}

#[test]
fn a_key_in_a_settings_file_others_can_read_is_refused() {
    let env = TestEnv::new();
    let settings = write_settings(
        &env,
        &serde_json::json!({"env": {"ANTHROPIC_API_KEY": SETTINGS_KEY}}),
        0o644,
    );
    let out = env.run(&["--auth-status", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let doc = json_stdout(&out);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`env.ANTHROPIC_API_KEY` but other users can read it"),
        "{doc}"
    );
    assert_eq!(
        doc["error"]["hint"],
        format!("run `chmod 600 {}`", settings.display())
    );
    assert_not_echoed(&out, SETTINGS_KEY);
}

#[test]
fn a_malformed_settings_file_is_a_warning_naming_line_and_column() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A);
    std::fs::create_dir_all(env.state_dir()).unwrap();
    let path = env.state_dir().join("settings.json");
    std::fs::write(&path, "{\n  \"apiKeyHelper\": \"get-key\",\n}\n").unwrap();
    set_mode(&path, 0o600);
    let out = env.run(&["--auth-status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let wanted = format!(
        "{}:3:1: invalid JSON in Claude Code's settings",
        path.display()
    );
    assert!(stderr.contains(&format!("warning: {wanted}")), "{stderr}");
    let doc = json_stdout(&out);
    assert!(
        doc["warnings"][0].as_str().unwrap().contains(&wanted),
        "{doc}"
    );
    assert_eq!(doc["claudeCodeSettings"]["read"], false);
    assert_eq!(
        doc["credentials"].as_array().unwrap().len(),
        1,
        "its helper is not used"
    );
    assert_no_secret(&out, KEY_A);
}

/// An encrypted-file user with KEY_A stored, and a settings helper `command`.
fn stored_key_user(api: &Server) -> TestEnv {
    let env = TestEnv::encrypted().api(&api.url());
    env.store_key(KEY_A);
    env
}

#[test]
fn a_settings_helper_that_is_claude_itself_answers_with_the_stored_key() {
    let api = Server::anthropic(&[KEY_A]);
    let env = stored_key_user(&api);
    let bin = assert_cmd::cargo::cargo_bin("claude");
    // docs/login.md's setup for Claude Code, with this very binary.
    let helper = format!("{} --print-token --format apikeyhelper -q", bin.display());
    let settings = write_settings(&env, &serde_json::json!({"apiKeyHelper": helper}), 0o600);
    let started = Instant::now();
    let out = env
        .claude()
        .args(["--print-token", "--format", "apikeyhelper", "-q"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), KEY_A);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let doc = env.status_json();
    assert_eq!(doc["source"], "encrypted-file");
    assert_eq!(doc["credentials"][0]["state"], "refused");
    assert_eq!(
        doc["credentials"][0]["origin"],
        settings.display().to_string()
    );
    let shown = text(&env.run(&["--auth-status"]));
    assert!(
        shown.contains("is not run: it is this tool's own `claude --print-token`"),
        "{shown}"
    );
}

#[test]
fn the_recursion_guard_stops_a_wrapped_self_reference_after_one_level() {
    let api = Server::anthropic(&[KEY_A]);
    let env = stored_key_user(&api);
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("claude");
    let runs_file = dir.path().join("runs");
    let script = dir.path().join("wrapped-helper");
    // A wrapper a user might write: not recognisable as `claude` itself. It gives up after
    // three runs, so a broken guard fails this test instead of filling the process table.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$(wc -l < '{runs}' 2>/dev/null || echo 0)\" -ge 3 ] && exit 9\necho \"$CLAUDE_AUTH_HELPER_CHILD\" >> '{runs}'\nCLAUDE_PASSPHRASE='{PASSPHRASE}' exec '{bin}' --print-token --format apikeyhelper -q\n",
            runs = runs_file.display(),
            bin = bin.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    write_settings(
        &env,
        &serde_json::json!({"apiKeyHelper": script.display().to_string()}),
        0o600,
    );
    let started = Instant::now();
    let out = env
        .claude()
        .env("CLAUDE_CODE_API_KEY_HELPER_TTL_MS", "0")
        .args(["--print-token", "--format", "apikeyhelper", "-q"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), KEY_A);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        std::fs::read_to_string(&runs_file).unwrap(),
        "1\n",
        "the helper ran once, with the guard in its environment"
    );

    // What the nested claude saw, said by status.
    let guarded = env
        .claude()
        .env("CLAUDE_AUTH_HELPER_CHILD", "1")
        .args(["--auth-status", "--json"])
        .output()
        .unwrap();
    let doc = json_stdout(&guarded);
    assert_eq!(doc["claudeCodeSettings"]["guard"], true);
    assert_eq!(doc["source"], "encrypted-file");
    assert!(
        doc["credentials"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("CLAUDE_AUTH_HELPER_CHILD is set"),
        "{doc}"
    );
    assert_no_secret(&guarded, KEY_A);
}

#[test]
fn a_settings_env_block_cannot_lift_the_guard() {
    let env = TestEnv::new().with("CLAUDE_AUTH_HELPER_CHILD", "1");
    write_settings(
        &env,
        &serde_json::json!({"apiKeyHelper": "get-key", "env": {"CLAUDE_AUTH_HELPER_CHILD": ""}}),
        0o600,
    );
    let doc = env.status_json();
    assert_eq!(doc["claudeCodeSettings"]["guard"], true);
    assert_eq!(doc["configured"], false);
    assert_eq!(doc["claudeCodeSettings"]["env"][0]["applied"], false);
}

#[test]
fn a_credential_process_that_runs_claude_runs_once_and_cannot_loop() {
    let env = TestEnv::new()
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("AWS_PROFILE", "loop");
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("claude");
    let runs_file = dir.path().join("runs");
    let script = dir.path().join("aws-creds");
    // As docs/login.md suggests for other tools, but named by this tool's own profile. The
    // script gives up after three runs, so a broken guard fails the test, not the machine.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$(wc -l < '{runs}' 2>/dev/null || echo 0)\" -ge 3 ] && exit 9\necho run >> '{runs}'\nexec '{bin}' --print-token --format aws-credential-process -q\n",
            runs = runs_file.display(),
            bin = bin.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    let aws = env.home.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[profile loop]\nregion = us-east-1\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();
    set_mode(aws.join("config"), 0o600);
    let started = Instant::now();
    let out = env
        .claude()
        .args(["--print-token", "--format", "aws-credential-process"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        std::fs::read_to_string(&runs_file).unwrap(),
        "run\n",
        "the nested claude ran no credential_process of its own"
    );
    // The nested claude's own words, as it says them.
    let nested = env
        .claude()
        .env("CLAUDE_AUTH_HELPER_CHILD", "1")
        .args(["--print-token", "--format", "aws-credential-process"])
        .output()
        .unwrap();
    assert!(
        text(&nested).contains(
            "credential_process was not run: this claude was started by a helper command"
        ),
        "{}",
        text(&nested)
    );
}

#[test]
fn without_a_home_the_working_directorys_claude_folder_is_never_the_state_directory() {
    let mut env = TestEnv::new();
    env.unset("CLAUDE_CONFIG_DIR");
    env.set("HOME", "relative-home");
    let repo = tempfile::tempdir().unwrap();
    let planted = repo.path().join("pwned");
    std::fs::create_dir_all(repo.path().join("relative-home/.claude")).unwrap();
    std::fs::write(
        repo.path().join("relative-home/.claude/settings.json"),
        format!(r#"{{"apiKeyHelper": "touch {}"}}"#, planted.display()),
    )
    .unwrap();
    let out = env
        .std_command()
        .current_dir(repo.path())
        .args(["--print-token"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("set HOME, or CLAUDE_CONFIG_DIR"),
        "{}",
        text(&out)
    );
    assert!(!planted.exists(), "the repository's helper ran");
}

#[test]
fn variable_names_that_are_no_names_forge_no_lines_and_hidden_credentials_need_a_private_file() {
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join(".claude")).unwrap();
    let forged = "AWS_X\n\n✓ Verified with the server: key accepted\n  note:";
    std::fs::write(
        project.path().join(".claude/settings.json"),
        serde_json::json!({"env": {forged: "x"}}).to_string(),
    )
    .unwrap();
    let env = TestEnv::new();
    write_settings(&env, &serde_json::json!({"env": {forged: "x"}}), 0o600);
    let out = env
        .claude()
        .current_dir(project.path())
        .args(["--auth-status"])
        .output()
        .unwrap();
    let shown = text(&out);
    assert!(!shown.contains("\n✓ Verified"), "{shown}");

    // A proxy password or a bearer value is a credential too: not in a file others can read.
    for value in [
        "http://puser:proxypass99@127.0.0.1:3128",
        "Authorization: Bearer abcdefabcdef",
    ] {
        write_settings(
            &env,
            &serde_json::json!({"env": {"HTTPS_PROXY": value}}),
            0o644,
        );
        let out = env.run(&["--auth-status"]);
        assert_eq!(out.status.code(), Some(3), "{value}: {}", text(&out));
        assert!(text(&out).contains("chmod 600"), "{}", text(&out));
        assert!(!text(&out).contains("proxypass99"), "{}", text(&out));
    }
}
