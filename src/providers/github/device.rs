//! RFC 8628 device authorization against GitHub: a user code, then polling at the server's
//! pace (`slow_down` adds 5 s for good) until approval, refusal or the local deadline.

use super::Settings;
use super::{openable, printable};
use crate::error::{AuthError, ErrorCode};
use crate::http::Budget;
use crate::limits;
use crate::redact::SafeUrl;
use crate::secret::{AccessToken, RefreshToken};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::time::Duration;

/// RFC 8628 §3.2: the polling interval when the server names none.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// RFC 8628 §3.5: what `slow_down` adds to the interval, for the rest of the login.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// How long a code lives when the server does not say.
const DEFAULT_EXPIRES_IN: u64 = 900;
/// Consecutive failed polls (network, 5xx, 429) tolerated before giving up.
const MAX_POLL_FAILURES: u32 = 3;
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A device code and what to show the user.
pub struct DeviceCode {
    /// Whoever holds it can collect the token: never shown, never logged.
    pub device_code: crate::secret::DeviceCode,
    /// The code the user types, reduced to printable characters.
    pub user_code: String,
    /// Where to type it; `None` when the server's address was not https (or loopback http).
    pub verification_uri: Option<Url>,
    pub expires_in: Duration,
    pub interval: Duration,
}

/// What an approved login yields.
pub struct Granted {
    pub access: AccessToken,
    pub refresh: Option<RefreshToken>,
    pub expires_in: Option<Duration>,
    pub scopes: Vec<String>,
}

/// One poll's verdict.
pub enum Poll {
    Granted(Granted),
    Pending,
    /// With the server's new interval, when it names one.
    SlowDown(Option<u64>),
    Denied,
    Expired,
    /// Any other `error`, reduced to a safe token.
    Refused(String),
}

#[derive(Deserialize)]
struct CodeAnswer {
    device_code: Option<String>,
    user_code: Option<String>,
    verification_uri: Option<String>,
    expires_in: Option<u64>,
    interval: Option<u64>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    scope: Option<String>,
    token_type: Option<String>,
    interval: Option<u64>,
    error: Option<String>,
}

/// Asks `{webUrl}/login/device/code` for a device and user code.
///
/// # Errors
/// `config_error` (unknown client, device flow disabled), `oauth_error` (other refusals),
/// `provider_error` (not a device code answer), network errors.
pub async fn request_code(
    http: &reqwest::Client,
    settings: &Settings,
    client_id: &str,
    scopes: &[String],
    budget: Budget,
) -> Result<DeviceCode, AuthError> {
    let url = settings.device_code_url();
    let mut form = vec![("client_id", client_id.to_string())];
    if !scopes.is_empty() {
        form.push(("scope", scopes.join(" ")));
    }
    let (status, _, body) = post_form(http, &url, &form, budget).await?;
    let answer: CodeAnswer = parse_json(&url, &body)?;
    if let Some(error) = answer.error.as_deref() {
        return Err(code_refused(settings, crate::redact::error_code(error)));
    }
    let (Some(device_code), Some(user_code), true) =
        (answer.device_code, answer.user_code, status.is_success())
    else {
        return Err(AuthError::provider(format!(
            "{} did not answer with a device code (HTTP {})",
            SafeUrl::from(url.clone()),
            status.as_u16()
        ))
        .with_hint("check `github.webUrl`: it should be the GitHub (Enterprise) web address"));
    };
    Ok(DeviceCode {
        device_code: crate::secret::DeviceCode::new(device_code),
        user_code: printable(&user_code),
        verification_uri: answer.verification_uri.as_deref().and_then(openable),
        expires_in: limits::lifetime(answer.expires_in.unwrap_or(DEFAULT_EXPIRES_IN)),
        interval: answer
            .interval
            .map_or(DEFAULT_INTERVAL, limits::poll_interval),
    })
}

