//! RFC 7009 revocation at logout: the refresh token (which ends the grant), else the access
//! token.

use super::client::token_client;
use crate::error::{AuthError, ErrorCode};
use crate::session::{Session, Tokens};
use oauth2::{AccessToken, RefreshToken, RequestTokenError, StandardRevocableToken};
use reqwest::Url;
use std::time::Duration;

/// Revokes `tokens` at `session`'s revocation endpoint. `Ok(false)`: the provider has none.
///
/// # Errors
/// Network and server errors; the caller still forgets the session locally.
pub async fn revoke(
    session: &Session,
    tokens: &Tokens,
    timeout: Duration,
) -> Result<bool, AuthError> {
    let Some(endpoint) = &session.revocation_endpoint else {
        return Ok(false);
    };
    let revocation_url = Url::parse(endpoint).map_err(|e| {
        AuthError::storage("the session's revocation endpoint is damaged").caused_by(e)
    })?;
    crate::http::require_secure(&revocation_url, "the session's revocation endpoint")?;
    let token_url = Url::parse(&session.token_endpoint)
        .map_err(|e| AuthError::storage("the session's token endpoint is damaged").caused_by(e))?;
    let client = token_client(&session.client_id, &token_url, Some(&revocation_url));
    let token = match &tokens.refresh {
        Some(refresh) => {
            StandardRevocableToken::RefreshToken(RefreshToken::new(refresh.expose().clone()))
        }
        None => {
            StandardRevocableToken::AccessToken(AccessToken::new(tokens.access.expose().clone()))
        }
    };
    let http = crate::http::client()?;
    let send = |request| super::transport::send(&http, request, timeout);
    client
        .revoke_token(token)
        .map_err(|e| AuthError::internal("revocation is not configured").caused_by(e))?
        .request_async(&send)
        .await
        .map_err(|err| match err {
            RequestTokenError::Request(err) => err,
            RequestTokenError::ServerResponse(response) => AuthError::new(
                ErrorCode::OauthError,
                format!(
                    "the {} server refused to revoke the token ({})",
                    session.provider,
                    response.error()
                ),
            ),
            _ => AuthError::provider(format!(
                "the {} revocation endpoint answered something unexpected",
                session.provider
            )),
        })?;
    Ok(true)
}
