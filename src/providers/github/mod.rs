//! GitHub: where it is (`github.webUrl`, `github.apiUrl`, `github.app`), the stored token,
//! the recorded App installation (`STATE_DIR/github.json`) and required-vs-granted
//! permissions. The device flow lives in `device`, the REST calls in `api`.

pub mod api;
pub mod device;
mod permissions;

pub use permissions::{check_permissions, compare, satisfies, uncovered, PermissionReport};

use crate::context::Context;
use crate::error::AuthError;
use crate::http::require_secure;
use crate::redact::is_loopback;
use crate::secret::AccessToken;
use crate::session;
use crate::storage::atomic::{read_json, write_json};
use crate::storage::FileLock;
use crate::terminal_text;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The session and provider name.
pub const PROVIDER: &str = "github";
/// `github.webUrl` unless configured (device flow, App pages).
pub const DEFAULT_WEB_URL: &str = "https://github.com";
/// `github.apiUrl` unless configured (REST API).
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// `github.app` unless configured: the GitHub App's slug.
pub const DEFAULT_APP: &str = "claude";

/// The GitHub host in force, checked: both URLs are https (or loopback http).
#[derive(Clone, Debug)]
pub struct Settings {
    pub client_id: Option<String>,
    pub web_url: Url,
    pub api_url: Url,
    pub app: String,
    config_path: PathBuf,
}

/// The `github` block with its defaults.
///
/// # Errors
/// `config_error` for a URL that is invalid or plain http to another machine, or an App
/// slug that is not one.
pub fn settings(ctx: &Context) -> Result<Settings, AuthError> {
    let github = &ctx.loaded.config.github;
    let url = |value: Option<&String>, default: &str, key: &str| -> Result<Url, AuthError> {
        let setting = format!("`github.{key}`");
        let parsed = Url::parse(value.map_or(default, String::as_str))
            .map_err(|e| AuthError::config(format!("{setting} is not a valid URL")).caused_by(e))?;
        require_secure(&parsed, &setting)?;
        Ok(parsed)
    };
    let app = github
        .app
        .clone()
        .unwrap_or_else(|| DEFAULT_APP.to_string());
    let slug_ok = !app.is_empty()
        && app
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !slug_ok {
        return Err(
            AuthError::config("`github.app` is not a GitHub App slug").with_hint(
                "use the name from the App's address, e.g. `claude` for github.com/apps/claude",
            ),
        );
    }
    Ok(Settings {
        client_id: github.client_id.clone().filter(|id| !id.trim().is_empty()),
        web_url: url(github.web_url.as_ref(), DEFAULT_WEB_URL, "webUrl")?,
        api_url: url(github.api_url.as_ref(), DEFAULT_API_URL, "apiUrl")?,
        app,
        config_path: ctx.loaded.path.clone(),
    })
}

impl Settings {
    /// The client id the device flow identifies itself with.
    ///
    /// # Errors
    /// `config_error` when `github.clientId` is not set: there is no usable default.
    pub fn client_id(&self) -> Result<&str, AuthError> {
        self.client_id.as_deref().ok_or_else(|| {
            AuthError::config(
                "`github.clientId` is not set: the GitHub device flow needs your GitHub App's \
                 (or OAuth App's) client ID",
            )
            .with_hint(format!(
                "add `\"github\": {{\"clientId\": \"…\"}}` to {}; the ID is on the app's \
                 settings page (Developer settings), where Device Flow must be enabled",
                self.config_path.display()
            ))
        })
    }

    /// `{webUrl}/login/device/code`.
    pub fn device_code_url(&self) -> Url {
        join(&self.web_url, &["login", "device", "code"])
    }

    /// `{webUrl}/login/oauth/access_token`.
    pub fn token_url(&self) -> Url {
        join(&self.web_url, &["login", "oauth", "access_token"])
    }

    /// `{webUrl}/login/device`: where users enter the code when no usable address came back.
    pub fn device_page(&self) -> Url {
        join(&self.web_url, &["login", "device"])
    }

    /// `{webUrl}/apps/{app}/installations/new`.
    pub fn install_page(&self) -> Url {
        join(&self.web_url, &["apps", &self.app, "installations", "new"])
    }

    /// `{apiUrl}/SEGMENTS…` (each segment percent-encoded).
    pub fn api(&self, segments: &[&str]) -> Url {
        join(&self.api_url, segments)
    }
}

