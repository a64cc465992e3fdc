//! The IAM Identity Center access token of an SSO profile: read from the AWS CLI's cache
//! file (offline, for status), and refreshed (`sso_oidc`) when the AWS SDKs would (the
//! token expires within 5 minutes, or half its lifetime when shorter, and the cache holds a
//! refresh token and a client registration that has not expired), under a lock, written
//! back atomically.

use super::credentials::{header_safe, Sso};
use super::sso_oidc::{create_token, Fresh, Grant};
use crate::clock::span;
use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::secret::Secret;
use crate::storage::checked_file::{CheckedFile, Trust};
use crate::storage::FileLock;
use crate::time::UnixTime;
use reqwest::Client;
use serde::Deserialize;

/// The SDKs refresh a token this long before it expires. A token this tool refreshed and
/// that lives less than twice this gets half its lifetime instead
/// ([`crate::limits::refresh_margin`]): a 60 s token would otherwise be refreshed, its
/// refresh token spent and the cache file rewritten, on every use.
const REFRESH_WINDOW: std::time::Duration = std::time::Duration::from_secs(300);
/// The field this tool adds to a cache file it rewrites: when the token in it was issued
/// (RFC 3339, like the file's other times). The AWS CLI's format has no issue time; the
/// SDKs skip fields they do not know, and one that rewrites the file drops it, which brings
/// back the fixed window. Kept by a tool that keeps unknown fields, it is older than the
/// token, so the lifetime looks longer and the window only grows back towards 5 minutes.
const ISSUED_AT: &str = "claudeAuthIssuedAt";

/// The fields of a cache file that matter here; the file itself is kept for the rewrite.
struct Cached {
    access_token: Secret<String>,
    expires_at: UnixTime,
    /// [`ISSUED_AT`], when this tool wrote the token.
    issued_at: Option<UnixTime>,
    refresh_token: Option<Secret<String>>,
    client_id: Option<String>,
    client_secret: Option<Secret<String>>,
    registration_expires_at: Option<UnixTime>,
    /// The whole file: a rewrite keeps every field it does not change.
    raw: Secret<Vec<u8>>,
}

/// The cache file as the AWS CLI writes it (unknown fields ignored here, kept on rewrite).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheFile {
    access_token: String,
    expires_at: String,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    registration_expires_at: Option<String>,
    /// Ours, in another tool's file: a value of the wrong type is ignored, not a damaged
    /// cache.
    #[serde(rename = "claudeAuthIssuedAt")]
    issued_at: Option<serde_json::Value>,
}

/// Where a token stands against the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    /// Valid for longer than its refresh window.
    Fresh,
    /// Still valid, but within its refresh window: the SDKs refresh it now.
    Expiring,
    Expired,
}

/// Where a token that ends at `expires_at` (issued at `issued_at`, when known) stands.
fn standing(expires_at: UnixTime, issued_at: Option<UnixTime>, now: UnixTime) -> Standing {
    let window = crate::limits::refresh_margin(REFRESH_WINDOW, issued_at, expires_at);
    if expires_at <= now {
        Standing::Expired
    } else if expires_at <= now + window {
        Standing::Expiring
    } else {
        Standing::Fresh
    }
}

/// Why the token cannot be refreshed; `None` when it can.
fn not_refreshable(sso: &Sso, cached: &Cached, now: UnixTime) -> Option<String> {
    if sso.session.is_none() {
        return Some(
            "the profile has sso_start_url without an sso-session (the legacy form, whose \
             tokens have no refresh token)"
                .to_string(),
        );
    }
    if cached.refresh_token.is_none() {
        return Some("the token cache holds no refresh token".to_string());
    }
    if cached.client_id.is_none() || cached.client_secret.is_none() {
        return Some("the token cache holds no client registration".to_string());
    }
    match cached.registration_expires_at {
        None => Some("the token cache does not say when its client registration ends".to_string()),
        Some(at) if at <= now => Some(format!("its client registration ended at {}", at.rfc3339())),
        Some(_) => None,
    }
}

