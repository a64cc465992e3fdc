//! Shared test support: a `claude` runner with an isolated home, state directory and
//! keychain service, and assertions that secrets never leak.
#![allow(dead_code)]

pub mod admin_server;
pub mod aws_chain_server;
pub mod bedrock_server;
pub mod billing_server;
pub mod browser;
pub mod github_server;
pub mod google_chain_server;
pub mod google_server;
pub mod oauth_env;
pub mod oauth_server;
pub mod pty;
pub mod servers;
pub mod sso_oidc_server;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Obviously fake keys (short, never shaped like a real key).
pub const KEY_A: &str = "sk-ant-api03-TESTKEYAAAAAAAAAAAAAAA-a1A1";
pub const KEY_B: &str = "sk-ant-api03-TESTKEYBBBBBBBBBBBBBBB-b2B2";
pub const KEY_C: &str = "sk-ant-api03-TESTKEYCCCCCCCCCCCCCCC-c3C3";
pub const PASSPHRASE: &str = "correct horse battery staple";
/// Obviously fake values shaped like other credentials, for checks that errors never echo
/// them: a classic GitHub token (`ghp_` + 36), a JWT (`{"alg":"HS256"}`,
/// `{"sub":"test-fake"}`, a made-up signature) and AWS's documented example secret key.
pub const FAKE_GITHUB_TOKEN: &str = "ghp_TESTFAKEGITHUBTOKEN0123456789abcdEFG";
pub const FAKE_JWT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0LWZha2UifQ.VGVzdEZha2VTaWduYXR1cmUwMTIz";
pub const FAKE_AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// Shaped like a GitLab personal access token (`glpat-` + 20) and a Hugging Face token
/// (`hf_` + 34 letters): too short, or too regular, for the random-run check alone.
pub const FAKE_GITLAB_TOKEN: &str = "glpat-TESTFAKEgitlab012345";
pub const FAKE_HF_TOKEN: &str = "hf_TESTFAKEhuggingfaceTOKENabcdefghij";

/// Sets the Unix permission bits of `path`. Windows has none, so there it does nothing:
/// tests whose point is a mode (a refused 0644 file, a shell script stand-in) are
/// `#[cfg(unix)]`.
pub fn set_mode(path: impl AsRef<Path>, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

/// An isolated user: own HOME, CLAUDE_CONFIG_DIR and keychain service name.
pub struct TestEnv {
    pub home: TempDir,
    pub vars: Vec<(String, String)>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let home = tempfile::tempdir().expect("temp home");
        let state = home.path().join(".claude");
        let service = format!("claude-auth-test-{}-{}", std::process::id(), unique());
        let mut vars = vec![
            ("HOME".into(), home.path().display().to_string()),
            ("CLAUDE_CONFIG_DIR".into(), state.display().to_string()),
            ("CLAUDE_KEYCHAIN_SERVICE".into(), service),
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("CLAUDE_KEYCHAIN_TIMEOUT_MS".into(), "10000".into()),
        ];
        // A Windows process without SystemRoot cannot start Winsock, so no loopback test
        // would run; it names the Windows folder and holds no secret.
        if cfg!(windows) {
            if let Ok(root) = std::env::var("SYSTEMROOT") {
                vars.push(("SYSTEMROOT".into(), root));
            }
        }
        TestEnv { home, vars }
    }

    /// A user whose secrets go to `encrypted-file` with a passphrase.
    pub fn encrypted() -> TestEnv {
        let env = TestEnv::new().with("CLAUDE_PASSPHRASE", PASSPHRASE);
        env.write_config(r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}"#);
        env
    }

    /// Adds or replaces an environment variable for every later run.
    pub fn with(mut self, name: &str, value: &str) -> TestEnv {
        self.set(name, value);
        self
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.into(), value.into()));
    }

    pub fn unset(&mut self, name: &str) {
        self.vars.retain(|(n, _)| n != name);
    }

    /// Points the Anthropic API at a stand-in. The Admin API does not follow it: see
    /// [`TestEnv::admin_api`].
    pub fn api(self, base: &str) -> TestEnv {
        self.with("ANTHROPIC_BASE_URL", base)
    }

    /// Points the Admin API (the calls that carry the Admin key) at a stand-in.
    pub fn admin_api(self, base: &str) -> TestEnv {
        self.with("ANTHROPIC_ADMIN_BASE_URL", base)
    }

    /// `key` in `ANTHROPIC_ADMIN_API_KEY` and the Admin API at `base`.
    pub fn admin_key(self, base: &str, key: &str) -> TestEnv {
        self.admin_api(base).with("ANTHROPIC_ADMIN_API_KEY", key)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.home.path().join(".claude")
    }

    pub fn config_path(&self) -> PathBuf {
        self.state_dir().join("config.json")
    }

    /// Writes the config file (0600, directory 0700).
    pub fn write_config(&self, json: &str) {
        std::fs::create_dir_all(self.state_dir()).unwrap();
        set_mode(self.state_dir(), 0o700);
        std::fs::write(self.config_path(), json).unwrap();
        set_mode(self.config_path(), 0o600);
    }

    /// `claude` with nothing from the outer environment but what this user has.
    pub fn claude(&self) -> Command {
        let mut cmd = Command::cargo_bin("claude").expect("binary built");
        cmd.env_clear();
        for (name, value) in &self.vars {
            cmd.env(name, value);
        }
        cmd.timeout(std::time::Duration::from_secs(60));
        cmd
    }

    /// The same as a std `Command`, for tests that kill or race processes.
    pub fn std_command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("claude"));
        cmd.env_clear();
        for (name, value) in &self.vars {
            cmd.env(name, value);
        }
        cmd
    }

    /// A user with `key` in `ANTHROPIC_API_KEY` and the Anthropic API at `api`.
    pub fn env_key(api: &str, key: &str) -> TestEnv {
        TestEnv::new().api(api).with("ANTHROPIC_API_KEY", key)
    }

    /// An `encrypted-file` user with the API at `api` who has already stored `key`.
    pub fn with_stored_key(api: &str, key: &str) -> TestEnv {
        let env = TestEnv::encrypted().api(api);
        env.store_key(key);
        env
    }

    /// Stores `key` through `claude --set-api-key -` (key on stdin); fails unless it succeeds.
    pub fn store_key(&self, key: &str) {
        self.claude()
            .args(["--set-api-key", "-"])
            .write_stdin(key)
            .assert()
            .success();
    }

    /// Runs `claude ARGS` to the end and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.claude().args(args).output().unwrap()
    }

    /// Runs `claude ARGS` with `stdin` as its standard input and returns its output.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        self.claude()
            .args(args)
            .write_stdin(stdin)
            .output()
            .unwrap()
    }

    /// The document `claude --auth-status --json` prints (whatever the exit code).
    pub fn status_json(&self) -> serde_json::Value {
        json_stdout(&self.run(&["--auth-status", "--json"]))
    }

    /// Passes the session bus of the test process through (for the real keychain).
    pub fn with_session_bus(mut self) -> TestEnv {
        for name in ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"] {
            if let Ok(value) = std::env::var(name) {
                self.set(name, &value);
            }
        }
        self
    }
}

