//! Managed settings as an administrator deploys them: policy the user's config cannot
//! loosen, drop-in files merged in name order, and files anyone but root could have written
//! refused loudly. Debug builds read them from `CLAUDE_MANAGED_SETTINGS_DIR` (release builds
//! only from the system directory); files created here belong to the test's user, which
//! debug builds accept for that directory only.
#![cfg(unix)]

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// A managed-settings directory (0755) with `managed-settings.json` and drop-ins (0644).
struct Managed {
    dir: tempfile::TempDir,
}

impl Managed {
    fn new() -> Managed {
        let dir = tempfile::tempdir().unwrap();
        set_mode(dir.path(), 0o755);
        Managed { dir }
    }

    fn base(&self, json: &str) -> PathBuf {
        self.write(&self.dir.path().join("managed-settings.json"), json)
    }

    fn drop_in(&self, name: &str, json: &str) -> PathBuf {
        let dir = self.dir.path().join("managed-settings.d");
        std::fs::create_dir_all(&dir).unwrap();
        set_mode(&dir, 0o755);
        self.write(&dir.join(name), json)
    }

    fn write(&self, path: &Path, json: &str) -> PathBuf {
        std::fs::write(path, json).unwrap();
        set_mode(path, 0o644);
        path.to_path_buf()
    }

    fn user(&self) -> TestEnv {
        TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A).with(
            "CLAUDE_MANAGED_SETTINGS_DIR",
            &self.dir.path().display().to_string(),
        )
    }
}

