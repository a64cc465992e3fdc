//! Turns the link `credentials` chose into keys, online and through `http::send` (so the IP
//! policy, the budget and the status ladder apply): STS `AssumeRole` (SigV4-signed) and
//! `AssumeRoleWithWebIdentity`, the IAM Identity Center portal's `GetRoleCredentials` (with
//! the token `sso` reads or refreshes), ECS container credentials, EC2 IMDSv2; commands run
//! through `helpers`.

use super::credentials::{AccessKeys, Auth, Container, Found, Link, Role, Sso, WebIdentity};
use crate::context::Context;
use crate::envvars;
use crate::error::{AuthError, ErrorCode};
use crate::http::{self, Call, Reply, Retry};
use crate::redact::SafeUrl;
use crate::secret::{Secret, SecretJson};
use crate::storage::checked_file::{CheckedFile, Trust};
use crate::time::{UnixMillis, UnixTime};
use reqwest::{Client, Url};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use zeroize::Zeroizing;

/// The credential to put on the Bedrock request; `region` is Bedrock's, the default region of
/// STS.
///
/// # Errors
/// The errors of each link: `network_error`, `expired_token` (with `aws sso login`),
/// `invalid_api_key`, `insufficient_permissions`, `provider_error`, `config_error`.
pub(crate) async fn auth(
    ctx: &Context,
    client: &Client,
    found: &Found,
    region: &str,
) -> Result<Auth, AuthError> {
    match &found.link {
        Link::Skip => Ok(Auth::None),
        Link::Bearer(token) => Ok(Auth::Bearer(token.clone())),
        link => keys(ctx, client, link, region).await.map(Auth::Keys),
    }
}

type Boxed<'a> = Pin<Box<dyn Future<Output = Result<AccessKeys, AuthError>> + 'a>>;

/// Keys from any link but the bearer token and "skip" (roles recurse into their source).
pub(crate) fn keys<'a>(
    ctx: &'a Context,
    client: &'a Client,
    link: &'a Link,
    region: &'a str,
) -> Boxed<'a> {
    Box::pin(async move {
        match link {
            Link::Keys(keys) => Ok(copy(keys)),
            Link::Export(command) => super::helpers::export(ctx, command),
            Link::Process(command) => super::helpers::process(ctx, command, "credential_process"),
            Link::Sso(sso) => sso_keys(ctx, client, sso).await,
            Link::AssumeRole(role) => assume_role(ctx, client, role, region).await,
            Link::WebIdentity(web) => web_identity(ctx, client, web, region).await,
            Link::Container(container) => container_keys(ctx, client, container).await,
            Link::Imds(endpoint) => imds(ctx, client, endpoint).await,
            Link::Skip | Link::Bearer(_) => Err(AuthError::internal(
                "a Bedrock bearer token or skipped auth has no AWS keys",
            )),
        }
    })
}

fn copy(keys: &AccessKeys) -> AccessKeys {
    AccessKeys {
        access_key_id: keys.access_key_id.clone(),
        secret_access_key: keys.secret_access_key.clone(),
        session_token: keys.session_token.clone(),
        expires: keys.expires,
    }
}

/// RFC 3339 (`2030-01-02T03:04:05Z`, with or without fractions or an offset, or `UTC`
/// for `Z`) as a time.
pub(crate) fn unix_time(text: &str) -> Option<UnixTime> {
    let text = text.trim();
    UnixTime::parse_rfc3339(text).or_else(|| UnixTime::parse_rfc3339(&text.replace("UTC", "Z")))
}

/// Keys from a JSON document in any of the shapes AWS uses: `credential_process` and
/// `aws configure export-credentials` (`AccessKeyId`, `SessionToken`, `Expiration`), the
/// same under `Credentials`, container and instance metadata (`Token`), the SSO portal
/// (`roleCredentials`, camel case, `expiration` in milliseconds).
///
/// # Errors
/// `provider_error` naming `what` when the keys are missing; never the document.
pub(crate) fn parse_keys(value: &serde_json::Value, what: &str) -> Result<AccessKeys, AuthError> {
    let value = value
        .get("Credentials")
        .or_else(|| value.get("roleCredentials"))
        .unwrap_or(value);
    let text = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| value.get(*n).and_then(|v| v.as_str()))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let (Some(id), Some(secret)) = (
        text(&["AccessKeyId", "accessKeyId"]),
        text(&["SecretAccessKey", "secretAccessKey"]).map(Secret::new),
    ) else {
        return Err(
            AuthError::provider(format!("{what} gave no AccessKeyId and SecretAccessKey"))
                .with_hint(
                    "it must print {\"Version\":1,\"AccessKeyId\":…,\"SecretAccessKey\":…,\
             \"SessionToken\":…,\"Expiration\":…}",
                ),
        );
    };
    let token = text(&["SessionToken", "Token", "sessionToken"]).map(Secret::new);
    let expires = match value.get("Expiration").or_else(|| value.get("expiration")) {
        Some(serde_json::Value::String(s)) => unix_time(s),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .map(|ms| UnixMillis::from_millis(ms).to_unix_time()),
        _ => None,
    };
    let mut keys = AccessKeys::checked(id, secret, token, "AccessKeyId", "SessionToken")?;
    keys.expires = expires;
    Ok(keys)
}

