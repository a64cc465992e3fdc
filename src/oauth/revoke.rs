//! RFC 7009 revocation at logout: the refresh token (which ends the grant), else the access
//! token. Built by hand because `oauth2` insists on https even for loopback test servers;
//! our own rule (https, or plain http to loopback only) applies instead.

use crate::error::{AuthError, ErrorCode};
use crate::session::{Session, Tokens};
use reqwest::Url;

/// Revokes `tokens` at `session`'s revocation endpoint. `Ok(false)`: the provider has none.
///
/// # Errors
/// Network and server errors; the caller still forgets the session locally.
pub async fn revoke(
    http: &reqwest::Client,
    session: &Session,
    tokens: &Tokens,
    budget: crate::http::Budget,
) -> Result<bool, AuthError> {
    let Some(endpoint) = &session.revocation_endpoint else {
        return Ok(false);
    };
    let url = Url::parse(endpoint).map_err(|e| {
        AuthError::storage("the session's revocation endpoint is damaged").caused_by(e)
    })?;
    crate::http::require_secure(&url, "the session's revocation endpoint")?;
    let (token, hint) = match &tokens.refresh {
        Some(refresh) => (refresh.expose().as_str(), "refresh_token"),
        None => (tokens.access.expose().as_str(), "access_token"),
    };
    // Sized for the worst case of form encoding (3 bytes per byte), so the token is never
    // left behind by a growing buffer; the body is then moved, not copied.
    let capacity = 3 * (token.len() + session.client_id.len()) + 64;
    let body: String = url::form_urlencoded::Serializer::new(String::with_capacity(capacity))
        .append_pair("token", token)
        .append_pair("token_type_hint", hint)
        .append_pair("client_id", &session.client_id)
        .finish();
    let request = http::Request::post(url.as_str())
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(body.into_bytes())
        .map_err(|e| AuthError::internal("cannot build the revocation request").caused_by(e))?;
    let setting = format!(
        "the {} session's revocation endpoint (`oauth.revocationEndpoint` when you logged in)",
        session.provider
    );
    let response = super::transport::send(http, request, budget, &setting).await?;
    // RFC 7009 §2.2: 200 whether or not the token was valid; anything else is a refusal.
    if response.status() != http::StatusCode::OK {
        return Err(AuthError::new(
            ErrorCode::OauthError,
            format!(
                "the {} server refused to revoke the token (HTTP {})",
                session.provider,
                response.status().as_u16()
            ),
        ));
    }
    Ok(true)
}
