//! The Vertex access token cache: item `cache:vertex` in the configured secret store, JSON
//! `{access_token, issued_at, expires_at, key}`, used until a minute (or half its lifetime,
//! when shorter) before expiry and only for the credential it was issued to. A store that
//! cannot be used means no cache, never a failure.

use super::token::Fresh;
use crate::context::Context;
use crate::error::AuthError;
use crate::secret::{Fingerprint, Secret};
use crate::storage::ItemMeta;
use crate::time::UnixTime;
use serde::{Deserialize, Deserializer, Serialize};

/// The store item holding the cached token.
pub const ITEM: &str = "cache:vertex";
/// A token this close to expiry is not handed out: it could lapse in flight. Tokens that
/// live less than twice this get half their lifetime instead ([`crate::limits::refresh_margin`]).
const MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Deserialize)]
struct Cached {
    #[serde(deserialize_with = "secret")]
    access_token: Secret<String>,
    /// Absent in entries written by earlier versions: those get the fixed margin.
    #[serde(default)]
    issued_at: Option<UnixTime>,
    expires_at: UnixTime,
    key: String,
}

#[derive(Serialize)]
struct ToCache<'a> {
    access_token: &'a str,
    issued_at: UnixTime,
    expires_at: UnixTime,
    key: &'a str,
}

fn secret<'de, D: Deserializer<'de>>(de: D) -> Result<Secret<String>, D::Error> {
    String::deserialize(de).map(Secret::new)
}

/// The cached token for the credential `key`, when there is a live one.
pub fn lookup(ctx: &Context, key: &str) -> Option<Secret<String>> {
    let stored = match ctx.store().get(ITEM) {
        Ok(Some(stored)) => stored,
        Ok(None) => return None,
        Err(err) => {
            ctx.detail(&format!(
                "vertex: token cache not available ({})",
                err.message()
            ));
            return None;
        }
    };
    let Ok(cached) = serde_json::from_str::<Cached>(stored.expose()) else {
        ctx.detail("vertex: ignoring a damaged token cache");
        return None;
    };
    let margin = crate::limits::refresh_margin(MARGIN, cached.issued_at, cached.expires_at);
    if cached.key != key || cached.expires_at <= ctx.clock.now() + margin {
        return None;
    }
    crate::trace::step(&format!(
        "vertex: using the cached access token {} (expires {})",
        Fingerprint::of(cached.access_token.expose()),
        cached.expires_at.rfc3339()
    ));
    Some(cached.access_token)
}

/// Caches `fresh` for the credential `key`; a failure is reported with `-v` and ignored.
pub fn save(ctx: &Context, key: &str, fresh: &Fresh) {
    if let Err(err) = try_save(ctx, key, fresh) {
        ctx.detail(&format!(
            "vertex: access token not cached ({})",
            err.message()
        ));
    }
}

fn try_save(ctx: &Context, key: &str, fresh: &Fresh) -> Result<(), AuthError> {
    let lock = ctx.lock()?;
    let token = &fresh.token;
    let value = ToCache {
        access_token: token.expose(),
        issued_at: fresh.issued_at,
        expires_at: fresh.expires_at,
        key,
    };
    let value = crate::secret::to_secret_json(&value)
        .map_err(|e| AuthError::internal("cannot encode the token cache").caused_by(e))?;
    let meta = ItemMeta {
        fingerprint: Fingerprint::of(token.expose()).to_string(),
        created_at: ctx.clock.now(),
        rotated_at: None,
        previous_fingerprint: None,
        helper_digest: None,
    };
    ctx.store().put(ITEM, &value, meta, &lock)
}

/// Drops the cached token (after Google refused it); failures are ignored like in [`save`].
pub fn forget(ctx: &Context) {
    let removed = ctx.lock().and_then(|lock| ctx.store().remove(ITEM, &lock));
    if let Err(err) = removed {
        ctx.detail(&format!(
            "vertex: cannot drop the token cache ({})",
            err.message()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_from_an_earlier_version_loads_without_its_issue_time() {
        let old: Cached =
            serde_json::from_str(r#"{"access_token":"t","expires_at":1800000060,"key":"k"}"#)
                .unwrap();
        assert_eq!(old.issued_at, None);
        assert_eq!(
            crate::limits::refresh_margin(MARGIN, old.issued_at, old.expires_at),
            MARGIN
        );
        let new: Cached = serde_json::from_str(
            r#"{"access_token":"t","issued_at":1800000000,"expires_at":1800000060,"key":"k"}"#,
        )
        .unwrap();
        assert_eq!(
            crate::limits::refresh_margin(MARGIN, new.issued_at, new.expires_at),
            std::time::Duration::from_secs(30)
        );
    }
}
