//! The one HTTP client (rustls, no redirects, capped bodies) and the retry policy:
//! 429 waits for `Retry-After` (capped), 5xx and connection failures back off, all within
//! `authentication.timeout`.

use crate::envvars;
use crate::error::{AuthError, ErrorCode};
use crate::redact::SafeUrl;
use crate::storage::checked_file::{CheckedFile, Trust};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, StatusCode, Url};
use std::path::Path;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Largest response body read; anything bigger is hostile or a wrong endpoint.
const MAX_BODY: usize = 1 << 20;

/// Time and attempt budget of one logical request.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub total: Duration,
    pub retries: u32,
}

/// A finished exchange.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub elapsed: Duration,
    pub attempts: u32,
}

impl Reply {
    /// The `Content-Type` without parameters, lower case.
    pub fn content_type(&self) -> String {
        content_type(&self.headers)
    }
}

/// The `Content-Type` of `headers` without parameters, lower case (empty when absent).
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// The client every command uses: TLS through rustls (plus `CLAUDE_CA_BUNDLE`), no
/// redirects, no proxies' credentials in logs, and a proxy only for https targets.
///
/// # Errors
/// `config_error` when `CLAUDE_CA_BUNDLE` cannot be used.
pub fn client(env: &envvars::Env) -> Result<Client, AuthError> {
    let mut builder = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("claude-auth/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .no_proxy();
    if let Some(proxy) = https_proxy(env)? {
        builder = builder.proxy(proxy);
    }
    if let Some(path) = env.get(envvars::CLAUDE_CA_BUNDLE) {
        let pem = ca_bundle(Path::new(&path))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            AuthError::config(format!(
                "CLAUDE_CA_BUNDLE {path} holds no usable PEM certificate"
            ))
            .caused_by(e)
        })?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| AuthError::internal("cannot build the HTTP client").caused_by(e))
}

/// The most a CA bundle may hold: the whole Mozilla root store is about 250 KiB.
const MAX_CA_BUNDLE: u64 = 4 << 20;

/// Reads `CLAUDE_CA_BUNDLE`. A bundle decides who may impersonate every endpoint, so it is
/// judged like a configuration: the user's or root's, writable by no one else, a regular
/// file (a FIFO would hang the command), at most 4 MiB.
///
/// # Errors
/// `config_error` naming the fix.
fn ca_bundle(path: &Path) -> Result<Zeroizing<Vec<u8>>, AuthError> {
    CheckedFile::new("CA bundle", Trust::Certificates, MAX_CA_BUNDLE)
        .hint("point CLAUDE_CA_BUNDLE at a PEM file of your own (or root's) that only its owner can write")
        .read_existing(path)
}

/// The proxy from `https_proxy` / `HTTPS_PROXY` / `ALL_PROXY` (minus `NO_PROXY`), used only
/// for https targets off this machine. Plain http is allowed only to loopback, where a proxy
/// (`HTTP_PROXY`, possibly remote) would carry keys, codes and refresh tokens in clear.
///
/// # Errors
/// `config_error` naming the variable when its value is not a URL (it is never used
/// half-understood, nor silently skipped).
fn https_proxy(env: &envvars::Env) -> Result<Option<reqwest::Proxy>, AuthError> {
    let Some(rule) = ProxyRule::from_env(env)? else {
        return Ok(None);
    };
    Ok(Some(reqwest::Proxy::custom(move |url: &Url| {
        rule.route(url).map(Url::to_string)
    })))
}

/// The proxy settings of this process, as [`client`] applies them: also what the IP policy
/// checks the route toward (`crate::policy::ip`).
#[derive(Clone, Debug)]
pub struct ProxyRule {
    /// The variable that named the proxy (`HTTPS_PROXY`, …).
    pub variable: &'static str,
    pub url: Url,
    no_proxy: String,
}

impl ProxyRule {
    /// The proxy named by the environment, if any.
    ///
    /// # Errors
    /// `config_error` naming the variable when its value is not a URL.
    pub fn from_env(env: &envvars::Env) -> Result<Option<ProxyRule>, AuthError> {
        let Some((variable, proxy)) = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
            .into_iter()
            .find_map(|name| env.get(name).map(|value| (name, value)))
        else {
            return Ok(None);
        };
        // `host:port` without a scheme is the common shorthand for an http proxy.
        let proxy = if proxy.contains("://") {
            proxy
        } else {
            format!("http://{proxy}")
        };
        let url = Url::parse(&proxy).map_err(|e| {
            AuthError::config(format!("{variable} is not a proxy URL"))
                .caused_by(e)
                .with_hint(format!(
                    "set {variable} to http://HOST:PORT (or unset it to connect directly)"
                ))
        })?;
        let no_proxy = ["no_proxy", "NO_PROXY"]
            .into_iter()
            .find_map(|name| env.get(name))
            .unwrap_or_default();
        Ok(Some(ProxyRule {
            variable,
            url,
            no_proxy,
        }))
    }

