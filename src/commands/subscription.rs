//! `--subscription-status`: how the credential in force is billed, and for a Claude login
//! its plan, features and limits from `subscription.endpoint` (a fresh cached answer
//! stands in for a new one). API keys are billed per use (this month's cost when an Admin
//! key is there); Bedrock and Vertex AI bill through the cloud account.

use crate::billing::chart::{age, local_time, until, Style};
use crate::billing::money::{count, Money};
use crate::billing::period::Period;
use crate::billing::subscription::{self, Subscription, DEFAULT_MANAGE_URL};
use crate::commands::upgrade::Login;
use crate::config::schema::Provider;
use crate::context::Context;
use crate::error::AuthError;
use crate::output::{Outcome, Report};
use crate::providers::admin_api;
use crate::resolve;
use crate::time::UnixTime;
use serde::Serialize;
use std::fmt::Write;

/// `--subscription-status`'s result.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `subscription`, `api`, `bedrock` or `vertex`.
    pub billing: &'static str,
    /// Where the plan shown comes from: `endpoint`, `cache`, `config`, or `none`.
    pub source: &'static str,
    pub endpoint: Option<String>,
    pub subscription: Option<Subscription>,
    /// When the plan shown was fetched (RFC 3339), and how long ago, for `cache`.
    pub fetched_at: Option<String>,
    pub age_seconds: Option<u64>,
    /// API keys with an Admin key: this month's cost so far, exact dollars.
    pub month_to_date: Option<Money>,
    /// Where the user reads or changes the bill.
    pub manage_url: String,
    /// What could not be done and how to do it (no endpoint, an Admin API failure).
    pub notes: Vec<String>,
    #[serde(skip)]
    pub style: Option<Style>,
    #[serde(skip)]
    pub now: UnixTime,
}

/// Builds the status for the credential in force.
///
/// # Errors
/// `not_authenticated` without a credential; for a login with an endpoint, the endpoint's
/// and the refresh's errors.
pub async fn status(ctx: &Context) -> Result<Outcome, AuthError> {
    let mut report = Status {
        billing: "subscription",
        source: "none",
        endpoint: None,
        subscription: None,
        fetched_at: None,
        age_seconds: None,
        month_to_date: None,
        manage_url: manage_url(ctx)?,
        notes: Vec::new(),
        style: Some(Style::of(ctx)),
        now: ctx.clock.now(),
    };
    match crate::providers::active(ctx) {
        Provider::Bedrock => return Ok(cloud(report, "bedrock")),
        Provider::Vertex => return Ok(cloud(report, "vertex")),
        Provider::Anthropic => {}
    }
    let resolution = resolve::credentials(ctx);
    let Some(active) = resolution.active() else {
        return Err(resolution.into_error(
            ctx,
            resolve::no_credential(ctx, ": there is no plan or bill to show"),
        ));
    };
    if active.source.is_api_key() {
        report.billing = "api";
        api_key_cost(ctx, &mut report).await;
        return Ok(Outcome::report(&report));
    }
    // A stored session, or `CLAUDE_CODE_OAUTH_TOKEN`: a Claude login's access token, used
    // as is for the endpoint (as `/upgrade --claude-max` and `--manage-subscription` do).
    let login = match active.secret() {
        Some(token) if matches!(active.source, resolve::Source::OauthEnv(_)) => {
            Login::Token(crate::secret::AccessToken::new(token.expose().clone()))
        }
        _ => Login::Session(resolve::oauth_provider_of(active).to_string()),
    };
    plan_of_login(ctx, &login, &mut report).await?;
    Ok(Outcome::report(&report))
}

fn manage_url(ctx: &Context) -> Result<String, AuthError> {
    subscription::page(
        ctx.loaded.config.subscription.manage_url.as_deref(),
        DEFAULT_MANAGE_URL,
        "subscription.manageUrl",
    )
}

fn cloud(mut report: Status, billing: &'static str) -> Outcome {
    report.billing = billing;
    report.manage_url = match billing {
        "bedrock" => "https://console.aws.amazon.com/billing/home".to_string(),
        _ => "https://console.cloud.google.com/billing".to_string(),
    };
    Outcome::report(&report)
}

