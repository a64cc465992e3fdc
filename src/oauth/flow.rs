//! `--login`: authorization code with PKCE (S256, fresh verifier and state), a loopback
//! callback or a pasted redirect URL, then the code exchange and, for OpenID Connect, the
//! ID token check.

use super::callback::{Callback, CallbackServer};
use super::client::{code_error, login_client, TokenResponse};
use super::{oidc, ProviderSettings};
use crate::error::{AuthError, ErrorCode};
use crate::http::Budget;
use crate::output::notice;
use crate::secret::{AccessToken, RefreshToken};
use crate::session::Tokens;
use crate::terminal_text::single_line;
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, Scope, TokenResponse as _};
use reqwest::Url;
use std::time::Duration;

/// What a login obtained.
pub struct Obtained {
    pub tokens: Tokens,
    pub expires_in: Option<Duration>,
    pub settings: ProviderSettings,
}

/// How the login may reach the user.
pub struct LoginOptions<'a> {
    /// The environment the browser is started from (secret variables removed).
    pub env: &'a crate::envvars::Env,
    /// Where a redirect address can be pasted, and whether a spinner can be shown.
    pub terminal: &'a dyn crate::terminal::Terminal,
    pub no_browser: bool,
    pub wait: Duration,
    pub budget: Budget,
}