fn code_refused(settings: &Settings, error: String) -> AuthError {
    let (code, hint) = match error.as_str() {
        "device_flow_disabled" => (
            ErrorCode::ConfigError,
            "enable Device Flow in the app's settings on GitHub",
        ),
        "incorrect_client_credentials" | "invalid_client" | "unauthorized_client" => (
            ErrorCode::ConfigError,
            "check `github.clientId`: it must be the client ID of an app on this GitHub host",
        ),
        _ => (
            ErrorCode::OauthError,
            "check the `github` block of the config, then run the login again",
        ),
    };
    AuthError::new(
        code,
        format!(
            "GitHub ({}) refused to start a device login ({error})",
            SafeUrl::from(settings.web_url.clone())
        ),
    )
    .with_hint(hint)
}

/// Polls `{webUrl}/login/oauth/access_token` until the user approves, refuses, or the code
/// expires (enforced here, whatever the server says).
///
/// # Errors
/// `cancelled` (denied, or the local deadline passed), `expired_token`, `oauth_error`
/// (any other `error`, HTTP 200 included), `provider_error`, network errors that persist.
pub async fn poll(
    http: &reqwest::Client,
    settings: &Settings,
    client_id: &str,
    device: &DeviceCode,
    budget: Budget,
) -> Result<Granted, AuthError> {
    let deadline = tokio::time::Instant::now() + device.expires_in;
    let polling = poll_until_decided(http, settings, client_id, device, budget);
    match tokio::time::timeout_at(deadline, polling).await {
        Ok(result) => result,
        Err(_) => Err(AuthError::cancelled(format!(
            "the GitHub login was not approved within {} s; the code has expired",
            device.expires_in.as_secs()
        ))
        .with_hint("run `claude --login --provider github` again and enter the new code")),
    }
}

async fn poll_until_decided(
    http: &reqwest::Client,
    settings: &Settings,
    client_id: &str,
    device: &DeviceCode,
    budget: Budget,
) -> Result<Granted, AuthError> {
    let url = settings.token_url();
    let mut interval = device.interval;
    let mut failures = 0;
    loop {
        tokio::time::sleep(interval).await;
        match poll_once(http, &url, client_id, device, budget).await {
            Ok(Poll::Granted(granted)) => return Ok(granted),
            Ok(Poll::Pending) => failures = 0,
            Ok(Poll::SlowDown(asked)) => {
                // For good: every later poll keeps the longer interval (RFC 8628 §3.5).
                interval = (interval + SLOW_DOWN_STEP)
                    .max(asked.map_or(Duration::ZERO, limits::poll_interval))
                    .min(limits::MAX_POLL_INTERVAL);
            }
            Ok(other) => return Err(refusal(other)),
            Err(err) if transient(&err) && failures < MAX_POLL_FAILURES => failures += 1,
            Err(err) => return Err(err),
        }
    }
}

/// One token request and its verdict.
async fn poll_once(
    http: &reqwest::Client,
    url: &Url,
    client_id: &str,
    device: &DeviceCode,
    budget: Budget,
) -> Result<Poll, AuthError> {
    let form = [
        ("client_id", client_id.to_string()),
        ("device_code", device.device_code.expose().clone()),
        ("grant_type", GRANT_TYPE.to_string()),
    ];
    let (status, _, body) = post_form(http, url, &form, budget).await?;
    classify(url, status, &body)
}

/// The error that ends the login for a final, unsuccessful verdict.
fn refusal(verdict: Poll) -> AuthError {
    let again = "run `claude --login --provider github` again";
    match verdict {
        Poll::Denied => {
            AuthError::cancelled("the GitHub login was denied in the browser (access_denied)")
                .with_hint(format!("{again} and authorize the app"))
        }
        Poll::Expired => AuthError::new(
            ErrorCode::ExpiredToken,
            "the GitHub device code expired before the login was approved (expired_token)",
        )
        .with_hint(format!("{again} and enter the new code promptly")),
        Poll::Refused(error) => AuthError::new(
            ErrorCode::OauthError,
            format!("GitHub refused the device login ({error})"),
        )
        .with_hint("check `github.clientId` and the app's settings, then run the login again"),
        Poll::Granted(_) | Poll::Pending | Poll::SlowDown(_) => {
            AuthError::internal("a device login verdict was misread")
        }
    }
}

