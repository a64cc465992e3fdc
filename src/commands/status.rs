//! `--auth-status`: offline. What is in force, from where, what it shadows, and what to do.
//! Reads only non-secret metadata: it never unlocks the keychain or runs the KDF.

use crate::clock::rfc3339;
use crate::context::Context;
use crate::error::ErrorCode;
use crate::output::Outcome;
use crate::resolve::{self, Candidate, Resolution, Source};
use serde_json::{json, Value};
use std::fmt::Write;

const DAY: u64 = 86_400;

/// Builds the status. Exit 0 when a usable credential resolves, `not_authenticated` otherwise.
pub fn run(ctx: &Context) -> Outcome {
    let resolution = resolve::credentials(ctx);
    let provider = crate::providers::active(ctx);
    if provider != crate::config::schema::Provider::Anthropic {
        return crate::commands::cloud_status::run(ctx, provider, &resolution);
    }
    let config = &ctx.loaded.config;
    let active = resolution.active();
    let usable = active.filter(|c| c.problem.is_none());
    let rotation = rotation_status(ctx, &resolution);
    let mfa_required = config.security.mfa.enabled
        || ctx
            .loaded
            .environment
            .as_ref()
            .is_some_and(|env| env.require_mfa);
    let doc = json!({
        "authenticated": usable.is_some(),
        "provider": crate::providers::active(ctx).as_str(),
        "method": usable.map(|c| if c.source.is_api_key() { "api-key" } else { "oauth" }),
        "source": active.map(|c| c.source.to_string()),
        "fingerprint": active.map(|c| c.fingerprint.as_str()),
        "billing": usable.map(|c| if c.source.is_api_key() { "api" } else { "subscription" }),
        "session": resolution.candidates.iter().find(|c| c.session.is_some()).map(|c| session_json(c, ctx.clock.now())),
        "shadowed": resolution.shadowed().map(|c| c.source.to_string()).collect::<Vec<_>>(),
        "credentials": resolution.candidates.iter().map(|c| credential_json(c, active)).collect::<Vec<_>>(),
        "storage": config.authentication.storage.kind.as_str(),
        "environment": ctx.loaded.environment.as_ref().map(|env| env.name.clone()),
        "mfa": { "required": mfa_required },
        "configFile": ctx.loaded.path.display().to_string(),
        "configFound": ctx.loaded.file_exists,
        "rotation": rotation,
        "warnings": warnings(ctx, &resolution, rotation.as_ref(), mfa_required),
        "nextStep": usable.is_none().then(|| next_step(&resolution)),
    });
    let human = render(ctx, &resolution, &doc);
    let exit_code = match usable {
        Some(_) => 0,
        None => ErrorCode::NotAuthenticated.exit_code(),
    };
    Outcome {
        human,
        json: doc,
        exit_code,
    }
}

fn session_json(candidate: &Candidate, now: u64) -> Value {
    let session = candidate.session.as_ref().expect("a session candidate");
    json!({
        "provider": session.provider,
        "account": session.account,
        "accountEncrypted": session.metadata_encrypted,
        "scopes": session.scopes,
        "createdAt": rfc3339(session.created_at),
        "lastUsedAt": rfc3339(session.last_used_at),
        "accessTokenExpiresAt": session.access_expires_at.map(rfc3339),
        "accessTokenExpiresInSeconds": session.access_expires_at.map(|at| at.saturating_sub(now)),
        "refreshable": session.has_refresh_token,
        "state": if candidate.problem.is_some() { "expired" } else { "active" },
        "reason": candidate.problem,
    })
}

fn credential_json(candidate: &Candidate, active: Option<&Candidate>) -> Value {
    let is_active = active.is_some_and(|a| std::ptr::eq(a, candidate));
    let state = match (&candidate.refused, &candidate.problem, is_active) {
        (Some(_), _, _) => "refused",
        (None, Some(_), true) => "invalid",
        (None, _, true) => "active",
        (None, _, false) => "shadowed",
    };
    json!({
        "source": candidate.source.to_string(),
        "fingerprint": candidate.fingerprint.as_str(),
        "state": state,
        "reason": candidate.refused.as_ref().or(candidate.problem.as_ref()),
    })
}

fn warnings(
    ctx: &Context,
    resolution: &Resolution,
    rotation: Option<&Value>,
    mfa_required: bool,
) -> Vec<String> {
    let mut warnings = ctx.loaded.warnings.clone();
    warnings.extend(resolution.problems.iter().map(|p| p.message().to_string()));
    let stored_usable = resolution
        .candidates
        .iter()
        .any(|c| matches!(c.source, Source::Stored(_)) && c.refused.is_none());
    if let Some(r) = rotation.filter(|r| r["due"] == true && stored_usable) {
        warnings.push(format!(
            "the stored key is {} days old and `security.keyRotation.interval` is {} days: run `claude --rotate-key`",
            r["ageDays"], r["intervalDays"]
        ));
    }
    if mfa_required {
        warnings.push(
            "policy requires MFA; second factors cannot be enrolled or checked by this version yet"
                .to_string(),
        );
    }
    warnings
}

