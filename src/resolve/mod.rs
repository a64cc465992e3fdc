//! Which credential is in force, where it came from, and what it shadows (SPEC §3).
//!
//! First usable wins, in Claude Code's order (docs/configuration.md has the table):
//! `--api-key` → `ANTHROPIC_AUTH_TOKEN` (bearer) → `ANTHROPIC_API_KEY` → the environment's
//! `apiKey` → config `apiKey` → `apiKeyHelper` (this tool's config, then Claude Code's
//! `settings.json`) → `CLAUDE_CODE_OAUTH_TOKEN` → the stored key; then the OAuth session
//! from `--login`. Variables may come from the `env` block of Claude Code's settings
//! ([`crate::config::claude_code`]); each source says so. `authentication.method: "oauth"`
//! puts the OAuth credentials first (keys only with `fallback: "api-key"`). An environment
//! pinned to one method refuses the others, and a non-Anthropic provider refuses all of
//! them; every refusal says why.

use crate::apikey::ApiKey;
use crate::config::claude_code::{Helper, HelperKey, Origin};
use crate::config::schema::{Method, Provider, StorageKind};
use crate::context::Context;
use crate::envvars;
use crate::error::AuthError;
use crate::oauth::DEFAULT_PROVIDER;
use crate::secret::{Fingerprint, Secret};
use crate::session::{self, Session};
use crate::storage::{ItemMeta, API_KEY_ITEM};
use std::fmt;

pub mod helper;
#[cfg(test)]
mod table;

/// Where a credential came from. A variable's [`Origin`] says whether the process
/// environment or the `env` block of Claude Code's settings set it; a helper's, which file
/// named the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Flag,
    /// `ANTHROPIC_AUTH_TOKEN`: a bearer token.
    AuthToken(Origin),
    Env(Origin),
    Environment(String),
    Config,
    /// `apiKeyHelper`: the command whose output is the key.
    Helper(Helper),
    /// `CLAUDE_CODE_OAUTH_TOKEN`: an OAuth access token.
    OauthEnv(Origin),
    Stored(StorageKind),
    /// The OAuth session of this provider.
    Session(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::AuthToken(_) => write!(f, "env:{}", envvars::ANTHROPIC_AUTH_TOKEN),
            Source::Helper(_) => f.write_str("apiKeyHelper"),
            Source::OauthEnv(_) => write!(f, "env:{}", envvars::CLAUDE_CODE_OAUTH_TOKEN),
            Source::Env(_) => write!(f, "env:{}", envvars::ANTHROPIC_API_KEY),
            Source::Environment(name) => write!(f, "environment:{name}"),
            Source::Config => f.write_str("config"),
            Source::Stored(kind) => f.write_str(kind.as_str()),
            Source::Session(provider) => write!(f, "oauth:{provider}"),
        }
    }
}

impl Source {
    /// Where the user would go to change it, in words.
    pub fn describe(&self) -> String {
        match self {
            Source::Flag => "the `--api-key` flag".to_string(),
            Source::AuthToken(origin) => format!(
                "the ANTHROPIC_AUTH_TOKEN environment variable{}, a bearer token",
                origin.note()
            ),
            Source::Helper(found) => format!(
                "the `apiKeyHelper` command `{}` {}",
                helper::shown(&found.command),
                found.place()
            ),
            Source::OauthEnv(origin) => format!(
                "the CLAUDE_CODE_OAUTH_TOKEN environment variable{}, an OAuth token",
                origin.note()
            ),
            Source::Env(origin) => format!(
                "the ANTHROPIC_API_KEY environment variable{}",
                origin.note()
            ),
            Source::Environment(name) => format!("`environments.{name}.apiKey` in the config"),
            Source::Config => "`apiKey` in the config".to_string(),
            Source::Stored(StorageKind::Keychain) => "the keychain".to_string(),
            Source::Stored(StorageKind::EncryptedFile) => {
                "the encrypted credential file".to_string()
            }
            Source::Session(provider) => format!("the {provider} login"),
        }
    }

