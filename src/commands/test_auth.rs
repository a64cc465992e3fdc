//! `--test-auth` and `--debug-auth`: end to end for the active provider, one line per step
//! with ✓/✗ and its time; the exit code is the first failure's. `--debug-auth` adds a trace
//! of resolution and every HTTP exchange on stderr, secrets redacted.

use crate::config::schema::Provider;
use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::output::{error_document, Outcome};
use crate::providers::{self, anthropic, Verdict};
use crate::resolve::{self, Resolution, Source};
use crate::trace;
use serde_json::{json, Value};
use std::time::{Instant, SystemTime};

/// Clock skew beyond which signatures and tokens start failing.
const SKEW_LIMIT_SECS: u64 = 300;

/// One step's result. `warn` marks a problem that does not stop the credential in force
/// from working (e.g. no keychain while the key comes from the environment).
struct Step {
    name: &'static str,
    result: Result<String, AuthError>,
    millis: u128,
    warn: bool,
    skipped: bool,
}

/// The steps so far; a failed step makes the online ones that depend on it skip.
#[derive(Default)]
struct Steps(Vec<Step>);

impl Steps {
    fn run(
        &mut self,
        name: &'static str,
        check: impl FnOnce() -> Result<String, AuthError>,
    ) -> bool {
        let started = Instant::now();
        let result = check();
        let ok = result.is_ok();
        self.0.push(Step {
            name,
            result,
            millis: started.elapsed().as_millis(),
            warn: false,
            skipped: false,
        });
        ok
    }

    /// Like `run`, but a failure only warns.
    fn advise(&mut self, name: &'static str, check: impl FnOnce() -> Result<String, AuthError>) {
        self.run(name, check);
        if let Some(step) = self.0.last_mut() {
            step.warn = step.result.is_err();
        }
    }

    fn skip(&mut self, name: &'static str, why: &str) {
        self.0.push(Step {
            name,
            result: Ok(format!("skipped: {why}")),
            millis: 0,
            warn: false,
            skipped: true,
        });
    }

    fn first_failure(&self) -> Option<&AuthError> {
        self.0
            .iter()
            .filter(|s| !s.warn)
            .find_map(|s| s.result.as_ref().err())
    }
}

/// Runs every check for the provider in force. Under `--debug-auth` the event sink was
/// installed with the trace on (`app::run`), so the steps' trace lines show.
pub async fn run(ctx: &Context) -> Outcome {
    let mut steps = Steps::default();
    let provider = providers::active(ctx);
    steps.run("config", || config_step(ctx));
    steps.run("managed settings", || {
        crate::policy::report::managed_step(ctx)
    });
    steps.run("environment", || {
        Ok(ctx
            .loaded
            .environment
            .as_ref()
            .map_or("none selected".to_string(), |e| format!("`{}`", e.name)))
    });
    steps.run("provider", || Ok(provider_step(ctx)));
    // Resolved once: every step below looks at the same facts.
    let resolution = resolve::credentials(ctx);
    let credential_ok = steps.run("credential", || credential_step(ctx, provider, &resolution));
    let compliant = steps.run("compliance", || {
        crate::policy::report::compliance_step(ctx, provider)
    });
    match crate::policy::rotation::due(ctx, &resolution) {
        Some(finding) => steps.advise("key rotation", || finding),
        None => steps.skip("key rotation", "`security.keyRotation` is not enabled"),
    }
    if uses_store(&resolution, provider) {
        steps.run("storage", || crate::commands::diagnose::storage(ctx));
    } else {
        steps.advise("storage", || crate::commands::diagnose::storage(ctx));
    }
    steps.run("file permissions", || {
        crate::commands::diagnose::file_permissions(ctx)
    });
    if needs_login(&resolution, provider) {
        steps.run("callback port", || {
            crate::commands::diagnose::callback_port(ctx)
        });
    } else {
        steps.advise("callback port", || {
            crate::commands::diagnose::callback_port(ctx)
        });
    }
    if credential_ok && compliant {
        let started = Instant::now();
        let verdict = server_verdict(ctx, provider, &resolution).await;
        let millis = started.elapsed().as_millis();
        let date = verdict.as_ref().ok().and_then(|v| v.server_date);
        steps.0.push(Step {
            name: "server",
            result: verdict.map(|v| v.detail),
            millis,
            warn: false,
            skipped: false,
        });
        steps.run("clock", || clock_step(date, ctx.clock.now()));
    } else if !compliant {
        steps.skip("server", "policy forbids sending the credential");
        steps.skip("clock", "no server answer");
    } else {
        steps.skip("server", "no usable credential");
        steps.skip("clock", "no server answer");
    }
    render(&steps, provider)
}