    /// The proxy a request to `url` goes through, or `None` when it connects directly.
    pub fn route(&self, url: &Url) -> Option<&Url> {
        let direct = url.scheme() != "https"
            || crate::redact::is_loopback(url)
            || bypasses_proxy(&self.no_proxy, url);
        (!direct).then_some(&self.url)
    }
}

/// True when `NO_PROXY` (comma-separated: `*`, host names matched with their subdomains,
/// `.suffix`, IP addresses and CIDR ranges; ports ignored) names `url`'s host.
fn bypasses_proxy(no_proxy: &str, url: &Url) -> bool {
    let host = url.host();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| match &host {
            _ if entry == "*" => true,
            Some(url::Host::Domain(name)) => {
                let entry = entry.split(':').next().unwrap_or(entry);
                let suffix = entry.trim_start_matches('.').to_ascii_lowercase();
                let name = name.to_ascii_lowercase();
                name == suffix || name.ends_with(&format!(".{suffix}"))
            }
            Some(url::Host::Ipv4(ip)) => ip_matches(entry, (*ip).into()),
            Some(url::Host::Ipv6(ip)) => ip_matches(entry, (*ip).into()),
            None => false,
        })
}

fn ip_matches(entry: &str, ip: std::net::IpAddr) -> bool {
    let entry = entry.trim_start_matches('[').trim_end_matches(']');
    match entry.parse::<ipnet::IpNet>() {
        Ok(net) => net.contains(&ip),
        Err(_) => entry.parse::<std::net::IpAddr>() == Ok(ip),
    }
}

/// Refuses plain HTTP except to loopback: credentials never cross a network in clear.
///
/// # Errors
/// `config_error` naming `setting`.
pub fn require_secure(url: &Url, setting: &str) -> Result<(), AuthError> {
    let shown = SafeUrl::from(url.clone());
    match url.scheme() {
        "https" => Ok(()),
        "http" if crate::redact::is_loopback(url) => Ok(()),
        _ => Err(AuthError::config(format!(
            "refusing to send credentials to {} over {}",
            shown,
            url.scheme()
        ))
        .with_hint(format!(
            "use an https:// URL in {setting} (plain http is allowed only for localhost)"
        ))),
    }
}

/// Whether a failed exchange may be sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Never: the request spends something single-use (an authorization code, a rotating
    /// refresh token, a device code poll) or its caller decides on retries itself.
    Never,
    /// After a failed connection, a 5xx (with backoff) or a 429 (after `Retry-After`),
    /// within the budget's time and attempts.
    Transient,
}

/// One logical request: where it goes, what named that address, who answers, and how
/// long and how often it may try.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub url: &'a SafeUrl,
    /// The setting that chose the URL, for hints: "`oauth.tokenEndpoint`", "ANTHROPIC_BASE_URL".
    pub setting: &'a str,
    /// Who answers, for messages: "the Anthropic API", "GitHub", "Bedrock in us-east-1".
    pub service: &'a str,
    pub budget: Budget,
    pub retry: Retry,
}

/// The budget from `authentication.timeout` (milliseconds) and `authentication.retryAttempts`.
pub fn budget(auth: &crate::config::schema::AuthenticationConfig) -> Budget {
    Budget {
        total: Duration::from_millis(auth.timeout.max(1)),
        retries: auth.retry_attempts,
    }
}

/// GETs `call.url` with `headers` through [`send`].
///
/// # Errors
/// As [`send`].
pub async fn get(
    client: &Client,
    call: &Call<'_>,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<Reply, AuthError> {
    let mut request = client.get(call.url.as_url().clone());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    send(call, request).await
}

/// Every request of the product goes through here. First the IP policy
/// (`security.ipRestrictions`, [`crate::policy::ip::guard`]): a request from outside the
/// allowed ranges is never sent, whatever it carries. Then the one status ladder: no
/// answer within the budget → `network_error`; a failed connection → retried when allowed, else
/// `network_error`; 3xx → `provider_error` (redirects are never followed with credentials);
/// 429 → retried after `Retry-After` when allowed, else `rate_limited`; 5xx → retried with
/// backoff when allowed, else `network_error`. Every other status is returned for the
/// caller to judge (2xx, 401, 403, 404, protocol errors).
///
/// # Errors
/// `ip_restricted` (nothing sent); as above; `provider_error` for an answer over 1 MiB
/// (never retried).
pub async fn send(call: &Call<'_>, request: reqwest::RequestBuilder) -> Result<Reply, AuthError> {
    crate::policy::ip::guard(call).await?;
    send_unguarded(call, request).await
}