    /// True for API keys and other non-OAuth credentials (billed to an API account),
    /// false for the OAuth session and `CLAUDE_CODE_OAUTH_TOKEN`.
    pub fn is_api_key(&self) -> bool {
        !matches!(self, Source::Session(_) | Source::OauthEnv(_))
    }

    /// How the credential is sent to the API.
    pub fn scheme(&self) -> Scheme {
        match self {
            Source::AuthToken(_) => Scheme::Bearer,
            Source::OauthEnv(_) | Source::Session(_) => Scheme::OAuth,
            _ => Scheme::ApiKey,
        }
    }

    /// Claude Code's settings file that set it (its `env` block or its `apiKeyHelper`),
    /// when it came from there.
    pub fn settings_file(&self) -> Option<&std::path::Path> {
        match self {
            Source::AuthToken(origin) | Source::Env(origin) | Source::OauthEnv(origin) => {
                origin.settings_file()
            }
            Source::Helper(found) => found.origin.settings_file(),
            _ => None,
        }
    }
}

/// How a credential is sent to the Anthropic API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `x-api-key`.
    ApiKey,
    /// `Authorization: Bearer` (`ANTHROPIC_AUTH_TOKEN`, for gateways).
    Bearer,
    /// `Authorization: Bearer` with the OAuth beta flag.
    OAuth,
}

/// What a candidate is, with what can be known of it without unlocking anything.
pub enum Credential {
    /// An API key: its value (except the stored key, read from the store only when used)
    /// and, for the stored key, its metadata.
    Key {
        secret: Option<Secret<String>>,
        meta: Option<ItemMeta>,
    },
    /// A token from the environment (`ANTHROPIC_AUTH_TOKEN`, `CLAUDE_CODE_OAUTH_TOKEN`).
    Token { secret: Secret<String> },
    /// `apiKeyHelper`: the command, run only when the key is used; the metadata of its
    /// cached output, when the store lists one.
    Helper {
        found: Helper,
        cached: Option<ItemMeta>,
    },
    /// An OAuth login; its tokens stay in the store.
    Session(Session),
}

/// Whether a present credential may be used. Refusal by policy outranks a problem of the
/// credential itself (a refused credential is never used, however healthy), but the
/// problem is kept: status still says that a refused session has also expired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    Usable,
    /// It cannot work (a malformed key, an expired session), and why.
    Unusable(String),
    /// Policy forbids it here, and why; and its own problem, if it has one too.
    Refused {
        reason: String,
        problem: Option<String>,
    },
}

impl Standing {
    /// This standing with policy's refusal on top.
    fn refused(self, reason: String) -> Standing {
        let problem = match self {
            Standing::Unusable(problem) => Some(problem),
            Standing::Refused { problem, .. } => problem,
            Standing::Usable => None,
        };
        Standing::Refused { reason, problem }
    }
}

/// One credential that is present somewhere: where, its fingerprint, what it is, and
/// whether it may be used. Whether it is in force or shadowed follows from its place in
/// [`Resolution::candidates`].
pub struct Candidate {
    pub source: Source,
    pub fingerprint: Fingerprint,
    pub credential: Credential,
    pub standing: Standing,
}

