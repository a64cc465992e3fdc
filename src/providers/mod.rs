//! The services credentials are checked against, and which one is active.
//!
//! Each cloud provider module offers the same two functions so that `--auth-status` and
//! `--test-auth` treat them alike:
//! `credential(ctx) -> Result<CredentialInfo, AuthError>` (offline: where the credential
//! comes from and what it shadows; never unlocks or sends anything) and
//! `async verify(ctx, http) -> Result<Verdict, AuthError>` (one cheap authenticated call).

pub mod admin_api;
pub mod anthropic;
pub mod bedrock;
pub mod github;
pub mod vertex;

use crate::config::schema::{Method, Provider};
use crate::context::Context;
use crate::envvars;
use crate::time::UnixTime;
use std::time::Duration;

/// Where a provider's credential comes from, found offline.
#[derive(Clone, Debug)]
pub struct CredentialInfo {
    /// Machine-readable source, e.g. `env:AWS_BEARER_TOKEN_BEDROCK`, `profile:dev`, `file:/path`.
    pub source: String,
    /// The same for people: "the AWS_BEARER_TOKEN_BEDROCK environment variable".
    pub description: String,
    /// A fingerprint of the credential, when there is a secret to fingerprint.
    pub fingerprint: Option<String>,
    /// Other credentials present that this one takes precedence over (their `source`s).
    pub shadowed: Vec<String>,
    /// Settings in force that matter to the user, e.g. `region=us-west-2`, `project=p`.
    pub settings: Vec<(String, String)>,
}

impl CredentialInfo {
    /// Every field as one line ([`crate::terminal_text::single_line`]). Each is shown inside
    /// a line of status, and parts come from files others may write (a Google credential
    /// file, the AWS files, an SSO cache) or from the environment: a newline in any of them
    /// would print a line the product never wrote. The providers return their info through
    /// this, so a value forgotten at parse time is still caught here.
    pub fn one_line(self) -> CredentialInfo {
        use crate::terminal_text::single_line;
        CredentialInfo {
            source: single_line(&self.source),
            description: single_line(&self.description),
            fingerprint: self.fingerprint.map(|f| single_line(&f)),
            shadowed: self.shadowed.iter().map(|s| single_line(s)).collect(),
            settings: self
                .settings
                .iter()
                .map(|(k, v)| (single_line(k), single_line(v)))
                .collect(),
        }
    }
}

/// What the provider's server said to one authenticated call.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// One line for people: "model anthropic.claude-3-sonnet… is available".
    pub detail: String,
    /// The server's `Date` header, for the clock-skew check.
    pub server_date: Option<UnixTime>,
    pub elapsed: Duration,
}

/// The provider in force: `CLAUDE_CODE_USE_BEDROCK=1` / `CLAUDE_CODE_USE_VERTEX=1`, else the
/// config's `provider` (after the environment's overlay), else `authentication.method`
/// `bedrock`/`vertex`, else Anthropic.
pub fn active(ctx: &Context) -> Provider {
    selection(ctx).0
}

/// The provider in force and what chose it, in words.
pub fn selection(ctx: &Context) -> (Provider, &'static str) {
    if let Some(forced) = forced_by_env(&ctx.env) {
        return forced;
    }
    if let Some(provider) = ctx.loaded.config.provider {
        let why = if ctx.loaded.environment.is_some() {
            "the config and environment"
        } else {
            "the config's `provider`"
        };
        return (provider, why);
    }
    match ctx.loaded.config.authentication.method {
        Some(Method::Bedrock) => (Provider::Bedrock, "`authentication.method`"),
        Some(Method::Vertex) => (Provider::Vertex, "`authentication.method`"),
        _ => (Provider::Anthropic, "the default"),
    }
}

/// The provider `CLAUDE_CODE_USE_BEDROCK=1` / `CLAUDE_CODE_USE_VERTEX=1` selects, and the
/// variable that did, when one is set.
pub fn forced_by_env(env: &envvars::Env) -> Option<(Provider, &'static str)> {
    let truthy = |name: &str| {
        env.get(name)
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    };
    if truthy(envvars::CLAUDE_CODE_USE_BEDROCK) {
        return Some((Provider::Bedrock, "CLAUDE_CODE_USE_BEDROCK"));
    }
    if truthy(envvars::CLAUDE_CODE_USE_VERTEX) {
        return Some((Provider::Vertex, "CLAUDE_CODE_USE_VERTEX"));
    }
    None
}

/// The `Date` header of an answer, as a time.
pub fn server_date(headers: &reqwest::header::HeaderMap) -> Option<UnixTime> {
    headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .map(UnixTime::from_system_time)
}
