//! The services credentials are checked against, and which one is active.
//!
//! Each cloud provider module offers the same two functions so that `--auth-status` and
//! `--test-auth` treat them alike:
//! `credential(ctx) -> Result<CredentialInfo, AuthError>` (offline: where the credential
//! comes from and what it shadows; never unlocks or sends anything) and
//! `async verify(ctx, http) -> Result<Verdict, AuthError>` (one cheap authenticated call).

pub mod anthropic;
pub mod bedrock;
pub mod github;
pub mod vertex;

use crate::config::schema::{Method, Provider};
use crate::context::Context;
use crate::envvars;
use std::time::{Duration, SystemTime};

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

/// What the provider's server said to one authenticated call.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// One line for people: "model anthropic.claude-3-sonnet… is available".
    pub detail: String,
    /// The server's `Date` header, for the clock-skew check.
    pub server_date: Option<SystemTime>,
    pub elapsed: Duration,
}

/// The provider in force: `CLAUDE_CODE_USE_BEDROCK=1` / `CLAUDE_CODE_USE_VERTEX=1`, else the
/// config (after the environment's overlay), else Anthropic.
pub fn active(ctx: &Context) -> Provider {
    let truthy =
        |name: &str| envvars::get(name).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    if truthy(envvars::CLAUDE_CODE_USE_BEDROCK) {
        Provider::Bedrock
    } else if truthy(envvars::CLAUDE_CODE_USE_VERTEX) {
        Provider::Vertex
    } else if let Some(provider) = ctx.loaded.config.provider {
        provider
    } else {
        match ctx.loaded.config.authentication.method {
            Some(Method::Bedrock) => Provider::Bedrock,
            Some(Method::Vertex) => Provider::Vertex,
            _ => Provider::Anthropic,
        }
    }
}

/// The `Date` header of an answer, as a time.
pub fn server_date(headers: &reqwest::header::HeaderMap) -> Option<SystemTime> {
    headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
}
