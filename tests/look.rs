//! How output looks: colour only on a terminal (or when forced), never with `NO_COLOR`,
//! `TERM=dumb`, in a pipe or in JSON; ASCII marks under a non-UTF-8 locale; `-v` readable
//! sentences and `-vv` more than `-v`.

mod common;

use common::servers::Server;
use common::{TestEnv, KEY_A};

const ESC: &str = "\u{1b}[";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn with_key() -> TestEnv {
    TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A)
}

#[test]
fn a_pipe_gets_no_colour() {
    let out = with_key()
        .with("TERM", "xterm-256color")
        .claude()
        .arg("--auth-status")
        .output()
        .unwrap();
    assert!(text(&out.stdout).starts_with("✓ "), "{}", text(&out.stdout));
    assert!(!text(&out.stdout).contains(ESC));
}

#[test]
fn clicolor_force_colours_marks_and_error_prefixes_but_never_json() {
    let env = TestEnv::new().with("CLICOLOR_FORCE", "1");
    let out = env.claude().arg("--auth-status").output().unwrap();
    assert!(
        text(&out.stdout).starts_with("\u{1b}[31m✗\u{1b}[0m Not authenticated"),
        "{:?}",
        text(&out.stdout)
    );
    let out = env.claude().arg("--rotate-key").output().unwrap();
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{ESC}31merror:")), "{stderr:?}");
    assert!(stderr.contains(&format!("{ESC}36mhint:")), "{stderr:?}");
    let out = env
        .claude()
        .args(["--auth-status", "--json"])
        .output()
        .unwrap();
    assert!(!text(&out.stdout).contains(ESC), "{}", text(&out.stdout));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("plain JSON");
}

#[test]
fn no_color_wins_even_over_clicolor_force() {
    let out = TestEnv::new()
        .with("CLICOLOR_FORCE", "1")
        .with("NO_COLOR", "1")
        .claude()
        .arg("--rotate-key")
        .output()
        .unwrap();
    assert!(!text(&out.stderr).contains(ESC), "{:?}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with("error: "));
}

/// A real pseudo-terminal, through util-linux `script`: colour on a terminal, none with
/// `TERM=dumb` or `NO_COLOR`.
#[cfg(target_os = "linux")]
#[test]
fn a_terminal_gets_colour_unless_dumb_or_no_color() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("claude");
    let run = |extra: &[(&str, &str)]| {
        let mut env = with_key();
        for (name, value) in extra {
            env.set(name, value);
        }
        let mut cmd = std::process::Command::new("script");
        cmd.env_clear();
        for (name, value) in &env.vars {
            cmd.env(name, value);
        }
        let line = format!("{} --auth-status", bin.display());
        let out = cmd.args(["-qec", &line, "/dev/null"]).output().unwrap();
        text(&out.stdout)
    };
    let shown = run(&[("TERM", "xterm")]);
    assert!(shown.contains(&format!("{ESC}32m✓")), "{shown:?}");
    let shown = run(&[("TERM", "dumb")]);
    assert!(!shown.contains(ESC) && shown.contains("✓ "), "{shown:?}");
    let shown = run(&[("TERM", "xterm"), ("NO_COLOR", "1")]);
    assert!(!shown.contains(ESC) && shown.contains("✓ "), "{shown:?}");
}

#[test]
fn a_locale_without_utf8_gets_ascii_marks() {
    let out = with_key()
        .with("LANG", "C")
        .claude()
        .arg("--auth-status")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("ok API key configured"), "{stdout}");
    assert!(!stdout.contains('✓'));
    let out = with_key()
        .with("LC_ALL", "en_US.UTF-8")
        .with("LANG", "C")
        .claude()
        .arg("--auth-status")
        .output()
        .unwrap();
    assert!(text(&out.stdout).starts_with("✓ "));
}

#[test]
fn verbose_is_sentences_and_double_verbose_adds_the_resolution() {
    let v = with_key()
        .claude()
        .args(["--auth-status", "-v"])
        .output()
        .unwrap();
    let v = text(&v.stderr);
    assert!(
        v.contains(
            "sk-ant-api03-…a1A1 from the ANTHROPIC_API_KEY environment variable is in force"
        ),
        "{v}"
    );
    assert!(!v.contains("debug:") && !v.contains(" { "), "{v}");
    let vv = with_key()
        .claude()
        .args(["--auth-status", "-vv"])
        .output()
        .unwrap();
    let vv = text(&vv.stderr);
    assert!(vv.contains("debug: candidate sk-ant-api03-…a1A1"), "{vv}");
    assert!(vv.lines().count() > v.lines().count(), "{vv}");
}

#[test]
fn double_verbose_shows_each_http_exchange_with_status_and_time() {
    let server = Server::anthropic(&[KEY_A]);
    let env = TestEnv::env_key(&server.url(), KEY_A);
    let v = env
        .claude()
        .args(["--test-api-key", "-v"])
        .output()
        .unwrap();
    let v = text(&v.stderr);
    assert!(v.contains("accepted by the API"), "{v}");
    assert!(!v.contains("GET "), "{v}");
    let vv = env
        .claude()
        .args(["--test-api-key", "-vv"])
        .output()
        .unwrap();
    let vv = text(&vv.stderr);
    assert!(vv.contains("debug: → GET http://127.0.0.1:"), "{vv}");
    assert!(vv.contains("debug: ← HTTP 200 in "), "{vv}");
    assert!(vv.contains("x-api-key: [redacted]"), "{vv}");
    assert!(!vv.contains(KEY_A));
}

/// Linux without a session bus (as in these tests): status says the keychain cannot be
/// used, and the next step starts with the way out.
#[cfg(target_os = "linux")]
#[test]
fn a_keychain_this_machine_lacks_is_said_with_the_way_out() {
    let env = TestEnv::new();
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("storage:      keychain (cannot be used here: no D-Bus session bus"),
        "{shown}"
    );
    assert!(
        shown.contains("Next: the keychain cannot be used here: run `claude --set-storage encrypted-file`, then store an API key"),
        "{shown}"
    );
    // Switching away needs no keychain when nothing is stored in it.
    let env = env.with("CLAUDE_PASSPHRASE", "a long enough passphrase");
    let out = env.run(&["--set-storage", "encrypted-file"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.run(&["--auth-status"]);
    assert!(
        !text(&out.stdout).contains("cannot be used here"),
        "{}",
        text(&out.stdout)
    );
}