fn login(sso: &Sso) -> String {
    format!("run `aws sso login --profile {}`", sso.profile)
}

/// The largest token cache file read: the AWS CLI writes a few hundred bytes.
const MAX_CACHE: u64 = 64 * 1024;

/// The cache file, for status, for use and again under the lock before it is rewritten:
/// never through a symbolic link, and only when it is the user's and no other user can read
/// it (it holds the access token, a refresh token and a client secret; the AWS CLI writes it
/// 0600). One rule for every read, so status never promises what a refresh would refuse.
fn read(sso: &Sso) -> Result<Cached, AuthError> {
    let bytes = CheckedFile::new("SSO token cache", Trust::Private, MAX_CACHE)
        .code(ErrorCode::StorageError)
        .no_links()
        .read(&sso.cache)?;
    match bytes {
        Some(mut bytes) => parse(sso, Secret::new(std::mem::take(&mut *bytes))),
        None => Err(missing(sso)),
    }
}

fn missing(sso: &Sso) -> AuthError {
    AuthError::not_authenticated(format!(
        "profile {} has no IAM Identity Center session (no {})",
        sso.profile,
        sso.cache.display()
    ))
    .with_hint(login(sso))
}

fn parse(sso: &Sso, raw: Secret<Vec<u8>>) -> Result<Cached, AuthError> {
    let damaged = || {
        AuthError::config(format!("{} is not an SSO token cache", sso.cache.display()))
            .with_hint(login(sso))
    };
    let file: CacheFile = serde_json::from_slice(raw.expose()).map_err(|_| damaged())?;
    let expires_at = super::fetch::unix_time(&file.expires_at).ok_or_else(damaged)?;
    Ok(Cached {
        access_token: Secret::new(file.access_token),
        expires_at,
        refresh_token: file
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(Secret::new),
        client_id: file.client_id.filter(|c| !c.is_empty()),
        client_secret: file
            .client_secret
            .filter(|c| !c.is_empty())
            .map(Secret::new),
        registration_expires_at: file
            .registration_expires_at
            .as_deref()
            .and_then(super::fetch::unix_time),
        issued_at: file
            .issued_at
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .and_then(super::fetch::unix_time),
        raw,
    })
}

/// What the cache says, offline and without a request: the line status shows.
///
/// # Errors
/// `not_authenticated` without a cache file; `config_error` for a damaged one;
/// `expired_token` for an expired token that cannot be refreshed, saying why. Each with the
/// hint `aws sso login --profile NAME`. `storage_error` for a cache file that is a link, not
/// a regular file, not the user's, readable by others or over 64 KiB (with its fix).
pub(crate) fn offline(ctx: &Context, sso: &Sso) -> Result<String, AuthError> {
    let cached = read(sso)?;
    let now = ctx.clock.now();
    let blocker = not_refreshable(sso, &cached, now);
    let at = cached.expires_at;
    let standing = standing(at, cached.issued_at, now);
    if blocker.is_none() && standing != Standing::Fresh {
        // What the refresh will check before it writes, checked now: status must not
        // promise a refresh that a shared directory or a readable file would refuse.
        refreshable_in_place(sso)?;
    }
    let left = span(at.saturating_since(now).as_secs());
    let line = match (standing, &blocker) {
        (Standing::Expired, Some(why)) => return Err(expired(sso, at, now, why)),
        (Standing::Expired, None) => format!(
            "expired {} ago; it will be refreshed on next use (the client registration is \
             valid until {})",
            span(now.saturating_since(at).as_secs()),
            cached
                .registration_expires_at
                .unwrap_or(UnixTime::EPOCH)
                .rfc3339()
        ),
        (Standing::Expiring, None) => {
            format!("expires in {left}; it will be refreshed on next use")
        }
        (Standing::Expiring, Some(_)) => format!(
            "expires in {left} and cannot be refreshed; then {}",
            login(sso)
        ),
        (Standing::Fresh, None) => format!(
            "valid until {} ({left} left); refreshed when it nears its end",
            at.rfc3339()
        ),
        (Standing::Fresh, Some(_)) => format!("valid until {} ({left} left)", at.rfc3339()),
    };
    header_safe(cached.access_token.expose(), "the SSO access token")?;
    Ok(line)
}

