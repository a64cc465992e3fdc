//! `--check-permissions`: what the configuration requires (`permissions` against the OAuth
//! scopes of the login; `github.permissions`/`repositories` against the GitHub App
//! installation) and what is missing.

use crate::context::Context;
use crate::error::AuthError;
use crate::output::{Outcome, Report};
use crate::providers::github::PermissionReport;
use crate::resolve::{self, Source};
use serde::Serialize;
use std::fmt::Write;

/// `--check-permissions`' result when nothing required is missing (a gap is an
/// `insufficient_permissions` error instead).
#[derive(Serialize)]
pub struct Permissions {
    /// Always `true`.
    pub ok: bool,
    /// The config's `permissions` against the credential in force; `None` when there is
    /// neither a credential nor a requirement.
    pub anthropic: Option<Scopes>,
    /// `github.permissions` and `github.repositories` against the installation; `None` when
    /// the config requires nothing of GitHub.
    pub github: Option<PermissionReport>,
    /// Always empty.
    pub missing: Vec<String>,
}

/// The Anthropic side: required permissions, the scopes granted, and what was compared.
#[derive(Serialize)]
pub struct Scopes {
    pub required: Vec<String>,
    /// The login's scopes; `None` for an API key, which carries its workspace's permissions.
    pub granted: Option<Vec<String>>,
    /// What the requirement was checked against, in words.
    pub basis: String,
}

impl Scopes {
    fn lacks(&self, permission: &str) -> bool {
        self.granted
            .as_ref()
            .is_some_and(|scopes| !scopes.iter().any(|s| s == permission))
    }
}

impl Report for Permissions {
    fn text(&self) -> String {
        let mut text = String::new();
        let mark = |lacking: bool| if lacking { "✗" } else { "✓" };
        if let Some(scopes) = &self.anthropic {
            let _ = writeln!(text, "Anthropic: checked against {}.", scopes.basis);
            for permission in &scopes.required {
                let _ = writeln!(text, "  {} {permission}", mark(scopes.lacks(permission)));
            }
            if scopes.required.is_empty() {
                text.push_str(
                    "  (the config's `permissions` list is empty: nothing is required)\n",
                );
            }
        }
        if let Some(github) = &self.github {
            text.push_str("GitHub: checked against the GitHub App installation.\n");
            for (name, level) in &github.required {
                let lacking = github
                    .missing
                    .iter()
                    .any(|m| m.starts_with(&format!("{name}:")));
                let _ = writeln!(text, "  {} {name}: {level}", mark(lacking));
            }
            for line in github.missing.iter().filter(|m| !m.contains(':')) {
                let _ = writeln!(text, "  ✗ {line}");
            }
        }
        if self.anthropic.is_none() && self.github.is_none() {
            text.push_str(
                "Nothing to check: no credential is in force, and the configuration requires no \
                 permissions (`permissions`, `github.permissions` and `github.repositories` are empty).",
            );
        }
        text
    }
}

/// Compares required and granted permissions; `insufficient_permissions` lists what is missing.
///
/// # Errors
/// `insufficient_permissions` when anything required is missing; `not_authenticated` when a
/// check needs a credential that is not there.
pub async fn run(ctx: &Context) -> Result<Outcome, AuthError> {
    let anthropic = anthropic_part(ctx)?;
    let github = github_part(ctx).await?;
    let mut missing: Vec<String> = anthropic
        .iter()
        .flat_map(|s| s.required.iter().filter(|p| s.lacks(p)).cloned())
        .collect();
    missing.extend(github.iter().flat_map(|g| g.missing.iter().cloned()));
    if !missing.is_empty() {
        let required = ctx.loaded.config.permissions.join(" ");
        let hint = match (required.is_empty(), github.is_none()) {
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
    Ok(Outcome::report(&Permissions {
        ok: true,
        anthropic,
        github,
        missing,
    }))
}

/// The config's `permissions` against the scopes granted to the login in force.
fn anthropic_part(ctx: &Context) -> Result<Option<Scopes>, AuthError> {
    let required = ctx.loaded.config.permissions.clone();
    let resolution = resolve::credentials(ctx);
    let Some(active) = resolution.active() else {
        if required.is_empty() {
            return Ok(None);
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
    Ok(Some(Scopes {
        required,
        granted,
        basis,
    }))
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
async fn github_part(ctx: &Context) -> Result<Option<PermissionReport>, AuthError> {
    let github = &ctx.loaded.config.github;
    if github.permissions.is_empty() && github.repositories.is_empty() {
        return Ok(None);
    }
    // Refresh first when needed: the check itself runs inside the runtime.
    crate::providers::github::access_token(ctx).await?;
    let http = ctx.http()?;
    Ok(Some(
        crate::providers::github::check_permissions(ctx, http).await?,
    ))
}
