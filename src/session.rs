//! Sessions: one login per provider. Non-secret metadata lives in `sessions.json` (0600);
//! the tokens live in the configured secret store as item `session:PROVIDER`. With
//! `security.sessionEncryption` the account and scopes are kept only with the tokens.

use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::secret::{AccessToken, Fingerprint, RefreshToken};
use crate::storage::atomic::{read_json, write_json};
use crate::storage::{FileLock, ItemMeta, SecretStore};
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One login, as far as it can be known without unlocking anything.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub provider: String,
    /// The account's email; `None` when unknown or kept encrypted.
    pub account: Option<String>,
    pub scopes: Vec<String>,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
    /// When the access token expires, when the server said.
    pub access_expires_at: Option<UnixTime>,
    /// When the access token in force was issued: with its expiry, the lifetime the
    /// refresh margin is a share of. Absent in sessions from older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_issued_at: Option<UnixTime>,
    pub has_refresh_token: bool,
    pub access_fingerprint: String,
    pub client_id: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub issuer: Option<String>,
    #[serde(default)]
    pub metadata_encrypted: bool,
}

/// `sessions.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Sessions {
    #[serde(default)]
    pub sessions: BTreeMap<String, Session>,
}

/// The secret half of a session.
pub struct Tokens {
    pub access: AccessToken,
    pub refresh: Option<RefreshToken>,
    pub account: Option<String>,
    pub scopes: Vec<String>,
}

/// The serialized token set; wiped when dropped, like every other copy of a token.
#[derive(Serialize, Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct TokensOnDisk {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

/// The store item holding `provider`'s tokens.
pub fn item(provider: &str) -> String {
    format!("session:{provider}")
}

fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("sessions.json")
}

/// Reads `sessions.json` (empty when absent). Offline, never unlocks anything.
///
/// # Errors
/// `storage_error` when the file is unreadable, shared or damaged.
pub fn load(state_dir: &Path) -> Result<Sessions, AuthError> {
    read_json(
        &path(state_dir),
        "run `claude --logout --all` and log in again",
    )
}

/// Writes `sessions.json` atomically under `lock`.
///
/// # Errors
/// `storage_error`.
pub fn write(state_dir: &Path, sessions: &Sessions, lock: &FileLock) -> Result<(), AuthError> {
    write_json(&path(state_dir), sessions, lock)
}

/// The tokens of `provider`'s session (unlocks the store).
///
/// # Errors
/// Storage errors; `storage_error` for a damaged item.
pub fn read_tokens(store: &dyn SecretStore, provider: &str) -> Result<Option<Tokens>, AuthError> {
    let Some(blob) = store.get(&item(provider))? else {
        return Ok(None);
    };
    let mut disk: TokensOnDisk = serde_json::from_str(blob.expose()).map_err(|_| {
        AuthError::storage(format!("the stored {provider} session is damaged"))
            .with_hint(format!("run `claude --login --provider {provider}`"))
    })?;
    Ok(Some(Tokens {
        access: AccessToken::new(std::mem::take(&mut disk.access_token)),
        refresh: disk.refresh_token.take().map(RefreshToken::new),
        account: disk.account.take(),
        scopes: std::mem::take(&mut disk.scopes),
    }))
}

/// Stores `tokens` and `session` (tokens first: the metadata never names tokens that are not
/// stored). The caller holds `lock` across its whole read-modify-write.
///
/// # Errors
/// Storage errors; the previous session is then kept.
pub fn save(
    ctx: &Context,
    store: &dyn SecretStore,
    mut session: Session,
    tokens: &Tokens,
    lock: &FileLock,
) -> Result<Session, AuthError> {
    let disk = TokensOnDisk {
        access_token: tokens.access.expose().clone(),
        refresh_token: tokens.refresh.as_ref().map(|r| r.expose().clone()),
        account: tokens.account.clone(),
        scopes: tokens.scopes.clone(),
    };
    let blob = crate::secret::to_secret_json(&disk)
        .map_err(|e| AuthError::internal("cannot encode tokens").caused_by(e))?;
    drop(disk);
    session.access_fingerprint = Fingerprint::of(tokens.access.expose()).to_string();
    session.has_refresh_token = tokens.refresh.is_some();
    session.metadata_encrypted = ctx.loaded.config.security.session_encryption;
    if session.metadata_encrypted {
        session.account = None;
        session.scopes = Vec::new();
    } else {
        session.account = tokens.account.clone();
        session.scopes = tokens.scopes.clone();
    }
    let meta = ItemMeta {
        fingerprint: session.access_fingerprint.clone(),
        created_at: session.created_at,
        rotated_at: None,
        previous_fingerprint: None,
        helper_digest: None,
    };
    store.put(&item(&session.provider), &blob, meta, lock)?;
    let mut all = load(&ctx.state_dir)?;
    all.sessions
        .insert(session.provider.clone(), session.clone());
    write(&ctx.state_dir, &all, lock)?;
    Ok(session)
}

/// Forgets `provider`'s session locally (metadata, then tokens).
///
/// # Errors
/// Storage errors.
pub fn forget(
    ctx: &Context,
    store: &dyn SecretStore,
    provider: &str,
    lock: &FileLock,
) -> Result<bool, AuthError> {
    let mut all = load(&ctx.state_dir)?;
    let had = all.sessions.remove(provider).is_some();
    if had {
        write(&ctx.state_dir, &all, lock)?;
    }
    let removed = store.remove(&item(provider), lock)?;
    Ok(had || removed)
}

