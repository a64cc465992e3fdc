//! Which API key is in force, where it came from, and what it shadows (SPEC §3).
//!
//! Order, first usable wins: `--api-key` → `ANTHROPIC_API_KEY` → the environment's
//! `apiKey` → config `apiKey` → the stored key. An environment pinned to another method
//! (e.g. OAuth-only production) and `authentication.method: oauth` without an `api-key`
//! fallback refuse every key, and the refusal says why.

use crate::apikey::ApiKey;
use crate::config::schema::{Method, Provider, StorageKind};
use crate::context::Context;
use crate::envvars;
use crate::error::AuthError;
use crate::secret::{Fingerprint, Secret};
use crate::storage::{ItemMeta, API_KEY_ITEM};
use std::fmt;

/// Where a credential came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    Environment(String),
    Config,
    Stored(StorageKind),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env => write!(f, "env:{}", envvars::ANTHROPIC_API_KEY),
            Source::Environment(name) => write!(f, "environment:{name}"),
            Source::Config => f.write_str("config"),
            Source::Stored(kind) => f.write_str(kind.as_str()),
        }
    }
}

impl Source {
    /// Where the user would go to change it, in words.
    pub fn describe(&self) -> String {
        match self {
            Source::Flag => "the `--api-key` flag".to_string(),
            Source::Env => "the ANTHROPIC_API_KEY environment variable".to_string(),
            Source::Environment(name) => format!("`environments.{name}.apiKey` in the config"),
            Source::Config => "`apiKey` in the config".to_string(),
            Source::Stored(StorageKind::Keychain) => "the keychain".to_string(),
            Source::Stored(StorageKind::EncryptedFile) => {
                "the encrypted credential file".to_string()
            }
        }
    }
}

/// One API key that is present somewhere.
pub struct Candidate {
    pub source: Source,
    pub fingerprint: Fingerprint,
    /// The value, except for a stored key that has not been unlocked.
    pub secret: Option<Secret<String>>,
    /// Metadata of a stored key.
    pub meta: Option<ItemMeta>,
    /// Why policy forbids this key, when it does.
    pub refused: Option<String>,
    /// Why the value cannot be an API key (offline format check), when it cannot.
    pub problem: Option<String>,
}

/// Why policy allows no API key here, and what the user can do instead.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub reason: String,
    pub next_step: String,
}

/// Every key present, in resolution order.
pub struct Resolution {
    pub candidates: Vec<Candidate>,
    /// Problems met while looking (e.g. a store that cannot be read); shown as warnings.
    pub problems: Vec<AuthError>,
    /// Set when policy refuses every API key.
    pub policy: Option<Refusal>,
}

impl Resolution {
    /// The key in force.
    pub fn active(&self) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.refused.is_none())
    }

    /// Index of the key in force.
    pub fn active_index(&self) -> Option<usize> {
        self.candidates.iter().position(|c| c.refused.is_none())
    }

    /// The usable keys behind the active one.
    pub fn shadowed(&self) -> impl Iterator<Item = &Candidate> {
        let active = self.active_index();
        self.candidates
            .iter()
            .enumerate()
            .filter(move |(i, c)| c.refused.is_none() && Some(*i) != active)
            .map(|(_, c)| c)
    }

    /// Why policy refuses every key, when it does.
    pub fn refusal(&self) -> Option<&Refusal> {
        self.policy.as_ref()
    }
}

/// Collects every API key present, without unlocking the store.
pub fn api_keys(ctx: &Context) -> Resolution {
    let mut candidates = Vec::new();
    let mut problems = Vec::new();
    let config = &ctx.loaded.config;
    let environment = ctx.loaded.environment.as_ref();
    let mut add = |source: Source, secret: &Secret<String>| {
        let value = Secret::new(secret.expose().trim().to_string());
        if value.expose().is_empty() {
            return;
        }
        let problem = ApiKey::parse(value.clone())
            .err()
            .map(|err| err.message().to_string());
        candidates.push(Candidate {
            source,
            fingerprint: Fingerprint::of(value.expose()),
            secret: Some(value),
            meta: None,
            refused: None,
            problem,
        });
    };
    if let Some(key) = &ctx.flag_key {
        add(Source::Flag, key);
    }
    if let Some(key) = envvars::get(envvars::ANTHROPIC_API_KEY) {
        add(Source::Env, &Secret::new(key));
    }
    if let Some(env) = environment {
        if let Some(key) = &env.api_key {
            add(Source::Environment(env.name.clone()), key);
        }
    }
    if let Some(key) = &config.api_key {
        add(Source::Config, key);
    }
    let store = ctx.store();
    match store.index() {
        Ok(index) => {
            if let Some(meta) = index.items.get(API_KEY_ITEM) {
                candidates.push(Candidate {
                    source: Source::Stored(store.kind()),
                    fingerprint: Fingerprint::from_stored(meta.fingerprint.clone()),
                    secret: None,
                    meta: Some(meta.clone()),
                    refused: None,
                    problem: None,
                });
            }
        }
        Err(err) => problems.push(err),
    }
    let policy = refusal(ctx);
    if let Some(refusal) = &policy {
        for candidate in &mut candidates {
            candidate.refused = Some(refusal.reason.clone());
        }
    }
    Resolution {
        candidates,
        problems,
        policy,
    }
}

