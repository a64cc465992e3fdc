//! `/cost` and `/cost --detailed [--since 7d|30d|YYYY-MM-DD]`: the organization's API cost
//! from the Admin API's cost report (month to date by default): the total, a bar per day,
//! the top models; `--detailed` adds tokens per model and day from the usage report and
//! the cache hit share. Money is exact (`billing::money`); JSON carries it as strings.

use crate::billing::admin_reports::{self, CostLine, Tokens, UsageLine};
use crate::billing::chart::{Style, Table};
use crate::billing::money::{count, percent, Money};
use crate::billing::period::Period;
use crate::context::Context;
use crate::error::AuthError;
use crate::output::{Outcome, Report};
use crate::providers::admin_api;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What the cost report cannot show, said under every report (Admin API documentation).
pub const PRIORITY_TIER_NOTE: &str =
    "Priority Tier costs are not in the Admin API's cost report, so they are not included above.";
/// Models listed by name in the short report; the rest are summed in one line.
const TOP_MODELS: usize = 5;

/// `/cost`'s result.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostReport {
    pub period: PeriodJson,
    pub currency: &'static str,
    /// Exact dollars, as a string.
    pub total: Money,
    /// Every day of the period, zero days included.
    pub days: Vec<DayCost>,
    /// Models (or, for costs without one, the item's description), most expensive first.
    pub models: Vec<ModelCost>,
    /// With `--detailed`: every model and day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Vec<DetailRow>>,
    /// With `--detailed`: the usage report's tokens over the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Tokens>,
    /// With `--detailed`: cache reads as a percentage of all input tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_hit_share: Option<f64>,
    /// Always `false`: the cost report has no Priority Tier costs.
    pub priority_tier_included: bool,
    pub admin_key: AdminKeyJson,
    #[serde(skip)]
    pub style: Option<Style>,
    #[serde(skip)]
    pub admin_named: String,
}

#[derive(Serialize)]
pub struct PeriodJson {
    pub first: String,
    pub last: String,
    pub days: u64,
    /// `month-to-date` or the `--since` value.
    pub basis: String,
}

