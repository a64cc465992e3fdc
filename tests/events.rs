//! `-v` and `--debug-auth`: what the event sink shows, as sentences with fingerprints, never
//! a key, never a Rust `Debug` dump, and nothing at all without those flags.

mod common;

use common::servers::Server;
use common::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn has_line(stderr: &str, line: &str) -> bool {
    stderr.lines().any(|l| l == line)
}

/// No Rust `Debug` output (`KeyStored { fingerprint: Fingerprint(…) }`) reaches the user.
fn assert_no_debug_dump(stderr: &str) {
    for dump in ["event:", "Fingerprint(", "KeyStored", "{ "] {
        assert!(!stderr.contains(dump), "`{dump}` in:\n{stderr}");
    }
}

#[test]
fn verbose_set_api_key_says_which_key_was_checked_and_stored() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    let out = env.run_with_stdin(&["-v", "--set-api-key", "-"], &format!("{KEY_A}\n"));
    assert!(out.status.success(), "{}", text(&out));
    let stderr = stderr(&out);
    assert!(
        has_line(&stderr, "key sk-ant-api03-…a1A1 accepted by the API"),
        "{stderr}"
    );
    assert!(
        has_line(
            &stderr,
            "key sk-ant-api03-…a1A1 stored in the encrypted file"
        ),
        "{stderr}"
    );
    assert_no_debug_dump(&stderr);
    assert!(
        !stderr.contains("debug:"),
        "`-v` shows no HTTP trace: {stderr}"
    );
    assert_no_secret(&out, KEY_A);
}

#[test]
fn without_verbose_no_event_line_is_printed() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stderr(&out), "", "stderr stays empty");
}

#[test]
fn verbose_rejected_key_names_its_fingerprint_and_the_code() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    let out = env.run_with_stdin(&["-v", "--set-api-key", "-"], KEY_B);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let stderr = stderr(&out);
    assert!(
        has_line(
            &stderr,
            "key sk-ant-api03-…b2B2 failed its check: invalid_api_key"
        ),
        "{stderr}"
    );
    assert_no_debug_dump(&stderr);
    assert_no_secret(&out, KEY_B);
}

#[test]
fn verbose_rotate_and_remove_name_the_keys_involved() {
    let api = Server::anthropic(&[KEY_A, KEY_B]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let out = env.run_with_stdin(&["-v", "--rotate-key", "-"], KEY_B);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        has_line(
            &stderr(&out),
            "key sk-ant-api03-…a1A1 replaced by sk-ant-api03-…b2B2 in the encrypted file"
        ),
        "{}",
        text(&out)
    );
    let out = env.run(&["-v", "--remove-api-key"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        has_line(
            &stderr(&out),
            "key sk-ant-api03-…b2B2 removed from the encrypted file"
        ),
        "{}",
        text(&out)
    );
    assert_no_secret(&out, KEY_A);
    assert_no_secret(&out, KEY_B);
}

#[test]
fn debug_auth_traces_a_stored_keys_check_with_headers_redacted() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let out = env.run(&["--debug-auth"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = stderr(&out);
    for line in [
        "debug: candidate encrypted-file sk-ant-api03-…a1A1: usable",
        "debug: →   x-api-key: [redacted]",
        "debug: →   anthropic-version: 2023-06-01",
    ] {
        assert!(has_line(&stderr, line), "`{line}` in:\n{stderr}");
    }
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("debug: → GET http://127.0.0.1:") && l.ends_with("/v1/models")),
        "{stderr}"
    );
    assert!(stderr.contains("debug: ← HTTP 200 in "), "{stderr}");
    assert_no_debug_dump(&stderr);
    assert_no_secret(&out, KEY_A);
}
