//! A Claude plan as the configured `subscription.endpoint` reports it, and the cache of the
//! last answer. Anthropic documents no subscription API for third-party clients, so the
//! endpoint is the user's setting (no default is presented as Anthropic's); its answer is
//! the seed's `subscription` document (`plan`, `status`, `features`, `usage.tokens` /
//! `limit` / `resetDate`) and/or windowed limits (`five_hour`, `seven_day`, … with
//! `utilization` 0–100 and `resets_at`). The cache (`subscription.json`, 0600) lets a
//! repeated call and the offline `--auth-status` show the plan with its age.

use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::http::{self, Call, Retry};
use crate::redact::SafeUrl;
use crate::secret::AccessToken;
use crate::terminal_text::single_line;
use crate::time::UnixTime;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The pages a user would visit: where plans are compared, and where billing is managed.
pub const DEFAULT_UPGRADE_URL: &str = "https://claude.ai/upgrade";
pub const DEFAULT_MANAGE_URL: &str = "https://claude.ai/settings/billing";
/// Seconds an answer stays fresh unless `subscription.cacheTtl` says otherwise.
const DEFAULT_TTL: u64 = 60;
const CACHE_FILE: &str = "subscription.json";
/// Bounds on what a server may make us keep and print.
const MAX_FEATURES: usize = 50;
const MAX_WINDOWS: usize = 16;
const MAX_TEXT: usize = 64;

/// A plan, its features and its limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub plan: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub features: Vec<String>,
    pub usage: Option<TokenUsage>,
    #[serde(default)]
    pub windows: Vec<Window>,
}

/// `usage`: tokens used of a limit, and when the count resets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    pub tokens: u64,
    pub limit: u64,
    /// RFC 3339, UTC.
    pub resets_at: Option<String>,
}

/// A windowed limit: how much of it is used, in percent, and when it resets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub name: String,
    pub utilization: f64,
    /// RFC 3339, UTC.
    pub resets_at: Option<String>,
}

impl Subscription {
    /// What a plan change is: another plan or another status.
    pub fn same_plan(&self, other: &Subscription) -> bool {
        self.plan == other.plan && self.status == other.status
    }

    /// `claude-max (active)`, or what is known of it.
    pub fn headline(&self) -> String {
        match (&self.plan, &self.status) {
            (Some(plan), Some(status)) => format!("{plan} ({status})"),
            (Some(plan), None) => plan.clone(),
            (None, Some(status)) => format!("unnamed plan ({status})"),
            (None, None) => "not named".to_string(),
        }
    }
}

/// Reads an answer: the seed's document (with or without its `subscription` wrapper) and
/// any windowed limits beside it.
///
/// # Errors
/// Why it is not such a document (never its text).
pub fn parse(doc: &Value) -> Result<Subscription, &'static str> {
    let root = doc
        .get("subscription")
        .filter(|v| v.is_object())
        .unwrap_or(doc);
    let obj = root.as_object().ok_or("not a JSON object")?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(clean);
    let features = obj
        .get("features")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .take(MAX_FEATURES)
                .map(clean)
                .collect()
        })
        .unwrap_or_default();
    let usage = obj.get("usage").and_then(|u| {
        Some(TokenUsage {
            tokens: u.get("tokens")?.as_u64()?,
            limit: u.get("limit")?.as_u64()?,
            resets_at: ["resetDate", "reset_date", "resets_at"]
                .iter()
                .find_map(|k| time(u.get(*k))),
        })
    });
    let mut windows = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for source in [root, doc] {
        for (name, value) in source.as_object().into_iter().flatten() {
            let Some(utilization) = value.get("utilization").and_then(Value::as_f64) else {
                continue;
            };
            if windows.len() < MAX_WINDOWS && seen.insert(name.clone()) {
                windows.push(Window {
                    name: clean(name),
                    utilization: if utilization.is_finite() {
                        utilization.clamp(0.0, 100.0)
                    } else {
                        0.0
                    },
                    resets_at: time(value.get("resets_at")),
                });
            }
        }
    }
    let found = Subscription {
        plan: text(obj.get("plan")),
        status: text(obj.get("status")),
        features,
        usage,
        windows,
    };
    if found.plan.is_none() && found.usage.is_none() && found.windows.is_empty() {
        return Err("it names no plan, usage or limit");
    }
    Ok(found)
}

