//! `--set-api-key`, `--remove-api-key`, `--test-api-key`, `--validate-key`, `--rotate-key`.

use crate::apikey::ApiKey;
use crate::config::schema::StorageKind;
use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::events::{record, AuthEvent};
use crate::output::{Outcome, Report};
use crate::prompt::read_secret;
use crate::providers::anthropic::{self, KeyCheck};
use crate::resolve::{self, Source};
use crate::secret::{Fingerprint, Secret};
use crate::storage::{ItemMeta, API_KEY_ITEM};
use serde::{Serialize, Serializer};

/// A store in JSON by its config name (`keychain`, `encrypted-file`); the text names it in
/// words (`Source::Stored(kind).describe()`: "the encrypted credential file").
pub(crate) fn storage_name<S: Serializer>(
    kind: &StorageKind,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(kind.as_str())
}

/// "the keychain", "the encrypted credential file".
/// `1 model`, `3 models`.
fn models(n: usize) -> String {
    crate::output::count(n as u64, "model", "models")
}

pub(crate) fn store_words(kind: StorageKind) -> String {
    Source::Stored(kind).describe()
}

/// `--set-api-key`'s result.
#[derive(Serialize)]
pub struct Stored {
    /// Always `true`: a key that is not stored is an error.
    pub stored: bool,
    pub fingerprint: String,
    #[serde(serialize_with = "storage_name")]
    pub storage: StorageKind,
    /// The key this one replaced.
    pub replaced: Option<String>,
    pub models: usize,
}

impl Report for Stored {
    fn text(&self) -> String {
        let mut text = format!(
            "✓ Stored API key {} in {} (checked: {} visible).",
            self.fingerprint,
            store_words(self.storage),
            models(self.models)
        );
        if let Some(old) = &self.replaced {
            text.push_str(&format!("\n  It replaces {old}."));
        }
        text
    }
}

/// `--remove-api-key`'s result.
#[derive(Serialize)]
pub struct Removed {
    /// `false` when nothing was stored.
    pub removed: bool,
    pub fingerprint: Option<String>,
    #[serde(serialize_with = "storage_name")]
    pub storage: StorageKind,
}

impl Report for Removed {
    fn text(&self) -> String {
        let storage = store_words(self.storage);
        match (&self.fingerprint, self.removed) {
            (Some(fp), true) => format!("✓ Removed the stored API key {fp} from {storage}."),
            (None, true) => format!("✓ Removed the stored API key from {storage}."),
            _ => format!("No API key is stored in {storage}; nothing to remove."),
        }
    }
}

/// `--test-api-key`'s and `--validate-key`'s result: the API accepted the key.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    /// Always `true`: a rejected key is an error.
    pub valid: bool,
    pub fingerprint: String,
    /// Where the key in force comes from; `None` for a key given to `--validate-key`.
    pub source: Option<String>,
    pub models: usize,
    pub latency_ms: u64,
    pub attempts: u32,
    /// The source in words, for the text.
    #[serde(skip)]
    pub from: Option<String>,
}

impl Report for Checked {
    fn text(&self) -> String {
        let (fingerprint, models, ms) = (&self.fingerprint, models(self.models), self.latency_ms);
        match &self.from {
            Some(from) => {
                format!("✓ API key {fingerprint} from {from} works ({models} visible, {ms} ms).")
            }
            None => format!(
                "✓ {fingerprint} is a valid API key ({models} visible, {ms} ms). It was not stored; use `claude --set-api-key` for that."
            ),
        }
    }
}

/// `--rotate-key`'s result.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotated {
    /// Always `true`: a rotation that did not happen is an error.
    pub rotated: bool,
    pub previous_fingerprint: String,
    pub fingerprint: String,
    #[serde(serialize_with = "storage_name")]
    pub storage: StorageKind,
    /// What became of the replaced key in the organization (`policy::rotation::OldKey`).
    pub old_key: serde_json::Value,
    #[serde(skip)]
    pub old_key_sentence: String,
    #[serde(skip)]
    pub models: usize,
}

impl Report for Rotated {
    fn text(&self) -> String {
        let (old, new) = (&self.previous_fingerprint, &self.fingerprint);
        format!(
            "✓ Rotated the stored API key: {old} → {new} (checked: {} visible).\n  {}",
            models(self.models),
            self.old_key_sentence
        )
    }
}

