//! Access tokens that are fresh when used: refresh shortly before one expires, safely across
//! processes (lock, re-read, refresh only if still stale, persist, then use).

use super::client::{token_client, token_error, TokenResponse};
use crate::context::Context;
use crate::error::AuthError;
use crate::secret::{AccessToken, RefreshToken};
use crate::session::{self, Session, Tokens};
use crate::time::UnixTime;
use oauth2::TokenResponse as _;
use reqwest::Url;
use std::time::Duration;

/// How long before expiry a token counts as stale, for tokens that live long.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// How long before expiry `session`'s token counts as stale: a minute, or half its lifetime
/// when it lives two minutes or less ([`crate::limits::refresh_margin`]).
pub fn refresh_margin(session: &Session) -> Duration {
    match session.access_expires_at {
        Some(expires) => {
            crate::limits::refresh_margin(REFRESH_MARGIN, session.access_issued_at, expires)
        }
        None => REFRESH_MARGIN,
    }
}

/// True when `session`'s access token expires within its refresh margin of `now`.
pub fn is_stale(session: &Session, now: UnixTime) -> bool {
    session
        .access_expires_at
        .is_some_and(|at| at <= now + refresh_margin(session))
}

/// A usable access token for `provider`'s session, refreshed first when stale and
/// `authentication.autoRefresh` is on. Use extends the idle timer when `autoExtend` is on.
///
/// # Errors
/// `not_authenticated` (no session), `expired_token` (session expired, token expired without
/// refresh, or `invalid_grant`), network and storage errors. A failed refresh never
/// overwrites the stored token set.
pub async fn access_token(
    ctx: &Context,
    provider: &str,
) -> Result<(AccessToken, Session), AuthError> {
    let store = ctx.store();
    // The whole read-check-refresh-write runs under the lock: refresh tokens are single-use.
    let lock = ctx.lock()?;
    let now = ctx.clock.now();
    let Some(mut current) = session::load(&ctx.state_dir)?.sessions.remove(provider) else {
        return Err(
            AuthError::not_authenticated(format!("there is no {provider} session"))
                .with_hint(format!("run `claude --login --provider {provider}`")),
        );
    };
    if let Some(why) = session::expiry_problem(ctx, &current, now) {
        return Err(session::expired_error(provider, &why));
    }
    let mut tokens = session::read_tokens(store.as_ref(), provider)?.ok_or_else(|| {
        AuthError::storage(format!(
            "the {provider} session's tokens are missing from {}",
            crate::resolve::Source::Stored(store.kind()).describe()
        ))
        .with_hint(format!("run `claude --login --provider {provider}`"))
    })?;
    if is_stale(&current, now) {
        if !ctx.loaded.config.authentication.auto_refresh {
            return Err(session::expired_error(
                provider,
                "the access token expired and `authentication.autoRefresh` is off",
            ));
        }
        let Some(refresh) = tokens.refresh.as_ref() else {
            return Err(session::expired_error(
                provider,
                "the access token expired and the server gave no refresh token",
            ));
        };
        ctx.detail(&format!("refreshing the {provider} access token"));
        let (fresh, expires_in) = exchange(ctx, &current, refresh).await?;
        // A response without a refresh token keeps the old one (RFC 6749 §6).
        tokens = Tokens {
            refresh: fresh.refresh.or(tokens.refresh.take()),
            access: fresh.access,
            account: tokens.account.take(),
            scopes: if fresh.scopes.is_empty() {
                std::mem::take(&mut tokens.scopes)
            } else {
                fresh.scopes
            },
        };
        current.access_expires_at = expires_in.map(|lifetime| now + lifetime);
        current.access_issued_at = Some(now);
        current.last_used_at = now;
        // Persist before use: the old refresh token is already spent at the server.
        current = session::save(ctx, store.as_ref(), current, &tokens, &lock)?;
        crate::events::record(ctx, &crate::events::AuthEvent::TokenRefreshed { provider });
    } else if ctx.loaded.config.session.auto_extend && current.last_used_at != now {
        current.last_used_at = now;
        let mut all = session::load(&ctx.state_dir)?;
        all.sessions.insert(provider.to_string(), current.clone());
        session::write(&ctx.state_dir, &all, &lock)?;
    }
    Ok((tokens.access, current))
}

/// One refresh request.
async fn exchange(
    ctx: &Context,
    current: &Session,
    refresh: &RefreshToken,
) -> Result<(Tokens, Option<Duration>), AuthError> {
    let token_url = Url::parse(&current.token_endpoint)
        .map_err(|e| AuthError::storage("the session's token endpoint is damaged").caused_by(e))?;
    crate::http::require_secure(&token_url, "the session's token endpoint")?;
    let client = token_client(&current.client_id, &token_url);
    let http = ctx.http()?;
    let budget = ctx.budget();
    let setting = format!(
        "the {} session's token endpoint (`oauth.tokenEndpoint` when you logged in)",
        current.provider
    );
    let send = |request| super::transport::send(http, request, budget, &setting);
    let token = oauth2::RefreshToken::new(refresh.expose().clone());
    let response: TokenResponse = client
        .exchange_refresh_token(&token)
        .request_async(&send)
        .await
        .map_err(|e| token_error(e, &current.provider))?;
    let tokens = Tokens {
        access: AccessToken::new(response.access_token().secret().clone()),
        refresh: response
            .refresh_token()
            .map(|r| RefreshToken::new(r.secret().clone())),
        account: None,
        scopes: response
            .scopes()
            .map(|s| s.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default(),
    };
    Ok((tokens, crate::limits::token_lifetime(response.expires_in())))
}