#[derive(Serialize)]
pub struct DayCost {
    pub date: String,
    pub amount: Money,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCost {
    pub name: String,
    pub amount: Money,
    /// Share of the total, in percent.
    pub share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Tokens>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailRow {
    pub date: String,
    pub model: String,
    pub amount: Money,
    pub tokens: Tokens,
    pub cache_hit_share: f64,
}

#[derive(Serialize)]
pub struct AdminKeyJson {
    pub source: &'static str,
    pub fingerprint: String,
}

/// Reads the reports and builds `/cost`'s result.
///
/// # Errors
/// `usage` for a bad `--since`; `not_authenticated` without an Admin key; Admin API errors.
pub async fn run(ctx: &Context, detailed: bool, since: Option<&str>) -> Result<Outcome, AuthError> {
    let now = ctx.clock.now();
    let period = match since {
        Some(text) => Period::since(text, now)?,
        None => Period::month_to_date(now),
    };
    let key = admin_api::find(ctx)?.ok_or_else(|| admin_api::missing("`claude /cost`"))?;
    let costs = admin_reports::costs(ctx, &key, &period).await?;
    let usage = if detailed {
        Some(admin_reports::usage(ctx, &key, &period).await?)
    } else {
        None
    };
    let mut report = build(&period, since, &costs, usage.as_deref());
    report.admin_key = AdminKeyJson {
        source: key.source_id(),
        fingerprint: key.fingerprint().to_string(),
    };
    report.admin_named = key.named();
    report.style = Some(Style::of(ctx));
    Ok(Outcome::report(&report))
}

/// The report from the rows: totals are sums of the exact rows.
pub fn build(
    period: &Period,
    since: Option<&str>,
    costs: &[CostLine],
    usage: Option<&[UsageLine]>,
) -> CostReport {
    let mut by_day: BTreeMap<NaiveDate, Money> = BTreeMap::new();
    let mut by_key: BTreeMap<(NaiveDate, String), (Money, Tokens)> = BTreeMap::new();
    let mut total = Money::ZERO;
    for line in costs {
        total = total.plus(line.amount);
        let day = by_day.entry(line.day).or_default();
        *day = day.plus(line.amount);
        let entry = by_key.entry((line.day, line.label.clone())).or_default();
        entry.0 = entry.0.plus(line.amount);
    }
    let mut all_tokens = Tokens::default();
    for line in usage.unwrap_or_default() {
        all_tokens = all_tokens.plus(line.tokens);
        let entry = by_key.entry((line.day, line.model.clone())).or_default();
        entry.1 = entry.1.plus(line.tokens);
    }
    let mut by_model: BTreeMap<String, (Money, Tokens)> = BTreeMap::new();
    for ((_, name), (amount, tokens)) in &by_key {
        let entry = by_model.entry(name.clone()).or_default();
        *entry = (entry.0.plus(*amount), entry.1.plus(*tokens));
    }
    let mut models: Vec<ModelCost> = by_model
        .into_iter()
        .map(|(name, (amount, tokens))| ModelCost {
            share: share(amount.permille_of(total)),
            name,
            amount,
            tokens: usage.map(|_| tokens),
        })
        .collect();
    models.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.name.cmp(&b.name)));
    let days = every_day(period)
        .map(|day| DayCost {
            date: day.to_string(),
            amount: by_day.get(&day).copied().unwrap_or_default(),
        })
        .collect();
    let detail = usage.map(|_| {
        by_key
            .iter()
            .map(|((day, model), (amount, tokens))| DetailRow {
                date: day.to_string(),
                model: model.clone(),
                amount: *amount,
                tokens: *tokens,
                cache_hit_share: share(tokens.cache_hit_permille()),
            })
            .collect()
    });
    CostReport {
        period: PeriodJson {
            first: period.first.to_string(),
            last: period.last.to_string(),
            days: period.days(),
            basis: since.unwrap_or("month-to-date").to_string(),
        },
        currency: "USD",
        total,
        days,
        models,
        detail,
        tokens: usage.map(|_| all_tokens),
        cache_hit_share: usage.map(|_| share(all_tokens.cache_hit_permille())),
        priority_tier_included: false,
        admin_key: AdminKeyJson {
            source: "",
            fingerprint: String::new(),
        },
        style: None,
        admin_named: String::new(),
    }
}

fn every_day(period: &Period) -> impl Iterator<Item = NaiveDate> + '_ {
    period.first.iter_days().take_while(|d| *d <= period.last)
}

/// Per mille as a percentage with one decimal, for JSON.
fn share(permille: u32) -> f64 {
    f64::from(permille) / 10.0
}

impl Report for CostReport {
    fn text(&self) -> String {
        let style = self.style.unwrap_or(Style {
            width: 80,
            unicode: true,
        });
        let basis = match self.period.basis.as_str() {
            "month-to-date" => "month to date".to_string(),
            since => format!("since {since}"),
        };
        let mut out = format!(
            "API cost, {} {} {} (UTC days, {basis}): {}\n\n",
            self.period.first,
            style.dash(),
            self.period.last,
            self.total.display()
        );
        self.days_chart(&mut out, style);
        self.models_table(&mut out, style);
        if let Some(detail) = &self.detail {
            out.push_str(&detail_table(detail, style));
            if let (Some(tokens), Some(hits)) = (&self.tokens, self.cache_hit_share) {
                let _ = writeln!(
                    out,
                    "\nTokens: {} input ({} from the cache, {}), {} output, {} web searches.",
                    count(tokens.input()),
                    count(tokens.cache_read),
                    percent((hits * 10.0) as u32),
                    count(tokens.output),
                    count(tokens.web_searches)
                );
            }
        }
        let _ = writeln!(out, "\n{PRIORITY_TIER_NOTE}");
        let _ = writeln!(out, "Read with {}.", self.admin_named);
        out
    }
}

