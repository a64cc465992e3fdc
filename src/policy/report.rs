//! What status and `--test-auth` say about policy: which settings are managed and by which
//! files, how secrets are kept at rest, what `dataResidency` allows, and the key a rotation
//! replaced. Offline: settings and store metadata only.

use super::compliance::{self, ANTHROPIC_RESIDENCY};
use crate::config::schema::Provider;
use crate::context::Context;
use crate::error::AuthError;
use crate::storage::ItemMeta;
use serde_json::{json, Value};

/// `managed` of the status document: `None` when no managed settings were read.
pub fn managed_json(ctx: &Context) -> Option<Value> {
    let managed = &ctx.loaded.managed;
    (!managed.files.is_empty()).then(|| {
        json!({
            "files": managed.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "settings": managed.settings,
        })
    })
}

/// `compliance` of the status document: `None` when the block asks for nothing checkable.
pub fn compliance_json(ctx: &Context, provider: Provider) -> Option<Value> {
    let config = &ctx.loaded.config;
    let at_rest = config.compliance.encryption_at_rest;
    let residency = config.compliance.data_residency.as_deref();
    if !at_rest && residency.is_none() {
        return None;
    }
    let kind = config.authentication.storage.kind;
    let residency = residency.map(|policy| {
        let (state, detail) = residency_finding(ctx, provider);
        json!({ "policy": policy, "state": state, "detail": detail })
    });
    Some(json!({
        "encryptionAtRest": {
            "required": at_rest,
            "storage": kind.as_str(),
            "encrypted": compliance::at_rest(kind).is_some(),
        },
        "dataResidency": residency,
    }))
}

/// `("inside" | "outside" | "unchecked", detail)` for the provider in force.
fn residency_finding(ctx: &Context, provider: Provider) -> (&'static str, String) {
    if let Err(err) = compliance::residency(ctx) {
        return ("invalid", err.message().to_string());
    }
    if provider == Provider::Anthropic {
        return ("unchecked", ANTHROPIC_RESIDENCY.to_string());
    }
    match compliance::check_residency(ctx, provider) {
        Ok(Some(detail)) => ("inside", detail),
        Ok(None) => ("unchecked", "no region is configured".to_string()),
        Err(err) => ("outside", err.message().to_string()),
    }
}

/// The storage line's tail: how the store encrypts, when policy asks.
pub fn storage_note(ctx: &Context) -> String {
    let config = &ctx.loaded.config;
    if !config.compliance.encryption_at_rest {
        return String::new();
    }
    match compliance::at_rest(config.authentication.storage.kind) {
        Some(how) => format!(" ({how}, as `compliance.encryptionAtRest` requires)"),
        None => " (NOT encrypted at rest: refused by `compliance.encryptionAtRest`)".to_string(),
    }
}

/// Extra status lines: the managed settings, residency (Anthropic: what cannot be
/// checked), and the key the last rotation replaced, during the overlap window.
pub fn status_lines(ctx: &Context, provider: Provider, stored: Option<&ItemMeta>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(summary) = ctx.loaded.managed.summary() {
        lines.push(summary);
    }
    if let Some(policy) = &ctx.loaded.config.compliance.data_residency {
        let (state, detail) = residency_finding(ctx, provider);
        let detail = match state {
            "inside" => format!("{detail} (checked offline)"),
            _ => detail,
        };
        lines.push(format!("residency:    \"{policy}\": {detail}"));
    }
    if crate::audit::enabled(&ctx.loaded.config) {
        // Offline: the file is named, its key is not fetched (`--test-auth` checks both).
        lines.push(format!(
            "audit log:    on, {} (`claude --show-auth-logs --verify` checks it)",
            crate::audit::file::log_path(&ctx.state_dir).display()
        ));
    }
    if let Some(meta) = stored {
        if let (Some(previous), Some(at)) = (&meta.previous_fingerprint, meta.rotated_at) {
            if ctx.clock.now() < at + super::rotation::OVERLAP {
                lines.push(format!(
                    "previous key: {previous}, replaced {}; make sure it is inactive once nothing uses it ({})",
                    at.rfc3339(),
                    super::rotation::CONSOLE_KEYS_URL
                ));
            }
        }
    }
    lines
}

/// `--test-auth`'s audit-log step: `None` when auditing is off; else whether the log can be
/// appended to and whether its lines would be signed (the key is fetched, never prompted
/// for).
pub fn audit_step(ctx: &Context) -> Option<Result<String, AuthError>> {
    if !crate::audit::enabled(&ctx.loaded.config) {
        return None;
    }
    let path = crate::audit::file::log_path(&ctx.state_dir);
    Some(crate::audit::preflight(ctx).and_then(|()| {
        match crate::audit::key::KeyPlace::of(ctx).signer() {
            crate::audit::key::Signer::Key(_) => Ok(format!(
                "{} can be appended to; lines are signed with the key in the store",
                path.display()
            )),
            crate::audit::key::Signer::Unsigned(why) => Err(AuthError::storage(format!(
                "lines would be written unsigned ({why}): `--verify` cannot vouch for them"
            ))
            .with_hint("make the store's key readable without a prompt (CLAUDE_PASSPHRASE for a passphrase-sealed file, or an unlocked keychain)")),
        }
    }))
}

/// `--test-auth`'s managed-settings step.
pub fn managed_step(ctx: &Context) -> Result<String, AuthError> {
    Ok(ctx.loaded.managed.summary().unwrap_or_else(|| {
        format!(
            "none ({} holds no managed-settings.json or managed-settings.d/)",
            crate::config::managed::system_dir().display()
        )
    }))
}

/// `--test-auth`'s compliance step: storage at rest and residency; an error for a violation.
pub fn compliance_step(ctx: &Context, provider: Provider) -> Result<Option<String>, AuthError> {
    let config = &ctx.loaded.config;
    let kind = config.authentication.storage.kind;
    let mut found = Vec::new();
    if config.compliance.encryption_at_rest {
        found.push(match compliance::at_rest(kind) {
            Some(how) => format!("{} is {how}", kind.as_str()),
            None => format!("{} does not encrypt at rest", kind.as_str()),
        });
    }
    // The Anthropic API's residency cannot be checked from here: it is not a finding.
    if compliance::residency(ctx)?.is_some() && provider != Provider::Anthropic {
        match compliance::check_residency(ctx, provider)? {
            Some(detail) => found.push(detail),
            None => found.push("no region configured to check".to_string()),
        }
    }
    Ok((!found.is_empty()).then(|| found.join("; ")))
}
