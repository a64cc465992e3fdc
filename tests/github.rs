//! GitHub: the device flow login (pending, slow_down, denial, expiry, errors on HTTP 200,
//! the local deadline), where the token may go, and `/install-github-app`.

mod common;

use common::github_server::*;
use common::servers::{Reply, Server};
use common::*;
use std::time::{Duration, Instant};

/// `encrypted-file` storage and a `github` block pointing at `web` and `api`, with `extra`
/// members appended to it.
fn github_env(web: &str, api: &str, extra: &str) -> TestEnv {
    let env = TestEnv::encrypted();
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}},
            "oauth": {{"loginTimeout": 20}},
            "github": {{"clientId": "{CLIENT_ID}", "webUrl": "{web}", "apiUrl": "{api}" {extra}}}}}"#
    ));
    env
}

fn login(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.claude()
        .args(["--login", "--provider", "github", "--no-browser"])
        .args(args)
        .output()
        .unwrap()
}

/// No GitHub secret in the output or, in plaintext, in any of the user's files.
fn assert_no_github_secret(env: &TestEnv, output: &std::process::Output) {
    for secret in [GH_TOKEN, GH_REFRESH, DEVICE_CODE] {
        assert_no_secret(output, secret);
        assert_no_secret_in_files(env.home.path(), secret);
    }
}

fn logged_in(options: GithubOptions, extra: &str) -> (GithubServer, TestEnv) {
    let server = GithubServer::start(GithubOptions {
        polls: vec![Poll::Granted],
        ..options
    });
    let env = github_env(&server.url(), &server.url(), extra);
    let out = login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    (server, env)
}

#[test]
fn device_login_starts_a_github_session_and_never_shows_the_token() {
    let server = GithubServer::start(GithubOptions::default());
    let env = github_env(&server.url(), &server.url(), "");
    let out = login(&env, &["--scopes", "repo read:org", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(USER_CODE), "{stderr}");
    assert!(
        stderr.contains(&format!("{}/login/device", server.url())),
        "{stderr}"
    );
    let doc = json_stdout(&out);
    assert_eq!(doc["provider"], "github");
    assert_eq!(doc["account"], "octocat (octocat@example.com)");
    assert_eq!(doc["scopes"], serde_json::json!(["repo", "read:org"]));
    assert_no_github_secret(&env, &out);

    let requests = server.requests();
    assert_eq!(
        form(&requests[0].body, "scope").as_deref(),
        Some("repo read:org")
    );
    assert_eq!(requests[0].header("accept"), Some("application/json"));
    assert_eq!(server.poll_times().len(), 2, "pending, then granted");

    let list = env.run(&["--list-sessions", "--json"]);
    let doc = json_stdout(&list);
    let github = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["provider"] == "github")
        .unwrap_or_else(|| panic!("no github session: {doc}"));
    assert_eq!(github["account"], "octocat (octocat@example.com)");
    assert_no_github_secret(&env, &list);
    let logout = env.run(&["--logout", "--provider", "github"]);
    assert!(logout.status.success(), "{}", text(&logout));
}

#[test]
fn slow_down_adds_five_seconds_to_the_interval_for_good() {
    let server = GithubServer::start(GithubOptions {
        polls: vec![Poll::SlowDown, Poll::Pending, Poll::Granted],
        ..GithubOptions::default()
    });
    let env = github_env(&server.url(), &server.url(), "");
    let out = login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let times = server.poll_times();
    assert_eq!(times.len(), 3);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_secs(6), "polled again after {gap:?}");
    }
}

#[test]
fn access_denied_in_the_browser_exits_130() {
    let server = GithubServer::start(GithubOptions {
        polls: vec![Poll::Pending, Poll::Denied],
        ..GithubOptions::default()
    });
    let env = github_env(&server.url(), &server.url(), "");
    let out = login(&env, &["--json"]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "cancelled");
    assert!(doc["error"]["message"].as_str().unwrap().contains("denied"));
    assert!(!env.state_dir().join("sessions.json").exists());
}