impl Candidate {
    /// Why policy forbids it, when it does.
    pub fn refused(&self) -> Option<&str> {
        match &self.standing {
            Standing::Refused { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// Why it cannot work, when it cannot (whether or not policy refuses it too).
    pub fn problem(&self) -> Option<&str> {
        match &self.standing {
            Standing::Unusable(problem) => Some(problem),
            Standing::Refused { problem, .. } => problem.as_deref(),
            Standing::Usable => None,
        }
    }

    /// The key's value, when it was read without unlocking anything.
    pub fn secret(&self) -> Option<&Secret<String>> {
        match &self.credential {
            Credential::Key { secret, .. } => secret.as_ref(),
            Credential::Token { secret } => Some(secret),
            Credential::Helper { .. } | Credential::Session(_) => None,
        }
    }

    /// The stored key's metadata.
    pub fn meta(&self) -> Option<&ItemMeta> {
        match &self.credential {
            Credential::Key { meta, .. } => meta.as_ref(),
            _ => None,
        }
    }

    /// The session, for a login.
    pub fn session(&self) -> Option<&Session> {
        match &self.credential {
            Credential::Session(session) => Some(session),
            _ => None,
        }
    }

    /// The `apiKeyHelper` command (and where it was set), and the metadata of its cached
    /// output.
    pub fn helper(&self) -> Option<(&Helper, Option<&ItemMeta>)> {
        match &self.credential {
            Credential::Helper { found, cached } => Some((found, cached.as_ref())),
            _ => None,
        }
    }
}

/// Why policy allows no credential of a kind here, and what the user can do instead.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub reason: String,
    pub next_step: String,
}

impl Refusal {
    /// The refusal as the error a command fails with: `policy_violation`, its next step as
    /// the hint.
    pub fn to_error(&self) -> AuthError {
        AuthError::policy(self.reason.clone()).with_hint(self.next_step.clone())
    }
}

/// How to get a credential for the Anthropic API, for every "there is none". An API key
/// always works; `--login` refuses to start without an OAuth client id, so it is offered
/// only once one is configured (for the default server, else the first named one).
pub fn get_a_credential(ctx: &Context) -> String {
    let step = a_way_in(ctx);
    // Every way in writes to the state directory (the key, its index, the session): one the
    // writes would refuse is the first thing to change, or the step would fail as printed.
    let refused = std::fs::metadata(&ctx.state_dir)
        .ok()
        .and_then(|meta| crate::storage::ownership::check_state_dir(&ctx.state_dir, &meta).err());
    match refused.as_ref().and_then(AuthError::hint) {
        Some(fix) => format!("first {fix}; then {step}"),
        None => step,
    }
}

/// [`get_a_credential`] in a state directory that can take it.
fn a_way_in(ctx: &Context) -> String {
    const KEY: &str = "store an API key with `claude --set-api-key` (or export ANTHROPIC_API_KEY)";
    if ctx.store().unreachable().is_some() {
        // `--set-api-key` would fail on the store: the way out comes first.
        return "the keychain cannot be used here: run `claude --set-storage encrypted-file`, then store an API key with `claude --set-api-key` (or export ANTHROPIC_API_KEY)".to_string();
    }
    let has_id = |id: &Option<String>| id.as_deref().is_some_and(|id| !id.trim().is_empty());
    let oauth = &ctx.loaded.config.oauth;
    if has_id(&oauth.client_id) {
        return format!("log in with `claude --login`, or {KEY}");
    }
    match oauth.providers.iter().find(|(_, p)| has_id(&p.client_id)) {
        Some((name, _)) => format!("log in with `claude --login --provider {name}`, or {KEY}"),
        None => KEY.to_string(),
    }
}

/// The one "no credential for the Anthropic API" error, `why` saying what was looked for.
pub fn no_credential(ctx: &Context, why: &str) -> AuthError {
    AuthError::not_authenticated(format!("no Anthropic credential is configured{why}"))
        .with_hint(get_a_credential(ctx))
}

/// Every credential present, in resolution order.
pub struct Resolution {
    pub candidates: Vec<Candidate>,
    /// Problems met while looking (e.g. a store that cannot be read); shown as warnings.
    pub problems: Vec<AuthError>,
    /// The store's index could not be read: its error is the first of `problems`.
    pub index_unreadable: bool,
    /// Set when policy refuses every API key.
    pub policy: Option<Refusal>,
}

impl Resolution {
    /// The credential in force.
    pub fn active(&self) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.refused().is_none())
    }

    /// The usable credentials behind the active one.
    pub fn shadowed(&self) -> impl Iterator<Item = &Candidate> {
        let active = self.candidates.iter().position(|c| c.refused().is_none());
        self.candidates
            .iter()
            .enumerate()
            .filter(move |(i, c)| c.refused().is_none() && Some(*i) != active)
            .map(|(_, c)| c)
    }

    /// Why policy refuses every key, when it does.
    pub fn refusal(&self) -> Option<&Refusal> {
        self.policy.as_ref()
    }

