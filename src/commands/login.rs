//! `--login [--provider NAME] [--scopes "a b"] [--no-browser]`: OAuth 2.0 authorization code
//! with PKCE (and OpenID Connect when an issuer is configured), then a new session.

use crate::context::Context;
use crate::error::AuthError;
use crate::events::{record, AuthEvent};
use crate::oauth::flow::{self, LoginOptions, Obtained};
use crate::oauth::{self, oidc, DEFAULT_PROVIDER};
use crate::output::Outcome;
use crate::session::{self, Session};
use serde_json::json;

/// Logs in and starts a session.
///
/// # Errors
/// Configuration, callback, authorization server and storage errors; nothing stored
/// changes unless the whole login succeeds.
pub async fn run(
    ctx: &Context,
    provider: Option<&str>,
    scopes: Option<&str>,
    no_browser: bool,
) -> Result<Outcome, AuthError> {
    let name = provider.unwrap_or(DEFAULT_PROVIDER);
    if name == "github" && !ctx.loaded.config.oauth.providers.contains_key("github") {
        return crate::commands::github::login(ctx, scopes, no_browser).await;
    }
    let mut settings = oauth::settings(ctx, name, scopes)?;
    // Before discovery, the browser and the code exchange: a login whose tokens cannot be
    // kept must not spend a code (or the user's time) first.
    ctx.check_state_dir()?;
    let http = ctx.http()?;
    let budget = ctx.budget();
    let options = LoginOptions {
        env: &ctx.env,
        terminal: ctx.terminal.as_ref(),
        no_browser,
        wait: oauth::login_timeout(ctx),
        budget,
    };
    oidc::discover(http, &mut settings, budget).await?;
    // Before the browser: a code that could not be exchanged from this address would waste
    // the user's approval (`http::send` checks the exchange itself again).
    crate::policy::ip::check(&settings.token_url.clone().into(), budget).await?;
    let obtained = flow::login(http, settings, &options).await?;
    let session = start(ctx, obtained)?;
    record(
        ctx,
        &AuthEvent::LoggedIn {
            provider: &session.provider,
            account: session.account.as_deref(),
        },
    );
    let account = session
        .account
        .clone()
        .unwrap_or_else(|| "your account".to_string());
    let expiry = session
        .access_expires_at
        .map(|at| {
            format!(
                "; the access token expires in {} min and is refreshed automatically",
                at.saturating_sub(ctx.clock.now()) / 60
            )
        })
        .unwrap_or_default();
    let human = format!(
        "✓ Logged in to {} as {account} (scopes: {}){expiry}.\n  Tokens are stored in {}.",
        session.provider,
        if session.scopes.is_empty() {
            "kept encrypted".to_string()
        } else {
            session.scopes.join(" ")
        },
        crate::resolve::Source::Stored(ctx.store().kind()).describe()
    );
    Ok(Outcome::ok(
        human,
        json!({
            "loggedIn": true,
            "provider": session.provider,
            "account": session.account,
            "scopes": session.scopes,
            "sessionId": session.id,
            "accessTokenExpiresAt": session.access_expires_at.map(crate::clock::rfc3339),
            "storage": ctx.store().kind().as_str(),
        }),
    ))
}

/// Starts the session for a completed login: the one place every session begins, and so
/// the place a second-factor check belongs.
fn start(ctx: &Context, obtained: Obtained) -> Result<Session, AuthError> {
    let now = ctx.clock.now();
    let Obtained {
        tokens,
        expires_in,
        settings,
    } = obtained;
    let session = Session {
        id: session::new_id()?,
        provider: settings.name.clone(),
        account: None,
        scopes: Vec::new(),
        created_at: now,
        last_used_at: now,
        access_expires_at: expires_in.map(|d| crate::limits::expires_at(now, d)),
        access_issued_at: Some(now),
        has_refresh_token: false,
        access_fingerprint: String::new(),
        client_id: settings.client_id.clone(),
        token_endpoint: settings.token_url.to_string(),
        revocation_endpoint: settings.revocation_url.as_ref().map(ToString::to_string),
        issuer: settings.issuer.clone(),
        metadata_encrypted: false,
    };
    let store = ctx.store();
    let lock = ctx.lock()?;
    session::save(ctx, store.as_ref(), session, &tokens, &lock)
}