/// An endpoint from the first set variable, else `default`; `https`, or `http` to loopback.
pub(super) fn endpoint(
    ctx: &Context,
    variables: &[&'static str],
    default: impl FnOnce() -> Result<Url, AuthError>,
) -> Result<(Url, &'static str), AuthError> {
    let (url, setting) = match variables
        .iter()
        .find_map(|v| ctx.env.get(v).map(|t| (t, *v)))
    {
        Some((text, setting)) => (
            Url::parse(text.trim()).map_err(|e| {
                AuthError::config(format!("{setting} is not a valid URL")).caused_by(e)
            })?,
            setting,
        ),
        None => (default()?, "the default AWS endpoint"),
    };
    // A token or signature goes to this URL: never with credentials of its own in it.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AuthError::config(format!(
            "{setting} must not carry a user name or password"
        )));
    }
    http::require_secure(&url, setting)?;
    Ok((url, setting))
}

pub(super) async fn send(
    ctx: &Context,
    url: &Url,
    setting: &str,
    service: &str,
    request: reqwest::RequestBuilder,
) -> Result<Reply, AuthError> {
    let shown = SafeUrl::from(url.clone());
    let call = Call {
        url: &shown,
        setting,
        service,
        budget: ctx.budget(),
        retry: Retry::Never,
    };
    http::send(&call, request).await
}

/// The error for a non-2xx answer: the AWS error code (from `<Code>`, `__type`, `code` or
/// `x-amzn-ErrorType`) decides; the server's message is never shown.
fn refused(reply: &Reply, service: &str, hint: &str) -> AuthError {
    let code = aws_code(reply).unwrap_or_default();
    let text = format!(
        "{service} refused the request (HTTP {} {code})",
        reply.status.as_u16()
    );
    let error = match code.as_str() {
        c if c.contains("Expired") => AuthError::new(ErrorCode::ExpiredToken, text),
        "AccessDenied" | "AccessDeniedException" => AuthError::insufficient_permissions(text),
        c if c.contains("Throttl") => AuthError::rate_limited(text),
        _ if reply.status.as_u16() == 401 || reply.status.as_u16() == 403 => {
            AuthError::invalid_api_key(text)
        }
        "InvalidIdentityToken" | "InvalidClientTokenId" | "SignatureDoesNotMatch" => {
            AuthError::invalid_api_key(text)
        }
        _ => AuthError::provider(text),
    };
    error.with_hint(hint.to_string())
}