/// `--set-api-key [KEY|-]`: read, check offline and online, store with its fingerprint.
///
/// # Errors
/// `invalid_api_key` and the other check errors before anything is stored; storage errors.
pub async fn set(ctx: &Context, arg: Option<&Secret<String>>) -> Result<Outcome, AuthError> {
    let raw = read_secret(ctx, arg, "--set-api-key", "API key")?;
    if crate::providers::admin_api::is_admin_key(raw.expose()) {
        return super::admin_key::set(ctx, raw).await;
    }
    let key = ApiKey::parse(raw)?;
    crate::mfa::gate::require(ctx, crate::mfa::gate::Purpose::StoreKey)?;
    let fingerprint = key.fingerprint();
    // Before the key is sent anywhere: a key checked but then not storable is a wasted
    // request and a confusing error.
    crate::storage::atomic::ensure_private_dir(&ctx.state_dir)?;
    // The same store (and the key it may have derived) is used for the write.
    let store = ctx.store();
    store.probe()?;
    let check = check_online(ctx, &key, "input").await.map_err(|err| {
        // Whatever went wrong, say what it left: a user retrying must know nothing changed.
        let hint = err.hint().map_or_else(String::new, |h| format!("{h}; "));
        let hint = format!(
            "{hint}nothing was stored: the key is stored only once the API has accepted it"
        );
        err.with_hint(hint)
    })?;
    let (replaced, kind) = store_new(
        ctx,
        store.as_ref(),
        API_KEY_ITEM,
        key.secret(),
        &fingerprint,
    )?;
    warn_if_shadowed(ctx);
    Ok(Outcome::report(&Stored {
        stored: true,
        fingerprint: fingerprint.to_string(),
        storage: kind,
        replaced,
        models: check.models,
    }))
}

/// Stores `secret` as `item` under the lock, records the event, and returns the fingerprint
/// it replaced and the store's kind.
///
/// # Errors
/// Storage errors; the previous value is then kept.
pub(crate) fn store_new(
    ctx: &Context,
    store: &dyn crate::storage::SecretStore,
    item: &str,
    secret: &Secret<String>,
    fingerprint: &Fingerprint,
) -> Result<(Option<String>, StorageKind), AuthError> {
    let lock = ctx.lock()?;
    let replaced = store
        .index()?
        .items
        .get(item)
        .map(|m| m.fingerprint.clone());
    let meta = ItemMeta {
        fingerprint: fingerprint.to_string(),
        created_at: ctx.clock.now(),
        rotated_at: None,
        previous_fingerprint: None,
        helper_digest: None,
    };
    store.put(item, secret, meta, &lock)?;
    drop(lock);
    let kind = store.kind();
    record(
        ctx,
        &AuthEvent::KeyStored {
            fingerprint,
            storage: kind.as_str(),
        },
    );
    Ok((replaced, kind))
}

/// `--remove-api-key`: forget the stored key (idempotent).
///
/// # Errors
/// Storage errors; a key that cannot be reached is not reported as removed.
pub fn remove(ctx: &Context) -> Result<Outcome, AuthError> {
    let store = ctx.store();
    let kind = store.kind();
    let storage = kind.as_str();
    let fingerprint = store
        .index()?
        .items
        .get(API_KEY_ITEM)
        .map(|m| m.fingerprint.clone());
    let lock = ctx.lock()?;
    let removed = match store.remove(API_KEY_ITEM, &lock) {
        // Nothing listed and a keychain that cannot be asked: as far as this machine knows,
        // nothing is stored, and there is nothing to do (exit 0), but say what was not checked.
        Err(err)
            if fingerprint.is_none()
                && err.code() == crate::error::ErrorCode::KeychainUnavailable =>
        {
            ctx.warn(&format!(
                "the keychain was not checked ({}); its index lists no API key",
                err.message()
            ));
            false
        }
        other => other?,
    };
    drop(lock);
    if removed {
        let fingerprint = fingerprint.clone().map(Fingerprint::from_stored);
        record(
            ctx,
            &AuthEvent::KeyRemoved {
                fingerprint: fingerprint.as_ref(),
                storage,
            },
        );
    }
    let still = resolve::credentials(ctx);
    if let Some(active) = still.active() {
        ctx.warn(&format!(
            "{} is still in force from {}{}",
            active.fingerprint,
            active.source.describe(),
            unset_hint(&active.source)
        ));
    }
    Ok(Outcome::report(&Removed {
        removed,
        fingerprint,
        storage: kind,
    }))
}

