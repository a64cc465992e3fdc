//! AWS Bedrock: the region, the endpoint, which AWS credential is in force (offline), and the
//! one cheap authenticated call that proves it works (GetFoundationModel for the configured
//! model, else ListFoundationModels for Anthropic).

mod answer;
mod credentials;
mod fetch;
pub(crate) mod helpers;
mod profiles;
mod signing;
mod sso;
mod sso_oidc;

use crate::context::Context;
use crate::envvars;
use crate::error::{AuthError, ErrorCode};
use crate::http::{self};
use crate::providers::{CredentialInfo, Verdict};
use crate::redact::SafeUrl;
use crate::secret::Fingerprint;
use credentials::Auth;
use reqwest::Url;

// What Vertex's AWS-sourced workload identity federation shares with Bedrock: the
// environment's keys, instance-metadata JSON and the one SigV4 signer.
pub(crate) use credentials::{env_pair, AccessKeys};
pub(crate) use fetch::parse_keys;
pub(crate) use signing::{sigv4_headers_for, Signable};

/// Where the endpoint came from, for messages.
const CONFIG_ENDPOINT: &str = "`bedrockBaseUrl` in the config";

/// An endpoint and the setting that chose it.
struct Endpoint {
    url: Url,
    setting: &'static str,
}

/// The AWS region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the config's `region` (after
/// the active environment's overlay), else the `region` of the `AWS_PROFILE` profile (or
/// `default`) in the AWS config file.
///
/// # Errors
/// `config_error` when no region is set or it is not a region name.
pub fn region(ctx: &Context) -> Result<String, AuthError> {
    let candidates = [
        (ctx.env.get(envvars::AWS_REGION), envvars::AWS_REGION),
        (
            ctx.env.get(envvars::AWS_DEFAULT_REGION),
            envvars::AWS_DEFAULT_REGION,
        ),
        (
            ctx.loaded.config.region.clone().filter(|r| !r.is_empty()),
            "`region` in the config",
        ),
    ];
    let Some((region, setting)) = candidates
        .into_iter()
        .find_map(|(v, s)| v.map(|v| (v, s)))
        .or_else(|| profile_region(ctx).map(|r| (r, "the profile's `region`")))
    else {
        // A profile that is not there (or files that cannot be used) explains the missing
        // region better than "no region".
        let loaded = profiles::Profiles::load(&ctx.env)?;
        if let Some(name) = credentials::named_profile(&ctx.env) {
            if loaded.profile(&name).is_none() {
                return Err(credentials::missing_profile(&loaded, &name));
            }
        }
        return Err(
            AuthError::config("Bedrock needs an AWS region and none is set").with_hint(
                "export AWS_REGION (e.g. `export AWS_REGION=us-east-1`), set the `region` key in \
             the config, or add `region = …` to the AWS profile in ~/.aws/config",
            ),
        );
    };
    if !is_region_name(&region) {
        return Err(
            AuthError::config(format!("{setting} is not an AWS region name"))
                .with_hint("use a region such as us-east-1 or eu-west-3 (lower case)"),
        );
    }
    Ok(region)
}