/// The exception name, letters and digits only (anything else is not shown).
fn aws_code(reply: &Reply) -> Option<String> {
    let body = String::from_utf8_lossy(&reply.body);
    let from_xml = || {
        let start = body.find("<Code>")? + "<Code>".len();
        let end = body[start..].find("</Code>")? + start;
        Some(body[start..end].to_string())
    };
    let from_json = || {
        let value: serde_json::Value = serde_json::from_str(&body).ok()?;
        let code = value
            .get("__type")
            .or_else(|| value.get("code"))?
            .as_str()?;
        Some(code.rsplit('#').next().unwrap_or(code).to_string())
    };
    let from_header = || {
        let value = reply.headers.get("x-amzn-errortype")?.to_str().ok()?;
        Some(value.split(':').next().unwrap_or(value).to_string())
    };
    from_header()
        .or_else(from_xml)
        .or_else(from_json)
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The keys in a JSON answer. The body is moved (not copied) into a buffer wiped on drop,
/// and the parsed document is wiped too: both hold the secret key.
fn json_keys(reply: Reply, what: &str) -> Result<AccessKeys, AuthError> {
    let body = Zeroizing::new(reply.body);
    let document = SecretJson::parse(&body).map_err(|_| {
        AuthError::provider(format!("{what} answered with something other than JSON"))
    })?;
    parse_keys(document.expose(), what)
}

async fn sso_keys(ctx: &Context, client: &Client, sso: &Sso) -> Result<AccessKeys, AuthError> {
    let token = super::sso::token(ctx, client, sso).await?;
    let (mut url, setting) = endpoint(
        ctx,
        &[envvars::AWS_ENDPOINT_URL_SSO, envvars::AWS_ENDPOINT_URL],
        || super::aws_url("portal.sso", &sso.region, "sso_region"),
    )?;
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().push("federation").push("credentials");
    }
    url.query_pairs_mut()
        .append_pair("role_name", &sso.role_name)
        .append_pair("account_id", &sso.account_id);
    let mut value = reqwest::header::HeaderValue::from_str(token.expose())
        .map_err(|_| AuthError::config("the SSO access token cannot go in a header"))?;
    value.set_sensitive(true);
    let request = client
        .get(url.clone())
        .header("x-amz-sso_bearer_token", value);
    let service = "the IAM Identity Center portal";
    let reply = send(ctx, &url, setting, service, request).await?;
    let login = format!("run `aws sso login --profile {}`", sso.profile);
    if reply.status.as_u16() == 401 {
        return Err(AuthError::new(
            ErrorCode::ExpiredToken,
            format!(
                "the IAM Identity Center session of profile {} is no longer valid",
                sso.profile
            ),
        )
        .with_hint(login));
    }
    if !reply.status.is_success() {
        return Err(refused(&reply, service, &login));
    }
    json_keys(reply, service)
}

fn sts_endpoint(ctx: &Context, region: &str) -> Result<(Url, &'static str), AuthError> {
    endpoint(
        ctx,
        &[envvars::AWS_ENDPOINT_URL_STS, envvars::AWS_ENDPOINT_URL],
        || super::aws_url("sts", region, "the AWS region"),
    )
}

/// One STS query-API call (form-encoded POST); signed with `signer` when given.
async fn sts(
    ctx: &Context,
    client: &Client,
    region: &str,
    form: &[(&str, &str)],
    signer: Option<&AccessKeys>,
    hint: &str,
) -> Result<AccessKeys, AuthError> {
    let (url, setting) = sts_endpoint(ctx, region)?;
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.append_pair("Version", "2011-06-15");
    for (name, value) in form {
        body.append_pair(name, value);
    }
    let body = Secret::new(body.finish());
    let mut request = client
        .post(url.clone())
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(keys) = signer {
        let now = ctx.clock.now().to_system_time();
        for (name, value) in super::signing::sigv4_headers(
            "POST",
            &url,
            body.expose().as_bytes(),
            keys,
            region,
            "sts",
            now,
        )? {
            request = request.header(name, value);
        }
    }
    let request = request.body(body.expose().clone());
    let service = format!("AWS STS in {region}");
    let reply = send(ctx, &url, setting, &service, request).await?;
    if !reply.status.is_success() {
        return Err(refused(&reply, &service, hint));
    }
    sts_keys(reply, &service)
}

/// `<Credentials>` of an STS XML answer. The body is moved (not copied) into a buffer wiped
/// on drop and read in place: a lossy copy would leave the secret key behind unwiped.
fn sts_keys(reply: Reply, service: &str) -> Result<AccessKeys, AuthError> {
    let body = Zeroizing::new(reply.body);
    let text = std::str::from_utf8(&body).map_err(|_| {
        AuthError::provider(format!("{service} answered with something other than XML"))
    })?;
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].trim().to_string())
    };
    let (Some(id), Some(secret)) = (tag("AccessKeyId"), tag("SecretAccessKey").map(Secret::new))
    else {
        return Err(AuthError::provider(format!(
            "{service} answered without credentials"
        )));
    };
    let mut keys = AccessKeys::checked(
        id,
        secret,
        tag("SessionToken").map(Secret::new),
        "AccessKeyId",
        "SessionToken",
    )?;
    keys.expires = tag("Expiration").as_deref().and_then(unix_time);
    Ok(keys)
}

async fn assume_role(
    ctx: &Context,
    client: &Client,
    role: &Role,
    region: &str,
) -> Result<AccessKeys, AuthError> {
    let source = keys(ctx, client, &role.source, region).await?;
    let mut form: Vec<(&str, &str)> = vec![
        ("Action", "AssumeRole"),
        ("RoleArn", &role.role_arn),
        ("RoleSessionName", &role.session_name),
    ];
    if let Some(id) = &role.external_id {
        form.push(("ExternalId", id));
    }
    if let Some(duration) = &role.duration_seconds {
        form.push(("DurationSeconds", duration));
    }
    let code;
    if let Some(serial) = &role.mfa_serial {
        code = mfa_code(ctx, serial)?;
        form.push(("SerialNumber", serial));
        form.push(("TokenCode", code.expose()));
    }
    let hint = format!(
        "check that the source credentials may call sts:AssumeRole on {}",
        role.role_arn
    );
    sts(ctx, client, region, &form, Some(&source), &hint).await
}