/// `--test-api-key`: check the key in force against the API and name its source.
///
/// # Errors
/// `not_authenticated` when no key resolves, `policy_violation` when policy refuses every
/// key, `invalid_api_key` for a malformed one; the check's errors otherwise.
pub async fn test(ctx: &Context) -> Result<Outcome, AuthError> {
    crate::policy::compliance::enforce(ctx)?;
    // A login or a bearer token in force is not an API key: test the key behind it, if any,
    // and say that it is not what requests use.
    let not_a_key = resolve::credentials(ctx)
        .active()
        .filter(|c| c.source.scheme() != resolve::Scheme::ApiKey)
        .map(|c| c.source.describe());
    let (secret, source, _) = match (resolve::active_key(ctx), not_a_key) {
        (Ok(found), None) => found,
        (Ok(found), Some(in_force)) => {
            ctx.warn(&format!(
                "the credential in force is {in_force}, not this key: `claude --test-auth` checks it against the API"
            ));
            found
        }
        (Err(err), Some(in_force)) if err.code() == crate::error::ErrorCode::NotAuthenticated => {
            return Err(AuthError::not_authenticated(format!(
                "no API key is configured: the credential in force is {in_force}"
            ))
            .with_hint("run `claude --test-auth` to check it against the API"));
        }
        (Err(err), _) => return Err(err),
    };
    let key = ApiKey::parse(secret).map_err(|err| from_source(err, &source))?;
    let fingerprint = key.fingerprint();
    let check = check_online(ctx, &key, &source.to_string())
        .await
        .map_err(|err| from_source(err, &source))?;
    Ok(Outcome::report(&checked(
        &fingerprint,
        Some(&source),
        &check,
    )))
}

/// `--validate-key KEY|-`: the format, then the API's verdict; nothing is stored.
///
/// # Errors
/// `invalid_api_key` for a malformed or rejected key; the check's errors otherwise.
pub async fn validate(ctx: &Context, arg: Option<&Secret<String>>) -> Result<Outcome, AuthError> {
    let key = ApiKey::parse(read_secret(ctx, arg, "--validate-key", "API key")?)?;
    let fingerprint = key.fingerprint();
    let check = check_online(ctx, &key, "input").await?;
    Ok(Outcome::report(&checked(&fingerprint, None, &check)))
}

/// `--rotate-key [KEY|-]`: the new key is read and checked first; then one atomic swap.
///
/// # Errors
/// `not_authenticated` when no key is stored; check errors (the old key is then kept).
pub async fn rotate(ctx: &Context, arg: Option<&Secret<String>>) -> Result<Outcome, AuthError> {
    let store = ctx.store();
    let kind = store.kind();
    let storage = kind.as_str();
    let Some(old) = store.index()?.items.remove(API_KEY_ITEM) else {
        return Err(AuthError::not_authenticated(format!(
            "no API key is stored in {}, so there is nothing to rotate",
            store_words(kind)
        ))
        .with_hint("store one with `claude --set-api-key`"));
    };
    let key = ApiKey::parse(read_secret(ctx, arg, "--rotate-key", "new API key")?)?;
    let new_fp = key.fingerprint();
    if new_fp.as_str() == old.fingerprint {
        let same = store
            .get(API_KEY_ITEM)?
            .is_some_and(|current| current.expose() == key.secret().expose());
        if same {
            return Err(AuthError::usage("the new key is the key already stored")
                .with_hint("create a new key at https://console.anthropic.com/settings/keys, then rotate to it"));
        }
    }
    crate::mfa::gate::require(ctx, crate::mfa::gate::Purpose::RotateKey)?;
    crate::storage::atomic::ensure_private_dir(&ctx.state_dir)?;
    store.probe()?;
    let check = check_online(ctx, &key, "input").await?;
    let now = ctx.clock.now();
    let meta = ItemMeta {
        fingerprint: new_fp.to_string(),
        created_at: now,
        rotated_at: Some(now),
        previous_fingerprint: Some(old.fingerprint.clone()),
        helper_digest: None,
    };
    let lock = ctx.lock()?;
    // Another process may have replaced the key while this one was checking the new key.
    let current = store.index()?.items.remove(API_KEY_ITEM);
    if current.as_ref().map(|m| &m.fingerprint) != Some(&old.fingerprint) {
        return Err(AuthError::storage(
            "the stored key changed while the new key was being checked",
        )
        .with_hint("run `claude --auth-status` to see the key now stored, then rotate again"));
    }
    // Read only when an Admin key can use it: finding the key in the organization needs
    // more than its fingerprint. A failed read leaves the rotation to go on.
    let old_secret = crate::policy::rotation::wants_old_key(ctx)
        .then(|| store.get(API_KEY_ITEM).ok().flatten())
        .flatten();
    store.put(API_KEY_ITEM, key.secret(), meta, &lock)?;
    drop(lock);
    let old_fp = Fingerprint::from_stored(old.fingerprint.clone());
    record(
        ctx,
        &AuthEvent::KeyRotated {
            from: &old_fp,
            to: &new_fp,
            storage,
        },
    );
    warn_if_shadowed(ctx);
    let old_key = crate::policy::rotation::retire(ctx, old_secret.as_ref(), key.secret()).await;
    if let crate::policy::rotation::OldKey::StillActive { reason: Some(err) } = &old_key {
        ctx.warn(&format!(
            "the old key was not deactivated: {}",
            err.message()
        ));
    }
    Ok(Outcome::report(&Rotated {
        rotated: true,
        previous_fingerprint: old_fp.to_string(),
        fingerprint: new_fp.to_string(),
        storage: kind,
        old_key: old_key.to_json(&old_fp),
        old_key_sentence: old_key.sentence(&old_fp),
        models: check.models,
    }))
}