fn expired(sso: &Sso, at: UnixTime, now: UnixTime, why: &str) -> AuthError {
    AuthError::new(
        ErrorCode::ExpiredToken,
        format!(
            "the IAM Identity Center session of profile {} expired {} ago and cannot be \
             refreshed: {why}",
            sso.profile,
            span(now.saturating_since(at).as_secs())
        ),
    )
    .with_hint(login(sso))
}

/// A usable access token: the cached one, refreshed first when the SDKs would refresh it.
/// A token still valid is used when its refresh fails (as the SDKs do), with a warning.
///
/// # Errors
/// As [`offline`]; when an expired token's refresh fails: `expired_token` when SSO-OIDC
/// refused it (hint `aws sso login --profile NAME`), else the failure's own code
/// (`network_error`, `storage_error`, `provider_error`), the message saying a refresh was
/// tried and why it failed.
pub(crate) async fn token(
    ctx: &Context,
    client: &Client,
    sso: &Sso,
) -> Result<Secret<String>, AuthError> {
    let cached = read(sso)?;
    let now = ctx.clock.now();
    let at = cached.expires_at;
    let standing = standing(at, cached.issued_at, now);
    let result = match (standing, not_refreshable(sso, &cached, now)) {
        (Standing::Fresh, _) => Ok(cached.access_token),
        (Standing::Expired, Some(why)) => Err(expired(sso, at, now, &why)),
        (Standing::Expiring, Some(_)) => Ok(cached.access_token),
        (standing, None) => match refresh(ctx, client, sso).await {
            Ok(token) => Ok(token),
            Err(failure) if standing == Standing::Expiring => {
                ctx.warn(&format!(
                    "the IAM Identity Center token of profile {} expires in {} and could not \
                     be refreshed ({}); using it until then",
                    sso.profile,
                    span(at.saturating_since(now).as_secs()),
                    failure.message()
                ));
                Ok(cached.access_token)
            }
            Err(failure) => Err(refresh_failed(sso, at, now, failure)),
        },
    };
    let token = result?;
    header_safe(token.expose(), "the SSO access token")?;
    Ok(token)
}

fn refresh_failed(sso: &Sso, at: UnixTime, now: UnixTime, failure: AuthError) -> AuthError {
    let hint = match (failure.code(), failure.hint()) {
        // `aws sso login` cannot fix a file or a directory others can read.
        (ErrorCode::StorageError, Some(hint)) => hint.to_string(),
        (ErrorCode::ExpiredToken, _) | (_, None) => login(sso),
        // The network may come back: try again, or log in anew.
        (_, Some(hint)) => format!("{hint}; or {}", login(sso)),
    };
    let mut error = AuthError::new(
        failure.code(),
        format!(
            "the IAM Identity Center session of profile {} expired {} ago, and refreshing it \
             failed: {}",
            sso.profile,
            span(now.saturating_since(at).as_secs()),
            failure.message()
        ),
    )
    .with_hint(hint);
    for cause in failure.causes() {
        error = error.caused_by(cause);
    }
    error
}

/// The check a refresh makes on the cache directory before it writes, without the lock
/// (the file itself passed the same checks when [`read`] read it).
///
/// # Errors
/// `storage_error` as the refresh would fail.
fn refreshable_in_place(sso: &Sso) -> Result<(), AuthError> {
    let dir = cache_dir(sso);
    let meta = std::fs::metadata(dir)
        .map_err(|err| crate::storage::atomic::storage_io("cannot stat", dir, err))?;
    crate::storage::ownership::check_users_dir(dir, &meta)
}

fn cache_dir(sso: &Sso) -> &std::path::Path {
    match sso.cache.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    }
}

