//! The Admin API's usage and cost reports, read whole: `GET /v1/organizations/cost_report`
//! (`bucket_width=1d`, `group_by[]=description`) and `GET
//! /v1/organizations/usage_report/messages` (`bucket_width=1d`, `group_by[]=model`), one
//! request per window of ≤ 31 days, each followed through `next_page` until `has_more` is
//! false. Answers are hostile input: every field is checked, strings made one printable
//! line, and a page loop is bounded.

use super::money::Money;
use super::period::Period;
use crate::context::Context;
use crate::error::AuthError;
use crate::providers::admin_api::{self, AdminKey};
use crate::terminal_text::single_line;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

/// Pages followed per window at most: a server whose `next_page` never ends is refused.
const MAX_PAGES: usize = 100;
/// The longest label kept (model names, cost descriptions).
const MAX_LABEL: usize = 80;

/// One cost item of one day.
#[derive(Clone, Debug)]
pub struct CostLine {
    pub day: NaiveDate,
    /// The model, else the item's description, else its cost type.
    pub label: String,
    pub amount: Money,
}

/// Tokens (and web searches) of one model on one day, or summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub uncached_input: u64,
    pub cache_creation_5m: u64,
    pub cache_creation_1h: u64,
    pub cache_read: u64,
    pub output: u64,
    pub web_searches: u64,
}

impl Tokens {
    /// Field-wise sum, saturating.
    pub fn plus(self, o: Tokens) -> Tokens {
        Tokens {
            uncached_input: self.uncached_input.saturating_add(o.uncached_input),
            cache_creation_5m: self.cache_creation_5m.saturating_add(o.cache_creation_5m),
            cache_creation_1h: self.cache_creation_1h.saturating_add(o.cache_creation_1h),
            cache_read: self.cache_read.saturating_add(o.cache_read),
            output: self.output.saturating_add(o.output),
            web_searches: self.web_searches.saturating_add(o.web_searches),
        }
    }

    /// Every input token: uncached, written to the cache, read from it.
    pub fn input(&self) -> u64 {
        self.uncached_input
            .saturating_add(self.cache_creation_5m)
            .saturating_add(self.cache_creation_1h)
            .saturating_add(self.cache_read)
    }

    /// Cache reads' share of all input, per mille (integer arithmetic, no rounding drift).
    pub fn cache_hit_permille(&self) -> u32 {
        let input = u128::from(self.input());
        if input == 0 {
            return 0;
        }
        u32::try_from(u128::from(self.cache_read) * 1000 / input).unwrap_or(1000)
    }
}

/// One model's tokens on one day.
#[derive(Clone, Debug)]
pub struct UsageLine {
    pub day: NaiveDate,
    pub model: String,
    pub tokens: Tokens,
}

/// The cost report over `period`, every page of every window.
///
/// # Errors
/// Admin API errors (401/403 name the key and the role needed), `provider_error` for an
/// answer that is not the report.
pub async fn costs(
    ctx: &Context,
    key: &AdminKey,
    period: &Period,
) -> Result<Vec<CostLine>, AuthError> {
    let mut lines = Vec::new();
    for bucket in buckets(ctx, key, period, "cost_report", "description").await? {
        for item in bucket.results {
            lines.push(cost_line(bucket.day, &item)?);
        }
    }
    Ok(lines)
}

/// The messages usage report over `period`, per model and day.
///
/// # Errors
/// As [`costs`].
pub async fn usage(
    ctx: &Context,
    key: &AdminKey,
    period: &Period,
) -> Result<Vec<UsageLine>, AuthError> {
    let mut lines = Vec::new();
    for bucket in buckets(ctx, key, period, "usage_report/messages", "model").await? {
        for item in bucket.results {
            lines.push(UsageLine {
                day: bucket.day,
                model: label(&item, &["model"]).unwrap_or_else(|| "(all models)".into()),
                tokens: tokens(&item),
            });
        }
    }
    Ok(lines)
}

/// A day's bucket: its results, unread.
struct Bucket {
    day: NaiveDate,
    results: Vec<Value>,
}