    /// The error for "nothing usable": policy's refusal first, then the store's own failure
    /// (a shared, linked or damaged file says so, with its fix), else `otherwise`, once the
    /// opened store confirms it (the index was read without unlocking: only the
    /// authenticated contents may say "none").
    pub fn into_error(self, ctx: &Context, otherwise: AuthError) -> AuthError {
        if let Some(refusal) = self.policy {
            return refusal.to_error();
        }
        if let Some(problem) = self.problems.into_iter().next() {
            return problem;
        }
        match ctx.store().authenticate() {
            Ok(()) => otherwise,
            Err(err) => err,
        }
    }

    /// Why the store keeps the credential in force from being had, as found without
    /// unlocking anything (a shared, linked or foreign `credentials.enc`, a damaged index
    /// or `sessions.json`): when nothing is in force, or what is in force lives in the
    /// store. `None` when policy refuses every key (its refusal comes first), or when the
    /// credential in force does not need the store (a broken store is then a warning).
    pub fn store_failure(&self, ctx: &Context) -> Option<&AuthError> {
        if self.policy.is_some() {
            return None;
        }
        match self.active() {
            None => self.problems.first(),
            Some(active) if active.problem().is_none() && in_store(ctx, active) => {
                self.problems.first().filter(|_| self.index_unreadable)
            }
            Some(_) => None,
        }
    }
}

/// Whether `candidate`'s secret is read from the configured store: the stored key, and a
/// login's tokens. (The keychain's index is a file of its own, so a damaged one does not
/// keep a session's tokens from being read; the encrypted file's header is the file.)
pub fn in_store(ctx: &Context, candidate: &Candidate) -> bool {
    match candidate.source {
        Source::Stored(_) => true,
        Source::Session(_) => {
            ctx.loaded.config.authentication.storage.kind == StorageKind::EncryptedFile
        }
        _ => false,
    }
}

/// The provider whose login counts as a credential for the API.
pub fn oauth_provider(ctx: &Context) -> String {
    ctx.loaded
        .config
        .authentication
        .provider
        .clone()
        .unwrap_or_else(|| DEFAULT_PROVIDER.to_string())
}

/// The provider named by a session candidate's source.
pub fn oauth_provider_of(candidate: &Candidate) -> &str {
    match &candidate.source {
        Source::Session(provider) => provider,
        _ => DEFAULT_PROVIDER,
    }
}

