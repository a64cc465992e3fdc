//! Crash safety and concurrency of the credential store: a `--set-api-key` killed at any
//! moment leaves the old or the new key, never a torn store; racing writers leave one.

mod common;

use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer, TokenMode};
use common::servers::Server;
use common::*;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

/// A small deterministic-per-run pseudo-random sequence (no extra crates).
struct Jitter(u64);

impl Jitter {
    fn new() -> Jitter {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        eprintln!("jitter seed {seed}");
        Jitter(seed | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn spawn_set(env: &TestEnv, key: &str) -> std::process::Child {
    let mut child = env
        .std_command()
        .args(["--set-api-key", "-", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(key.as_bytes())
        .unwrap();
    child
}

/// The key the store yields now, as the API stand-in saw it, checked against the status.
fn stored_key(env: &TestEnv, api: &Server) -> String {
    let out = env.run(&["--test-api-key", "--json"]);
    assert!(out.status.success(), "store unreadable: {}", text(&out));
    let sent = api
        .requests()
        .last()
        .unwrap()
        .header("x-api-key")
        .unwrap()
        .to_string();
    let status = env.status_json();
    assert_eq!(
        json_stdout(&out)["fingerprint"],
        status["fingerprint"],
        "metadata and secret disagree"
    );
    sent
}

#[test]
fn set_api_key_killed_at_random_moments_never_leaves_a_torn_store() {
    let api = Server::anthropic(&[KEY_A, KEY_B]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let mut jitter = Jitter::new();
    let mut current = KEY_A.to_string();
    let (mut old_seen, mut new_seen) = (0, 0);
    for round in 0..40 {
        let next = if current == KEY_A { KEY_B } else { KEY_A };
        let mut child = spawn_set(&env, next);
        std::thread::sleep(Duration::from_micros(jitter.below(90_000)));
        let _ = child.kill();
        child.wait().unwrap();
        let now = stored_key(&env, &api);
        assert!(
            now == current || now == next,
            "round {round}: the store holds neither the old nor the new key"
        );
        if now == next {
            new_seen += 1;
        } else {
            old_seen += 1;
        }
        current = now;
    }
    eprintln!("kept old key {old_seen} times, new key {new_seen} times");
    let leftovers: Vec<_> = files_under(&env.state_dir())
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .collect();
    env.store_key(KEY_A);
    for orphan in leftovers {
        assert!(
            !orphan.exists(),
            "orphaned temp file {} survived the next write",
            orphan.display()
        );
    }
}

#[test]
fn concurrent_set_api_key_calls_leave_one_of_the_two_keys_intact() {
    let api = Server::anthropic(&[KEY_A, KEY_B, KEY_C]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_C);
    for round in 0..10 {
        let first = spawn_set(&env, KEY_A);
        let second = spawn_set(&env, KEY_B);
        for mut child in [first, second] {
            assert!(
                child.wait().unwrap().success(),
                "round {round}: a writer failed"
            );
        }
        let now = stored_key(&env, &api);
        assert!(
            now == KEY_A || now == KEY_B,
            "round {round}: neither racing key was kept"
        );
    }
}

/// A refresh holds the lock across its HTTP exchange, which may take the whole
/// `authentication.timeout` (30 s by default): a second process must wait it out (then
/// use the token the first one got) instead of giving up after a fixed 15 s.
#[test]
fn a_slow_refresh_holds_the_lock_longer_than_fifteen_seconds_and_the_other_caller_waits() {
    const T0: u64 = 1_800_000_000;
    const SLOW: Duration = Duration::from_secs(17);
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", "").with("CLAUDE_TEST_NOW", &T0.to_string());
    let login = browser_login(&env, &[]);
    assert!(login.status.success(), "{}", text(&login));
    // An hour later the access token is stale; the token endpoint takes 17 s to answer.
    let env = env.with("CLAUDE_TEST_NOW", &(T0 + 3600).to_string());
    server.set_token_mode(TokenMode::Slow(SLOW));
    let print_token = || {
        env.std_command()
            .arg("--print-token")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = print_token();
    let started = std::time::Instant::now();
    while server.token_requests("refresh_token") == 0 {
        assert!(
            started.elapsed() < SLOW,
            "the first process never refreshed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The first process is inside its exchange, holding the lock.
    let second = print_token();
    let (first, second) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    assert!(first.status.success(), "refreshing: {}", text(&first));
    assert!(
        second.status.success(),
        "waiting for the lock: {}",
        text(&second)
    );
    assert_eq!(first.stdout, second.stdout, "both use the refreshed token");
    assert_eq!(
        server.token_requests("refresh_token"),
        1,
        "the waiting process re-read the store instead of refreshing again"
    );
}

/// `--reset-auth` with auditing on keeps the audit key by rewriting the encrypted file in
/// one atomic step: killed at any moment, it leaves the old file or the new one, and the key
/// is in either (it used to delete the file, then write a new one).
#[test]
fn reset_auth_killed_at_random_moments_never_loses_the_audit_key() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::encrypted().api(&api.url());
    env.write_config(
        r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
            "security": {"auditLogging": true}}"#,
    );
    let mut jitter = Jitter::new();
    for round in 0..12 {
        env.store_key(KEY_A);
        let mut child = env
            .std_command()
            .args(["--reset-auth", "--yes", "-q"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(jitter.below(400_000)));
        let _ = child.kill();
        child.wait().unwrap();
        let out = env.run(&["--show-auth-logs", "--verify", "--json"]);
        assert!(
            out.status.success(),
            "round {round}: the audit log no longer verifies: {}",
            text(&out)
        );
    }
}
