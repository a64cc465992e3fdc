//! Workload Identity Federation (`external_account`) and service-account impersonation
//! (`impersonated_service_account`, and an external account's
//! `service_account_impersonation_url`): the subject token from a file, a URL or an
//! executable, Google STS's token exchange (one POST) and IAM Credentials'
//! `generateAccessToken` (one POST), all through [`crate::http::send`] so the IP policy
//! applies. An AWS-sourced subject token (`environment_id: aws1`) is built in `aws`.

use super::aws::{self, AwsSource};
use super::token::{Fresh, SCOPE};
use crate::context::Context;
use crate::envvars::{self, Env};
use crate::error::{AuthError, ErrorCode};
use crate::redact::{is_loopback, SafeUrl};
use crate::secret::Secret;
use crate::storage::checked_file::{CheckedFile, Trust};
use crate::terminal_text::single_line;
use reqwest::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Google's default for an executable's run.
const EXECUTABLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A subject token is a few KiB.
const MAX_SUBJECT: u64 = 64 * 1024;
/// What `generateAccessToken` is asked for.
const LIFETIME: u64 = 3600;

/// How the subject token is read from its source.
#[derive(Debug, Clone)]
pub enum Format {
    Text,
    /// A JSON document; the token is this field.
    Json(String),
}

/// Where the subject token comes from.
#[derive(Debug)]
pub enum SubjectSource {
    File {
        path: PathBuf,
        format: Format,
    },
    Url {
        url: Url,
        headers: Vec<(String, String)>,
        format: Format,
    },
    Executable {
        command: String,
        timeout: Duration,
    },
    /// A signed AWS `GetCallerIdentity` (`environment_id: aws1`).
    Aws(Box<AwsSource>),
}

/// An `external_account` credential.
#[derive(Debug)]
pub struct ExternalAccount {
    pub audience: String,
    pub subject_token_type: String,
    pub token_url: Url,
    pub impersonation_url: Option<Url>,
    pub source: SubjectSource,
    pub quota_project_id: Option<String>,
}

impl ExternalAccount {
    /// The subject token's source, in words; for AWS, where its keys and region come from
    /// (read from `env`, offline).
    pub fn describe_source(&self, env: &Env) -> String {
        match &self.source {
            SubjectSource::Aws(source) => {
                let from = aws::plan(env, source)
                    .map(|plan| format!(": {}", plan.describe()))
                    .unwrap_or_default();
                format!("a signed AWS GetCallerIdentity (AWS-sourced{from})")
            }
            SubjectSource::File { path, .. } => format!("the file {}", path.display()),
            SubjectSource::Url { url, .. } => format!("the URL {}", SafeUrl::from(url.clone())),
            SubjectSource::Executable { command, .. } => {
                format!(
                    "the executable `{}`",
                    crate::resolve::helper::shown(command)
                )
            }
        }
    }
}

/// The service account an impersonation URL names (`…/serviceAccounts/EMAIL:generateAccessToken`),
/// percent-decoded; `None` when it names none, or a name with a character a terminal acts
/// on (refused when the file is read: [`checked_email`]).
pub fn impersonated_email(url: &Url) -> Option<String> {
    named_email(url).filter(|email| printable(email))
}

/// The percent-decoded name, whatever it holds.
fn named_email(url: &Url) -> Option<String> {
    let last = url.path_segments()?.next_back()?;
    let email = last.strip_suffix(":generateAccessToken")?;
    Some(percent_decode(email).trim_start_matches("-/").to_string())
}

/// No control character (newlines included) and nothing invisible: the name is printed
/// inside status lines and sent as a child's environment value.
fn printable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() || crate::terminal_text::is_active(c))
}

