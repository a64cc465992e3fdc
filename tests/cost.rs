//! `/cost` and `/cost --detailed` against the Admin API stand-in: pages followed to the
//! end, long periods split at 31 days, exact totals, the errors that name the role needed,
//! `Retry-After`, an Admin key stored apart from the key in force, the tables and bars
//! pinned as snapshots at 80 and 120 columns, UTF-8 and ASCII, and hostile reports (pages
//! that go round, more than a report may keep) refused after a few requests.

mod common;

use common::billing_server::{
    param, BillingApi, BillingSetup, CostRow, Hostile, UsageRow, ADMIN_KEY,
};
use common::servers::Reply;
use common::*;

/// 2026-11-29T12:00:00Z: month to date is 29 days.
const T0: &str = "1795953600";

fn rows() -> Vec<CostRow> {
    let mut rows = vec![
        CostRow {
            day: "2026-11-02",
            description: "Claude Sonnet 4.5 Usage - Input Tokens",
            model: Some("claude-sonnet-4-5"),
            amount: "1250.5",
        },
        CostRow {
            day: "2026-11-02",
            description: "Claude Sonnet 4.5 Usage - Output Tokens",
            model: Some("claude-sonnet-4-5"),
            amount: "3400",
        },
        CostRow {
            day: "2026-11-15",
            description: "Claude Opus 4.1 Usage - Output Tokens",
            model: Some("claude-opus-4-1"),
            amount: "9999.99",
        },
        CostRow {
            day: "2026-11-15",
            description: "Web Search Usage",
            model: None,
            amount: "120",
        },
        CostRow {
            day: "2026-11-28",
            description: "Claude Haiku 4.5 Usage - Input Tokens",
            model: Some("claude-haiku-4-5"),
            amount: "15.25",
        },
    ];
    // 1,005 items of a tenth of a cent on the 29th: 100.5 cents exactly, which a float sum
    // makes 100.49999… and rounds down.
    for _ in 0..1005 {
        rows.push(CostRow {
            day: "2026-11-29",
            description: "Claude Haiku 4.5 Usage - Input Tokens",
            model: Some("claude-haiku-4-5"),
            amount: "0.1",
        });
    }
    rows
}

fn usage() -> Vec<UsageRow> {
    vec![
        UsageRow {
            day: "2026-11-02",
            model: "claude-sonnet-4-5",
            tokens: [120_000, 30_000, 5_000, 450_000, 80_000, 3],
        },
        UsageRow {
            day: "2026-11-15",
            model: "claude-opus-4-1",
            tokens: [40_000, 0, 0, 10_000, 200_000, 0],
        },
        UsageRow {
            day: "2026-11-28",
            model: "claude-haiku-4-5",
            tokens: [15_000, 0, 0, 0, 2_000, 0],
        },
    ]
}

fn api(page_days: usize) -> BillingApi {
    BillingApi::start(BillingSetup {
        cost: rows(),
        usage: usage(),
        page_days,
        ..Default::default()
    })
}

/// A user with the Admin key in the environment, the API at `api`, a fixed clock and time
/// zone, and a terminal `columns` wide with a UTF-8 locale.
fn user(api: &BillingApi, columns: &str) -> TestEnv {
    TestEnv::new()
        .api(&api.url())
        .admin_key(&api.url(), ADMIN_KEY)
        .with("CLAUDE_TEST_NOW", T0)
        .with("TZ", "UTC")
        .with("COLUMNS", columns)
        .with("LANG", "C.UTF-8")
}

