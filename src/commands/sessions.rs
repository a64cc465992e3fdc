//! `--list-sessions` and `--logout [--all] [--provider NAME]`.

use crate::context::Context;
use crate::error::AuthError;
use crate::events::{record, AuthEvent};
use crate::output::{Outcome, Report};
use crate::resolve::{self, Source};
use crate::session::{self, Session};
use crate::terminal_text::single_line;
use crate::time::UnixTime;
use serde::Serialize;
use std::fmt::Write;

/// `--list-sessions`' result.
#[derive(Serialize)]
pub struct SessionList {
    pub sessions: Vec<SessionRow>,
}

/// One session, as `--list-sessions` shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRow {
    /// The session in force for API requests (`*` in the table).
    pub current: bool,
    pub id: String,
    pub provider: String,
    pub account: Option<String>,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub access_token_expires_at: Option<String>,
    /// `active` or `expired`.
    pub state: &'static str,
    /// Why it is `expired`.
    pub reason: Option<String>,
}

impl Report for SessionList {
    fn text(&self) -> String {
        let rows = &self.sessions;
        if rows.is_empty() {
            return "No sessions. Log in with `claude --login`.".to_string();
        }
        // Older versions stored the server's account name as sent: one line, whatever it holds.
        let account =
            |row: &SessionRow| single_line(row.account.as_deref().unwrap_or("(encrypted)"));
        // Columns as wide as their longest value, so long accounts never shift the rest.
        let width = |header: &str, cell: &dyn Fn(&SessionRow) -> String| {
            rows.iter()
                .map(|row| cell(row).chars().count())
                .chain([header.len()])
                .max()
                .unwrap_or(0)
        };
        let pw = width("PROVIDER", &|row| row.provider.clone());
        let aw = width("ACCOUNT", &account);
        let mut text = String::new();
        let _ = writeln!(
            text,
            "  {:<pw$} {:<aw$} {:<21} {:<21} STATE",
            "PROVIDER", "ACCOUNT", "CREATED", "LAST USED"
        );
        for row in rows {
            let _ = writeln!(
                text,
                "{} {:<pw$} {:<aw$} {:<21} {:<21} {}",
                if row.current { "*" } else { " " },
                row.provider,
                account(row),
                row.created_at,
                row.last_used_at,
                row.state
            );
        }
        if rows.iter().any(|row| row.current) {
            text.push_str("* in force for API requests\n");
        }
        text
    }
}

/// `--logout`'s result: the sessions ended, each with what happened at its provider.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedOut {
    pub logged_out: Vec<Ended>,
    /// What the text says when there was nothing to log out of.
    #[serde(skip)]
    pub nothing: String,
}

/// One session ended by `--logout`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ended {
    pub provider: String,
    /// The provider's revocation endpoint accepted the token (RFC 7009).
    pub revoked: bool,
    /// Always `true`: the session is forgotten even when revocation fails.
    pub removed_locally: bool,
    /// The error code of a failed revocation.
    pub revocation_error: Option<&'static str>,
    /// The failed revocation's message, for the text.
    #[serde(skip)]
    pub revocation_message: Option<String>,
}

impl Report for LoggedOut {
    fn text(&self) -> String {
        if self.logged_out.is_empty() {
            return self.nothing.clone();
        }
        let lines: Vec<String> = self.logged_out.iter().map(Ended::line).collect();
        lines.join("\n")
    }
}

impl Ended {
    fn line(&self) -> String {
        let provider = &self.provider;
        match (&self.revocation_message, self.revoked) {
            (_, true) => format!("✓ Logged out of {provider}: the token was revoked at the provider and removed here."),
            (None, false) => format!("✓ Logged out of {provider}: removed here (the provider offers no revocation; its token stays valid until it expires)."),
            (Some(why), false) => format!(
                "✓ Logged out of {provider}: removed here, but revocation at the provider failed ({why}); the token stays valid there until it expires."
            ),
        }
    }
}