/// The service account `url` names, when the file is read: `required` says whether it must
/// name one.
///
/// # Errors
/// `config_error` when a required name is missing, and when the decoded name holds a
/// control or invisible character (`%0A` would print a line of its own in status).
pub fn checked_email(
    path: &Path,
    field: &str,
    url: &Url,
    required: bool,
) -> Result<Option<String>, AuthError> {
    let Some(email) = named_email(url).filter(|e| !e.is_empty()) else {
        if !required {
            return Ok(None);
        }
        return Err(AuthError::config(format!(
            "the {field} in {} names no service account",
            path.display()
        ))
        .with_hint("use the file as Google's tools wrote it"));
    };
    if !printable(&email) {
        return Err(AuthError::config(format!(
            "the service account named by the {field} in {} holds control or invisible \
             characters",
            path.display()
        ))
        .with_hint("use the file as Google's tools wrote it"));
    }
    Ok(Some(email))
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Parses the `external_account` fields of a credential file.
///
/// # Errors
/// `config_error` naming the file and field; never quoting values.
pub fn parse_external(path: &Path, doc: &Value) -> Result<ExternalAccount, AuthError> {
    // Every value that can be shown is made one line as it is read: a newline in the
    // audience would otherwise print a status line of the file's choosing.
    let text = |field: &str| {
        doc.get(field)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(single_line)
    };
    let audience = text("audience").ok_or_else(|| missing(path, "audience"))?;
    let subject_token_type =
        text("subject_token_type").ok_or_else(|| missing(path, "subject_token_type"))?;
    let token_url = checked_url(
        path,
        "token_url",
        text("token_url").as_deref().unwrap_or(STS_URL),
        &["sts.googleapis.com"],
    )?;
    let impersonation_url = doc
        .get("service_account_impersonation_url")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(|u| {
            let field = "service_account_impersonation_url";
            let url = checked_url(path, field, u, &["iamcredentials.googleapis.com"])?;
            checked_email(path, field, &url, false).map(|_| url)
        })
        .transpose()?;
    let source = doc
        .get("credential_source")
        .ok_or_else(|| missing(path, "credential_source"))?;
    Ok(ExternalAccount {
        audience,
        subject_token_type,
        token_url,
        impersonation_url,
        source: subject_source(path, source)?,
        quota_project_id: text("quota_project_id"),
    })
}

/// Google STS's token endpoint, the default `token_url`.
pub const STS_URL: &str = "https://sts.googleapis.com/v1/token";

fn subject_source(path: &Path, source: &Value) -> Result<SubjectSource, AuthError> {
    let format = match source.pointer("/format/type").and_then(Value::as_str) {
        Some("json") => Format::Json(single_line(
            source
                .pointer("/format/subject_token_field_name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    missing(path, "credential_source.format.subject_token_field_name")
                })?,
        )),
        _ => Format::Text,
    };
    if source
        .get("environment_id")
        .and_then(Value::as_str)
        .is_some_and(|id| id.starts_with("aws"))
    {
        return aws::parse(path, source).map(|s| SubjectSource::Aws(Box::new(s)));
    }
    if let Some(executable) = source.get("executable") {
        let command = executable
            .get("command")
            .and_then(Value::as_str)
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| missing(path, "credential_source.executable.command"))?;
        let timeout = executable
            .get("timeout_millis")
            .and_then(Value::as_u64)
            .map_or(EXECUTABLE_TIMEOUT, |ms| {
                Duration::from_millis(ms.clamp(5_000, 120_000))
            });
        return Ok(SubjectSource::Executable {
            command: command.to_string(),
            timeout,
        });
    }
    if let Some(file) = source.get("file").and_then(Value::as_str) {
        // Shown in status: a path with a newline in it would print a line of its own (and
        // names no file anyone means to read).
        return Ok(SubjectSource::File {
            path: PathBuf::from(single_line(file)),
            format,
        });
    }
    if let Some(url) = source.get("url").and_then(Value::as_str) {
        let url = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                AuthError::config(format!(
                    "credential_source.url in {} is not an http(s) URL",
                    path.display()
                ))
            })?;
        let headers = source
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        return Ok(SubjectSource::Url {
            url,
            headers,
            format,
        });
    }
    Err(AuthError::config(format!(
        "the credential_source in {} names no file, url or executable",
        path.display()
    ))
    .with_hint(
        "use the configuration file `gcloud iam workload-identity-pools create-cred-config` writes",
    ))
}

