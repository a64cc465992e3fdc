//! What users and scripts read, pinned: human and JSON output of every command, on success
//! and on failure, as snapshots (`tests/snapshots/`, reviewed with `cargo insta review` or by
//! reading the diff), and the one rule for failures: every failing command's JSON has a
//! top-level `error` object with `code`, `message` and `hint`, beside any report it prints.
//!
//! Paths, ports and times differ between runs; filters replace them with placeholders.

mod common;

use common::github_server::{GithubOptions, GithubServer, Poll, CLIENT_ID};
use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer};
use common::servers::Server;
use common::*;

/// A fixed clock for commands that print times (sessions, expiry).
const T0: &str = "1800000000";

/// The filters every snapshot here uses: the test's temporary home, loopback ports,
/// timings and timestamps become placeholders.
fn settings(env: &TestEnv) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let home = env.home.path().display().to_string();
    settings.add_filter(&regex_escape(&home), "[HOME]");
    settings.add_filter(r"127\.0\.0\.1(:|%3A)\d+", "127.0.0.1$1[PORT]");
    // Whether the login's stdin closes before or after the callback arrives is a race of
    // the test harness, not something the user controls: the line that says so is dropped.
    settings.add_filter(r"\(stdin is closed[^\n]*\n", "");
    // Linux tests have no session bus, so status says the keychain cannot be used there; a
    // macOS or Windows run would not. The snapshots keep what every platform shows
    // (tests/look.rs checks the Linux words).
    settings.add_filter(
        r" \(cannot be used here: no D-Bus session bus \(DBUS_SESSION_BUS_ADDRESS is not set\), so no Secret Service\)",
        "",
    );
    settings.add_filter(
        r"the keychain cannot be used here: run `claude --set-storage encrypted-file`, then store",
        "store",
    );
    settings.add_filter(r#""(ms|latencyMs)": \d+"#, r#""$1": [MS]"#);
    settings.add_filter(r"\d+ ms\)", "[MS] ms)");
    settings.add_filter(r"within \d+ s of", "within [N] s of");
    // Random per login: the session id, and the PKCE and OpenID values in the address.
    settings.add_filter(
        r#""(sessionId|id)": "[0-9a-f]{16}""#,
        r#""$1": "[SESSION-ID]""#,
    );
    settings.add_filter(
        r"(state|code_challenge|nonce)=[A-Za-z0-9_\-%.~]+",
        "$1=[RANDOM]",
    );
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

/// Runs `claude ARGS` (with `stdin` when given) and then `claude ARGS --json`, each for a
/// fresh user from `user` (commands change what is stored), and pins both transcripts as
/// `NAME_text` and `NAME_json`. `user` returns the stand-ins to keep alive with the user.
fn pin<T>(name: &str, args: &[&str], stdin: Option<&str>, user: impl Fn() -> (T, TestEnv)) {
    for (form, json) in [("text", false), ("json", true)] {
        let (_servers, env) = user();
        let mut args = args.to_vec();
        if json {
            args.push("--json");
        }
        let out = match stdin {
            Some(input) => env.run_with_stdin(&args, input),
            None => env.run(&args),
        };
        settings(&env).bind(|| {
            insta::assert_snapshot!(format!("{name}_{form}"), transcript(&out));
        });
    }
}

/// An `encrypted-file` user with the API stand-in accepting `KEY_A` and `KEY_C`.
fn api_user() -> (Server, TestEnv) {
    let api = Server::anthropic(&[KEY_A, KEY_C]);
    let env = TestEnv::encrypted().api(&api.url());
    (api, env)
}

/// `api_user` with `KEY_A` stored.
fn stored_key_user() -> (Server, TestEnv) {
    let (api, env) = api_user();
    env.store_key(KEY_A);
    (api, env)
}

/// A user logged in through the OAuth stand-in at `T0`.
fn logged_in_user() -> (OAuthServer, TestEnv) {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", "").with("CLAUDE_TEST_NOW", T0);
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    (server, env)
}

/// A user whose `sessions.json` is damaged: every session command fails to read it.
fn damaged_sessions_user() -> ((), TestEnv) {
    let env = TestEnv::encrypted();
    let file = env.state_dir().join("sessions.json");
    std::fs::write(&file, "{not json").unwrap();
    set_mode(&file, 0o600);
    ((), env)
}

/// An `encrypted-file` user whose `github` block points at `server`, with `extra` members.
fn github_user(server: &GithubServer, extra: &str) -> TestEnv {
    let env = TestEnv::encrypted();
    let url = server.url();
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}},
            "oauth": {{"loginTimeout": 5}},
            "github": {{"clientId": "{CLIENT_ID}", "webUrl": "{url}", "apiUrl": "{url}" {extra}}}}}"#
    ));
    env
}