#[test]
fn cost_reads_every_page_of_the_month_and_totals_to_the_cent() {
    let api = api(10);
    let env = user(&api, "80");
    let out = env.run(&["/cost", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_not_echoed(&out, ADMIN_KEY);
    let doc = json_stdout(&out);
    // 12.505 + 34 + 99.9999 + 1.20 + 0.1525 + 1.005 dollars, exactly.
    assert_eq!(doc["total"], "148.8624");
    assert_eq!(doc["currency"], "USD");
    assert_eq!(doc["priorityTierIncluded"], false);
    assert_eq!(doc["period"]["first"], "2026-11-01");
    assert_eq!(doc["period"]["days"], 29);
    assert_eq!(doc["days"].as_array().unwrap().len(), 29);
    assert_eq!(doc["days"][28]["amount"], "1.005");
    assert_eq!(doc["models"][0]["name"], "claude-opus-4-1");
    assert_eq!(doc["models"][0]["amount"], "99.9999");
    assert!(doc["models"][0]["share"].is_number());
    assert!(doc["models"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "Web Search Usage"));
    assert!(doc.get("detail").is_none(), "no detail without --detailed");

    let pages = api.cost_requests();
    assert_eq!(pages.len(), 3, "29 days at 10 per page: {pages:#?}");
    assert_eq!(param(&pages[0], "page"), None);
    assert_eq!(param(&pages[1], "page").as_deref(), Some("page_10"));
    assert_eq!(param(&pages[2], "page").as_deref(), Some("page_20"));
    for page in &pages {
        assert_eq!(param(page, "group_by[]").as_deref(), Some("description"));
        assert_eq!(param(page, "bucket_width").as_deref(), Some("1d"));
        assert_eq!(param(page, "limit").as_deref(), Some("29"));
        assert_eq!(
            param(page, "starting_at").as_deref(),
            Some("2026-11-01T00:00:00Z")
        );
        assert_eq!(
            param(page, "ending_at").as_deref(),
            Some("2026-11-30T00:00:00Z")
        );
    }
    assert!(
        api.usage_requests().is_empty(),
        "the short report needs no tokens"
    );

    let human = env.run(&["/cost"]);
    assert!(human.status.success(), "{}", text(&human));
    let shown = String::from_utf8_lossy(&human.stdout);
    assert!(shown.contains("$148.86"), "{shown}");
    assert!(
        shown.contains("$1.01"),
        "the exact 100.5 cents round up: {shown}"
    );
    assert!(
        shown.contains("Priority Tier costs are not in the Admin API's cost report"),
        "{shown}"
    );
}

#[test]
fn detailed_cost_has_tokens_per_model_and_day_and_the_cache_hit_share() {
    let api = api(0);
    let env = user(&api, "120");
    let out = env.run(&["/cost", "--detailed", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    let detail = doc["detail"].as_array().unwrap();
    let sonnet = detail
        .iter()
        .find(|r| r["model"] == "claude-sonnet-4-5" && r["date"] == "2026-11-02")
        .unwrap();
    assert_eq!(sonnet["amount"], "46.505");
    assert_eq!(sonnet["tokens"]["cacheRead"], 450_000);
    assert_eq!(sonnet["tokens"]["cacheCreation5m"], 30_000);
    assert_eq!(sonnet["tokens"]["webSearches"], 3);
    // 450,000 of 605,000 input tokens came from the cache.
    assert_eq!(sonnet["cacheHitShare"], 74.3);
    assert_eq!(doc["tokens"]["output"], 282_000);
    assert!(doc["cacheHitShare"].is_number());
    let usage = api.usage_requests();
    assert_eq!(usage.len(), 1);
    assert_eq!(param(&usage[0], "group_by[]").as_deref(), Some("model"));
}

#[test]
fn a_45_day_period_is_read_in_two_requests() {
    let api = api(0);
    let env = user(&api, "80");
    let out = env.run(&["/cost", "--since", "45d", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["period"]["first"], "2026-10-16");
    assert_eq!(doc["period"]["days"], 45);
    let requests = api.cost_requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(param(&requests[0], "limit").as_deref(), Some("31"));
    assert_eq!(param(&requests[1], "limit").as_deref(), Some("14"));
    assert_eq!(
        param(&requests[0], "ending_at"),
        param(&requests[1], "starting_at")
    );
    assert_eq!(
        doc["total"], "148.8624",
        "the same rows, all inside the period"
    );
}

#[test]
fn since_takes_a_day_and_refuses_what_is_not_a_period() {
    let api = api(0);
    let env = user(&api, "80");
    let out = env.run(&["/cost", "--since", "2026-11-15", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json_stdout(&out)["period"]["days"], 15);
    for bad in ["2099-01-01", "soon", "0d"] {
        let out = env.run(&["/cost", "--since", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
    }
    for args in [
        &["--detailed"][..],
        &["/upgrade", "--detailed"],
        &["/upgrade", "--since", "7d"],
        &["/cost", "--claude-max"],
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
}

#[test]
fn without_an_admin_key_cost_says_what_one_is_and_where_to_get_it() {
    let api = api(0);
    let mut env = user(&api, "80").with("ANTHROPIC_API_KEY", KEY_A);
    env.unset("ANTHROPIC_ADMIN_API_KEY");
    let out = env.run(&["/cost", "--json"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["error"]["code"], "not_authenticated");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Admin API key") && message.contains("API keys"),
        "{message}"
    );
    let hint = doc["error"]["hint"].as_str().unwrap();
    assert!(
        hint.contains("https://console.anthropic.com/settings/admin-keys")
            && hint.contains("admin role"),
        "{hint}"
    );
    assert!(api.cost_requests().is_empty());
    assert_no_secret(&out, KEY_A);
}

#[test]
fn refused_admin_keys_name_the_role_needed() {
    for (status, code, exit) in [
        (401, "invalid_api_key", 5),
        (403, "insufficient_permissions", 7),
    ] {
        let api = BillingApi::start(BillingSetup {
            fail: Some(Reply::error(status, "permission_error")),
            fail_times: 100,
            ..Default::default()
        });
        let env = user(&api, "80");
        let out = env.run(&["/cost", "--json"]);
        assert_eq!(out.status.code(), Some(exit), "{}", text(&out));
        assert_not_echoed(&out, ADMIN_KEY);
        let doc = json_stdout(&out);
        assert_eq!(doc["error"]["code"], code);
        let all = format!("{} {}", doc["error"]["message"], doc["error"]["hint"]);
        assert!(
            all.contains("ANTHROPIC_ADMIN_API_KEY (sk-ant-admin01-…z9Z9)"),
            "{all}"
        );
        assert!(all.contains("admin role"), "{all}");
    }
}

#[test]
fn a_rate_limited_report_is_retried_after_retry_after() {
    let api = BillingApi::start(BillingSetup {
        cost: rows(),
        fail: Some(Reply::error(429, "rate_limit_error").header("Retry-After", "1")),
        fail_times: 1,
        ..Default::default()
    });
    let env = user(&api, "80");
    let started = std::time::Instant::now();
    let out = env.run(&["/cost", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert_eq!(api.cost_requests().len(), 2, "the 429, then the page");

    let api = BillingApi::start(BillingSetup {
        fail: Some(Reply::error(429, "rate_limit_error").header("Retry-After", "1")),
        fail_times: 100,
        ..Default::default()
    });
    let env = user(&api, "80");
    env.write_config(r#"{"authentication": {"retryAttempts": 0}}"#);
    let out = env.run(&["/cost", "--json"]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    assert_eq!(json_stdout(&out)["error"]["code"], "rate_limited");
}

#[test]
fn an_admin_key_given_to_set_api_key_is_stored_apart_from_the_key_in_force() {
    let api = api(0);
    let mut env = TestEnv::encrypted()
        .api(&api.url())
        .admin_api(&api.url())
        .with("CLAUDE_TEST_NOW", T0)
        .with("LANG", "C.UTF-8");
    env.unset("ANTHROPIC_ADMIN_API_KEY");
    let out = env.run_with_stdin(&["--set-api-key", "-"], ADMIN_KEY);
    assert!(out.status.success(), "{}", text(&out));
    assert_not_echoed(&out, ADMIN_KEY);
    assert!(
        text(&out).contains("Stored Admin API key sk-ant-admin01-…z9Z9"),
        "{}",
        text(&out)
    );
    let checks = api.requests_to("/v1/organizations/api_keys");
    assert_eq!(checks.len(), 1);
    assert_eq!(param(&checks[0], "limit").as_deref(), Some("1"));

    let status = env.run(&["--auth-status", "--json"]);
    assert_eq!(
        status.status.code(),
        Some(4),
        "an Admin key is never the key in force: {}",
        text(&status)
    );

    let out = env.run(&["/cost", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["adminKey"]["source"], "stored");
    assert_eq!(doc["total"], "148.8624");
    assert_not_echoed(&out, ADMIN_KEY);
    assert_no_secret_in_files(env.home.path(), ADMIN_KEY);
}

#[test]
fn cost_tables_and_bars_at_80_and_120_columns_in_utf8_and_ascii() {
    let api = api(0);
    loopback_snapshots().bind(|| {
        let env = user(&api, "80");
        insta::assert_snapshot!("cost_month_80_utf8", transcript(&env.run(&["/cost"])));
        let env = user(&api, "120");
        insta::assert_snapshot!(
            "cost_detailed_120_utf8",
            transcript(&env.run(&["/cost", "--detailed", "--since", "2026-11-15"]))
        );
        let env = user(&api, "80").with("LANG", "C").with("NO_COLOR", "1");
        let ascii = env.run(&["/cost", "--detailed", "--since", "2026-11-15"]);
        // Bars and tables in ASCII (fingerprints keep their `…`: that is the marks' rule).
        let shown = String::from_utf8_lossy(&ascii.stdout);
        assert!(!shown.contains(['▕', '▏', '█', '–']), "{shown}");
        insta::assert_snapshot!("cost_detailed_80_ascii", transcript(&ascii));
        insta::assert_snapshot!(
            "cost_detailed_json",
            transcript(&user(&api, "80").run(&[
                "/cost",
                "--detailed",
                "--since",
                "2026-11-28",
                "--json"
            ]))
        );
    });
}

#[test]
fn the_admin_key_never_goes_to_anthropic_base_url() {
    let api = api(0);
    let mut env = TestEnv::new()
        .api(&api.url())
        .with("ANTHROPIC_ADMIN_API_KEY", ADMIN_KEY)
        .with("CLAUDE_TEST_NOW", T0)
        .with("TZ", "UTC");
    env.unset("ANTHROPIC_ADMIN_BASE_URL");
    // No request may leave for the real api.anthropic.com either: the source-address rule
    // allows only a documentation range, and the budget is short.
    env.write_config(
        r#"{"authentication": {"timeout": 2000, "retryAttempts": 0},
            "security": {"ipRestrictions": ["192.0.2.0/24"]}}"#,
    );
    let started = std::time::Instant::now();
    let out = env.run(&["/cost", "--json", "-v"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "fails fast"
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert_not_echoed(&out, ADMIN_KEY);
    assert!(
        api.requests_to("/").is_empty(),
        "the stand-in at ANTHROPIC_BASE_URL saw: {:?}",
        api.requests_to("/")
    );
    let all = text(&out);
    assert!(
        all.contains("ANTHROPIC_BASE_URL is set but the Admin key is never sent there")
            && all.contains("https://api.anthropic.com"),
        "{all}"
    );
    let code = json_stdout(&out)["error"]["code"].clone();
    assert!(
        ["network_error", "ip_restricted", "timeout"].contains(&code.as_str().unwrap_or("")),
        "{code} {all}"
    );
}

#[test]
fn a_bucket_outside_the_period_or_a_negative_amount_is_refused() {
    let mut cost = rows();
    cost.push(CostRow {
        day: "2026-10-15",
        description: "Claude Sonnet 4.5 Usage - Input Tokens",
        model: Some("claude-sonnet-4-5"),
        amount: "5000",
    });
    let api = BillingApi::start(BillingSetup {
        cost,
        stray_day: Some("2026-10-15"),
        ..Default::default()
    });
    let out = user(&api, "80").run(&["/cost", "--json"]);
    assert_eq!(
        json_stdout(&out)["error"]["code"],
        "provider_error",
        "{}",
        text(&out)
    );
    let message = json_stdout(&out)["error"]["message"].to_string();
    assert!(
        message.contains("2026-10-15") && message.contains("outside the period"),
        "{message}"
    );

    let mut cost = rows();
    cost.push(CostRow {
        day: "2026-11-04",
        description: "Claude Sonnet 4.5 Usage - Input Tokens",
        model: Some("claude-sonnet-4-5"),
        amount: "-2500.5",
    });
    let api = BillingApi::start(BillingSetup {
        cost,
        ..Default::default()
    });
    let out = user(&api, "80").run(&["/cost", "--json"]);
    assert_eq!(
        json_stdout(&out)["error"]["code"],
        "provider_error",
        "{}",
        text(&out)
    );
    let message = json_stdout(&out)["error"]["message"].to_string();
    assert!(
        message.contains("negative `amount` on 2026-11-04"),
        "{message}"
    );
}

#[test]
fn a_period_too_long_says_how_many_days_were_asked_for() {
    let api = api(0);
    let env = user(&api, "80");
    let out = env.run(&["/cost", "--since", "1000d", "--json"]);
    assert_eq!(
        json_stdout(&out)["error"]["code"],
        "usage",
        "{}",
        text(&out)
    );
    let message = json_stdout(&out)["error"]["message"].to_string();
    assert!(
        message.contains("asks for 1000 days; a report covers at most 366"),
        "{message}"
    );
    assert!(api.cost_requests().is_empty());
}

/// `/cost --json` against a report that never ends: the error object, and the requests made.
fn hostile_cost(hostile: Hostile) -> (serde_json::Value, usize) {
    let api = BillingApi::start(BillingSetup {
        hostile: Some(hostile),
        ..Default::default()
    });
    let out = user(&api, "80").run(&["/cost", "--json"]);
    assert_eq!(out.status.code(), Some(14), "{}", text(&out));
    assert_not_echoed(&out, ADMIN_KEY);
    let error = json_stdout(&out)["error"].clone();
    assert_eq!(error["code"], "provider_error", "{error}");
    (error, api.cost_requests().len())
}

#[test]
fn a_next_page_cursor_seen_before_is_refused_at_once() {
    // The same cursor again: the second page names it.
    let (error, requests) = hostile_cost(Hostile::Cursors(vec!["page_A"]));
    assert_eq!(requests, 2, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("`next_page` it had already given"),
        "{message}"
    );

    // A, B, A, …: the third page brings A back, which the chain has followed already.
    let (error, requests) = hostile_cost(Hostile::Cursors(vec!["page_A", "page_B"]));
    assert_eq!(requests, 3, "{error}");
    assert!(error["hint"]
        .as_str()
        .unwrap()
        .contains("ANTHROPIC_ADMIN_BASE_URL"));
}

#[test]
fn a_report_past_its_caps_is_refused_naming_the_cap() {
    // One day's bucket with one item more than a bucket may hold.
    let (error, requests) = hostile_cost(Hostile::Flood {
        buckets: 1,
        items: 10_001,
    });
    assert_eq!(requests, 1, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("10,001 items") && message.contains("the 10,000 a day's bucket may hold"),
        "{message}"
    );

    // 20,000 new models a page: the 100,000 totals a report keeps are reached on the 6th.
    let (error, requests) = hostile_cost(Hostile::Flood {
        buckets: 4,
        items: 5_000,
    });
    assert_eq!(requests, 6, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("more than 100,000 rows"), "{message}");
    assert!(
        error["hint"].as_str().unwrap().contains("--since"),
        "{error}"
    );
}
