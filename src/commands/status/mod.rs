//! `--auth-status`: offline. What is in force, from where, what it shadows, and what to do.
//! Reads only non-secret metadata: it never unlocks the keychain or runs the KDF. The JSON
//! document is built only for `--json`: the human path stays small, which keeps the
//! command's start-up cost (and resident memory) down. Offline, a credential is
//! "configured", never "authenticated": `--auth-status --check` ([`run_checked`]) asks the
//! server once, and only its yes makes it "authenticated".

pub mod report;
#[cfg(test)]
mod table;

use crate::config::schema::Provider;
use crate::context::Context;
use crate::error::AuthError;
use crate::output::Outcome;
use crate::resolve::{self, Candidate, Resolution, Source};
use crate::terminal_text::single_line;
use crate::time::UnixTime;
use report::{Credential, CredentialState, SessionStatus};
use serde_json::Value;
use std::fmt::Write;

const DAY: u64 = 86_400;

/// The stored key's age against `security.keyRotation`.
struct Rotation {
    created_at: UnixTime,
    rotated_at: Option<UnixTime>,
    previous_fingerprint: Option<String>,
    /// Seconds since the key was stored.
    age: u64,
    /// `security.keyRotation.interval` (seconds), when rotation is enabled.
    interval: Option<u64>,
    due: bool,
}

/// What status reports, before it is rendered one way or the other.
struct Facts<'a> {
    resolution: &'a Resolution,
    rotation: Option<Rotation>,
    mfa: crate::mfa::Summary,
    warnings: Vec<String>,
    next_step: Option<String>,
    now: UnixTime,
    /// `--check`'s answer; `None` when nothing was asked.
    verification: Option<Checked>,
    /// The last plan `--subscription-status` saw, for a login in force (a file read only).
    plan: Option<crate::billing::subscription::Cached>,
    /// Why the store keeps a credential from being had (nothing else in force, or what is
    /// in force lives in it): the command fails with it, and its hint is the next step.
    store_failure: Option<AuthError>,
}

impl Facts<'_> {
    fn active(&self) -> Option<&Candidate> {
        self.resolution.active()
    }

    fn usable(&self) -> Option<&Candidate> {
        self.active()
            .filter(|c| c.problem().is_none() && self.store_failure.is_none())
    }
}

/// Builds the status, offline. Exit 0 when a usable credential resolves (it is then
/// "configured"); the store's own `storage_error` when the store is why nothing usable
/// resolves (see [`Resolution::store_failure`]); `not_authenticated` otherwise.
pub fn run(ctx: &Context) -> Outcome {
    let resolution = resolve::credentials(ctx);
    resolve::explain(ctx, &resolution);
    let store_failure = resolution.store_failure(ctx).cloned();
    build(ctx, &resolution, None, store_failure, false)
}

/// `--auth-status --check`: the status, after the one cheap online check `--test-auth`'s
/// server step makes (`GET /v1/models` with the key or the session's token; one cloud
/// call). A refusal fails with the check's own error and exit status.
pub async fn run_checked(ctx: &Context) -> Outcome {
    let resolution = resolve::credentials(ctx);
    resolve::explain(ctx, &resolution);
    let provider = crate::providers::active(ctx);
    let mut store_failure = resolution.store_failure(ctx).cloned();
    if provider == Provider::Anthropic
        && store_failure.is_none()
        && resolution.active().is_none()
        && resolution.refusal().is_none()
    {
        // Online, so the store may be opened: only its authenticated contents may say that
        // nothing is stored (its index is unproven: an item deleted from an encrypted
        // file's header is damage, not absence).
        store_failure = ctx.store().authenticate().err();
    }
    let configured = if provider == Provider::Anthropic {
        store_failure.is_none() && resolution.active().is_some_and(|c| c.problem().is_none())
    } else {
        crate::commands::diagnose::cloud_info(ctx, provider).is_ok()
    };
    let verification = if configured {
        let check = async {
            crate::policy::compliance::enforce(ctx)?;
            crate::commands::test_auth::server_check(ctx, provider, &resolution).await
        };
        Some(check.await)
    } else {
        None
    };
    build(ctx, &resolution, verification, store_failure, true)
}

