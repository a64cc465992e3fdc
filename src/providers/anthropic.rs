//! The Anthropic API: where it is, and the one cheap call that proves a key works
//! (`GET /v1/models`).

use crate::apikey::ApiKey;
use crate::envvars;
use crate::error::AuthError;
use crate::http::{self, Budget};
use crate::redact::SafeUrl;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use std::time::Duration;

/// The API host unless `ANTHROPIC_BASE_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The API version sent with every request.
pub const API_VERSION: &str = "2023-06-01";

/// What the API said about a key.
pub struct KeyCheck {
    /// Models the key can see on the first page.
    pub models: usize,
    pub elapsed: Duration,
    pub attempts: u32,
    /// The server's `Date`, for the clock-skew check.
    pub server_date: Option<std::time::SystemTime>,
}

/// `{ANTHROPIC_BASE_URL}/v1/models`, refusing plain HTTP to anything but loopback.
///
/// # Errors
/// `config_error` for an unusable URL.
pub fn models_url(env: &envvars::Env) -> Result<SafeUrl, AuthError> {
    api_url(env, "/v1/models")
}

/// `{ANTHROPIC_BASE_URL}{path}` (the Messages and Admin APIs share the host), refusing
/// plain HTTP to anything but loopback.
///
/// # Errors
/// `config_error` for an unusable URL.
pub fn api_url(env: &envvars::Env, path: &str) -> Result<SafeUrl, AuthError> {
    let base = env
        .get(envvars::ANTHROPIC_BASE_URL)
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
    let base = Url::parse(&base).map_err(|e| {
        AuthError::config("ANTHROPIC_BASE_URL is not a valid URL")
            .caused_by(e)
            .with_hint("e.g. https://api.anthropic.com")
    })?;
    http::require_secure(&base, "ANTHROPIC_BASE_URL")?;
    let path = format!("{}{path}", base.path().trim_end_matches('/'));
    let mut url = base;
    url.set_path(&path);
    url.set_query(None);
    Ok(url.into())
}

/// Asks the API whether `key` works.
///
/// # Errors
/// `invalid_api_key` (401), `insufficient_permissions` (403), `rate_limited`,
/// `network_error`, `provider_error` (redirects, non-JSON answers, other statuses).
pub async fn check_key(
    client: &reqwest::Client,
    env: &envvars::Env,
    key: &ApiKey,
    budget: Budget,
) -> Result<KeyCheck, AuthError> {
    let url = models_url(env)?;
    let mut key_header = HeaderValue::from_str(key.secret().expose())
        .map_err(|_| AuthError::invalid_api_key("the key cannot be sent in an HTTP header"))?;
    key_header.set_sensitive(true);
    let headers = [
        (HeaderName::from_static("x-api-key"), key_header),
        (
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        ),
    ];
    let call = http::Call {
        url: &url,
        setting: "ANTHROPIC_BASE_URL",
        service: "the Anthropic API",
        budget,
        retry: http::Retry::Transient,
    };
    let reply = http::get(client, &call, &headers).await?;
    let fingerprint = key.fingerprint();
    match reply.status {
        StatusCode::OK => {
            if reply.content_type() != "application/json" {
                return Err(not_the_api(&url, &reply.content_type()));
            }
            let doc: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|_| not_the_api(&url, "malformed JSON"))?;
            let models = doc.get("data").and_then(|d| d.as_array()).map(Vec::len).ok_or_else(|| not_the_api(&url, "JSON without `data`"))?;
            Ok(KeyCheck { models, elapsed: reply.elapsed, attempts: reply.attempts, server_date: super::server_date(&reply.headers) })
        }
        StatusCode::UNAUTHORIZED => Err(AuthError::invalid_api_key(format!(
            "the API rejected the key {fingerprint} (HTTP 401{})",
            error_type(&reply.body)
        ))
        .with_hint("the key is wrong, disabled or deleted: create a new one at https://console.anthropic.com/settings/keys")),
        StatusCode::FORBIDDEN if is_ip_allow_list_refusal(&reply.body) => Err(AuthError::ip_restricted(format!(
            "the API refused the key {fingerprint} from this machine's address: it is outside the organization's allowed IP ranges (HTTP 403, permission_error)"
        ))
        .with_hint("connect from a network the organization allows, or ask an organization admin to add this network's public address to the allowed IP ranges in the Claude Console's organization settings")),
        StatusCode::FORBIDDEN => Err(AuthError::insufficient_permissions(format!(
            "the key {fingerprint} is valid but not allowed to use the API (HTTP 403{})",
            error_type(&reply.body)
        ))
        .with_hint("check the key's workspace and the organization's permissions in the Console")),
        status => Err(AuthError::provider(format!(
            "{} answered HTTP {}{}",
            url,
            status.as_u16(),
            error_type(&reply.body)
        ))
        .with_hint("check ANTHROPIC_BASE_URL; if it is right, try again later")),
    }
}

/// Anthropic's server-side IP allow-list: HTTP 403, `permission_error`, "Your IP address
/// isn't in this organization's allowed range". The message is compared, never echoed.
fn is_ip_allow_list_refusal(body: &[u8]) -> bool {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let kind = doc.pointer("/error/type").and_then(|t| t.as_str());
    let message = doc.pointer("/error/message").and_then(|m| m.as_str());
    kind == Some("permission_error")
        && message.is_some_and(|m| {
            m.to_ascii_lowercase()
                .replace('\u{2019}', "'")
                .contains("ip address isn't in this organization's allowed range")
        })
}

/// `, authentication_error` from an API error body: its type only, never its message,
/// which could echo what was sent.
pub fn error_type(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|doc| {
            doc.pointer("/error/type")
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
        .filter(|t| t.len() < 64 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|t| format!(", {t}"))
        .unwrap_or_default()
}

fn not_the_api(url: &SafeUrl, got: &str) -> AuthError {
    let got = if got.is_empty() {
        "no content type"
    } else {
        got
    };
    AuthError::provider(format!(
        "{url} did not answer like the Anthropic API (expected JSON, got {got})"
    ))
    .with_hint("a proxy, captive portal or wrong ANTHROPIC_BASE_URL is in the way")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_organization_ip_allow_list_answer_is_recognised() {
        let refusal = br#"{"type":"error","error":{"type":"permission_error","message":"Your IP address isn't in this organization's allowed range."}}"#;
        assert!(is_ip_allow_list_refusal(refusal));
        let curly = "{\"type\":\"error\",\"error\":{\"type\":\"permission_error\",\"message\":\"Your IP address isn\u{2019}t in this organization\u{2019}s allowed range\"}}";
        assert!(is_ip_allow_list_refusal(curly.as_bytes()));
        let other = br#"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission"}}"#;
        assert!(!is_ip_allow_list_refusal(other));
        let wrong_type = br#"{"type":"error","error":{"type":"authentication_error","message":"Your IP address isn't in this organization's allowed range"}}"#;
        assert!(!is_ip_allow_list_refusal(wrong_type));
        assert!(!is_ip_allow_list_refusal(b"not json"));
    }
}
