//! Strings from outside (the environment, servers) reach the terminal with their control
//! characters escaped, and `--json` carries them escaped but intact.

mod common;

use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer};
use common::*;

/// A malformed key whose first and last characters are escape sequences: an OSC 52
/// clipboard write (ended by BEL) and a screen clear.
const ESCAPING_KEY: &str = "sk-ant-api03-\u{1b}]52;c;SGVsbG8=\u{7}AAAAAAAA\u{1b}[2J";

/// An account name a hostile server might send: an OSC 8 link, a C1 CSI, DEL and a
/// right-to-left override.
const ESCAPING_EMAIL: &str =
    "dev\u{1b}]8;;https://evil.example\u{7}@example.com\u{1b}]8;;\u{7}\u{9b}2J\u{7f}\u{202e}moc.";

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
fn a_servers_account_name_is_shown_escaped_and_kept_intact_in_json() {
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
    assert_eq!(
        json_stdout(&out)["sessions"][0]["account"],
        ESCAPING_EMAIL,
        "JSON keeps the value exactly, escaped"
    );
}
