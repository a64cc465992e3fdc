//! `--debug-auth`'s trace on stderr: resolution steps and every HTTP exchange, with every
//! credential-bearing header replaced by `[redacted]`, no body ever printed, and control
//! characters (a server's header values, a malformed key's fingerprint) escaped.

use crate::error::AuthError;
use crate::output::notice;
use crate::redact::safe_url;
use reqwest::header::HeaderMap;
use reqwest::Url;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static ENABLED: AtomicBool = AtomicBool::new(false);

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

/// Turns the trace on for this process.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether `--debug-auth` asked for a trace.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A free-form step of the trace (resolution, decisions). Callers pass fingerprints only.
pub fn step(text: &str) {
    if enabled() {
        notice(&format!("debug: {text}"));
    }
}

/// `→ METHOD URL` with redacted headers and the body size.
pub fn request(method: &str, url: &Url, headers: &HeaderMap, body_len: usize) {
    notice(&format!("debug: → {method} {}", safe_url(url)));
    print_headers("→", headers);
    if body_len > 0 {
        notice(&format!("debug: →   ({body_len} bytes of body, not shown)"));
    }
}

/// `← STATUS` with redacted headers, body size and time.
pub fn response(status: u16, headers: &HeaderMap, body_len: usize, elapsed: Duration) {
    notice(&format!(
        "debug: ← HTTP {status} in {} ms ({body_len} bytes of body, not shown)",
        elapsed.as_millis()
    ));
    print_headers("←", headers);
}

/// `← failed: …`.
pub fn failure(err: &AuthError, elapsed: Duration) {
    notice(&format!(
        "debug: ← failed after {} ms: {}",
        elapsed.as_millis(),
        err.message()
    ));
}

fn print_headers(arrow: &str, headers: &HeaderMap) {
    for (name, value) in headers {
        let shown = if is_secret(name.as_str()) {
            "[redacted]".to_string()
        } else {
            value
                .to_str()
                .map(str::to_string)
                .unwrap_or_else(|_| "[binary]".to_string())
        };
        notice(&format!("debug: {arrow}   {name}: {shown}"));
    }
}

/// True for headers that carry credentials.
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&name.as_str()) || name.contains("token") || name.contains("secret")
}
