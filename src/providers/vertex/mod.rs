//! Google Vertex AI: the credential (service account key or application-default
//! credentials), its access token (cached), and the one call that proves it works
//! (`GET …/publishers/anthropic/models/MODEL`).

mod aws;
mod cache;
mod external;
mod file;
mod locate;
mod metadata;
mod token;

use crate::context::Context;
use crate::envvars;
use crate::error::{AuthError, ErrorCode};
use crate::http::{self, Reply};
use crate::providers::{server_date, CredentialInfo, Verdict};
use crate::redact::SafeUrl;
use crate::secret::Secret;
use file::{CredentialFile, GoogleCredential};
use reqwest::header::AUTHORIZATION;
use reqwest::{StatusCode, Url};
use std::time::Instant;

pub use cache::ITEM as CACHE_ITEM;
pub use file::GOOGLE_TOKEN_URI;
pub use token::SCOPE;

/// The model checked when the config names none.
pub const DEFAULT_MODEL: &str = "claude-3-5-sonnet-v2@20241022";

/// Where requests go and about what.
struct Target {
    project: String,
    location: String,
    endpoint: Url,
    endpoint_setting: &'static str,
}

/// What authenticates requests to Vertex AI, in ADC's order: nothing when
/// `CLAUDE_CODE_SKIP_VERTEX_AUTH` says a gateway adds it; else the credential file
/// (`GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's ADC file); else the metadata server.
enum Principal {
    Skip,
    File(Box<CredentialFile>),
    Metadata(metadata::Metadata),
}

impl Principal {
    /// Finds it offline: variables and files only.
    fn find(ctx: &Context) -> Result<Principal, AuthError> {
        if skip_auth(ctx) {
            return Ok(Principal::Skip);
        }
        match file::load(&ctx.env) {
            Ok(file) => Ok(Principal::File(Box::new(file))),
            Err(err) if err.code() == ErrorCode::NotAuthenticated => match metadata::detect(ctx) {
                Some(found) => Ok(Principal::Metadata(found)),
                None => Err(err.with_hint(
                    "run `gcloud auth application-default login`, set \
                         GOOGLE_APPLICATION_CREDENTIALS to a credential file, or on Google \
                         Cloud set GCE_METADATA_HOST if the metadata server is not detected",
                )),
            },
            Err(err) => Err(err),
        }
    }

    fn file(&self) -> Option<&CredentialFile> {
        match self {
            Principal::File(file) => Some(file),
            _ => None,
        }
    }

    fn cache_key(&self) -> String {
        match self {
            Principal::File(file) => file.cache_key(),
            Principal::Metadata(m) => format!("metadata:{}", m.host),
            Principal::Skip => String::new(),
        }
    }
}

/// What `CLAUDE_CODE_SKIP_VERTEX_AUTH` keeps from being sent, in ADC's order (as Bedrock
/// lists what `CLAUDE_CODE_SKIP_BEDROCK_AUTH` shadows): the credential file and what it
/// shadows, else a detected metadata server. Offline, like the rest of status.
fn skipped(ctx: &Context) -> Vec<String> {
    match locate::locate(&ctx.env) {
        Ok(found) => std::iter::once(found.source)
            .chain(found.shadowed)
            .collect(),
        Err(_) => metadata::detect(ctx)
            .map(|m| vec![format!("metadata:{}", m.host)])
            .unwrap_or_default(),
    }
}

/// `CLAUDE_CODE_SKIP_VERTEX_AUTH=1` (or `true`): a gateway adds the credentials.
fn skip_auth(ctx: &Context) -> bool {
    ctx.env
        .get(envvars::CLAUDE_CODE_SKIP_VERTEX_AUTH)
        .is_some_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "yes"))
}

