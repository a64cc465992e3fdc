//! The Anthropic Admin API, shared by key rotation (`policy::rotation`) and the usage and
//! cost reports (`billing`): which Admin key is in force (`ANTHROPIC_ADMIN_API_KEY`, else
//! the one stored with `--set-api-key`), its headers, the `Call` every request makes through
//! `http::send`, and what a status means. Admin keys read and manage an organization; they
//! are never the key in force for the Messages API.

use crate::context::Context;
use crate::envvars;
use crate::error::AuthError;
use crate::http::{self, Call, Retry};
use crate::providers::anthropic::{self, API_VERSION};
use crate::redact::SafeUrl;
use crate::secret::{Fingerprint, Secret};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::StatusCode;
use serde_json::Value;

/// The store item of an Admin key given to `--set-api-key`: apart from `api-key`, so it
/// never becomes the key in force.
pub const ADMIN_KEY_ITEM: &str = "admin-api-key";
/// Where organization admins create Admin keys.
pub const ADMIN_KEYS_URL: &str = "https://console.anthropic.com/settings/admin-keys";
/// Who may create one, for messages.
pub const ROLE_NEEDED: &str =
    "an Admin key (`sk-ant-admin…`) created by a member with the admin role of the organization";

/// Where the Admin key in force comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminSource {
    Env,
    Stored,
}

/// An Admin key and where it came from. The secret is only exposed beside the header write.
pub struct AdminKey {
    secret: Secret<String>,
    pub source: AdminSource,
}

impl AdminKey {
    /// A key read from `source`.
    pub fn new(secret: Secret<String>, source: AdminSource) -> AdminKey {
        AdminKey { secret, source }
    }

    /// `sk-ant-admin01-…WXYZ`.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.secret.expose())
    }

    /// The key, for the store.
    pub fn secret(&self) -> &Secret<String> {
        &self.secret
    }

    /// How messages name it: "ANTHROPIC_ADMIN_API_KEY (sk-ant-admin01-…WXYZ)".
    pub fn named(&self) -> String {
        let fp = self.fingerprint();
        match self.source {
            AdminSource::Env => format!("{} ({fp})", envvars::ANTHROPIC_ADMIN_API_KEY),
            AdminSource::Stored => format!("the stored Admin key ({fp})"),
        }
    }

    /// `env:ANTHROPIC_ADMIN_API_KEY` or `stored`, for JSON.
    pub fn source_id(&self) -> &'static str {
        match self.source {
            AdminSource::Env => "env:ANTHROPIC_ADMIN_API_KEY",
            AdminSource::Stored => "stored",
        }
    }

    /// `x-api-key` (marked sensitive, so traces redact it) and `anthropic-version`.
    ///
    /// # Errors
    /// `config_error` when the key is not an Admin key or cannot be a header value.
    pub fn headers(&self) -> Result<[(HeaderName, HeaderValue); 2], AuthError> {
        if !is_admin_key(self.secret.expose()) {
            return Err(
                AuthError::config(format!("{} is not an Admin API key", self.named()))
                    .with_hint(format!("use {ROLE_NEEDED}; create one at {ADMIN_KEYS_URL}")),
            );
        }
        let mut value = HeaderValue::from_str(self.secret.expose().trim()).map_err(|_| {
            AuthError::config(format!("{} cannot be sent in an HTTP header", self.named()))
        })?;
        value.set_sensitive(true);
        Ok([
            (HeaderName::from_static("x-api-key"), value),
            (
                HeaderName::from_static("anthropic-version"),
                HeaderValue::from_static(API_VERSION),
            ),
        ])
    }
}

/// Whether `text` has the Admin key prefix.
pub fn is_admin_key(text: &str) -> bool {
    text.trim().starts_with("sk-ant-admin")
}

/// Whether an Admin key is available, without unlocking anything (the store's index only).
pub fn is_configured(ctx: &Context) -> bool {
    env_key(ctx).is_some()
        || ctx
            .store()
            .index()
            .is_ok_and(|index| index.items.contains_key(ADMIN_KEY_ITEM))
}

fn env_key(ctx: &Context) -> Option<&str> {
    ctx.env
        .raw(envvars::ANTHROPIC_ADMIN_API_KEY)
        .filter(|v| !v.is_empty())
}

/// The Admin key in force: `ANTHROPIC_ADMIN_API_KEY`, else the stored one; `None` without.
///
/// # Errors
/// Storage errors while reading the stored key.
pub fn find(ctx: &Context) -> Result<Option<AdminKey>, AuthError> {
    if let Some(value) = env_key(ctx) {
        return Ok(Some(AdminKey::new(
            Secret::new(value.to_string()),
            AdminSource::Env,
        )));
    }
    let store = ctx.store();
    if !store.index()?.items.contains_key(ADMIN_KEY_ITEM) {
        return Ok(None);
    }
    Ok(store
        .get(ADMIN_KEY_ITEM)?
        .map(|secret| AdminKey::new(secret, AdminSource::Stored)))
}

