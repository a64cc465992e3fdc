//! Which AWS credential Bedrock uses, decided offline from the environment, the config and
//! the AWS files (first found wins): `CLAUDE_CODE_SKIP_BEDROCK_AUTH`, a Bedrock API key,
//! `awsCredentialExport`, access keys in the environment, the `AWS_PROFILE` profile (static
//! keys, IAM Identity Center, `credential_process`, assume role, web identity), web identity
//! from the environment, container credentials, EC2 instance metadata. Links that need the
//! network or a command are only planned here; `fetch` turns them into keys.

use super::profiles::{Profiles, Props};
use crate::context::Context;
use crate::envvars::{self, Env};
use crate::error::{AuthError, ErrorCode};
use crate::secret::{Fingerprint, Secret};
use std::path::PathBuf;

/// How the request is authenticated.
pub(crate) enum Auth {
    /// Nothing: a gateway adds authentication (`CLAUDE_CODE_SKIP_BEDROCK_AUTH`).
    None,
    /// A Bedrock API key, sent as `Authorization: Bearer`.
    Bearer(Secret<String>),
    /// An access key pair, with a session token for temporary credentials; signed with SigV4.
    Keys(AccessKeys),
}

/// An AWS access key pair. The id is an identifier, not a secret, but is still shown only
/// as a fingerprint.
pub(crate) struct AccessKeys {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Option<Secret<String>>,
    /// For temporary credentials that say when they end.
    pub expires: Option<crate::time::UnixTime>,
}

/// A link of the chain, as found offline.
pub(crate) enum Link {
    Skip,
    Bearer(Secret<String>),
    Keys(AccessKeys),
    /// `awsCredentialExport`: a command printing credentials JSON (cached).
    Export(String),
    /// `credential_process` of a profile.
    Process(String),
    Sso(Sso),
    AssumeRole(Box<Role>),
    WebIdentity(WebIdentity),
    Container(Container),
    /// IMDSv2 at this endpoint.
    Imds(String),
}

/// IAM Identity Center: the profile's account and role, and where the CLI cached the token.
pub(crate) struct Sso {
    pub profile: String,
    /// The `[sso-session NAME]` the profile names; `None` for the legacy form
    /// (`sso_start_url` in the profile), whose tokens cannot be refreshed.
    pub session: Option<String>,
    pub account_id: String,
    pub role_name: String,
    pub region: String,
    pub cache: PathBuf,
    /// What the token cache says, for status ("expired 2 h ago; it will be refreshed…");
    /// filled when the profile is the one in force.
    pub status: Option<String>,
}

/// `role_arn` with the credentials it is assumed from.
pub(crate) struct Role {
    pub role_arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
    pub mfa_serial: Option<String>,
    pub duration_seconds: Option<String>,
    pub source: Link,
}

/// `AssumeRoleWithWebIdentity` with a token file (EKS, GitHub OIDC).
pub(crate) struct WebIdentity {
    pub token_file: PathBuf,
    pub role_arn: String,
    pub session_name: String,
}