/// A server's string as one printable, bounded line.
fn clean(text: &str) -> String {
    single_line(&text.chars().take(MAX_TEXT).collect::<String>())
}

/// An RFC 3339 time, normalised to UTC (`…Z`); anything else is dropped.
fn time(value: Option<&Value>) -> Option<String> {
    UnixTime::parse_rfc3339(value?.as_str()?).map(UnixTime::rfc3339)
}

/// The configured endpoint, checked (https, or http to loopback); `None` when unset.
///
/// # Errors
/// `config_error` for an unusable URL.
pub fn endpoint(ctx: &Context) -> Result<Option<SafeUrl>, AuthError> {
    let Some(text) = ctx.loaded.config.subscription.endpoint.as_deref() else {
        return Ok(None);
    };
    let url = reqwest::Url::parse(text).map_err(|e| {
        AuthError::config("`subscription.endpoint` is not a URL")
            .caused_by(e)
            .with_hint("set it to the https:// address that answers your plan, or remove it")
    })?;
    http::require_secure(&url, "`subscription.endpoint`")?;
    Ok(Some(url.into()))
}

/// A page to open: `subscription.upgradeUrl` / `manageUrl`, else the default, https only.
///
/// # Errors
/// `config_error` for a URL that is not https (or http to loopback).
pub fn page(configured: Option<&str>, default: &str, setting: &str) -> Result<String, AuthError> {
    let text = configured.unwrap_or(default);
    let url = reqwest::Url::parse(text).map_err(|e| {
        AuthError::config(format!("`{setting}` is not a URL"))
            .caused_by(e)
            .with_hint(format!(
                "set it to an https:// page, or remove it to use {default}"
            ))
    })?;
    http::require_secure(&url, &format!("`{setting}`"))?;
    Ok(url.to_string())
}

/// Asks `url` for the plan with the session's access token.
///
/// # Errors
/// `expired_token` (401), `insufficient_permissions` (403), `config_error` (404: a wrong
/// endpoint), `provider_error` for an answer that is not a plan; transport errors.
pub async fn fetch(
    ctx: &Context,
    url: &SafeUrl,
    token: &AccessToken,
) -> Result<Subscription, AuthError> {
    let bearer = crate::secret::bearer_header(token.secret())
        .ok_or_else(|| AuthError::internal("the access token cannot be sent in a header"))?;
    let headers = [
        (reqwest::header::AUTHORIZATION, bearer),
        (
            HeaderName::from_static("accept"),
            HeaderValue::from_static("application/json"),
        ),
    ];
    let call = Call {
        url,
        setting: "`subscription.endpoint`",
        service: "the subscription endpoint",
        budget: ctx.budget(),
        retry: Retry::Transient,
    };
    let reply = http::get(ctx.http()?, &call, &headers).await?;
    match reply.status {
        StatusCode::OK => {
            let doc: Value =
                serde_json::from_slice(&reply.body).map_err(|_| not_a_plan(url, "not JSON"))?;
            parse(&doc).map_err(|why| not_a_plan(url, why))
        }
        StatusCode::UNAUTHORIZED => Err(AuthError::new(
            ErrorCode::ExpiredToken,
            format!("{url} refused the login's access token (HTTP 401)"),
        )
        .with_hint("run `claude --login` again")),
        StatusCode::FORBIDDEN => Err(AuthError::insufficient_permissions(format!(
            "{url} does not let this login read its plan (HTTP 403)"
        ))
        .with_hint("log in with the account that holds the subscription: `claude --login`")),
        StatusCode::NOT_FOUND => Err(AuthError::config(format!(
            "{url} answered HTTP 404: it is not a subscription endpoint"
        ))
        .with_hint("check `subscription.endpoint` in the config")),
        status => Err(
            AuthError::provider(format!("{url} answered HTTP {}", status.as_u16()))
                .with_hint("check `subscription.endpoint`; if it is right, try again later"),
        ),
    }
}