/// Refreshes under the lock of the cache directory: another process may have refreshed
/// while this one waited, so the file is read again and refreshed only if still due; the
/// new token is written before it is used (a rotated refresh token is spent at the server).
async fn refresh(ctx: &Context, client: &Client, sso: &Sso) -> Result<Secret<String>, AuthError> {
    let dir = cache_dir(sso);
    let lock = FileLock::acquire_in_users_dir(dir, FileLock::wait_for(ctx.budget().total))?;
    let cached = read(sso)?;
    let now = ctx.clock.now();
    if standing(cached.expires_at, cached.issued_at, now) == Standing::Fresh {
        ctx.detail(&format!(
            "the IAM Identity Center token of profile {} was refreshed by another process",
            sso.profile
        ));
        return Ok(cached.access_token);
    }
    if let Some(why) = not_refreshable(sso, &cached, now) {
        return Err(AuthError::new(ErrorCode::ExpiredToken, why).with_hint(login(sso)));
    }
    ctx.detail(&format!(
        "refreshing the IAM Identity Center token of profile {} through SSO-OIDC",
        sso.profile
    ));
    let (Some(refresh_token), Some(client_id), Some(client_secret)) = (
        &cached.refresh_token,
        &cached.client_id,
        &cached.client_secret,
    ) else {
        return Err(AuthError::internal(
            "a refresh was tried without a refresh token",
        ));
    };
    let grant = Grant {
        region: &sso.region,
        client_id,
        client_secret,
        refresh_token,
    };
    let fresh = create_token(ctx, client, &grant).await?;
    let expires_at = now + fresh.lifetime;
    rewrite(sso, &cached, &fresh, (now, expires_at), &lock)?;
    crate::events::record(
        ctx,
        &crate::events::AuthEvent::TokenRefreshed {
            provider: "aws-sso",
        },
    );
    ctx.detail(&format!(
        "the IAM Identity Center token of profile {} is valid until {}{}",
        sso.profile,
        expires_at.rfc3339(),
        if fresh.refresh_token.is_some() {
            " (a new refresh token was saved)"
        } else {
            ""
        }
    ));
    Ok(fresh.access_token)
}

