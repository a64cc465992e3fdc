//! The Admin API's usage and cost reports, read whole: `GET /v1/organizations/cost_report`
//! (`bucket_width=1d`, `group_by[]=description`) and `GET
//! /v1/organizations/usage_report/messages` (`bucket_width=1d`, `group_by[]=model`), one
//! request per window of ≤ 31 days, each followed through `next_page` until `has_more` is
//! false. Answers are hostile input: every field is checked, strings made one printable
//! line, each page is totalled per day and label as it is read and then dropped, and the
//! page loop, a day's bucket and the totals kept are all bounded.

use super::money::{self, Money};
use super::period::Period;
use crate::context::Context;
use crate::error::AuthError;
use crate::providers::admin_api::{self, AdminKey};
use crate::terminal_text::single_line;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Pages followed per window at most: a server whose `next_page` never ends is refused.
const MAX_PAGES: usize = 100;
/// The longest label kept (model names, cost descriptions).
const MAX_LABEL: usize = 80;
/// Items one day's bucket may hold. A day's cost report has one item per description
/// (models × token kinds × context windows and tiers, plus web search and code execution):
/// a few hundred for the busiest organization; more is not a report.
pub const MAX_ITEMS_PER_BUCKET: usize = 10_000;
/// Totals (one per day and label) one report may keep. A year is 366 days: 100,000 allows
/// some 270 models or descriptions with a cost on every day of it, where organizations have
/// tens; at that bound the totals take a few MiB.
pub const MAX_ROWS: usize = 100_000;
/// The longest `next_page` cursor sent back (the API's are a few dozen characters).
const MAX_CURSOR: usize = 1024;

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

/// The cost report over `period`, every page of every window, one line per day and label
/// (the amounts of that day's items with that label, summed exactly).
///
/// # Errors
/// Admin API errors (401/403 name the key and the role needed), `provider_error` for an
/// answer that is not the report, or one past the bounds ([`MAX_ITEMS_PER_BUCKET`],
/// [`MAX_ROWS`], a repeated `next_page`).
pub async fn costs(
    ctx: &Context,
    key: &AdminKey,
    period: &Period,
) -> Result<Vec<CostLine>, AuthError> {
    let mut totals = Totals::new("cost_report");
    read(
        ctx,
        key,
        period,
        "cost_report",
        "description",
        |day, item| {
            let line = cost_line(day, item)?;
            totals.add(day, line.label, line.amount, Money::plus)
        },
    )
    .await?;
    Ok(totals
        .into_rows()
        .map(|((day, label), amount)| CostLine { day, label, amount })
        .collect())
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
    let mut totals = Totals::new("usage_report/messages");
    read(
        ctx,
        key,
        period,
        "usage_report/messages",
        "model",
        |day, item| {
            let model = label(item, &["model"]).unwrap_or_else(|| "(all models)".into());
            totals.add(day, model, tokens(item), Tokens::plus)
        },
    )
    .await?;
    Ok(totals
        .into_rows()
        .map(|((day, model), tokens)| UsageLine { day, model, tokens })
        .collect())
}

/// Sums per day and label, at most [`MAX_ROWS`] of them: what is kept of a report, whatever
/// the server sends.
struct Totals<T> {
    report: &'static str,
    rows: BTreeMap<(NaiveDate, String), T>,
}

impl<T: Copy> Totals<T> {
    fn new(report: &'static str) -> Totals<T> {
        Totals {
            report,
            rows: BTreeMap::new(),
        }
    }

    /// Adds `value` to the total of `day` and `label`.
    fn add(
        &mut self,
        day: NaiveDate,
        label: String,
        value: T,
        plus: fn(T, T) -> T,
    ) -> Result<(), AuthError> {
        let key = (day, label);
        if let Some(total) = self.rows.get_mut(&key) {
            *total = plus(*total, value);
            return Ok(());
        }
        if self.rows.len() >= MAX_ROWS {
            return Err(AuthError::provider(format!(
                "the Admin API's {} has more than {} rows (one per day and model or description); refusing to keep more",
                self.report,
                count(MAX_ROWS)
            ))
            .with_hint("ask for a shorter period with `--since`; if it repeats, check ANTHROPIC_ADMIN_BASE_URL"));
        }
        self.rows.insert(key, value);
        Ok(())
    }

    fn into_rows(self) -> impl Iterator<Item = ((NaiveDate, String), T)> {
        self.rows.into_iter()
    }
}

