//! The Anthropic API: where it is, and the one cheap call that proves a key works
//! (`GET /v1/models`).

use crate::apikey::ApiKey;
use crate::envvars;
use crate::error::AuthError;
use crate::http::{self, Budget};
use crate::redact::SafeUrl;
use crate::secret::AccessToken;
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
    pub server_date: Option<crate::time::UnixTime>,
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
    join(&base, envvars::ANTHROPIC_BASE_URL, path)
}

/// `{ANTHROPIC_ADMIN_BASE_URL}{path}`, else `https://api.anthropic.com{path}`: requests that
/// carry the Admin key never follow `ANTHROPIC_BASE_URL`, which often names a gateway.
///
/// # Errors
/// `config_error` for an unusable URL.
pub fn admin_api_url(env: &envvars::Env, path: &str) -> Result<SafeUrl, AuthError> {
    let base = env
        .get(envvars::ANTHROPIC_ADMIN_BASE_URL)
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
    join(&base, envvars::ANTHROPIC_ADMIN_BASE_URL, path)
}

fn join(base: &str, setting: &str, path: &str) -> Result<SafeUrl, AuthError> {
    let base = Url::parse(base).map_err(|e| {
        AuthError::config(format!("{setting} is not a valid URL"))
            .caused_by(e)
            .with_hint("e.g. https://api.anthropic.com")
    })?;
    http::require_secure(&base, setting)?;
    let path = format!("{}{path}", base.path().trim_end_matches('/'));
    let mut url = base;
    url.set_path(&path);
    url.set_query(None);
    Ok(url.into())
}

/// What a request to the API proves itself with.
pub enum ApiCredential<'a> {
    /// An API key, sent as `x-api-key`.
    Key(&'a ApiKey),
    /// An OAuth access token from `--login`, sent as a bearer token; `fingerprint` names it
    /// in messages.
    Token {
        token: &'a AccessToken,
        fingerprint: String,
    },
    /// A token from the environment, sent as a bearer token: `oauth` adds the OAuth beta
    /// flag (`CLAUDE_CODE_OAUTH_TOKEN`); without it, as `ANTHROPIC_AUTH_TOKEN` is sent.
    Bearer {
        token: &'a crate::secret::Secret<String>,
        fingerprint: String,
        oauth: bool,
    },
}

impl ApiCredential<'_> {
    fn fingerprint(&self) -> String {
        match self {
            ApiCredential::Key(key) => key.fingerprint().to_string(),
            ApiCredential::Token { fingerprint, .. }
            | ApiCredential::Bearer { fingerprint, .. } => fingerprint.clone(),
        }
    }

    fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, AuthError> {
        let version = (
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        Ok(match self {
            ApiCredential::Key(key) => {
                let mut value = HeaderValue::from_str(key.secret().expose()).map_err(|_| {
                    AuthError::invalid_api_key("the key cannot be sent in an HTTP header")
                })?;
                value.set_sensitive(true);
                vec![(HeaderName::from_static("x-api-key"), value), version]
            }
            ApiCredential::Token { token, .. } => {
                let value = crate::secret::bearer_header(token.secret()).ok_or_else(|| {
                    AuthError::new(
                        crate::error::ErrorCode::OauthError,
                        "the access token cannot be sent in an HTTP header",
                    )
                })?;
                vec![
                    (reqwest::header::AUTHORIZATION, value),
                    version,
                    // The API takes OAuth access tokens only with this beta flag (as Claude
                    // Code sends it).
                    (
                        HeaderName::from_static("anthropic-beta"),
                        HeaderValue::from_static(OAUTH_BETA),
                    ),
                ]
            }
            ApiCredential::Bearer { token, oauth, .. } => {
                let value = crate::secret::bearer_header(token).ok_or_else(|| {
                    AuthError::invalid_api_key("the token cannot be sent in an HTTP header")
                })?;
                let mut headers = vec![(reqwest::header::AUTHORIZATION, value), version];
                if *oauth {
                    headers.push((
                        HeaderName::from_static("anthropic-beta"),
                        HeaderValue::from_static(OAUTH_BETA),
                    ));
                }
                headers
            }
        })
    }
}