/// Collects every credential present, without unlocking anything.
pub fn credentials(ctx: &Context) -> Resolution {
    let mut keys = Vec::new();
    let mut problems = Vec::new();
    let mut add = |source: Source, secret: &Secret<String>| {
        let value = Secret::new(secret.expose().trim().to_string());
        if value.expose().is_empty() {
            return;
        }
        let standing = match ApiKey::parse(value.clone()) {
            Ok(_) => Standing::Usable,
            Err(err) => Standing::Unusable(err.message().to_string()),
        };
        keys.push(Candidate {
            source,
            fingerprint: Fingerprint::of(value.expose()),
            credential: Credential::Key {
                secret: Some(value),
                meta: None,
            },
            standing,
        });
    };
    if let Some(key) = &ctx.flag_key {
        add(Source::Flag, key);
    }
    if let Some(key) = ctx.env.get(envvars::ANTHROPIC_API_KEY) {
        let origin = ctx.claude_code.origin_of(envvars::ANTHROPIC_API_KEY);
        add(Source::Env(origin), &Secret::new(key));
    }
    if let Some(env) = ctx.loaded.environment.as_ref() {
        if let Some(key) = &env.api_key {
            add(Source::Environment(env.name.clone()), key);
        }
    }
    if let Some(key) = &ctx.loaded.config.api_key {
        add(Source::Config, key);
    }
    // Second, after `--api-key` (the closure above holds `keys` until here).
    if let Some(token) = ctx.env.get(envvars::ANTHROPIC_AUTH_TOKEN) {
        let at = usize::from(keys.first().is_some_and(|k| k.source == Source::Flag));
        let origin = ctx.claude_code.origin_of(envvars::ANTHROPIC_AUTH_TOKEN);
        keys.insert(at, token_candidate(Source::AuthToken(origin), token));
    }
    let store = ctx.store();
    let index = store.index();
    // Managed settings' `apiKeyHelper`, this tool's, then Claude Code's user settings': one
    // runs at most, the first not kept from running (the recursion guard, a
    // self-reference); any other is listed.
    let own = crate::config::claude_code::report::own(ctx, HelperKey::ApiKeyHelper);
    let mut first = true;
    for listed in ctx.claude_code.helpers(HelperKey::ApiKeyHelper, own) {
        // Only the helper that would run can have its output cached.
        let cache = index
            .as_ref()
            .ok()
            .filter(|_| first && listed.skipped.is_none());
        let mut candidate = helper_candidate(ctx, listed.helper, cache);
        if let Some(reason) = listed.skipped {
            candidate.standing = Standing::Refused {
                reason,
                problem: None,
            };
        } else {
            first = false;
        }
        keys.push(candidate);
    }
    let oauth_env = ctx.env.get(envvars::CLAUDE_CODE_OAUTH_TOKEN).map(|token| {
        let origin = ctx.claude_code.origin_of(envvars::CLAUDE_CODE_OAUTH_TOKEN);
        token_candidate(Source::OauthEnv(origin), token)
    });
    let mut stored = None;
    match index {
        Ok(index) => {
            if let Some(meta) = index.items.get(API_KEY_ITEM) {
                stored = Some(Candidate {
                    source: Source::Stored(store.kind()),
                    fingerprint: Fingerprint::from_stored(meta.fingerprint.clone()),
                    credential: Credential::Key {
                        secret: None,
                        meta: Some(meta.clone()),
                    },
                    standing: Standing::Usable,
                });
            }
        }
        Err(err) => problems.push(err),
    }
    let index_unreadable = !problems.is_empty();
    let session = match session::load(&ctx.state_dir) {
        Ok(mut all) => all
            .sessions
            .remove(&oauth_provider(ctx))
            .map(|s| session_candidate(ctx, s)),
        Err(err) => {
            problems.push(err);
            None
        }
    };
    let auth = &ctx.loaded.config.authentication;
    // method oauth + fallback api-key: keys are used only when the session cannot be
    // (judged before policy: a refusal says whether it may be used, not whether it works).
    let session_unusable = session.as_ref().is_some_and(|s| s.problem().is_some());
    let (key_policy, session_policy) = refusals(ctx);
    if let Some(policy) = &key_policy {
        for key in keys.iter_mut().chain(stored.iter_mut()) {
            key.standing = std::mem::replace(&mut key.standing, Standing::Usable)
                .refused(policy.reason.clone());
        }
    }
    let mut session = session;
    let mut oauth_env = oauth_env;
    if let Some(reason) = session_policy {
        for s in session.iter_mut().chain(oauth_env.iter_mut()) {
            s.standing =
                std::mem::replace(&mut s.standing, Standing::Usable).refused(reason.clone());
        }
    }
    let oauth_first = auth.method == Some(Method::Oauth)
        && !(session_unusable && auth.fallback == Some(Method::ApiKey));
    let mut candidates = Vec::new();
    if oauth_first {
        candidates.extend(oauth_env);
        candidates.extend(session);
        candidates.extend(keys);
        candidates.extend(stored);
    } else {
        candidates.extend(keys);
        candidates.extend(oauth_env);
        candidates.extend(stored);
        candidates.extend(session);
    }
    Resolution {
        candidates,
        problems,
        index_unreadable,
        policy: key_policy,
    }
}

/// A token from the environment: usable when it can be sent in a header.
fn token_candidate(source: Source, token: String) -> Candidate {
    let secret = Secret::new(token.trim().to_string());
    let standing = if crate::secret::bearer_header(&secret).is_some() {
        Standing::Usable
    } else {
        Standing::Unusable("it holds characters that cannot be sent in an HTTP header".to_string())
    };
    Candidate {
        source,
        fingerprint: Fingerprint::of(secret.expose()),
        credential: Credential::Token { secret },
        standing,
    }
}