/// Reads every page of `report` over `period` (one request chain per window) and hands each
/// item of each day's bucket to `each`; a page is dropped once read.
async fn read(
    ctx: &Context,
    key: &AdminKey,
    period: &Period,
    report: &str,
    group_by: &str,
    mut each: impl FnMut(NaiveDate, &Value) -> Result<(), AuthError>,
) -> Result<(), AuthError> {
    let base = admin_api::url(ctx, &format!("/v1/organizations/{report}"))?;
    let doing = format!("read the {}", report.replace(['_', '/'], " "));
    for window in period.windows() {
        // Cursors of this window's chain: one seen before means the pages go round.
        let mut seen: HashSet<String> = HashSet::new();
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
                let (day, results) =
                    bucket_of(bucket).ok_or_else(|| not_a_report(&url.to_string()))?;
                if day < window.first || day > window.last {
                    return Err(AuthError::provider(format!(
                        "the Admin API's {report} has a bucket for {day}, outside the period asked for ({} to {})",
                        window.first, window.last
                    ))
                    .with_hint("try again later; if it repeats, check ANTHROPIC_ADMIN_BASE_URL"));
                }
                if results.len() > MAX_ITEMS_PER_BUCKET {
                    return Err(AuthError::provider(format!(
                        "the Admin API's {report} has {} items for {day}, more than the {} a day's bucket may hold",
                        count(results.len()),
                        count(MAX_ITEMS_PER_BUCKET)
                    ))
                    .with_hint("check ANTHROPIC_ADMIN_BASE_URL: it should point at the Anthropic API"));
                }
                for item in results {
                    each(day, item)?;
                }
            }
            page = next_page(&doc, &url, report, &mut seen)?;
            if page.is_none() {
                break;
            }
        }
        if page.is_some() {
            return Err(AuthError::provider(format!(
                "the Admin API's {report} did not end within {MAX_PAGES} pages"
            ))
            .with_hint("ask for a shorter period with `--since`"));
        }
    }
    Ok(())
}

/// The cursor of the page after `doc`, `None` at the end. A cursor this chain has already
/// followed would only bring the same pages again, so it is refused at once.
fn next_page(
    doc: &Value,
    url: &crate::redact::SafeUrl,
    report: &str,
    seen: &mut HashSet<String>,
) -> Result<Option<String>, AuthError> {
    if doc.get("has_more").and_then(Value::as_bool) != Some(true) {
        return Ok(None);
    }
    let Some(next) = doc.get("next_page").and_then(Value::as_str) else {
        return Err(AuthError::provider(format!(
            "{url} said there is more (`has_more`) but gave no `next_page`"
        ))
        .with_hint("try again later; if it repeats, check ANTHROPIC_ADMIN_BASE_URL"));
    };
    if next.len() > MAX_CURSOR {
        return Err(AuthError::provider(format!(
            "the Admin API's {report} gave a `next_page` of {} bytes, longer than the {MAX_CURSOR} a cursor may be",
            count(next.len())
        ))
        .with_hint("check ANTHROPIC_ADMIN_BASE_URL: it should point at the Anthropic API"));
    }
    if !seen.insert(next.to_string()) {
        return Err(AuthError::provider(format!(
            "the Admin API's {report} gave a `next_page` it had already given: its pages go round and would never end"
        ))
        .with_hint("try again later; if it repeats, check ANTHROPIC_ADMIN_BASE_URL"));
    }
    Ok(Some(next.to_string()))
}

/// A day's bucket: its day and its results, borrowed from the page.
fn bucket_of(bucket: &Value) -> Option<(NaiveDate, &Vec<Value>)> {
    let start = bucket.get("starting_at")?.as_str()?;
    let day = chrono::DateTime::parse_from_rfc3339(start)
        .ok()?
        .naive_utc()
        .date();
    Some((day, bucket.get("results")?.as_array()?))
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

/// `10,000`: a size for messages.
fn count(n: usize) -> String {
    money::count(u64::try_from(n).unwrap_or(u64::MAX))
}

fn not_a_report(from: &str) -> AuthError {
    AuthError::provider(format!("{from} did not answer like the Admin API's report"))
        .with_hint("check ANTHROPIC_ADMIN_BASE_URL: it should point at the Anthropic API")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn totals_sum_per_day_and_label_and_stop_at_the_cap() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let mut totals = Totals::new("cost_report");
        for _ in 0..3 {
            totals
                .add(day, "a".into(), 2u64, u64::saturating_add)
                .unwrap();
        }
        for n in 1..MAX_ROWS {
            totals
                .add(day, n.to_string(), 1, u64::saturating_add)
                .unwrap();
        }
        let err = totals
            .add(day, "one too many".into(), 1, u64::saturating_add)
            .unwrap_err();
        assert!(err.message().contains("more than 100,000 rows"), "{err:?}");
        // A label already kept still adds up past the cap: only new rows cost memory.
        totals.add(day, "a".into(), 2, u64::saturating_add).unwrap();
        let rows: Vec<_> = totals.into_rows().collect();
        assert_eq!(rows.len(), MAX_ROWS);
        assert_eq!(rows.iter().find(|((_, l), _)| l == "a").unwrap().1, 8);
    }

    #[test]
    fn a_cursor_is_followed_once_and_must_be_short() {
        let url: crate::redact::SafeUrl =
            reqwest::Url::parse("http://127.0.0.1:1/r").unwrap().into();
        let mut seen = HashSet::new();
        let page = |next: &str| json!({"has_more": true, "next_page": next});
        assert_eq!(
            next_page(&page("A"), &url, "cost_report", &mut seen).unwrap(),
            Some("A".into())
        );
        assert!(next_page(&page("B"), &url, "cost_report", &mut seen).is_ok());
        assert!(next_page(&page("A"), &url, "cost_report", &mut seen).is_err());
        let done = json!({"has_more": false, "next_page": "A"});
        assert_eq!(
            next_page(&done, &url, "cost_report", &mut seen).unwrap(),
            None
        );
        let long = "x".repeat(MAX_CURSOR + 1);
        let err = next_page(&page(&long), &url, "cost_report", &mut HashSet::new()).unwrap_err();
        assert!(err.message().contains("longer than the 1024"), "{err:?}");
    }
}
