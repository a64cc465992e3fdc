//! `--set-api-key`, `--remove-api-key`, `--test-api-key`, `--validate-key`, `--rotate-key`.

use crate::apikey::ApiKey;
use crate::context::Context;
use crate::error::AuthError;
use crate::events::{record, AuthEvent};
use crate::output::Outcome;
use crate::prompt::read_secret;
use crate::providers::anthropic::{self, KeyCheck};
use crate::resolve::{self, Source};
use crate::secret::{Fingerprint, Secret};
use crate::storage::{ItemMeta, API_KEY_ITEM};
use serde_json::json;

/// `--set-api-key [KEY|-]`: read, check offline and online, store with its fingerprint.
///
/// # Errors
/// `invalid_api_key` and the other check errors before anything is stored; storage errors.
pub async fn set(ctx: &Context, arg: Option<&Secret<String>>) -> Result<Outcome, AuthError> {
    let key = ApiKey::parse(read_secret(ctx, arg, "--set-api-key", "API key")?)?;
    let fingerprint = key.fingerprint();
    let check = check_online(ctx, &key, "input").await?;
    let store = ctx.store();
    let lock = ctx.lock()?;
    let replaced = store
        .index()?
        .items
        .get(API_KEY_ITEM)
        .map(|m| m.fingerprint.clone());
    let meta = ItemMeta {
        fingerprint: fingerprint.to_string(),
        created_at: ctx.clock.now(),
        rotated_at: None,
        previous_fingerprint: None,
    };
    store.put(API_KEY_ITEM, key.secret(), meta, &lock)?;
    drop(lock);
    let storage = store.kind().as_str();
    record(
        ctx,
        &AuthEvent::KeyStored {
            fingerprint: &fingerprint,
            storage,
        },
    );
    warn_if_shadowed(ctx);
    let mut human = format!(
        "✓ Stored API key {fingerprint} in the {storage} (checked: {} models visible).",
        check.models
    );
    if let Some(old) = &replaced {
        human.push_str(&format!("\n  It replaces {old}."));
    }
    Ok(Outcome::ok(
        human,
        json!({
            "stored": true,
            "fingerprint": fingerprint.as_str(),
            "storage": storage,
            "replaced": replaced,
            "models": check.models,
        }),
    ))
}

/// `--remove-api-key`: forget the stored key (idempotent).
///
/// # Errors
/// Storage errors; a key that cannot be reached is not reported as removed.
pub fn remove(ctx: &Context) -> Result<Outcome, AuthError> {
    let store = ctx.store();
    let storage = store.kind().as_str();
    let fingerprint = store
        .index()?
        .items
        .get(API_KEY_ITEM)
        .map(|m| m.fingerprint.clone());
    let lock = ctx.lock()?;
    let removed = store.remove(API_KEY_ITEM, &lock)?;
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
    let human = match (&fingerprint, removed) {
        (Some(fp), true) => format!("✓ Removed the stored API key {fp} from the {storage}."),
        (None, true) => format!("✓ Removed the stored API key from the {storage}."),
        _ => format!("No API key is stored in the {storage}; nothing to remove."),
    };
    Ok(Outcome::ok(
        human,
        json!({ "removed": removed, "fingerprint": fingerprint, "storage": storage }),
    ))
}

/// `--test-api-key`: check the key in force against the API and name its source.
///
/// # Errors
/// `not_authenticated` when no key resolves, `policy_violation` when policy refuses every
/// key, `invalid_api_key` for a malformed one; the check's errors otherwise.
pub async fn test(ctx: &Context) -> Result<Outcome, AuthError> {
    crate::policy::compliance::enforce(ctx)?;
    let (secret, source, _) = resolve::active_key(ctx)?;
    let key = ApiKey::parse(secret).map_err(|err| from_source(err, &source))?;
    let fingerprint = key.fingerprint();
    let check = check_online(ctx, &key, &source.to_string())
        .await
        .map_err(|err| from_source(err, &source))?;
    let human = format!(
        "✓ API key {fingerprint} from {} works ({} models visible, {} ms).",
        source.describe(),
        check.models,
        check.elapsed.as_millis()
    );
    Ok(Outcome::ok(
        human,
        check_json(&fingerprint, Some(&source), &check),
    ))
}

/// `--validate-key KEY|-`: the format, then the API's verdict; nothing is stored.
///
/// # Errors
/// `invalid_api_key` for a malformed or rejected key; the check's errors otherwise.
pub async fn validate(ctx: &Context, arg: Option<&Secret<String>>) -> Result<Outcome, AuthError> {
    let key = ApiKey::parse(read_secret(ctx, arg, "--validate-key", "API key")?)?;
    let fingerprint = key.fingerprint();
    let check = check_online(ctx, &key, "input").await?;
    let human = format!(
        "✓ {fingerprint} is a valid API key ({} models visible, {} ms). It was not stored; use `claude --set-api-key` for that.",
        check.models,
        check.elapsed.as_millis()
    );
    Ok(Outcome::ok(human, check_json(&fingerprint, None, &check)))
}

/// `--rotate-key [KEY|-]`: the new key is read and checked first; then one atomic swap.
///
/// # Errors
/// `not_authenticated` when no key is stored; check errors (the old key is then kept).
pub async fn rotate(ctx: &Context, arg: Option<&Secret<String>>) -> Result<Outcome, AuthError> {
    let store = ctx.store();
    let storage = store.kind().as_str();
    let Some(old) = store.index()?.items.remove(API_KEY_ITEM) else {
        return Err(AuthError::not_authenticated(format!(
            "no API key is stored in the {storage}, so there is nothing to rotate"
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
    let check = check_online(ctx, &key, "input").await?;
    let now = ctx.clock.now();
    let meta = ItemMeta {
        fingerprint: new_fp.to_string(),
        created_at: now,
        rotated_at: Some(now),
        previous_fingerprint: Some(old.fingerprint.clone()),
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
    let human = format!(
        "✓ Rotated the stored API key: {old_fp} → {new_fp} (checked: {} models visible).\n  {}",
        check.models,
        old_key.sentence(&old_fp)
    );
    Ok(Outcome::ok(
        human,
        json!({
            "rotated": true,
            "previousFingerprint": old_fp.as_str(),
            "fingerprint": new_fp.as_str(),
            "storage": storage,
            "oldKey": old_key.to_json(&old_fp),
        }),
    ))
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
        Err(err) => record(
            ctx,
            &AuthEvent::KeyRejected {
                fingerprint: &fingerprint,
                source,
                code: err.code().as_str(),
            },
        ),
    }
    result
}

fn check_json(
    fingerprint: &Fingerprint,
    source: Option<&Source>,
    check: &KeyCheck,
) -> serde_json::Value {
    json!({
        "valid": true,
        "fingerprint": fingerprint.as_str(),
        "source": source.map(ToString::to_string),
        "models": check.models,
        "latencyMs": check.elapsed.as_millis() as u64,
        "attempts": check.attempts,
    })
}

/// Adds to `err` which source the failing key came from and how to change it.
fn from_source(err: AuthError, source: &Source) -> AuthError {
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

fn unset_hint(source: &Source) -> &'static str {
    match source {
        Source::Env => " (`unset ANTHROPIC_API_KEY` to stop using it)",
        _ => "",
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
