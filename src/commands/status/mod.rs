//! `--auth-status`: offline. What is in force, from where, what it shadows, and what to do.
//! Reads only non-secret metadata: it never unlocks the keychain or runs the KDF. The JSON
//! document is built only for `--json`: the human path stays small, which keeps the
//! command's start-up cost (and resident memory) down.

pub mod report;
#[cfg(test)]
mod table;

use crate::clock::rfc3339;
use crate::config::schema::Provider;
use crate::context::Context;
use crate::error::AuthError;
use crate::output::Outcome;
use crate::resolve::{self, Candidate, Resolution, Source};
use report::{Credential, CredentialState, SessionStatus};
use serde_json::Value;
use std::fmt::Write;

const DAY: u64 = 86_400;

/// The stored key's age against `security.keyRotation`.
struct Rotation {
    created_at: u64,
    rotated_at: Option<u64>,
    previous_fingerprint: Option<String>,
    age_days: u64,
    interval_days: Option<u64>,
    due: bool,
}

/// What status reports, before it is rendered one way or the other.
struct Facts<'a> {
    resolution: &'a Resolution,
    rotation: Option<Rotation>,
    mfa: crate::mfa::Summary,
    warnings: Vec<String>,
    next_step: Option<String>,
    now: u64,
}

impl Facts<'_> {
    fn active(&self) -> Option<&Candidate> {
        self.resolution.active()
    }

    fn usable(&self) -> Option<&Candidate> {
        self.active().filter(|c| c.problem().is_none())
    }
}

/// Builds the status. Exit 0 when a usable credential resolves, `not_authenticated` otherwise.
pub fn run(ctx: &Context) -> Outcome {
    let resolution = resolve::credentials(ctx);
    resolve::explain(ctx, &resolution);
    let provider = crate::providers::active(ctx);
    if provider != crate::config::schema::Provider::Anthropic {
        return crate::commands::cloud_status::run(ctx, provider, &resolution);
    }
    let rotation = rotation_status(ctx, &resolution);
    let mfa = crate::mfa::summary(ctx);
    let warnings = warnings(ctx, &resolution, rotation.as_ref(), &mfa);
    let usable = resolution.active().is_some_and(|c| c.problem().is_none());
    let next_step = (!usable).then(|| next_step(&resolution));
    let facts = Facts {
        resolution: &resolution,
        rotation,
        mfa,
        warnings,
        next_step,
        now: ctx.clock.now(),
    };
    let (human, json) = if ctx.prefs.json {
        (String::new(), document(ctx, &facts))
    } else {
        (render(ctx, &facts), Value::Null)
    };
    if usable {
        return Outcome::ok(human, json);
    }
    let failure = AuthError::not_authenticated(match resolution.active() {
        Some(active) => format!("the credential in force ({}) cannot be used", active.source),
        None => "no Anthropic credential is configured".to_string(),
    })
    .with_hint(facts.next_step.clone().unwrap_or_default());
    Outcome::failed(human, json, failure)
}

fn document(ctx: &Context, facts: &Facts<'_>) -> Value {
    let (active, usable) = (facts.active(), facts.usable());
    let rotation = facts.rotation.as_ref().map(|r| report::Rotation {
        created_at: rfc3339(r.created_at),
        rotated_at: r.rotated_at.map(rfc3339),
        previous_fingerprint: r.previous_fingerprint.clone(),
        age_days: r.age_days,
        interval_days: r.interval_days,
        due: r.due,
        previous_until: r
            .rotated_at
            .filter(|_| r.previous_fingerprint.is_some())
            .map(|at| rfc3339(at.saturating_add(crate::policy::rotation::OVERLAP_SECS))),
    });
    let detail = report::Detail::Anthropic {
        session: facts
            .resolution
            .candidates
            .iter()
            .find(|c| c.session().is_some())
            .map(|c| Box::new(session_status(c, facts.now))),
        storage: ctx.loaded.config.authentication.storage.kind.as_str(),
        mfa: report::Mfa {
            required: facts.mfa.required,
            enrolled: facts.mfa.enrolled.is_some(),
            pending: facts.mfa.pending.is_some(),
            methods: facts.mfa.methods.clone(),
            last_verified_at: facts.mfa.last_verified_at.map(rfc3339),
        },
        rotation,
    };
    let mut report = report::StatusReport::new(ctx, crate::providers::active(ctx).as_str(), detail);
    report.authenticated = usable.is_some();
    report.method = usable.map(|c| {
        if c.source.is_api_key() {
            "api-key"
        } else {
            "oauth"
        }
        .to_string()
    });
    report.source = active.map(|c| c.source.to_string());
    report.fingerprint = active.map(|c| c.fingerprint.as_str().to_string());
    report.billing = usable.map(|c| {
        if c.source.is_api_key() {
            "api"
        } else {
            "subscription"
        }
    });
    report.shadowed = facts
        .resolution
        .shadowed()
        .map(|c| c.source.to_string())
        .collect();
    report.credentials = facts
        .resolution
        .candidates
        .iter()
        .map(|c| credential(c, active))
        .collect();
    report.warnings = facts.warnings.clone();
    report.next_step = facts.next_step.clone();
    report.to_json()
}

fn session_status(candidate: &Candidate, now: u64) -> SessionStatus {
    let session = candidate.session().expect("a session candidate");
    SessionStatus {
        provider: session.provider.clone(),
        account: session.account.clone(),
        account_encrypted: session.metadata_encrypted,
        scopes: session.scopes.clone(),
        created_at: rfc3339(session.created_at),
        last_used_at: rfc3339(session.last_used_at),
        access_token_expires_at: session.access_expires_at.map(rfc3339),
        access_token_expires_in_seconds: session.access_expires_at.map(|at| at.saturating_sub(now)),
        refreshable: session.has_refresh_token,
        state: if candidate.problem().is_some() {
            "expired"
        } else {
            "active"
        },
        reason: candidate.problem().map(str::to_string),
    }
}

