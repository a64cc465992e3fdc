//! Files that decide credentials, planted by someone else, through the binary: a FIFO in
//! place of the AWS config, the AWS credentials, the SSO token cache, a web identity or
//! container token file or the CA bundle ends the command at once with a clear error; an
//! AWS config over 1 MiB (or `/dev/zero`) is refused unread; an AWS config or CA bundle that
//! another user owns or others can write is refused, and the config's `credential_process`
//! never runs; an SSO token cache that is not the user's alone is refused.
//!
//! Each file is judged on the handle it is then read from (`storage::checked_file`), so
//! the race of a file swapped between the check and the read has no window left to test.
//! Unix only: FIFOs, modes and owners.
#![cfg(unix)]

mod common;

use common::{set_mode, text, TestEnv};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

/// A self-signed CA certificate made for these tests (its private key was thrown away).
const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBrzCCAVWgAwIBAgIUVK+o+YTv/fIYuVo4FSlj+L15aUswCgYIKoZIzj0EAwIw
LDEqMCgGA1UEAwwhY2xhdWRlLWF1dGggaG9zdGlsZS1maWxlcyB0ZXN0IENBMCAX
DTI2MTEzMDA1NTI0OFoYDzIxMjYxMTA2MDU1MjQ4WjAsMSowKAYDVQQDDCFjbGF1
ZGUtYXV0aCBob3N0aWxlLWZpbGVzIHRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATnpqy6P6zxlvLqJuSqNb0b2/bifWFAborLLSbGlRiHZ3fsqM8tU3H8
UrRV3K31uz9Kvjw9LeuIZetUnwuQn//fo1MwUTAdBgNVHQ4EFgQUfUHBZIOFSVGJ
jZUt+oQPJAxUTu4wHwYDVR0jBBgwFoAUfUHBZIOFSVGJjZUt+oQPJAxUTu4wDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAPaCBHA7LSaMWk+ryFRbMs
I/k6EWDl0h3DzrkzHkmpcgIhAMINdHLSZ7fP2rcazOTpCEKpY/rz9Xw1OP5Zubc7
BOkT
-----END CERTIFICATE-----
";

/// How long a refused file may take to be refused: nothing waits on it.
const PROMPTLY: Duration = Duration::from_secs(10);

/// 2027-01-15T08:00:00Z, the clock of the SSO runs.
const T0: &str = "1800000000";

/// A FIFO with no writer, removed when dropped: the harness reads every file of the user
/// when it ends, and a FIFO left behind would block it.
struct Fifo(PathBuf);

