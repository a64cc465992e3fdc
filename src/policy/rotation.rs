//! Key rotation beyond the swap: with an Admin key (`ANTHROPIC_ADMIN_API_KEY`), find the
//! replaced key in the organization by its `partial_key_hint` and mark it `inactive`
//! (`GET /v1/organizations/api_keys`, `POST /v1/organizations/api_keys/{id}`); and whether
//! the key in force is older than `security.keyRotation.interval`.
//!
//! The rotation itself has already happened when this runs: a failure here is reported
//! with what to do, never undoes it. The Admin API cannot create keys, so the new key still
//! comes from the user.

use crate::context::Context;
use crate::error::AuthError;
use crate::http;
use crate::providers::admin_api::{self, AdminKey};
use crate::secret::{Fingerprint, Secret};
use serde_json::{json, Value};

/// Where people deactivate keys by hand.
pub const CONSOLE_KEYS_URL: &str = "https://console.anthropic.com/settings/keys";
/// Keys read per page, and pages read at most (a bound against a server that never ends).
const PAGE_SIZE: u32 = 100;
const MAX_PAGES: usize = 50;
/// How long status keeps showing the replaced key after a rotation: the overlap window in
/// which other machines may still use it.
pub const OVERLAP: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// What became of the replaced key in the organization.
pub enum OldKey {
    /// Marked inactive through the Admin API.
    Deactivated { id: String, name: String },
    /// Still active: no Admin key, or the Admin API did not do it (the reason).
    StillActive { reason: Option<AuthError> },
}

impl OldKey {
    /// The line the rotation prints about the old key.
    pub fn sentence(&self, old: &Fingerprint) -> String {
        match self {
            OldKey::Deactivated { name, .. } => {
                format!("Old key {old} ({name}) marked inactive in the organization.")
            }
            OldKey::StillActive { reason: None } => format!(
                "Old key {old} is still active: deactivate it at {CONSOLE_KEYS_URL} once nothing else uses it (with ANTHROPIC_ADMIN_API_KEY set, `--rotate-key` does this itself)."
            ),
            OldKey::StillActive { reason: Some(err) } => {
                // The Admin API's own hint, unless it already says where to go.
                let extra = err
                    .hint()
                    .filter(|hint| !hint.contains(CONSOLE_KEYS_URL))
                    .map(|hint| format!(" ({hint})"))
                    .unwrap_or_default();
                format!(
                    "Old key {old} is still active: {}. The new key is stored and in use; deactivate the old key at {CONSOLE_KEYS_URL} once nothing else uses it{extra}.",
                    err.message()
                )
            }
        }
    }

    /// `oldKey` of the rotation's JSON.
    pub fn to_json(&self, old: &Fingerprint) -> Value {
        match self {
            OldKey::Deactivated { id, name } => json!({
                "fingerprint": old.as_str(), "status": "inactive", "id": id, "name": name,
            }),
            OldKey::StillActive { reason } => json!({
                "fingerprint": old.as_str(),
                "status": "active",
                "error": reason.as_ref().map(|err| crate::output::error_document(err)["error"].clone()),
            }),
        }
    }
}

/// Whether `--rotate-key` should read the old key before replacing it: only an Admin key
/// can do anything with it (match it against the organization's hints).
pub fn wants_old_key(ctx: &Context) -> bool {
    admin_api::is_configured(ctx)
}

/// Marks `old` (read from the store before the swap; `None` when it could not be) inactive
/// in the organization when an Admin key is set or stored. `new` is the key that replaced
/// it: a hint that matches both is ambiguous and nothing is changed.
pub async fn retire(ctx: &Context, old: Option<&Secret<String>>, new: &Secret<String>) -> OldKey {
    let admin = match admin_api::find(ctx) {
        Ok(Some(admin)) => admin,
        Ok(None) => return OldKey::StillActive { reason: None },
        Err(err) => return OldKey::StillActive { reason: Some(err) },
    };
    let Some(old) = old else {
        let err = AuthError::storage(
            "the old key could not be read back from the store to find it in the organization",
        )
        .with_hint(format!("deactivate it at {CONSOLE_KEYS_URL}"));
        return OldKey::StillActive { reason: Some(err) };
    };
    match deactivate(ctx, &admin, old, new).await {
        Ok(old_key) => old_key,
        Err(err) => OldKey::StillActive { reason: Some(err) },
    }
}

