//! `--login --provider github` (RFC 8628 device flow, then a session) and
//! `/install-github-app` (open the App's installation page, confirm it through the API).

use crate::commands::login::{GithubUser, LoggedIn};
use crate::context::Context;
use crate::error::AuthError;
use crate::events::{record, AuthEvent};
use crate::output::{notice, Outcome, Report};
use crate::providers::github::api::{self, Installation};
use crate::providers::github::device::{self, DeviceCode, Granted};
use crate::providers::github::{self, RecordedInstallation, Settings, PROVIDER};
use crate::secret::AccessToken;
use crate::session::{self, Session, Tokens};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// `/install-github-app`'s result: the installation found and recorded.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Installed {
    /// Always `true`: no installation is an error.
    pub installed: bool,
    pub app: String,
    pub installation_id: u64,
    /// The user or organization it is installed on.
    pub account: String,
    /// Permission name → `read` / `write` / `admin`.
    pub permissions: BTreeMap<String, String>,
    /// `all` or `selected`.
    pub repository_selection: String,
    pub repositories: Vec<String>,
    /// Entries of `github.repositories` the installation does not reach.
    pub uncovered: Vec<String>,
}

/// How often `/install-github-app` asks the API whether the installation exists yet.
const INSTALL_POLL: Duration = Duration::from_secs(2);

/// Logs in to GitHub with the device flow and starts the `github` session.
///
/// # Errors
/// `config_error` (no `github.clientId`, bad URLs), `cancelled` (denied, or the code's
/// lifetime passed), `expired_token`, `oauth_error`, network, API and storage errors;
/// nothing stored changes unless the whole login succeeds.
pub async fn login(
    ctx: &Context,
    scopes: Option<&str>,
    no_browser: bool,
) -> Result<Outcome, AuthError> {
    let settings = github::settings(ctx)?;
    let client_id = settings.client_id()?.to_string();
    let requested: Vec<String> = scopes
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    ctx.check_state_dir()?;
    crate::mfa::gate::require(ctx, crate::mfa::gate::Purpose::Login { provider: PROVIDER })?;
    let http = ctx.http()?;
    let budget = ctx.budget();
    let code = device::request_code(http, &settings, &client_id, &requested, budget).await?;
    show_code(ctx, &settings, &code, no_browser);
    let granted = device::poll(http, &settings, &client_id, &code, budget).await?;
    let user = api::user(http, &settings, &granted.access, budget).await?;
    let account = account_of(&user);
    let session = start(ctx, &settings, &client_id, granted, &account, requested)?;
    record(
        ctx,
        &AuthEvent::LoggedIn {
            provider: PROVIDER,
            account: Some(&account),
        },
    );
    let user = GithubUser {
        login: user.login,
        email: user.email,
    };
    Ok(Outcome::report(&LoggedIn::new(ctx, &session, Some(user))))
}

/// `LOGIN` or `LOGIN (email)`, printable.
fn account_of(user: &api::User) -> String {
    let login = github::printable(&user.login);
    match user.email.as_deref().filter(|e| !e.is_empty()) {
        Some(email) => format!("{login} ({})", github::printable(email)),
        None => login,
    }
}

/// Shows the user code and where to enter it (stderr), and opens the browser there.
fn show_code(ctx: &Context, settings: &Settings, code: &DeviceCode, no_browser: bool) {
    let url = match &code.verification_uri {
        Some(url) => url.clone(),
        None => {
            notice(&format!(
                "warning: GitHub sent no verification address that is safe to open (https only); use {} instead",
                settings.device_page()
            ));
            settings.device_page()
        }
    };
    notice(&format!(
        "To log in to GitHub, open this address and enter the code {}:\n\n  {url}\n",
        code.user_code
    ));
    if let Err(why) = ctx.open_browser(url.as_str(), no_browser) {
        notice(&format!("(No browser opened: {why}.)"));
    }
    notice(&format!(
        "Waiting for approval (the code expires in {} min)…",
        code.expires_in.as_secs().div_ceil(60)
    ));
}

/// Stores the GitHub session under the state lock.
fn start(
    ctx: &Context,
    settings: &Settings,
    client_id: &str,
    granted: Granted,
    account: &str,
    requested: Vec<String>,
) -> Result<Session, AuthError> {
    let now = ctx.clock.now();
    let session = Session {
        id: session::new_id()?,
        provider: PROVIDER.to_string(),
        account: None,
        scopes: Vec::new(),
        created_at: now,
        last_used_at: now,
        access_expires_at: granted.expires_in.map(|lifetime| now + lifetime),
        access_issued_at: Some(now),
        has_refresh_token: false,
        access_fingerprint: String::new(),
        client_id: client_id.to_string(),
        token_endpoint: settings.token_url().to_string(),
        revocation_endpoint: None,
        issuer: None,
        metadata_encrypted: false,
    };
    let tokens = Tokens {
        access: granted.access,
        refresh: granted.refresh,
        account: Some(account.to_string()),
        scopes: if granted.scopes.is_empty() {
            requested
        } else {
            granted.scopes
        },
    };
    let store = ctx.store();
    let lock = ctx.lock()?;
    session::save(ctx, store.as_ref(), session, &tokens, &lock)
}

