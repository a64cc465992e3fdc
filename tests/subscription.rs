//! `--subscription-status`, `/upgrade [--claude-max]` and `--manage-subscription` against a
//! logged-in session and the subscription stand-in: the seed's document and windowed
//! limits, the cache (0600, fresh for 60 s, shown offline by `--auth-status` without a
//! request), a plan change seen after a few polls, the timeout, and the answers for API
//! keys, cloud providers and no credential. Tokens never appear in any output.

mod common;

use common::billing_server::{BillingApi, BillingSetup, CostRow, ADMIN_KEY};
use common::oauth_env::{browser_login, oauth_env};
use common::oauth_server::{OAuthOptions, OAuthServer};
use common::*;
use serde_json::{json, Value};

/// 2026-11-29T12:00:00Z.
const T0: u64 = 1_795_953_600;

fn seed() -> Value {
    json!({"subscription": {"plan": "claude-max", "status": "active",
        "features": ["opus-access", "priority-bandwidth", "extended-context", "advanced-tools"],
        "usage": {"tokens": 45000, "limit": 100000, "resetDate": "2026-12-01T16:00:00Z"}}})
}

fn windowed() -> Value {
    json!({"five_hour": {"utilization": 62.5, "resets_at": "2026-11-29T14:10:00+00:00"},
           "seven_day": {"utilization": 18, "resets_at": "2026-12-03T09:00:00Z"},
           "seven_day_opus": {"utilization": 0, "resets_at": null}})
}

fn plan(name: &str) -> Value {
    json!({"plan": name, "status": "active", "features": []})
}

/// A logged-in user whose config points `subscription.endpoint` at `api` (with `extra`
/// members in the `subscription` block), a fixed clock and a UTF-8 terminal `columns` wide.
fn logged_in(api: &BillingApi, extra: &str, columns: &str) -> (OAuthServer, TestEnv) {
    let server = OAuthServer::start(OAuthOptions::default());
    let block = format!(
        r#", "subscription": {{"endpoint": "{}" {extra}}}"#,
        api.subscription_url()
    );
    let env = oauth_env(&server, "", &block)
        .with("TZ", "UTC")
        .with("COLUMNS", columns)
        .with("LANG", "C.UTF-8");
    let out = browser_login(&env, &[]);
    assert!(out.status.success(), "{}", text(&out));
    (server, env)
}

fn at(env: TestEnv, now: u64) -> TestEnv {
    env.with("CLAUDE_TEST_NOW", &now.to_string())
}