async fn deactivate(
    ctx: &Context,
    admin: &AdminKey,
    old: &Secret<String>,
    new: &Secret<String>,
) -> Result<OldKey, AuthError> {
    let listed = list_keys(ctx, admin).await?;
    let matches: Vec<&Listed> = listed
        .iter()
        .filter(|k| k.status == "active" && hint_matches(&k.hint, old.expose()))
        .filter(|k| !hint_matches(&k.hint, new.expose()))
        .collect();
    let target = match matches.as_slice() {
        [one] => *one,
        [] => {
            return Err(AuthError::provider(
                "no active key of the organization matches the old key",
            )
            .with_hint(format!("it may belong to another organization or be inactive already; check {CONSOLE_KEYS_URL}")))
        }
        many => {
            let names: Vec<&str> = many.iter().map(|k| k.name.as_str()).collect();
            return Err(AuthError::provider(format!(
                "{} keys of the organization match the old key's hint ({}), so none was changed",
                many.len(),
                names.join(", ")
            ))
            .with_hint(format!("deactivate the right one at {CONSOLE_KEYS_URL}")));
        }
    };
    update_status(ctx, admin, &target.id).await?;
    crate::events::record(
        ctx,
        &crate::events::AuthEvent::KeyDeactivated {
            fingerprint: &Fingerprint::of(old.expose()),
            key_id: &target.id,
        },
    );
    Ok(OldKey::Deactivated {
        id: target.id.clone(),
        name: target.name.clone(),
    })
}

/// One key as the Admin API lists it (never the key itself).
struct Listed {
    id: String,
    name: String,
    hint: String,
    status: String,
}

/// Every key of the organization, page by page (`after_id` / `has_more` / `last_id`).
async fn list_keys(ctx: &Context, admin: &AdminKey) -> Result<Vec<Listed>, AuthError> {
    let base = admin_api::url(ctx, "/v1/organizations/api_keys")?;
    let mut keys = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut url = base.as_url().clone();
        url.query_pairs_mut()
            .append_pair("limit", &PAGE_SIZE.to_string());
        if let Some(after) = &after {
            url.query_pairs_mut().append_pair("after_id", after);
        }
        let url = url.into();
        let page = admin_api::get(ctx, admin, &url, "list the organization's API keys").await?;
        let data = page.get("data").and_then(Value::as_array).ok_or_else(|| {
            AuthError::provider(format!("{url} answered without a `data` list"))
                .with_hint("check ANTHROPIC_ADMIN_BASE_URL: it should point at the Anthropic API")
        })?;
        keys.extend(data.iter().filter_map(listed));
        let last = page
            .get("last_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        let more = page.get("has_more").and_then(Value::as_bool) == Some(true);
        match last {
            Some(last) if more && after.as_deref() != Some(last.as_str()) => after = Some(last),
            _ => return Ok(keys),
        }
    }
    Ok(keys)
}

/// A listed key, when it has what matching needs and an ID that can be a path segment.
fn listed(item: &Value) -> Option<Listed> {
    let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_string);
    let id = text("id")?;
    let plain_id = id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !plain_id {
        return None;
    }
    Some(Listed {
        id,
        name: crate::terminal_text::single_line(&text("name").unwrap_or_default()),
        hint: text("partial_key_hint")?,
        status: text("status").unwrap_or_default(),
    })
}