impl Fifo {
    fn at(path: PathBuf) -> Fifo {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: `name` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
        Fifo(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The nobody user, who owns the planted files of the ownership tests.
const NOBODY: u32 = 65534;

/// A user with Bedrock in force, a region, and nothing in `~/.aws` yet.
fn bedrock_user() -> TestEnv {
    let env = TestEnv::new()
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("AWS_REGION", "us-east-1")
        // Nothing here may reach a network: a closed loopback port, should it try.
        .with("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    env.write_config("{}");
    env
}

fn aws_dir(env: &TestEnv) -> PathBuf {
    let dir = env.home.path().join(".aws");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `claude ARGS` and fails the test if it takes longer than [`PROMPTLY`].
fn promptly(env: &TestEnv, args: &[&str]) -> Output {
    let started = Instant::now();
    let out = env.claude().args(args).timeout(PROMPTLY).output().unwrap();
    assert!(
        started.elapsed() < PROMPTLY && out.status.code().is_some(),
        "{args:?} did not end within {PROMPTLY:?}: {}",
        text(&out)
    );
    out
}

/// The chain's keys, fetched as `credential_process` would: every AWS file is read.
const KEYS: [&str; 3] = ["--print-token", "--format", "aws-credential-process"];

fn says(out: &Output, code: i32, words: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
    assert!(text(out).contains(words), "no `{words}` in:\n{}", text(out));
}

#[test]
fn a_fifo_in_place_of_an_aws_file_is_refused_at_once() {
    for name in ["config", "credentials"] {
        let env = bedrock_user();
        let fifo = Fifo::at(aws_dir(&env).join(name));
        let out = promptly(&env, &KEYS);
        drop(fifo);
        says(&out, 3, "not a regular file");
        assert!(
            text(&out).contains(&format!("AWS {name} file")),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn an_aws_config_that_is_dev_zero_or_over_1_mib_is_refused_unread() {
    let env = bedrock_user().with("AWS_CONFIG_FILE", "/dev/zero");
    says(&promptly(&env, &KEYS), 3, "not a regular file");

    let env = bedrock_user();
    let config = aws_dir(&env).join("config");
    let filler = "# a comment line, repeated past the cap of one mebibyte\n";
    let mut text = String::from("[default]\nregion = us-east-1\n");
    while text.len() <= 1 << 20 {
        text.push_str(filler);
    }
    std::fs::write(&config, text).unwrap();
    set_mode(&config, 0o600);
    let out = promptly(&env, &KEYS);
    says(&out, 3, "larger than 1 MiB");
}

/// `~/.aws/config` whose default profile runs `touch MARKER`; the marker's path.
fn marking_config(env: &TestEnv) -> (PathBuf, PathBuf) {
    let marker = env.home.path().join("credential_process-ran");
    let config = aws_dir(env).join("config");
    std::fs::write(
        &config,
        format!(
            "[default]\nregion = us-east-1\ncredential_process = touch {}\n",
            marker.display()
        ),
    )
    .unwrap();
    set_mode(&config, 0o600);
    (config, marker)
}

#[test]
fn an_aws_config_others_can_write_runs_no_credential_process() {
    let env = bedrock_user();
    let (config, marker) = marking_config(&env);
    // The marker works: the user's own config runs the command (whose empty output is then
    // no credential).
    env.run(&KEYS);
    assert!(marker.exists(), "the user's own credential_process ran");
    std::fs::remove_file(&marker).unwrap();
    for mode in [0o622, 0o602, 0o666] {
        set_mode(&config, mode);
        let out = promptly(&env, &KEYS);
        says(&out, 3, "can be written by other users");
        assert!(text(&out).contains("chmod go-w"), "{}", text(&out));
        assert!(!marker.exists(), "mode {mode:o}: credential_process ran");
    }
}

#[test]
fn an_aws_config_owned_by_another_user_runs_no_credential_process() {
    if !running_as_root() {
        eprintln!("skipped: only root can give a file to another user");
        return;
    }
    let env = bedrock_user();
    let (config, marker) = marking_config(&env);
    std::os::unix::fs::chown(&config, Some(NOBODY), Some(NOBODY)).unwrap();
    let out = promptly(&env, &KEYS);
    says(&out, 3, "owned by another user");
    assert!(text(&out).contains("chown"), "{}", text(&out));
    assert!(!marker.exists(), "another user's credential_process ran");
}

#[test]
fn a_fifo_as_a_web_identity_or_container_token_file_is_refused_at_once() {
    let env = bedrock_user();
    let fifo = Fifo::at(env.home.path().join("web-identity-token"));
    let env = env
        .with("AWS_WEB_IDENTITY_TOKEN_FILE", fifo.path())
        .with("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/ci");
    let out = promptly(&env, &KEYS);
    drop(fifo);
    says(&out, 3, "not a regular file");
    assert!(
        text(&out).contains("web identity token file"),
        "{}",
        text(&out)
    );

    let env = bedrock_user();
    let fifo = Fifo::at(env.home.path().join("pod-identity-token"));
    let env = env
        .with(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:9/v1/credentials",
        )
        .with("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", fifo.path());
    let out = promptly(&env, &KEYS);
    drop(fifo);
    says(&out, 3, "not a regular file");
}

/// A user whose profile `dev` uses IAM Identity Center; the path of its token cache file.
fn sso_user() -> (TestEnv, PathBuf) {
    let env = bedrock_user()
        .with("AWS_PROFILE", "dev")
        .with("CLAUDE_TEST_NOW", T0);
    let config = aws_dir(&env).join("config");
    std::fs::write(
        &config,
        "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n\
         sso_role_name = Bedrock\nregion = us-east-1\n\n[sso-session corp]\n\
         sso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    )
    .unwrap();
    set_mode(&config, 0o600);
    use sha1::Digest;
    let name: String = sha1::Sha1::digest(b"corp")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cache = env
        .home
        .path()
        .join(".aws/sso/cache")
        .join(format!("{name}.json"));
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    set_mode(cache.parent().unwrap(), 0o700);
    (env, cache)
}

#[test]
fn a_fifo_in_place_of_the_sso_token_cache_is_refused_at_once() {
    let (env, cache) = sso_user();
    let fifo = Fifo::at(cache);
    let status = promptly(&env, &["--auth-status"]);
    let keys = promptly(&env, &KEYS);
    drop(fifo);
    says(&status, 4, "not a regular file");
    says(&keys, 11, "not a regular file");
    assert!(text(&keys).contains("SSO token cache"), "{}", text(&keys));
}

#[test]
fn an_sso_token_cache_that_is_not_the_users_alone_is_refused() {
    let (env, cache) = sso_user();
    // Valid for a day at T0: nothing to refresh, so only the read itself judges the file.
    std::fs::write(
        &cache,
        r#"{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1",
            "accessToken": "aoaAAAAAGTESTSSOHOSTILEFILES0000000000000000h7H7",
            "expiresAt": "2027-01-16T08:00:00Z"}"#,
    )
    .unwrap();
    set_mode(&cache, 0o600);
    let out = promptly(&env, &["--auth-status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    set_mode(&cache, 0o644);
    let out = promptly(&env, &["--auth-status"]);
    says(&out, 4, "readable by other users");
    assert!(text(&out).contains("chmod 600"), "{}", text(&out));
    if running_as_root() {
        set_mode(&cache, 0o600);
        std::os::unix::fs::chown(&cache, Some(NOBODY), Some(NOBODY)).unwrap();
        let out = promptly(&env, &["--auth-status"]);
        says(&out, 4, "owned by another user");
    } else {
        eprintln!("skipped the other owner: only root can give a file to another user");
    }
}

/// A user with an API key and the API at a closed loopback port: `--test-api-key` builds
/// the HTTP client (reading `CLAUDE_CA_BUNDLE`), then fails to connect (exit 9).
fn bundle_user(env: TestEnv, bundle: &Path) -> TestEnv {
    let env = env
        .api("http://127.0.0.1:9")
        .with("ANTHROPIC_API_KEY", common::KEY_A)
        .with("CLAUDE_CA_BUNDLE", bundle.to_str().unwrap());
    env.write_config("{}");
    env
}

#[test]
fn a_fifo_or_a_device_as_the_ca_bundle_is_refused_at_once() {
    let env = TestEnv::new();
    let fifo = Fifo::at(env.home.path().join("bundle.pem"));
    let env = bundle_user(env, &fifo.0);
    let out = promptly(&env, &["--test-api-key"]);
    drop(fifo);
    says(&out, 3, "not a regular file");
    assert!(text(&out).contains("CA bundle"), "{}", text(&out));

    let env = bundle_user(TestEnv::new(), Path::new("/dev/zero"));
    says(
        &promptly(&env, &["--test-api-key"]),
        3,
        "not a regular file",
    );
}

#[test]
fn a_ca_bundle_others_can_write_or_another_user_owns_is_refused() {
    let env = TestEnv::new();
    let bundle = env.home.path().join("bundle.pem");
    std::fs::write(&bundle, TEST_CA).unwrap();
    set_mode(&bundle, 0o644);
    let env = bundle_user(env, &bundle);
    // The user's own bundle is used: the request is made (and finds no server).
    let out = promptly(&env, &["--test-api-key"]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out));
    set_mode(&bundle, 0o666);
    let out = promptly(&env, &["--test-api-key"]);
    says(&out, 3, "can be written by other users");
    assert!(text(&out).contains("chmod go-w"), "{}", text(&out));
    if !running_as_root() {
        eprintln!("skipped the other owner: only root can give a file to another user");
        return;
    }
    set_mode(&bundle, 0o644);
    std::os::unix::fs::chown(&bundle, Some(NOBODY), Some(NOBODY)).unwrap();
    let out = promptly(&env, &["--test-api-key"]);
    says(&out, 3, "owned by another user");
    assert!(text(&out).contains("chown"), "{}", text(&out));
}

#[test]
fn a_ca_bundle_over_4_mib_is_refused_unread() {
    let env = TestEnv::new();
    let bundle = env.home.path().join("bundle.pem");
    let mut text = TEST_CA.to_string();
    while text.len() <= 4 << 20 {
        text.push_str(TEST_CA);
    }
    std::fs::write(&bundle, text).unwrap();
    let env = bundle_user(env, &bundle);
    says(&promptly(&env, &["--test-api-key"]), 3, "larger than 4 MiB");
}