/// Where the Google credential comes from and the settings in force. Offline: reads the
/// credential file and variables, never the store or the network (the metadata server is
/// only detected).
///
/// # Errors
/// `not_authenticated` without credentials; `config_error` for an unusable credential file,
/// a missing project or location, or a bad endpoint.
pub fn credential(ctx: &Context) -> Result<CredentialInfo, AuthError> {
    let principal = Principal::find(ctx)?;
    let target = target(ctx, principal.file())?;
    let mut settings = vec![
        ("project".to_string(), target.project.clone()),
        ("location".to_string(), target.location.clone()),
        (
            "endpoint".to_string(),
            SafeUrl::from(target.endpoint.clone()).to_string(),
        ),
    ];
    let info = match &principal {
        Principal::Skip => CredentialInfo {
            source: format!("env:{}", envvars::CLAUDE_CODE_SKIP_VERTEX_AUTH),
            description: "no Google credentials (CLAUDE_CODE_SKIP_VERTEX_AUTH: a gateway in \
                          front of Vertex AI adds them)"
                .to_string(),
            fingerprint: None,
            shadowed: skipped(ctx),
            settings,
        },
        Principal::Metadata(m) => CredentialInfo {
            source: format!("metadata:{}", m.host),
            description: format!(
                "the metadata server at {} (found by {}; not asked offline)",
                m.host, m.chosen_by
            ),
            fingerprint: None,
            shadowed: Vec::new(),
            settings,
        },
        Principal::File(file) => {
            match &file.credential {
                GoogleCredential::ServiceAccount(sa) => {
                    settings.push(("account".to_string(), sa.client_email.clone()));
                }
                GoogleCredential::Impersonated(imp) => {
                    settings.push(("impersonates".to_string(), imp.email.clone()));
                }
                GoogleCredential::ExternalAccount(ea) => {
                    settings.push(("audience".to_string(), ea.audience.clone()));
                    if let external::SubjectSource::Aws(source) = &ea.source {
                        settings.extend(aws::plan(&ctx.env, source)?.settings());
                    }
                    if let Some(email) = ea
                        .impersonation_url
                        .as_ref()
                        .and_then(external::impersonated_email)
                    {
                        settings.push(("impersonates".to_string(), email));
                    }
                }
                GoogleCredential::AuthorizedUser(_) => {}
            }
            CredentialInfo {
                source: file.found.source.clone(),
                description: describe(file, &ctx.env),
                fingerprint: file.fingerprint(),
                shadowed: file.found.shadowed.clone(),
                settings,
            }
        }
    };
    Ok(info.one_line())
}

/// Obtains an access token (from the cache when live) and asks Vertex AI whether the
/// configured model is available to the project in the location. A cached token Google
/// refuses is dropped and replaced once. With `CLAUDE_CODE_SKIP_VERTEX_AUTH` the request
/// carries no credentials.
///
/// # Errors
/// Those of [`credential`] and [`access_token`]; then `invalid_api_key` (401),
/// `insufficient_permissions` (403), `provider_error` (404, redirects, other answers),
/// `rate_limited` (429), `network_error` (5xx, unreachable).
pub async fn verify(ctx: &Context, http: &reqwest::Client) -> Result<Verdict, AuthError> {
    let principal = Principal::find(ctx)?;
    let target = target(ctx, principal.file())?;
    let model = model(ctx);
    let started = Instant::now();
    if let Principal::Skip = principal {
        let reply = get_model(ctx, http, &target, &model, None).await?;
        return judge(&target, &model, &reply, started);
    }
    let (token, cached) = obtain(ctx, http, &principal).await?;
    let mut reply = get_model(ctx, http, &target, &model, Some(&token)).await?;
    if reply.status == StatusCode::UNAUTHORIZED && cached {
        crate::trace::step("vertex: the cached access token was refused; getting a new one");
        cache::forget(ctx);
        let fresh = fetch_and_cache(ctx, http, &principal).await?;
        reply = get_model(ctx, http, &target, &model, Some(&fresh)).await?;
    }
    judge(&target, &model, &reply, started)
}

/// A Google access token for the credential in force, from the cache while it has more
/// than a minute (or half its lifetime, when shorter) left, else from its source (and then
/// cached).
///
/// # Errors
/// Those of [`credential`] for the file (project and location are not needed); `usage`
/// with `CLAUDE_CODE_SKIP_VERTEX_AUTH` (there is no token); then `oauth_error`,
/// `invalid_api_key`, `expired_token`, `rate_limited`, `network_error`, `provider_error`.
///
/// # Security
/// The token is a bearer credential: expose it only in an `Authorization` header.
pub async fn access_token(
    ctx: &Context,
    http: &reqwest::Client,
) -> Result<Secret<String>, AuthError> {
    let principal = Principal::find(ctx)?;
    if let Principal::Skip = principal {
        return Err(AuthError::usage(
            "CLAUDE_CODE_SKIP_VERTEX_AUTH is set: claude sends no Google credentials, so there is no token to print",
        )
        .with_hint("unset CLAUDE_CODE_SKIP_VERTEX_AUTH to use application-default credentials"));
    }
    obtain(ctx, http, &principal).await.map(|(token, _)| token)
}