/// `apiKeyHelper`, not run: its fingerprint is that of its cached output while the store's
/// index lists a fresh one, else a note that it runs when used.
fn helper_candidate(
    ctx: &Context,
    found: Helper,
    index: Option<&crate::storage::Index>,
) -> Candidate {
    let cached = index
        .and_then(|index| index.items.get(helper::ITEM))
        .filter(|meta| helper::cached_until(ctx, meta.created_at) > ctx.clock.now())
        .filter(|meta| meta.helper_digest.as_deref() == Some(&helper::digest(&found.command)))
        .cloned();
    let fingerprint = match &cached {
        Some(meta) => Fingerprint::from_stored(meta.fingerprint.clone()),
        None => Fingerprint::from_stored(NOT_RUN.to_string()),
    };
    Candidate {
        source: Source::Helper(found.clone()),
        fingerprint,
        credential: Credential::Helper { found, cached },
        standing: Standing::Usable,
    }
}

/// The fingerprint shown for an `apiKeyHelper` whose output is not cached.
pub const NOT_RUN: &str = "(not run)";

fn session_candidate(ctx: &Context, session: Session) -> Candidate {
    let now = ctx.clock.now();
    let problem = session::expiry_problem(ctx, &session, now).or_else(|| {
        let stale = crate::oauth::refresh::is_stale(&session, now);
        let refreshable =
            session.has_refresh_token && ctx.loaded.config.authentication.auto_refresh;
        (stale && !refreshable)
            .then(|| "the access token has expired and cannot be refreshed".to_string())
    });
    Candidate {
        source: Source::Session(session.provider.clone()),
        fingerprint: Fingerprint::from_stored(session.access_fingerprint.clone()),
        credential: Credential::Session(session),
        standing: problem.map_or(Standing::Usable, Standing::Unusable),
    }
}

/// Whether policy refuses every API key here (so no hint may offer one).
pub fn keys_refused(ctx: &Context) -> bool {
    refusals(ctx).0.is_some()
}

/// Why policy refuses API keys, and why it refuses the OAuth session.
fn refusals(ctx: &Context) -> (Option<Refusal>, Option<String>) {
    let config = &ctx.loaded.config;
    let environment = ctx.loaded.environment.as_ref();
    let (provider, chosen_by) = crate::providers::selection(ctx);
    if provider != Provider::Anthropic {
        let reason = format!(
            "{chosen_by}{} selects the `{}` provider, which does not take Anthropic credentials",
            ctx.claude_code.variable_note(chosen_by),
            provider.as_str()
        );
        let next_step = format!(
            "check the {} credentials with `claude --test-auth`; to use the Anthropic API instead, change {chosen_by} or choose another environment with `--env`",
            provider.as_str()
        );
        return (
            Some(Refusal {
                reason: reason.clone(),
                next_step,
            }),
            Some(reason),
        );
    }
    if let Some(env) = environment {
        match env.method {
            Some(Method::Oauth) => {
                let reason = format!(
                    "environment `{}` allows only `oauth` authentication (environments.{}.authentication), so API keys are refused",
                    env.name, env.name
                );
                let next_step = "log in with `claude --login`, or choose an environment that allows API keys with `--env`".to_string();
                return (Some(Refusal { reason, next_step }), None);
            }
            Some(Method::ApiKey) => {
                return (
                    None,
                    Some(format!(
                        "environment `{}` allows only `api-key` authentication",
                        env.name
                    )),
                );
            }
            _ => {}
        }
    }
    let auth = &config.authentication;
    match auth.method {
        Some(Method::Oauth) if auth.fallback != Some(Method::ApiKey) => {
            let reason = "`authentication.method` is `oauth` without `fallback: \"api-key\"`, so API keys are not used".to_string();
            let next_step =
                "log in with `claude --login`, or set `authentication.fallback` to `api-key`"
                    .to_string();
            (Some(Refusal { reason, next_step }), None)
        }
        Some(Method::ApiKey) => (
            None,
            Some("`authentication.method` is `api-key`".to_string()),
        ),
        _ => (None, None),
    }
}