/// A user logged in to the GitHub stand-in, whose App is already installed.
fn github_logged_in() -> (GithubServer, TestEnv) {
    let server = GithubServer::start(GithubOptions {
        polls: vec![Poll::Granted],
        ..GithubOptions::default()
    });
    let env = github_user(
        &server,
        r#", "repositories": ["octocat/hello", "octocat/missing"]"#,
    );
    let out = env.run(&["--login", "--provider", "github", "--no-browser"]);
    assert!(out.status.success(), "{}", text(&out));
    (server, env)
}

#[test]
fn set_api_key() {
    pin(
        "set_api_key_ok",
        &["--set-api-key", "-"],
        Some(KEY_C),
        stored_key_user,
    );
    pin(
        "set_api_key_rejected",
        &["--set-api-key", "-"],
        Some(KEY_B),
        api_user,
    );
}

#[test]
fn remove_api_key() {
    pin(
        "remove_api_key_ok",
        &["--remove-api-key"],
        None,
        stored_key_user,
    );
    pin(
        "remove_api_key_shared_state_dir",
        &["--remove-api-key"],
        None,
        || {
            let (api, env) = stored_key_user();
            set_mode(env.state_dir(), 0o777);
            (api, env)
        },
    );
}

#[test]
fn test_api_key() {
    pin(
        "test_api_key_ok",
        &["--test-api-key"],
        None,
        stored_key_user,
    );
    pin("test_api_key_none", &["--test-api-key"], None, api_user);
}

#[test]
fn validate_key() {
    pin(
        "validate_key_ok",
        &["--validate-key", "-"],
        Some(KEY_A),
        api_user,
    );
    pin(
        "validate_key_malformed",
        &["--validate-key", "-"],
        Some("sk-ant-api03-short"),
        api_user,
    );
}

#[test]
fn rotate_key() {
    pin(
        "rotate_key_ok",
        &["--rotate-key", "-"],
        Some(KEY_C),
        stored_key_user,
    );
    pin(
        "rotate_key_nothing_stored",
        &["--rotate-key", "-"],
        Some(KEY_C),
        api_user,
    );
}

#[test]
fn login() {
    for (form, json) in [("text", false), ("json", true)] {
        let server = OAuthServer::start(OAuthOptions::default());
        let env = oauth_env(&server, "", "").with("CLAUDE_TEST_NOW", T0);
        let out = browser_login(&env, if json { &["--json"] } else { &[] });
        settings(&env).bind(|| {
            insta::assert_snapshot!(format!("login_ok_{form}"), transcript(&out));
        });
    }
    pin(
        "login_unknown_provider",
        &["--login", "--provider", "nope", "--no-browser"],
        None,
        || {
            let server = OAuthServer::start(OAuthOptions::default());
            let env = oauth_env(&server, "", "");
            (server, env)
        },
    );
}

#[test]
fn logout() {
    pin("logout_ok", &["--logout"], None, logged_in_user);
    pin(
        "logout_damaged_sessions",
        &["--logout"],
        None,
        damaged_sessions_user,
    );
}

