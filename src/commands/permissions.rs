//! `--check-permissions`: what the configuration requires (`permissions` against the OAuth
//! scopes of the login; `github.permissions`/`repositories` against the GitHub App
//! installation) and what is missing. Only a comparison earns ✓: a requirement that could
//! not be compared (an API key has no scopes to read) shows `–` and why, and `ok` is then
//! `null`, not `true`. A gap prints the same table, with the error beside it.

use crate::context::Context;
use crate::error::AuthError;
use crate::output::{Outcome, Report};
use crate::providers::github::PermissionReport;
use crate::resolve::{self, Source};
use serde::Serialize;
use std::fmt::Write;

/// `--check-permissions`' result: on a gap, the same report with an
/// `insufficient_permissions` error beside it.
#[derive(Serialize)]
pub struct Permissions {
    /// `true`: everything required was compared and is granted; `false`: something is
    /// missing; `null`: nothing is missing, but some requirement could not be compared.
    pub ok: Option<bool>,
    /// The config's `permissions` against the credential in force; `None` when there is
    /// neither a credential nor a requirement.
    pub anthropic: Option<Scopes>,
    /// `github.permissions` and `github.repositories` against the installation; `None` when
    /// the config requires nothing of GitHub.
    pub github: Option<PermissionReport>,
    /// What is missing (empty on success).
    pub missing: Vec<String>,
    /// Requirements that could not be compared, each with why.
    pub unchecked: Vec<String>,
    /// The next step when something is missing.
    #[serde(skip)]
    hint: Option<String>,
}

/// The Anthropic side: required permissions, the scopes granted, and what was compared.
#[derive(Serialize)]
pub struct Scopes {
    pub required: Vec<String>,
    /// The login's scopes; `None` for an API key, which carries its workspace's permissions.
    pub granted: Option<Vec<String>>,
    /// What the requirement was checked against, in words.
    pub basis: String,
    /// Each required permission: `ok`, `missing`, or `unchecked` (nothing to compare with).
    pub checks: Vec<Check>,
}

/// One required permission and how it compared.
#[derive(Serialize)]
pub struct Check {
    pub permission: String,
    pub state: CheckState,
}

/// The result of comparing one requirement.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    /// Granted: the comparison was made.
    Ok,
    /// Not granted.
    Missing,
    /// Not compared: the credential does not say what it grants.
    Unchecked,
}

impl Scopes {
    fn judge(&self, permission: &str) -> CheckState {
        match &self.granted {
            None => CheckState::Unchecked,
            Some(scopes) if scopes.iter().any(|s| s == permission) => CheckState::Ok,
            Some(_) => CheckState::Missing,
        }
    }
}

impl Report for Permissions {
    fn text(&self) -> String {
        let mut text = String::new();
        let mark = |lacking: bool| if lacking { "✗" } else { "✓" };
        if let Some(scopes) = &self.anthropic {
            let granted = scopes
                .granted
                .as_ref()
                .map_or("not known".to_string(), |g| format!("[{}]", g.join(", ")));
            let _ = writeln!(text, "Anthropic: required against {}.", scopes.basis);
            let _ = writeln!(text, "  granted: {granted}");
            for check in &scopes.checks {
                let line = match check.state {
                    CheckState::Ok => format!("✓ {}", check.permission),
                    CheckState::Missing => {
                        format!("✗ {} (required, not granted)", check.permission)
                    }
                    CheckState::Unchecked => format!(
                        "– {} (not checked: the credential does not list what it grants)",
                        check.permission
                    ),
                };
                let _ = writeln!(text, "  {line}");
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
        if !self.missing.is_empty() {
            let _ = writeln!(text, "\nMissing: {}.", self.missing.join("; "));
            if let Some(hint) = &self.hint {
                let _ = writeln!(text, "Next: {hint}.");
            }
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
    let of_state = |state: CheckState| -> Vec<String> {
        anthropic
            .iter()
            .flat_map(|s| s.checks.iter().filter(move |c| c.state == state))
            .map(|c| c.permission.clone())
            .collect()
    };
    let mut missing = of_state(CheckState::Missing);
    missing.extend(github.iter().flat_map(|g| g.missing.iter().cloned()));
    let unchecked = of_state(CheckState::Unchecked);
    if !missing.is_empty() {
        let required = ctx.loaded.config.permissions.join(" ");
        let hint = match (required.is_empty(), github.is_none()) {
            (true, _) => "grant the GitHub App what it lacks (its settings page on GitHub), then run `claude /install-github-app` again".to_string(),
            (false, true) => format!("log in again asking for them: `claude --login --scopes \"{required}\"`"),
            (false, false) => format!("log in again asking for them (`claude --login --scopes \"{required}\"`), and grant the GitHub App what it lacks"),
        };
        let failure =
            AuthError::insufficient_permissions(format!("missing: {}", missing.join("; ")))
                .with_hint(hint.clone());
        let report = Permissions {
            ok: Some(false),
            anthropic,
            github,
            missing,
            unchecked,
            hint: Some(hint),
        };
        return Ok(Outcome::failed_report(&report, failure));
    }
    let compared = anthropic.is_some() || github.is_some();
    Ok(Outcome::report(&Permissions {
        ok: (unchecked.is_empty() && compared).then_some(true),
        anthropic,
        github,
        missing,
        unchecked,
        hint: None,
    }))
}

/// The config's `permissions` against the scopes granted to the login in force.
fn anthropic_part(ctx: &Context) -> Result<Option<Scopes>, AuthError> {
    let required = ctx.loaded.config.permissions.clone();
    let resolution = resolve::credentials(ctx);
    // A store that cannot be used is said as every command says it, not as "nothing here".
    if let Some(failure) = resolution.store_failure(ctx) {
        return Err(failure.clone());
    }
    let Some(active) = resolution.active() else {
        if required.is_empty() {
            return Ok(None);
        }
        return Err(
            resolution.into_error(ctx, resolve::no_credential(ctx, ", so nothing was granted"))
        );
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
    let mut scopes = Scopes {
        required,
        granted,
        basis,
        checks: Vec::new(),
    };
    scopes.checks = scopes
        .required
        .iter()
        .map(|p| Check {
            permission: p.clone(),
            state: scopes.judge(p),
        })
        .collect();
    Ok(Some(scopes))
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