fn token_of(env: &TestEnv) -> String {
    let out = env.run(&["--print-token"]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `claude ARGS` with `vars` added for this run only.
fn run_with(env: &TestEnv, vars: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = env.claude();
    for (name, value) in vars {
        cmd.env(name, value);
    }
    cmd.args(args).output().unwrap()
}

#[test]
fn the_seed_document_is_shown_with_a_bar_and_cached_for_status() {
    let api = BillingApi::start(BillingSetup {
        plans: vec![seed()],
        ..Default::default()
    });
    let (_oauth, env) = logged_in(&api, "", "80");
    let env = at(env, T0);
    let token = token_of(&env);
    let out = env.run(&["--subscription-status"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_not_echoed(&out, &token);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("Plan: claude-max (active)"), "{shown}");
    assert!(shown.contains("45,000 / 100,000 tokens"), "{shown}");
    assert!(shown.contains("45 %"), "{shown}");
    assert!(shown.contains("in 2 d 4 h"), "{shown}");
    loopback_snapshots()
        .bind(|| insta::assert_snapshot!("subscription_seed_80_utf8", transcript(&out)));
    let seen = api.plan_requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );

    let cache = env.state_dir().join("subscription.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(!std::fs::read_to_string(&cache).unwrap().contains(&token));

    // Within 60 s the cached answer stands in: no request.
    let env = at(env, T0 + 30);
    let again = env.run(&["--subscription-status", "--json"]);
    assert!(again.status.success(), "{}", text(&again));
    let doc = json_stdout(&again);
    assert_eq!(doc["source"], "cache");
    assert_eq!(doc["ageSeconds"], 30);
    assert_eq!(doc["subscription"]["usage"]["tokens"], 45000);
    assert_eq!(api.plan_requests().len(), 1);

    // Past 60 s it asks again.
    let env = at(env, T0 + 61);
    let fresh = env.run(&["--subscription-status", "--json"]);
    assert_eq!(json_stdout(&fresh)["source"], "endpoint");
    assert_eq!(api.plan_requests().len(), 2);
}

#[test]
fn auth_status_shows_the_cached_plan_offline_without_any_request() {
    let api = BillingApi::start(BillingSetup {
        plans: vec![seed()],
        ..Default::default()
    });
    let (oauth, env) = logged_in(&api, "", "80");
    let env = at(env, T0);
    assert!(env.run(&["--subscription-status"]).status.success());
    let before = (api.server.requests().len(), oauth.requests().len());
    drop(api);
    let env = at(env, T0 + 180);
    let out = env.run(&["--auth-status"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("claude-max (active) (as of 3 min ago"),
        "{shown}"
    );
    let doc = env.status_json();
    assert_eq!(doc["plan"]["plan"], "claude-max");
    assert_eq!(doc["plan"]["ageSeconds"], 180);
    assert_eq!(
        oauth.requests().len(),
        before.1,
        "no refresh, no request at all"
    );
}

#[test]
fn windowed_limits_get_a_bar_each_at_80_and_120_columns_and_in_ascii() {
    let api = BillingApi::start(BillingSetup {
        plans: vec![windowed()],
        ..Default::default()
    });
    let (_oauth, env) = logged_in(&api, r#", "cacheTtl": 0"#, "120");
    let env = at(env, T0);
    loopback_snapshots().bind(|| {
        insta::assert_snapshot!(
            "subscription_windowed_120_utf8",
            transcript(&env.run(&["--subscription-status"]))
        );
        insta::assert_snapshot!(
            "subscription_windowed_80_utf8",
            transcript(&run_with(
                &env,
                &[("COLUMNS", "80")],
                &["--subscription-status"]
            ))
        );
        let out = run_with(
            &env,
            &[("LANG", "C"), ("NO_COLOR", "1"), ("COLUMNS", "80")],
            &["--subscription-status"],
        );
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(!shown.contains(['▕', '▏', '█']), "{shown}");
        insta::assert_snapshot!("subscription_windowed_80_ascii", transcript(&out));
        insta::assert_snapshot!(
            "subscription_windowed_json",
            transcript(&env.run(&["--subscription-status", "--json"]))
        );
    });
}

#[test]
fn upgrade_opens_the_page_and_reports_the_plan_change_seen_after_a_few_polls() {
    let api = BillingApi::start(BillingSetup {
        plans: vec![
            plan("claude-pro"),
            plan("claude-pro"),
            plan("claude-pro"),
            plan("claude-max"),
        ],
        ..Default::default()
    });
    let (_oauth, env) = logged_in(
        &api,
        r#", "upgradeUrl": "https://claude.example/upgrade", "pollInterval": 1, "waitTimeout": 20"#,
        "80",
    );
    let token = token_of(&env);
    let out = env.run(&["/upgrade", "--claude-max", "--no-browser", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_not_echoed(&out, &token);
    let doc = json_stdout(&out);
    assert_eq!(doc["url"], "https://claude.example/upgrade");
    assert_eq!(doc["opened"], false);
    assert_eq!(doc["before"]["plan"], "claude-pro");
    assert_eq!(doc["after"]["plan"], "claude-max");
    assert_eq!(doc["changed"], true);
    assert_eq!(api.plan_requests().len(), 4, "one before, three polls");
    assert!(
        text(&out).contains("https://claude.example/upgrade"),
        "the URL is printed"
    );
}

#[test]
fn manage_subscription_gives_up_after_the_wait_with_the_plan_as_it_stands() {
    let api = BillingApi::start(BillingSetup {
        plans: vec![plan("claude-pro")],
        ..Default::default()
    });
    let (_oauth, env) = logged_in(&api, r#", "pollInterval": 1, "waitTimeout": 2"#, "80");
    let out = env.run(&["--manage-subscription", "--no-browser", "--json"]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "cancelled");
    assert_eq!(doc["url"], "https://claude.ai/settings/billing");
    assert_eq!(doc["before"]["plan"], "claude-pro");
    assert_eq!(doc["after"]["plan"], "claude-pro");
    assert_eq!(doc["changed"], false);
}

#[test]
fn without_an_endpoint_status_says_where_to_look_and_upgrade_only_opens() {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(&server, "", "").with("LANG", "C.UTF-8");
    assert!(browser_login(&env, &[]).status.success());
    let out = env.run(&["--subscription-status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["source"], "none");
    assert_eq!(doc["manageUrl"], "https://claude.ai/settings/billing");
    let notes = doc["notes"].to_string();
    assert!(
        notes.contains("Anthropic documents no subscription API")
            && notes.contains("subscription.endpoint"),
        "{notes}"
    );
    let before = server.requests().len();
    let out = env.run(&["/upgrade", "--claude-max", "--no-browser", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["url"], "https://claude.ai/upgrade");
    assert_eq!(doc["waited"], false);
    assert_eq!(
        server.requests().len(),
        before,
        "nothing to ask without an endpoint"
    );
}

#[test]
fn upgrade_and_manage_without_a_login_or_endpoint_open_the_page_and_say_nothing_is_awaited() {
    let env = TestEnv::new();
    for (args, url) in [
        (
            &["/upgrade", "--claude-max", "--no-browser"][..],
            "https://claude.ai/upgrade",
        ),
        (
            &["--manage-subscription", "--no-browser"],
            "https://claude.ai/settings/billing",
        ),
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        let shown = text(&out);
        assert!(shown.contains(url), "{shown}");
        assert!(
            shown.contains("Nothing to wait on") && shown.contains("subscription.endpoint"),
            "{shown}"
        );
        assert!(!shown.contains("log in to Claude first"), "{shown}");
        let mut json_args = args.to_vec();
        json_args.push("--json");
        let doc = json_stdout(&env.run(&json_args));
        assert_eq!(doc["url"], url);
        assert_eq!(doc["opened"], false);
        assert_eq!(doc["before"], Value::Null);
        assert_eq!(doc["after"], Value::Null);
        assert_eq!(doc["waited"], false);
        assert_eq!(doc["notWaited"], "no-endpoint");
    }
    // With nothing to show a plan of, status still says there is no credential.
    let out = env.run(&["--subscription-status", "--json"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
}

#[test]
fn with_an_endpoint_but_no_login_the_page_opens_and_says_how_to_see_the_change() {
    let api = BillingApi::start(BillingSetup {
        plans: vec![plan("claude-pro")],
        ..Default::default()
    });
    let env = TestEnv::new();
    env.write_config(&format!(
        r#"{{"subscription": {{"endpoint": "{}"}}}}"#,
        api.subscription_url()
    ));
    let out = env.run(&["--manage-subscription", "--no-browser", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["notWaited"], "no-login");
    let shown = text(&env.run(&["--manage-subscription", "--no-browser"]));
    assert!(
        shown.contains("`claude --login`, then `claude --subscription-status`"),
        "{shown}"
    );
    assert!(api.requests_to("/subscription").is_empty());
}

#[test]
fn claude_code_oauth_token_is_a_claude_login_for_every_subscription_command() {
    const ENV_TOKEN: &str = "at_FROM_CLAUDE_CODE_OAUTH_TOKEN_x1";
    let api = BillingApi::start(BillingSetup {
        plans: vec![plan("claude-pro")],
        ..Default::default()
    });
    let env = TestEnv::new().with("CLAUDE_CODE_OAUTH_TOKEN", ENV_TOKEN);
    env.write_config(&format!(
        r#"{{"subscription": {{"endpoint": "{}", "pollInterval": 1, "waitTimeout": 2}}}}"#,
        api.subscription_url()
    ));
    let status = env.run(&["--subscription-status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    let doc = json_stdout(&status);
    assert_eq!(doc["billing"], "subscription");
    assert_eq!(doc["subscription"]["plan"], "claude-pro");
    let out = env.run(&["--manage-subscription", "--no-browser", "--json"]);
    // It waited with the token and gave up when nothing changed.
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["waited"], true);
    assert_eq!(doc["before"]["plan"], "claude-pro");
    let sent: Vec<_> = api
        .requests_to("/subscription")
        .iter()
        .map(|r| r.header("authorization").unwrap_or_default().to_string())
        .collect();
    assert!(!sent.is_empty());
    assert!(
        sent.iter().all(|h| *h == format!("Bearer {ENV_TOKEN}")),
        "{sent:?}"
    );
    assert!(!text(&out).contains(ENV_TOKEN));
}

#[test]
fn upgrade_alone_lists_the_plans_labelled_by_where_they_come_from() {
    let env = TestEnv::new().with("LANG", "C.UTF-8");
    let out = env.run(&["/upgrade"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("built-in list") && shown.contains("claude-max"),
        "{shown}"
    );
    // Without an endpoint nothing can be awaited, and the text does not promise it.
    assert!(
        shown.contains("`claude /upgrade --claude-max` opens it (the page then shows your plan)"),
        "{shown}"
    );
    env.write_config(r#"{"subscription": {"plans": [{"name": "team", "summary": "for teams", "features": ["admin"]}]}}"#);
    let doc = json_stdout(&env.run(&["/upgrade", "--json"]));
    assert_eq!(doc["source"], "config");
    assert_eq!(doc["plans"][0]["name"], "team");
}

#[test]
fn api_keys_are_billed_per_use_with_the_month_so_far_and_clouds_bill_elsewhere() {
    let api = BillingApi::start(BillingSetup {
        cost: vec![CostRow {
            day: "2026-11-03",
            description: "Claude Sonnet 4.5 Usage - Input Tokens",
            model: Some("claude-sonnet-4-5"),
            amount: "1234.5",
        }],
        ..Default::default()
    });
    let env = TestEnv::env_key(&api.url(), KEY_A)
        .admin_key(&api.url(), ADMIN_KEY)
        .with("CLAUDE_TEST_NOW", &T0.to_string());
    let out = env.run(&["--subscription-status"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_secret(&out, KEY_A);
    assert_not_echoed(&out, ADMIN_KEY);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("billed per use") && shown.contains("$12.35"),
        "{shown}"
    );
    assert_eq!(
        json_stdout(&env.run(&["--subscription-status", "--json"]))["monthToDate"],
        "12.345"
    );

    let bedrock = TestEnv::new()
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("AWS_REGION", "us-east-1");
    let shown = bedrock.run(&["--subscription-status"]);
    assert!(shown.status.success(), "{}", text(&shown));
    assert!(
        text(&shown).contains("aws ce get-cost-and-usage"),
        "{}",
        text(&shown)
    );
    let vertex = TestEnv::new().with("CLAUDE_CODE_USE_VERTEX", "1");
    assert_eq!(
        json_stdout(&vertex.run(&["--subscription-status", "--json"]))["billing"],
        "vertex"
    );
}

#[test]
fn the_seed_subscription_block_is_accepted_and_shown_as_written() {
    let server = OAuthServer::start(OAuthOptions::default());
    let env = oauth_env(
        &server,
        "",
        r#", "subscription": {"plan": "claude-max", "status": "active", "features": ["opus-access"], "usage": {"tokens": 45000, "limit": 100000, "resetDate": "2024-02-01T00:00:00Z"}}"#,
    );
    assert!(browser_login(&env, &[]).status.success());
    let out = env.run(&["--subscription-status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("unknown key"), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["source"], "config");
    assert_eq!(doc["subscription"]["plan"], "claude-max");
}