fn not_a_plan(url: &SafeUrl, why: &str) -> AuthError {
    AuthError::provider(format!("{url} did not answer with a plan: {why}"))
        .with_hint("`subscription.endpoint` should answer JSON with `plan`, `status`, `features` and `usage`, or windowed limits with `utilization`; check the setting")
}

/// The last answer, as kept on disk.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cached {
    pub fetched_at: UnixTime,
    /// The endpoint that answered (an answer from another endpoint is not used as fresh).
    pub endpoint: String,
    pub subscription: Subscription,
}

impl Cached {
    /// Whether it may stand in for a new answer from `endpoint` at `now`.
    pub fn fresh(&self, ctx: &Context, endpoint: &SafeUrl, now: UnixTime) -> bool {
        let ttl = ctx
            .loaded
            .config
            .subscription
            .cache_ttl
            .unwrap_or(DEFAULT_TTL);
        self.endpoint == endpoint.to_string()
            && now >= self.fetched_at
            && now.saturating_since(self.fetched_at).as_secs() <= ttl
    }
}

/// The cached answer, if one is there and readable. Offline: a file read, nothing else; a
/// damaged or foreign file is ignored (it is only a cache), said with `-v`.
pub fn cached(ctx: &Context) -> Option<Cached> {
    let path = ctx.state_dir.join(CACHE_FILE);
    match crate::storage::atomic::read_private(&path) {
        Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
            Ok(cached) => Some(cached),
            Err(_) => {
                ctx.detail("the subscription cache cannot be read; ignoring it");
                None
            }
        },
        Ok(None) => None,
        Err(err) => {
            ctx.detail(&format!(
                "the subscription cache is not used: {}",
                err.message()
            ));
            None
        }
    }
}

/// Keeps `subscription` as the last answer from `endpoint` (0600, atomic, under the lock).
/// A failure only loses the cache: it is said, never fatal.
pub fn remember(ctx: &Context, endpoint: &SafeUrl, subscription: &Subscription) {
    let cached = Cached {
        fetched_at: ctx.clock.now(),
        endpoint: endpoint.to_string(),
        subscription: subscription.clone(),
    };
    let written = serde_json::to_vec_pretty(&cached)
        .map_err(|e| AuthError::internal("cannot encode the subscription cache").caused_by(e))
        .and_then(|bytes| {
            crate::storage::atomic::ensure_private_dir(&ctx.state_dir)?;
            let lock = ctx.lock()?;
            crate::storage::atomic::write_atomic(&ctx.state_dir.join(CACHE_FILE), &bytes, &lock)
        });
    if let Err(err) = written {
        ctx.warn(&format!("the plan could not be cached: {}", err.message()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seed_document_and_windowed_limits_are_read() {
        let seed = json!({"subscription": {"plan": "claude-max", "status": "active",
            "features": ["opus-access", "priority-bandwidth"],
            "usage": {"tokens": 45000, "limit": 100000, "resetDate": "2024-02-01T00:00:00Z"}}});
        let s = parse(&seed).unwrap();
        assert_eq!(s.headline(), "claude-max (active)");
        assert_eq!(
            s.usage.as_ref().unwrap().resets_at.as_deref(),
            Some("2024-02-01T00:00:00Z")
        );
        let windowed = json!({"five_hour": {"utilization": 45.5, "resets_at": "2026-11-30T14:10:00+00:00"},
            "seven_day": {"utilization": 250, "resets_at": null}, "other": 3});
        let w = parse(&windowed).unwrap();
        assert_eq!(w.windows.len(), 2);
        assert_eq!(w.windows[0].name, "five_hour");
        assert_eq!(
            w.windows[0].resets_at.as_deref(),
            Some("2026-11-30T14:10:00Z")
        );
        assert_eq!(w.windows[1].utilization, 100.0, "clamped");
        assert!(parse(&json!({"hello": "world"})).is_err());
        assert!(parse(&json!([1, 2])).is_err());
    }

    #[test]
    fn server_text_is_made_one_printable_line() {
        let s = parse(&json!({"plan": "max\u{1b}[2J\nEVIL"})).unwrap();
        assert!(!s.plan.unwrap().chars().any(char::is_control));
    }
}