/// A URL that is Google's (`https://HOST/…` for one of `hosts`) or loopback: nothing else
/// is sent a subject token or an access token.
///
/// # Errors
/// `config_error`.
pub fn checked_url(path: &Path, field: &str, text: &str, hosts: &[&str]) -> Result<Url, AuthError> {
    let url = field_url(path, field, text)?;
    let google = url.scheme() == "https"
        && url.host_str().is_some_and(|h| hosts.contains(&h))
        && url.port().is_none();
    let loopback = matches!(url.scheme(), "http" | "https") && is_loopback(&url);
    if has_userinfo(&url) || !(google || loopback) {
        return Err(refused_url(
            path,
            field,
            &url,
            &format!(
                "it is neither Google's ({}) nor loopback, and claude would send a token to it",
                hosts.join(", ")
            ),
        ));
    }
    Ok(url)
}

/// The URL in the credential file's `field`.
///
/// # Errors
/// `config_error` naming the field and the file, never quoting the text.
pub fn field_url(path: &Path, field: &str, text: &str) -> Result<Url, AuthError> {
    Url::parse(text).map_err(|_| {
        AuthError::config(format!(
            "the {field} in {} is not a valid URL",
            path.display()
        ))
    })
}

/// Whether `url` carries a user name or password (never accepted from a credential file).
pub fn has_userinfo(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// A URL of the credential file that claude will not use, and `why`.
pub fn refused_url(path: &Path, field: &str, url: &Url, why: &str) -> AuthError {
    AuthError::config(format!(
        "refusing the {field} {} in {}: {why}",
        SafeUrl::from(url.clone()),
        path.display(),
    ))
    .with_hint("use the file as Google's tools wrote it")
}

fn missing(path: &Path, field: &str) -> AuthError {
    AuthError::config(format!("{} has no `{field}`", path.display())).with_hint(
        "write the file again with `gcloud iam workload-identity-pools create-cred-config`",
    )
}

/// The subject token, from its source.
async fn subject_token(
    ctx: &Context,
    http: &reqwest::Client,
    account: &ExternalAccount,
) -> Result<Secret<String>, AuthError> {
    let (raw, format) = match &account.source {
        SubjectSource::File { path, format } => (read_subject_file(path)?, format.clone()),
        SubjectSource::Url {
            url,
            headers,
            format,
        } => (
            fetch_subject(ctx, http, url, headers).await?,
            format.clone(),
        ),
        SubjectSource::Executable { command, timeout } => {
            return run_executable(ctx, account, command, *timeout)
        }
        SubjectSource::Aws(source) => {
            return aws::subject_token(ctx, http, source, &account.audience).await
        }
    };
    let what = account.describe_source(&ctx.env);
    let token = match format {
        Format::Text => String::from_utf8_lossy(&raw).trim().to_string(),
        Format::Json(field) => serde_json::from_slice::<Value>(&raw)
            .ok()
            .and_then(|doc| doc.get(&field).and_then(Value::as_str).map(str::to_string))
            .ok_or_else(|| AuthError::config(format!("{what} holds no JSON field `{field}`")))?,
    };
    if token.is_empty() {
        return Err(AuthError::not_authenticated(format!(
            "{what} holds no subject token"
        )));
    }
    Ok(Secret::new(token))
}

/// The workload's token: put there by its platform (often root's and world-readable), so
/// only its type and size are judged.
fn read_subject_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, AuthError> {
    CheckedFile::new("subject token file", Trust::Platform, MAX_SUBJECT)
        .code(ErrorCode::NotAuthenticated)
        .hint(
            "the workload's token is not there yet, or the path in credential_source.file is wrong",
        )
        .read_existing(path)
}

async fn fetch_subject(
    ctx: &Context,
    http: &reqwest::Client,
    url: &Url,
    headers: &[(String, String)],
) -> Result<Zeroizing<Vec<u8>>, AuthError> {
    let shown = SafeUrl::from(url.clone());
    let headers: Vec<(HeaderName, HeaderValue)> = headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                HeaderName::from_bytes(k.as_bytes()).ok()?,
                HeaderValue::from_str(v).ok()?,
            ))
        })
        .collect();
    let call = crate::http::Call {
        url: &shown,
        setting: "credential_source.url",
        service: "the subject token source",
        budget: ctx.budget(),
        retry: crate::http::Retry::Transient,
    };
    let reply = crate::http::get(http, &call, &headers).await?;
    if !reply.status.is_success() {
        return Err(AuthError::provider(format!(
            "{shown} answered HTTP {} instead of a subject token",
            reply.status.as_u16()
        ))
        .with_hint("check credential_source.url and its headers"));
    }
    Ok(Zeroizing::new(reply.body))
}

