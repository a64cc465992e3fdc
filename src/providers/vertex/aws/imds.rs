//! The EC2 instance metadata as an AWS-sourced credential file names it: an IMDSv2 session
//! token (once, and only when something is read), the availability zone, and the instance
//! role's name and keys. Short, through [`crate::http::send`].

use crate::context::Context;
use crate::error::AuthError;
use crate::http::{Budget, Call, Retry};
use crate::providers::bedrock::{self, AccessKeys};
use crate::redact::SafeUrl;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Url;
use serde_json::Value;
use std::time::Duration;
use zeroize::Zeroizing;

/// The instance metadata answers in milliseconds; off EC2 its address does not answer at all.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Lifetime asked for the IMDSv2 session token: it serves the two or three GETs of one run.
const SESSION_SECONDS: &str = "300";

/// The instance metadata of one run: the IMDSv2 session token is asked for once, and only
/// when something is read from it.
pub(super) struct Imds<'a> {
    ctx: &'a Context,
    http: &'a reqwest::Client,
    session_url: Option<&'a Url>,
    session: Option<HeaderValue>,
}

impl<'a> Imds<'a> {
    pub(super) fn new(
        ctx: &'a Context,
        http: &'a reqwest::Client,
        session_url: Option<&'a Url>,
    ) -> Imds<'a> {
        Imds {
            ctx,
            http,
            session_url,
            session: None,
        }
    }

    /// The region: `region_url`'s availability zone without its letter.
    pub(super) async fn region(&mut self, url: &Url) -> Result<String, AuthError> {
        region_of_zone(&self.get(url, "credential_source.region_url").await?)
    }

    fn call<'c>(&self, url: &'c SafeUrl, field: &'c str) -> Call<'c> {
        Call {
            url,
            setting: field,
            service: "the EC2 instance metadata",
            budget: Budget {
                total: TIMEOUT.min(self.ctx.budget().total),
                retries: self.ctx.budget().retries.min(2),
            },
            retry: Retry::Transient,
        }
    }

    /// The IMDSv2 session token, when the file names its URL.
    async fn session(&mut self) -> Result<Option<HeaderValue>, AuthError> {
        let (Some(url), None) = (self.session_url, &self.session) else {
            return Ok(self.session.clone());
        };
        let field = "credential_source.imdsv2_session_token_url";
        let shown = SafeUrl::from(url.clone());
        let request = self
            .http
            .put(url.clone())
            .header("x-aws-ec2-metadata-token-ttl-seconds", SESSION_SECONDS);
        let reply = crate::http::send(&self.call(&shown, field), request).await?;
        if !reply.status.is_success() {
            return Err(imds_refused(&shown, field, reply.status));
        }
        let body = Zeroizing::new(reply.body);
        let mut token = HeaderValue::from_bytes(body.trim_ascii()).map_err(|_| {
            AuthError::provider(format!(
                "{shown} answered a session token that cannot go in a header"
            ))
        })?;
        token.set_sensitive(true);
        self.session = Some(token.clone());
        Ok(Some(token))
    }

    /// One GET, with the session token when there is one.
    async fn get(&mut self, url: &Url, field: &str) -> Result<Zeroizing<Vec<u8>>, AuthError> {
        let mut headers = Vec::new();
        if let Some(token) = self.session().await? {
            headers.push((HeaderName::from_static("x-aws-ec2-metadata-token"), token));
        }
        let shown = SafeUrl::from(url.clone());
        let reply = crate::http::get(self.http, &self.call(&shown, field), &headers).await?;
        if !reply.status.is_success() {
            return Err(imds_refused(&shown, field, reply.status));
        }
        Ok(Zeroizing::new(reply.body))
    }

    /// The instance role's name from `url`, then its keys from `url/NAME`.
    pub(super) async fn keys(&mut self, url: &Url) -> Result<AccessKeys, AuthError> {
        let field = "credential_source.url";
        let names = self.get(url, field).await?;
        let role = String::from_utf8_lossy(&names)
            .lines()
            .next()
            .map(|l| l.trim().to_string())
            .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                AuthError::not_authenticated("the EC2 instance has no IAM role")
                    .with_hint(NO_ROLE_HINT)
            })?;
        let mut role_url = url.clone();
        role_url
            .path_segments_mut()
            .map_err(|_| AuthError::config("credential_source.url is not a base URL"))?
            .pop_if_empty()
            .push(&role);
        let body = self.get(&role_url, field).await?;
        let what = "the EC2 instance metadata";
        let doc: Value = serde_json::from_slice(&body).map_err(|_| {
            AuthError::provider(format!("{what} answered credentials that are not JSON"))
        })?;
        bedrock::parse_keys(&doc, what)
    }
}

const NO_ROLE_HINT: &str =
    "attach an IAM role to the instance (in a container, IMDSv2 needs a hop limit of 2), \
     or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

fn imds_refused(shown: &SafeUrl, field: &str, status: reqwest::StatusCode) -> AuthError {
    let text = format!(
        "the EC2 instance metadata at {shown} ({field}) answered HTTP {}",
        status.as_u16()
    );
    let err = if status == reqwest::StatusCode::NOT_FOUND && field == "credential_source.url" {
        AuthError::not_authenticated(text)
    } else {
        AuthError::provider(text)
    };
    err.with_hint(NO_ROLE_HINT)
}

/// `us-east-2b` → `us-east-2`: the zone without its last letter, as Google's libraries do.
fn region_of_zone(body: &[u8]) -> Result<String, AuthError> {
    let zone = String::from_utf8_lossy(body).trim().to_string();
    let mut region = zone;
    region.pop();
    if bedrock::is_region_name(&region) {
        return Ok(region);
    }
    Err(AuthError::provider(
        "the instance metadata's region_url did not answer an availability zone",
    )
    .with_hint("export AWS_REGION (e.g. `export AWS_REGION=us-east-1`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_loses_its_letter() {
        assert_eq!(region_of_zone(b"us-east-2b\n").unwrap(), "us-east-2");
        assert!(region_of_zone(b"<html>").is_err());
        assert!(region_of_zone(b"").is_err());
    }
}