/// `base` with `segments` appended to its path (Enterprise servers live under `/api/v3`).
fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// The GitHub access token, refreshed first when it expires soon and can be refreshed.
/// Runs its own runtime when refreshing: call it outside async code.
///
/// # Errors
/// `not_authenticated` (no GitHub session, with the login hint), `expired_token`, storage
/// and refresh errors.
pub async fn access_token(ctx: &Context) -> Result<AccessToken, AuthError> {
    crate::oauth::refresh::access_token(ctx, PROVIDER)
        .await
        .map(|(token, _)| token)
}

/// The stored GitHub access token as it is, for async callers (never refreshes).
///
/// # Errors
/// `not_authenticated` without a GitHub session, `expired_token` when the session or the
/// token has expired, storage errors.
pub fn stored_token(ctx: &Context) -> Result<AccessToken, AuthError> {
    let login = "run `claude --login --provider github`";
    let Some(current) = session::load(&ctx.state_dir)?.sessions.remove(PROVIDER) else {
        return Err(AuthError::not_authenticated("there is no GitHub session").with_hint(login));
    };
    let now = ctx.clock.now();
    if let Some(why) = session::expiry_problem(ctx, &current, now) {
        return Err(session::expired_error(PROVIDER, &why));
    }
    if current.access_expires_at.is_some_and(|at| at <= now) {
        return Err(session::expired_error(
            PROVIDER,
            "the access token has expired",
        ));
    }
    let store = ctx.store();
    let tokens = session::read_tokens(store.as_ref(), PROVIDER)?.ok_or_else(|| {
        AuthError::storage("the GitHub session's token is missing from storage").with_hint(login)
    })?;
    Ok(tokens.access)
}

/// The verification address, if it may be opened and shown: https, or http on loopback.
pub fn openable(text: &str) -> Option<Url> {
    let url = Url::parse(text.trim()).ok()?;
    let ok = match url.scheme() {
        "https" => true,
        "http" => is_loopback(&url),
        _ => false,
    };
    (ok && url.username().is_empty() && url.password().is_none()).then_some(url)
}

/// A one-line value from GitHub (a login, an email, a user code, a repository name) as it
/// is kept and shown: at most 256 characters, made one inert line by
/// [`terminal_text::single_line`], since each is shown within a line.
pub fn printable(text: &str) -> String {
    let kept: String = text.chars().take(256).collect();
    terminal_text::single_line(&kept)
}

/// One App installation as `/install-github-app` confirmed it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedInstallation {
    pub id: u64,
    pub app: String,
    pub account: String,
    pub permissions: BTreeMap<String, String>,
    pub repository_selection: String,
    pub repositories: Vec<String>,
    pub api_url: String,
    pub recorded_at: crate::time::UnixTime,
}

/// `STATE_DIR/github.json`: installations by App slug. No secrets.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Recorded {
    #[serde(default)]
    pub installations: BTreeMap<String, RecordedInstallation>,
}

fn recorded_path(ctx: &Context) -> PathBuf {
    ctx.state_dir.join("github.json")
}

/// Reads `github.json` (empty when absent).
///
/// # Errors
/// `storage_error` when it is unreadable, shared or damaged.
pub fn recorded(ctx: &Context) -> Result<Recorded, AuthError> {
    read_json(
        &recorded_path(ctx),
        "run `claude /install-github-app` to record the installation again",
    )
}

/// Records `installation` in `github.json` (0600, atomic) under `lock`.
///
/// # Errors
/// `storage_error`; the previous record is then kept.
pub fn record(
    ctx: &Context,
    installation: RecordedInstallation,
    lock: &FileLock,
) -> Result<(), AuthError> {
    let mut all = recorded(ctx)?;
    all.installations
        .insert(installation.app.clone(), installation);
    write_json(&recorded_path(ctx), &all, lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_keep_an_enterprise_prefix() {
        let base = Url::parse("https://ghe.example.com/api/v3/").unwrap();
        assert_eq!(
            join(&base, &["user", "installations"]).as_str(),
            "https://ghe.example.com/api/v3/user/installations"
        );
    }

    #[test]
    fn only_https_or_loopback_http_addresses_are_opened() {
        assert!(openable("https://github.com/login/device").is_some());
        assert!(openable("http://127.0.0.1:9/login/device").is_some());
        assert!(openable("http://github.com.evil.example/login/device").is_none());
        assert!(openable("javascript:alert(1)").is_none());
        assert!(openable("file:///etc/passwd").is_none());
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("AB\u{1b}[2J-CD"), "AB\\u{1b}[2J-CD");
        assert_eq!(printable("a\u{202E}b"), "a\\u{202e}b");
        assert_eq!(printable("octo\n✓ ok\u{2028}"), "octo\\u{a}✓ ok\\u{2028}");
        assert_eq!(printable(&"x".repeat(300)).len(), 256);
    }
}
