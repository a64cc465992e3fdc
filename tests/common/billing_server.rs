//! Loopback stand-ins for the Admin API's usage and cost reports and for a subscription
//! endpoint. The reports answer from rows set up by the test, a few days per page, so the
//! client must follow `next_page`; every request is recorded.
//!
//! | route                                         | answer                                                                                     |
//! |-----------------------------------------------|--------------------------------------------------------------------------------------------|
//! | `GET /v1/organizations/cost_report`           | 200 daily buckets of `cost` rows between `starting_at` and `ending_at`, `page_days` per page, `has_more`/`next_page`; 400 without `bucket_width=1d` or with `limit` > 31; 401 without the Admin key or `anthropic-version` |
//! | `GET /v1/organizations/usage_report/messages` | the same for `usage` rows (tokens per model)                                               |
//! | `GET /v1/organizations/api_keys`              | 200 an empty first page (the Admin key check of `--set-api-key`)                           |
//! | either report, when `stray_day` is set         | also a bucket for that day, whatever the period asked for                                  |
//! | any Admin route, when `fail` is set           | that reply (401, 403, or 429 with `Retry-After`) for the first `fail_times` requests       |
//! | either report, when `hostile` is set          | every page says `has_more`: `Cursors` cycles `next_page` through its list; `Flood` sends `buckets` buckets of `items` items, each under a model never sent before, and a fresh cursor |
//! | `GET /subscription`                           | the n-th of `plans` (the last repeats) for `Authorization: Bearer at_…`, else 401          |
#![allow(dead_code)]

use super::github_server::decode;
use super::servers::{Reply, Request, Server};
use chrono::{Days, NaiveDate};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The Admin key the stand-in accepts (obviously fake).
pub const ADMIN_KEY: &str = "sk-ant-admin01-TESTADMINKEYZZZZZZZZZZZZ-z9Z9";

/// One cost item: day, description, model, amount (cents, as the API writes it).
#[derive(Clone, Debug)]
pub struct CostRow {
    pub day: &'static str,
    pub description: &'static str,
    pub model: Option<&'static str>,
    pub amount: &'static str,
}

/// One usage row: day, model, then uncached input, cache writes 5m and 1h, cache reads,
/// output, web searches.
#[derive(Clone, Debug)]
pub struct UsageRow {
    pub day: &'static str,
    pub model: &'static str,
    pub tokens: [u64; 6],
}

/// How the stand-in is set up.
#[derive(Clone, Default)]
pub struct BillingSetup {
    pub cost: Vec<CostRow>,
    pub usage: Vec<UsageRow>,
    /// Days per page (0: 31).
    pub page_days: usize,
    /// Answer the first `fail_times` Admin requests with this instead.
    pub fail: Option<Reply>,
    pub fail_times: usize,
    /// The subscription endpoint's answers, one per request; the last repeats.
    pub plans: Vec<Value>,
    /// A day whose bucket (with its rows) the first page of every report also carries,
    /// whatever the period asked for: a misbehaving server.
    pub stray_day: Option<&'static str>,
    /// Reports whose pages never end (see [`Hostile`]).
    pub hostile: Option<Hostile>,
}