/// Whether the credential in force lives in the configured store.
fn uses_store(resolution: &Resolution, provider: Provider) -> bool {
    provider == Provider::Anthropic
        && resolution
            .active()
            .is_none_or(|c| matches!(c.source, Source::Stored(_) | Source::Session(_)))
}

/// Whether the user needs (or uses) an OAuth login, so the callback port matters.
fn needs_login(resolution: &Resolution, provider: Provider) -> bool {
    provider == Provider::Anthropic
        && resolution
            .active()
            .is_none_or(|c| matches!(c.source, Source::Session(_)))
}

fn config_step(ctx: &Context) -> Result<String, AuthError> {
    let path = ctx.loaded.path.display();
    Ok(match (ctx.loaded.file_exists, ctx.loaded.warnings.len()) {
        (false, _) => format!("{path} not present; defaults in use"),
        (true, 0) => format!("{path} is valid"),
        (true, n) => format!("{path} is valid ({n} warnings above)"),
    })
}

fn provider_step(ctx: &Context) -> String {
    let (provider, why) = providers::selection(ctx);
    format!("{} (from {why})", provider.as_str())
}

fn credential_step(
    ctx: &Context,
    provider: Provider,
    resolution: &Resolution,
) -> Result<String, AuthError> {
    if provider != Provider::Anthropic {
        return crate::commands::diagnose::cloud_credential(ctx, provider);
    }
    for candidate in &resolution.candidates {
        let state = candidate
            .refused()
            .or(candidate.problem())
            .unwrap_or("usable");
        trace::step(&format!(
            "candidate {} {}: {state}",
            candidate.source, candidate.fingerprint
        ));
    }
    let Some(active) = resolution.active() else {
        if let Some(refusal) = resolution.refusal() {
            return Err(refusal.to_error());
        }
        return Err(resolve::no_credential(""));
    };
    if let Some(problem) = active.problem() {
        let code = if active.source.is_api_key() {
            ErrorCode::InvalidApiKey
        } else {
            ErrorCode::ExpiredToken
        };
        return Err(AuthError::new(
            code,
            format!(
                "{} from {}: {problem}",
                active.fingerprint,
                active.source.describe()
            ),
        ));
    }
    let shadowed: Vec<String> = resolution
        .shadowed()
        .map(|c| c.source.to_string())
        .collect();
    let shadows = if shadowed.is_empty() {
        String::new()
    } else {
        format!("; shadows {}", shadowed.join(", "))
    };
    Ok(format!(
        "{} from {}{shadows}",
        active.fingerprint,
        active.source.describe()
    ))
}

async fn server_verdict(
    ctx: &Context,
    provider: Provider,
    resolution: &Resolution,
) -> Result<Verdict, AuthError> {
    let http = ctx.http()?;
    match provider {
        Provider::Anthropic => anthropic_verdict(ctx, http, resolution).await,
        other => crate::commands::diagnose::cloud_verdict(ctx, other, http).await,
    }
}