#[test]
fn managed_mfa_cannot_be_turned_off_by_the_user() {
    let managed = Managed::new();
    let file = managed
        .base(r#"{"security": {"mfa": {"enabled": true}}, "permissions": {"allow": ["Bash"]}}"#);
    let env = managed.user();
    env.write_config(r#"{"security": {"mfa": {"enabled": false}}}"#);

    let doc = env.status_json();
    assert_eq!(doc["mfa"]["required"], true, "{doc}");
    assert_eq!(
        doc["managed"]["settings"],
        serde_json::json!(["security.mfa.enabled"])
    );
    assert_eq!(doc["managed"]["files"][0], file.display().to_string());
    let warnings = doc["warnings"].to_string();
    assert!(
        !warnings.contains("permissions"),
        "Claude Code's own keys are not warned about: {warnings}"
    );

    let out = env.run(&["--auth-status"]);
    assert!(
        text(&out).contains(&format!(
            "Managed by {}: security.mfa.enabled",
            file.display()
        )),
        "{}",
        text(&out)
    );
}

#[test]
fn policy_applies_without_a_user_config() {
    let managed = Managed::new();
    managed.base(r#"{"compliance": {"dataResidency": "eu"}}"#);
    let doc = managed.user().status_json();
    assert_eq!(doc["configFound"], false);
    assert_eq!(doc["compliance"]["dataResidency"]["policy"], "eu");
}

#[test]
fn drop_in_files_merge_in_name_order_and_replace_the_users_ranges() {
    let managed = Managed::new();
    let base = managed.base(r#"{"compliance": {"dataResidency": "us"}, "security": {"ipRestrictions": ["10.0.0.0/8"]}}"#);
    let late = managed.drop_in("20-late.json", r#"{"compliance": {"dataResidency": "eu"}}"#);
    let early = managed.drop_in(
        "10-early.json",
        r#"{"compliance": {"dataResidency": "apac"}}"#,
    );
    managed.drop_in("notes.txt", "not json, not read");
    let env = managed.user();
    env.write_config(r#"{"security": {"ipRestrictions": ["0.0.0.0/0"]}}"#);

    let doc = env.status_json();
    let files: Vec<String> = [base, early, late]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(doc["managed"]["files"], serde_json::json!(files));
    assert_eq!(
        doc["compliance"]["dataResidency"]["policy"], "eu",
        "the last file wins"
    );
    assert_eq!(
        doc["managed"]["settings"],
        serde_json::json!(["compliance.dataResidency", "security.ipRestrictions"])
    );
}

#[test]
fn a_managed_file_others_can_write_is_refused_loudly() {
    let managed = Managed::new();
    let file = managed.base(r#"{"security": {"mfa": {"enabled": true}}}"#);
    set_mode(&file, 0o666);
    let out = managed.user().run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains(&format!(
            "managed settings {} can be written by group or others (mode 666)",
            file.display()
        )),
        "{all}"
    );
    assert!(
        all.contains(&format!("sudo chmod 644 {}", file.display())),
        "{all}"
    );
}

#[test]
fn a_drop_in_directory_others_can_write_is_refused() {
    let managed = Managed::new();
    managed.drop_in("10-mfa.json", r#"{"security": {"mfa": {"enabled": true}}}"#);
    let dir = managed.dir.path().join("managed-settings.d");
    set_mode(&dir, 0o777);
    let out = managed.user().run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("sudo chmod 755 {}", dir.display())),
        "{}",
        text(&out)
    );
}

#[test]
fn a_managed_file_owned_by_another_user_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can give a file to another user");
        return;
    }
    let managed = Managed::new();
    let file = managed.base(r#"{"security": {"mfa": {"enabled": true}}}"#);
    std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
    let out = managed.user().run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("are owned by uid 65534, not root"), "{all}");
    assert!(
        all.contains(&format!("sudo chown root {}", file.display())),
        "{all}"
    );
}

#[test]
fn managed_type_errors_name_the_file_line_and_path() {
    let managed = Managed::new();
    let file = managed.drop_in(
        "10-rotation.json",
        "{\n  \"security\": {\"keyRotation\": {\"interval\": \"30d\"}}\n}",
    );
    let out = managed.user().run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains(&format!("{}:2:", file.display())), "{all}");
    assert!(all.contains("`security.keyRotation.interval`"), "{all}");
}

#[test]
fn unknown_managed_keys_warn_naming_the_managed_file() {
    let managed = Managed::new();
    let file = managed.base(r#"{"security": {"mfaa": {"enabled": true}}}"#);
    let out = managed.user().run(&["--auth-status"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "{}: unknown key `security.mfaa` is ignored (did you mean `mfa`?)",
            file.display()
        )),
        "{}",
        text(&out)
    );
}

#[test]
fn key_names_quoted_in_warnings_forge_no_line_and_show_no_credential() {
    let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    let managed = Managed::new();
    managed.base(&format!(
        r#"{{"authentication": {{"{MANAGED_KEY}": true, "x\nerror: forged": 1}},
            "environments": {{"prod {token}": {{"apiKey": "x"}}}}}}"#
    ));
    let out = managed.user().run(&["--auth-status"]);
    let all = text(&out);
    assert!(!all.contains(MANAGED_KEY), "{all}");
    assert!(!all.contains(token), "{all}");
    assert!(
        !all.lines().any(|line| line.starts_with("error: forged")),
        "{all}"
    );
    assert!(all.contains("x\\u{a}error: forged"), "shown escaped: {all}");
}

#[test]
fn claude_codes_own_managed_keys_are_left_alone_without_a_warning() {
    let managed = Managed::new();
    managed.base(
        r#"{"env": {"HTTPS_PROXY": "http://proxy.corp:3128"}, "permissions": {"deny": []},
            "securty": {}, "security": {"mfa": {"enabled": false}}}"#,
    );
    let out = managed.user().run(&["--auth-status"]);
    let all = text(&out);
    assert!(
        !all.contains("`env`") && !all.contains("`permissions`"),
        "{all}"
    );
    // A near miss of a policy block still warns.
    assert!(all.contains("`securty` is not a policy block"), "{all}");
}