/// Whether a `partial_key_hint` (`sk-ant-api03-R2D...igAA`) fits `key`: its head is how
/// the key starts and its tail how it ends.
pub fn hint_matches(hint: &str, key: &str) -> bool {
    let Some((head, tail)) = hint.split_once("...").or_else(|| hint.split_once('…')) else {
        return false;
    };
    !head.is_empty()
        && !tail.is_empty()
        && key.len() >= head.len() + tail.len()
        && key.starts_with(head)
        && key.ends_with(tail)
}

async fn update_status(ctx: &Context, admin: &AdminKey, id: &str) -> Result<(), AuthError> {
    let mut url = admin_api::url(ctx, "/v1/organizations/api_keys")?.into_url();
    url.path_segments_mut()
        .map_err(|()| AuthError::config("ANTHROPIC_ADMIN_BASE_URL cannot hold a path"))?
        .push(id);
    let url = url.into();
    let mut request = ctx
        .http()?
        .post(crate::redact::SafeUrl::as_url(&url).clone())
        .json(&json!({ "status": "inactive" }));
    for (name, value) in admin.headers()? {
        request = request.header(name, value);
    }
    let reply = http::send(&admin_api::call(ctx, &url), request).await?;
    admin_api::judge(&reply, &url, admin, "mark the old key inactive").map(drop)
}

/// What `--test-auth` can say about `security.keyRotation` for the credential in force.
pub enum Finding {
    /// Nothing to compare, and why (`–` in the step: never ✓ for a check not made).
    Skipped(String),
    /// The stored key's age against the interval: `Err` when rotation is due.
    Checked(Result<String, AuthError>),
}

/// The key-rotation finding for the credential in force.
pub fn due(ctx: &Context, resolution: &crate::resolve::Resolution) -> Finding {
    let policy = &ctx.loaded.config.security.key_rotation;
    if !policy.enabled {
        return Finding::Skipped("`security.keyRotation` is not enabled".to_string());
    }
    let Some(interval) = policy.interval else {
        return Finding::Skipped(
            "`security.keyRotation.enabled` is set without an `interval`: nothing to compare"
                .to_string(),
        );
    };
    let Some(active) = resolution.active() else {
        return Finding::Skipped("no Anthropic API key is in force".to_string());
    };
    if !active.source.is_api_key() {
        return Finding::Skipped("the credential in force is a login, not a key".to_string());
    }
    let Some(meta) = active.meta() else {
        return Finding::Skipped(format!(
            "{} comes from {}: its age is unknown here",
            active.fingerprint,
            active.source.describe()
        ));
    };
    let age = ctx.clock.now().saturating_since(meta.created_at).as_secs();
    let span = crate::clock::span;
    if age >= interval {
        return Finding::Checked(Err(AuthError::policy(format!(
            "{} was stored {} ago and `security.keyRotation.interval` is {}",
            active.fingerprint,
            span(age),
            span(interval)
        ))
        .with_hint(format!(
            "create a new key at {CONSOLE_KEYS_URL}, then run `claude --rotate-key`"
        ))));
    }
    Finding::Checked(Ok(format!(
        "{} was stored {} ago; rotation is due in {}",
        active.fingerprint,
        span(age),
        span(interval - age)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_hints_match_by_head_and_tail() {
        let key = "sk-ant-api03-R2D4xxxxxxxxxxxxxxxxigAA";
        assert!(hint_matches("sk-ant-api03-R2D...igAA", key));
        assert!(hint_matches("sk-ant-api03-R2D…igAA", key));
        assert!(!hint_matches("sk-ant-api03-R2E...igAA", key));
        assert!(!hint_matches("sk-ant-api03-R2D...igAB", key));
        assert!(!hint_matches("sk-ant-api03-R2D", key), "no separator");
        assert!(
            !hint_matches("...igAA", key),
            "an empty head matches too much"
        );
        assert!(!hint_matches(
            "sk-ant-api03-R2D4xxxxxxxxxxxxxxxxigAA...igAA",
            key
        ));
    }
}