/// The status of `resolution`, with `--check`'s verdict when it was asked for, failing with
/// `store_failure` when the store keeps the credential from being had. `opened`: the store
/// was opened (`--check`), so what its index lists is proven.
fn build(
    ctx: &Context,
    resolution: &Resolution,
    verification: Option<Result<String, AuthError>>,
    store_failure: Option<AuthError>,
    opened: bool,
) -> Outcome {
    let provider = crate::providers::active(ctx);
    if provider != crate::config::schema::Provider::Anthropic {
        return crate::commands::cloud_status::run(ctx, provider, resolution, verification);
    }
    let (verification, refusal) = split(verification);
    let rotation = rotation_status(ctx, resolution);
    let mfa = crate::mfa::summary(ctx);
    let mut warnings = warnings(ctx, resolution, rotation.as_ref(), &mfa);
    let usable =
        store_failure.is_none() && resolution.active().is_some_and(|c| c.problem().is_none());
    let (check_step, check_warning) = check_advice(refusal.as_ref());
    warnings.extend(check_warning);
    let next_step = match &store_failure {
        _ if usable => check_step,
        // Never "store a key" past a store that refuses it.
        Some(failure) => Some(failure.hint().map_or_else(
            || format!("fix the store first: {}", failure.message()),
            str::to_string,
        )),
        None => Some(next_step(ctx, resolution, opened)),
    };
    let facts = Facts {
        resolution,
        rotation,
        mfa,
        warnings,
        next_step,
        now: ctx.clock.now(),
        verification,
        plan: resolution
            .active()
            .filter(|c| !c.source.is_api_key())
            .and_then(|_| crate::billing::subscription::cached(ctx)),
        store_failure,
    };
    let (human, json) = if ctx.prefs.json {
        (String::new(), document(ctx, &facts))
    } else {
        (render(ctx, &facts), Value::Null)
    };
    if let Some(refusal) = refusal {
        return Outcome::failed(human, json, refusal);
    }
    if usable {
        return Outcome::ok(human, json);
    }
    if let Some(failure) = facts.store_failure {
        return Outcome::failed(human, json, failure);
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
        created_at: r.created_at.rfc3339(),
        rotated_at: r.rotated_at.map(UnixTime::rfc3339),
        previous_fingerprint: r.previous_fingerprint.clone(),
        age_days: r.age / DAY,
        age_seconds: r.age,
        interval_days: r.interval.map(|i| i / DAY),
        interval_seconds: r.interval,
        due: r.due,
        previous_until: r
            .rotated_at
            .filter(|_| r.previous_fingerprint.is_some())
            .map(|at| (at + crate::policy::rotation::OVERLAP).rfc3339()),
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
            last_verified_at: facts.mfa.last_verified_at.map(UnixTime::rfc3339),
        },
        rotation,
        plan: facts.plan.as_ref().map(|cached| {
            Box::new(report::Plan {
                plan: cached.subscription.plan.clone(),
                status: cached.subscription.status.clone(),
                fetched_at: cached.fetched_at.rfc3339(),
                age_seconds: facts.now.saturating_since(cached.fetched_at).as_secs(),
            })
        }),
    };
    let mut report = report::StatusReport::new(ctx, crate::providers::active(ctx).as_str(), detail);
    report.set_verification(usable.is_some(), facts.verification.as_ref());
    report.method = usable.map(|c| {
        match c.source.scheme() {
            resolve::Scheme::ApiKey => "api-key",
            resolve::Scheme::Bearer => "bearer-token",
            resolve::Scheme::OAuth => "oauth",
        }
        .to_string()
    });
    report.source = active.map(|c| c.source.to_string());
    report.origin = active
        .and_then(|c| c.source.settings_file())
        .map(|f| f.display().to_string());
    report.fingerprint = active.and_then(shown_fingerprint);
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
        .map(|c| credential(c, active, facts.store_failure.as_ref()))
        .collect();
    report.warnings = facts.warnings.clone();
    report.next_step = facts.next_step.clone();
    report.to_json()
}