/// Runs the online check and records the verdict.
async fn check_online(ctx: &Context, key: &ApiKey, source: &str) -> Result<KeyCheck, AuthError> {
    let fingerprint = key.fingerprint();
    ctx.detail(&format!(
        "checking {fingerprint} against {}",
        anthropic::models_url(&ctx.env)?
    ));
    let client = ctx.http()?;
    let result = anthropic::check_key(client, &ctx.env, key, ctx.budget()).await;
    match &result {
        Ok(_) => record(
            ctx,
            &AuthEvent::KeyValidated {
                fingerprint: &fingerprint,
                source,
            },
        ),
        // Only the API's verdict on the key is a rejection: a request that was never sent
        // (IP policy) or never answered (network) says nothing about the key, and the
        // command's own `refused` event records a policy refusal.
        Err(err)
            if matches!(
                err.code(),
                ErrorCode::InvalidApiKey | ErrorCode::InsufficientPermissions
            ) =>
        {
            record(
                ctx,
                &AuthEvent::KeyRejected {
                    fingerprint: &fingerprint,
                    source,
                    code: err.code().as_str(),
                },
            );
        }
        Err(_) => {}
    }
    result
}

fn checked(fingerprint: &Fingerprint, source: Option<&Source>, check: &KeyCheck) -> Checked {
    Checked {
        valid: true,
        fingerprint: fingerprint.to_string(),
        source: source.map(ToString::to_string),
        models: check.models,
        latency_ms: u64::try_from(check.elapsed.as_millis()).unwrap_or(u64::MAX),
        attempts: check.attempts,
        from: source.map(Source::describe),
    }
}

/// Adds to `err` which source the failing key came from and how to change it, when the
/// error is about the key (not a network, configuration or store failure, which another
/// key would not fix).
fn from_source(err: AuthError, source: &Source) -> AuthError {
    if !err.code().judges_the_credential() {
        return err;
    }
    let hint = match (err.hint(), source) {
        (Some(hint), Source::Stored(_)) => {
            format!("{hint}; then `claude --set-api-key` to store the new key")
        }
        (Some(hint), _) => format!(
            "{hint}; the key comes from {}{}",
            source.describe(),
            unset_hint(source)
        ),
        (None, _) => format!("the key comes from {}", source.describe()),
    };
    err.with_hint(hint)
}

fn unset_hint(source: &Source) -> String {
    use crate::config::claude_code::Origin;
    let origin = match source {
        Source::Env(origin) | Source::AuthToken(origin) | Source::OauthEnv(origin) => Some(origin),
        Source::Helper(found) => Some(&found.origin),
        _ => None,
    };
    match (source, origin) {
        (_, Some(Origin::Managed(file))) => format!(
            " (it is set by managed settings {}, which only an administrator can change)",
            file.display()
        ),
        (_, Some(Origin::Settings(file))) => {
            format!(" (remove it from {} to stop using it)", file.display())
        }
        (Source::Env(_), _) => " (`unset ANTHROPIC_API_KEY` to stop using it)".to_string(),
        _ => String::new(),
    }
}

/// Warns when a key given elsewhere takes precedence over the stored one.
fn warn_if_shadowed(ctx: &Context) {
    let resolution = resolve::credentials(ctx);
    if let Some(active) = resolution.active() {
        if !matches!(active.source, Source::Stored(_)) {
            ctx.warn(&format!(
                "{} from {} takes precedence over the stored key{}",
                active.fingerprint,
                active.source.describe(),
                unset_hint(&active.source)
            ));
        }
    }
}