/// The token and whether it came from the cache.
async fn obtain(
    ctx: &Context,
    http: &reqwest::Client,
    principal: &Principal,
) -> Result<(Secret<String>, bool), AuthError> {
    let from = match principal {
        Principal::File(file) => file.found.source.clone(),
        Principal::Metadata(m) => format!("the metadata server at {}", m.host),
        Principal::Skip => "nothing".to_string(),
    };
    crate::trace::step(&format!("vertex: credential from {from}"));
    match cache::lookup(ctx, &principal.cache_key()) {
        Some(token) => Ok((token, true)),
        None => fetch_and_cache(ctx, http, principal)
            .await
            .map(|token| (token, false)),
    }
}

async fn fetch_and_cache(
    ctx: &Context,
    http: &reqwest::Client,
    principal: &Principal,
) -> Result<Secret<String>, AuthError> {
    let fresh = match principal {
        Principal::File(file) => token::fetch(ctx, http, file).await?,
        Principal::Metadata(m) => metadata::fetch(ctx, http, m).await?,
        Principal::Skip => return Err(AuthError::internal("no token without credentials")),
    };
    cache::save(ctx, &principal.cache_key(), &fresh);
    Ok(fresh.token)
}

fn describe(file: &CredentialFile, env: &envvars::Env) -> String {
    let path = file.found.path.display();
    let origin = if file.found.named_by_env() {
        format!("{path} (GOOGLE_APPLICATION_CREDENTIALS)")
    } else {
        format!("gcloud's application-default credentials at {path}")
    };
    match &file.credential {
        GoogleCredential::ServiceAccount(sa) => {
            format!("the service account {} from {origin}", sa.client_email)
        }
        GoogleCredential::AuthorizedUser(_) => format!("Google user credentials from {origin}"),
        GoogleCredential::ExternalAccount(ea) => {
            let via = ea
                .impersonation_url
                .as_ref()
                .and_then(external::impersonated_email)
                .map(|email| format!(", impersonating {email}"))
                .unwrap_or_default();
            format!(
                "workload identity federation (external_account) from {origin}: subject token from {}{via}",
                ea.describe_source(env)
            )
        }
        GoogleCredential::Impersonated(imp) => format!(
            "the service account {} impersonated with {} from {origin}",
            imp.email,
            match imp.source.as_ref() {
                GoogleCredential::ServiceAccount(sa) =>
                    format!("the service account {}", sa.client_email),
                _ => "Google user credentials".to_string(),
            }
        ),
    }
}

/// The Vertex AI location: `CLOUD_ML_REGION`, else the config's `location`; unchecked.
pub fn location(ctx: &Context) -> Option<String> {
    ctx.env
        .get(envvars::CLOUD_ML_REGION)
        .or_else(|| ctx.loaded.config.location.clone().filter(|l| !l.is_empty()))
}

/// Project, location and endpoint, each from the environment, the config, then defaults.
fn target(ctx: &Context, file: Option<&CredentialFile>) -> Result<Target, AuthError> {
    let config = &ctx.loaded.config;
    let config_path = ctx.loaded.path.display();
    let project = ctx
        .env
        .get(envvars::ANTHROPIC_VERTEX_PROJECT_ID)
        .or_else(|| ctx.env.get(envvars::GOOGLE_CLOUD_PROJECT))
        .or_else(|| config.project.clone().filter(|p| !p.is_empty()))
        .or_else(|| file.and_then(CredentialFile::project).map(str::to_string))
        .ok_or_else(|| {
            AuthError::config("no Google Cloud project for Vertex AI").with_hint(format!(
                "set ANTHROPIC_VERTEX_PROJECT_ID or GOOGLE_CLOUD_PROJECT, or `project` \
                     in {config_path}"
            ))
        })?;
    let location = location(ctx).ok_or_else(|| {
        AuthError::config("no Vertex AI location (region)").with_hint(format!(
            "set CLOUD_ML_REGION (e.g. us-east5 or global), or `location` in {config_path}"
        ))
    })?;
    // The location becomes part of a host name: letters, digits and dashes only.
    if !location
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(AuthError::config(format!(
            "the Vertex AI location {location:?} is not a region name"
        ))
        .with_hint(
            "use a region such as us-east5, europe-west1 or global (CLOUD_ML_REGION or `location`)",
        ));
    }
    let (endpoint, endpoint_setting) = endpoint(ctx, &location)?;
    Ok(Target {
        project,
        location,
        endpoint,
        endpoint_setting,
    })
}