/// The MFA code for `serial`, asked on our terminal.
fn mfa_code(ctx: &Context, serial: &str) -> Result<Secret<String>, AuthError> {
    let code = ctx
        .terminal
        .hidden_prompt(&format!("MFA code for {serial}: "))
        .map_err(|e| {
            AuthError::new(
                ErrorCode::MfaRequired,
                format!("the role needs an MFA code from {serial}"),
            )
            .caused_by(e)
            .with_hint("run the command in a terminal to type the code")
        })?;
    let code = Secret::new(code.expose().trim().to_string());
    if code.expose().len() != 6 || !code.expose().bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::new(
            ErrorCode::MfaRequired,
            format!("the MFA code for {serial} must be 6 digits"),
        ));
    }
    Ok(code)
}

async fn web_identity(
    ctx: &Context,
    client: &Client,
    web: &WebIdentity,
    region: &str,
) -> Result<AccessKeys, AuthError> {
    let token = platform_token(
        &web.token_file,
        "web identity token file",
        "check AWS_WEB_IDENTITY_TOKEN_FILE or web_identity_token_file",
    )?;
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("RoleArn", web.role_arn.as_str()),
        ("RoleSessionName", web.session_name.as_str()),
        ("WebIdentityToken", token.expose().as_str()),
    ];
    let hint = format!(
        "check the role's trust policy for this identity provider ({})",
        web.role_arn
    );
    sts(ctx, client, region, &form, None, &hint).await
}

/// The most a token file may hold: a service account JWT is a few KiB.
const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// A token file the platform mounts for this process (EKS service account and Pod Identity
/// tokens, often root's and 0644, behind symbolic links): any owner, but a regular file of
/// at most 64 KiB, read without waiting on it, trimmed.
fn platform_token(path: &Path, what: &str, hint: &str) -> Result<Secret<String>, AuthError> {
    let bytes = CheckedFile::new(what, Trust::Platform, MAX_TOKEN_FILE)
        .hint(hint)
        .read_existing(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        AuthError::config(format!("the {what} {} is not UTF-8 text", path.display()))
            .with_hint(hint)
    })?;
    Ok(Secret::new(text.trim().to_string()))
}

/// `http` is allowed for loopback and the link-local addresses AWS serves credentials on.
fn metadata_url(text: &str, setting: &str) -> Result<Url, AuthError> {
    let url = Url::parse(text.trim())
        .map_err(|e| AuthError::config(format!("{setting} is not a valid URL")).caused_by(e))?;
    let link_local = matches!(
        url.host_str(),
        Some(
            "169.254.170.2"
                | "169.254.170.23"
                | "[fd00:ec2::23]"
                | "169.254.169.254"
                | "[fd00:ec2::254]"
        )
    );
    if url.scheme() == "http" && link_local {
        return Ok(url);
    }
    http::require_secure(&url, setting)?;
    Ok(url)
}