/// Lists sessions, marking the one in force. Offline.
///
/// # Errors
/// `storage_error` when `sessions.json` cannot be read.
pub fn list(ctx: &Context) -> Result<Outcome, AuthError> {
    let all = session::load(&ctx.state_dir)?;
    let resolution = resolve::credentials(ctx);
    let current = resolution
        .active()
        .filter(|c| c.problem().is_none())
        .and_then(|c| match &c.source {
            Source::Session(provider) => Some(provider.clone()),
            _ => None,
        });
    let now = ctx.clock.now();
    let sessions = all
        .sessions
        .values()
        .map(|s| {
            let problem = session::expiry_problem(ctx, s, now);
            SessionRow {
                current: current.as_deref() == Some(s.provider.as_str()),
                id: s.id.clone(),
                provider: s.provider.clone(),
                account: s.account.clone(),
                scopes: s.scopes.clone(),
                created_at: s.created_at.rfc3339(),
                last_used_at: s.last_used_at.rfc3339(),
                access_token_expires_at: s.access_expires_at.map(UnixTime::rfc3339),
                state: if problem.is_some() {
                    "expired"
                } else {
                    "active"
                },
                reason: problem,
            }
        })
        .collect();
    Ok(Outcome::report(&SessionList { sessions }))
}

/// "There is no anthropic session; nothing to log out of."
fn nothing_to_log_out(ctx: &Context, provider: Option<&str>, all: bool) -> Outcome {
    let what = if all {
        "There are no sessions".to_string()
    } else {
        format!(
            "There is no {} session",
            provider
                .map(str::to_string)
                .unwrap_or_else(|| resolve::oauth_provider(ctx))
        )
    };
    Outcome::report(&LoggedOut {
        logged_out: Vec::new(),
        nothing: format!("{what}; nothing to log out of."),
    })
}

/// Logs out: revokes at the provider when it can (RFC 7009), then forgets locally.
///
/// # Errors
/// Storage errors. A failed revocation is reported, and the local session is still removed.
pub async fn logout(
    ctx: &Context,
    provider: Option<&str>,
    all: bool,
) -> Result<Outcome, AuthError> {
    // Nothing was ever stored: nothing to log out of, and no state directory to create.
    if !ctx.state_dir.exists() {
        return Ok(nothing_to_log_out(ctx, provider, all));
    }
    // The lock comes first and is held to the end: a refresh running beside us would rotate
    // the token, and we would revoke the spent one and forget the live one.
    let lock = ctx.lock()?;
    let sessions = session::load(&ctx.state_dir)?;
    let targets: Vec<Session> = if all {
        sessions.sessions.values().cloned().collect()
    } else {
        let name = provider
            .map(str::to_string)
            .unwrap_or_else(|| resolve::oauth_provider(ctx));
        sessions.sessions.get(&name).cloned().into_iter().collect()
    };
    if targets.is_empty() {
        return Ok(nothing_to_log_out(ctx, provider, all));
    }
    let store = ctx.store();
    let mut ended = Vec::new();
    for target in targets {
        // Unreadable tokens stop the logout: forgetting them unrevoked would strand a live grant.
        let tokens = session::read_tokens(store.as_ref(), &target.provider)?;
        let revocation = match &tokens {
            Some(tokens) => {
                crate::oauth::revoke::revoke(ctx.http()?, &target, tokens, ctx.budget()).await
            }
            None => Ok(false),
        };
        session::forget(ctx, store.as_ref(), &target.provider, &lock)?;
        let revoked = matches!(revocation, Ok(true));
        record(
            ctx,
            &AuthEvent::LoggedOut {
                provider: &target.provider,
                revoked,
            },
        );
        let failed = revocation.err();
        ended.push(Ended {
            provider: target.provider,
            revoked,
            removed_locally: true,
            revocation_error: failed.as_ref().map(|e| e.code().as_str()),
            revocation_message: failed.map(|e| e.message().to_string()),
        });
    }
    Ok(Outcome::report(&LoggedOut {
        logged_out: ended,
        nothing: String::new(),
    }))
}