fn transient(err: &AuthError) -> bool {
    matches!(err.code(), ErrorCode::NetworkError | ErrorCode::RateLimited)
}

/// Reads one token endpoint answer. An `error` member wins whatever the status: GitHub
/// answers HTTP 200 for `authorization_pending` and friends.
///
/// # Errors
/// `provider_error` for an answer that is neither a token nor an error.
pub fn classify(url: &Url, status: StatusCode, body: &[u8]) -> Result<Poll, AuthError> {
    let mut answer: TokenAnswer = parse_json(url, body)?;
    if let Some(error) = answer.error.as_deref() {
        return Ok(match error {
            "authorization_pending" => Poll::Pending,
            "slow_down" => Poll::SlowDown(answer.interval),
            "access_denied" => Poll::Denied,
            "expired_token" => Poll::Expired,
            other => Poll::Refused(crate::redact::error_code(other)),
        });
    }
    let bearer = answer
        .token_type
        .as_deref()
        .is_none_or(|t| t.eq_ignore_ascii_case("bearer"));
    match answer.access_token.take().filter(|t| !t.is_empty()) {
        Some(access) if status.is_success() && bearer => Ok(Poll::Granted(Granted {
            access: AccessToken::new(access),
            refresh: answer.refresh_token.take().map(RefreshToken::new),
            expires_in: answer.expires_in.map(limits::lifetime),
            scopes: answer
                .scope
                .as_deref()
                .unwrap_or("")
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        })),
        _ => Err(AuthError::provider(format!(
            "{} answered HTTP {} without a bearer token or an error",
            SafeUrl::from(url.clone()),
            status.as_u16()
        ))
        .with_hint("check `github.webUrl`: it should be the GitHub (Enterprise) web address")),
    }
}

/// POSTs a form with `Accept: application/json` through the shared client (traced by
/// `--debug-auth`, redirects refused).
async fn post_form(
    http: &reqwest::Client,
    url: &Url,
    form: &[(&str, String)],
    budget: Budget,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), AuthError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let request = http
        .post(url.clone())
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    let shown = crate::redact::SafeUrl::from(url.clone());
    let call = crate::http::Call {
        url: &shown,
        setting: "`github.webUrl`",
        service: "GitHub",
        budget,
        // A device code poll is answered once; the poll loop decides when to ask again.
        retry: crate::http::Retry::Never,
    };
    let reply = crate::http::send(&call, request).await?;
    Ok((reply.status, reply.headers, reply.body))
}

fn parse_json<T: for<'de> Deserialize<'de>>(url: &Url, body: &[u8]) -> Result<T, AuthError> {
    // The body is never echoed: it may hold a token.
    serde_json::from_slice(body).map_err(|_| {
        AuthError::provider(format!(
            "{} did not answer with JSON",
            SafeUrl::from(url.clone())
        ))
        .with_hint("a proxy, captive portal or wrong `github.webUrl` is in the way")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://github.com/login/oauth/access_token").unwrap()
    }

    #[test]
    fn an_error_on_http_200_is_an_error() {
        let body = br#"{"error":"authorization_pending","error_description":"x"}"#;
        assert!(matches!(
            classify(&url(), StatusCode::OK, body),
            Ok(Poll::Pending)
        ));
        let body = br#"{"error":"unsupported_grant_type"}"#;
        assert!(
            matches!(classify(&url(), StatusCode::OK, body), Ok(Poll::Refused(e)) if e == "unsupported_grant_type")
        );
    }

    #[test]
    fn slow_down_carries_the_new_interval_and_scopes_split_on_commas() {
        let body = br#"{"error":"slow_down","interval":10}"#;
        assert!(matches!(
            classify(&url(), StatusCode::OK, body),
            Ok(Poll::SlowDown(Some(10)))
        ));
        let body = br#"{"access_token":"gho_x","token_type":"bearer","scope":"repo,read:org"}"#;
        let Ok(Poll::Granted(granted)) = classify(&url(), StatusCode::OK, body) else {
            panic!("not granted")
        };
        assert_eq!(granted.scopes, vec!["repo", "read:org"]);
    }
}