/// A report server that never says it is done.
#[derive(Clone, Debug)]
pub enum Hostile {
    /// `next_page` goes through these cursors in turn and starts again: the first page
    /// gives the first, the page of the last gives the first again. Each page has one
    /// bucket (the first day asked for) with one cost item of a cent.
    Cursors(Vec<&'static str>),
    /// Each page: `buckets` buckets on the first day asked for, each of `items` cost items
    /// under a model name never sent before, and a cursor never sent before.
    Flood { buckets: usize, items: usize },
}

pub struct BillingApi {
    pub server: Server,
}

impl BillingApi {
    pub fn start(setup: BillingSetup) -> BillingApi {
        let failures = Arc::new(AtomicUsize::new(0));
        let plan_polls = Arc::new(AtomicUsize::new(0));
        let server = Server::start(move |req, _| route(req, &setup, &failures, &plan_polls));
        BillingApi { server }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn subscription_url(&self) -> String {
        format!("{}/subscription", self.url())
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Request> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }

    pub fn cost_requests(&self) -> Vec<Request> {
        self.requests_to("/v1/organizations/cost_report")
    }

    pub fn usage_requests(&self) -> Vec<Request> {
        self.requests_to("/v1/organizations/usage_report/messages")
    }

    pub fn plan_requests(&self) -> Vec<Request> {
        self.requests_to("/subscription")
    }
}

/// The query's parameters, percent-decoded (`group_by%5B%5D` → `group_by[]`).
pub fn query(req: &Request) -> Vec<(String, String)> {
    let q = req.path.split_once('?').map(|(_, q)| q).unwrap_or("");
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub fn param(req: &Request, name: &str) -> Option<String> {
    query(req)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn route(
    req: &Request,
    setup: &BillingSetup,
    failures: &AtomicUsize,
    plan_polls: &AtomicUsize,
) -> Reply {
    let path = req.path.split('?').next().unwrap_or("");
    if path == "/subscription" {
        let authorized = req
            .header("authorization")
            .is_some_and(|v| v.starts_with("Bearer at_"));
        if !authorized {
            return Reply::error(401, "authentication_error");
        }
        let n = plan_polls.fetch_add(1, Ordering::SeqCst);
        let plan = setup
            .plans
            .get(n.min(setup.plans.len().saturating_sub(1)))
            .cloned()
            .unwrap_or(json!({}));
        return Reply::json(200, &plan.to_string());
    }
    if !path.starts_with("/v1/organizations/") {
        return Reply::error(404, "not_found_error");
    }
    let authorized = req.header("x-api-key") == Some(ADMIN_KEY)
        && req.header("anthropic-version") == Some("2023-06-01");
    if !authorized {
        return Reply::error(401, "authentication_error");
    }
    if let Some(fail) = &setup.fail {
        if failures.fetch_add(1, Ordering::SeqCst) < setup.fail_times {
            return fail.clone();
        }
    }
    if let (Some(hostile), true) = (&setup.hostile, path.contains("_report")) {
        return endless(req, hostile);
    }
    match path {
        "/v1/organizations/api_keys" => Reply::json(
            200,
            r#"{"data":[],"has_more":false,"first_id":null,"last_id":null}"#,
        ),
        "/v1/organizations/cost_report" => report(req, setup, |day| {
            setup
                .cost
                .iter()
                .filter(|r| r.day == day)
                .map(|r| {
                    json!({
                        "currency": "USD", "amount": r.amount, "description": r.description,
                        "model": r.model, "cost_type": if r.model.is_some() { "tokens" } else { "web_search" },
                        "workspace_id": null, "service_tier": "standard", "token_type": null,
                        "context_window": "0-200k",
                    })
                })
                .collect()
        }),
        "/v1/organizations/usage_report/messages" => report(req, setup, |day| {
            setup
                .usage
                .iter()
                .filter(|r| r.day == day)
                .map(|r| {
                    let t = r.tokens;
                    json!({
                        "model": r.model, "uncached_input_tokens": t[0],
                        "cache_creation": {"ephemeral_5m_input_tokens": t[1], "ephemeral_1h_input_tokens": t[2]},
                        "cache_read_input_tokens": t[3], "output_tokens": t[4],
                        "server_tool_use": {"web_search_requests": t[5]},
                        "api_key_id": null, "workspace_id": null, "service_tier": null, "context_window": null,
                    })
                })
                .collect()
        }),
        _ => Reply::error(404, "not_found_error"),
    }
}

/// Daily buckets from `starting_at` to `ending_at`, `page_days` per page.
fn report(req: &Request, setup: &BillingSetup, results: impl Fn(&str) -> Vec<Value>) -> Reply {
    let day_of = |name: &str| {
        param(req, name).and_then(|v| NaiveDate::parse_from_str(v.get(..10)?, "%Y-%m-%d").ok())
    };
    let (Some(start), Some(end)) = (day_of("starting_at"), day_of("ending_at")) else {
        return Reply::error(400, "invalid_request_error");
    };
    let limit: usize = param(req, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(7);
    if param(req, "bucket_width").as_deref() != Some("1d") || limit > 31 || limit == 0 {
        return Reply::error(400, "invalid_request_error");
    }
    let mut days = Vec::new();
    if let Some(stray) = setup.stray_day {
        days.push(NaiveDate::parse_from_str(stray, "%Y-%m-%d").unwrap());
    }
    let mut day = start;
    while day < end && days.len() < limit {
        days.push(day);
        day = day.checked_add_days(Days::new(1)).unwrap();
    }
    let offset: usize = param(req, "page")
        .and_then(|p| p.strip_prefix("page_").and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    let per_page = if setup.page_days == 0 {
        31
    } else {
        setup.page_days
    };
    let page: Vec<Value> = days
        .iter()
        .skip(offset)
        .take(per_page)
        .map(|d| {
            json!({
                "starting_at": format!("{d}T00:00:00Z"),
                "ending_at": format!("{}T00:00:00Z", d.checked_add_days(Days::new(1)).unwrap()),
                "results": results(&d.to_string()),
            })
        })
        .collect();
    let next = offset + page.len();
    let has_more = next < days.len();
    let body = json!({
        "data": page,
        "has_more": has_more,
        "next_page": if has_more { Value::String(format!("page_{next}")) } else { Value::Null },
    });
    Reply::json(200, &body.to_string())
}

/// A page of a report that never ends (see [`Hostile`]); `n` numbers the model names so
/// that no two pages share one.
fn endless(req: &Request, hostile: &Hostile) -> Reply {
    let day = param(req, "starting_at")
        .and_then(|v| v.get(..10).map(str::to_string))
        .unwrap_or_default();
    let page = param(req, "page");
    let bucket = |results: &str| {
        format!(
            r#"{{"starting_at":"{day}T00:00:00Z","ending_at":"{day}T23:59:59Z","results":[{results}]}}"#
        )
    };
    let (data, next) = match hostile {
        Hostile::Cursors(cursors) => {
            let at = page
                .and_then(|p| cursors.iter().position(|c| *c == p))
                .map_or(0, |i| (i + 1) % cursors.len());
            (
                bucket(r#"{"currency":"USD","amount":"1","model":"claude-haiku-4-5"}"#),
                cursors[at].to_string(),
            )
        }
        Hostile::Flood { buckets, items } => {
            static PAGES: AtomicUsize = AtomicUsize::new(0);
            let n = PAGES.fetch_add(1, Ordering::SeqCst);
            let data: Vec<String> = (0..*buckets)
                .map(|b| {
                    let results: Vec<String> = (0..*items)
                        .map(|i| format!(r#"{{"amount":"1","model":"m{n}-{b}-{i}"}}"#))
                        .collect();
                    bucket(&results.join(","))
                })
                .collect();
            (data.join(","), format!("flood_{n}"))
        }
    };
    Reply::json(
        200,
        &format!(r#"{{"data":[{data}],"has_more":true,"next_page":"{next}"}}"#),
    )
}
