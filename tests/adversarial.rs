//! Attacks from the security review, replayed against the built binary: hostile loopback
//! servers (huge numbers, answers too large to read, a proxy in the way, a squatter on the
//! callback port), other users' files, a spawned browser whose environment is read from
//! `/proc`, a race between refresh and logout, and canaries scanned for everywhere.
//!
//! Attacks through Unix modes, owners, symlinks and shell-script browsers run on Unix; those
//! read from `/proc` on Linux only.

mod common;

use common::browser::{approve, get, with_param, LoginRun};
use common::oauth_env::{browser_login, oauth_env, oidc_env};
use common::oauth_server::{OAuthOptions, OAuthServer, TokenMode};
use common::servers::{Reply, Server};
use common::*;
#[cfg(unix)]
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Secret values put in the environment of `claude`; none may reach a child process.
#[cfg(target_os = "linux")]
const CANARIES: [(&str, &str); 12] = [
    ("ANTHROPIC_API_KEY", KEY_B),
    (
        "AWS_SECRET_ACCESS_KEY",
        "canary-aws-secret-0123456789abcdefghij",
    ),
    ("AWS_SESSION_TOKEN", "canary-aws-session-token-0123456789"),
    (
        "AWS_BEARER_TOKEN_BEDROCK",
        "canary-bedrock-bearer-0123456789",
    ),
    ("GH_TOKEN", "canary-gh-token-0123456789"),
    ("ANTHROPIC_ADMIN_API_KEY", "canary-admin-key-0123456789"),
    // Other tools' conventions, found by the second review.
    ("SMTP_PASS", "canary-smtp-pass-0123456789"),
    ("SESSION_COOKIE", "canary-session-cookie-0123456789"),
    ("TF_TOKEN_app_terraform_io", "canary-terraform-0123456789"),
    ("SYSTEM_ACCESSTOKEN", "canary-azure-devops-0123456789"),
    (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AccountName=a;AccountKey=canary-azure-account-key==",
    ),
    // A token under a name that says nothing: known by its prefix.
    ("OTHER_GH", "ghp_canaryCanaryCanaryCanary0123456789"),
];

fn server() -> OAuthServer {
    OAuthServer::start(OAuthOptions::default())
}