/// A region becomes part of a host name: lower-case letters, digits and hyphens, at most 32.
pub(crate) fn is_region_name(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `https://{service}.{region}.amazonaws.com`, built by setting the host (never by pasting
/// text into a URL), so a region can only ever name a host under amazonaws.com.
///
/// # Errors
/// `config_error` when `region` is not a region name.
pub(crate) fn aws_url(service: &str, region: &str, setting: &str) -> Result<Url, AuthError> {
    if !is_region_name(region) {
        return Err(AuthError::config(format!(
            "{setting} is not an AWS region name: {}",
            crate::terminal_text::single_line(region)
        ))
        .with_hint("use a region such as us-east-1 or eu-west-3 (lower case)"));
    }
    let mut url = Url::parse("https://amazonaws.com/").expect("a constant URL");
    url.set_host(Some(&format!("{service}.{region}.amazonaws.com")))
        .map_err(|_| AuthError::config(format!("{setting} is not an AWS region name")))?;
    Ok(url)
}

/// The `region` of the `AWS_PROFILE` profile (else `default`), when the files can be read.
fn profile_region(ctx: &Context) -> Option<String> {
    let name = credentials::named_profile(&ctx.env).unwrap_or_else(|| "default".to_string());
    profiles::Profiles::load(&ctx.env)
        .ok()?
        .profile(&name)?
        .text("region")
}

/// The Bedrock control-plane endpoint: `ANTHROPIC_BEDROCK_BASE_URL`, else
/// `AWS_ENDPOINT_URL_BEDROCK`, else `AWS_ENDPOINT_URL`, else the config's `bedrockBaseUrl`, else
/// `https://bedrock.REGION.amazonaws.com`.
///
/// # Errors
/// `config_error` for a missing region, an unusable URL, or plain HTTP to a non-loopback host.
pub fn endpoint(ctx: &Context) -> Result<Url, AuthError> {
    let region = region(ctx)?;
    locate(ctx, &region).map(|endpoint| endpoint.url)
}

fn locate(ctx: &Context, region: &str) -> Result<Endpoint, AuthError> {
    let overrides = [
        (
            ctx.env.get(envvars::ANTHROPIC_BEDROCK_BASE_URL),
            envvars::ANTHROPIC_BEDROCK_BASE_URL,
        ),
        (
            ctx.env.get(envvars::AWS_ENDPOINT_URL_BEDROCK),
            envvars::AWS_ENDPOINT_URL_BEDROCK,
        ),
        (
            ctx.env.get(envvars::AWS_ENDPOINT_URL),
            envvars::AWS_ENDPOINT_URL,
        ),
        (
            ctx.loaded
                .config
                .bedrock_base_url
                .clone()
                .filter(|u| !u.is_empty()),
            CONFIG_ENDPOINT,
        ),
    ];
    let default = format!("https://bedrock.{region}.amazonaws.com");
    let (text, setting) = overrides
        .into_iter()
        .find_map(|(v, s)| v.map(|v| (v, s)))
        .unwrap_or((default.clone(), envvars::AWS_REGION));
    let mut url = Url::parse(text.trim()).map_err(|e| {
        AuthError::config(format!("{setting} is not a valid URL"))
            .caused_by(e)
            .with_hint(format!("e.g. {default}"))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            AuthError::config(format!("{setting} must not carry a user name or password"))
                .with_hint(
                    "AWS credentials come from AWS_BEARER_TOKEN_BEDROCK, AWS_ACCESS_KEY_ID or a \
                     profile, never from the URL",
                ),
        );
    }
    http::require_secure(&url, setting)?;
    url.set_query(None);
    url.set_fragment(None);
    Ok(Endpoint { url, setting })
}

/// The Bedrock credential in force, where it comes from and what it shadows, offline: reads
/// the environment and the shared credentials file, sends nothing. `settings` holds `region`,
/// `endpoint` and, when configured, `model`.
///
/// # Errors
/// `config_error` (no region, bad endpoint, half an access key pair, a missing `AWS_PROFILE`);
/// `not_authenticated` when no AWS credential is present.
///
/// # Security
/// Only fingerprints (of the bearer token or the access key id) leave this function.
pub fn credential(ctx: &Context) -> Result<CredentialInfo, AuthError> {
    let region = region(ctx)?;
    let endpoint = locate(ctx, &region)?;
    let resolution = credentials::resolve(ctx)?;
    let mut settings = vec![
        ("region".to_string(), region),
        (
            "endpoint".to_string(),
            SafeUrl::from(endpoint.url.clone()).to_string(),
        ),
    ];
    if let Some(model) = model(ctx) {
        settings.push(("model".to_string(), model.to_string()));
    }
    if let credentials::Link::Sso(sso) = &resolution.found.link {
        if let Some(status) = &sso.status {
            settings.push(("ssoToken".to_string(), status.clone()));
        }
    }
    if let Some(found) = ctx.helper(crate::config::claude_code::HelperKey::AwsAuthRefresh) {
        settings.push((
            "awsAuthRefresh".to_string(),
            format!("configured {} (run when the check fails)", found.place()),
        ));
    }
    Ok(CredentialInfo {
        fingerprint: resolution.found.fingerprint().map(|f| f.to_string()),
        source: resolution.found.source,
        description: resolution.found.description,
        shadowed: resolution.shadowed,
        settings,
    }
    .one_line())
}

/// One cheap authenticated call: `GET {endpoint}/foundation-models/{model}` when `model` is
/// configured, else `GET {endpoint}/foundation-models?byProvider=anthropic`, with the bearer
/// token or a SigV4 signature, within `authentication.timeout`. Not retried.
///
/// # Errors
/// The errors of [`credential`], then: `invalid_api_key` (credentials or signature rejected,
/// with a clock-skew diagnosis when the server's `Date` is more than 5 minutes off),
/// `expired_token`, `insufficient_permissions` (AccessDenied), `rate_limited`, `network_error`
/// (unreachable, timeout, 5xx), `provider_error` (unknown model, redirect, not Bedrock).
pub async fn verify(ctx: &Context, client: &reqwest::Client) -> Result<Verdict, AuthError> {
    let first = attempt(ctx, client).await;
    let Some(found) = ctx.helper(crate::config::claude_code::HelperKey::AwsAuthRefresh) else {
        return first;
    };
    let command = found.command.as_str();
    match &first {
        Err(err) if needs_refresh(err) => {
            // Claude Code's `awsAuthRefresh`: typically `aws sso login`; then read again.
            helpers::refresh(ctx, command)?;
            attempt(ctx, client).await
        }
        _ => first,
    }
}

/// Errors that fresh credentials could cure.
fn needs_refresh(err: &AuthError) -> bool {
    matches!(
        err.code(),
        ErrorCode::ExpiredToken | ErrorCode::InvalidApiKey | ErrorCode::NotAuthenticated
    )
}

/// The chain (offline choice, then online fetch) and one Bedrock call.
async fn attempt(ctx: &Context, client: &reqwest::Client) -> Result<Verdict, AuthError> {
    let region = region(ctx)?;
    let endpoint = locate(ctx, &region)?;
    let resolution = credentials::resolve(ctx)?;
    let model = model(ctx);
    let url = call_url(&endpoint.url, model);
    let found = &resolution.found;
    let auth = fetch::auth(ctx, client, found, &region).await?;
    let signed_at = ctx.clock.now();
    let (how, shown_id) = match &auth {
        Auth::None => ("no authentication", String::new()),
        Auth::Bearer(token) => ("bearer token", Fingerprint::of(token.expose()).to_string()),
        Auth::Keys(keys) => ("SigV4", Fingerprint::of(&keys.access_key_id).to_string()),
    };
    crate::trace::step(&format!(
        "bedrock: {} {shown_id} in {region}, {how}",
        found.source
    ));
    let request = signing::get(client, &url, &auth, &region, signed_at.to_system_time())?;
    let service = format!("Bedrock in {region}");
    let shown = crate::redact::SafeUrl::from(url.clone());
    let ladder = http::Call {
        url: &shown,
        setting: endpoint.setting,
        service: &service,
        budget: ctx.budget(),
        // One signed call: a verdict, not a load test of the endpoint.
        retry: http::Retry::Never,
    };
    let reply = http::send(&ladder, request).await?;
    let call = answer::Call {
        url: &shown,
        region: &region,
        model,
        source: &found.source,
        setting: endpoint.setting,
        bearer: matches!(auth, Auth::Bearer(_)),
        signed_at,
    };
    answer::judge(&call, &reply)
}

/// True when `CLAUDE_CODE_SKIP_BEDROCK_AUTH` is set: requests go without authentication.
pub fn auth_skipped(ctx: &Context) -> bool {
    credentials::truthy(&ctx.env, envvars::CLAUDE_CODE_SKIP_BEDROCK_AUTH)
}

/// `--print-token` under `CLAUDE_CODE_SKIP_BEDROCK_AUTH`: there is nothing to print.
pub fn auth_skipped_error() -> AuthError {
    AuthError::usage(
        "CLAUDE_CODE_SKIP_BEDROCK_AUTH is set: Bedrock requests are sent without \
         authentication (a gateway adds it), so there is no credential to print",
    )
    .with_hint("unset CLAUDE_CODE_SKIP_BEDROCK_AUTH to print the credential of the AWS chain")
}

/// The AWS keys in force as `credential_process` prints them (`Version: 1`), for
/// `--print-token --format aws-credential-process`, and their source.
///
/// # Errors
/// `usage` when Bedrock does not sign (a bearer token, `CLAUDE_CODE_SKIP_BEDROCK_AUTH`); the
/// errors of the chain.
///
/// # Security
/// The one place the secret key leaves: the user asked for it on stdout.
pub async fn credential_process_json(
    ctx: &Context,
    client: &reqwest::Client,
) -> Result<(crate::secret::Secret<String>, String), AuthError> {
    let region = region(ctx)?;
    let resolution = credentials::resolve(ctx)?;
    let keys = match fetch::auth(ctx, client, &resolution.found, &region).await? {
        Auth::Keys(keys) => keys,
        Auth::None => return Err(auth_skipped_error()),
        Auth::Bearer(_) => {
            return Err(AuthError::usage(
                "Bedrock does not sign with AWS keys here (a Bedrock API key is in force): \
                 there is no credential_process output",
            )
            .with_hint("use `claude --print-token` for the Bedrock API key"))
        }
    };
    // The document holds copies of the secret key and token: wiped when it is dropped.
    let mut document = crate::secret::SecretJson::new(serde_json::json!({
        "Version": 1,
        "AccessKeyId": keys.access_key_id,
        "SecretAccessKey": keys.secret_access_key.expose(),
    }));
    let fields = document.expose_mut();
    if let Some(token) = &keys.session_token {
        fields["SessionToken"] = token.expose().clone().into();
    }
    if let Some(at) = keys.expires.and_then(crate::time::UnixTime::to_chrono) {
        fields["Expiration"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    }
    let text = document
        .to_text()
        .map_err(|e| AuthError::internal("cannot encode the credentials").caused_by(e))?;
    Ok((text, resolution.found.source))
}

/// The configured model, if any.
fn model(ctx: &Context) -> Option<&str> {
    ctx.loaded
        .config
        .model
        .as_deref()
        .filter(|m| !m.trim().is_empty())
}

/// `{endpoint}/foundation-models/{model}` (the model one percent-encoded path segment) or
/// `{endpoint}/foundation-models?byProvider=anthropic`.
fn call_url(endpoint: &Url, model: Option<&str>) -> Url {
    let mut url = endpoint.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push("foundation-models");
        if let Some(model) = model {
            segments.push(model);
        }
    }
    if model.is_none() {
        url.set_query(Some("byProvider=anthropic"));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_urls_for_a_model_and_for_the_list() {
        let base = Url::parse("https://bedrock.us-east-1.amazonaws.com").unwrap();
        assert_eq!(
            call_url(&base, Some("anthropic.claude-3-5-sonnet-20240620-v1:0")).as_str(),
            "https://bedrock.us-east-1.amazonaws.com/foundation-models/anthropic.claude-3-5-sonnet-20240620-v1:0"
        );
        let proxied = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(
            call_url(&proxied, None).as_str(),
            "http://127.0.0.1:9/prefix/foundation-models?byProvider=anthropic"
        );
        let arn = call_url(&base, Some("arn:aws:bedrock:us-east-1::foundation-model/x"));
        assert!(arn.path().ends_with("foundation-model%2Fx"), "{arn}");
    }
}
