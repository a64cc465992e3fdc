//! `--debug-auth`'s trace: resolution steps and every HTTP exchange, as `tracing` events for
//! the one sink ([`crate::events`]), with every credential-bearing header replaced by
//! `[redacted]`, other header values masked where they echo a credential (URLs without
//! userinfo, query or fragment), and no body ever recorded. The text layer shows them as
//! `debug: …` lines with control characters (a server's header values, a malformed key's
//! fingerprint) escaped.

use crate::error::AuthError;
use crate::events::sink::{LEVEL, TRACE_TARGET};
use crate::redact::{safe_reference, scrub_secrets, SafeUrl};
use reqwest::header::HeaderMap;
use std::time::Duration;

/// Headers whose values are credentials (or can carry them).
const SECRET_HEADERS: [&str; 8] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "set-cookie",
    "x-amz-security-token",
    "x-goog-api-key",
    "x-github-token",
];

/// Whether anything listens to the trace (`--debug-auth`): lets callers skip preparing it.
pub fn enabled() -> bool {
    tracing::enabled!(target: TRACE_TARGET, LEVEL)
}

/// A free-form step of the trace (resolution, decisions). Callers pass fingerprints only.
pub fn step(text: &str) {
    tracing::event!(target: TRACE_TARGET, LEVEL, "{text}");
}

/// `→ METHOD URL` with redacted headers and the body size.
pub fn request(method: &str, url: &SafeUrl, headers: &HeaderMap, body_len: usize) {
    let url = url.to_string();
    tracing::event!(target: TRACE_TARGET, LEVEL, method, url, body_len, "→ {method} {url}");
    trace_headers("→", headers);
    if body_len > 0 {
        tracing::event!(target: TRACE_TARGET, LEVEL, "→   ({body_len} bytes of body, not shown)");
    }
}

/// `← STATUS` with redacted headers, body size and time.
pub fn response(status: u16, headers: &HeaderMap, body_len: usize, elapsed: Duration) {
    let millis = millis(elapsed);
    tracing::event!(target: TRACE_TARGET, LEVEL, status, body_len, millis,
        "← HTTP {status} in {millis} ms ({body_len} bytes of body, not shown)");
    trace_headers("←", headers);
}

/// `← failed: …`.
pub fn failure(err: &AuthError, elapsed: Duration) {
    let millis = millis(elapsed);
    tracing::event!(target: TRACE_TARGET, LEVEL, code = err.code().as_str(), millis,
        "← failed after {millis} ms: {}", err.message());
}

fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

fn trace_headers(arrow: &str, headers: &HeaderMap) {
    for (name, value) in headers {
        let shown = if is_secret(name.as_str()) {
            "[redacted]".to_string()
        } else {
            value.to_str().map_or_else(
                |_| "[binary]".to_string(),
                |text| shown_value(name.as_str(), text),
            )
        };
        let header = name.as_str();
        tracing::event!(target: TRACE_TARGET, LEVEL, header, value = shown.as_str(),
            "{arrow}   {header}: {shown}");
    }
}

/// A header value as the trace shows it. Servers echo what they were sent (a key in a
/// challenge, a token in a redirect's query, anything in a custom header), so URLs lose
/// their userinfo, query and fragment, and whatever still looks like a credential is masked.
fn shown_value(name: &str, value: &str) -> String {
    let value = match name.to_ascii_lowercase().as_str() {
        "location" | "content-location" => safe_reference(value),
        "link" => link_targets_shown(value),
        _ => value.to_string(),
    };
    scrub_secrets(&value)
}

/// A `Link` header (RFC 8288: `<target>; rel="next", <target>; …`) with every target made
/// safe; an unclosed `<` runs to the end of the value.
fn link_targets_shown(value: &str) -> String {
    let mut shown = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        shown.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        let (target, next) = after
            .find('>')
            .map_or((after, ""), |close| (&after[..close], &after[close..]));
        shown.push_str(&safe_reference(target));
        rest = next;
    }
    shown.push_str(rest);
    shown
}

/// True for headers that carry credentials.
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&name.as_str()) || name.contains("token") || name.contains("secret")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-ant-api03-TESTKEYAAAAAAAAAAAAAAA-a1A1";

    #[test]
    fn header_values_echoing_a_key_are_masked() {
        let challenge = format!(r#"Bearer error="x", token="{KEY}""#);
        assert_eq!(
            shown_value("www-authenticate", &challenge),
            r#"Bearer error="x", token="sk-ant-api03-…a1A1""#
        );
        assert_eq!(shown_value("x-echo", KEY), "sk-ant-api03-…a1A1");
        assert_eq!(
            shown_value("content-type", "application/json"),
            "application/json"
        );
    }

    #[test]
    fn url_headers_lose_userinfo_query_and_fragment() {
        let location = format!("https://u:{KEY}@x.example/cb?token={KEY}#k={KEY}");
        assert_eq!(shown_value("Location", &location), "https://x.example/cb");
        assert_eq!(shown_value("content-location", "/cb?code=abc"), "/cb");
        let link =
            format!(r#"<https://x.example/p?key={KEY}>; rel="next", </p?page=1>; rel="prev""#);
        assert_eq!(
            shown_value("link", &link),
            r#"<https://x.example/p>; rel="next", </p>; rel="prev""#
        );
        assert_eq!(
            shown_value("link", &format!("<https://x.example/p?key={KEY}")),
            "<https://x.example/p"
        );
    }
}