fn server_with_ttl(ttl: u64) -> OAuthServer {
    OAuthServer::start(OAuthOptions {
        access_token_ttl: ttl,
        ..OAuthOptions::default()
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[cfg(unix)]
fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Waits (at most 20 s) for `path` to exist and hold something.
#[cfg(target_os = "linux")]
fn wait_for_file(path: &Path) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.trim().is_empty() {
                return Some(text);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// A fake browser (or opener) that records its pid and stays alive, so the test can read
/// `/proc/PID/environ` as any inspecting tool would.
#[cfg(unix)]
fn fake_browser(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let script = dir.join(name);
    let pid_file = dir.join(format!("{name}.pid"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho $$ > '{}.tmp' && mv '{}.tmp' '{}'\nexec sleep 30\n",
            pid_file.display(),
            pid_file.display(),
            pid_file.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    (script, pid_file)
}

/// Starts a login that opens the browser, and returns the browser's environment.
#[cfg(target_os = "linux")]
fn browser_environment(env: &TestEnv, pid_file: &Path) -> String {
    let mut cmd = env.std_command();
    cmd.arg("--login");
    let run = LoginRun::start(cmd);
    let pid = wait_for_file(pid_file).expect("the browser was started");
    let pid = pid.trim();
    // The script writes its pid and then execs `sleep`; a read during that exec sees an
    // empty environment, so read until the process shows one (or 10 s pass).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut environ = Vec::new();
    while environ.is_empty() && Instant::now() < deadline {
        environ = std::fs::read(format!("/proc/{pid}/environ")).expect("read environ");
        if environ.is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = std::process::Command::new("kill").arg(pid).status();
    drop(run);
    String::from_utf8_lossy(&environ).replace('\0', "\n")
}

#[cfg(target_os = "linux")]
fn with_canaries(mut env: TestEnv) -> TestEnv {
    for (name, value) in CANARIES {
        env.set(name, value);
    }
    env
}

#[cfg(target_os = "linux")]
fn assert_no_canary(environ: &str) {
    for (name, value) in CANARIES.iter().chain([&("CLAUDE_PASSPHRASE", PASSPHRASE)]) {
        assert!(
            !environ.contains(value),
            "{name} reached the browser:\n{environ}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_system_browser_gets_no_secret_variables() {
    let server = server();
    let bin = tempfile::tempdir().unwrap();
    let (_, pid_file) = fake_browser(bin.path(), "xdg-open");
    let mut env = with_canaries(oauth_env(&server, "", ""));
    env.set(
        "PATH",
        &format!(
            "{}:{}",
            bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    env.set("DISPLAY", ":99");
    let environ = browser_environment(&env, &pid_file);
    assert!(environ.contains("DISPLAY=:99"), "{environ}");
    assert_no_canary(&environ);
}

#[cfg(target_os = "linux")]
#[test]
fn a_browser_named_by_browser_gets_no_secret_variables() {
    let server = server();
    let bin = tempfile::tempdir().unwrap();
    let (script, pid_file) = fake_browser(bin.path(), "my-browser");
    let env = with_canaries(oauth_env(&server, "", "")).with("BROWSER", script.to_str().unwrap());
    let environ = browser_environment(&env, &pid_file);
    assert!(environ.contains("HOME="), "{environ}");
    assert_no_canary(&environ);
}

#[test]
fn a_ten_thousand_year_token_lifetime_is_believed_for_a_day() {
    let server = server_with_ttl(300_000_000_000);
    let env = oauth_env(&server, "", "");
    let login = browser_login(&env, &["--json"]);
    assert!(login.status.success(), "{}", text(&login));
    let status = env.run(&["--auth-status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let left = json_stdout(&status)["session"]["accessTokenExpiresInSeconds"]
        .as_u64()
        .unwrap();
    assert!(left <= 86_400, "believed {left} s");
    let list = env.run(&["--list-sessions", "--json"]);
    assert_eq!(list.status.code(), Some(0), "{}", text(&list));
    assert_eq!(env.run(&["--list-sessions"]).status.code(), Some(0));
}

#[test]
fn an_expires_in_of_u64_max_neither_crashes_nor_refreshes_every_call() {
    let server = server_with_ttl(u64::MAX);
    let env = oauth_env(&server, "", "");
    assert!(browser_login(&env, &[]).status.success());
    for _ in 0..2 {
        let out = env.run(&["--print-token"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    assert_eq!(server.token_requests("refresh_token"), 0);
}

#[test]
fn a_stored_expiry_past_year_9999_still_renders() {
    let server = server();
    let env = oauth_env(&server, "", "");
    assert!(browser_login(&env, &[]).status.success());
    let path = env.state_dir().join("sessions.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["sessions"]["anthropic"]["accessExpiresAt"] = u64::MAX.into();
    doc["sessions"]["anthropic"]["createdAt"] = (u64::MAX - 5).into();
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    for args in [
        &["--auth-status"][..],
        &["--auth-status", "--json"],
        &["--list-sessions"],
        &["--list-sessions", "--json"],
    ] {
        let out = env.run(args);
        assert!(
            matches!(out.status.code(), Some(0 | 4 | 6)),
            "{args:?} crashed: {:?}\n{}",
            out.status,
            text(&out)
        );
        assert!(!text(&out).contains("panicked"), "{}", text(&out));
    }
}

#[cfg(unix)]
#[test]
fn a_config_others_can_write_is_not_used() {
    let env = TestEnv::new();
    env.write_config(r#"{"oauth": {"tokenEndpoint": "https://attacker.example/token"}}"#);
    set_mode(env.config_path(), 0o666);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("chmod go-w"), "{}", text(&out));
}

#[cfg(unix)]
#[test]
fn a_config_its_group_can_write_is_not_used_even_for_the_users_own_group() {
    // Who else has a group as their primary group cannot be known for sure, and whoever
    // can write the config runs commands as the user: group write is refused outright.
    let env = TestEnv::new();
    env.write_config("{}");
    set_mode(env.config_path(), 0o664);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("chmod go-w"), "{}", text(&out));
}

#[cfg(unix)]
#[test]
fn a_config_owned_by_another_user_is_not_used() {
    if !running_as_root() {
        eprintln!("skipped: only root can give a file to another user");
        return;
    }
    let env = TestEnv::new();
    env.write_config("{}");
    std::os::unix::fs::chown(env.config_path(), Some(65534), Some(65534)).unwrap();
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("owned by another user"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("chown"), "{}", text(&out));
}

#[cfg(unix)]
#[test]
fn a_state_directory_owned_by_another_user_is_refused() {
    if !running_as_root() {
        eprintln!("skipped: only root can give a directory to another user");
        return;
    }
    let env = TestEnv::new();
    env.write_config("{}");
    std::os::unix::fs::chown(env.state_dir(), Some(65534), Some(65534)).unwrap();
    for args in [&["--auth-status"][..], &["--test-auth"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(11), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("owned by another user"),
            "{}",
            text(&out)
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_state_directory_is_named_before_it_is_used() {
    let env = TestEnv::new().api("http://127.0.0.1:9");
    let real = env.home.path().join("dotfiles-claude");
    std::fs::create_dir(&real).unwrap();
    set_mode(&real, 0o700);
    std::os::unix::fs::symlink(&real, env.state_dir()).unwrap();
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(stderr.contains("dotfiles-claude"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn login_checks_the_state_directory_before_the_browser() {
    let server = server();
    let env = oauth_env(&server, "", "");
    set_mode(env.state_dir(), 0o777);
    let out = env
        .claude()
        .args(["--login", "--no-browser"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(!text(&out).contains("/authorize?"), "{}", text(&out));
    assert!(
        server.requests().is_empty(),
        "nothing may be asked of the server"
    );
}

#[cfg(unix)]
#[test]
fn a_shared_state_directory_with_a_random_looking_name_gets_a_runnable_chmod_hint() {
    // The hint must name the directory exactly, whatever its names look like.
    for under in [
        // macOS's per-user temporary directories.
        "var/folders/7x/k2ms0ph13fdgqk7t5w3jlc7r0000gn/T/claude",
        // CI workspaces, container layers and build caches are named by digests.
        "ci/721f5e3c9a0b4d6e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5ea01f/claude",
    ] {
        let mut env = TestEnv::new();
        let dir = env.home.path().join(under);
        std::fs::create_dir_all(&dir).unwrap();
        set_mode(&dir, 0o777);
        env.set("CLAUDE_CONFIG_DIR", &dir.display().to_string());
        let out = env.run_with_stdin(&["--login", "--no-browser"], "");
        assert_eq!(out.status.code(), Some(11), "{}", text(&out));
        let hint = format!("hint: run `chmod 700 {}`", dir.display());
        assert!(text(&out).contains(&hint), "`{hint}` in:\n{}", text(&out));
    }
}

#[cfg(unix)]
#[test]
fn a_shared_sticky_directory_is_never_offered_a_chmod() {
    // `chmod 700 /tmp`, run as root as printed, would break the machine for every user.
    let mut env = TestEnv::new();
    let dir = env.home.path().join("shared-tmp");
    std::fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o1777);
    env.set("CLAUDE_CONFIG_DIR", &dir.display().to_string());
    let out = env.run_with_stdin(&["--login", "--no-browser"], "");
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(!text(&out).contains("chmod"), "{}", text(&out));
    assert!(
        text(&out).contains("set CLAUDE_CONFIG_DIR to a directory of your own"),
        "{}",
        text(&out)
    );
}

#[cfg(unix)]
#[test]
fn a_writable_config_of_roots_in_a_users_directory_gets_a_hint_the_user_can_run() {
    if !running_as_root() {
        eprintln!("skipped: needs root to make the file root's and to become another user");
        return;
    }
    // The user (65534) owns the state directory; root's config in it is writable by all.
    let mut env = TestEnv::new();
    env.write_config("{}");
    set_mode(env.config_path(), 0o666);
    let home = env.home.path().to_path_buf();
    for entry in [home.clone(), env.state_dir()] {
        std::os::unix::fs::chown(&entry, Some(65534), Some(65534)).unwrap();
    }
    env.set("HOME", &home.display().to_string());
    let out = {
        use std::os::unix::process::CommandExt;
        let mut cmd = env.std_command();
        cmd.uid(65534).gid(65534).arg("--auth-status");
        cmd.output().unwrap()
    };
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("belongs to root"), "{}", text(&out));
    assert!(text(&out).contains(".mine"), "{}", text(&out));
}

#[cfg(unix)] // the browser is a shell script
#[test]
fn a_squatter_on_the_ipv6_loopback_port_stops_the_login_before_the_browser() {
    let Ok(squatter) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("skipped: this machine has no ::1");
        return;
    };
    let port = squatter.local_addr().unwrap().port();
    if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        eprintln!("skipped: 127.0.0.1:{port} is taken too");
        return;
    }
    let server = server();
    let bin = tempfile::tempdir().unwrap();
    let (script, pid_file) = fake_browser(bin.path(), "browser");
    let env = oauth_env(&server, "", "").with("BROWSER", script.to_str().unwrap());
    // The login listens where the squatter is (one `redirectUri`: a repeated key is refused).
    let config = std::fs::read_to_string(env.config_path()).unwrap().replace(
        "http://127.0.0.1:0/callback",
        &format!("http://localhost:{port}/callback"),
    );
    env.write_config(&config);
    let out = env
        .claude()
        .arg("--login")
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(17), "{}", text(&out));
    assert!(text(&out).contains("::1"), "{}", text(&out));
    assert!(!pid_file.exists(), "the browser was opened");
    drop(squatter);
}

#[test]
fn plain_http_to_loopback_never_goes_through_a_proxy() {
    let proxy = Server::scripted(vec![Reply::json(502, r#"{"proxy":"saw it"}"#)]);
    let api = Server::anthropic(&[KEY_A]);
    let mut env = TestEnv::env_key(&api.url(), KEY_A);
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        env.set(name, &proxy.url());
    }
    let out = env.run(&["--test-api-key"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        proxy.requests().is_empty(),
        "the key went through the proxy"
    );
    assert_eq!(api.requests().len(), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn core_dumps_are_off_while_secrets_are_in_memory() {
    let server = server();
    let env = oauth_env(&server, "", "");
    let mut child = env
        .std_command()
        .args(["--login", "--no-browser"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Waiting for the browser, the PKCE verifier and state are in memory; the limit is set
    // first thing in main, so a reading a moment after the start shows it.
    std::thread::sleep(Duration::from_millis(500));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    let limits = limits.expect("read /proc/PID/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("a core size line");
    let numbers: Vec<&str> = line.split_whitespace().skip(4).take(2).collect();
    assert_eq!(numbers, ["0", "0"], "{line}");
}

#[cfg(target_os = "linux")]
#[test]
fn another_process_of_the_same_user_cannot_read_a_running_claudes_memory() {
    if !running_as_root() {
        eprintln!("skipped: needs root to start claude as another user");
        return;
    }
    // Not dumpable: the kernel gives /proc/PID/{environ,mem,…} to root, so the user's other
    // processes (and ptrace by the same user) cannot read the login's verifier and state.
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let server = server();
    let env = oauth_env(&server, "", "");
    chown_tree(env.home.path(), 65534);
    let mut child = env
        .std_command()
        .args(["--login", "--no-browser"])
        .uid(65534)
        .gid(65534)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The mark is set first thing in main; wait until the process is past exec (its
    // command line is ours), then read who owns its /proc files.
    let deadline = Instant::now() + Duration::from_secs(10);
    let proc_dir = format!("/proc/{}", child.id());
    while Instant::now() < deadline
        && !std::fs::read(format!("{proc_dir}/cmdline"))
            .unwrap_or_default()
            .windows(7)
            .any(|w| w == b"--login")
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let status = std::fs::read_to_string(format!("{proc_dir}/status")).unwrap_or_default();
    let owner = std::fs::metadata(format!("{proc_dir}/environ")).map(|m| m.uid());
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.contains("65534")),
        "the process runs as 65534:\n{status}"
    );
    // Still waiting for the login, not exited: a zombie's files are root's too.
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("State:") && !l.contains('Z')),
        "the login must still be running:\n{status}"
    );
    assert_eq!(owner.unwrap(), 0, "/proc/PID/environ must be root's");
}

#[cfg(target_os = "linux")]
fn chown_tree(dir: &Path, uid: u32) {
    std::os::unix::fs::chown(dir, Some(uid), Some(uid)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.is_symlink() {
            chown_tree(&path, uid);
        } else {
            std::os::unix::fs::lchown(&path, Some(uid), Some(uid)).unwrap();
        }
    }
}

#[test]
fn logout_waits_for_a_refresh_and_revokes_what_it_stored() {
    let server = server();
    let env = oauth_env(&server, "", "");
    assert!(browser_login(&env, &[]).status.success());
    server.set_token_mode(TokenMode::Slow(Duration::from_secs(3)));
    let later = (now() + 7200).to_string();
    let refresh = env
        .std_command()
        .arg("--print-token")
        .env("CLAUDE_TEST_NOW", &later)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The refresh holds the lock across its (slow) exchange by now.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.token_requests("refresh_token") == 0 {
        assert!(
            Instant::now() < deadline,
            "the refresh never reached the server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let logout = env.run(&["--logout"]);
    let refreshed = refresh.wait_with_output().unwrap();
    assert!(refreshed.status.success(), "{}", text(&refreshed));
    assert!(logout.status.success(), "{}", text(&logout));
    assert_eq!(
        server.live_grants(),
        0,
        "the live grant was not revoked: {}",
        text(&logout)
    );
    let list = env.run(&["--list-sessions", "--json"]);
    assert_eq!(json_stdout(&list)["sessions"], serde_json::json!([]));
}

#[test]
fn an_issuer_on_the_callback_is_compared_even_when_not_advertised() {
    let server = OAuthServer::start(OAuthOptions {
        advertise_iss: false,
        ..OAuthOptions::default()
    });
    let env = oidc_env(&server);
    let mut cmd = env.std_command();
    cmd.args(["--login", "--no-browser"]);
    let run = LoginRun::start(cmd);
    let callback = approve(&run.authorize_url());
    let forged = with_param(&callback, "iss", "https%3A%2F%2Fevil.example");
    assert_eq!(get(&forged).status, 200);
    let out = run.finish();
    assert_eq!(out.status.code(), Some(15), "{}", text(&out));
    assert_eq!(server.token_requests("authorization_code"), 0);
}

#[test]
fn offline_access_from_an_openid_provider_asks_for_consent() {
    let server = server();
    let env = oidc_env(&server);
    let out = browser_login(&env, &["--scopes", "openid email offline_access"]);
    assert!(out.status.success(), "{}", text(&out));
    let authorize = server
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/authorize"))
        .unwrap();
    assert!(
        authorize.path.contains("prompt=consent"),
        "{}",
        authorize.path
    );

    let without = browser_login(&env, &["--scopes", "openid email"]);
    assert!(without.status.success(), "{}", text(&without));
    let last = server
        .requests()
        .into_iter()
        .rfind(|r| r.path.starts_with("/authorize"))
        .unwrap();
    assert!(!last.path.contains("prompt="), "{}", last.path);
}

#[test]
fn an_answer_too_large_to_read_is_not_retried() {
    let huge = format!(r#"{{"data":"{}"}}"#, "x".repeat(2 << 20));
    let api = Server::scripted(vec![Reply::json(200, &huge)]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    let out = env.run(&["--test-api-key", "--json"]);
    assert_eq!(out.status.code(), Some(14), "{}", text(&out));
    assert_eq!(api.requests().len(), 1, "the key was sent again");
}

#[test]
fn an_answer_that_is_not_http_is_not_retried() {
    for answer in [
        "HTTP/1.1 200 OK\r\nContent-Length: zzz\r\n\r\n{}",
        "HTTP/1.1 2OO OK\r\n\r\n",
        "SSH-2.0-OpenSSH_9.6\r\n",
        // A body that breaks after the headers: a bad chunk, one cut short.
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZZ\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"data\"",
    ] {
        let server = RawServer::start(answer);
        let env = TestEnv::env_key(&server.url, KEY_A);
        let out = env.run(&["--test-api-key", "--json"]);
        assert_eq!(out.status.code(), Some(14), "{answer:?}: {}", text(&out));
        assert_eq!(
            server.connections(),
            1,
            "{answer:?}: the key was sent again\n{}",
            text(&out)
        );
    }
}

/// A loopback listener that answers every connection with `answer` and counts them; it
/// stops when dropped.
struct RawServer {
    url: String,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl RawServer {
    fn start(answer: &'static str) -> RawServer {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (Arc::clone(&connections), Arc::clone(&stop));
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stopped.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        seen.fetch_add(1, Ordering::SeqCst);
                        stream.set_nonblocking(false).unwrap();
                        stream
                            .set_read_timeout(Some(Duration::from_millis(500)))
                            .unwrap();
                        let mut request = [0u8; 4096];
                        let _ = stream.read(&mut request);
                        let _ = stream.write_all(answer.as_bytes());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        RawServer {
            url,
            connections,
            stop,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(unix)]
#[test]
fn print_token_gives_the_stores_own_error() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let file = env.state_dir().join("credentials.enc");
    set_mode(&file, 0o644);
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(text(&out).contains("chmod 600"), "{}", text(&out));
    assert_no_secret(&out, KEY_A);
}

#[test]
fn short_lived_tokens_are_not_refreshed_on_every_use() {
    let server = server_with_ttl(40);
    let env = oauth_env(&server, "", "");
    assert!(browser_login(&env, &[]).status.success());
    for _ in 0..3 {
        assert!(env.run(&["--print-token"]).status.success());
    }
    assert_eq!(server.token_requests("refresh_token"), 0);
    // Within half its lifetime of expiry, it is refreshed.
    let late = (now() + 30).to_string();
    let out = env
        .claude()
        .arg("--print-token")
        .env("CLAUDE_TEST_NOW", &late)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(server.token_requests("refresh_token"), 1);
}

#[test]
fn a_config_larger_than_a_mebibyte_is_refused_at_once() {
    let env = TestEnv::new();
    let padding = "x".repeat(2 << 20);
    env.write_config(&format!(r#"{{"padding": "{padding}"}}"#));
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("1 MiB"), "{}", text(&out));
}

#[test]
fn an_unreachable_token_endpoint_is_named_in_the_hint() {
    let server = server();
    let env = TestEnv::encrypted();
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}},
            "oauth": {{"clientId": "claude-test-client", "authEndpoint": "{}", "tokenEndpoint": "http://127.0.0.1:1/token",
                       "redirectUri": "http://127.0.0.1:0/callback", "loginTimeout": 20}}}}"#,
        server.authorize_endpoint()
    ));
    let out = browser_login(&env, &["--json"]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out));
    let hint = json_stdout(&out)["error"]["hint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(hint.contains("oauth.tokenEndpoint"), "{hint}");
    assert!(!hint.contains("ANTHROPIC_BASE_URL"), "{hint}");
}

#[test]
fn a_proxy_variable_that_is_not_a_url_is_an_error_not_ignored() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::env_key(&api.url(), KEY_A).with("HTTPS_PROXY", "http://[bad");
    let out = env.run(&["--test-api-key"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("HTTPS_PROXY"), "{}", text(&out));
}

#[cfg(unix)]
#[test]
fn read_only_commands_work_in_a_group_writable_state_directory() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    env.write_config("{}");
    set_mode(env.state_dir(), 0o775);
    for args in [
        &["--auth-status"][..],
        &["--test-api-key"],
        &["--print-token"],
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    }
    // Writing there is still refused.
    let out = env.run_with_stdin(&["--set-api-key", "-"], KEY_A);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
}

#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_the_config_or_a_credential_file_does_not_hang() {
    let env = TestEnv::new();
    env.write_config("{}");
    let fifo = env.home.path().join("config.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = env
        .claude()
        .args(["--config", fifo.to_str().unwrap(), "--auth-status"])
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("not a regular file"), "{}", text(&out));

    let sessions = env.state_dir().join("sessions.json");
    assert!(std::process::Command::new("mkfifo")
        .arg(&sessions)
        .status()
        .unwrap()
        .success());
    set_mode(&sessions, 0o600);
    let out = env
        .claude()
        .args(["--list-sessions"])
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    // The harness scans every file of the user when it ends: no FIFO may be left to block it.
    let _ = std::fs::remove_file(&fifo);
    let _ = std::fs::remove_file(&sessions);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
}

#[test]
fn an_error_callback_from_another_issuer_is_a_mix_up_not_a_denial() {
    let server = OAuthServer::start(OAuthOptions {
        advertise_iss: false,
        ..OAuthOptions::default()
    });
    let env = oidc_env(&server);
    server.deny_next_authorization();
    let mut cmd = env.std_command();
    cmd.args(["--login", "--no-browser"]);
    let run = LoginRun::start(cmd);
    let callback = approve(&run.authorize_url());
    assert!(callback.contains("error=access_denied"), "{callback}");
    let forged = with_param(&callback, "iss", "https%3A%2F%2Fevil.example");
    assert_eq!(get(&forged).status, 200);
    let out = run.finish();
    assert_eq!(out.status.code(), Some(15), "{}", text(&out));
    assert!(text(&out).contains("mix-up"), "{}", text(&out));
}

#[test]
fn logout_on_a_fresh_machine_creates_nothing() {
    let env = TestEnv::new();
    let out = env.run(&["--logout"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !env.state_dir().exists(),
        "logout created the state directory"
    );
}

#[test]
fn a_closed_stderr_does_not_turn_an_error_into_a_panic() {
    // `claude … 2>&1 | head -1` closes the pipe after the first line: the exit status must
    // still be the error's own (5 for a malformed key), never a panic's 101.
    for _ in 0..3 {
        let mut cmd = TestEnv::new().std_command();
        cmd.args(["--validate-key", "not-a-key"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(5));
    }
}

#[cfg(unix)]
#[test]
fn a_hints_command_is_safe_to_paste_whatever_the_path_holds() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let odd = env.home.path().join("s $(touch pwned)");
    std::fs::rename(env.state_dir(), &odd).unwrap();
    env.set("CLAUDE_CONFIG_DIR", odd.to_str().unwrap());
    set_mode(odd.join("credentials.enc"), 0o644);
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    let quoted = format!("chmod 600 '{}/credentials.enc'", odd.display());
    assert!(
        text(&out).contains(&quoted),
        "`{quoted}` in:\n{}",
        text(&out)
    );
}