/// The status ladder of [`send`] without the IP policy: only for the policy's own echo
/// request (`security.ipCheckUrl`), which carries no credential.
pub(crate) async fn send_unguarded(
    call: &Call<'_>,
    request: reqwest::RequestBuilder,
) -> Result<Reply, AuthError> {
    let started = Instant::now();
    let deadline = started + call.budget.total;
    let may_retry = call.retry == Retry::Transient;
    let mut pending = Some(request);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let Some(request) = pending.take() else {
            return Err(AuthError::internal("a request was sent twice"));
        };
        // A body that cannot be cloned (a stream) is sent once.
        pending = if may_retry { request.try_clone() } else { None };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let outcome = tokio::time::timeout(remaining, send_once(request, call.url)).await;
        let can_wait = |wait: Duration| {
            pending.is_some() && attempt <= call.budget.retries && Instant::now() + wait <= deadline
        };
        let wait = match outcome {
            Err(_) => return Err(timed_out(call)),
            Ok(Err(err)) => {
                // Only a failed connection can go better next time; an oversized answer
                // would just send the credential to the same host again.
                let wait = backoff(attempt);
                if err.code() != ErrorCode::NetworkError {
                    return Err(err);
                }
                if !can_wait(wait) {
                    return Err(err.with_hint(format!("check your network and {}", call.setting)));
                }
                wait
            }
            Ok(Ok((status, headers, body))) => {
                let reply = Reply {
                    status,
                    headers,
                    body,
                    elapsed: started.elapsed(),
                    attempts: attempt,
                };
                if status.is_redirection() {
                    return Err(redirect_error(call.url, &reply, call.setting));
                } else if status == StatusCode::TOO_MANY_REQUESTS {
                    let wait = retry_after(&reply.headers).unwrap_or_else(|| backoff(attempt));
                    if !can_wait(wait) {
                        return Err(rate_limited(call, &reply, wait));
                    }
                    wait
                } else if status.is_server_error() {
                    let wait = backoff(attempt);
                    if !can_wait(wait) {
                        return Err(server_failed(call, &reply));
                    }
                    wait
                } else {
                    return Ok(reply);
                }
            }
        };
        tokio::time::sleep(wait).await;
    }
}

fn timed_out(call: &Call) -> AuthError {
    AuthError::network(format!(
        "no answer from {} within {} ms",
        call.url,
        call.budget.total.as_millis()
    ))
    .with_hint(
        "check your connection, or raise `authentication.timeout` (milliseconds) in the config",
    )
}

fn server_failed(call: &Call, reply: &Reply) -> AuthError {
    let tries = if reply.attempts > 1 {
        format!(" after {} attempts", reply.attempts)
    } else {
        String::new()
    };
    AuthError::network(format!(
        "{} ({}) answered HTTP {}{tries}",
        call.service,
        call.url,
        reply.status.as_u16()
    ))
    .with_hint(format!(
        "{} is having trouble; try again in a minute",
        call.service
    ))
}

/// Sends one request and reads at most 1 MiB of its answer. Every request of the product
/// goes through here, so `--debug-auth` traces them all (headers redacted, bodies never).
///
/// # Errors
/// `network_error` for connection failures; `provider_error` for an oversized body.
async fn send_once(
    request: reqwest::RequestBuilder,
    url: &SafeUrl,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), AuthError> {
    let (client, request) = request.build_split();
    let request =
        request.map_err(|e| AuthError::internal("cannot build an HTTP request").caused_by(e))?;
    let started = Instant::now();
    if crate::trace::enabled() {
        crate::trace::request(
            request.method().as_str(),
            url,
            request.headers(),
            request
                .body()
                .and_then(|b| b.as_bytes())
                .map_or(0, <[u8]>::len),
        );
    }
    let result = read_reply(client.execute(request), url).await;
    if crate::trace::enabled() {
        match &result {
            Ok((status, headers, body)) => {
                crate::trace::response(status.as_u16(), headers, body.len(), started.elapsed())
            }
            Err(err) => crate::trace::failure(err, started.elapsed()),
        }
    }
    result
}

