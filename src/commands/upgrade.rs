//! `/upgrade` (the plans and what each adds), `/upgrade --claude-max` and
//! `--manage-subscription`: open the page (the secret-free browser launcher; `--no-browser`
//! prints only), then, when `subscription.endpoint` is set and there is a Claude login to
//! ask it with (a stored session, or `CLAUDE_CODE_OAUTH_TOKEN`), re-check it until the plan
//! or its status changes (spinner, Ctrl-C, `subscription.waitTimeout`) and report the
//! change. Without either, the page is still opened and the report says why nothing is
//! awaited and how to see the change later.

use crate::billing::plans::{self, Plan, PlansSource};
use crate::billing::subscription::{self, Subscription, DEFAULT_MANAGE_URL, DEFAULT_UPGRADE_URL};
use crate::context::Context;
use crate::error::AuthError;
use crate::output::{notice, Outcome, Report};
use crate::redact::SafeUrl;
use crate::secret::AccessToken;
use serde::Serialize;
use std::fmt::Write;
use std::time::Duration;

const DEFAULT_POLL: u64 = 5;
const DEFAULT_WAIT: u64 = 600;

/// `/upgrade` without `--claude-max`: the plans.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plans {
    pub plans: Vec<Plan>,
    /// `config` (`subscription.plans`) or `built-in`.
    pub source: PlansSource,
    pub upgrade_url: String,
    /// Whether `--claude-max` could wait for the change (`subscription.endpoint` is set).
    #[serde(skip)]
    pub can_wait: bool,
}

impl Report for Plans {
    fn text(&self) -> String {
        let label = match self.source {
            PlansSource::Config => "from `subscription.plans` in the config",
            PlansSource::BuiltIn => "built-in list; plans change, the plans page is the authority",
        };
        let mut out = format!("Claude plans ({label}):\n");
        for plan in &self.plans {
            let _ = writeln!(out, "  {:<12} {}", plan.name, plan.summary);
            if !plan.features.is_empty() {
                let _ = writeln!(out, "  {:<12} features: {}", "", plan.features.join(", "));
            }
        }
        let after = if self.can_wait {
            "opens it and, with a Claude login, waits for the change"
        } else {
            "opens it (the page then shows your plan)"
        };
        let _ = write!(
            out,
            "\nCompare and change plans at {}; `claude /upgrade --claude-max` {after}.",
            self.upgrade_url
        );
        out
    }
}

/// `/upgrade` without `--claude-max`. Offline: the configured or built-in list.
///
/// # Errors
/// `config_error` for an unusable `subscription.upgradeUrl`.
pub fn list(ctx: &Context) -> Result<Outcome, AuthError> {
    let (plans, source) = plans::plans(ctx.loaded.config.subscription.plans.as_deref());
    Ok(Outcome::report(&Plans {
        plans,
        source,
        upgrade_url: upgrade_url(ctx)?,
        can_wait: ctx.loaded.config.subscription.endpoint.is_some(),
    }))
}

fn upgrade_url(ctx: &Context) -> Result<String, AuthError> {
    subscription::page(
        ctx.loaded.config.subscription.upgrade_url.as_deref(),
        DEFAULT_UPGRADE_URL,
        "subscription.upgradeUrl",
    )
}

/// The result of opening a page and waiting: `{url, opened, before, after}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Opened {
    pub url: String,
    pub opened: bool,
    pub before: Option<Subscription>,
    pub after: Option<Subscription>,
    /// Whether the plan or its status changed while waiting.
    pub changed: bool,
    /// Whether there was anything to wait on (`subscription.endpoint` set, and a Claude
    /// login to ask it with).
    pub waited: bool,
    /// Why nothing was awaited: `no-endpoint` or `no-login`; absent when `waited`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_waited: Option<NotWaited>,
}

