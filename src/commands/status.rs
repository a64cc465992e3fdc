//! `--auth-status`: offline. What is in force, from where, what it shadows, and what to do.
//! Reads only non-secret metadata: it never unlocks the keychain or runs the KDF.

use crate::clock::rfc3339;
use crate::config::schema::Provider;
use crate::context::Context;
use crate::error::ErrorCode;
use crate::output::Outcome;
use crate::resolve::{self, Resolution};
use serde_json::{json, Value};
use std::fmt::Write;

const DAY: u64 = 86_400;

/// Builds the status. Exit 0 when a usable credential resolves, `not_authenticated` otherwise.
pub fn run(ctx: &Context) -> Outcome {
    let resolution = resolve::api_keys(ctx);
    let config = &ctx.loaded.config;
    let provider = config.provider.unwrap_or(Provider::Anthropic);
    let storage = config.authentication.storage.kind.as_str();
    let environment = ctx.loaded.environment.as_ref().map(|env| env.name.clone());
    let active = resolution.active();
    let rotation = rotation_status(ctx, &resolution);
    let mut warnings: Vec<String> = resolution
        .problems
        .iter()
        .map(|p| p.message().to_string())
        .collect();
    if let Some(r) = &rotation {
        if r["due"] == true {
            warnings.push(format!(
                "the stored key is {} days old; `security.keyRotation.interval` asks for rotation every {} days: run `claude --rotate-key`",
                r["ageDays"], r["intervalDays"]
            ));
        }
    }
    let credentials: Vec<Value> = resolution
        .candidates
        .iter()
        .map(|c| {
            let state = if c.refused.is_some() {
                "refused"
            } else if active.is_some_and(|a| std::ptr::eq(a, c)) {
                "active"
            } else {
                "shadowed"
            };
            json!({
                "source": c.source.to_string(),
                "fingerprint": c.fingerprint.as_str(),
                "state": state,
                "reason": c.refused,
            })
        })
        .collect();
    let shadowed: Vec<String> = resolution
        .shadowed()
        .map(|c| c.source.to_string())
        .collect();
    let doc = json!({
        "authenticated": active.is_some(),
        "provider": provider.as_str(),
        "method": active.map(|_| "api-key"),
        "source": active.map(|c| c.source.to_string()),
        "fingerprint": active.map(|c| c.fingerprint.as_str()),
        "billing": active.map(|_| "api"),
        "shadowed": shadowed,
        "credentials": credentials,
        "storage": storage,
        "environment": environment,
        "configFile": ctx.loaded.path.display().to_string(),
        "configFound": ctx.loaded.file_exists,
        "rotation": rotation,
        "warnings": warnings,
        "nextStep": active.is_none().then(|| next_step(&resolution)),
    });
    let human = render(ctx, &resolution, &doc);
    let exit_code = if active.is_some() {
        0
    } else {
        ErrorCode::NotAuthenticated.exit_code()
    };
    Outcome {
        human,
        json: doc,
        exit_code,
    }
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
    match resolution.refusal() {
        Some(reason) => format!(
            "{reason}; log in with `claude --login` or choose another environment with `--env`"
        ),
        None => "store a key with `claude --set-api-key` (or export ANTHROPIC_API_KEY)".to_string(),
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
        Some(active) => {
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
    if let Some(reason) = resolution.refusal() {
        let _ = writeln!(out, "  why:          {reason}");
    }
    for warning in doc["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "  ! {}", label(warning));
    }
    if let Some(step) = doc["nextStep"].as_str() {
        let _ = writeln!(out, "\nNext: {step}.");
    }
    out
}