/// What `--check` learnt, in words.
pub(crate) enum Checked {
    /// The server accepted the credential.
    Accepted(String),
    /// The server answered, and refused it.
    Refused(String),
    /// The server could not be asked (network, rate limit, configuration): no verdict.
    Unanswered(String),
}

impl Checked {
    /// `verified`: `Some(true|false)` for the server's verdict, `None` without one.
    pub(crate) fn verified(&self) -> Option<bool> {
        match self {
            Checked::Accepted(_) => Some(true),
            Checked::Refused(_) => Some(false),
            Checked::Unanswered(_) => None,
        }
    }
}

/// `--check`'s result as what the report shows, and the failure, if any.
pub(crate) fn split(
    verification: Option<Result<String, AuthError>>,
) -> (Option<Checked>, Option<AuthError>) {
    match verification {
        None => (None, None),
        Some(Ok(detail)) => (Some(Checked::Accepted(detail)), None),
        Some(Err(err)) => {
            let judged = err.code().judges_the_credential();
            let why = err.message().to_string();
            let checked = if judged {
                Checked::Refused(why)
            } else {
                Checked::Unanswered(why)
            };
            (Some(checked), Some(err))
        }
    }
}

/// What a failed `--check` adds to the report: its error's fix as the next step, and, for a
/// store that would not open, its message among the warnings (as an offline store failure
/// is reported).
pub(crate) fn check_advice(refusal: Option<&AuthError>) -> (Option<String>, Option<String>) {
    use crate::error::ErrorCode;
    let Some(err) = refusal else {
        return (None, None);
    };
    let store = matches!(
        err.code(),
        ErrorCode::StorageError | ErrorCode::KeychainUnavailable
    );
    (
        err.hint().map(str::to_string),
        store.then(|| err.message().to_string()),
    )
}

/// The last line of a status that is not fine: `Next: STEP.`, with one full stop.
pub(crate) fn next_line(step: &str) -> String {
    // A step may quote a path or name from outside: it stays on its one line.
    let step = single_line(step);
    let stop = if step.ends_with('.') { "" } else { "." };
    format!("\nNext: {step}{stop}")
}

/// The first line's claim: "configured" offline, "authenticated" only after the server's
/// yes, the server's no after `--check` refused, and "not verified" when it could not ask.
pub(crate) fn claim(
    verification: Option<&Checked>,
    configured: &str,
    authenticated: &str,
    provider: &str,
) -> String {
    match verification {
        None => {
            format!("✓ {configured} (not verified: `claude --auth-status --check` asks the server)")
        }
        Some(Checked::Accepted(detail)) => format!("✓ {authenticated} ({})", single_line(detail)),
        Some(Checked::Refused(why)) => {
            format!("✗ Not authenticated to {provider}: {}", single_line(why))
        }
        Some(Checked::Unanswered(why)) => {
            format!("! {configured}, but not verified: {}", single_line(why))
        }
    }
}

fn session_status(candidate: &Candidate, now: UnixTime) -> SessionStatus {
    let session = candidate.session().expect("a session candidate");
    SessionStatus {
        provider: session.provider.clone(),
        account: session.account.clone(),
        account_encrypted: session.metadata_encrypted,
        scopes: session.scopes.clone(),
        created_at: session.created_at.rfc3339(),
        last_used_at: session.last_used_at.rfc3339(),
        access_token_expires_at: session.access_expires_at.map(UnixTime::rfc3339),
        access_token_expires_in_seconds: session
            .access_expires_at
            .map(|at| now.saturating_until(at).as_secs()),
        refreshable: session.has_refresh_token,
        state: if candidate.problem().is_some() {
            "expired"
        } else {
            "active"
        },
        reason: candidate.problem().map(str::to_string),
    }
}