/// Every bucket of `report` over `period`: one request chain per window.
async fn buckets(
    ctx: &Context,
    key: &AdminKey,
    period: &Period,
    report: &str,
    group_by: &str,
) -> Result<Vec<Bucket>, AuthError> {
    let base = admin_api::url(ctx, &format!("/v1/organizations/{report}"))?;
    let doing = format!("read the {}", report.replace(['_', '/'], " "));
    let mut out = Vec::new();
    for window in period.windows() {
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = base.as_url().clone();
            url.query_pairs_mut()
                .append_pair("starting_at", &window.starting_at())
                .append_pair("ending_at", &window.ending_at())
                .append_pair("bucket_width", "1d")
                .append_pair("group_by[]", group_by)
                .append_pair("limit", &window.days().to_string());
            if let Some(token) = &page {
                url.query_pairs_mut().append_pair("page", token);
            }
            let url = url.into();
            ctx.detail(&format!("reading {url}"));
            let doc = admin_api::get(ctx, key, &url, &doing).await?;
            let data = doc
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| not_a_report(&url.to_string()))?;
            for bucket in data {
                let bucket = bucket_of(bucket).ok_or_else(|| not_a_report(&url.to_string()))?;
                if bucket.day < window.first || bucket.day > window.last {
                    return Err(AuthError::provider(format!(
                        "the Admin API's {report} has a bucket for {}, outside the period asked for ({} to {})",
                        bucket.day, window.first, window.last
                    ))
                    .with_hint("try again later; if it repeats, check ANTHROPIC_ADMIN_BASE_URL"));
                }
                out.push(bucket);
            }
            let more = doc.get("has_more").and_then(Value::as_bool) == Some(true);
            let next = doc
                .get("next_page")
                .and_then(Value::as_str)
                .map(str::to_string);
            match next {
                Some(next) if more && page.as_deref() != Some(next.as_str()) => page = Some(next),
                None if more => {
                    return Err(AuthError::provider(format!(
                        "{url} said there is more (`has_more`) but gave no `next_page`"
                    ))
                    .with_hint("try again later; if it repeats, check ANTHROPIC_ADMIN_BASE_URL"))
                }
                _ => {
                    page = None;
                    break;
                }
            }
        }
        if page.is_some() {
            return Err(AuthError::provider(format!(
                "the Admin API's {report} did not end within {MAX_PAGES} pages"
            ))
            .with_hint("ask for a shorter period with `--since`"));
        }
    }
    Ok(out)
}

fn bucket_of(bucket: &Value) -> Option<Bucket> {
    let start = bucket.get("starting_at")?.as_str()?;
    let day = chrono::DateTime::parse_from_rfc3339(start)
        .ok()?
        .naive_utc()
        .date();
    let results = bucket.get("results")?.as_array()?.clone();
    Some(Bucket { day, results })
}

fn cost_line(day: NaiveDate, item: &Value) -> Result<CostLine, AuthError> {
    let amount = item
        .get("amount")
        .and_then(Value::as_str)
        .ok_or_else(|| not_a_report("the cost report (an item without `amount`)"))?;
    let amount = Money::from_cents_str(amount).map_err(|why| {
        AuthError::provider(format!("the cost report has an `amount` that is {why}"))
            .with_hint("try again later; if it repeats, report it with `claude --debug-auth`")
    })?;
    // The API documents no credits in the cost report: a negative amount would silently
    // lower the total, so it is refused rather than added in.
    if amount < Money::ZERO {
        return Err(AuthError::provider(format!(
            "the cost report has a negative `amount` on {day}, which it documents no use for"
        ))
        .with_hint("read the report in the Console's usage page; if it repeats, report it with `claude --debug-auth`"));
    }
    // Everything else the API bills is USD today; another currency must not be added in.
    if let Some(currency) = item.get("currency").and_then(Value::as_str) {
        if currency != "USD" {
            return Err(AuthError::provider(format!(
                "the cost report has an amount in {}, which this version cannot add to USD",
                single_line(currency)
            ))
            .with_hint("read the report in the Console's usage page"));
        }
    }
    Ok(CostLine {
        day,
        label: label(item, &["model", "description", "cost_type"])
            .unwrap_or_else(|| "(ungrouped)".into()),
        amount,
    })
}

/// The first of `fields` that is a non-empty string, as one printable, bounded line.
fn label(item: &Value, fields: &[&str]) -> Option<String> {
    fields
        .iter()
        .filter_map(|f| item.get(*f).and_then(Value::as_str))
        .find(|s| !s.trim().is_empty())
        .map(|s| single_line(&s.chars().take(MAX_LABEL).collect::<String>()))
}

fn tokens(item: &Value) -> Tokens {
    let n = |path: &str| item.pointer(path).and_then(Value::as_u64).unwrap_or(0);
    Tokens {
        uncached_input: n("/uncached_input_tokens"),
        cache_creation_5m: n("/cache_creation/ephemeral_5m_input_tokens"),
        cache_creation_1h: n("/cache_creation/ephemeral_1h_input_tokens"),
        cache_read: n("/cache_read_input_tokens"),
        output: n("/output_tokens"),
        web_searches: n("/server_tool_use/web_search_requests"),
    }
}

fn not_a_report(from: &str) -> AuthError {
    AuthError::provider(format!("{from} did not answer like the Admin API's report"))
        .with_hint("check ANTHROPIC_ADMIN_BASE_URL: it should point at the Anthropic API")
}