async fn read_reply(
    pending: impl std::future::Future<Output = Result<reqwest::Response, reqwest::Error>>,
    url: &SafeUrl,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), AuthError> {
    let mut response = pending.await.map_err(|err| connection_error(url, &err))?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    // The status line and headers came: a body that then breaks (a bad chunk, one shorter
    // than its Content-Length) is the server's doing, and asking again would send the
    // credential to it again.
    while let Some(chunk) = response.chunk().await.map_err(|err| {
        AuthError::provider(format!("{url} sent an answer whose body is broken"))
            .caused_by(root_cause(&err))
            .with_hint("the server (or a proxy in between) is broken; try again later, or check the URL it was given by")
    })? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(AuthError::provider(format!(
                "{url} sent more than 1 MiB; refusing to read it"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, body))
}

/// A connection-level failure, without reqwest's URL (which could carry a query). An answer
/// that is not HTTP (a bad status line or header) is the server's fault, not the network's:
/// a `provider_error`, which is not retried, so the credential is not sent to it again.
fn connection_error(url: &SafeUrl, err: &reqwest::Error) -> AuthError {
    if is_malformed_answer(err) {
        return AuthError::provider(format!("{url} sent an answer that is not valid HTTP"))
            .caused_by(root_cause(err))
            .with_hint(
                "the server (or a proxy in between) is broken; check the URL it was given by",
            );
    }
    let what = if err.is_connect() {
        "cannot connect to"
    } else if err.is_timeout() {
        "timed out talking to"
    } else {
        "the connection failed with"
    };
    AuthError::network(format!("{what} {url}"))
        .caused_by(root_cause(err))
        .with_hint("check your network and the API URL (ANTHROPIC_BASE_URL)")
}

/// The innermost error of `err`'s chain: the one that says what happened.
fn root_cause(err: &reqwest::Error) -> &(dyn std::error::Error + 'static) {
    let mut cause: &(dyn std::error::Error + 'static) = err;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause
}

/// Whether hyper could not parse the answer's status line or headers.
fn is_malformed_answer(err: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if let Some(hyper) = current.downcast_ref::<hyper::Error>() {
            return hyper.is_parse() || hyper.is_parse_status();
        }
        cause = current.source();
    }
    false
}

fn rate_limited(call: &Call, reply: &Reply, wait: Duration) -> AuthError {
    let tries = if reply.attempts > 1 {
        format!(", {} attempts", reply.attempts)
    } else {
        String::new()
    };
    AuthError::rate_limited(format!(
        "{} ({}) is rate limiting requests (HTTP 429{tries})",
        call.service, call.url,
    ))
    .with_hint(format!(
        "wait {} s and try again, or raise `authentication.retryAttempts`",
        wait.as_secs().max(1)
    ))
}

/// `Retry-After` as seconds or an HTTP date, capped.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    };
    Some(wait.min(crate::limits::MAX_RETRY_AFTER))
}

/// 250 ms, 500 ms, 1 s, … capped at 4 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.saturating_sub(1).min(4))
}

/// A 3xx is never followed: it means a wrong URL or something in the way.
pub fn redirect_error(url: &SafeUrl, reply: &Reply, setting: &str) -> AuthError {
    let location = reply
        .headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url.join(v).ok())
        .map(|target| format!(" to {}", SafeUrl::from(target)))
        .unwrap_or_default();
    AuthError::provider(format!(
        "{} answered HTTP {} (a redirect{location}); redirects are not followed with credentials",
        url,
        reply.status.as_u16()
    ))
    .with_hint(format!(
        "check {setting}: it should point straight at the API"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_capped() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("3600"),
        );
        assert_eq!(retry_after(&headers), Some(crate::limits::MAX_RETRY_AFTER));
        headers.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
    }

    #[test]
    fn no_proxy_names_hosts_suffixes_and_ranges() {
        let url = |u: &str| Url::parse(u).unwrap();
        let api = url("https://api.anthropic.com/v1/models");
        assert!(bypasses_proxy("anthropic.com", &api));
        assert!(bypasses_proxy(".anthropic.com", &api));
        assert!(bypasses_proxy("example.org, api.anthropic.com:443", &api));
        assert!(bypasses_proxy("*", &api));
        assert!(!bypasses_proxy("thropic.com", &api));
        assert!(!bypasses_proxy("", &api));
        let internal = url("https://10.1.2.3/");
        assert!(bypasses_proxy("10.0.0.0/8", &internal));
        assert!(bypasses_proxy("10.1.2.3", &internal));
        assert!(!bypasses_proxy("192.168.0.0/16", &internal));
        assert!(bypasses_proxy(
            "[2001:db8::1]",
            &url("https://[2001:db8::1]/")
        ));
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(require_secure(&Url::parse("http://127.0.0.1:9/").unwrap(), "X").is_ok());
        assert!(require_secure(&Url::parse("http://api.example.com/").unwrap(), "X").is_err());
    }
}
