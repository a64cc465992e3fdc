//! `--test-auth` and `--debug-auth`: end to end for the active provider, one line per step
//! with ✓/✗ (and the time of the steps that wait on a server); the exit code is the first failure's. `--debug-auth` adds a trace
//! of resolution and every HTTP exchange on stderr, secrets redacted.

use crate::config::schema::Provider;
use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::output::{document, ErrorObject, Outcome, Report};
use crate::providers::{self, anthropic, Verdict};
use crate::resolve::{self, Resolution, Source};
use crate::time::UnixTime;
use crate::trace;
use serde::Serialize;
use std::time::Instant;

/// The steps that wait on a server: the only ones whose time the text shows (the JSON has
/// every step's `ms`).
const NETWORK_STEPS: [&str; 2] = ["server", "ip policy"];

/// Clock skew beyond which signatures and tokens start failing.
const SKEW_LIMIT_SECS: u64 = 300;

/// One step's result. `warn` marks a problem that does not stop the credential in force
/// from working (e.g. no keychain while the key comes from the environment). `waited`: the
/// step waited on a server, so its time is worth reading.
struct Step {
    name: &'static str,
    result: Result<String, AuthError>,
    millis: u128,
    warn: bool,
    skipped: bool,
    waited: bool,
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
        self.record(name, result, started.elapsed().as_millis());
        ok
    }

    /// A step whose check ran earlier (its result was needed before its turn).
    fn record(&mut self, name: &'static str, result: Result<String, AuthError>, millis: u128) {
        self.0.push(Step {
            name,
            waited: NETWORK_STEPS.contains(&name),
            result,
            millis,
            warn: false,
            skipped: false,
        });
    }

    /// Like `run`, but a failure only warns.
    fn advise(&mut self, name: &'static str, check: impl FnOnce() -> Result<String, AuthError>) {
        self.run(name, check);
        self.warn_only();
    }

    /// Makes the last step's failure a warning.
    fn warn_only(&mut self) {
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
            waited: false,
        });
    }

    /// The error of the first step that failed (a warning is not a failure).
    fn into_first_failure(self) -> Option<AuthError> {
        self.0
            .into_iter()
            .filter(|s| !s.warn)
            .find_map(|s| s.result.err())
    }
}

/// `--test-auth`'s result: every step, in order. A failing run is this report with the
/// first failure beside it as the top-level `error`.
#[derive(Serialize)]
pub struct Checks<'a> {
    /// No step failed (warnings allowed).
    pub ok: bool,
    pub provider: &'static str,
    pub steps: Vec<StepReport<'a>>,
}

/// One step: `ok` with its `detail`, `skipped` (the detail says why), `warning` or
/// `failed` with its `error`.
#[derive(Serialize)]
pub struct StepReport<'a> {
    pub name: &'static str,
    pub state: StepState,
    pub ms: u64,
    /// It waited on a server (the text shows its time).
    #[serde(skip)]
    pub waited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject<'a>>,
}

/// How a step ended.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Ok,
    /// Not run: what it needs failed before it.
    Skipped,
    /// Failed, but the credential in force does not need it.
    Warning,
    Failed,
}

impl StepState {
    fn mark(self) -> &'static str {
        match self {
            StepState::Ok => "✓",
            StepState::Skipped => "–",
            StepState::Warning => "!",
            StepState::Failed => "✗",
        }
    }
}

impl Checks<'_> {
    fn of(steps: &Steps, provider: Provider) -> Checks<'_> {
        let steps: Vec<StepReport<'_>> = steps
            .0
            .iter()
            .map(|step| StepReport {
                name: step.name,
                state: match (&step.result, step.warn, step.skipped) {
                    (Ok(_), _, true) => StepState::Skipped,
                    (Ok(_), _, false) => StepState::Ok,
                    (Err(_), true, _) => StepState::Warning,
                    (Err(_), false, _) => StepState::Failed,
                },
                ms: u64::try_from(step.millis).unwrap_or(u64::MAX),
                waited: step.waited && !step.skipped,
                detail: step.result.as_ref().ok().map(String::as_str),
                error: step.result.as_ref().err().map(ErrorObject::of),
            })
            .collect();
        Checks {
            ok: !steps.iter().any(|s| s.state == StepState::Failed),
            provider: provider.as_str(),
            steps,
        }
    }
}