/// Whatever a test did, no fixture key may be left in plaintext in the user's files.
impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        for key in [KEY_A, KEY_B, KEY_C] {
            assert_no_secret_in_files(self.home.path(), key);
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    nanos * 1000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Stdout and stderr of a finished run, as text.
pub fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Fails when a line of stdout or stderr starts (after its indentation) with `forged`: text
/// from outside printed a line the product did not write.
pub fn assert_no_line_starting_with(output: &std::process::Output, forged: &str) {
    let all = text(output);
    assert!(
        !all.lines()
            .any(|line| line.trim_start().starts_with(forged)),
        "a forged line `{forged}…` was printed:\n{all}"
    );
}

/// Fails when `secret` (or its distinctive middle) appears in the output.
pub fn assert_no_secret(output: &std::process::Output, secret: &str) {
    let all = text(output);
    assert!(!all.contains(secret), "secret leaked into output:\n{all}");
    let middle = &secret[13..secret.len() - 4];
    assert!(
        !all.contains(middle),
        "part of the secret leaked into output:\n{all}"
    );
}

/// Fails when `secret`, of any shape, or any eight characters of it between its public
/// prefix (`sk-ant-api03-`, else its first four) and its last four, appear in the output:
/// a masked form shows at most those ends.
pub fn assert_not_echoed(output: &std::process::Output, secret: &str) {
    let all = text(output);
    assert!(!all.contains(secret), "secret echoed in output:\n{all}");
    let head = match secret
        .strip_prefix("sk-ant-")
        .and_then(|rest| rest.find('-'))
    {
        Some(kind_len) => "sk-ant-".len() + kind_len + 1,
        None => 4,
    };
    let chars: Vec<char> = secret.chars().collect();
    for window in chars[head..chars.len() - 4].windows(8) {
        let piece: String = window.iter().collect();
        assert!(
            !all.contains(&piece),
            "part of the secret ({piece}) echoed in output:\n{all}"
        );
    }
}

/// Fails when `secret` appears in plaintext in any file under `dir`.
pub fn assert_no_secret_in_files(dir: &Path, secret: &str) {
    for path in files_under(dir) {
        let bytes = std::fs::read(&path).unwrap_or_default();
        let hay = String::from_utf8_lossy(&bytes);
        assert!(
            !hay.contains(secret),
            "secret in plaintext in {}",
            path.display()
        );
    }
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Parses stdout as the one JSON document `--json` promises.
pub fn json_stdout(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Stdout, then stderr under a marker, as one snapshot text; and the exit code.
pub fn transcript(out: &std::process::Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Snapshot settings for tests against loopback stand-ins: the port becomes `[PORT]`.
pub fn loopback_snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// A helper command (a shell script in `dir`) that prints `key` and counts its runs in the
/// file returned beside it.
#[cfg(unix)]
pub fn helper_script(dir: &Path, name: &str, key: &str) -> (PathBuf, PathBuf) {
    let script = dir.join(name);
    let runs = dir.join(format!("{name}.runs"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho run >> '{}'\necho '{key}'\n",
            runs.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    (script, runs)
}

/// How many times a helper counting its runs in `path` ran.
pub fn runs(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// Rewrites the header of the store at `path` with `edit`, keeping the format valid (magic,
/// version, new length, header, then the nonce and ciphertext as they were).
pub fn edit_store_header(path: &std::path::Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let original = std::fs::read(path).unwrap();
    let header_len = u32::from_be_bytes(original[9..13].try_into().unwrap()) as usize;
    let mut header: serde_json::Value =
        serde_json::from_slice(&original[13..13 + header_len]).unwrap();
    edit(&mut header);
    let header = serde_json::to_vec(&header).unwrap();
    let mut tampered = original[..9].to_vec();
    tampered.extend_from_slice(&(header.len() as u32).to_be_bytes());
    tampered.extend_from_slice(&header);
    tampered.extend_from_slice(&original[13 + header_len..]);
    std::fs::write(path, tampered).unwrap();
}

/// The step called `name` of a `--test-auth --json` document.
pub fn test_auth_step<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["steps"]
        .as_array()
        .expect("a steps array")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` step in {doc}"))
}
