//! The HTTP function the `oauth2` crate calls: the product's one status ladder
//! ([`crate::http::send`]) with retries off, and answers that are not JSON refused before
//! `oauth2` parses anything.

use crate::error::AuthError;
use crate::http::{Budget, Call, Retry};
use crate::redact::SafeUrl;
use reqwest::{Client, Url};

/// Sends one OAuth request. Token requests are never retried: a code or a rotating refresh
/// token must not be presented twice. `setting` names where the endpoint came from.
///
/// # Errors
/// `network_error` (unreachable, timeout, 5xx), `rate_limited` (429), `provider_error`
/// (redirects, oversized bodies, answers that are not JSON).
pub async fn send(
    client: &Client,
    request: oauth2::HttpRequest,
    budget: Budget,
    setting: &str,
) -> Result<oauth2::HttpResponse, AuthError> {
    // The body (code, verifier, refresh token) is moved, never copied.
    let (parts, body) = request.into_parts();
    let url: SafeUrl = Url::parse(&parts.uri.to_string())
        .map_err(|e| AuthError::internal("bad OAuth request URL").caused_by(e))?
        .into();
    let mut builder = client.request(parts.method, url.as_url().clone());
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let call = Call {
        url: &url,
        setting,
        service: "the authorization server",
        budget,
        retry: Retry::Never,
    };
    let reply = crate::http::send(&call, builder.body(body)).await?;
    let content_type = reply.content_type();
    if !reply.body.is_empty() && !content_type.ends_with("json") {
        let got = if content_type.is_empty() {
            "no content type".to_string()
        } else {
            content_type
        };
        return Err(
            AuthError::provider(format!("{} answered {got} instead of JSON", url)).with_hint(
                format!("a proxy, captive portal or wrong {setting} is in the way"),
            ),
        );
    }
    let mut response = oauth2::HttpResponse::new(reply.body);
    *response.status_mut() = reply.status;
    *response.headers_mut() = reply.headers;
    Ok(response)
}
