//! SSO-OIDC `CreateToken` with the refresh grant, the one request that renews an IAM
//! Identity Center token: `POST {endpoint}/token` with JSON, through `http::send`, not
//! retried; its answer parsed strictly and bounded, a refusal shown by its OAuth error code
//! only.

use super::credentials::header_safe;
use crate::context::Context;
use crate::envvars;
use crate::error::{AuthError, ErrorCode};
use crate::secret::Secret;
use reqwest::Client;
use serde::{Deserialize, Serialize};

/// Who answers a refresh, for messages.
const SERVICE: &str = "IAM Identity Center OIDC";

/// What a refresh presents: the cache file's refresh token and client registration, and
/// the `sso_region` whose SSO-OIDC endpoint takes them.
pub(super) struct Grant<'a> {
    pub region: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a Secret<String>,
    pub refresh_token: &'a Secret<String>,
}

/// What `CreateToken` gave.
pub(super) struct Fresh {
    pub access_token: Secret<String>,
    /// `expiresIn`, at most a day.
    pub lifetime: std::time::Duration,
    /// A rotated refresh token; `None` keeps the old one.
    pub refresh_token: Option<Secret<String>>,
}

/// `CreateToken`'s request body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    grant_type: &'static str,
    refresh_token: &'a str,
}

/// `CreateToken`'s answer; `tokenType` and `idToken` are not used.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

/// One `CreateToken` call with the refresh grant: `POST {endpoint}/token`, JSON, not
/// retried (the refresh token may be single-use).
pub(super) async fn create_token(
    ctx: &Context,
    client: &Client,
    grant: &Grant<'_>,
) -> Result<Fresh, AuthError> {
    let (mut url, setting) = super::fetch::endpoint(
        ctx,
        &[
            envvars::AWS_ENDPOINT_URL_SSO_OIDC,
            envvars::AWS_ENDPOINT_URL,
        ],
        || super::aws_url("oidc", grant.region, "sso_region"),
    )?;
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().push("token");
    }
    let body = crate::secret::to_secret_json(&Request {
        client_id: grant.client_id,
        client_secret: grant.client_secret.expose(),
        grant_type: "refresh_token",
        refresh_token: grant.refresh_token.expose(),
    })
    .map_err(|e| AuthError::internal("cannot encode the refresh request").caused_by(e))?;
    let request = client
        .post(url.clone())
        .header("content-type", "application/json")
        .body(body.expose().clone());
    let reply = super::fetch::send(ctx, &url, setting, SERVICE, request).await?;
    if !reply.status.is_success() {
        return Err(refused(&reply));
    }
    let body = Secret::new(reply.body);
    let answer: Answer = serde_json::from_slice(body.expose()).map_err(|_| {
        AuthError::provider(format!(
            "{SERVICE} answered with something other than its JSON"
        ))
    })?;
    let access_token = answer
        .access_token
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .ok_or_else(|| AuthError::provider(format!("{SERVICE} answered without an accessToken")))?;
    let lifetime = answer
        .expires_in
        .filter(|s| *s > 0)
        .map(crate::limits::lifetime)
        .ok_or_else(|| AuthError::provider(format!("{SERVICE} answered without expiresIn")))?;
    header_safe(access_token.expose(), "the refreshed SSO access token")?;
    Ok(Fresh {
        access_token,
        lifetime,
        refresh_token: answer
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(Secret::new),
    })
}

/// The error for a refused refresh: the OAuth error code (`error` in the body, else the
/// `x-amzn-ErrorType` exception name), letters, digits and `_` only; never the description.
fn refused(reply: &crate::http::Reply) -> AuthError {
    let from_body = || {
        let value: serde_json::Value = serde_json::from_slice(&reply.body).ok()?;
        Some(value.get("error")?.as_str()?.to_string())
    };
    let from_header = || {
        let value = reply.headers.get("x-amzn-errortype")?.to_str().ok()?;
        Some(value.split(':').next().unwrap_or(value).to_string())
    };
    let code = from_body()
        .or_else(from_header)
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    let status = reply.status.as_u16();
    let text = format!("{SERVICE} refused the refresh token (HTTP {status}{code})");
    match status {
        400 | 401 | 403 => AuthError::new(ErrorCode::ExpiredToken, text),
        _ => AuthError::provider(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_refresh_names_the_oauth_error_and_never_the_description() {
        let reply = |status: u16, body: &str, header: Option<&str>| {
            let mut headers = reqwest::header::HeaderMap::new();
            if let Some(h) = header {
                headers.insert("x-amzn-errortype", h.parse().unwrap());
            }
            crate::http::Reply {
                status: reqwest::StatusCode::from_u16(status).unwrap(),
                headers,
                body: body.as_bytes().to_vec(),
                elapsed: std::time::Duration::ZERO,
                attempts: 1,
            }
        };
        let err = refused(&reply(
            400,
            r#"{"error":"invalid_grant","error_description":"token r-SECRET is revoked"}"#,
            Some("InvalidGrantException:http://internal.amazon.com/"),
        ));
        assert_eq!(err.code(), ErrorCode::ExpiredToken);
        assert!(
            err.message().ends_with("(HTTP 400 invalid_grant)"),
            "{}",
            err.message()
        );
        assert!(!err.message().contains("SECRET"));
        let err = refused(&reply(400, "<html>", Some("InvalidGrantException:x")));
        assert!(
            err.message().contains("InvalidGrantException"),
            "{}",
            err.message()
        );
        let err = refused(&reply(404, r#"{"error":"bad\u001b[31m"}"#, None));
        assert_eq!(err.code(), ErrorCode::ProviderError);
        assert!(err.message().ends_with("(HTTP 404)"), "{}", err.message());
    }
}