fn credential(candidate: &Candidate, active: Option<&Candidate>) -> Credential {
    let is_active = active.is_some_and(|a| std::ptr::eq(a, candidate));
    let state = match (candidate.refused(), candidate.problem(), is_active) {
        (Some(_), _, _) => CredentialState::Refused,
        (None, Some(_), true) => CredentialState::Invalid,
        (None, _, true) => CredentialState::Active,
        (None, _, false) => CredentialState::Shadowed,
    };
    Credential {
        source: candidate.source.to_string(),
        fingerprint: candidate.fingerprint.as_str().to_string(),
        state,
        reason: candidate
            .refused()
            .or(candidate.problem())
            .map(str::to_string),
    }
}

fn warnings(
    ctx: &Context,
    resolution: &Resolution,
    rotation: Option<&Rotation>,
    mfa: &crate::mfa::Summary,
) -> Vec<String> {
    let mut warnings = ctx.loaded.warnings.clone();
    warnings.extend(resolution.problems.iter().map(|p| p.message().to_string()));
    let stored_usable = resolution
        .candidates
        .iter()
        .any(|c| matches!(c.source, Source::Stored(_)) && c.refused().is_none());
    if let Some(r) = rotation.filter(|r| r.due && stored_usable) {
        warnings.push(format!(
            "the stored key is {} days old and `security.keyRotation.interval` is {} days: run `claude --rotate-key`",
            r.age_days,
            r.interval_days.unwrap_or_default()
        ));
    }
    warnings.extend(mfa.warning());
    warnings
}

/// Age and due state of the stored key against `security.keyRotation`.
fn rotation_status(ctx: &Context, resolution: &Resolution) -> Option<Rotation> {
    let meta = resolution.candidates.iter().find_map(|c| c.meta())?;
    let policy = &ctx.loaded.config.security.key_rotation;
    let age = ctx.clock.now().saturating_sub(meta.created_at);
    let interval = policy.interval.filter(|_| policy.enabled);
    Some(Rotation {
        created_at: meta.created_at,
        rotated_at: meta.rotated_at,
        previous_fingerprint: meta.previous_fingerprint.clone(),
        age_days: age / DAY,
        interval_days: interval.map(|i| i / DAY),
        due: interval.is_some_and(|i| age >= i),
    })
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
        None => resolve::GET_A_CREDENTIAL.to_string(),
    }
}

fn render(ctx: &Context, facts: &Facts<'_>) -> String {
    let mut out = String::new();
    let provider = crate::providers::active(ctx).as_str();
    render_active(&mut out, facts, provider);
    for c in facts.resolution.shadowed() {
        let _ = writeln!(
            out,
            "  shadowed:     {} from {} (not used while the credential above is set)",
            c.fingerprint,
            c.source.describe()
        );
    }
    for c in facts
        .resolution
        .candidates
        .iter()
        .filter(|c| c.refused().is_some())
    {
        let _ = writeln!(
            out,
            "  refused:      {} from {}",
            c.fingerprint,
            c.source.describe()
        );
    }
    let _ = writeln!(
        out,
        "  storage:      {}{}",
        ctx.loaded.config.authentication.storage.kind.as_str(),
        crate::policy::report::storage_note(ctx)
    );
    let environment = ctx
        .loaded
        .environment
        .as_ref()
        .map_or("none", |e| e.name.as_str());
    let _ = writeln!(out, "  environment:  {environment}");
    if let Some(line) = crate::policy::ip::status_line(&ctx.loaded.config.security) {
        let _ = writeln!(out, "  ip ranges:    {line}");
    }
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
    if let Some(r) = &facts.rotation {
        let _ = writeln!(
            out,
            "  stored key:   created {}, {} days old",
            rfc3339(r.created_at),
            r.age_days
        );
    }
    if facts.mfa.required || facts.mfa.enrolled.is_some() || facts.mfa.pending.is_some() {
        let _ = writeln!(out, "  mfa:          {}", facts.mfa.describe());
    }
    let stored = facts.resolution.candidates.iter().find_map(|c| c.meta());
    for line in crate::policy::report::status_lines(ctx, Provider::Anthropic, stored) {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(refusal) = facts.resolution.refusal() {
        let _ = writeln!(out, "  why:          {}", refusal.reason);
    }
    // Config warnings were already printed on stderr as `warning:` lines.
    for warning in facts.warnings.iter().skip(ctx.loaded.warnings.len()) {
        let _ = writeln!(out, "  ! {warning}");
    }
    if let Some(step) = &facts.next_step {
        let _ = writeln!(out, "\nNext: {step}.");
    }
    out
}

fn render_active(out: &mut String, facts: &Facts<'_>, provider: &str) {
    match facts.active() {
        Some(active) if active.problem().is_none() && !active.source.is_api_key() => {
            let session = active.session().expect("a session candidate");
            let account = match (&session.account, session.metadata_encrypted) {
                // Older versions stored the server's name as sent: one line, whatever it holds.
                (Some(account), _) => crate::terminal_text::single_line(account),
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
            if let Some(at) = session.access_expires_at {
                let refresh = if session.has_refresh_token {
                    ", refreshed automatically"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "  expires:      in {} min{refresh}",
                    at.saturating_sub(facts.now) / 60
                );
            }
            let _ = writeln!(out, "  billing:      Claude subscription");
        }
        Some(active) if active.problem().is_none() => {
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
            let problem = active.problem().unwrap_or_default();
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
}