impl Report for Checks<'_> {
    fn text(&self) -> String {
        let mut text = String::new();
        for step in &self.steps {
            let detail = match (step.state, &step.error) {
                (StepState::Warning, Some(err)) => {
                    format!("{} (not needed for the credential in force)", err.message)
                }
                (_, Some(err)) => err.message.to_string(),
                (_, None) => step.detail.unwrap_or_default().to_string(),
            };
            let mark = step.state.mark();
            // Local steps take no time worth reading; the ones that wait on a server do.
            let took = if step.waited {
                format!(" ({} ms)", step.ms)
            } else {
                String::new()
            };
            text.push_str(&format!("{mark} {:<17} {detail}{took}\n", step.name));
            if let Some(hint) = step.error.as_ref().and_then(|err| err.hint) {
                text.push_str(&format!("  {:<17} → {hint}\n", ""));
            }
        }
        let failure = self.steps.iter().find(|s| s.state == StepState::Failed);
        match failure.and_then(|s| s.error.as_ref()) {
            None => text.push_str("\nAll checks passed.\n"),
            Some(err) => text.push_str(&format!(
                "\nFirst failure: {} (exit {}).\n",
                err.code, err.exit_code
            )),
        }
        text
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
    // The store is opened once (a passphrase is asked for once), before the credential
    // step, which needs its verdict: "no credential" is only true of a store that opens.
    let started = Instant::now();
    let opened = ctx.store().authenticate();
    let storage = crate::commands::diagnose::storage(ctx, &opened);
    let storage_ms = started.elapsed().as_millis();
    let credential_ok = steps.run("credential", || {
        credential_step(ctx, provider, &resolution, opened.as_ref().err())
    });
    let compliant = match crate::policy::report::compliance_step(ctx, provider) {
        Ok(Some(found)) => steps.run("compliance", || Ok(found)),
        Ok(None)
            if provider == Provider::Anthropic
                && ctx.loaded.config.compliance.data_residency.is_some() =>
        {
            let why = format!(
                "`compliance.dataResidency` {}",
                crate::policy::compliance::ANTHROPIC_RESIDENCY
            );
            steps.skip("compliance", &why);
            true
        }
        Ok(None) => {
            steps.skip("compliance", "`compliance` requires nothing to check here");
            true
        }
        Err(err) => steps.run("compliance", || Err(err)),
    };
    match crate::policy::report::audit_step(ctx) {
        Some(finding) => steps.advise("audit log", || finding),
        None => steps.skip("audit log", "auditing is off (`security.auditLogging`)"),
    }
    match crate::policy::rotation::due(ctx, &resolution) {
        crate::policy::rotation::Finding::Checked(finding) => {
            steps.advise("key rotation", || finding);
        }
        crate::policy::rotation::Finding::Skipped(why) => steps.skip("key rotation", &why),
    }
    // The credential in force is read from a store that cannot be used: the server is not
    // asked (there is nothing to send), and the storage step says why.
    let unreadable =
        storage.is_err() && uses_store(&resolution, provider) && resolution.active().is_some();
    steps.record("storage", storage, storage_ms);
    if !uses_store(&resolution, provider) {
        steps.warn_only();
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
    // What was checked is the enrollment, never a code: a test must not spend one.
    if crate::mfa::required(ctx) {
        steps.advise("mfa", || crate::mfa::readiness(ctx));
    } else {
        steps.skip("mfa", "not required by policy");
    }
    let ip_ok = ip_step(ctx, provider, &mut steps).await;
    if credential_ok && !ip_ok {
        steps.skip("server", "the IP policy refused the request");
        steps.skip("clock", "no server answer");
    } else if credential_ok && unreadable {
        steps.skip(
            "server",
            "the credential in force is kept in the store, which cannot be used (see storage)",
        );
        steps.skip("clock", "no request was made");
    } else if credential_ok && compliant {
        let started = Instant::now();
        let asked = server_verdict(ctx, provider, &resolution).await;
        steps.record(
            "server",
            asked.verdict.map(|v| v.detail),
            started.elapsed().as_millis(),
        );
        if !asked.sent {
            // It failed before anything was sent (the credential's value could not be had):
            // no time to show, no answer to read a clock from.
            if let Some(step) = steps.0.last_mut() {
                step.waited = false;
            }
        }
        // The `Date` of an error answer (a 401) counts too: the clock may be why it failed.
        match asked.date {
            Some(date) => {
                steps.run("clock", || clock_step(date, ctx.clock.now()));
            }
            None if !asked.sent => steps.skip("clock", "no request was made to the API"),
            None => steps.skip("clock", "the server sent no Date header"),
        }
    } else if !compliant {
        steps.skip("server", "policy forbids sending the credential");
        steps.skip("clock", "no server answer");
    } else {
        steps.skip("server", "no usable credential");
        steps.skip("clock", "no server answer");
    }
    render(steps, provider)
}

/// The `ip policy` step: the check every request makes first (`crate::policy::ip`), made
/// here for the API so its verdict shows; never ✓ for a check that was not made.
async fn ip_step(ctx: &Context, provider: Provider, steps: &mut Steps) -> bool {
    const NAME: &str = "ip policy";
    if ctx.loaded.config.security.ip_restrictions.is_empty() {
        steps.skip(NAME, "no ipRestrictions configured");
        return true;
    }
    if provider != Provider::Anthropic {
        let why = format!(
            "checked before each request to {} (the server step shows a refusal)",
            provider.as_str()
        );
        steps.skip(NAME, &why);
        return true;
    }
    let started = Instant::now();
    let result = ip_verdict(ctx).await;
    let ok = result.is_ok();
    steps.record(NAME, result, started.elapsed().as_millis());
    ok
}

async fn ip_verdict(ctx: &Context) -> Result<String, AuthError> {
    // The echo of `security.ipCheckUrl` uses the client.
    ctx.http()?;
    let url = anthropic::models_url(&ctx.env)?;
    match crate::policy::ip::check(&url, ctx.budget()).await? {
        Some(passed) => Ok(passed.to_string()),
        None => Err(AuthError::internal("the IP policy has no ranges")),
    }
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
    let config = match (ctx.loaded.file_exists, ctx.loaded.warnings.len()) {
        (false, _) => format!("{path} not present; defaults in use"),
        (true, 0) => format!("{path} is valid"),
        (true, n) => format!(
            "{path} is valid ({} above)",
            crate::output::count(n as u64, "warning", "warnings")
        ),
    };
    Ok(
        match crate::config::claude_code::report::test_auth_note(ctx) {
            Some(note) => format!("{config}; {note}"),
            None => config,
        },
    )
}

fn provider_step(ctx: &Context) -> String {
    let (provider, why) = providers::selection(ctx);
    match ctx.claude_code.origin_of(why).set_by() {
        Some(by) => format!("{} (from {why}, set by {by})", provider.as_str()),
        None => format!("{} (from {why})", provider.as_str()),
    }
}

/// The credential in force, offline; `opened`: why the store did not open, when it did not
/// (then "nothing is configured" is not known to be true).
fn credential_step(
    ctx: &Context,
    provider: Provider,
    resolution: &Resolution,
    opened: Option<&AuthError>,
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
        // A store that cannot be read, or that does not open, may hold what is missing.
        if let Some(failure) = resolution.store_failure(ctx).or(opened) {
            return Err(failure.clone());
        }
        return Err(resolve::no_credential(ctx, ""));
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

/// The server's verdict on the credential in force, in words: `--auth-status --check`.
///
/// # Errors
/// The check's: a refused key or token, the network, the provider.
pub(crate) async fn server_check(
    ctx: &Context,
    provider: Provider,
    resolution: &Resolution,
) -> Result<String, AuthError> {
    server_verdict(ctx, provider, resolution)
        .await
        .verdict
        .map(|v| v.detail)
}

/// The server's verdict on the credential in force, the `Date` of its answer (of an error
/// answer too), and whether anything was sent.
struct Asked {
    verdict: Result<Verdict, AuthError>,
    date: Option<UnixTime>,
    /// `false` when it failed before a request (the client, the credential's value).
    sent: bool,
}

async fn server_verdict(ctx: &Context, provider: Provider, resolution: &Resolution) -> Asked {
    let http = match ctx.http() {
        Ok(http) => http,
        Err(err) => return not_sent(err),
    };
    match provider {
        Provider::Anthropic => anthropic_verdict(ctx, http, resolution).await,
        other => {
            let verdict = crate::commands::diagnose::cloud_verdict(ctx, other, http).await;
            let date = verdict.as_ref().ok().and_then(|v| v.server_date);
            Asked {
                verdict,
                date,
                sent: true,
            }
        }
    }
}

fn not_sent(err: AuthError) -> Asked {
    Asked {
        verdict: Err(err),
        date: None,
        sent: false,
    }
}

/// One `GET /v1/models` with the credential in force: the key, or the session's access
/// token (refreshed first when stale), so a revoked token fails here as a bad key does.
async fn anthropic_verdict(
    ctx: &Context,
    http: &reqwest::Client,
    resolution: &Resolution,
) -> Asked {
    let Some(active) = resolution.active() else {
        return not_sent(resolve::no_key_error());
    };
    let budget = ctx.budget();
    // What the server was shown: a helper's key is known only once it has run.
    let mut shown = active.fingerprint.clone();
    let answer = if let Source::Session(provider) = &active.source {
        let token = match crate::oauth::refresh::access_token(ctx, provider).await {
            Ok((token, _)) => token,
            Err(err) => return not_sent(err),
        };
        let fingerprint = active.fingerprint.as_str().to_string();
        let credential = anthropic::ApiCredential::Token {
            token: &token,
            fingerprint,
        };
        anthropic::ask(http, &ctx.env, &credential, budget).await
    } else {
        match ask_with(ctx, http, active, false).await {
            // A helper's cached key the API refuses: run the helper again, once.
            Ok((first, _))
                if matches!(active.source, Source::Helper(_))
                    && first
                        .verdict
                        .as_ref()
                        .is_err_and(|e| e.code() == crate::error::ErrorCode::InvalidApiKey) =>
            {
                ctx.detail("apiKeyHelper: the API refused its key; running it again");
                match ask_with(ctx, http, active, true).await {
                    Ok((answer, fingerprint)) => {
                        shown = fingerprint;
                        answer
                    }
                    // The first answer was had: its clock still counts.
                    Err(err) => {
                        return Asked {
                            verdict: Err(err),
                            date: first.server_date,
                            sent: true,
                        }
                    }
                }
            }
            Ok((answer, fingerprint)) => {
                shown = fingerprint;
                answer
            }
            Err(err) => return not_sent(err),
        }
    };
    let what = match &active.source {
        Source::Session(provider) => format!("the {provider} access token {shown}"),
        _ => shown.as_str().to_string(),
    };
    let verdict = answer.verdict.map(|check| Verdict {
        detail: format!(
            "the API accepted {what} ({} visible)",
            crate::output::count(check.models as u64, "model", "models")
        ),
        server_date: check.server_date,
        elapsed: check.elapsed,
    });
    Asked {
        verdict,
        date: answer.server_date,
        sent: true,
    }
}

/// Asks the API with a credential that is not a login, as its source says it is sent;
/// `rerun` runs `apiKeyHelper` again instead of using its cached output. Also returns the
/// fingerprint of what was sent (a helper's output is known only once it has run).
async fn ask_with(
    ctx: &Context,
    http: &reqwest::Client,
    active: &resolve::Candidate,
    rerun: bool,
) -> Result<(anthropic::Answer, crate::secret::Fingerprint), AuthError> {
    let budget = ctx.budget();
    let (secret, sent) = match (&active.source, rerun) {
        (Source::Helper(found), true) => {
            let key = resolve::helper::rerun(ctx, found)?;
            let sent = crate::secret::Fingerprint::of(key.expose());
            (key, sent)
        }
        _ => {
            let (key, _, sent) = resolve::secret_of(ctx, active)?;
            (key, sent)
        }
    };
    let fingerprint = sent.as_str().to_string();
    let answer = match active.source.scheme() {
        resolve::Scheme::ApiKey => {
            let key = crate::apikey::ApiKey::parse(secret)?;
            anthropic::ask(http, &ctx.env, &anthropic::ApiCredential::Key(&key), budget).await
        }
        scheme => {
            let credential = anthropic::ApiCredential::Bearer {
                token: &secret,
                fingerprint,
                oauth: scheme == resolve::Scheme::OAuth,
            };
            anthropic::ask(http, &ctx.env, &credential, budget).await
        }
    };
    Ok((answer, sent))
}

fn clock_step(date: UnixTime, now: UnixTime) -> Result<String, AuthError> {
    let (skew, ahead) = (now.abs_diff(date).as_secs(), now >= date);
    if skew > SKEW_LIMIT_SECS {
        return Err(AuthError::provider(format!(
            "this machine's clock is {skew} s {} the server's",
            if ahead { "ahead of" } else { "behind" }
        ))
        .with_hint("sync the clock (e.g. `timedatectl set-ntp true`): tokens and signatures fail with skew"));
    }
    Ok(format!("within {skew} s of the server"))
}

fn render(steps: Steps, provider: Provider) -> Outcome {
    let report = Checks::of(&steps, provider);
    let (text, doc) = (report.text(), document(&report));
    match steps.into_first_failure() {
        None => Outcome::ok(text, doc),
        Some(failure) => Outcome::failed(text, doc, failure),
    }
}
