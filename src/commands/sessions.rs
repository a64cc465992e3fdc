//! `--list-sessions` and `--logout [--all] [--provider NAME]`.

use crate::clock::rfc3339;
use crate::context::Context;
use crate::error::AuthError;
use crate::events::{record, AuthEvent};
use crate::output::Outcome;
use crate::resolve::{self, Source};
use crate::session::{self, Session};
use crate::terminal_text::single_line;
use serde_json::{json, Value};
use std::fmt::Write;

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
    let rows: Vec<Value> = all
        .sessions
        .values()
        .map(|s| {
            let problem = session::expiry_problem(ctx, s, now);
            json!({
                "current": current.as_deref() == Some(s.provider.as_str()),
                "id": s.id,
                "provider": s.provider,
                "account": s.account,
                "scopes": s.scopes,
                "createdAt": rfc3339(s.created_at),
                "lastUsedAt": rfc3339(s.last_used_at),
                "accessTokenExpiresAt": s.access_expires_at.map(rfc3339),
                "state": if problem.is_some() { "expired" } else { "active" },
                "reason": problem,
            })
        })
        .collect();
    let mut human = String::new();
    if rows.is_empty() {
        human.push_str("No sessions. Log in with `claude --login`.");
    } else {
        let provider = |row: &Value| row["provider"].as_str().unwrap_or("").to_string();
        // Older versions stored the server's account name as sent: one line, whatever it holds.
        let account = |row: &Value| single_line(row["account"].as_str().unwrap_or("(encrypted)"));
        // Columns as wide as their longest value, so long accounts never shift the rest.
        let width = |header: &str, cell: &dyn Fn(&Value) -> String| {
            rows.iter()
                .map(|row| cell(row).chars().count())
                .chain([header.len()])
                .max()
                .unwrap_or(0)
        };
        let (pw, aw) = (width("PROVIDER", &provider), width("ACCOUNT", &account));
        let _ = writeln!(
            human,
            "  {:<pw$} {:<aw$} {:<21} {:<21} STATE",
            "PROVIDER", "ACCOUNT", "CREATED", "LAST USED"
        );
        for row in &rows {
            let mark = if row["current"] == true { "*" } else { " " };
            let _ = writeln!(
                human,
                "{mark} {:<pw$} {:<aw$} {:<21} {:<21} {}",
                provider(row),
                account(row),
                row["createdAt"].as_str().unwrap_or(""),
                row["lastUsedAt"].as_str().unwrap_or(""),
                row["state"].as_str().unwrap_or("")
            );
        }
        if current.is_some() {
            human.push_str("* in force for API requests\n");
        }
    }
    Ok(Outcome::ok(human, json!({ "sessions": rows })))
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
    Outcome::ok(
        format!("{what}; nothing to log out of."),
        json!({ "loggedOut": [] }),
    )
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
    let mut lines = Vec::new();
    let mut report = Vec::new();
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
        let (revoked, line) = match &revocation {
            Ok(true) => (true, format!("✓ Logged out of {}: the token was revoked at the provider and removed here.", target.provider)),
            Ok(false) => (false, format!("✓ Logged out of {}: removed here (the provider offers no revocation; its token stays valid until it expires).", target.provider)),
            Err(err) => (false, format!(
                "✓ Logged out of {}: removed here, but revocation at the provider failed ({}); the token stays valid there until it expires.",
                target.provider,
                err.message()
            )),
        };
        record(
            ctx,
            &AuthEvent::LoggedOut {
                provider: &target.provider,
                revoked,
            },
        );
        report.push(
            json!({ "provider": target.provider, "revoked": revoked, "removedLocally": true,
            "revocationError": revocation.as_ref().err().map(|e| e.code().as_str()) }),
        );
        lines.push(line);
    }
    Ok(Outcome::ok(
        lines.join("\n"),
        json!({ "loggedOut": report }),
    ))
}