/// ECS/EKS container credentials.
pub(crate) struct Container {
    pub url: String,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`, or the file `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`
    /// names (read when used).
    pub token: Option<Secret<String>>,
    pub token_file: Option<PathBuf>,
}

/// A usable credential and where it came from.
pub(crate) struct Found {
    pub link: Link,
    /// `env:AWS_BEARER_TOKEN_BEDROCK`, `env:AWS_ACCESS_KEY_ID`, `profile:NAME`,
    /// `profile:NAME:sso`, … (docs/providers/bedrock.md lists them).
    pub source: String,
    pub description: String,
}

impl Found {
    /// The bearer token's or the access key id's fingerprint; never the secret key's.
    /// Links whose credential is fetched when used have none offline.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        match &self.link {
            Link::Bearer(token) => Some(Fingerprint::of(token.expose())),
            Link::Keys(keys) => Some(Fingerprint::of(&keys.access_key_id)),
            _ => None,
        }
    }
}

/// The credential in force and the sources present that it shadows.
pub(crate) struct Resolution {
    pub found: Found,
    pub shadowed: Vec<String>,
}

type Lookup = fn(&Context, &Lazy) -> Result<Option<Found>, AuthError>;

/// The AWS files, read once and only when a link needs them.
pub(crate) struct Lazy(std::cell::OnceCell<Result<Profiles, AuthError>>);

impl Lazy {
    fn profiles(&self, env: &Env) -> Result<&Profiles, AuthError> {
        self.0
            .get_or_init(|| Profiles::load(env))
            .as_ref()
            .map_err(|e| {
                AuthError::config(e.message().to_string())
                    .with_hint(e.hint().unwrap_or_default().to_string())
            })
    }
}

/// Looks at the links in order. A broken link stops the search only when it would have been
/// used; after the winner it is simply not listed as shadowed.
///
/// # Errors
/// `config_error` for half an access key pair, a missing named profile or an unreadable
/// file; `expired_token` for an expired IAM Identity Center token that cannot be refreshed;
/// `not_authenticated`
/// when there is no credential at all.
pub(crate) fn resolve(ctx: &Context) -> Result<Resolution, AuthError> {
    let lookups: [Lookup; 8] = [
        skip,
        bearer,
        export,
        env_keys,
        profile,
        web_identity_env,
        container,
        imds,
    ];
    let files = Lazy(std::cell::OnceCell::new());
    let mut winner: Option<Found> = None;
    let mut shadowed = Vec::new();
    for lookup in lookups {
        match (lookup(ctx, &files), &winner) {
            (Ok(Some(found)), None) => winner = Some(found),
            (Ok(Some(found)), Some(_)) => shadowed.push(found.source),
            (Err(err), None) => return Err(err),
            _ => {}
        }
    }
    let found = winner.ok_or_else(|| {
        AuthError::not_authenticated("no AWS credentials for Bedrock").with_hint(
            "set AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key), or AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or select a profile of ~/.aws/config with AWS_PROFILE \
             (`aws configure` or `aws configure sso`); on EC2 set \
             AWS_EC2_METADATA_SERVICE_ENDPOINT to use the instance role",
        )
    })?;
    Ok(Resolution { found, shadowed })
}

pub(crate) fn truthy(env: &Env, name: &str) -> bool {
    env.get(name)
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn skip(ctx: &Context, _: &Lazy) -> Result<Option<Found>, AuthError> {
    Ok(
        truthy(&ctx.env, envvars::CLAUDE_CODE_SKIP_BEDROCK_AUTH).then(|| Found {
            link: Link::Skip,
            source: format!("env:{}", envvars::CLAUDE_CODE_SKIP_BEDROCK_AUTH),
            description: "no authentication (CLAUDE_CODE_SKIP_BEDROCK_AUTH: a gateway adds it)"
                .to_string(),
        }),
    )
}

fn bearer(ctx: &Context, _: &Lazy) -> Result<Option<Found>, AuthError> {
    let Some(token) = ctx
        .env
        .get(envvars::AWS_BEARER_TOKEN_BEDROCK)
        .map(Secret::from)
    else {
        return Ok(None);
    };
    header_safe(token.expose(), envvars::AWS_BEARER_TOKEN_BEDROCK)?;
    Ok(Some(Found {
        link: Link::Bearer(token),
        source: format!("env:{}", envvars::AWS_BEARER_TOKEN_BEDROCK),
        description: "the AWS_BEARER_TOKEN_BEDROCK environment variable (a Bedrock API key)"
            .to_string(),
    }))
}

fn export(ctx: &Context, _: &Lazy) -> Result<Option<Found>, AuthError> {
    use crate::config::claude_code::{HelperKey, Origin};
    // Managed settings first, then this tool's config, then Claude Code's settings (status
    // names the others).
    let Some(found) = ctx.helper(HelperKey::AwsCredentialExport) else {
        return Ok(None);
    };
    let source = match found.origin {
        Origin::Own => "config:awsCredentialExport",
        Origin::Settings(_) => "settings:awsCredentialExport",
        Origin::Managed(_) => "managed:awsCredentialExport",
    };
    Ok(Some(Found {
        description: format!(
            "the `awsCredentialExport` command {} (run when used, cached until 5 minutes, \
             or half their lifetime when shorter, before the credentials expire)",
            found.place()
        ),
        link: Link::Export(found.command),
        source: source.to_string(),
    }))
}

fn env_keys(ctx: &Context, _: &Lazy) -> Result<Option<Found>, AuthError> {
    let Some(keys) = env_pair(&ctx.env)? else {
        return Ok(None);
    };
    let description = if keys.session_token.is_some() {
        "the AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN environment variables"
    } else {
        "the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables"
    };
    Ok(Some(Found {
        link: Link::Keys(keys),
        source: format!("env:{}", envvars::AWS_ACCESS_KEY_ID),
        description: description.to_string(),
    }))
}

/// The environment's access key pair, if any.
///
/// # Errors
/// `config_error` for half a pair, or a key id or session token that cannot go in a header.
pub(crate) fn env_pair(env: &Env) -> Result<Option<AccessKeys>, AuthError> {
    let id = env.get(envvars::AWS_ACCESS_KEY_ID);
    let secret = env.get(envvars::AWS_SECRET_ACCESS_KEY).map(Secret::from);
    let token = env.get(envvars::AWS_SESSION_TOKEN).map(Secret::from);
    let (id, secret) = match (id, secret) {
        (None, None) => return Ok(None),
        (Some(id), Some(secret)) => (id, secret),
        (Some(_), None) => return Err(half_pair("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
        (None, Some(_)) => return Err(half_pair("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")),
    };
    AccessKeys::checked(id, secret, token, "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN").map(Some)
}

fn half_pair(set: &str, missing: &str) -> AuthError {
    AuthError::config(format!("{set} is set but {missing} is not")).with_hint(format!(
        "export both {set} and {missing}, or unset {set} to use a profile from the shared \
         credentials file"
    ))
}

impl AccessKeys {
    /// Keys whose id and token can travel in HTTP headers.
    pub(crate) fn checked(
        access_key_id: String,
        secret_access_key: Secret<String>,
        session_token: Option<Secret<String>>,
        id_name: &str,
        token_name: &str,
    ) -> Result<AccessKeys, AuthError> {
        header_safe(&access_key_id, id_name)?;
        if let Some(token) = &session_token {
            header_safe(token.expose(), token_name)?;
        }
        Ok(AccessKeys {
            access_key_id,
            secret_access_key,
            session_token,
            expires: None,
        })
    }
}

/// Refuses a value that would break (or inject) an HTTP header, without showing it.
pub(crate) fn header_safe(value: &str, name: &str) -> Result<(), AuthError> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(());
    }
    Err(AuthError::config(format!(
        "{name} is empty or holds spaces, control or non-ASCII characters and cannot be sent \
         in an HTTP header"
    ))
    .with_hint(format!(
        "set {name} again from the original value (a stray newline or quote is the usual cause)"
    )))
}

/// `AWS_PROFILE`, as one line. The name is shown in status lines, errors and hints; one
/// with a newline (which no section of the AWS files can have, so it names none) would
/// print a line of its own there.
pub(crate) fn named_profile(env: &Env) -> Option<String> {
    env.get(envvars::AWS_PROFILE)
        .map(|name| crate::terminal_text::single_line(&name))
}

fn profile(ctx: &Context, files: &Lazy) -> Result<Option<Found>, AuthError> {
    let named = named_profile(&ctx.env);
    let name = named.clone().unwrap_or_else(|| "default".to_string());
    let profiles = files.profiles(&ctx.env)?;
    let Some(props) = profiles.profile(&name) else {
        if named.is_none() {
            return Ok(None);
        }
        return Err(missing_profile(profiles, &name));
    };
    let (mut link, kind) = match profile_link(ctx, profiles, &name, &props, 0) {
        Ok(found) => found,
        // `[default]` with only a region is no credential, not an error.
        Err(err) if named.is_none() && err.code() == ErrorCode::ConfigError => {
            let keys = [
                "aws_access_key_id",
                "role_arn",
                "sso_session",
                "sso_start_url",
                "credential_process",
            ];
            if keys.iter().all(|k| props.get(k).is_none()) {
                return Ok(None);
            }
            return Err(err);
        }
        Err(err) => return Err(err),
    };
    if let Link::Sso(sso) = &mut link {
        sso.status = Some(super::sso::offline(ctx, sso)?);
    }
    let suffix = match &link {
        Link::Keys(_) => String::new(),
        Link::Process(_) => ":credential_process".to_string(),
        Link::Sso(_) => ":sso".to_string(),
        Link::AssumeRole(_) => ":assume-role".to_string(),
        Link::WebIdentity(_) => ":web-identity".to_string(),
        _ => String::new(),
    };
    Ok(Some(Found {
        link,
        source: format!("profile:{name}{suffix}"),
        description: format!("profile {name} in {} ({kind})", profiles.files()),
    }))
}

pub(crate) fn missing_profile(profiles: &Profiles, name: &str) -> AuthError {
    let names = profiles.names();
    let found = if names.is_empty() {
        "the files have no profiles".to_string()
    } else {
        format!("profiles found: {}", names.join(", "))
    };
    AuthError::config(format!(
        "profile {name} (AWS_PROFILE) is not in {} ({found})",
        profiles.files()
    ))
    .with_hint(format!(
        "set AWS_PROFILE to one of the profiles found, or add it with `aws configure --profile \
         {name}` or `aws configure sso --profile {name}`"
    ))
}

/// What profile `name` holds, in the AWS SDKs' order: a role (with web identity, a source
/// profile or a credential source), IAM Identity Center, `credential_process`, static keys.
fn profile_link(
    ctx: &Context,
    profiles: &Profiles,
    name: &str,
    props: &Props,
    depth: usize,
) -> Result<(Link, &'static str), AuthError> {
    if depth > 4 {
        return Err(AuthError::config(format!(
            "profile {name}: source_profile chains more than 4 roles (a loop?)"
        ))
        .with_hint("check the source_profile keys in ~/.aws/config"));
    }
    if let Some(role_arn) = props.text("role_arn") {
        let session_name = props
            .text("role_session_name")
            .unwrap_or_else(|| "claude-auth".to_string());
        if let Some(token_file) = props.text("web_identity_token_file") {
            let link = Link::WebIdentity(WebIdentity {
                token_file: PathBuf::from(token_file),
                role_arn,
                session_name,
            });
            return Ok((link, "web identity, assumed when used"));
        }
        let source = role_source(ctx, profiles, name, props, depth)?;
        let role = Role {
            role_arn,
            session_name,
            external_id: props.text("external_id"),
            mfa_serial: props.text("mfa_serial"),
            duration_seconds: props.text("duration_seconds"),
            source,
        };
        return Ok((
            Link::AssumeRole(Box::new(role)),
            "a role, assumed when used",
        ));
    }
    if props.get("sso_session").is_some() || props.get("sso_start_url").is_some() {
        return sso_link(ctx, profiles, name, props).map(|s| (Link::Sso(s), "IAM Identity Center"));
    }
    if let Some(command) = props.text("credential_process") {
        return Ok((Link::Process(command), "credential_process, run when used"));
    }
    let (Some(id), Some(secret)) = (
        props.text("aws_access_key_id"),
        props.get("aws_secret_access_key").cloned(),
    ) else {
        return Err(AuthError::config(format!(
            "profile {name} has no credentials (no aws_access_key_id and \
             aws_secret_access_key, sso_session, credential_process or role_arn)"
        ))
        .with_hint(format!(
            "run `aws configure --profile {name}` or `aws configure sso --profile {name}`"
        )));
    };
    let keys = AccessKeys::checked(
        id,
        secret,
        props.get("aws_session_token").cloned(),
        "aws_access_key_id",
        "aws_session_token",
    )?;
    Ok((Link::Keys(keys), "static keys"))
}

/// The credentials a role is assumed with: `source_profile` or `credential_source`.
fn role_source(
    ctx: &Context,
    profiles: &Profiles,
    name: &str,
    props: &Props,
    depth: usize,
) -> Result<Link, AuthError> {
    if let Some(source) = props.text("source_profile") {
        let Some(source_props) = profiles.profile(&source) else {
            return Err(missing_profile(profiles, &source).with_hint(format!(
                "profile {name} names source_profile {source}, which does not exist"
            )));
        };
        if source == name {
            // A profile that is its own source uses its static keys.
            let keys = AccessKeys::checked(
                source_props.text("aws_access_key_id").unwrap_or_default(),
                source_props
                    .get("aws_secret_access_key")
                    .cloned()
                    .unwrap_or_else(|| Secret::new(String::new())),
                source_props.get("aws_session_token").cloned(),
                "aws_access_key_id",
                "aws_session_token",
            )?;
            return Ok(Link::Keys(keys));
        }
        return profile_link(ctx, profiles, &source, &source_props, depth + 1).map(|(l, _)| l);
    }
    match props.text("credential_source").as_deref() {
        Some("Environment") => env_pair(&ctx.env)?.map(Link::Keys).ok_or_else(|| {
            AuthError::config(format!(
                "profile {name} takes its credentials from the environment, and \
                 AWS_ACCESS_KEY_ID is not set"
            ))
        }),
        Some("EcsContainer") => container_link(&ctx.env)
            .map(Link::Container)
            .ok_or_else(|| {
                AuthError::config(format!(
                    "profile {name} uses EcsContainer, and no AWS_CONTAINER_CREDENTIALS_* is set"
                ))
            }),
        Some("Ec2InstanceMetadata") => Ok(Link::Imds(imds_endpoint(&ctx.env))),
        other => Err(AuthError::config(format!(
            "profile {name} has role_arn but no source_profile, credential_source or \
             web_identity_token_file{}",
            other
                .map(|o| format!(" (credential_source {o} is unknown)"))
                .unwrap_or_default()
        ))
        .with_hint("add `source_profile = NAME` to the profile in ~/.aws/config")),
    }
}

fn sso_link(
    ctx: &Context,
    profiles: &Profiles,
    name: &str,
    props: &Props,
) -> Result<Sso, AuthError> {
    let missing = |key: &str| {
        AuthError::config(format!(
            "profile {name} uses IAM Identity Center but has no {key}"
        ))
        .with_hint(format!("run `aws configure sso --profile {name}`"))
    };
    let session = props.text("sso_session");
    let (key, region) = match session.clone() {
        Some(session) => {
            let section = profiles.sso_session(&session).ok_or_else(|| {
                AuthError::config(format!(
                    "profile {name} names sso_session {session}, and there is no \
                     [sso-session {session}] section"
                ))
                .with_hint(format!("run `aws configure sso --profile {name}`"))
            })?;
            let region = section
                .text("sso_region")
                .ok_or_else(|| missing("sso_region"))?;
            sso_region_name(&region, &format!("[sso-session {session}]"))?;
            (session, region)
        }
        None => {
            let url = props
                .text("sso_start_url")
                .ok_or_else(|| missing("sso_start_url"))?;
            let region = props
                .text("sso_region")
                .ok_or_else(|| missing("sso_region"))?;
            sso_region_name(&region, &format!("profile {name}"))?;
            (url, region)
        }
    };
    use sha1::Digest;
    let digest = sha1::Sha1::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Sso {
        profile: name.to_string(),
        session,
        account_id: props
            .text("sso_account_id")
            .ok_or_else(|| missing("sso_account_id"))?,
        role_name: props
            .text("sso_role_name")
            .ok_or_else(|| missing("sso_role_name"))?,
        region,
        cache: super::profiles::sso_cache_dir(&ctx.env).join(format!("{hex}.json")),
        status: None,
    })
}

/// `sso_region` names the host the SSO token goes to: a region name only.
fn sso_region_name(region: &str, section: &str) -> Result<(), AuthError> {
    if super::is_region_name(region) {
        return Ok(());
    }
    Err(AuthError::config(format!(
        "{section} in ~/.aws/config has sso_region {}, which is not an AWS region name",
        crate::terminal_text::single_line(region)
    ))
    .with_hint("set `sso_region` to a region such as us-east-1 (lower case)"))
}

fn web_identity_env(ctx: &Context, _: &Lazy) -> Result<Option<Found>, AuthError> {
    let (Some(token_file), Some(role_arn)) = (
        ctx.env.get(envvars::AWS_WEB_IDENTITY_TOKEN_FILE),
        ctx.env.get(envvars::AWS_ROLE_ARN),
    ) else {
        return Ok(None);
    };
    let session_name = ctx
        .env
        .get(envvars::AWS_ROLE_SESSION_NAME)
        .unwrap_or_else(|| "claude-auth".to_string());
    Ok(Some(Found {
        link: Link::WebIdentity(WebIdentity {
            token_file: PathBuf::from(token_file),
            role_arn,
            session_name,
        }),
        source: format!("env:{}", envvars::AWS_WEB_IDENTITY_TOKEN_FILE),
        description: "web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN; the role is \
                      assumed when used)"
            .to_string(),
    }))
}

/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on 169.254.170.2) or
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
fn container_link(env: &Env) -> Option<Container> {
    let url = match env.get(envvars::AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) {
        Some(relative) => format!("http://169.254.170.2{relative}"),
        None => env.get(envvars::AWS_CONTAINER_CREDENTIALS_FULL_URI)?,
    };
    Some(Container {
        url,
        token: env
            .get(envvars::AWS_CONTAINER_AUTHORIZATION_TOKEN)
            .map(Secret::from),
        token_file: env
            .get(envvars::AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)
            .map(PathBuf::from),
    })
}

fn container(ctx: &Context, _: &Lazy) -> Result<Option<Found>, AuthError> {
    Ok(container_link(&ctx.env).map(|c| Found {
        link: Link::Container(c),
        source: "container".to_string(),
        description: "ECS/EKS container credentials (AWS_CONTAINER_CREDENTIALS_*; fetched when \
                      used)"
            .to_string(),
    }))
}

/// `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else `http://169.254.169.254`.
fn imds_endpoint(env: &Env) -> String {
    env.get(envvars::AWS_EC2_METADATA_SERVICE_ENDPOINT)
        .unwrap_or_else(|| "http://169.254.169.254".to_string())
}

/// EC2 instance metadata: only when its endpoint is set (offline there is no telling whether
/// this is an EC2 instance) and not disabled.
fn imds(ctx: &Context, _: &Lazy) -> Result<Option<Found>, AuthError> {
    if truthy(&ctx.env, envvars::AWS_EC2_METADATA_DISABLED)
        || ctx
            .env
            .get(envvars::AWS_EC2_METADATA_SERVICE_ENDPOINT)
            .is_none()
    {
        return Ok(None);
    }
    Ok(Some(Found {
        link: Link::Imds(imds_endpoint(&ctx.env)),
        source: "imds".to_string(),
        description: "the EC2 instance role (IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT; \
                      fetched when used)"
            .to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_safe_refuses_newlines_without_echoing() {
        let err = header_safe("abc\ndef", "X").unwrap_err();
        assert!(!err.message().contains("abc"));
        assert!(header_safe("a/b+c=", "X").is_ok());
    }
}