#[derive(Deserialize)]
struct ExecutableReply {
    success: Option<bool>,
    id_token: Option<String>,
    saml_response: Option<String>,
    code: Option<String>,
}

/// Runs the executable Google's format names, only when GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1.
fn run_executable(
    ctx: &Context,
    account: &ExternalAccount,
    command: &str,
    timeout: Duration,
) -> Result<Secret<String>, AuthError> {
    let shown = crate::resolve::helper::shown(command);
    if ctx
        .env
        .get(envvars::GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES)
        .as_deref()
        != Some("1")
    {
        return Err(AuthError::config(format!(
            "the external_account credential runs `{shown}`, and executables are not allowed"
        ))
        .with_hint("set GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1 if you trust the command (Google's own switch)"));
    }
    let mut words = command.split_whitespace();
    let mut child = crate::process::helper_command(
        &ctx.env,
        words.next().unwrap_or_default(),
        "the external_account executable",
    )?;
    child.args(words);
    child
        .env("GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE", &account.audience)
        .env(
            "GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE",
            &account.subject_token_type,
        )
        .env("GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE", "0");
    if let Some(email) = account
        .impersonation_url
        .as_ref()
        .and_then(impersonated_email)
    {
        child.env("GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL", email);
    }
    ctx.detail(&format!("vertex: running `{shown}` for a subject token"));
    let failed = |why: String| {
        AuthError::not_authenticated(format!("the executable `{shown}` {why}"))
            .with_hint("run it yourself to see why")
    };
    let timeout = crate::process::helper_timeout(&ctx.env, timeout);
    let (status, out) = match crate::process::output_within(child, timeout, MAX_SUBJECT, |_| {}) {
        Ok(done) => done,
        Err(crate::process::RunError::TimedOut) => {
            return Err(failed(format!(
                "did not finish within {} s",
                timeout.as_secs().max(1)
            )))
        }
        Err(crate::process::RunError::Spawn(e) | crate::process::RunError::Wait(e)) => {
            return Err(failed(format!("could not run ({e})")))
        }
    };
    if !status.success() {
        return Err(failed(format!("failed ({status})")));
    }
    let reply: ExecutableReply = serde_json::from_slice(&out)
        .map_err(|_| failed("did not print Google's executable-sourced JSON".to_string()))?;
    if reply.success != Some(true) {
        let code = reply
            .code
            .filter(|c| c.len() <= 64 && c.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or_else(|| "no code".to_string());
        return Err(failed(format!("reported failure ({code})")));
    }
    reply
        .id_token
        .or(reply.saml_response)
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .ok_or_else(|| failed("printed no id_token or saml_response".to_string()))
}

/// Exchanges the subject token at STS, then impersonates when the file says so.
///
/// # Errors
/// Those of the subject token's source; `invalid_api_key` when STS or IAM refuses;
/// `network_error`, `provider_error` as [`crate::http::send`] says.
pub async fn fetch(
    ctx: &Context,
    http: &reqwest::Client,
    account: &ExternalAccount,
) -> Result<Fresh, AuthError> {
    let subject = subject_token(ctx, http, account).await?;
    // With impersonation, STS grants only what generateAccessToken needs.
    let form = Zeroizing::new(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", TOKEN_EXCHANGE)
            .append_pair("audience", &account.audience)
            .append_pair("scope", SCOPE)
            .append_pair("requested_token_type", ACCESS_TOKEN_TYPE)
            .append_pair("subject_token", subject.expose())
            .append_pair("subject_token_type", &account.subject_token_type)
            .finish(),
    );
    let shown = SafeUrl::from(account.token_url.clone());
    crate::trace::step(&format!("vertex: exchanging the subject token at {shown}"));
    let request = http
        .post(account.token_url.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body(form.as_bytes().to_vec());
    let call = crate::http::Call {
        url: &shown,
        setting: "the credential file's `token_url`",
        service: "Google's Security Token Service",
        budget: ctx.budget(),
        retry: crate::http::Retry::Never,
    };
    let reply = crate::http::send(&call, request).await?;
    let body = Zeroizing::new(reply.body);
    if !reply.status.is_success() {
        return Err(refused("Google's Security Token Service", &shown, reply.status, &body)
            .with_hint("check the workload identity pool, its provider's attribute conditions and the audience"));
    }
    let sts = super::token::parse_token(&shown, &body, ctx.clock.now(), LIFETIME)?;
    match &account.impersonation_url {
        Some(url) => impersonate(ctx, http, url, &sts.token).await,
        None => Ok(sts),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IamReply {
    access_token: Option<String>,
}

/// IAM Credentials `generateAccessToken` for the service account in `url`, authorised by
/// `source` (one POST, no retry).
///
/// # Errors
/// `insufficient_permissions` (403: the caller lacks `roles/iam.serviceAccountTokenCreator`),
/// `invalid_api_key` (401), the HTTP ladder's errors.
pub async fn impersonate(
    ctx: &Context,
    http: &reqwest::Client,
    url: &Url,
    source: &Secret<String>,
) -> Result<Fresh, AuthError> {
    let shown = SafeUrl::from(url.clone());
    let email = impersonated_email(url).unwrap_or_else(|| "the service account".to_string());
    let auth = crate::secret::bearer_header(source).ok_or_else(|| {
        AuthError::provider("Google issued an access token that cannot be sent in an HTTP header")
    })?;
    let body = serde_json::json!({"scope": [SCOPE], "lifetime": format!("{LIFETIME}s")});
    crate::trace::step(&format!("vertex: impersonating {email} at {shown}"));
    let request = http
        .post(url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json")
        .header(reqwest::header::AUTHORIZATION, auth)
        .body(body.to_string());
    let call = crate::http::Call {
        url: &shown,
        setting: "service_account_impersonation_url",
        service: "Google's IAM Credentials API",
        budget: ctx.budget(),
        retry: crate::http::Retry::Never,
    };
    let reply = crate::http::send(&call, request).await?;
    let body = Zeroizing::new(reply.body);
    if reply.status == reqwest::StatusCode::FORBIDDEN {
        return Err(AuthError::insufficient_permissions(format!(
            "Google refused to issue a token for {email} (HTTP 403)"
        ))
        .with_hint(format!(
            "grant the caller roles/iam.serviceAccountTokenCreator on {email}"
        )));
    }
    if !reply.status.is_success() {
        return Err(
            refused("Google's IAM Credentials API", &shown, reply.status, &body)
                .with_hint("check service_account_impersonation_url and the source credential"),
        );
    }
    let iam: IamReply = serde_json::from_slice(&body)
        .map_err(|_| AuthError::provider(format!("{shown} answered a malformed token response")))?;
    let token = iam
        .access_token
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .ok_or_else(|| AuthError::provider(format!("{shown} answered without an access token")))?;
    // We asked for an hour; the answer's RFC 3339 expiry is not trusted to be longer.
    let now = ctx.clock.now();
    Ok(Fresh {
        token,
        issued_at: now,
        expires_at: now.plus_secs(LIFETIME),
    })
}

/// A refusal, by status; the answer's text is never echoed.
fn refused(service: &str, url: &SafeUrl, status: reqwest::StatusCode, body: &[u8]) -> AuthError {
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|doc| {
            doc.get("error").and_then(|e| {
                e.as_str()
                    .map(str::to_string)
                    .or_else(|| e.get("status")?.as_str().map(str::to_string))
            })
        })
        .filter(|c| c.len() <= 64 && c.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or_else(|| "no error code".to_string());
    let kind = match status.as_u16() {
        400 | 401 => ErrorCode::InvalidApiKey,
        429 => ErrorCode::RateLimited,
        500..=599 => ErrorCode::NetworkError,
        _ => ErrorCode::ProviderError,
    };
    AuthError::new(
        kind,
        format!(
            "{service} at {url} refused the request (HTTP {}, {code})",
            status.as_u16()
        ),
    )
}