#[test]
fn list_sessions() {
    pin(
        "list_sessions_ok",
        &["--list-sessions"],
        None,
        logged_in_user,
    );
    pin(
        "list_sessions_damaged",
        &["--list-sessions"],
        None,
        damaged_sessions_user,
    );
}

#[test]
fn print_token() {
    // The one command that prints a secret: the test key shows as a placeholder here.
    for (form, json) in [("text", false), ("json", true)] {
        let (_api, env) = stored_key_user();
        let mut args = vec!["--print-token"];
        if json {
            args.push("--json");
        }
        let out = env.run(&args);
        let mut settings = settings(&env);
        settings.add_filter(&regex_escape(KEY_A), "[THE STORED KEY]");
        settings.bind(|| {
            insta::assert_snapshot!(format!("print_token_ok_{form}"), transcript(&out));
        });
    }
    pin("print_token_none", &["--print-token"], None, api_user);
}

/// `--test-auth` for a user whose login callback uses an ephemeral port, so no other
/// program on the machine changes the steps.
fn test_auth_user(key: Option<&str>) -> (Server, TestEnv) {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    env.write_config(
        r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
            "oauth": {"redirectUri": "http://127.0.0.1:0/callback"}}"#,
    );
    let env = match key {
        Some(key) => env.with("ANTHROPIC_API_KEY", key),
        None => env,
    };
    (api, env)
}

#[test]
fn test_auth() {
    pin("test_auth_ok", &["--test-auth"], None, || {
        test_auth_user(Some(KEY_A))
    });
    pin("test_auth_no_credential", &["--test-auth"], None, || {
        test_auth_user(None)
    });
}