/// Writes the new token (and a rotated refresh token) into the cache file, keeping every
/// other field, with when it was issued ([`ISSUED_AT`]); atomically, 0600, under `lock`.
fn rewrite(
    sso: &Sso,
    cached: &Cached,
    fresh: &Fresh,
    (issued_at, expires_at): (UnixTime, UnixTime),
    lock: &FileLock,
) -> Result<(), AuthError> {
    use serde_json::Value;
    let damaged =
        || AuthError::config(format!("{} is not an SSO token cache", sso.cache.display()));
    // The document holds the secrets too: its strings are wiped when it is dropped.
    let mut document =
        crate::secret::SecretJson::parse(cached.raw.expose()).map_err(|_| damaged())?;
    let fields = document.expose_mut().as_object_mut().ok_or_else(damaged)?;
    // The values replaced are the old tokens (the spent refresh token, an access token
    // still valid): wiped as they leave the document.
    let mut put = |name: &str, value: String| {
        if let Some(Value::String(mut old)) = fields.insert(name.into(), Value::String(value)) {
            zeroize::Zeroize::zeroize(&mut old);
        }
    };
    put("accessToken", fresh.access_token.expose().clone());
    put("expiresAt", expires_at.rfc3339());
    put(ISSUED_AT, issued_at.rfc3339());
    if let Some(rotated) = &fresh.refresh_token {
        put("refreshToken", rotated.expose().clone());
    }
    let text = document
        .to_text()
        .map_err(|e| AuthError::internal("cannot encode the SSO token cache").caused_by(e))?;
    crate::storage::atomic::write_atomic(&sso.cache, text.expose().as_bytes(), lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sso(session: Option<&str>) -> Sso {
        Sso {
            profile: "dev".into(),
            session: session.map(str::to_string),
            account_id: "111122223333".into(),
            role_name: "Bedrock".into(),
            region: "us-east-1".into(),
            cache: "/nonexistent/cache.json".into(),
            status: None,
        }
    }

    fn cached(json: &str) -> Cached {
        parse(&sso(Some("corp")), Secret::new(json.as_bytes().to_vec())).unwrap()
    }

    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

    #[test]
    fn the_window_is_five_minutes_before_the_end() {
        assert_eq!(standing(NOW.plus_secs(301), None, NOW), Standing::Fresh);
        assert_eq!(standing(NOW.plus_secs(300), None, NOW), Standing::Expiring);
        assert_eq!(standing(NOW.plus_secs(1), None, NOW), Standing::Expiring);
        assert_eq!(standing(NOW, None, NOW), Standing::Expired);
        assert_eq!(
            standing(UnixTime::EPOCH, None, UnixTime::MAX),
            Standing::Expired
        );
        assert_eq!(
            standing(UnixTime::MAX, None, UnixTime::MAX.minus_secs(1)),
            Standing::Expiring
        );
    }

    #[test]
    fn a_short_lived_token_this_tool_issued_has_half_its_lifetime_as_window() {
        // 60 s tokens have a 30 s window: fresh 10 s after issue, expiring 40 s after.
        let (early, late) = (Some(NOW.minus_secs(10)), Some(NOW.minus_secs(40)));
        assert_eq!(standing(NOW.plus_secs(50), early, NOW), Standing::Fresh);
        assert_eq!(standing(NOW.plus_secs(20), late, NOW), Standing::Expiring);
        // An hour-long token keeps the SDKs' 5 minutes.
        let hour = Some(NOW.minus_secs(3300));
        assert_eq!(standing(NOW.plus_secs(300), hour, NOW), Standing::Expiring);
        let entry = cached(
            r#"{"accessToken":"a","expiresAt":"2027-01-15T08:01:00Z",
            "claudeAuthIssuedAt":"2027-01-15T08:00:00Z"}"#,
        );
        assert_eq!(
            entry.issued_at,
            UnixTime::parse_rfc3339("2027-01-15T08:00:00Z")
        );
        // Our field of the wrong type in another tool's file is ignored, not damage.
        let odd = cached(
            r#"{"accessToken":"a","expiresAt":"2027-01-15T08:01:00Z","claudeAuthIssuedAt":12345}"#,
        );
        assert_eq!(odd.issued_at, None);
    }

    #[test]
    fn a_refresh_needs_a_session_a_refresh_token_and_a_live_registration() {
        let full = r#"{"accessToken":"a","expiresAt":"2027-01-15T08:00:00Z","refreshToken":"r",
            "clientId":"c","clientSecret":"s","registrationExpiresAt":"2027-03-01T00:00:00Z"}"#;
        let session = sso(Some("corp"));
        assert_eq!(not_refreshable(&session, &cached(full), NOW), None);
        let legacy = not_refreshable(&sso(None), &cached(full), NOW).unwrap();
        assert!(legacy.contains("legacy"), "{legacy}");
        let cases = [
            (
                r#"{"accessToken":"a","expiresAt":"2027-01-15T08:00:00Z"}"#,
                "no refresh token",
            ),
            (
                r#"{"accessToken":"a","expiresAt":"2027-01-15T08:00:00Z","refreshToken":"r","clientId":"c"}"#,
                "no client registration",
            ),
            (
                r#"{"accessToken":"a","expiresAt":"2027-01-15T08:00:00Z","refreshToken":"r","clientId":"c","clientSecret":"s"}"#,
                "does not say",
            ),
            (
                r#"{"accessToken":"a","expiresAt":"2027-01-15T08:00:00Z","refreshToken":"r","clientId":"c","clientSecret":"s","registrationExpiresAt":"2020-01-01T00:00:00Z"}"#,
                "ended at 2020-01-01T00:00:00Z",
            ),
        ];
        for (json, reason) in cases {
            let why = not_refreshable(&session, &cached(json), NOW).unwrap();
            assert!(why.contains(reason), "{json}: {why}");
        }
    }
}