#[test]
fn test_auth_names_the_managed_settings() {
    let api = common::servers::Server::anthropic(&[KEY_A]);
    let managed = Managed::new();
    let file = managed.base(r#"{"authentication": {"method": "api-key"}}"#);
    let env = managed.user().api(&api.url());
    env.write_config(r#"{"authentication": {"method": "oauth", "fallback": "api-key"}}"#);
    let out = env.run(&["--test-auth"]);
    let all = text(&out);
    assert!(
        all.contains(&format!(
            "✓ managed settings  Managed by {}: authentication.fallback, authentication.method",
            file.display()
        )),
        "{all}"
    );
    assert_no_secret(&out, KEY_A);
}

fn error_line(out: &std::process::Output) -> String {
    text(out)
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_managed_method_is_not_undone_by_the_selected_environment() {
    let managed = Managed::new();
    let file = managed.base(r#"{"authentication": {"method": "oauth"}}"#);
    let mut env = managed.user();
    env.unset("ANTHROPIC_API_KEY");
    env.write_config(&format!(
        r#"{{"environments": {{"mine": {{"authentication": "api-key", "apiKey": "{KEY_B}"}}}}}}"#
    ));
    for args in [
        &["--auth-status", "--env", "mine"][..],
        &["--print-token", "--env", "mine"],
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(16), "{args:?}: {}", text(&out));
        let all = text(&out);
        assert!(all.contains(&file.display().to_string()), "{all}");
        assert!(all.contains("`environments.mine.authentication`"), "{all}");
        assert_no_secret(&out, KEY_B);
    }
    // An environment that agrees with the managed method is used, under that method.
    env.write_config(r#"{"environments": {"mine": {"authentication": "oauth"}}}"#);
    let out = env.run(&["--auth-status", "--env", "mine", "--json"]);
    assert!(out.status.code() != Some(16), "{}", text(&out));
}

#[test]
fn a_managed_method_is_not_undone_by_provider_or_claude_code_use() {
    let managed = Managed::new();
    let file = managed.base(
        r#"{"authentication": {"method": "bedrock"}, "compliance": {"dataResidency": "eu"}}"#,
    );
    let env = managed.user();
    env.write_config(r#"{"provider": "anthropic"}"#);
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(16), "{}", text(&out));
    let line = error_line(&out);
    assert!(line.contains(&file.display().to_string()), "{line}");
    assert!(line.contains("`provider`"), "{line}");

    env.write_config("{}");
    let out = env
        .claude()
        .env("CLAUDE_CODE_USE_VERTEX", "1")
        .arg("--test-api-key")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(16), "{}", text(&out));
    assert!(
        error_line(&out).contains("CLAUDE_CODE_USE_VERTEX"),
        "{}",
        text(&out)
    );

    // Managed `oauth`: CLAUDE_CODE_USE_BEDROCK would leave the Anthropic API entirely.
    managed.base(r#"{"authentication": {"method": "oauth"}}"#);
    let out = env
        .claude()
        .env("CLAUDE_CODE_USE_BEDROCK", "true")
        .arg("--auth-status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(16), "{}", text(&out));
    assert!(
        error_line(&out).contains("CLAUDE_CODE_USE_BEDROCK"),
        "{}",
        text(&out)
    );
}

/// An encrypted-file user under the managed directory, with `config` in the user's file.
fn mfa_user(managed: &Managed, config: &str) -> TestEnv {
    let env = TestEnv::encrypted()
        .with(
            "CLAUDE_MANAGED_SETTINGS_DIR",
            &managed.dir.path().display().to_string(),
        )
        .with("CLAUDE_TEST_NOW", "1800000000");
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}}, {config}}}"#
    ));
    env
}

fn set_key(env: &TestEnv, code: Option<&str>) -> std::process::Output {
    let mut cmd = env.claude();
    cmd.args(["--set-api-key", "-"]).write_stdin(KEY_A);
    if let Some(code) = code {
        cmd.env("CLAUDE_MFA_CODE", code);
    }
    cmd.output().unwrap()
}