/// Why no API key may be used under the current policy, if that is so.
fn refusal(ctx: &Context) -> Option<Refusal> {
    let config = &ctx.loaded.config;
    let pinned = ctx
        .loaded
        .environment
        .as_ref()
        .filter(|env| env.forbids_api_keys());
    let provider = config.provider.unwrap_or(Provider::Anthropic);
    if provider != Provider::Anthropic {
        let origin = match pinned {
            Some(env) => format!("environment `{}` uses", env.name),
            None => "the config selects".to_string(),
        };
        return Some(Refusal {
            reason: format!(
                "{origin} the `{}` provider, which does not take Anthropic API keys",
                provider.as_str()
            ),
            next_step: format!(
                "this version cannot check {} credentials yet; use the Anthropic API by removing `provider` or choosing another environment with `--env`",
                provider.as_str()
            ),
        });
    }
    if let Some(env) = pinned {
        let method = env.method.map(Method::as_str).unwrap_or_default();
        return Some(Refusal {
            reason: format!(
                "environment `{}` allows only `{method}` authentication (environments.{}.authentication), so API keys are refused",
                env.name, env.name
            ),
            next_step: "this environment needs an OAuth login (`claude --login`), which this version cannot do yet; choose an environment that allows API keys with `--env`".to_string(),
        });
    }
    let auth = &config.authentication;
    match auth.method {
        Some(Method::ApiKey) | None => None,
        Some(_) if auth.fallback == Some(Method::ApiKey) => None,
        Some(method) => Some(Refusal {
            reason: format!(
                "`authentication.method` is `{}` without `fallback: \"api-key\"`, so API keys are not used",
                method.as_str()
            ),
            next_step: "set `authentication.fallback` to `api-key` in the config to use API keys until OAuth login is available".to_string(),
        }),
    }
}

/// The key in force with its value, unlocking the store when the stored key is the one.
///
/// # Errors
/// `not_authenticated` when there is none; `policy_violation` (saying why) when policy
/// refuses every key;
/// storage errors when the stored key cannot be read.
pub fn active_key(ctx: &Context) -> Result<(Secret<String>, Source, Fingerprint), AuthError> {
    let resolution = api_keys(ctx);
    let Some(active) = resolution.active() else {
        if let Some(refusal) = resolution.refusal() {
            return Err(
                AuthError::policy(refusal.reason.clone()).with_hint(refusal.next_step.clone())
            );
        }
        if let Some(problem) = resolution.problems.into_iter().next() {
            return Err(problem);
        }
        return Err(no_key_error());
    };
    if let Some(secret) = &active.secret {
        return Ok((
            secret.clone(),
            active.source.clone(),
            active.fingerprint.clone(),
        ));
    }
    let store = ctx.store();
    match store.get(API_KEY_ITEM)? {
        Some(secret) => {
            let fingerprint = Fingerprint::of(secret.expose());
            Ok((secret, active.source.clone(), fingerprint))
        }
        None => Err(AuthError::storage(format!(
            "the {} has no API key although the index lists {}",
            store.kind().as_str(),
            active.fingerprint
        ))
        .with_hint("store it again with `claude --set-api-key`")),
    }
}

/// The error for "no key anywhere", with every way to get one.
pub fn no_key_error() -> AuthError {
    AuthError::not_authenticated("no API key is configured")
        .with_hint("store one with `claude --set-api-key`, or export ANTHROPIC_API_KEY")
}