/// Why `/upgrade --claude-max` or `--manage-subscription` opened the page and returned.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "kebab-case")]
pub enum NotWaited {
    /// No `subscription.endpoint`: nothing can be asked about the plan.
    NoEndpoint,
    /// An endpoint, but no Claude login (session or `CLAUDE_CODE_OAUTH_TOKEN`) to ask it with.
    NoLogin,
}

/// What the subscription endpoint is asked with: a stored session (refreshed as needed),
/// or `CLAUDE_CODE_OAUTH_TOKEN`, which is a Claude login's access token too (sent as is;
/// it cannot be refreshed).
pub enum Login {
    Session(String),
    Token(AccessToken),
}

impl Login {
    /// The Claude login in force: `CLAUDE_CODE_OAUTH_TOKEN` when it is the credential in
    /// force, else the stored session of the configured provider; `None` without either.
    ///
    /// # Errors
    /// An unreadable session file.
    pub fn find(ctx: &Context) -> Result<Option<Login>, AuthError> {
        let resolution = crate::resolve::credentials(ctx);
        if let Some(active) = resolution.active() {
            if matches!(active.source, crate::resolve::Source::OauthEnv(_)) {
                if let Some(secret) = active.secret() {
                    return Ok(Some(Login::Token(AccessToken::new(
                        secret.expose().clone(),
                    ))));
                }
            }
            if let crate::resolve::Source::Session(provider) = &active.source {
                return Ok(Some(Login::Session(provider.clone())));
            }
        }
        let provider = crate::resolve::oauth_provider(ctx);
        Ok(crate::session::load(&ctx.state_dir)?
            .sessions
            .contains_key(&provider)
            .then_some(Login::Session(provider)))
    }

    /// The plan now, from the endpoint (never the cache: a change is what is awaited);
    /// kept as the cache's new answer.
    ///
    /// # Errors
    /// The second-factor gate and the refresh for a session; the endpoint's errors.
    pub async fn ask(&self, ctx: &Context, endpoint: &SafeUrl) -> Result<Subscription, AuthError> {
        let found = match self {
            Login::Session(provider) => {
                crate::mfa::gate::session_fresh(ctx, provider)?;
                let (token, _) = crate::oauth::refresh::access_token(ctx, provider).await?;
                subscription::fetch(ctx, endpoint, &token).await?
            }
            Login::Token(token) => subscription::fetch(ctx, endpoint, token).await?,
        };
        subscription::remember(ctx, endpoint, &found);
        Ok(found)
    }
}

impl Report for Opened {
    fn text(&self) -> String {
        let headline = |s: &Option<Subscription>| {
            s.as_ref()
                .map_or("unknown".to_string(), Subscription::headline)
        };
        if !self.waited {
            let verb = if self.opened { "Opened" } else { "Open" };
            let why = match self.not_waited {
                Some(NotWaited::NoLogin) => {
                    "Nothing to wait on here: `subscription.endpoint` is set, but there is no Claude login to ask it with.\n  To see the change later: `claude --login`, then `claude --subscription-status`."
                }
                _ => {
                    "Nothing to wait on here: no `subscription.endpoint` is configured (Anthropic documents no subscription API), so the change cannot be confirmed by claude.\n  To see the change later: the page itself shows your plan."
                }
            };
            return format!("{verb} {}\n  {why}", self.url);
        }
        if self.changed {
            format!(
                "✓ The plan changed: {} → {}.",
                headline(&self.before),
                headline(&self.after)
            )
        } else {
            format!("The plan is unchanged: {}.", headline(&self.after))
        }
    }
}

/// `/upgrade --claude-max`.
///
/// # Errors
/// As [`open_and_wait`].
pub async fn claude_max(ctx: &Context, no_browser: bool) -> Result<Outcome, AuthError> {
    let url = upgrade_url(ctx)?;
    open_and_wait(ctx, &url, "upgrade to Claude Max", no_browser).await
}