/// Runs the whole authorization code flow against `settings` (already discovered).
///
/// # Errors
/// `callback_port_in_use` (with nothing to paste), `cancelled` (denied or timed out),
/// `oauth_error` (state, issuer, ID token), token endpoint errors.
pub async fn login(
    http: &reqwest::Client,
    settings: ProviderSettings,
    options: &LoginOptions<'_>,
) -> Result<Obtained, AuthError> {
    let state = CsrfToken::new_random();
    let nonce = CsrfToken::new_random();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let setting = format!("{}.redirectUri", settings.config_path);
    // Bind before anything is shown or opened: a taken port must be known first.
    let mut server = match CallbackServer::bind(&settings.redirect_uri, state.secret(), &setting)
        .await
    {
        Ok(server) => Some(server),
        Err(err) if err.code() == ErrorCode::CallbackPortInUse => {
            notice(&format!("warning: {}", err.message()));
            notice(&format!("warning: {}; the browser will not reach this terminal, so paste the address it ends on below", err.hint().unwrap_or_default()));
            None
        }
        Err(err) => return Err(err),
    };
    let redirect = server
        .as_ref()
        .map(|s| s.redirect_uri().clone())
        .unwrap_or_else(|| settings.redirect_uri.clone());
    let client = login_client(&settings, &redirect);
    let mut request = client
        .authorize_url(|| state.clone())
        .set_pkce_challenge(challenge);
    for scope in &settings.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    if settings.issuer.is_some() {
        request = request.add_extra_param("nonce", nonce.secret().clone());
        // OIDC Core §11: without consent, certified providers drop `offline_access` and no
        // refresh token comes back.
        if settings.scopes.iter().any(|s| s == "offline_access") {
            request = request.add_extra_param("prompt", "consent");
        }
    }
    let (url, _) = request.url();
    notice(&format!(
        "To log in to {}, open this address in your browser:\n\n  {url}\n",
        settings.name
    ));
    let browser_opened = match server {
        Some(ref server) => {
            match crate::browser::open(
                options.env,
                server.start_url(&url).as_str(),
                options.no_browser,
            ) {
                Ok(()) => true,
                Err(why) => {
                    notice(&format!("(No browser opened: {why}.)"));
                    false
                }
            }
        }
        None => false,
    };
    if !browser_opened {
        notice(&waiting_notice(
            options.terminal.stdin_is_tty() || server.is_none(),
            &redirect,
            options.wait,
        ));
    }
    let callback = wait_for_callback(
        options.terminal,
        server.as_mut(),
        state.secret(),
        options.wait,
        browser_opened,
    )
    .await;
    drop(server);
    let callback = callback?;
    // Error callbacks are checked too: another server's "denied" must not pass as ours.
    if let Callback::Code { iss, .. } | Callback::Refused { iss, .. } = &callback {
        check_issuer(&settings, iss.as_deref())?;
    }
    let code = match callback {
        Callback::Code { code, .. } => code,
        Callback::Refused { error, .. } if error == "access_denied" => {
            return Err(AuthError::cancelled(format!(
                "the login to {} was denied in the browser (access_denied)",
                settings.name
            ))
            .with_hint("run `claude --login` again and approve the request"))
        }
        Callback::StartReused => {
            return Err(AuthError::new(
                ErrorCode::OauthError,
                "the login's start address was opened twice: another program on this machine may have read it and raced your browser; the login is stopped",
            )
            .with_hint("run `claude --login` again; on a shared machine, `--no-browser` keeps the address off every command line"))
        }
        Callback::Refused { error, .. } => {
            return Err(AuthError::new(
                ErrorCode::OauthError,
                format!(
                    "the authorization server refused the login ({})",
                    crate::redact::error_code(&error)
                ),
            ))
        }
    };
    let exchange = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier);
    let setting = format!("`{}.tokenEndpoint`", settings.config_path);
    let send = |request| super::transport::send(http, request, options.budget, &setting);
    let response: TokenResponse = exchange
        .request_async(&send)
        .await
        .map_err(|e| code_error(e, &settings.name))?;
    let mut account = response
        .extra_fields()
        .account
        .as_ref()
        .and_then(|a| a.email_address.clone());
    if settings.issuer.is_some() {
        let id_token = response.extra_fields().id_token.as_deref().ok_or_else(|| {
            AuthError::new(
                ErrorCode::OauthError,
                "the OpenID Connect provider returned no ID token",
            )
        })?;
        let claims =
            oidc::verify(http, &settings, id_token, nonce.secret(), options.budget).await?;
        let email = match claims.email {
            Some(email) => Some(email),
            None => {
                let token = AccessToken::new(response.access_token().secret().clone());
                oidc::userinfo_email(http, &settings, &token, &claims.sub, options.budget).await
            }
        };
        account = email.or(account).or(Some(claims.sub));
    }
    // The account name is the server's text, stored and then shown inside the product's own
    // lines: made one inert line here, so no later reader sees a raw line break or escape.
    let account = account.map(|name| single_line(&name));
    let scopes = match response.scopes() {
        Some(granted) => granted.iter().map(|s| s.to_string()).collect(),
        None => settings.scopes.clone(),
    };
    let tokens = Tokens {
        access: AccessToken::new(response.access_token().secret().clone()),
        refresh: response
            .refresh_token()
            .map(|r| RefreshToken::new(r.secret().clone())),
        account,
        scopes,
    };
    Ok(Obtained {
        tokens,
        expires_in: crate::limits::token_lifetime(response.expires_in()),
        settings,
    })
}

/// RFC 9207 §2.4: an `iss` on the callback is always compared with the issuer the login went
/// to, whether or not the server advertised it; a server that promised `iss` must send it.
/// A plain OAuth provider (no issuer configured) has nothing to compare with.
fn check_issuer(settings: &ProviderSettings, iss: Option<&str>) -> Result<(), AuthError> {
    let Some(expected) = &settings.issuer else {
        return Ok(());
    };
    match iss {
        Some(iss) if iss.trim_end_matches('/') == expected.trim_end_matches('/') => Ok(()),
        None if !settings.iss_on_callback => Ok(()),
        _ => Err(AuthError::new(ErrorCode::OauthError, "the callback's `iss` does not name the expected issuer; refusing the code (mix-up defence)")
            .with_hint("run `claude --login` again; if it repeats, another authorization server is interfering")),
    }
}

