//! `--check-permissions`: what the configuration requires (`permissions` against the OAuth
//! scopes of the login; `github.permissions`/`repositories` against the GitHub App
//! installation) and what is missing.

use crate::context::Context;
use crate::error::AuthError;
use crate::output::Outcome;
use crate::resolve::{self, Source};
use serde_json::{json, Value};

/// Compares required and granted permissions; `insufficient_permissions` lists what is missing.
///
/// # Errors
/// `insufficient_permissions` when anything required is missing; `not_authenticated` when a
/// check needs a credential that is not there.
pub async fn run(ctx: &Context) -> Result<Outcome, AuthError> {
    let mut human = String::new();
    let mut missing = Vec::new();
    let anthropic = anthropic_part(ctx, &mut human, &mut missing)?;
    let github = github_part(ctx, &mut human, &mut missing).await?;
    if anthropic.is_null() && github.is_null() {
        human.push_str(
            "Nothing to check: no credential is in force, and the configuration requires no \
             permissions (`permissions`, `github.permissions` and `github.repositories` are empty).",
        );
    }
    if !missing.is_empty() {
        let required = ctx.loaded.config.permissions.join(" ");
        let hint = match (required.is_empty(), github.is_null()) {
            (true, _) => "grant the GitHub App what it lacks (its settings page on GitHub), then run `claude /install-github-app` again".to_string(),
            (false, true) => format!("log in again asking for them: `claude --login --scopes \"{required}\"`"),
            (false, false) => format!("log in again asking for them (`claude --login --scopes \"{required}\"`), and grant the GitHub App what it lacks"),
        };
        return Err(AuthError::insufficient_permissions(format!(
            "missing: {}",
            missing.join("; ")
        ))
        .with_hint(hint));
    }
    Ok(Outcome::ok(
        human,
        json!({ "ok": true, "anthropic": anthropic, "github": github, "missing": missing }),
    ))
}

/// The config's `permissions` against the scopes granted to the login in force.
fn anthropic_part(
    ctx: &Context,
    human: &mut String,
    missing: &mut Vec<String>,
) -> Result<Value, AuthError> {
    let required = ctx.loaded.config.permissions.clone();
    let resolution = resolve::credentials(ctx);
    let Some(active) = resolution.active() else {
        if required.is_empty() {
            return Ok(Value::Null);
        }
        return Err(resolve::no_credential(", so nothing was granted"));
    };
    let granted = match &active.source {
        Source::Session(provider) => Some(session_scopes(ctx, active.session(), provider)?),
        _ => None,
    };
    let basis = match &active.source {
        Source::Session(provider) => format!("the OAuth scopes granted to the {provider} login"),
        source => format!(
            "{} (API keys carry their workspace's permissions, not scopes)",
            source.describe()
        ),
    };
    human.push_str(&format!("Anthropic: checked against {basis}.\n"));
    for permission in &required {
        let ok = granted
            .as_ref()
            .is_none_or(|scopes| scopes.contains(permission));
        human.push_str(&format!("  {} {permission}\n", if ok { "✓" } else { "✗" }));
        if !ok {
            missing.push(permission.clone());
        }
    }
    if required.is_empty() {
        human.push_str("  (the config's `permissions` list is empty: nothing is required)\n");
    }
    Ok(json!({ "required": required, "granted": granted, "basis": basis }))
}

fn session_scopes(
    ctx: &Context,
    session: Option<&crate::session::Session>,
    provider: &str,
) -> Result<Vec<String>, AuthError> {
    match session {
        Some(session) if !session.metadata_encrypted => Ok(session.scopes.clone()),
        _ => {
            let store = ctx.store();
            Ok(crate::session::read_tokens(store.as_ref(), provider)?
                .map(|t| t.scopes)
                .unwrap_or_default())
        }
    }
}

/// `github.permissions` and `github.repositories` against the GitHub App installation.
async fn github_part(
    ctx: &Context,
    human: &mut String,
    missing: &mut Vec<String>,
) -> Result<Value, AuthError> {
    let github = &ctx.loaded.config.github;
    if github.permissions.is_empty() && github.repositories.is_empty() {
        return Ok(Value::Null);
    }
    // Refresh first when needed: the check itself runs inside the runtime.
    crate::providers::github::access_token(ctx).await?;
    let http = ctx.http()?;
    let report = crate::providers::github::check_permissions(ctx, http).await?;
    human.push_str("GitHub: checked against the GitHub App installation.\n");
    for (name, level) in &report.required {
        let lacking = report
            .missing
            .iter()
            .any(|m| m.starts_with(&format!("{name}:")));
        human.push_str(&format!(
            "  {} {name}: {level}\n",
            if lacking { "✗" } else { "✓" }
        ));
    }
    for line in report.missing.iter().filter(|m| !m.contains(':')) {
        human.push_str(&format!("  ✗ {line}\n"));
    }
    missing.extend(report.missing.iter().cloned());
    serde_json::to_value(&report)
        .map_err(|e| AuthError::internal("cannot encode the report").caused_by(e))
}