/// `ANTHROPIC_VERTEX_BASE_URL`, else `vertexBaseUrl`, else Google's regional host.
fn endpoint(ctx: &Context, location: &str) -> Result<(Url, &'static str), AuthError> {
    let (text, setting) = if let Some(url) = ctx.env.get(envvars::ANTHROPIC_VERTEX_BASE_URL) {
        (url, "ANTHROPIC_VERTEX_BASE_URL")
    } else if let Some(url) = ctx
        .loaded
        .config
        .vertex_base_url
        .clone()
        .filter(|u| !u.is_empty())
    {
        (url, "`vertexBaseUrl` in the config")
    } else if location == "global" {
        (
            "https://aiplatform.googleapis.com".to_string(),
            "CLOUD_ML_REGION",
        )
    } else {
        (
            format!("https://{location}-aiplatform.googleapis.com"),
            "CLOUD_ML_REGION",
        )
    };
    let url = Url::parse(&text).map_err(|e| {
        AuthError::config(format!("{setting} is not a valid URL"))
            .caused_by(e)
            .with_hint("e.g. https://us-east5-aiplatform.googleapis.com")
    })?;
    if url.cannot_be_a_base() {
        return Err(
            AuthError::config(format!("{setting} is not a usable base URL"))
                .with_hint("e.g. https://us-east5-aiplatform.googleapis.com"),
        );
    }
    http::require_secure(&url, setting)?;
    Ok((url, setting))
}

fn model(ctx: &Context) -> String {
    ctx.loaded
        .config
        .model
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| DEFAULT_MODEL.to_string())
}

/// `{endpoint}/v1/projects/P/locations/L/publishers/anthropic/models/M`, each part a
/// percent-encoded path segment.
fn model_url(target: &Target, model: &str) -> SafeUrl {
    let mut url = target.endpoint.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend([
            "v1",
            "projects",
            &target.project,
            "locations",
            &target.location,
            "publishers",
            "anthropic",
            "models",
            model,
        ]);
    }
    url.into()
}

async fn get_model(
    ctx: &Context,
    http: &reqwest::Client,
    target: &Target,
    model: &str,
    token: Option<&Secret<String>>,
) -> Result<Reply, AuthError> {
    let url = model_url(target, model);
    let mut headers = Vec::new();
    if let Some(token) = token {
        let value = crate::secret::bearer_header(token).ok_or_else(|| {
            AuthError::provider(
                "Google issued an access token that cannot be sent in an HTTP header",
            )
        })?;
        headers.push((AUTHORIZATION, value));
    }
    let call = http::Call {
        url: &url,
        setting: target.endpoint_setting,
        service: "Vertex AI",
        budget: ctx.budget(),
        retry: http::Retry::Transient,
    };
    http::get(http, &call, &headers).await
}

/// Next step after a 401.
const HINT_401: &str = "the credential may have been revoked: run `gcloud auth \
    application-default login` or use a new service account key";
/// Next step after a 404.
const HINT_404: &str = "check `model`, the project and the location: enable the model in \
    Model Garden and use a region that offers it";

/// What Vertex AI's answer about the model means.
fn judge(
    target: &Target,
    model: &str,
    reply: &Reply,
    started: Instant,
) -> Result<Verdict, AuthError> {
    let (project, location) = (&target.project, &target.location);
    let url = model_url(target, model);
    let setting = target.endpoint_setting;
    let error = match reply.status {
        StatusCode::OK if reply.content_type().ends_with("json") => {
            return Ok(Verdict {
                detail: format!("model {model} is available to project {project} in {location}"),
                server_date: server_date(&reply.headers),
                elapsed: started.elapsed(),
            })
        }
        StatusCode::OK => AuthError::provider(format!(
            "{} did not answer like Vertex AI (expected JSON)",
            url
        ))
        .with_hint(format!(
            "a proxy or captive portal is in the way, or {setting} is wrong"
        )),
        StatusCode::UNAUTHORIZED => {
            AuthError::invalid_api_key("Google rejected the access token (HTTP 401)")
                .with_hint(HINT_401)
        }
        StatusCode::FORBIDDEN => AuthError::insufficient_permissions(format!(
            "the credential may not use model {model} in project {project}, \
             location {location} (HTTP 403)"
        ))
        .with_hint(format!(
            "grant the principal roles/aiplatform.user on project {project}, and enable \
             the model in Vertex AI Model Garden"
        )),
        StatusCode::NOT_FOUND => AuthError::provider(format!(
            "Vertex AI has no model {model} for project {project} in {location} (HTTP 404)"
        ))
        .with_hint(HINT_404),
        status => AuthError::provider(format!("{} answered HTTP {}", url, status.as_u16()))
            .with_hint(format!("check {setting}; if it is right, try again later")),
    };
    Err(error)
}
