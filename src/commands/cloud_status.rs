//! `--auth-status` for Bedrock and Vertex: the cloud credential in force (found offline by
//! the provider module), its settings, and the Anthropic credentials it makes irrelevant.

use crate::commands::status::report::{Credential, CredentialState, Detail, Problem, StatusReport};
use crate::config::schema::Provider;
use crate::context::Context;
use crate::error::AuthError;
use crate::output::Outcome;
use crate::resolve::Resolution;
use std::fmt::Write;

/// The status document and text for a cloud provider.
pub fn run(
    ctx: &Context,
    provider: Provider,
    resolution: &Resolution,
    verification: Option<Result<String, AuthError>>,
) -> Outcome {
    let (verification, refusal) = crate::commands::status::split(verification);
    let found = crate::commands::diagnose::cloud_info(ctx, provider);
    // Anthropic credentials are not taken by a cloud provider: each is refused, with why.
    let refused = || -> Vec<Credential> {
        resolution
            .candidates
            .iter()
            .map(|c| Credential {
                source: c.source.to_string(),
                origin: c.source.settings_file().map(|f| f.display().to_string()),
                fingerprint: (c.fingerprint.as_str() != crate::resolve::NOT_RUN)
                    .then(|| c.fingerprint.as_str().to_string()),
                state: CredentialState::Refused,
                reason: c.refused().map(str::to_string),
            })
            .collect()
    };
    let (doc, human) = match &found {
        Ok(info) => {
            let detail = Detail::Cloud {
                settings: Some(info.settings.iter().cloned().collect()),
                problem: None,
            };
            let mut report = StatusReport::new(ctx, provider.as_str(), detail);
            report.set_verification(true, verification.as_ref());
            report.method = Some(provider.as_str().to_string());
            report.source = Some(info.source.clone());
            report.fingerprint = info.fingerprint.clone();
            report.billing = Some("cloud");
            report.shadowed = info.shadowed.clone();
            report.credentials = refused();
            let (next_step, warning) = crate::commands::status::check_advice(refusal.as_ref());
            report.warnings.extend(warning);
            report.next_step.clone_from(&next_step);
            let doc = report.to_json();
            let mut human = crate::commands::status::claim(
                verification.as_ref(),
                &format!("Using {} with {}", provider.as_str(), info.description),
                &format!(
                    "Authenticated to {} with {}",
                    provider.as_str(),
                    info.description
                ),
                provider.as_str(),
            );
            human.push('\n');
            if let Some(fp) = &info.fingerprint {
                let _ = writeln!(human, "  credential:   {fp}");
            }
            for (key, value) in &info.settings {
                let _ = writeln!(human, "  {:<13} {value}", format!("{key}:"));
            }
            let _ = writeln!(
                human,
                "  billing:      your {} account",
                if provider == Provider::Bedrock {
                    "AWS"
                } else {
                    "Google Cloud"
                }
            );
            for shadowed in &info.shadowed {
                let _ = writeln!(human, "  shadowed:     {shadowed}");
            }
            for c in &resolution.candidates {
                let _ = writeln!(
                    human,
                    "  ignored:      {} from {} (Anthropic credentials are not used with {})",
                    c.fingerprint,
                    c.source.describe(),
                    provider.as_str()
                );
            }
            for line in crate::policy::report::status_lines(ctx, provider, None) {
                let _ = writeln!(human, "  {line}");
            }
            for line in crate::config::claude_code::report::status_lines(ctx) {
                let _ = writeln!(human, "  claude code:  {line}");
            }
            if let Some(step) = next_step {
                let _ = writeln!(human, "{}", crate::commands::status::next_line(&step));
            }
            (doc, human)
        }
        Err(err) => {
            let detail = Detail::Cloud {
                settings: None,
                problem: Some(Problem {
                    code: err.code().as_str(),
                    message: err.message().to_string(),
                }),
            };
            let mut report = StatusReport::new(ctx, provider.as_str(), detail);
            report.credentials = refused();
            report.next_step = err.hint().map(str::to_string);
            let doc = report.to_json();
            let mut human = format!(
                "✗ Not authenticated to {}: {}\n",
                provider.as_str(),
                err.message()
            );
            if let Some(summary) = ctx.loaded.managed.summary() {
                let _ = writeln!(human, "  {summary}");
            }
            for line in crate::config::claude_code::report::status_lines(ctx) {
                let _ = writeln!(human, "  claude code:  {line}");
            }
            if let Some(hint) = err.hint() {
                let _ = writeln!(human, "{}", crate::commands::status::next_line(hint));
            }
            (doc, human)
        }
    };
    match found {
        Ok(_) => match refusal {
            Some(refusal) => Outcome::failed(human, doc, refusal),
            None => Outcome::ok(human, doc),
        },
        // Whatever stopped the credential, status reports "not authenticated" (exit 4); the
        // cause keeps its own code in `problem`.
        Err(err) => {
            let failure = AuthError::not_authenticated(format!(
                "not authenticated to {}: {}",
                provider.as_str(),
                err.message()
            ))
            .with_hint(err.hint().unwrap_or_default().to_string());
            Outcome::failed(human, doc, failure)
        }
    }
}
