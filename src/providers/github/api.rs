//! The GitHub REST calls the product makes: who a token belongs to, which App
//! installations it sees and their repositories. The token goes only to `github.apiUrl`'s
//! origin: redirects are refused and a next-page link elsewhere is an error.

use super::Settings;
use crate::error::{AuthError, ErrorCode};
use crate::http::{self, Budget};
use crate::redact::SafeUrl;
use crate::secret::AccessToken;
use reqwest::header::{HeaderName, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Pages read at most from one listing (100 entries each).
const MAX_PAGES: usize = 10;
const API_VERSION: &str = "2022-11-28";

/// The account a token belongs to.
#[derive(Clone, Debug, Deserialize)]
pub struct User {
    pub login: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// One installation of a GitHub App, as the user's token sees it.
#[derive(Clone, Debug, Serialize)]
pub struct Installation {
    pub id: u64,
    pub app_slug: String,
    /// The user or organization it is installed on.
    pub account: String,
    /// Permission name → `read` / `write` / `admin`.
    pub permissions: BTreeMap<String, String>,
    /// `all` or `selected`.
    pub repository_selection: String,
}

#[derive(Deserialize)]
struct InstallationBody {
    id: u64,
    #[serde(default)]
    app_slug: String,
    #[serde(default)]
    account: Option<Login>,
    #[serde(default)]
    permissions: BTreeMap<String, String>,
    #[serde(default)]
    repository_selection: String,
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
struct Installations {
    installations: Vec<InstallationBody>,
}

#[derive(Deserialize)]
struct Repositories {
    repositories: Vec<Repository>,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

/// `GET /user`.
///
/// # Errors
/// See [`get_json`].
pub async fn user(
    http: &reqwest::Client,
    settings: &Settings,
    token: &AccessToken,
    budget: Budget,
) -> Result<User, AuthError> {
    let (user, _) =
        get_json::<User>(http, settings, &settings.api(&["user"]), token, budget).await?;
    Ok(user)
}

/// The installation of `github.app` among those the token sees (`GET /user/installations`).
///
/// # Errors
/// See [`get_json`].
pub async fn find_installation(
    http: &reqwest::Client,
    settings: &Settings,
    token: &AccessToken,
    budget: Budget,
) -> Result<Option<Installation>, AuthError> {
    let mut pages = Pages::new(settings.api(&["user", "installations"]));
    while let Some(page) = pages
        .next::<Installations>(http, settings, token, budget)
        .await?
    {
        let found = page
            .installations
            .into_iter()
            .find(|i| i.app_slug.eq_ignore_ascii_case(&settings.app));
        if let Some(body) = found {
            return Ok(Some(Installation {
                id: body.id,
                app_slug: body.app_slug,
                account: body.account.map(|a| a.login).unwrap_or_default(),
                permissions: body.permissions,
                repository_selection: body.repository_selection,
            }));
        }
    }
    Ok(None)
}

/// Full names (`owner/repo`) of the repositories installation `id` reaches for this user.
///
/// # Errors
/// See [`get_json`].
pub async fn repositories(
    http: &reqwest::Client,
    settings: &Settings,
    token: &AccessToken,
    id: u64,
    budget: Budget,
) -> Result<Vec<String>, AuthError> {
    let mut pages =
        Pages::new(settings.api(&["user", "installations", &id.to_string(), "repositories"]));
    let mut names = Vec::new();
    while let Some(page) = pages
        .next::<Repositories>(http, settings, token, budget)
        .await?
    {
        names.extend(page.repositories.into_iter().map(|r| r.full_name));
    }
    Ok(names)
}

/// A paginated listing (`per_page=100`, `Link: rel="next"`), at most [`MAX_PAGES`] pages.
struct Pages {
    next: Option<Url>,
    fetched: usize,
}

impl Pages {
    fn new(mut first: Url) -> Pages {
        first.set_query(Some("per_page=100"));
        Pages {
            next: Some(first),
            fetched: 0,
        }
    }

    /// The next page, or `None` after the last one (or the page cap).
    async fn next<T: for<'de> Deserialize<'de>>(
        &mut self,
        http: &reqwest::Client,
        settings: &Settings,
        token: &AccessToken,
        budget: Budget,
    ) -> Result<Option<T>, AuthError> {
        let Some(url) = self.next.take().filter(|_| self.fetched < MAX_PAGES) else {
            return Ok(None);
        };
        let (page, next) = get_json::<T>(http, settings, &url, token, budget).await?;
        self.fetched += 1;
        self.next = next;
        Ok(Some(page))
    }
}

/// One authenticated GET with retries, and the next page's URL.
///
/// # Errors
/// `expired_token` (401: revoked or expired), `rate_limited`, `insufficient_permissions`
/// (403), `provider_error` (redirects, other statuses, not JSON, a next page on another
/// host), `network_error`; `internal` if asked to send the token off `github.apiUrl`.
pub async fn get_json<T: for<'de> Deserialize<'de>>(
    http: &reqwest::Client,
    settings: &Settings,
    url: &Url,
    token: &AccessToken,
    budget: Budget,
) -> Result<(T, Option<Url>), AuthError> {
    let url = &SafeUrl::from(url.clone());
    if url.origin() != settings.api_url.origin() {
        return Err(AuthError::internal(format!(
            "refusing to send the GitHub token to {url} (not `github.apiUrl`)"
        )));
    }
    let bearer = crate::secret::bearer_header(token.secret()).ok_or_else(|| {
        AuthError::storage("the stored GitHub token is not a valid header value")
            .with_hint("run `claude --login --provider github`")
    })?;
    let headers = [
        (AUTHORIZATION, bearer),
        (
            ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        ),
        (
            HeaderName::from_static("x-github-api-version"),
            HeaderValue::from_static(API_VERSION),
        ),
    ];
    let call = http::Call {
        url,
        setting: "`github.apiUrl`",
        service: "GitHub",
        budget,
        retry: http::Retry::Transient,
    };
    let reply = http::get(http, &call, &headers).await?;
    check_status(url, &reply)?;
    if !reply.content_type().ends_with("json") {
        return Err(not_json(url));
    }
    let value = serde_json::from_slice(&reply.body).map_err(|_| not_json(url))?;
    let next = next_link(&reply.headers, settings)?;
    Ok((value, next))
}

fn check_status(url: &SafeUrl, reply: &http::Reply) -> Result<(), AuthError> {
    let status = reply.status;
    if status.is_success() {
        return Ok(());
    }
    let shown = url;
    Err(match status {
        StatusCode::UNAUTHORIZED => AuthError::new(
            ErrorCode::ExpiredToken,
            format!(
                "GitHub rejected the stored token at {shown} (HTTP 401): it expired or was revoked"
            ),
        )
        .with_hint("run `claude --login --provider github`"),
        StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS if rate_limit_spent(reply) => {
            AuthError::rate_limited(format!("GitHub's API rate limit is spent ({shown})"))
                .with_hint("wait for the limit to reset (up to an hour) and try again")
        }
        StatusCode::FORBIDDEN => {
            AuthError::insufficient_permissions(format!("GitHub refused {shown} (HTTP 403)"))
                .with_hint(
                "log in again with the access the app needs: `claude --login --provider github`",
            )
        }
        other => AuthError::provider(format!("{shown} answered HTTP {}", other.as_u16()))
            .with_hint("check `github.apiUrl` (for GitHub Enterprise: https://HOST/api/v3)"),
    })
}

fn rate_limit_spent(reply: &http::Reply) -> bool {
    reply
        .headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
}

fn not_json(url: &SafeUrl) -> AuthError {
    AuthError::provider(format!("{url} did not answer with JSON"))
        .with_hint("check `github.apiUrl` (for GitHub Enterprise: https://HOST/api/v3)")
}

/// The `rel="next"` target of a `Link` header, only on `github.apiUrl`'s origin.
///
/// # Errors
/// `provider_error` for a next page elsewhere: the token would follow it.
fn next_link(
    headers: &reqwest::header::HeaderMap,
    settings: &Settings,
) -> Result<Option<Url>, AuthError> {
    let Some(link) = headers
        .get(reqwest::header::LINK)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let target = link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"")
            .then(|| target.trim().trim_start_matches('<').trim_end_matches('>'))
    });
    let Some(target) = target.and_then(|t| settings.api_url.join(t).ok()) else {
        return Ok(None);
    };
    if target.origin() != settings.api_url.origin() {
        return Err(AuthError::provider(format!(
            "GitHub's next page is on another host ({}); the token is not sent there",
            SafeUrl::from(target)
        ))
        .with_hint("check `github.apiUrl` and any proxy in the way"));
    }
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn settings() -> Settings {
        Settings {
            client_id: None,
            web_url: Url::parse("https://github.com").unwrap(),
            api_url: Url::parse("https://api.github.com").unwrap(),
            app: "claude".into(),
            config_path: PathBuf::from("config.json"),
        }
    }

    fn link(value: &str) -> reqwest::header::HeaderMap {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::LINK, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn next_page_on_the_api_host_is_followed() {
        let headers = link(
            r#"<https://api.github.com/user/installations?page=2>; rel="next", <https://api.github.com/user/installations?page=3>; rel="last""#,
        );
        let next = next_link(&headers, &settings()).unwrap().unwrap();
        assert_eq!(
            next.as_str(),
            "https://api.github.com/user/installations?page=2"
        );
    }

    #[test]
    fn next_page_on_another_host_is_refused() {
        let headers = link(r#"<https://evil.example/user/installations?page=2>; rel="next""#);
        assert!(next_link(&headers, &settings()).is_err());
    }
}