/// The `anthropic-beta` value under which the API accepts OAuth access tokens.
pub const OAUTH_BETA: &str = "oauth-2025-04-20";

/// The API's answer: its verdict, and its `Date` whatever the verdict (a 401 carries one
/// too, so the clock can still be checked after a refusal).
pub struct Answer {
    pub verdict: Result<KeyCheck, AuthError>,
    pub server_date: Option<crate::time::UnixTime>,
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
    ask(client, env, &ApiCredential::Key(key), budget)
        .await
        .verdict
}

/// Asks the API (`GET /v1/models`) whether `credential` works.
pub async fn ask(
    client: &reqwest::Client,
    env: &envvars::Env,
    credential: &ApiCredential<'_>,
    budget: Budget,
) -> Answer {
    let failed = |err| Answer {
        verdict: Err(err),
        server_date: None,
    };
    let url = match models_url(env) {
        Ok(url) => url,
        Err(err) => return failed(err),
    };
    let headers = match credential.headers() {
        Ok(headers) => headers,
        Err(err) => return failed(err),
    };
    let call = http::Call {
        url: &url,
        setting: "ANTHROPIC_BASE_URL",
        service: "the Anthropic API",
        budget,
        retry: http::Retry::Transient,
    };
    let reply = match http::get(client, &call, &headers).await {
        Ok(reply) => reply,
        Err(err) => return failed(err),
    };
    Answer {
        server_date: super::server_date(&reply.headers),
        verdict: judge(&url, &reply, credential),
    }
}

/// The verdict of one answer to `GET /v1/models`.
fn judge(
    url: &SafeUrl,
    reply: &http::Reply,
    credential: &ApiCredential<'_>,
) -> Result<KeyCheck, AuthError> {
    let fingerprint = credential.fingerprint();
    let is_token = matches!(
        credential,
        ApiCredential::Token { .. } | ApiCredential::Bearer { oauth: true, .. }
    );
    let what = if is_token { "access token" } else { "key" };
    match reply.status {
        StatusCode::OK => {
            if reply.content_type() != "application/json" {
                return Err(not_the_api(url, &reply.content_type()));
            }
            let doc: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|_| not_the_api(url, "malformed JSON"))?;
            let models = doc.get("data").and_then(|d| d.as_array()).map(Vec::len).ok_or_else(|| not_the_api(url, "JSON without `data`"))?;
            Ok(KeyCheck { models, elapsed: reply.elapsed, attempts: reply.attempts, server_date: super::server_date(&reply.headers) })
        }
        StatusCode::UNAUTHORIZED if is_token => Err(AuthError::new(crate::error::ErrorCode::ExpiredToken, format!(
            "the API rejected the access token {fingerprint} (HTTP 401{}): it was revoked or has expired",
            error_type(&reply.body)
        ))
        .with_hint("log in again with `claude --login`")),
        StatusCode::UNAUTHORIZED => Err(AuthError::invalid_api_key(format!(
            "the API rejected the key {fingerprint} (HTTP 401{})",
            error_type(&reply.body)
        ))
        .with_hint("the key is wrong, disabled or deleted: create a new one at https://console.anthropic.com/settings/keys")),
        StatusCode::FORBIDDEN if is_ip_allow_list_refusal(&reply.body) => Err(AuthError::ip_restricted(format!(
            "the API refused the {what} {fingerprint} from this machine's address: it is outside the organization's allowed IP ranges (HTTP 403, permission_error)"
        ))
        .with_hint("connect from a network the organization allows, or ask an organization admin to add this network's public address to the allowed IP ranges in the Claude Console's organization settings")),
        StatusCode::FORBIDDEN => Err(AuthError::insufficient_permissions(format!(
            "the {what} {fingerprint} is valid but not allowed to use the API (HTTP 403{})",
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