#[test]
fn check_permissions() {
    pin(
        "check_permissions_ok",
        &["--check-permissions"],
        None,
        || {
            let env = TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A);
            env.write_config(r#"{"permissions": ["read"]}"#);
            ((), env)
        },
    );
    pin(
        "check_permissions_missing",
        &["--check-permissions"],
        None,
        || {
            let server = OAuthServer::start(OAuthOptions::default());
            let env = oauth_env(&server, "", r#", "permissions": ["read", "basic-write"]"#)
                .with("CLAUDE_TEST_NOW", T0);
            assert!(browser_login(&env, &[]).status.success());
            (server, env)
        },
    );
}

#[test]
fn reset_auth() {
    pin(
        "reset_auth_ok",
        &["--reset-auth", "--yes"],
        None,
        stored_key_user,
    );
    pin(
        "reset_auth_unconfirmed",
        &["--reset-auth"],
        Some(""),
        stored_key_user,
    );
}

#[test]
fn install_github_app() {
    pin(
        "install_github_app_ok",
        &["/install-github-app", "--no-browser"],
        None,
        github_logged_in,
    );
    pin(
        "install_github_app_no_session",
        &["/install-github-app", "--no-browser"],
        None,
        || {
            let server = GithubServer::start(GithubOptions::default());
            let env = github_user(&server, "");
            (server, env)
        },
    );
}

#[test]
fn status_of_bedrock_with_access_keys() {
    pin("status_bedrock_ok", &["--auth-status"], None, || {
        let env = TestEnv::new()
            .with("CLAUDE_CODE_USE_BEDROCK", "1")
            .with("AWS_REGION", "us-west-2")
            .with("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .with("AWS_SECRET_ACCESS_KEY", FAKE_AWS_SECRET)
            .with("ANTHROPIC_API_KEY", KEY_A);
        ((), env)
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
        assert_error_object(&args, &user.run(&args));
    }
}

/// The failures pinned above, once more with `--json`: each prints `.error.code`.
#[test]
fn every_failing_command_of_the_snapshot_set_has_an_error_code() {
    type User = Box<dyn Fn() -> (Box<dyn std::any::Any>, TestEnv)>;
    fn user<T: 'static>(make: impl Fn() -> (T, TestEnv) + 'static) -> User {
        Box::new(move || {
            let (keep, env) = make();
            (Box::new(keep) as Box<dyn std::any::Any>, env)
        })
    }
    let shared_state_dir = || {
        let (api, env) = stored_key_user();
        set_mode(env.state_dir(), 0o777);
        (api, env)
    };
    let login_config = || {
        let server = OAuthServer::start(OAuthOptions::default());
        let env = oauth_env(&server, "", "");
        (server, env)
    };
    let permissions_required = || {
        let env = TestEnv::new();
        env.write_config(r#"{"permissions": ["read"]}"#);
        ((), env)
    };
    let github_no_session = || {
        let server = GithubServer::start(GithubOptions::default());
        let env = github_user(&server, "");
        (server, env)
    };
    let cases: Vec<(&[&str], Option<&str>, User)> = vec![
        (&["--set-api-key", "-"], Some(KEY_B), user(api_user)),
        (&["--remove-api-key"], None, user(shared_state_dir)),
        (&["--test-api-key"], None, user(api_user)),
        (
            &["--validate-key", "-"],
            Some("sk-ant-api03-short"),
            user(api_user),
        ),
        (&["--rotate-key", "-"], Some(KEY_C), user(api_user)),
        (
            &["--login", "--provider", "nope", "--no-browser"],
            None,
            user(login_config),
        ),
        (&["--logout"], None, user(damaged_sessions_user)),
        (&["--list-sessions"], None, user(damaged_sessions_user)),
        (&["--print-token"], None, user(api_user)),
        (&["--test-auth"], None, user(|| test_auth_user(None))),
        (&["--check-permissions"], None, user(permissions_required)),
        (&["--reset-auth"], Some(""), user(stored_key_user)),
        (
            &["/install-github-app", "--no-browser"],
            None,
            user(github_no_session),
        ),
    ];
    for (args, stdin, make) in cases {
        let (_keep, env) = make();
        let mut args = args.to_vec();
        args.push("--json");
        let out = match stdin {
            Some(input) => env.run_with_stdin(&args, input),
            None => env.run(&args),
        };
        assert_error_object(&args, &out);
    }
}

/// `out` failed and its stdout is one JSON document with an `error` object: `code`,
/// `message`, `hint` and `exitCode` equal to the exit status.
fn assert_error_object(args: &[&str], out: &std::process::Output) {
    assert_ne!(out.status.code(), Some(0), "{args:?} should fail here");
    let doc = json_stdout(out);
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

/// Claude Code's settings beside this tool's config: the config's helper wins and the
/// settings' one is shadowed, an `env` variable replaces the shell's, one is left out, and
/// a project file's credential settings are named, not used.
#[cfg(unix)]
#[test]
fn status_with_claude_code_settings() {
    let env = TestEnv::new().with("ANTHROPIC_BASE_URL", "https://gateway.example");
    env.write_config(r#"{"apiKeyHelper": "get-key --from-config"}"#);
    let settings_path = env.state_dir().join("settings.json");
    std::fs::write(
        &settings_path,
        r#"{"apiKeyHelper": "get-key --from-settings", "env": {"ANTHROPIC_BASE_URL": "https://other-gateway.example", "HOME": "/elsewhere", "DISABLE_TELEMETRY": "1"}, "permissions": {"allow": ["Bash(ls)"]}}"#,
    )
    .unwrap();
    set_mode(&settings_path, 0o600);
    let project = env.home.path().join("project");
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::write(
        project.join(".claude/settings.json"),
        r#"{"apiKeyHelper": "curl https://example.invalid/key", "env": {"ANTHROPIC_BASE_URL": "https://example.invalid"}}"#,
    )
    .unwrap();
    let run = |args: &[&str]| {
        env.claude()
            .current_dir(&project)
            .args(args)
            .output()
            .unwrap()
    };
    settings(&env).bind(|| {
        insta::assert_snapshot!(
            "status_claude_code_settings_text",
            transcript(&run(&["--auth-status"]))
        );
        insta::assert_snapshot!(
            "status_claude_code_settings_json",
            transcript(&run(&["--auth-status", "--json"]))
        );
    });
}