/// One entry of `credentials`; the one in force is `invalid` when `store_failure` keeps its
/// secret from being read.
fn credential(
    candidate: &Candidate,
    active: Option<&Candidate>,
    store_failure: Option<&AuthError>,
) -> Credential {
    let is_active = active.is_some_and(|a| std::ptr::eq(a, candidate));
    let unreadable = store_failure.filter(|_| is_active).map(AuthError::message);
    let state = match (
        candidate.refused(),
        candidate.problem().or(unreadable),
        is_active,
    ) {
        (Some(_), _, _) => CredentialState::Refused,
        (None, Some(_), true) => CredentialState::Invalid,
        (None, _, true) => CredentialState::Active,
        (None, _, false) => CredentialState::Shadowed,
    };
    Credential {
        source: candidate.source.to_string(),
        origin: candidate
            .source
            .settings_file()
            .map(|f| f.display().to_string()),
        fingerprint: shown_fingerprint(candidate),
        state,
        reason: candidate
            .refused()
            .or(candidate.problem())
            .or(unreadable)
            .map(str::to_string),
    }
}

/// A candidate's fingerprint for the JSON document: none for a helper that has not run
/// (the text says "(not run)" there).
fn shown_fingerprint(candidate: &resolve::Candidate) -> Option<String> {
    let fingerprint = candidate.fingerprint.as_str();
    (fingerprint != resolve::NOT_RUN).then(|| fingerprint.to_string())
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
            "the stored key was stored {} ago and `security.keyRotation.interval` is {}: run `claude --rotate-key`",
            crate::clock::span(r.age),
            crate::clock::span(r.interval.unwrap_or_default())
        ));
    }
    warnings.extend(mfa.warning());
    warnings
}

/// Age and due state of the stored key against `security.keyRotation`.
fn rotation_status(ctx: &Context, resolution: &Resolution) -> Option<Rotation> {
    let meta = resolution.candidates.iter().find_map(|c| c.meta())?;
    let policy = &ctx.loaded.config.security.key_rotation;
    let age = ctx.clock.now().saturating_since(meta.created_at).as_secs();
    let interval = policy.interval.filter(|_| policy.enabled);
    Some(Rotation {
        created_at: meta.created_at,
        rotated_at: meta.rotated_at,
        previous_fingerprint: meta.previous_fingerprint.clone(),
        age,
        interval,
        due: interval.is_some_and(|i| age >= i),
    })
}

fn next_step(ctx: &Context, resolution: &Resolution, opened: bool) -> String {
    use crate::config::claude_code::Origin;
    if let Some(refusal) = resolution.refusal() {
        return refusal.next_step.clone();
    }
    match resolution.active() {
        Some(active) if matches!(active.source, Source::Env(_)) => match &active.source {
            Source::Env(Origin::Managed(file)) => format!("ANTHROPIC_API_KEY does not hold an API key: it is set by the `env` block of managed settings {}; ask your administrator to fix it", file.display()),
            Source::Env(Origin::Settings(file)) => format!("ANTHROPIC_API_KEY does not hold an API key: fix it in the `env` block of {}, or remove it there to use the next source", file.display()),
            _ => "ANTHROPIC_API_KEY does not hold an API key: fix it, or `unset ANTHROPIC_API_KEY` to use the next source".to_string(),
        },
        Some(active) if !active.source.is_api_key() => {
            format!(
                "log in again with `claude --login --provider {}`",
                resolve::oauth_provider_of(active)
            )
        }
        Some(active) => format!(
            "fix {}: it does not hold an API key",
            active.source.describe()
        ),
        None if !opened => match unopened_file(ctx) {
            // Its header lists nothing, but offline status cannot tell that from an item
            // deleted from it, and a store that does not open refuses `--set-api-key` too.
            Some(file) => format!(
                "{} lists no credential, but offline status cannot prove it without opening the file: run `claude --auth-status --check` to open and check it; if it holds none, {}",
                file.display(),
                resolve::get_a_credential(ctx)
            ),
            None => resolve::get_a_credential(ctx),
        },
        None => resolve::get_a_credential(ctx),
    }
}