/// API keys have no plan: with an Admin key, the month's cost so far.
async fn api_key_cost(ctx: &Context, report: &mut Status) {
    report.manage_url = "https://console.anthropic.com/settings/billing".to_string();
    let key = match admin_api::find(ctx) {
        Ok(Some(key)) => key,
        Ok(None) => {
            report.notes.push(format!(
                "with an Admin key (ANTHROPIC_ADMIN_API_KEY, or stored with `claude --set-api-key`) this shows the month's cost; create one at {}",
                admin_api::ADMIN_KEYS_URL
            ));
            return;
        }
        Err(err) => {
            report.notes.push(format!(
                "the stored Admin key cannot be read: {}",
                err.message()
            ));
            return;
        }
    };
    let period = Period::month_to_date(report.now);
    match crate::billing::admin_reports::costs(ctx, &key, &period).await {
        Ok(lines) => {
            report.month_to_date =
                Some(lines.iter().fold(Money::ZERO, |acc, l| acc.plus(l.amount)));
        }
        Err(err) => {
            ctx.warn(&format!(
                "this month's cost cannot be shown: {}",
                err.message()
            ));
            report.notes.push(format!(
                "this month's cost cannot be shown: {}{}",
                err.message(),
                err.hint().map(|h| format!(" ({h})")).unwrap_or_default()
            ));
        }
    }
}

/// A login's plan: the endpoint (or its fresh cached answer); without an endpoint, the
/// last cached answer or the config's snapshot, labelled, and how to configure one.
async fn plan_of_login(ctx: &Context, login: &Login, report: &mut Status) -> Result<(), AuthError> {
    let now = report.now;
    let cached = subscription::cached(ctx);
    let Some(endpoint) = subscription::endpoint(ctx)? else {
        if let Some(cached) = cached {
            report.source = "cache";
            report.fetched_at = Some(cached.fetched_at.rfc3339());
            report.age_seconds = Some(now.saturating_since(cached.fetched_at).as_secs());
            report.subscription = Some(cached.subscription);
        } else if let Some(snapshot) = from_config(ctx) {
            report.source = "config";
            report.subscription = Some(snapshot);
        }
        report.notes.push(format!(
            "Anthropic documents no subscription API for other programs, so none is called: see your plan at {}, or set `subscription.endpoint` in the config to a service that answers it",
            report.manage_url
        ));
        return Ok(());
    };
    report.endpoint = Some(endpoint.to_string());
    if let Some(cached) = cached.filter(|c| c.fresh(ctx, &endpoint, now)) {
        report.source = "cache";
        report.fetched_at = Some(cached.fetched_at.rfc3339());
        report.age_seconds = Some(now.saturating_since(cached.fetched_at).as_secs());
        report.subscription = Some(cached.subscription);
        return Ok(());
    }
    let found = login.ask(ctx, &endpoint).await?;
    report.source = "endpoint";
    report.fetched_at = Some(now.rfc3339());
    report.age_seconds = Some(0);
    report.subscription = Some(found);
    Ok(())
}

/// The seed's `subscription` block, when the user wrote one.
fn from_config(ctx: &Context) -> Option<Subscription> {
    let block = &ctx.loaded.config.subscription;
    let mut doc = serde_json::json!({
        "plan": block.plan, "status": block.status, "features": block.features,
    });
    if let Some(usage) = &block.usage {
        doc["usage"] = serde_json::json!({
            "tokens": usage.tokens, "limit": usage.limit, "resetDate": usage.reset_date,
        });
    }
    subscription::parse(&doc).ok()
}