#[test]
fn under_managed_mfa_the_users_sms_command_and_phone_do_not_count() {
    let managed = Managed::new();
    managed.base(r#"{"security": {"mfa": {"enabled": true}}}"#);
    let sink = tempfile::tempdir().unwrap();
    let sms = sink.path().join("sms.txt");
    let env = mfa_user(
        &managed,
        &format!(
            r#""security": {{"mfa": {{"methods": ["sms"], "sms": {{"command": ["/bin/sh", "-c", "cat > {}", "x"], "phone": "+15550001234"}}}}}}"#,
            sms.display()
        ),
    );
    let out = set_key(&env, None);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(!sms.exists(), "the user's command received a code");
    let all = text(&out);
    assert!(all.contains("no second factor is enrolled"), "{all}");
    for path in [
        "security.mfa.methods",
        "security.mfa.sms.command",
        "security.mfa.sms.phone",
    ] {
        assert!(
            all.contains(&format!(
                "`{path}` is ignored: managed settings require MFA"
            )),
            "{path}: {all}"
        );
    }
    assert_eq!(env.status_json()["fingerprint"], serde_json::Value::Null);
}

#[test]
fn managed_sms_without_a_managed_command_or_phone_is_the_administrators_to_fix() {
    let managed = Managed::new();
    let sink = tempfile::tempdir().unwrap();
    let sms = sink.path().join("sms.txt");
    // The managed command is there, the phone is not: the user's phone does not count.
    managed.base(&format!(
        r#"{{"security": {{"mfa": {{"enabled": true, "methods": ["sms"], "sms": {{"command": ["/bin/sh", "-c", "cat > {}", "x"]}}}}}}}}"#,
        sms.display()
    ));
    let env = mfa_user(
        &managed,
        r#""security": {"mfa": {"sms": {"phone": "+15550001234"}}}"#,
    );
    let out = set_key(&env, None);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("security.mfa.sms.phone"), "{all}");
    assert!(all.contains("administrator"), "{all}");
    assert!(!sms.exists(), "a code was sent to the user's number");

    // Both managed: the managed command delivers, to the managed number.
    managed.base(&format!(
        r#"{{"security": {{"mfa": {{"enabled": true, "methods": ["sms"], "sms": {{"command": ["/bin/sh", "-c", "cat > {}", "x"], "phone": "+15559990000"}}}}}}}}"#,
        sms.display()
    ));
    let out = set_key(&env, None);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(text(&out).contains("ending in 00"), "{}", text(&out));
    assert!(sms.exists());
}

// Claude Code's own credential keys in managed settings: they win over everything.

/// A key that lives only in a managed `env` block in these tests.
const MANAGED_KEY: &str = "sk-ant-api03-TESTMANAGEDKEYMMMMMMMMM-m7M7";
/// A key in the user's settings `env` block (not KEY_A–C, which never sit in a plain file).
const USER_SETTINGS_KEY: &str = "sk-ant-api03-TESTUSERSETTINGSKEYUUUU-u8U8";

/// Claude Code's user settings for `env` (0600).
fn write_settings(env: &TestEnv, json: &serde_json::Value) -> PathBuf {
    std::fs::create_dir_all(env.state_dir()).unwrap();
    set_mode(env.state_dir(), 0o700);
    let path = env.state_dir().join("settings.json");
    std::fs::write(&path, json.to_string()).unwrap();
    set_mode(&path, 0o600);
    path
}

/// A user under `managed` with no key of their own.
fn plain_user(managed: &Managed) -> TestEnv {
    TestEnv::new().with(
        "CLAUDE_MANAGED_SETTINGS_DIR",
        &managed.dir.path().display().to_string(),
    )
}

