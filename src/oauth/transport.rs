//! The HTTP function the `oauth2` crate calls: our client (no redirects, capped bodies,
//! a deadline), with failures turned into `AuthError`s before `oauth2` parses anything.

use crate::error::AuthError;
use crate::redact::safe_url;
use reqwest::{Client, Url};
use std::time::Duration;

/// Sends one OAuth request. Token requests are never retried: a code or a rotating refresh
/// token must not be presented twice.
///
/// # Errors
/// `network_error` (unreachable, timeout, 5xx), `rate_limited` (429), `provider_error`
/// (redirects, oversized bodies).
pub async fn send(
    client: &Client,
    request: oauth2::HttpRequest,
    timeout: Duration,
) -> Result<oauth2::HttpResponse, AuthError> {
    // The body (code, verifier, refresh token) is moved, never copied.
    let (parts, body) = request.into_parts();
    let url = Url::parse(&parts.uri.to_string())
        .map_err(|e| AuthError::internal("bad OAuth request URL").caused_by(e))?;
    let mut builder = client.request(parts.method, url.clone());
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    builder = builder.body(body);
    let (status, headers, body) =
        tokio::time::timeout(timeout, crate::http::send_once(builder, &url))
            .await
            .map_err(|_| {
                AuthError::network(format!(
                    "no answer from {} within {} ms",
                    safe_url(&url),
                    timeout.as_millis()
                ))
                .with_hint("check your connection, or raise `authentication.timeout`")
            })??;
    if status.is_redirection() {
        return Err(AuthError::provider(format!(
            "{} answered HTTP {} (a redirect); OAuth endpoints must answer directly",
            safe_url(&url),
            status.as_u16()
        ))
        .with_hint("check the endpoint URLs in the `oauth` block of the config"));
    }
    if status.as_u16() == 429 {
        return Err(AuthError::rate_limited(format!(
            "{} is rate limiting requests (HTTP 429)",
            safe_url(&url)
        ))
        .with_hint("wait a minute and try again"));
    }
    if status.is_server_error() {
        return Err(AuthError::network(format!(
            "{} answered HTTP {}",
            safe_url(&url),
            status.as_u16()
        ))
        .with_hint("the authorization server is having trouble; try again in a minute"));
    }
    let content_type = crate::http::content_type(&headers);
    if !body.is_empty() && !content_type.ends_with("json") {
        let got = if content_type.is_empty() {
            "no content type".to_string()
        } else {
            content_type
        };
        return Err(AuthError::provider(format!(
            "{} answered {got} instead of JSON",
            safe_url(&url)
        ))
        .with_hint(
            "a proxy, captive portal or wrong endpoint URL in the `oauth` block is in the way",
        ));
    }
    let mut response = oauth2::HttpResponse::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}
