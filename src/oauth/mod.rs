//! OAuth 2.0 and OpenID Connect: which authorization server, how to reach it, and the
//! flows (authorization code with PKCE, refresh, revocation).

pub mod callback;
pub mod client;
pub mod flow;
pub mod oidc;
pub mod refresh;
pub mod revoke;
pub mod transport;

use crate::context::Context;
use crate::error::AuthError;
use crate::http::require_secure;
use reqwest::Url;
use std::time::Duration;

/// The provider `--login` uses when `--provider` is not given.
pub const DEFAULT_PROVIDER: &str = "anthropic";
const DEFAULT_AUTH_ENDPOINT: &str = "https://api.anthropic.com/oauth/authorize";
const DEFAULT_TOKEN_ENDPOINT: &str = "https://api.anthropic.com/oauth/token";
const DEFAULT_REDIRECT_URI: &str = "http://localhost:8080/callback";
const DEFAULT_SCOPES: [&str; 2] = ["read", "write"];
/// How long `--login` waits for the browser unless `oauth.loginTimeout` says otherwise.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// Everything needed to talk to one authorization server.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    pub name: String,
    pub client_id: String,
    pub auth_url: Url,
    pub token_url: Url,
    pub revocation_url: Option<Url>,
    pub redirect_uri: Url,
    pub scopes: Vec<String>,
    /// The OpenID Connect issuer, when the provider is one (endpoints then come from discovery).
    pub issuer: Option<String>,
    pub jwks_uri: Option<Url>,
    /// The OpenID provider's `userinfo_endpoint` (from discovery): the account's email when
    /// the ID token carries none.
    pub userinfo_url: Option<Url>,
    /// The server promises `iss` on the callback (RFC 9207).
    pub iss_on_callback: bool,
    /// Where each setting lives, for error messages (`oauth` or `oauth.providers.NAME`).
    pub config_path: String,
}

/// The configured settings for `name` (before discovery), with `--scopes` applied.
///
/// # Errors
/// `config_error` for an unknown provider or an unusable URL.
pub fn settings(
    ctx: &Context,
    name: &str,
    scopes: Option<&str>,
) -> Result<ProviderSettings, AuthError> {
    let oauth = &ctx.loaded.config.oauth;
    let (block, config_path) = if name == DEFAULT_PROVIDER {
        let mut top = oauth.server();
        top.issuer = top.issuer.or_else(|| sso_issuer(ctx));
        (top, "oauth".to_string())
    } else {
        let block = oauth
            .providers
            .get(name)
            .cloned()
            .ok_or_else(|| unknown_provider(ctx, name))?;
        (block, format!("oauth.providers.{name}"))
    };
    let url = |value: Option<&String>, default: &str, key: &str| -> Result<Url, AuthError> {
        let text = value.map(String::as_str).unwrap_or(default);
        let setting = format!("{config_path}.{key}");
        let parsed = Url::parse(text).map_err(|e| {
            AuthError::config(format!("`{setting}` is not a valid URL")).caused_by(e)
        })?;
        require_secure(&parsed, &format!("`{setting}`"))?;
        Ok(parsed)
    };
    let scopes: Vec<String> = match scopes {
        Some(list) => list.split_whitespace().map(str::to_string).collect(),
        None if !block.scopes.is_empty() => block.scopes.clone(),
        None => DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
    };
    // The redirect is checked on its own rule (loopback http), not the endpoints' (https).
    let redirect_uri = Url::parse(
        block
            .redirect_uri
            .as_deref()
            .unwrap_or(DEFAULT_REDIRECT_URI),
    )
    .map_err(|e| {
        AuthError::config(format!("`{config_path}.redirectUri` is not a valid URL")).caused_by(e)
    })?;
    if redirect_uri.scheme() != "http" || !crate::redact::is_loopback(&redirect_uri) {
        return Err(AuthError::config(format!(
            "`{config_path}.redirectUri` must be a loopback http:// URL (RFC 8252), e.g. {DEFAULT_REDIRECT_URI}"
        )));
    }
    Ok(ProviderSettings {
        name: name.to_string(),
        // No made-up default: `require_client_id` refuses a login without one.
        client_id: block.client_id.clone().unwrap_or_default(),
        auth_url: url(
            block.auth_endpoint.as_ref(),
            DEFAULT_AUTH_ENDPOINT,
            "authEndpoint",
        )?,
        token_url: url(
            block.token_endpoint.as_ref(),
            DEFAULT_TOKEN_ENDPOINT,
            "tokenEndpoint",
        )?,
        revocation_url: match &block.revocation_endpoint {
            Some(text) => Some(url(Some(text), "", "revocationEndpoint")?),
            None => None,
        },
        redirect_uri,
        scopes,
        issuer: block.issuer.clone(),
        jwks_uri: None,
        userinfo_url: None,
        iss_on_callback: false,
        config_path,
    })
}