/// Age and due state of the stored key against `security.keyRotation`.
fn rotation_status(ctx: &Context, resolution: &Resolution) -> Option<Value> {
    let meta = resolution.candidates.iter().find_map(|c| c.meta.as_ref())?;
    let rotation = &ctx.loaded.config.security.key_rotation;
    let age = ctx.clock.now().saturating_sub(meta.created_at);
    let interval = rotation.interval.filter(|_| rotation.enabled);
    Some(json!({
        "createdAt": rfc3339(meta.created_at),
        "rotatedAt": meta.rotated_at.map(rfc3339),
        "previousFingerprint": meta.previous_fingerprint,
        "ageDays": age / DAY,
        "intervalDays": interval.map(|i| i / DAY),
        "due": interval.is_some_and(|i| age >= i),
    }))
}

fn next_step(resolution: &Resolution) -> String {
    if let Some(refusal) = resolution.refusal() {
        return refusal.next_step.clone();
    }
    match resolution.active() {
        Some(active) if active.source == Source::Env => {
            "ANTHROPIC_API_KEY does not hold an API key: fix it, or `unset ANTHROPIC_API_KEY` to use the next source".to_string()
        }
        Some(active) if !active.source.is_api_key() => {
            format!("log in again with `claude --login --provider {}`", resolve::oauth_provider_of(active))
        }
        Some(active) => format!("fix {}: it does not hold an API key", active.source.describe()),
        None => "log in with `claude --login`, or store an API key with `claude --set-api-key` (or export ANTHROPIC_API_KEY)".to_string(),
    }
}

fn render(ctx: &Context, resolution: &Resolution, doc: &Value) -> String {
    let mut out = String::new();
    let provider = doc["provider"].as_str().unwrap_or("anthropic");
    let label = |v: &Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| "none".to_string())
    };
    match resolution.active() {
        Some(active) if active.problem.is_none() && !active.source.is_api_key() => {
            let session = active.session.as_ref().expect("a session candidate");
            let account = match (&session.account, session.metadata_encrypted) {
                (Some(account), _) => account.clone(),
                (None, true) => "an account (kept encrypted)".to_string(),
                (None, false) => "an unnamed account".to_string(),
            };
            let _ = writeln!(
                out,
                "✓ Logged in to {} as {account} (OAuth)",
                session.provider
            );
            let _ = writeln!(
                out,
                "  token:        {} (from {})",
                active.fingerprint,
                active.source.describe()
            );
            if let Some(left) = doc["session"]["accessTokenExpiresInSeconds"].as_u64() {
                let refresh = if session.has_refresh_token {
                    ", refreshed automatically"
                } else {
                    ""
                };
                let _ = writeln!(out, "  expires:      in {} min{refresh}", left / 60);
            }
            let _ = writeln!(out, "  billing:      Claude subscription");
        }
        Some(active) if active.problem.is_none() => {
            let _ = writeln!(out, "✓ Authenticated to {provider} with an API key");
            let _ = writeln!(
                out,
                "  key:          {} (from {})",
                active.fingerprint,
                active.source.describe()
            );
            let _ = writeln!(
                out,
                "  billing:      API usage, billed to the key's organization"
            );
        }
        Some(active) => {
            let _ = writeln!(
                out,
                "✗ Not authenticated to {provider}: the credential in force cannot be used"
            );
            let problem = active.problem.as_deref().unwrap_or_default();
            let _ = writeln!(
                out,
                "  key:          {} (from {}): {problem}",
                active.fingerprint,
                active.source.describe()
            );
        }
        None => {
            let _ = writeln!(out, "✗ Not authenticated to {provider}");
        }
    }
    for c in resolution.shadowed() {
        let _ = writeln!(
            out,
            "  shadowed:     {} from {} (not used while the key above is set)",
            c.fingerprint,
            c.source.describe()
        );
    }
    for c in resolution.candidates.iter().filter(|c| c.refused.is_some()) {
        let _ = writeln!(
            out,
            "  refused:      {} from {}",
            c.fingerprint,
            c.source.describe()
        );
    }
    let _ = writeln!(out, "  storage:      {}", label(&doc["storage"]));
    let _ = writeln!(out, "  environment:  {}", label(&doc["environment"]));
    let config_state = if ctx.loaded.file_exists {
        ""
    } else {
        " (not present; defaults in use)"
    };
    let _ = writeln!(
        out,
        "  config:       {}{config_state}",
        ctx.loaded.path.display()
    );
    if let Some(r) = doc["rotation"].as_object() {
        let _ = writeln!(
            out,
            "  stored key:   created {}, {} days old",
            label(&r["createdAt"]),
            r["ageDays"]
        );
    }
    if let Some(refusal) = resolution.refusal() {
        let _ = writeln!(out, "  why:          {}", refusal.reason);
    }
    for warning in doc["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "  ! {}", label(warning));
    }
    if let Some(step) = doc["nextStep"].as_str() {
        let _ = writeln!(out, "\nNext: {step}.");
    }
    out
}