async fn anthropic_verdict(
    ctx: &Context,
    http: &reqwest::Client,
    resolution: &Resolution,
) -> Result<Verdict, AuthError> {
    let active = resolution.active().ok_or_else(resolve::no_key_error)?;
    if let Source::Session(provider) = &active.source {
        let started = Instant::now();
        let (_, session) = crate::oauth::refresh::access_token(ctx, provider).await?;
        let left = session
            .access_expires_at
            .map(|at| at.saturating_sub(ctx.clock.now()) / 60);
        return Ok(Verdict {
            detail: match left {
                Some(min) => format!("the {provider} access token is valid for {min} more minutes"),
                None => format!("the {provider} access token is in place"),
            },
            server_date: None,
            elapsed: started.elapsed(),
        });
    }
    let (secret, _, _) = resolve::active_key(ctx)?;
    let key = crate::apikey::ApiKey::parse(secret)?;
    let check = anthropic::check_key(http, &ctx.env, &key, ctx.budget()).await?;
    Ok(Verdict {
        detail: format!(
            "the API accepted {} ({} models visible)",
            key.fingerprint(),
            check.models
        ),
        server_date: check.server_date,
        elapsed: check.elapsed,
    })
}

fn clock_step(server_date: Option<SystemTime>, now: u64) -> Result<String, AuthError> {
    let Some(date) = server_date else {
        return Ok("not checked (the server sent no Date)".to_string());
    };
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now);
    let (skew, ahead) = match now.duration_since(date) {
        Ok(d) => (d.as_secs(), true),
        Err(e) => (e.duration().as_secs(), false),
    };
    if skew > SKEW_LIMIT_SECS {
        return Err(AuthError::provider(format!(
            "this machine's clock is {skew} s {} the server's",
            if ahead { "ahead of" } else { "behind" }
        ))
        .with_hint("sync the clock (e.g. `timedatectl set-ntp true`): tokens and signatures fail with skew"));
    }
    Ok(format!("within {skew} s of the server"))
}

fn render(steps: &Steps, provider: Provider) -> Outcome {
    let mut human = String::new();
    let mut rows = Vec::new();
    for step in &steps.0 {
        let (mark, detail) = match (&step.result, step.warn, step.skipped) {
            (Ok(detail), _, true) => ("–", detail.clone()),
            (Ok(detail), _, false) => ("✓", detail.clone()),
            (Err(err), true, _) => (
                "!",
                format!("{} (not needed for the credential in force)", err.message()),
            ),
            (Err(err), false, _) => ("✗", err.message().to_string()),
        };
        human.push_str(&format!(
            "{mark} {:<17} {detail} ({} ms)\n",
            step.name, step.millis
        ));
        if let Err(err) = &step.result {
            if let Some(hint) = err.hint() {
                human.push_str(&format!("  {:<17} → {hint}\n", ""));
            }
        }
        let state = match (&step.result, step.warn, step.skipped) {
            (Ok(_), _, true) => "skipped",
            (Ok(_), _, false) => "ok",
            (Err(_), true, _) => "warning",
            (Err(_), false, _) => "failed",
        };
        let mut row = json!({ "name": step.name, "state": state, "ms": step.millis as u64 });
        match &step.result {
            Ok(detail) => row["detail"] = Value::String(detail.clone()),
            Err(err) => row["error"] = error_document(err)["error"].clone(),
        }
        rows.push(row);
    }
    let failure = steps.first_failure();
    match failure {
        None => human.push_str("\nAll checks passed.\n"),
        Some(err) => human.push_str(&format!(
            "\nFirst failure: {} (exit {}).\n",
            err.code().as_str(),
            err.exit_code()
        )),
    }
    let doc = json!({
        "ok": failure.is_none(),
        "provider": provider.as_str(),
        "steps": rows,
        "error": failure.map(|err| error_document(err)["error"].clone()),
    });
    Outcome {
        human,
        json: doc,
        exit_code: failure.map_or(0, AuthError::exit_code),
        // The document already carries the first failure as `error` (null when all passed).
        failure: None,
    }
}