/// The first valid callback or pasted URL, within `wait`.
async fn wait_for_callback(
    terminal: &dyn crate::terminal::Terminal,
    server: Option<&mut CallbackServer>,
    state: &str,
    wait: Duration,
    spinner: bool,
) -> Result<Callback, AuthError> {
    let mut pasted = terminal.lines();
    let spin = (spinner && terminal.stderr_is_tty()).then(|| {
        tokio::spawn(crate::output::spin(
            "Waiting for the browser… (Ctrl-C to cancel)",
        ))
    });
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    let mut server = server;
    let mut stdin_open = true;
    let result = loop {
        tokio::select! {
            Some(callback) = async { match server.as_mut() { Some(s) => s.next().await, None => None } } => break Ok(callback),
            line = pasted.recv(), if stdin_open => match line {
                Some(line) => match parse_pasted(&line, state) {
                    Ok(callback) => break Ok(callback),
                    Err(why) => notice(&format!("{why}; paste the full address again.")),
                },
                None if server.is_none() => break Err(AuthError::new(ErrorCode::CallbackPortInUse, "the callback port is in use and nothing was pasted")
                    .with_hint("free the port or change `oauth.redirectUri`, then run `claude --login` again")),
                None => {
                    stdin_open = false;
                    notice("(stdin is closed, so nothing can be pasted; waiting for the browser's callback only.)");
                }
            },
            _ = &mut deadline => break Err(AuthError::cancelled(format!("no login callback arrived within {} s", wait.as_secs()))
                .with_hint("run `claude --login` again; on a machine without a browser use `--no-browser` and paste the address")),
        }
    };
    if let Some(spin) = spin {
        spin.abort();
        crate::output::clear_spinner();
    }
    result
}

/// What the user is told while the login waits without a browser of its own: at a terminal
/// (or when the callback port is taken, so pasting is the only way), to paste the address;
/// otherwise (stdin is a pipe or a file, e.g. a script or an IDE task) that the loopback
/// callback is awaited, where, and for how long, so a silent wait is never mistaken for a
/// hang.
fn waiting_notice(can_paste: bool, redirect: &Url, wait: Duration) -> String {
    let secs = wait.as_secs();
    let limit = if secs >= 120 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    };
    if can_paste {
        format!(
            "After you approve, paste the full address your browser was sent to (it contains \
             `code=`) and press Enter. Waiting up to {limit}."
        )
    } else {
        format!(
            "Waiting up to {limit} for the login callback on {redirect} (stdin is not a \
             terminal, so nothing can be typed here): open the address above in a browser on \
             this machine and approve; the login ends by itself when the callback arrives."
        )
    }
}

/// A pasted redirect URL (or `CODE#STATE`), accepted only with this login's state.
fn parse_pasted(text: &str, state: &str) -> Result<Callback, String> {
    let (code, given_state, error, iss) = if let Ok(url) = Url::parse(text) {
        let get = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        (get("code"), get("state"), get("error"), get("iss"))
    } else if let Some((code, given)) = text.split_once('#') {
        (Some(code.to_string()), Some(given.to_string()), None, None)
    } else {
        return Err("that is not the address from the browser (a bare code without its state is not accepted)".into());
    };
    if given_state.as_deref() != Some(state) {
        return Err("that address does not belong to this login (its state differs)".into());
    }
    match (error, code) {
        (Some(error), _) => Ok(Callback::Refused { error, iss }),
        (None, Some(code)) if !code.is_empty() => Ok(Callback::Code { code, iss }),
        _ => Err("that address carries no authorization code".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_url_needs_the_login_state() {
        let ok = parse_pasted("http://localhost:8080/callback?code=abc&state=s1", "s1");
        assert!(matches!(ok, Ok(Callback::Code { ref code, .. }) if code == "abc"));
        assert!(parse_pasted("http://localhost:8080/callback?code=abc&state=other", "s1").is_err());
        assert!(parse_pasted("abc", "s1").is_err());
        assert!(matches!(
            parse_pasted("abc#s1", "s1"),
            Ok(Callback::Code { .. })
        ));
    }
}