/// Says how `resolution` was reached: with `-v` one line (the configuration read and the
/// credential in force), with `-vv` every candidate in order and why it was or was not used.
/// Fingerprints only.
pub fn explain(ctx: &Context, resolution: &Resolution) {
    // Nothing listens without `-v`: spend nothing on the sentences (status runs often).
    if ctx.prefs.verbose == 0 {
        return;
    }
    let config = if ctx.loaded.file_exists {
        format!("config {}", ctx.loaded.path.display())
    } else {
        format!("no config at {} (defaults)", ctx.loaded.path.display())
    };
    for candidate in &resolution.candidates {
        let state = candidate
            .refused()
            .or(candidate.problem())
            .unwrap_or("usable");
        crate::trace::step(&format!(
            "candidate {} from {}: {state}",
            candidate.fingerprint,
            candidate.source.describe()
        ));
    }
    let n = resolution.candidates.len();
    let found = match resolution.active() {
        Some(active) => format!(
            "{} from {} is in force",
            active.fingerprint,
            active.source.describe()
        ),
        None => "no credential is in force".to_string(),
    };
    ctx.detail(&format!(
        "{config}; {found} ({n} {} considered)",
        if n == 1 { "candidate" } else { "candidates" }
    ));
}

/// The API key in force (sent as `x-api-key`; not a bearer token) with its value, unlocking
/// the store when the stored key is the one.
///
/// # Errors
/// `not_authenticated` when there is none; `policy_violation` (saying why) when policy
/// refuses every key; storage errors when the stored key cannot be read.
pub fn active_key(ctx: &Context) -> Result<(Secret<String>, Source, Fingerprint), AuthError> {
    let resolution = credentials(ctx);
    let Some(active) = resolution
        .candidates
        .iter()
        .find(|c| c.refused().is_none() && c.source.scheme() == Scheme::ApiKey)
    else {
        return Err(resolution.into_error(ctx, no_key_error()));
    };
    secret_of(ctx, active)
}

/// The value of a candidate that is not a login: as read, the helper's output (run when not
/// cached), or the stored key (unlocking the store).
///
/// # Errors
/// The helper's errors; storage errors; `not_authenticated` when the store lost the key.
pub fn secret_of(
    ctx: &Context,
    active: &Candidate,
) -> Result<(Secret<String>, Source, Fingerprint), AuthError> {
    if let Some(secret) = active.secret() {
        return Ok((
            secret.clone(),
            active.source.clone(),
            active.fingerprint.clone(),
        ));
    }
    if let Some((found, _)) = active.helper() {
        let key = helper::key(ctx, found)?;
        let fingerprint = Fingerprint::of(key.expose());
        return Ok((key, active.source.clone(), fingerprint));
    }
    let store = ctx.store();
    let found = store.get(API_KEY_ITEM)?;
    let fingerprint = found
        .as_ref()
        .map(|secret| Fingerprint::of(secret.expose()));
    if fingerprint.as_ref().map(Fingerprint::as_str) != Some(active.fingerprint.as_str()) {
        let lock = ctx.lock()?;
        if store.reconcile(API_KEY_ITEM, fingerprint.as_ref(), &lock)? {
            ctx.warn(&format!(
                "{} listed {} but holds {} (an earlier change was interrupted); \
                 its index is corrected",
                Source::Stored(store.kind()).describe(),
                active.fingerprint,
                fingerprint.as_ref().map_or("no key", Fingerprint::as_str),
            ));
        }
    }
    match (found, fingerprint) {
        (Some(secret), Some(fingerprint)) => Ok((secret, active.source.clone(), fingerprint)),
        _ => Err(AuthError::not_authenticated(format!(
            "{} no longer holds the API key {} its index listed",
            Source::Stored(store.kind()).describe(),
            active.fingerprint
        ))
        .with_hint("store a key again with `claude --set-api-key`")),
    }
}

/// The error for "no key anywhere", with every way to get one.
pub fn no_key_error() -> AuthError {
    AuthError::not_authenticated("no API key is configured")
        .with_hint("store one with `claude --set-api-key`, or export ANTHROPIC_API_KEY")
}