/// The encrypted file of the configured store, when there is one (status reads only its
/// header, which is authenticated only when the file is opened).
fn unopened_file(ctx: &Context) -> Option<std::path::PathBuf> {
    let file = ctx.state_dir.join("credentials.enc");
    (ctx.loaded.config.authentication.storage.kind
        == crate::config::schema::StorageKind::EncryptedFile
        && file.exists())
    .then_some(file)
}

fn render(ctx: &Context, facts: &Facts<'_>) -> String {
    let mut out = String::new();
    let provider = crate::providers::active(ctx).as_str();
    match &facts.store_failure {
        Some(_) => render_store_failure(&mut out, facts, provider),
        None => render_active(ctx, &mut out, facts, provider),
    }
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
    let unreachable = match &facts.store_failure {
        Some(failure) => format!(" (cannot be used: {})", single_line(failure.message())),
        None => ctx
            .store()
            .unreachable()
            .map_or_else(String::new, |why| format!(" (cannot be used here: {why})")),
    };
    let _ = writeln!(
        out,
        "  storage:      {}{}{unreachable}",
        ctx.loaded.config.authentication.storage.kind.as_str(),
        crate::policy::report::storage_note(ctx)
    );
    let environment = ctx
        .loaded
        .environment
        .as_ref()
        .map_or("none", |e| e.name.as_str());
    let _ = writeln!(out, "  environment:  {}", single_line(environment));
    if let Some(line) = crate::policy::ip::status_line(&ctx.loaded.config.security) {
        let _ = writeln!(out, "  ip ranges:    {line}");
    }
    let config_state = if ctx.loaded.file_exists {
        ""
    } else {
        " (not present; defaults in use)"
    };
    // The path comes from `--config` or CLAUDE_CONFIG: one line, whatever it holds.
    let _ = writeln!(
        out,
        "  config:       {}{config_state}",
        single_line(&ctx.loaded.path.display().to_string())
    );
    for line in crate::config::claude_code::report::status_lines(ctx) {
        let _ = writeln!(out, "  claude code:  {line}");
    }
    if let Some(r) = &facts.rotation {
        let _ = writeln!(
            out,
            "  stored key:   created {} ({} ago)",
            r.created_at.rfc3339(),
            crate::clock::span(r.age)
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
    // Config warnings were already printed on stderr as `warning:` lines; the store's
    // failure is on the storage line, and a failed check's on the first line.
    let failure = facts.store_failure.as_ref().map(AuthError::message);
    let unanswered = match &facts.verification {
        Some(Checked::Unanswered(why) | Checked::Refused(why)) => Some(why.as_str()),
        _ => None,
    };
    for warning in facts.warnings.iter().skip(ctx.loaded.warnings.len()) {
        if Some(warning.as_str()) != failure && Some(warning.as_str()) != unanswered {
            let _ = writeln!(out, "  ! {warning}");
        }
    }
    if let Some(step) = &facts.next_step {
        let _ = writeln!(out, "{}", next_line(step));
    }
    out
}

/// Who bills an `ANTHROPIC_AUTH_TOKEN` call: the API, or the gateway that
/// `ANTHROPIC_BASE_URL` names (shown by its origin only, never a user or path).
fn bearer_billing(ctx: &Context) -> String {
    match ctx.env.get(crate::envvars::ANTHROPIC_BASE_URL) {
        None => format!(
            "API usage, billed by the API at {}",
            crate::providers::anthropic::DEFAULT_BASE_URL
        ),
        Some(base) => {
            let origin = reqwest::Url::parse(&base)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|_| "ANTHROPIC_BASE_URL (not a valid URL)".to_string());
            format!("whatever the gateway at {origin} (ANTHROPIC_BASE_URL) bills")
        }
    }
}

/// The first lines when the store keeps the credential from being had: not "no credential",
/// but the store, and (on the storage line) why.
fn render_store_failure(out: &mut String, facts: &Facts<'_>, provider: &str) {
    let _ = writeln!(
        out,
        "✗ Not authenticated to {provider}: the credential store cannot be used"
    );
    if let Some(active) = facts.active() {
        let _ = writeln!(
            out,
            "  in force:     {} (from {}), kept in the store",
            active.fingerprint,
            active.source.describe()
        );
    }
}

fn render_active(ctx: &Context, out: &mut String, facts: &Facts<'_>, provider: &str) {
    match facts.active() {
        Some(active)
            if active.problem().is_none()
                && matches!(active.source, Source::AuthToken(_) | Source::OauthEnv(_)) =>
        {
            let (what, billing) = if matches!(active.source, Source::AuthToken(_)) {
                ("Bearer token", bearer_billing(ctx))
            } else {
                (
                    "OAuth token",
                    "Claude subscription of the token's account".to_string(),
                )
            };
            let _ = writeln!(
                out,
                "{}",
                claim(
                    facts.verification.as_ref(),
                    &format!("{what} configured for {provider}"),
                    &format!("Authenticated to {provider} with a {}", what.to_lowercase()),
                    provider,
                )
            );
            let _ = writeln!(
                out,
                "  token:        {} (from {})",
                active.fingerprint,
                active.source.describe()
            );
            let _ = writeln!(out, "  billing:      {billing}");
        }
        Some(active) if active.problem().is_none() && active.helper().is_some() => {
            let Some((found, cached)) = active.helper() else {
                return;
            };
            let command = found.command.as_str();
            let _ = writeln!(
                out,
                "{}",
                claim(
                    facts.verification.as_ref(),
                    &format!("API key helper configured for {provider}"),
                    &format!("Authenticated to {provider} with the API key helper's key"),
                    provider,
                )
            );
            let shown = resolve::helper::shown(command);
            let line = match cached {
                Some(meta) => format!(
                    "{} (the output of `{shown}` {}, cached until {}; status runs nothing, a command would reuse it)",
                    active.fingerprint,
                    found.place(),
                    resolve::helper::cached_until(ctx, meta.created_at).rfc3339()
                ),
                None => format!(
                    "from `apiKeyHelper` {}: status runs nothing; a command would run `{shown}`",
                    found.place()
                ),
            };
            let _ = writeln!(out, "  key:          {line}");
            let _ = writeln!(
                out,
                "  billing:      API usage, billed to the key's organization"
            );
        }
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
                "{}",
                claim(
                    facts.verification.as_ref(),
                    &format!(
                        "Logged in to {} as {account} (OAuth session stored)",
                        session.provider
                    ),
                    &format!("Authenticated to {provider} as {account} (OAuth)"),
                    provider,
                )
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
                    facts.now.saturating_until(at).as_secs() / 60
                );
            }
            let plan = facts.plan.as_ref().map(|cached| {
                format!(
                    ", {} (as of {} ago; `claude --subscription-status` checks)",
                    cached.subscription.headline(),
                    crate::billing::chart::age(facts.now, cached.fetched_at)
                )
            });
            let _ = writeln!(
                out,
                "  billing:      Claude subscription{}",
                plan.unwrap_or_default()
            );
        }
        Some(active) if active.problem().is_none() => {
            let _ = writeln!(
                out,
                "{}",
                claim(
                    facts.verification.as_ref(),
                    &format!("API key configured for {provider}"),
                    &format!("Authenticated to {provider} with an API key"),
                    provider,
                )
            );
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
