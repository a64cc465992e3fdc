//! `--check-permissions`: what the configuration requires (`permissions`, GitHub
//! `github.permissions`/`repositories`) against what the credential in force was granted.

use crate::context::Context;
use crate::error::AuthError;
use crate::output::Outcome;
use crate::resolve::{self, Source};
use serde_json::json;

/// Compares required and granted permissions; `insufficient_permissions` lists what is missing.
///
/// # Errors
/// `insufficient_permissions` when anything required is missing; `not_authenticated` when no
/// credential is in force.
pub fn run(ctx: &Context) -> Result<Outcome, AuthError> {
    let required: Vec<String> = ctx.loaded.config.permissions.clone();
    let resolution = resolve::credentials(ctx);
    let active = resolution.active().ok_or_else(|| {
        AuthError::not_authenticated("no credential is in force, so nothing was granted").with_hint(
            "log in with `claude --login`, or store an API key with `claude --set-api-key`",
        )
    })?;
    let (granted, basis): (Option<Vec<String>>, String) = match &active.source {
        Source::Session(provider) => {
            let session = active.session.as_ref().expect("a session candidate");
            let scopes = if session.metadata_encrypted {
                let store = ctx.store();
                crate::session::read_tokens(store.as_ref(), provider)?
                    .map(|t| t.scopes)
                    .unwrap_or_default()
            } else {
                session.scopes.clone()
            };
            (
                Some(scopes),
                format!("the OAuth scopes granted to the {provider} login"),
            )
        }
        source => (
            None,
            format!(
                "{} (API keys carry their workspace's permissions, not scopes)",
                source.describe()
            ),
        ),
    };
    let missing: Vec<String> = match &granted {
        Some(scopes) => required
            .iter()
            .filter(|r| !scopes.contains(r))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let mut human = String::new();
    human.push_str(&format!("Checked against {basis}.\n"));
    for permission in &required {
        let ok = !missing.contains(permission);
        human.push_str(&format!("  {} {permission}\n", if ok { "✓" } else { "✗" }));
    }
    if required.is_empty() {
        human.push_str("  (the config's `permissions` list is empty: nothing is required)\n");
    }
    if !missing.is_empty() {
        return Err(AuthError::insufficient_permissions(format!(
            "missing: {}",
            missing.join(", ")
        ))
        .with_hint(format!(
            "log in again asking for them: `claude --login --scopes \"{}\"`",
            required.join(" ")
        )));
    }
    Ok(Outcome::ok(
        human,
        json!({
            "ok": true,
            "required": required,
            "granted": granted,
            "basis": basis,
            "missing": missing,
        }),
    ))
}