impl ProviderSettings {
    /// Refuses a login without `clientId`: a client id the server never registered sends
    /// people to an authorization page that cannot work.
    ///
    /// # Errors
    /// `config_error` naming the setting, and how to get a client id, in the hint.
    pub fn require_client_id(&self, ctx: &Context) -> Result<(), AuthError> {
        if !self.client_id.trim().is_empty() {
            return Ok(());
        }
        let setting = format!("{}.clientId", self.config_path);
        Err(AuthError::config(format!(
            "`{setting}` is not set: logging in to `{}` needs the client id of an OAuth client registered with its authorization server",
            self.name
        ))
        .with_hint(format!(
            "register a public client (authorization code with PKCE, redirect URI {}) with the server's administrator, then add its id as `{setting}` in {}",
            self.redirect_uri,
            ctx.loaded.path.display()
        )))
    }
}

/// The providers `--provider` accepts: `anthropic`, `github` and those of
/// `oauth.providers`, plus any with a stored session (so one removed from the config can
/// still be logged out of).
pub fn known_providers(ctx: &Context) -> Vec<String> {
    let mut known: Vec<String> = [DEFAULT_PROVIDER, "github"]
        .into_iter()
        .map(str::to_string)
        .chain(ctx.loaded.config.oauth.providers.keys().cloned())
        .collect();
    if let Ok(sessions) = crate::session::load(&ctx.state_dir) {
        known.extend(sessions.sessions.keys().cloned());
    }
    let mut seen = std::collections::BTreeSet::new();
    known.retain(|name| seen.insert(name.clone()));
    known
}

/// `--provider NAME` for every command that takes it: one check, one message.
///
/// # Errors
/// `config_error` listing the known providers.
pub fn known_provider(ctx: &Context, name: &str) -> Result<(), AuthError> {
    if known_providers(ctx).iter().any(|k| k == name) {
        return Ok(());
    }
    Err(unknown_provider(ctx, name))
}

fn unknown_provider(ctx: &Context, name: &str) -> AuthError {
    AuthError::config(format!(
        "unknown provider `{name}` (known: {})",
        known_providers(ctx).join(", ")
    ))
    .with_hint(format!(
        "add `oauth.providers.{name}` to {}",
        ctx.loaded.path.display()
    ))
}

/// `https://DOMAIN` of an enabled `compliance.ssoIntegration`.
fn sso_issuer(ctx: &Context) -> Option<String> {
    let sso = &ctx.loaded.config.compliance.sso_integration;
    let domain = sso.domain.as_deref().filter(|_| sso.enabled)?;
    Some(if domain.contains("://") {
        domain.to_string()
    } else {
        format!("https://{domain}")
    })
}

/// How long a login waits for the browser.
pub fn login_timeout(ctx: &Context) -> Duration {
    ctx.loaded
        .config
        .oauth
        .login_timeout
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_LOGIN_TIMEOUT)
}