/// Opens the GitHub App's installation page, waits until the installation shows up in the
/// API, and records it (with its repositories) in `STATE_DIR/github.json`.
///
/// # Errors
/// `not_authenticated` without a GitHub session, `cancelled` when no installation appears
/// within `oauth.loginTimeout`, API and storage errors.
pub async fn install_app(ctx: &Context, no_browser: bool) -> Result<Outcome, AuthError> {
    let settings = github::settings(ctx)?;
    let token = github::access_token(ctx).await?;
    let page = settings.install_page();
    notice(&format!(
        "To install the GitHub App `{}`, open this address and choose the repositories:\n\n  {page}\n",
        settings.app
    ));
    if let Err(why) = ctx.open_browser(page.as_str(), no_browser) {
        notice(&format!("(No browser opened: {why}.)"));
    }
    let wait = crate::oauth::login_timeout(ctx);
    notice(&format!(
        "Waiting for the installation to appear (up to {} s)…",
        wait.as_secs()
    ));
    let http = ctx.http()?;
    let budget = ctx.budget();
    let installation = wait_for_installation(http, &settings, &token, wait, budget).await?;
    let repositories = api::repositories(http, &settings, &token, installation.id, budget).await?;
    let recorded = RecordedInstallation {
        id: installation.id,
        app: settings.app.clone(),
        account: installation.account.clone(),
        permissions: installation.permissions.clone(),
        repository_selection: installation.repository_selection.clone(),
        repositories: repositories.clone(),
        api_url: settings.api_url.to_string(),
        recorded_at: ctx.clock.now(),
    };
    {
        let lock = ctx.lock()?;
        github::record(ctx, recorded, &lock)?;
    }
    let wanted = &ctx.loaded.config.github.repositories;
    let uncovered = github::uncovered(wanted, Some(&installation), &repositories);
    Ok(Outcome::report(&Installed {
        installed: true,
        app: settings.app,
        installation_id: installation.id,
        account: installation.account,
        permissions: installation.permissions,
        repository_selection: installation.repository_selection,
        repositories,
        uncovered,
    }))
}
/// Polls `/user/installations` every 2 s until `github.app`'s installation appears.
async fn wait_for_installation(
    http: &reqwest::Client,
    settings: &Settings,
    token: &AccessToken,
    wait: Duration,
    budget: crate::http::Budget,
) -> Result<Installation, AuthError> {
    let watching = async {
        loop {
            if let Some(found) = api::find_installation(http, settings, token, budget).await? {
                return Ok::<_, AuthError>(found);
            }
            tokio::time::sleep(INSTALL_POLL).await;
        }
    };
    match tokio::time::timeout(wait, watching).await {
        Ok(result) => result,
        Err(_) => Err(AuthError::cancelled(format!(
            "the GitHub App `{}` did not appear among your installations within {} s",
            settings.app,
            wait.as_secs()
        ))
        .with_hint("finish the installation in the browser, then run `claude /install-github-app` again (or raise `oauth.loginTimeout`)")),
    }
}

impl Report for Installed {
    /// Every server-provided string made printable.
    fn text(&self) -> String {
        let listed = |items: &[String]| -> String {
            let shown: Vec<String> = items.iter().map(|r| github::printable(r)).collect();
            shown.join(", ")
        };
        let account = github::printable(&self.account);
        let permissions: Vec<String> = self
            .permissions
            .iter()
            .map(|(k, v)| format!("{}: {}", github::printable(k), github::printable(v)))
            .collect();
        let permissions = if permissions.is_empty() {
            "none".to_string()
        } else {
            permissions.join(", ")
        };
        let reach = match (self.repository_selection.as_str(), &self.repositories[..]) {
            ("all", _) => format!("all repositories of {account}"),
            (_, []) => "no repositories yet".to_string(),
            (_, listed_repos) => listed(listed_repos),
        };
        let mut human = format!(
            "✓ The GitHub App `{}` is installed on {account} (installation {}).\n  Permissions: {permissions}\n  Repositories: {reach}\n",
            self.app, self.installation_id,
        );
        if !self.uncovered.is_empty() {
            let _ = writeln!(
                human,
                "! Not covered (from `github.repositories`): {}\n  Add them on the installation's settings page, then run `claude /install-github-app` again.",
                listed(&self.uncovered)
            );
        }
        human
    }
}