#[test]
fn expired_device_code_exits_with_expired_token_and_says_to_log_in_again() {
    let server = GithubServer::start(GithubOptions {
        polls: vec![Poll::Expired],
        ..GithubOptions::default()
    });
    let env = github_env(&server.url(), &server.url(), "");
    let out = login(&env, &[]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        text(&out).contains("claude --login --provider github"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_error_on_http_200_is_an_error_not_a_token() {
    let server = GithubServer::start(GithubOptions {
        polls: vec![Poll::ErrorOn200("unsupported_grant_type")],
        ..GithubOptions::default()
    });
    let env = github_env(&server.url(), &server.url(), "");
    let out = login(&env, &["--json"]);
    assert_eq!(out.status.code(), Some(15), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "oauth_error");
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unsupported_grant_type"));
    assert_eq!(server.poll_times().len(), 1, "no polling after a refusal");
}

#[test]
fn the_code_lifetime_is_enforced_locally() {
    let server = GithubServer::start(GithubOptions {
        expires_in: 2,
        polls: vec![Poll::Pending],
        ..GithubOptions::default()
    });
    let env = github_env(&server.url(), &server.url(), "");
    let started = Instant::now();
    let out = login(&env, &["--json"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert!(json_stdout(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2 s"));
}

#[test]
fn login_without_a_client_id_is_a_config_error() {
    let server = GithubServer::start(GithubOptions::default());
    let env = TestEnv::encrypted();
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}},
            "github": {{"webUrl": "{0}", "apiUrl": "{0}"}}}}"#,
        server.url()
    ));
    let out = login(&env, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("github.clientId"), "{}", text(&out));
    assert!(server.requests().is_empty());
}

#[test]
fn plain_http_to_another_machine_is_refused() {
    let env = github_env("http://github.example", "https://api.github.example", "");
    let out = login(&env, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("github.webUrl"), "{}", text(&out));
}

#[cfg(unix)]
#[test]
fn an_insecure_verification_address_is_neither_shown_nor_opened() {
    let server = GithubServer::start(GithubOptions {
        verification_uri: Some("http://github.evil.example/login/device\u{1b}[2J".into()),
        polls: vec![Poll::Granted],
        ..GithubOptions::default()
    });
    let mut env = github_env(&server.url(), &server.url(), "");
    let opened = env.home.path().join("opened.txt");
    let script = env.home.path().join("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" >> {}\n", opened.display()),
    )
    .unwrap();
    set_mode(&script, 0o755);
    env.set("BROWSER", &script.display().to_string());
    let out = env.run(&["--login", "--provider", "github"]);
    assert!(out.status.success(), "{}", text(&out));
    let all = text(&out);
    assert!(
        !all.contains("evil.example") && !all.contains('\u{1b}'),
        "{all}"
    );
    let fallback = format!("{}/login/device", server.url());
    assert!(all.contains(&fallback), "{all}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !opened.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let browsed = std::fs::read_to_string(&opened).unwrap_or_default();
    assert_eq!(browsed.trim(), fallback);
}

#[test]
fn the_token_goes_only_to_the_api_host() {
    let web = GithubServer::start(GithubOptions::default());
    let api = GithubServer::start(GithubOptions::default());
    let env = github_env(&web.url(), &api.url(), "");
    let out = login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("✓ Logged in to GitHub as octocat"),
        "{}",
        text(&out)
    );
    assert!(web
        .requests()
        .iter()
        .all(|r| r.header("authorization").is_none()));
    assert!(web.requests().iter().all(|r| r.path.starts_with("/login/")));
    let seen = api.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/user");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {GH_TOKEN}").as_str())
    );
    assert_no_github_secret(&env, &out);
}

#[test]
fn a_redirect_from_the_api_is_not_followed_with_the_token() {
    let elsewhere = Server::start(|_, _| Reply::json(200, r#"{"login":"mallory"}"#));
    let server = GithubServer::start(GithubOptions {
        user_redirect: Some(format!("{}/user", elsewhere.url())),
        ..GithubOptions::default()
    });
    let env = github_env(&server.url(), &server.url(), "");
    let out = login(&env, &["--json"]);
    assert_eq!(out.status.code(), Some(14), "{}", text(&out));
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
    assert!(!env.state_dir().join("sessions.json").exists());
    assert_no_github_secret(&env, &out);
}

#[test]
fn install_github_app_records_the_installation_and_names_uncovered_repositories() {
    let (server, env) = logged_in(
        GithubOptions {
            installation_after: 1,
            ..GithubOptions::default()
        },
        r#", "repositories": ["octocat/hello", "octocat/missing"]"#,
    );
    let out = env.run(&["/install-github-app", "--no-browser"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("octocat/hello, octocat/tools"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("Not covered") && l.contains("octocat/missing")),
        "{stdout}"
    );
    let page = format!("{}/apps/claude/installations/new", server.url());
    assert!(text(&out).contains(&page), "{}", text(&out));
    let listings = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/user/installations?"))
        .count();
    assert_eq!(listings, 2, "asked again until the installation appeared");

    assert_recorded(&env);
    assert_no_github_secret(&env, &out);

    let again = env.run(&["/install-github-app", "--no-browser", "--json"]);
    let doc = json_stdout(&again);
    assert_eq!(doc["uncovered"], serde_json::json!(["octocat/missing"]));
}

/// `github.json` is private and holds the stand-in's installation.
fn assert_recorded(env: &TestEnv) {
    let file = env.state_dir().join("github.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let claude = &recorded["installations"]["claude"];
    assert_eq!(claude["id"], INSTALLATION_ID);
    assert_eq!(claude["account"], "octocat");
    assert_eq!(claude["permissions"]["pull_requests"], "write");
    assert_eq!(
        claude["repositories"],
        serde_json::json!(["octocat/hello", "octocat/tools"])
    );
}

#[test]
fn install_github_app_without_a_github_session_says_how_to_log_in() {
    let server = GithubServer::start(GithubOptions::default());
    let env = github_env(&server.url(), &server.url(), "");
    let out = env.run(&["/install-github-app", "--no-browser"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("claude --login --provider github"),
        "{}",
        text(&out)
    );
    assert!(server.requests().is_empty());
}

#[test]
fn install_github_app_gives_up_when_nothing_is_installed() {
    let (_server, env) = logged_in(
        GithubOptions {
            installation_after: usize::MAX,
            ..GithubOptions::default()
        },
        "",
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    env.write_config(&config.replace(r#""loginTimeout": 20"#, r#""loginTimeout": 3"#));
    let started = Instant::now();
    let out = env.run(&["/install-github-app", "--no-browser"]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!env.state_dir().join("github.json").exists());
}

#[test]
fn a_device_code_lifetime_of_u64_max_is_capped_not_a_crash() {
    let server = GithubServer::start(GithubOptions {
        expires_in: u64::MAX,
        polls: vec![Poll::Granted],
        ..GithubOptions::default()
    });
    let env = github_env(&server.url(), &server.url(), "");
    let out = login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("panicked"), "{}", text(&out));
}