/// `not_authenticated` for a command that needs an Admin key and has none: what one is,
/// where to create it, and that API keys cannot read billing.
pub fn missing(what: &str) -> AuthError {
    AuthError::not_authenticated(format!(
        "{what} needs an Admin API key; API keys and logins cannot read an organization's billing"
    ))
    .with_hint(format!(
        "create {ROLE_NEEDED} at {ADMIN_KEYS_URL}, then `export ANTHROPIC_ADMIN_API_KEY=…` or store it with `claude --set-api-key`"
    ))
}

/// `{ANTHROPIC_ADMIN_BASE_URL}{path}`, else `https://api.anthropic.com{path}`. Never
/// `ANTHROPIC_BASE_URL`: that usually names an LLM gateway, which must not receive an
/// org-admin key; when it is set alone, `-v` says where the Admin calls go instead.
///
/// # Errors
/// `config_error` for an unusable base URL.
pub fn url(ctx: &Context, path: &str) -> Result<SafeUrl, AuthError> {
    static NOTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if ctx.env.get(envvars::ANTHROPIC_ADMIN_BASE_URL).is_none()
        && ctx.env.get(envvars::ANTHROPIC_BASE_URL).is_some()
        && !NOTED.swap(true, std::sync::atomic::Ordering::Relaxed)
    {
        ctx.detail(&format!(
            "ANTHROPIC_BASE_URL is set but the Admin key is never sent there: Admin API calls go to {} (set ANTHROPIC_ADMIN_BASE_URL to change that)",
            anthropic::DEFAULT_BASE_URL
        ));
    }
    anthropic::admin_api_url(&ctx.env, path)
}

/// The one `Call` of every Admin API request: reads and status updates are idempotent, so
/// 5xx and 429 (after `Retry-After`) are retried within the budget.
pub fn call<'a>(ctx: &Context, url: &'a SafeUrl) -> Call<'a> {
    Call {
        url,
        setting: "ANTHROPIC_ADMIN_BASE_URL",
        service: "the Anthropic Admin API",
        budget: ctx.budget(),
        retry: Retry::Transient,
    }
}

/// GETs `url` with `key` and judges the answer (see [`judge`]).
///
/// # Errors
/// As [`http::send`] and [`judge`].
pub async fn get(
    ctx: &Context,
    key: &AdminKey,
    url: &SafeUrl,
    doing: &str,
) -> Result<Value, AuthError> {
    let headers = key.headers()?;
    let reply = http::get(ctx.http()?, &call(ctx, url), &headers).await?;
    judge(&reply, url, key, doing)
}

/// Checks that `key` is an Admin key the API accepts: the cheapest Admin read, one API key
/// of the organization (`GET /v1/organizations/api_keys?limit=1`).
///
/// # Errors
/// As [`get`].
pub async fn check(ctx: &Context, key: &AdminKey) -> Result<(), AuthError> {
    let mut url = url(ctx, "/v1/organizations/api_keys")?.into_url();
    url.query_pairs_mut().append_pair("limit", "1");
    get(ctx, key, &url.into(), "list the organization's API keys")
        .await
        .map(drop)
}

/// The Admin API's answer as JSON, or what its status means: 401 names the key, 403 the
/// role needed (an organization admin's Admin key).
///
/// # Errors
/// `invalid_api_key` (401), `insufficient_permissions` (403), `provider_error` otherwise.
pub fn judge(
    reply: &http::Reply,
    url: &SafeUrl,
    key: &AdminKey,
    doing: &str,
) -> Result<Value, AuthError> {
    let kind = anthropic::error_type(&reply.body);
    match reply.status {
        status if status.is_success() => serde_json::from_slice(&reply.body).map_err(|_| {
            AuthError::provider(format!("{url} did not answer with JSON"))
                .with_hint("check ANTHROPIC_ADMIN_BASE_URL: it should point at the Anthropic API")
        }),
        StatusCode::UNAUTHORIZED => Err(AuthError::invalid_api_key(format!(
            "the Admin API rejected {} (HTTP 401{kind})",
            key.named()
        ))
        .with_hint(format!(
            "check the Admin key: it must be {ROLE_NEEDED}, not revoked ({ADMIN_KEYS_URL})"
        ))),
        StatusCode::FORBIDDEN => Err(AuthError::insufficient_permissions(format!(
            "{} may not {doing} (HTTP 403{kind})",
            key.named()
        ))
        .with_hint(format!(
            "this needs {ROLE_NEEDED}; ask an organization admin for one ({ADMIN_KEYS_URL})"
        ))),
        status => Err(AuthError::provider(format!(
            "the Admin API could not {doing}: {url} answered HTTP {}{kind}",
            status.as_u16()
        ))
        .with_hint("check ANTHROPIC_ADMIN_BASE_URL; if it is right, try again later")),
    }
}
