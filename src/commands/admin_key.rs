//! `--set-api-key` given an Admin API key (`sk-ant-admin…`): checked against the Admin API
//! and stored as its own item, for `/cost` and `--rotate-key`; never the key in force.

use super::api_key::{storage_name, store_new, store_words};
use crate::apikey::ApiKey;
use crate::config::schema::StorageKind;
use crate::context::Context;
use crate::error::AuthError;
use crate::output::{Outcome, Report};
use crate::providers::admin_api::{self, AdminKey, AdminSource, ADMIN_KEY_ITEM};
use crate::secret::Secret;
use serde::Serialize;

/// `--set-api-key` with an Admin key: checked against the Admin API, then stored as its own
/// item (`admin-api-key`) for `/cost` and `--rotate-key`, never as the key in force.
///
/// # Errors
/// `invalid_api_key` / `insufficient_permissions` from the check; storage errors.
pub async fn set(ctx: &Context, raw: Secret<String>) -> Result<Outcome, AuthError> {
    let admin = AdminKey::new(ApiKey::parse_admin(raw)?, AdminSource::Stored);
    crate::mfa::gate::require(ctx, crate::mfa::gate::Purpose::StoreKey)?;
    let fingerprint = admin.fingerprint();
    admin_api::check(ctx, &admin).await?;
    let (replaced, kind) = store_new(
        ctx,
        ctx.store().as_ref(),
        ADMIN_KEY_ITEM,
        admin.secret(),
        &fingerprint,
    )?;
    if ctx
        .env
        .get(crate::envvars::ANTHROPIC_ADMIN_API_KEY)
        .is_some()
    {
        ctx.warn("ANTHROPIC_ADMIN_API_KEY is set and takes precedence over the stored Admin key");
    }
    Ok(Outcome::report(&StoredAdmin {
        stored: true,
        kind: "admin",
        fingerprint: fingerprint.to_string(),
        storage: kind,
        replaced,
    }))
}

/// `--set-api-key`'s result for an Admin key.
#[derive(Serialize)]
pub struct StoredAdmin {
    /// Always `true`: a key that is not stored is an error.
    pub stored: bool,
    /// `admin`: this key reads the organization's reports; it is not the key in force.
    pub kind: &'static str,
    pub fingerprint: String,
    #[serde(serialize_with = "storage_name")]
    pub storage: StorageKind,
    pub replaced: Option<String>,
}

impl Report for StoredAdmin {
    fn text(&self) -> String {
        let mut text = format!(
            "✓ Stored Admin API key {} in {} (checked against the Admin API).\n  It is used for `claude /cost` and `--rotate-key`, never as the key in force.",
            self.fingerprint,
            store_words(self.storage),
        );
        if let Some(old) = &self.replaced {
            text.push_str(&format!("\n  It replaces {old}."));
        }
        text
    }
}