async fn container_keys(
    ctx: &Context,
    client: &Client,
    container: &Container,
) -> Result<AccessKeys, AuthError> {
    let setting = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    let url = metadata_url(&container.url, setting)?;
    let token = match (&container.token_file, &container.token) {
        (Some(file), _) => Some(platform_token(
            file,
            "container authorization token file",
            "check AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        )?),
        (None, token) => token.clone(),
    };
    let mut request = client.get(url.clone());
    if let Some(token) = token {
        let mut value = reqwest::header::HeaderValue::from_str(token.expose()).map_err(|_| {
            AuthError::config("the container authorization token cannot go in a header")
        })?;
        value.set_sensitive(true);
        request = request.header("authorization", value);
    }
    let service = "the container credentials endpoint";
    let reply = send(ctx, &url, setting, service, request).await?;
    if !reply.status.is_success() {
        return Err(refused(&reply, service, "check the task or pod role"));
    }
    json_keys(reply, service)
}

async fn imds(ctx: &Context, client: &Client, endpoint: &str) -> Result<AccessKeys, AuthError> {
    let setting = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
    let base = metadata_url(endpoint, setting)?;
    let service = "the EC2 instance metadata service";
    let at = |path: &str| -> Result<Url, AuthError> {
        base.join(path)
            .map_err(|e| AuthError::config(format!("{setting} is not a base URL")).caused_by(e))
    };
    let hint = "check that the instance has a role (IMDSv2, hop limit ≥ 2 in containers)";
    let url = at("/latest/api/token")?;
    let request = client
        .put(url.clone())
        .header("x-aws-ec2-metadata-token-ttl-seconds", "21600");
    let reply = send(ctx, &url, setting, service, request).await?;
    if !reply.status.is_success() {
        return Err(refused(&reply, service, hint));
    }
    let mut token = reqwest::header::HeaderValue::from_bytes(reply.body.trim_ascii())
        .map_err(|_| AuthError::provider("the instance metadata token is not a header value"))?;
    token.set_sensitive(true);
    let url = at("/latest/meta-data/iam/security-credentials/")?;
    let request = client
        .get(url.clone())
        .header("x-aws-ec2-metadata-token", token.clone());
    let reply = send(ctx, &url, setting, service, request).await?;
    if !reply.status.is_success() {
        return Err(refused(&reply, service, hint));
    }
    let role = String::from_utf8_lossy(&reply.body)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|r| !r.is_empty() && !r.contains(['/', '?', '#']))
        .ok_or_else(|| {
            AuthError::not_authenticated("the EC2 instance has no role").with_hint(hint)
        })?;
    let url = at(&format!(
        "/latest/meta-data/iam/security-credentials/{role}"
    ))?;
    let request = client
        .get(url.clone())
        .header("x-aws-ec2-metadata-token", token);
    let reply = send(ctx, &url, setting, service, request).await?;
    if !reply.status.is_success() {
        return Err(refused(&reply, service, hint));
    }
    json_keys(reply, service)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(body: &[u8]) -> Reply {
        Reply {
            status: reqwest::StatusCode::OK,
            headers: reqwest::header::HeaderMap::new(),
            body: body.to_vec(),
            elapsed: std::time::Duration::ZERO,
            attempts: 1,
        }
    }

    #[test]
    fn answers_are_read_in_place_and_text_that_is_not_utf8_is_refused() {
        let xml = b"<AssumeRoleResponse><Credentials><AccessKeyId>ASIA1</AccessKeyId>\
            <SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>\
            <Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResponse>";
        let keys = sts_keys(reply(xml), "STS").unwrap();
        assert_eq!(keys.access_key_id, "ASIA1");
        assert_eq!(keys.secret_access_key.expose(), "s");
        assert_eq!(keys.expires, Some(UnixTime::from_secs(1_893_456_000)));
        let Err(err) = sts_keys(reply(b"<SecretAccessKey>\xff</SecretAccessKey>"), "STS") else {
            panic!("keys from text that is not UTF-8");
        };
        assert_eq!(err.code(), ErrorCode::ProviderError);
        let json = br#"{"AccessKeyId":"ASIA1","SecretAccessKey":"s","Token":"t"}"#;
        assert_eq!(
            json_keys(reply(json), "IMDS").unwrap().access_key_id,
            "ASIA1"
        );
        let Err(err) = json_keys(reply(b"<html>"), "IMDS") else {
            panic!("keys from HTML");
        };
        assert_eq!(err.code(), ErrorCode::ProviderError);
    }

    #[test]
    fn every_shape_of_credentials_json_is_read() {
        for doc in [
            r#"{"Version":1,"AccessKeyId":"AKID1","SecretAccessKey":"s","SessionToken":"t","Expiration":"2030-01-01T00:00:00Z"}"#,
            r#"{"Credentials":{"AccessKeyId":"AKID1","SecretAccessKey":"s","SessionToken":"t","Expiration":"2030-01-01T00:00:00+00:00"}}"#,
            r#"{"Code":"Success","AccessKeyId":"AKID1","SecretAccessKey":"s","Token":"t","Expiration":"2030-01-01T00:00:00Z"}"#,
            r#"{"roleCredentials":{"accessKeyId":"AKID1","secretAccessKey":"s","sessionToken":"t","expiration":1893456000000}}"#,
        ] {
            let keys = parse_keys(&serde_json::from_str(doc).unwrap(), "test").unwrap();
            assert_eq!(keys.access_key_id, "AKID1");
            assert_eq!(keys.session_token.unwrap().expose(), "t");
            assert_eq!(
                keys.expires,
                Some(UnixTime::from_secs(1_893_456_000)),
                "{doc}"
            );
        }
        let Err(err) = parse_keys(&serde_json::json!({"x": 1}), "the command") else {
            panic!("keys from nothing");
        };
        assert_eq!(err.code(), ErrorCode::ProviderError);
    }
}