impl Report for Status {
    fn text(&self) -> String {
        let style = self.style.unwrap_or(Style {
            width: 80,
            unicode: true,
        });
        let mut out = String::new();
        match self.billing {
            "bedrock" => {
                let _ = writeln!(out, "Billing: Amazon Bedrock, through your AWS account (no Claude plan applies).\n  Costs: AWS Billing and Cost Management ({}), or `aws ce get-cost-and-usage` filtered to Amazon Bedrock.", self.manage_url);
            }
            "vertex" => {
                let _ = writeln!(out, "Billing: Google Vertex AI, through your Google Cloud billing account (no Claude plan applies).\n  Costs: the Cloud console's Billing reports ({}), filtered to Vertex AI.", self.manage_url);
            }
            "api" => {
                let _ = writeln!(out, "Billing: API usage, billed per use to the key's organization (API keys have no plan).");
                if let Some(total) = self.month_to_date {
                    let _ = writeln!(
                        out,
                        "  This month so far: {} (`claude /cost` for the detail).",
                        total.display()
                    );
                }
                let _ = writeln!(out, "  Billing page: {}", self.manage_url);
            }
            _ => self.plan_text(&mut out, style),
        }
        for note in &self.notes {
            let _ = writeln!(out, "Note: {note}.");
        }
        out
    }
}

impl Status {
    fn plan_text(&self, out: &mut String, style: Style) {
        let Some(sub) = &self.subscription else {
            let _ = writeln!(out, "Billing: Claude subscription (plan unknown here).");
            return;
        };
        let from = match (self.source, &self.endpoint) {
            ("endpoint", Some(ep)) => format!("from {ep}, just now"),
            ("cache", _) => format!("cached {} ago", age(self.now, self.fetched_unix())),
            ("config", _) => "as written in the config; not checked".to_string(),
            _ => String::new(),
        };
        let _ = writeln!(out, "Plan: {} ({from})", sub.headline());
        if !sub.features.is_empty() {
            let _ = writeln!(out, "Features: {}", sub.features.join(", "));
        }
        let limits = limits_table(sub, style, self.now);
        if !limits.is_empty() {
            let _ = write!(out, "\nLimits\n{limits}");
        }
        let _ = writeln!(out, "\nManage: {}", self.manage_url);
    }

    fn fetched_unix(&self) -> UnixTime {
        self.fetched_at
            .as_deref()
            .and_then(UnixTime::parse_rfc3339)
            .unwrap_or(self.now)
    }
}

/// One bar per limit: the token count, then each window, with when it resets: on the
/// same line from 100 columns, on the next one below.
pub fn limits_table(sub: &Subscription, style: Style, now: UnixTime) -> String {
    let resets = |at: Option<&str>| match at.and_then(UnixTime::parse_rfc3339) {
        Some(at) if at > now => format!("resets in {} ({})", until(now, at), local_time(at)),
        Some(at) => format!("reset {} (passed)", local_time(at)),
        None => String::new(),
    };
    // (label, figures, per mille, reset)
    let mut rows: Vec<(String, String, u32, String)> = Vec::new();
    if let Some(usage) = &sub.usage {
        let permille = if usage.limit == 0 {
            1000
        } else {
            u32::try_from(u128::from(usage.tokens) * 1000 / u128::from(usage.limit)).unwrap_or(1000)
        };
        rows.push((
            "tokens".into(),
            format!("{} / {} tokens", count(usage.tokens), count(usage.limit)),
            permille,
            resets(usage.resets_at.as_deref()),
        ));
    }
    for window in &sub.windows {
        rows.push((
            window_name(&window.name),
            String::new(),
            (window.utilization * 10.0).round() as u32,
            resets(window.resets_at.as_deref()),
        ));
    }
    let wide = style.width >= 100;
    let cells = if wide { 24 } else { 12 };
    let label_w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let used_w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, used, permille, reset) in rows {
        let mut line = format!("  {label:<label_w$}  ");
        if used_w > 0 {
            let _ = write!(line, "{used:>used_w$} ");
        }
        let _ = write!(
            line,
            "{} {:>3} %",
            style.bar(permille, cells),
            permille.min(1000) / 10
        );
        match (reset.is_empty(), wide) {
            (true, _) => {}
            (false, true) => {
                let _ = write!(line, "  {reset}");
            }
            (false, false) => {
                let _ = write!(line, "\n  {:label_w$}  {reset}", "");
            }
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

/// `five_hour` → `5-hour window`; other names as sent.
fn window_name(name: &str) -> String {
    match name {
        "five_hour" => "5-hour window".into(),
        "seven_day" => "7-day window".into(),
        "seven_day_opus" => "7-day, Opus".into(),
        "seven_day_sonnet" => "7-day, Sonnet".into(),
        other => other.replace('_', " "),
    }
}
