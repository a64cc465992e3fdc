//! `--login [--provider NAME] [--scopes "a b"] [--no-browser]`: OAuth 2.0 authorization code
//! with PKCE (and OpenID Connect when an issuer is configured), then a new session.

use crate::context::Context;
use crate::error::AuthError;
use crate::events::{record, AuthEvent};
use crate::oauth::flow::{self, LoginOptions, Obtained};
use crate::oauth::{self, oidc, DEFAULT_PROVIDER};
use crate::output::{Outcome, Report};
use crate::session::{self, Session};
use crate::time::UnixTime;
use serde::Serialize;

/// `--login`'s result, for every provider: the session that was started.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedIn {
    /// Always `true`: a login that fails is an error.
    pub logged_in: bool,
    pub provider: String,
    /// `None` when unknown or kept encrypted (`security.sessionEncryption`).
    pub account: Option<String>,
    pub scopes: Vec<String>,
    pub session_id: String,
    pub access_token_expires_at: Option<String>,
    pub storage: &'static str,
    /// What GitHub's device flow adds: the user the token belongs to.
    #[serde(flatten)]
    pub github: Option<GithubUser>,
    /// Minutes the access token has left, for the text.
    #[serde(skip)]
    pub expires_in_min: Option<u64>,
    /// The store in words ("the keychain"), for the text.
    #[serde(skip)]
    pub stored_in: String,
}

/// The GitHub user of a device-flow login.
#[derive(Serialize)]
pub struct GithubUser {
    pub login: String,
    pub email: Option<String>,
}

impl LoggedIn {
    /// The report for `session`, just saved in the store.
    pub fn new(ctx: &Context, session: &Session, github: Option<GithubUser>) -> LoggedIn {
        let kind = ctx.store().kind();
        LoggedIn {
            logged_in: true,
            provider: session.provider.clone(),
            account: session.account.clone(),
            scopes: session.scopes.clone(),
            session_id: session.id.clone(),
            access_token_expires_at: session.access_expires_at.map(UnixTime::rfc3339),
            storage: kind.as_str(),
            stored_in: crate::resolve::Source::Stored(kind).describe(),
            github,
            expires_in_min: session
                .access_expires_at
                .map(|at| ctx.clock.now().saturating_until(at).as_secs() / 60),
        }
    }
}

impl Report for LoggedIn {
    fn text(&self) -> String {
        if let Some(user) = &self.github {
            let scopes = if self.scopes.is_empty() {
                "those of the app".to_string()
            } else {
                self.scopes.join(" ")
            };
            return format!(
                "✓ Logged in to GitHub as {} (scopes: {scopes}).\n  The token is stored in {}.",
                crate::providers::github::printable(&user.login),
                self.stored_in
            );
        }
        let account = self.account.as_deref().unwrap_or("your account");
        let scopes = if self.scopes.is_empty() {
            "kept encrypted".to_string()
        } else {
            self.scopes.join(" ")
        };
        let expiry = self
            .expires_in_min
            .map(|min| {
                format!("; the access token expires in {min} min and is refreshed automatically")
            })
            .unwrap_or_default();
        format!(
            "✓ Logged in to {} as {account} (scopes: {scopes}){expiry}.\n  Tokens are stored in {}.",
            self.provider, self.stored_in
        )
    }
}

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
    settings.require_client_id(ctx)?;
    crate::mfa::gate::require(ctx, crate::mfa::gate::Purpose::Login { provider: name })?;
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
    Ok(Outcome::report(&LoggedIn::new(ctx, &session, None)))
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
        access_expires_at: expires_in.map(|lifetime| now + lifetime),
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