#[test]
fn a_managed_api_key_helper_wins_and_the_users_helpers_are_shown_shadowed() {
    let scripts = tempfile::tempdir().unwrap();
    let (policy, policy_runs) = helper_script(scripts.path(), "policy", KEY_A);
    let (ours, our_runs) = helper_script(scripts.path(), "ours", KEY_B);
    let (theirs, their_runs) = helper_script(scripts.path(), "theirs", KEY_C);
    let managed = Managed::new();
    managed.base(r#"{"security": {"auditLog": {"enabled": false}}}"#);
    let file = managed.drop_in(
        "20-helper.json",
        &serde_json::json!({"apiKeyHelper": policy.display().to_string()}).to_string(),
    );
    let api = common::servers::Server::anthropic(&[KEY_A]);
    let env = plain_user(&managed).api(&api.url());
    env.write_config(&serde_json::json!({"apiKeyHelper": ours.display().to_string()}).to_string());
    let settings = write_settings(
        &env,
        &serde_json::json!({"apiKeyHelper": theirs.display().to_string()}),
    );

    let status = env.run(&["--auth-status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    let doc = json_stdout(&status);
    let shown_file = file.display().to_string();
    assert_eq!(doc["source"], "apiKeyHelper");
    assert_eq!(doc["origin"], shown_file);
    assert_eq!(doc["credentials"][0]["origin"], shown_file);
    assert_eq!(doc["credentials"][1]["state"], "shadowed");
    assert_eq!(
        doc["credentials"][2]["origin"],
        settings.display().to_string()
    );
    let helpers = &doc["claudeCodeSettings"]["helpers"];
    assert_eq!(helpers[0]["from"], "managed", "{helpers}");
    assert_eq!(helpers[0]["file"], shown_file);
    assert_eq!(helpers[0]["state"], "in-force");
    for (i, from) in [(1, "config"), (2, "settings")] {
        assert_eq!(helpers[i]["from"], from, "{helpers}");
        assert_eq!(helpers[i]["state"], "shadowed", "{helpers}");
        assert!(
            helpers[i]["reason"]
                .as_str()
                .unwrap()
                .contains(&format!("set by managed settings {shown_file}")),
            "{helpers}"
        );
    }

    let human = env.run(&["--auth-status"]);
    let shown = text(&human);
    assert!(
        shown.contains(&format!(
            "from `apiKeyHelper` in managed settings {shown_file}"
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "apiKeyHelper in the config is shadowed: set by managed settings {shown_file}"
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "apiKeyHelper in {} is shadowed: set by managed settings {shown_file}",
            settings.display()
        )),
        "{shown}"
    );
    assert_eq!(runs(&policy_runs), 0, "status runs nothing");

    let test = env.run(&["--test-auth"]);
    assert!(test.status.success(), "{}", text(&test));
    assert!(text(&test).contains(&format!("managed settings {shown_file}")));
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY_A)
    );
    let token = env.run(&["--print-token"]);
    assert_eq!(String::from_utf8_lossy(&token.stdout).trim(), KEY_A);
    assert_eq!(
        (runs(&policy_runs), runs(&our_runs), runs(&their_runs)),
        (2, 0, 0)
    );
    for out in [&status, &human, &test] {
        for key in [KEY_A, KEY_B, KEY_C] {
            assert_no_secret(out, key);
        }
    }
}

#[test]
fn a_managed_env_supplies_variables_and_beats_the_shell_and_the_users_settings() {
    let api = common::servers::Server::anthropic(&[MANAGED_KEY]);
    let managed = Managed::new();
    let file = managed.base(
        &serde_json::json!({"env": {"ANTHROPIC_API_KEY": MANAGED_KEY, "ANTHROPIC_BASE_URL": api.url()}})
            .to_string(),
    );
    // The shell and the user's settings both point elsewhere, with another key.
    let env = plain_user(&managed)
        .with("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
        .with("ANTHROPIC_API_KEY", KEY_A);
    let settings = write_settings(
        &env,
        &serde_json::json!({"env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:7", "ANTHROPIC_API_KEY": USER_SETTINGS_KEY}}),
    );

    let status = env.run(&["--auth-status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    let doc = json_stdout(&status);
    let shown_file = file.display().to_string();
    assert_eq!(doc["source"], "env:ANTHROPIC_API_KEY");
    assert_eq!(doc["origin"], shown_file);
    assert_eq!(doc["fingerprint"], "sk-ant-api03-…m7M7");
    let entries = doc["claudeCodeSettings"]["env"].as_array().unwrap();
    let entry = |name: &str, from: &str| {
        entries
            .iter()
            .find(|e| e["name"] == name && e["from"] == from)
            .unwrap_or_else(|| panic!("{name} from {from}: {entries:?}"))
    };
    let policy = entry("ANTHROPIC_BASE_URL", "managed");
    assert_eq!(policy["applied"], true);
    assert_eq!(policy["file"], shown_file);
    assert_eq!(policy["replacedShellValue"], true);
    let user = entry("ANTHROPIC_BASE_URL", "settings");
    assert_eq!(user["applied"], false);
    assert_eq!(user["file"], settings.display().to_string());
    assert!(
        user["reason"].as_str().unwrap().contains(&shown_file),
        "{user}"
    );

    let human = env.run(&["--auth-status"]);
    let shown = text(&human);
    assert!(
        shown.contains(&format!(
            "the ANTHROPIC_API_KEY environment variable, set by the `env` block of managed settings {shown_file}"
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "env ANTHROPIC_BASE_URL of managed settings {shown_file} replaces the shell's value"
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "env ANTHROPIC_BASE_URL of {} is not applied: managed settings {shown_file} set it too",
            settings.display()
        )),
        "{shown}"
    );

    // The managed endpoint and key were the ones used.
    let test = env.run(&["--test-auth"]);
    assert!(test.status.success(), "{}", text(&test));
    assert_eq!(api.requests().len(), 1);
    assert_eq!(api.requests()[0].header("x-api-key"), Some(MANAGED_KEY));
    for out in [&status, &human, &test] {
        assert_not_echoed(out, MANAGED_KEY);
        assert_no_secret(out, KEY_A);
        assert_no_secret(out, USER_SETTINGS_KEY);
    }
    assert_no_secret_in_files(env.state_dir().as_path(), MANAGED_KEY);
}

#[test]
fn a_managed_file_that_fails_the_ownership_check_contributes_nothing() {
    let scripts = tempfile::tempdir().unwrap();
    let (policy, policy_runs) = helper_script(scripts.path(), "policy", KEY_A);
    let managed = Managed::new();
    let file = managed.base(
        &serde_json::json!({"apiKeyHelper": policy.display().to_string(), "env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}})
            .to_string(),
    );
    set_mode(&file, 0o666);
    let env = plain_user(&managed);
    for args in [&["--auth-status"][..], &["--print-token"], &["--test-auth"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains(&format!("sudo chmod 644 {}", file.display())),
            "{}",
            text(&out)
        );
        assert_no_secret(&out, KEY_A);
    }
    assert_eq!(runs(&policy_runs), 0, "a refused file runs nothing");
}

#[test]
fn the_recursion_guard_stops_a_managed_helper_and_a_managed_env_cannot_lift_it() {
    let scripts = tempfile::tempdir().unwrap();
    let (policy, policy_runs) = helper_script(scripts.path(), "policy", KEY_A);
    let managed = Managed::new();
    let file = managed.base(
        &serde_json::json!({"apiKeyHelper": policy.display().to_string(), "env": {"CLAUDE_AUTH_HELPER_CHILD": ""}})
            .to_string(),
    );
    let env = plain_user(&managed).with("CLAUDE_AUTH_HELPER_CHILD", "1");
    let status = env.run(&["--auth-status", "--json"]);
    let doc = json_stdout(&status);
    let ccs = &doc["claudeCodeSettings"];
    assert_eq!(ccs["guard"], true, "{ccs}");
    assert_eq!(ccs["helpers"][0]["from"], "managed");
    assert_eq!(ccs["helpers"][0]["state"], "skipped");
    let lifted = ccs["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "CLAUDE_AUTH_HELPER_CHILD")
        .unwrap();
    assert_eq!(lifted["applied"], false, "{lifted}");
    let token = env.run(&["--print-token"]);
    assert!(!token.status.success(), "{}", text(&token));
    assert!(
        text(&token).contains(&file.display().to_string()) || runs(&policy_runs) == 0,
        "{}",
        text(&token)
    );
    assert_eq!(runs(&policy_runs), 0, "the guard holds whatever the origin");
    assert_no_secret(&token, KEY_A);
}

#[test]
fn a_managed_env_that_agrees_with_the_managed_method_is_the_policy_and_one_that_does_not_is_the_administrators_to_fix(
) {
    let managed = Managed::new();
    let file = managed.base(
        r#"{"authentication": {"method": "bedrock"}, "env": {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "eu-west-1"}}"#,
    );
    let env = plain_user(&managed);
    let out = env.run(&["--auth-status", "--json"]);
    assert_ne!(out.status.code(), Some(16), "{}", text(&out));
    assert_ne!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(json_stdout(&out)["provider"], "bedrock", "{}", text(&out));
    let test = env.run(&["--test-auth"]);
    assert!(
        text(&test).contains(&format!(
            "bedrock (from CLAUDE_CODE_USE_BEDROCK, set by the `env` block of managed settings {})",
            file.display()
        )),
        "{}",
        text(&test)
    );

    managed.base(
        r#"{"authentication": {"method": "api-key"}, "env": {"CLAUDE_CODE_USE_BEDROCK": "1"}}"#,
    );
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("managed settings contradict themselves"),
        "{all}"
    );
    assert!(all.contains("ask your administrator"), "{all}");
    assert!(!all.contains("unset CLAUDE_CODE_USE_BEDROCK"), "{all}");
}