/// `--manage-subscription`.
///
/// # Errors
/// As [`open_and_wait`].
pub async fn manage(ctx: &Context, no_browser: bool) -> Result<Outcome, AuthError> {
    let url = subscription::page(
        ctx.loaded.config.subscription.manage_url.as_deref(),
        DEFAULT_MANAGE_URL,
        "subscription.manageUrl",
    )?;
    open_and_wait(ctx, &url, "manage your subscription", no_browser).await
}

/// Opens `url`, then waits for the plan to change when there is something to ask.
///
/// # Errors
/// The endpoint's errors; `cancelled` on Ctrl-C or when nothing changed within
/// `subscription.waitTimeout`. Without an endpoint or a login: none, the page is opened.
async fn open_and_wait(
    ctx: &Context,
    url: &str,
    doing: &str,
    no_browser: bool,
) -> Result<Outcome, AuthError> {
    let endpoint = subscription::endpoint(ctx)?;
    let login = match &endpoint {
        Some(_) => Login::find(ctx)?,
        None => None,
    };
    let before = match (&endpoint, &login) {
        (Some(endpoint), Some(login)) => Some(login.ask(ctx, endpoint).await?),
        _ => None,
    };
    notice(&format!(
        "To {doing}, open this address in your browser:\n\n  {url}\n"
    ));
    let opened = match ctx.open_browser(url, no_browser) {
        Ok(()) => true,
        Err(why) => {
            notice(&format!("(No browser opened: {why}.)"));
            false
        }
    };
    let (Some(endpoint), Some(login), Some(before)) = (endpoint, login, before) else {
        return Ok(Outcome::report(&Opened {
            url: url.to_string(),
            opened,
            before: None,
            after: None,
            changed: false,
            waited: false,
            not_waited: Some(if ctx.loaded.config.subscription.endpoint.is_some() {
                NotWaited::NoLogin
            } else {
                NotWaited::NoEndpoint
            }),
        }));
    };
    let config = &ctx.loaded.config.subscription;
    let poll = Duration::from_secs(config.poll_interval.unwrap_or(DEFAULT_POLL).max(1));
    let wait = Duration::from_secs(config.wait_timeout.unwrap_or(DEFAULT_WAIT).max(1));
    notice(&format!(
        "Waiting for the plan to change (now {}; up to {} s, Ctrl-C to stop)…",
        before.headline(),
        wait.as_secs()
    ));
    let spinner = ctx.terminal.stderr_is_tty().then(|| {
        tokio::spawn(crate::output::spin(
            "Waiting for the plan to change… (Ctrl-C to stop)",
        ))
    });
    let mut last = before.clone();
    let watching = async {
        loop {
            tokio::time::sleep(poll).await;
            let now = login.ask(ctx, &endpoint).await?;
            let changed = !now.same_plan(&before);
            last = now;
            if changed {
                return Ok::<_, AuthError>(());
            }
        }
    };
    let result = tokio::select! {
        result = tokio::time::timeout(wait, watching) => result,
        _ = tokio::signal::ctrl_c() => Ok(Err(AuthError::cancelled("stopped waiting for the plan to change (Ctrl-C)")
            .with_hint("run `claude --subscription-status` to see the plan now"))),
    };
    if let Some(spinner) = spinner {
        spinner.abort();
        crate::output::clear_spinner();
    }
    let failure = match result {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(err),
        Err(_) => Some(
            AuthError::cancelled(format!(
                "the plan did not change within {} s",
                wait.as_secs()
            ))
            .with_hint("finish in the browser, then run `claude --subscription-status` (or raise `subscription.waitTimeout`)"),
        ),
    };
    let changed = !last.same_plan(&before);
    let report = Opened {
        url: url.to_string(),
        opened,
        before: Some(before),
        after: Some(last),
        changed,
        waited: true,
        not_waited: None,
    };
    Ok(match failure {
        None => Outcome::report(&report),
        Some(err) => Outcome::failed_report(&report, err),
    })
}
