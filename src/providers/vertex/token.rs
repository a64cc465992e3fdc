//! Google access tokens: the RFC 7523 JWT bearer grant for service accounts, the refresh
//! grant for authorized users, and what Google's token endpoint means when it refuses.

use super::file::{AuthorizedUser, CredentialFile, GoogleCredential, ServiceAccount};
use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::redact::SafeUrl;
use crate::secret::Secret;
use crate::time::UnixTime;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;
use zeroize::Zeroizing;

/// The one scope Vertex AI needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 7523 assertions are short-lived; Google refuses more than an hour.
const ASSERTION_LIFETIME: u64 = 3600;
/// Below this, a clock difference does not explain a rejected assertion.
const SKEW_THRESHOLD: u64 = 30;

/// Next step when a service account or its key is refused.
const HINT_NEW_KEY: &str = "the account or its key may be deleted or disabled: check IAM & \
    Admin → Service Accounts, or create a new key";
/// Next step when a user's credentials are refused.
const HINT_LOGIN: &str = "run `gcloud auth application-default login` again";
/// Next step when the clock is off.
const HINT_CLOCK: &str = "set the clock right (e.g. `timedatectl set-ntp true`) and try again";

/// A new access token.
pub struct Fresh {
    pub token: Secret<String>,
    /// When it was received: with `expires_at`, the lifetime the cache's margin is a share of.
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    scope: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenReply {
    #[serde(default, deserialize_with = "secret")]
    access_token: Option<Secret<String>>,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorReply {
    error: Option<String>,
    error_description: Option<String>,
}

fn secret<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Secret<String>>, D::Error> {
    Ok(Option::<String>::deserialize(de)?.map(Secret::new))
}

/// Exchanges the credential for an access token at its `token_uri` (one request, no retry).
///
/// # Errors
/// `config_error` (unusable key), `oauth_error` (rejected assertion, with the clock offset),
/// `invalid_api_key` / `expired_token` (rejected credential), `rate_limited`,
/// `network_error` (unreachable, timeout, 5xx), `provider_error` (non-JSON, redirects).
pub async fn fetch(
    ctx: &Context,
    http: &reqwest::Client,
    file: &CredentialFile,
) -> Result<Fresh, AuthError> {
    match &file.credential {
        GoogleCredential::ExternalAccount(account) => {
            super::external::fetch(ctx, http, account).await
        }
        GoogleCredential::Impersonated(imp) => {
            let source = fetch_basic(ctx, http, &file.found.path, &imp.source).await?;
            super::external::impersonate(ctx, http, &imp.url, &source.token).await
        }
        credential => fetch_basic(ctx, http, &file.found.path, credential).await,
    }
}

/// A service account's or user's token from its `token_uri`.
async fn fetch_basic(
    ctx: &Context,
    http: &reqwest::Client,
    path: &Path,
    credential: &GoogleCredential,
) -> Result<Fresh, AuthError> {
    let url = credential.token_uri();
    let shown = SafeUrl::from(url.clone());
    let form = match credential {
        GoogleCredential::ServiceAccount(sa) => jwt_form(sa, path, ctx.clock.now())?,
        GoogleCredential::AuthorizedUser(user) => refresh_form(user),
        _ => {
            return Err(AuthError::internal(
                "a federated credential reached the token endpoint path",
            ))
        }
    };
    crate::trace::step(&format!("vertex: requesting an access token from {shown}"));
    let request = http
        .post(url.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body(form.as_bytes().to_vec());
    let call = crate::http::Call {
        url: &shown,
        setting: "the credential file's `token_uri`",
        service: "Google's token service",
        budget: ctx.budget(),
        // A refresh token or a signed assertion is sent: once.
        retry: crate::http::Retry::Never,
    };
    let reply = crate::http::send(&call, request).await?;
    let body = Zeroizing::new(reply.body);
    judge(
        path,
        credential,
        &shown,
        reply.status,
        &reply.headers,
        &body,
        ctx.clock.now(),
    )
}

/// `grant_type=refresh_token` with the user's client and refresh token.
fn refresh_form(user: &AuthorizedUser) -> Zeroizing<String> {
    Zeroizing::new(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("client_id", &user.client_id)
            .append_pair("client_secret", user.client_secret.expose())
            .append_pair("refresh_token", user.refresh_token.expose())
            .finish(),
    )
}

/// `grant_type=…jwt-bearer&assertion=…` with a fresh RS256 assertion.
fn jwt_form(
    sa: &ServiceAccount,
    path: &Path,
    now: UnixTime,
) -> Result<Zeroizing<String>, AuthError> {
    let assertion = Zeroizing::new(assertion(sa, path, now)?);
    Ok(Zeroizing::new(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", JWT_BEARER)
            .append_pair("assertion", &assertion)
            .finish(),
    ))
}

/// The signed assertion: `iss` = `sub` = the account, `aud` = the token endpoint, one hour.
fn assertion(sa: &ServiceAccount, path: &Path, now: UnixTime) -> Result<String, AuthError> {
    let key = EncodingKey::from_rsa_pem(sa.private_key.expose().as_bytes())
        .map_err(|_| super::file::bad_key(path))?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = sa.private_key_id.clone();
    let claims = Claims {
        iss: &sa.client_email,
        sub: &sa.client_email,
        aud: sa.token_uri.as_str(),
        scope: SCOPE,
        iat: now.as_secs(),
        exp: now.plus_secs(ASSERTION_LIFETIME).as_secs(),
    };
    jsonwebtoken::encode(&header, &claims, &key).map_err(|_| super::file::bad_key(path))
}

/// What the token endpoint's answer means. Its text is never echoed.
fn judge(
    path: &Path,
    credential: &GoogleCredential,
    url: &SafeUrl,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: UnixTime,
) -> Result<Fresh, AuthError> {
    let shown = url;
    let content_type = crate::http::content_type(headers);
    if !content_type.ends_with("json") {
        let got = if content_type.is_empty() {
            "no content type"
        } else {
            content_type.as_str()
        };
        return Err(AuthError::provider(format!(
            "{shown} answered {got} (HTTP {}) instead of JSON",
            status.as_u16()
        ))
        .with_hint("a proxy or captive portal is in the way, or the token_uri is wrong"));
    }
    if status.is_success() {
        return parse_token(shown, body, now, ASSERTION_LIFETIME);
    }
    let reply: ErrorReply = serde_json::from_slice(body).unwrap_or(ErrorReply {
        error: None,
        error_description: None,
    });
    let offset = crate::providers::server_date(headers)
        .map(|date| date.as_secs() as i64 - now.as_secs() as i64);
    Err(refused(path, credential, status, &reply, offset))
}

/// A Google token answer (`access_token`, `expires_in`), from the OAuth token endpoint,
/// STS or the metadata server, as the token and when it ends: `default_lifetime` seconds
/// when the answer gives none, at most a day whatever it says.
///
/// # Errors
/// `provider_error` for a malformed answer, one without an access token, or one whose
/// token has already expired (`expires_in: 0`, refused as SSO-OIDC's answer is).
pub(super) fn parse_token(
    shown: &SafeUrl,
    body: &[u8],
    now: UnixTime,
    default_lifetime: u64,
) -> Result<Fresh, AuthError> {
    let reply: TokenReply = serde_json::from_slice(body)
        .map_err(|_| AuthError::provider(format!("{shown} answered a malformed token response")))?;
    let token = reply
        .access_token
        .filter(|t| !t.expose().is_empty())
        .ok_or_else(|| AuthError::provider(format!("{shown} answered without an access token")))?;
    if reply.expires_in == Some(0) {
        return Err(AuthError::provider(format!(
            "{shown} answered an access token that has already expired (expires_in 0)"
        ))
        .with_hint("try again later; if it persists, the token service is misconfigured"));
    }
    let lifetime = crate::limits::lifetime(reply.expires_in.unwrap_or(default_lifetime));
    Ok(Fresh {
        token,
        issued_at: now,
        expires_at: now + lifetime,
    })
}

/// A refusal from the token endpoint, by its OAuth error code.
fn refused(
    path: &Path,
    credential: &GoogleCredential,
    status: StatusCode,
    reply: &ErrorReply,
    offset: Option<i64>,
) -> AuthError {
    let code = reply
        .error
        .as_deref()
        .filter(|c| c.len() <= 64 && c.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    let jwt_rejected = reply
        .error_description
        .as_deref()
        .is_some_and(|d| d.starts_with("Invalid JWT"));
    let path = path.display();
    match (credential, code) {
        (GoogleCredential::ServiceAccount(sa), Some("invalid_grant")) if jwt_rejected => {
            assertion_rejected(sa, offset)
        }
        (
            GoogleCredential::ServiceAccount(sa),
            Some(code @ ("invalid_grant" | "invalid_client" | "unauthorized_client")),
        ) => AuthError::invalid_api_key(format!(
            "Google refused the service account {} from {path} ({code})",
            sa.client_email
        ))
        .with_hint(HINT_NEW_KEY),
        (GoogleCredential::AuthorizedUser(_), Some("invalid_grant")) => AuthError::new(
            ErrorCode::ExpiredToken,
            format!(
                "the Google user credentials in {path} have expired or been revoked \
                 (invalid_grant)"
            ),
        )
        .with_hint(HINT_LOGIN),
        (
            GoogleCredential::AuthorizedUser(_),
            Some(code @ ("invalid_client" | "unauthorized_client")),
        ) => AuthError::invalid_api_key(format!(
            "Google refused the OAuth client in {path} ({code})"
        ))
        .with_hint(HINT_LOGIN),
        (_, code) => AuthError::new(
            ErrorCode::OauthError,
            format!(
                "Google's token endpoint refused the request (HTTP {}, {})",
                status.as_u16(),
                code.unwrap_or("no error code")
            ),
        )
        .with_hint("check the credential file; run with `--debug-auth` to see the exchange"),
    }
}

/// "Invalid JWT…": almost always the clock; say by how much, from the server's `Date`.
fn assertion_rejected(sa: &ServiceAccount, offset: Option<i64>) -> AuthError {
    let lead = format!(
        "Google rejected the signed JWT of service account {} (invalid_grant)",
        sa.client_email
    );
    let (message, hint) = match offset {
        Some(offset) if offset.unsigned_abs() >= SKEW_THRESHOLD => {
            let side = if offset > 0 { "behind" } else { "ahead of" };
            let message = format!(
                "{lead}, probably because of clock skew: this machine's clock is {} s {side} \
                 the server's (per its Date header)",
                offset.unsigned_abs()
            );
            (message, HINT_CLOCK.to_string())
        }
        Some(offset) => {
            let message = format!(
                "{lead}; this machine's clock is within {} s of the server's (per its Date \
                 header), so the key itself was refused",
                offset.unsigned_abs()
            );
            (message, HINT_NEW_KEY.to_string())
        }
        None => {
            let message = format!(
                "{lead}, probably because of clock skew (the server sent no Date header to \
                 compare the clock with)"
            );
            (
                message,
                format!("{HINT_CLOCK}; if the clock is right, {HINT_NEW_KEY}"),
            )
        }
    };
    AuthError::new(ErrorCode::OauthError, message).with_hint(hint)
}