/// Why `session` can no longer be used, by `session.timeout` (idle) or `maxDuration`.
pub fn expiry_problem(ctx: &Context, session: &Session, now: UnixTime) -> Option<String> {
    let policy = &ctx.loaded.config.session;
    if let Some(max) = policy.max_duration {
        let end = session.created_at.plus_secs(max);
        if now >= end {
            return Some(format!(
                "the session reached `session.maxDuration` ({max} s) at {}",
                end.rfc3339()
            ));
        }
    }
    if let Some(idle) = policy.timeout {
        // Without autoExtend, use does not push the idle deadline.
        let base = if policy.auto_extend {
            session.last_used_at
        } else {
            session.created_at
        };
        if now >= base.plus_secs(idle) {
            return Some(format!(
                "the session was idle longer than `session.timeout` ({idle} s)"
            ));
        }
    }
    None
}

/// `expired_token` for a session that outlived its policy.
pub fn expired_error(provider: &str, why: &str) -> AuthError {
    AuthError::new(
        ErrorCode::ExpiredToken,
        format!("the {provider} session has expired: {why}"),
    )
    .with_hint(format!("run `claude --login --provider {provider}`"))
}

/// A new random session id (64 bits, hex).
pub fn new_id() -> Result<String, AuthError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::internal("the OS random number generator failed").caused_by(e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envvars::Env;
    use crate::storage::memory::MemoryStore;

    const START: u64 = 1_790_000_000;

    fn session(last_used: UnixTime) -> Session {
        let start = UnixTime::from_secs(START);
        Session {
            id: "0".into(),
            provider: "anthropic".into(),
            account: None,
            scopes: Vec::new(),
            created_at: start,
            last_used_at: last_used,
            access_expires_at: Some(start.plus_secs(3600)),
            access_issued_at: Some(start),
            has_refresh_token: true,
            access_fingerprint: String::new(),
            client_id: "c".into(),
            token_endpoint: "https://auth.example/token".into(),
            revocation_endpoint: None,
            issuer: None,
            metadata_encrypted: false,
        }
    }

    /// `sessions.json` as earlier versions wrote it (times as bare numbers, one session
    /// without `accessIssuedAt`) loads, and is written back byte for byte.
    #[test]
    fn stored_sessions_keep_their_exact_shape() {
        let text = r#"{"sessions":{"anthropic":{"id":"00aa","provider":"anthropic","account":null,"scopes":[],"createdAt":1790000000,"lastUsedAt":1790000600,"accessExpiresAt":1790003600,"accessIssuedAt":1790000000,"hasRefreshToken":true,"accessFingerprint":"fp","clientId":"c","tokenEndpoint":"https://auth.example/token","revocationEndpoint":null,"issuer":null,"metadataEncrypted":false},"github":{"id":"00bb","provider":"github","account":null,"scopes":[],"createdAt":1,"lastUsedAt":18446744073709551615,"accessExpiresAt":null,"hasRefreshToken":false,"accessFingerprint":"fp","clientId":"c","tokenEndpoint":"https://github.example/token","revocationEndpoint":null,"issuer":null,"metadataEncrypted":false}}}"#;
        let all: Sessions = serde_json::from_str(text).unwrap();
        let anthropic = &all.sessions["anthropic"];
        assert_eq!(anthropic.created_at, UnixTime::from_secs(1_790_000_000));
        assert_eq!(
            anthropic.access_expires_at,
            Some(UnixTime::from_secs(1_790_003_600))
        );
        assert_eq!(all.sessions["github"].last_used_at, UnixTime::MAX);
        assert_eq!(all.sessions["github"].access_issued_at, None);
        assert_eq!(serde_json::to_string(&all).unwrap(), text);
    }

    /// (policy, last use, now, expired?) for `session.timeout`, `maxDuration`, `autoExtend`.
    #[test]
    fn session_policy_expires_sessions_by_idle_time_and_age() {
        let table: [(&str, u64, u64, bool); 7] = [
            ("{}", START, START + 10 * 86_400, false),
            (
                r#"{"session": {"timeout": 3600}}"#,
                START,
                START + 3599,
                false,
            ),
            (
                r#"{"session": {"timeout": 3600}}"#,
                START,
                START + 3600,
                true,
            ),
            (
                r#"{"session": {"timeout": 3600, "autoExtend": true}}"#,
                START + 3000,
                START + 3600,
                false,
            ),
            (
                r#"{"session": {"timeout": 3600, "autoExtend": false}}"#,
                START + 3000,
                START + 3600,
                true,
            ),
            (
                r#"{"session": {"maxDuration": 7200, "timeout": 3600, "autoExtend": true}}"#,
                START + 7000,
                START + 7200,
                true,
            ),
            (
                r#"{"session": {"maxDuration": 18446744073709551615}}"#,
                START,
                START + 315_360_000,
                false,
            ),
        ];
        for (config, last_used, now, expired) in table {
            let (last_used, now) = (UnixTime::from_secs(last_used), UnixTime::from_secs(now));
            let ctx = Context::for_test(config, None, Env::default(), now, MemoryStore::default());
            let problem = expiry_problem(&ctx, &session(last_used), now);
            assert_eq!(
                problem.is_some(),
                expired,
                "{config} at +{}: {problem:?}",
                now.as_secs() - START
            );
        }
    }
}