impl CostReport {
    /// A bar per day, scaled to the costliest day.
    fn days_chart(&self, out: &mut String, style: Style) {
        let top = self.days.iter().map(|d| d.amount).max().unwrap_or_default();
        let mut table = Table::new(&["Day", "", "Cost"], &[false, false, true]);
        for day in &self.days {
            let permille = day.amount.permille_of(top);
            table.row(vec![
                day.date.clone(),
                style.bar(permille, style.bar_cells()),
                day.amount.display(),
            ]);
        }
        out.push_str(&table.render(style.width, style.unicode));
    }

    /// The costliest models; the rest summed in one line.
    fn models_table(&self, out: &mut String, style: Style) {
        if self.models.is_empty() {
            out.push_str("\nNo costs in this period.\n");
            return;
        }
        let mut table = Table::new(&["Model", "Cost", "Share"], &[false, true, true]);
        let shown = if self.detail.is_some() {
            self.models.len()
        } else {
            TOP_MODELS
        };
        for model in self.models.iter().take(shown) {
            table.row(vec![
                model.name.clone(),
                model.amount.display(),
                percent((model.share * 10.0) as u32),
            ]);
        }
        let rest: Vec<&ModelCost> = self.models.iter().skip(shown).collect();
        if !rest.is_empty() {
            let sum = rest.iter().fold(Money::ZERO, |acc, m| acc.plus(m.amount));
            table.row(vec![
                format!("{} more", rest.len()),
                sum.display(),
                percent(sum.permille_of(self.total)),
            ]);
        }
        out.push_str("\nBy model\n");
        out.push_str(&table.render(style.width, style.unicode));
    }
}

/// Per model and day: cost and tokens. Wide terminals (≥ 110 columns) get every token
/// kind; narrow ones input, output and the cache hit share.
fn detail_table(rows: &[DetailRow], style: Style) -> String {
    let wide = style.width >= 110;
    let mut table = if wide {
        Table::new(
            &[
                "Model",
                "Day",
                "Cost",
                "Uncached",
                "Cache 5m",
                "Cache 1h",
                "Cache read",
                "Output",
                "Searches",
            ],
            &[false, false, true, true, true, true, true, true, true],
        )
    } else {
        Table::new(
            &["Model", "Day", "Cost", "Input", "Output", "Cache hits"],
            &[false, false, true, true, true, true],
        )
    };
    for row in rows {
        let t = &row.tokens;
        let mut cells = vec![row.model.clone(), row.date.clone(), row.amount.display()];
        if wide {
            cells.extend(
                [
                    t.uncached_input,
                    t.cache_creation_5m,
                    t.cache_creation_1h,
                    t.cache_read,
                    t.output,
                    t.web_searches,
                ]
                .map(count),
            );
        } else {
            cells.extend([
                count(t.input()),
                count(t.output),
                percent(t.cache_hit_permille()),
            ]);
        }
        table.row(cells);
    }
    format!(
        "\nBy model and day\n{}",
        table.render(style.width, style.unicode)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_the_exact_sum_of_rows_a_float_would_get_wrong() {
        let period = Period::since(
            "2026-11-01",
            crate::time::UnixTime::from_secs(1_795_953_600),
        )
        .unwrap();
        // 1,005 items of a tenth of a cent: exactly 100.5 cents, $1.01 once rounded.
        let rows: Vec<CostLine> = (0..1005)
            .map(|i| CostLine {
                day: period.first,
                label: if i % 2 == 0 { "a" } else { "b" }.into(),
                amount: Money::from_cents_str("0.1").unwrap(),
            })
            .collect();
        let report = build(&period, None, &rows, None);
        assert_eq!(report.total.dollars_exact(), "1.005");
        assert_eq!(report.total.display(), "$1.01");
        let float: f64 = rows.iter().map(|_| 0.1f64).sum();
        assert_eq!(
            float.round(),
            100.0,
            "the float sum loses the half cent: {float}"
        );
        let by_model = report
            .models
            .iter()
            .fold(Money::ZERO, |acc, m| acc.plus(m.amount));
        assert_eq!(by_model, report.total);
        assert_eq!(report.days.len(), 29);
    }
}
