//! Which AWS credential Bedrock uses, first found wins: a Bedrock API key
//! (`AWS_BEARER_TOKEN_BEDROCK`), access keys in the environment, or a profile of the
//! shared credentials file.

use crate::envvars::{self, Env};
use crate::error::AuthError;
use crate::secret::{Fingerprint, Secret};
use std::path::PathBuf;

/// How the request is authenticated.
pub(crate) enum Auth {
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
}

/// A usable credential and where it came from.
pub(crate) struct Found {
    pub auth: Auth,
    /// `env:AWS_BEARER_TOKEN_BEDROCK`, `env:AWS_ACCESS_KEY_ID`, `profile:NAME`.
    pub source: String,
    pub description: String,
}

impl Found {
    /// The bearer token's or the access key id's fingerprint; never the secret key's.
    pub fn fingerprint(&self) -> Fingerprint {
        match &self.auth {
            Auth::Bearer(token) => Fingerprint::of(token.expose()),
            Auth::Keys(keys) => Fingerprint::of(&keys.access_key_id),
        }
    }
}

/// The credential in force and the sources present that it shadows.
pub(crate) struct Resolution {
    pub found: Found,
    pub shadowed: Vec<String>,
}

type Lookup = fn(&Env) -> Result<Option<Found>, AuthError>;

/// Looks at the three sources in order. A broken source stops the search only when it would
/// have been used; after the winner it is simply not listed as shadowed.
///
/// # Errors
/// `config_error` for half an access key pair, a missing named profile or an unreadable
/// file; `not_authenticated` when there is no credential at all.
pub(crate) fn resolve(env: &Env) -> Result<Resolution, AuthError> {
    let lookups: [Lookup; 3] = [bearer, env_keys, profile];
    let mut winner: Option<Found> = None;
    let mut shadowed = Vec::new();
    for lookup in lookups {
        match (lookup(env), &winner) {
            (Ok(Some(found)), None) => winner = Some(found),
            (Ok(Some(found)), Some(_)) => shadowed.push(found.source),
            (Err(err), None) => return Err(err),
            _ => {}
        }
    }
    let found = winner.ok_or_else(|| {
        AuthError::not_authenticated("no AWS credentials for Bedrock").with_hint(
            "set AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key), or AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or add a profile to ~/.aws/credentials (`aws configure`) \
             and select it with AWS_PROFILE",
        )
    })?;
    Ok(Resolution { found, shadowed })
}

fn bearer(env: &Env) -> Result<Option<Found>, AuthError> {
    let Some(token) = env.get(envvars::AWS_BEARER_TOKEN_BEDROCK).map(Secret::from) else {
        return Ok(None);
    };
    header_safe(token.expose(), envvars::AWS_BEARER_TOKEN_BEDROCK)?;
    Ok(Some(Found {
        auth: Auth::Bearer(token),
        source: format!("env:{}", envvars::AWS_BEARER_TOKEN_BEDROCK),
        description: "the AWS_BEARER_TOKEN_BEDROCK environment variable (a Bedrock API key)"
            .to_string(),
    }))
}

fn env_keys(env: &Env) -> Result<Option<Found>, AuthError> {
    let id = env.get(envvars::AWS_ACCESS_KEY_ID);
    let secret = env.get(envvars::AWS_SECRET_ACCESS_KEY).map(Secret::from);
    let token = env.get(envvars::AWS_SESSION_TOKEN).map(Secret::from);
    let (id, secret) = match (id, secret) {
        (None, None) => return Ok(None),
        (Some(id), Some(secret)) => (id, secret),
        (Some(_), None) => return Err(half_pair("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
        (None, Some(_)) => return Err(half_pair("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")),
    };
    let description = if token.is_some() {
        "the AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN environment variables"
    } else {
        "the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables"
    };
    let keys = AccessKeys::checked(id, secret, token, "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN")?;
    Ok(Some(Found {
        auth: Auth::Keys(keys),
        source: format!("env:{}", envvars::AWS_ACCESS_KEY_ID),
        description: description.to_string(),
    }))
}

fn half_pair(set: &str, missing: &str) -> AuthError {
    AuthError::config(format!("{set} is set but {missing} is not")).with_hint(format!(
        "export both {set} and {missing}, or unset {set} to use a profile from the shared \
         credentials file"
    ))
}

impl AccessKeys {
    /// Keys whose id and token can travel in HTTP headers.
    fn checked(
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
        })
    }
}

/// Refuses a value that would break (or inject) an HTTP header, without showing it.
fn header_safe(value: &str, name: &str) -> Result<(), AuthError> {
    if value.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(());
    }
    Err(AuthError::config(format!(
        "{name} holds spaces, control or non-ASCII characters and cannot be sent in an HTTP header"
    ))
    .with_hint(format!(
        "set {name} again from the original value (a stray newline or quote is the usual cause)"
    )))
}

/// The shared credentials file: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
fn credentials_file(env: &Env) -> PathBuf {
    let home = || env.home().unwrap_or_else(|| PathBuf::from("."));
    match env.get(envvars::AWS_SHARED_CREDENTIALS_FILE) {
        Some(path) => match path.strip_prefix("~/") {
            Some(rest) => home().join(rest),
            None => PathBuf::from(path),
        },
        None => home().join(".aws").join("credentials"),
    }
}

fn profile(env: &Env) -> Result<Option<Found>, AuthError> {
    let named = env.get(envvars::AWS_PROFILE);
    let name = named.clone().unwrap_or_else(|| "default".to_string());
    let path = credentials_file(env);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => Secret::from(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && named.is_none() => {
            return Ok(None)
        }
        Err(err) => {
            return Err(AuthError::config(format!(
                "cannot read the AWS credentials file {} (for profile {name})",
                path.display()
            ))
            .caused_by(err)
            .with_hint(
                "check AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE, or run `aws configure`",
            ))
        }
    };
    // Like ssh with keys: a credentials file others can read is refused, not used.
    crate::storage::atomic::check_private(&path).map_err(|err| {
        AuthError::config(format!("the AWS credentials file: {}", err.message()))
            .with_hint(err.hint().unwrap_or_default().to_string())
    })?;
    let sections = parse_ini(text.expose());
    let where_ = format!("profile {name} in {}", path.display());
    let Some(found) = lookup(&sections, &name) else {
        if named.is_none() {
            return Ok(None);
        }
        return Err(missing_profile(&sections, &where_, &name));
    };
    let (Some(id), Some(secret)) = (found.0, found.1) else {
        return Err(AuthError::config(format!(
            "{where_} has no aws_access_key_id and aws_secret_access_key"
        ))
        .with_hint(format!(
            "SSO, role and process profiles are not read here: export their credentials \
             (`aws configure export-credentials --profile {name} --format env`) or run \
             `aws configure --profile {name}`"
        )));
    };
    let keys = AccessKeys::checked(
        id.expose().clone(),
        secret,
        found.2,
        "aws_access_key_id",
        "aws_session_token",
    )?;
    Ok(Some(Found {
        auth: Auth::Keys(keys),
        source: format!("profile:{name}"),
        description: where_,
    }))
}

fn missing_profile(sections: &[Section], where_: &str, name: &str) -> AuthError {
    let mut names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let found = if names.is_empty() {
        "the file has no profiles".to_string()
    } else {
        format!("profiles found: {}", names.join(", "))
    };
    AuthError::config(format!("{where_} does not exist ({found})")).with_hint(format!(
        "set AWS_PROFILE to one of the profiles found, or add [{name}] with `aws configure \
         --profile {name}`"
    ))
}

/// One `[name]` section; values are wrapped as they are read.
struct Section {
    name: String,
    values: Vec<(String, Secret<String>)>,
}

type ProfileKeys = (
    Option<Secret<String>>,
    Option<Secret<String>>,
    Option<Secret<String>>,
);

/// Access key id, secret key and session token of profile `name` (later lines win), or
/// `None` when there is no such section.
fn lookup(sections: &[Section], name: &str) -> Option<ProfileKeys> {
    let mut matching = sections.iter().filter(|s| s.name == name).peekable();
    matching.peek()?;
    let mut keys: ProfileKeys = (None, None, None);
    for (key, value) in matching.flat_map(|s| &s.values) {
        let slot = match key.as_str() {
            "aws_access_key_id" => &mut keys.0,
            "aws_secret_access_key" => &mut keys.1,
            "aws_session_token" => &mut keys.2,
            _ => continue,
        };
        *slot = Some(value.clone()).filter(|v| !v.expose().is_empty());
    }
    Some(keys)
}

/// The INI dialect of `~/.aws/credentials`: `[name]` sections, `key = value` lines, `#` and
/// `;` comments, and indented sub-properties under an empty `key =` (skipped).
fn parse_ini(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut nested = false;
    for raw in text.lines() {
        let indented = raw.starts_with([' ', '\t']);
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push(Section {
                name: name.trim().to_string(),
                values: Vec::new(),
            });
            nested = false;
            continue;
        }
        if indented && nested {
            continue;
        }
        let (Some(section), Some((key, value))) = (sections.last_mut(), line.split_once('='))
        else {
            continue;
        };
        let value = strip_comment(value).trim();
        nested = value.is_empty();
        section.values.push((
            key.trim().to_ascii_lowercase(),
            Secret::from(value.to_string()),
        ));
    }
    sections
}

/// `value ; comment` → `value`: a comment starts at `#` or `;` after whitespace.
fn strip_comment(value: &str) -> &str {
    let mut previous_blank = false;
    for (at, c) in value.char_indices() {
        if previous_blank && (c == '#' || c == ';') {
            return &value[..at];
        }
        previous_blank = c.is_whitespace();
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# comment\n[default]\naws_access_key_id = AKIDDEFAULT000000000\n\
        aws_secret_access_key=secret/+default ; a comment\ns3 =\n  max_concurrent_requests = 2\n\
        \n[dev]\naws_access_key_id=AKIDDEV\naws_secret_access_key = devsecret\n\
        aws_session_token = tok==\n";

    #[test]
    fn ini_reads_sections_keys_and_strips_comments() {
        let sections = parse_ini(FILE);
        let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["default", "dev"]);
        let (id, secret, token) = lookup(&sections, "default").unwrap();
        assert_eq!(id.unwrap().expose(), "AKIDDEFAULT000000000");
        assert_eq!(secret.unwrap().expose(), "secret/+default");
        assert!(token.is_none());
        assert!(!sections[0]
            .values
            .iter()
            .any(|(k, _)| k == "max_concurrent_requests"));
        let (_, _, token) = lookup(&sections, "dev").unwrap();
        assert_eq!(token.unwrap().expose(), "tok==");
        assert!(lookup(&sections, "prod").is_none());
    }

    #[test]
    fn header_safe_refuses_newlines_without_echoing() {
        let err = header_safe("abc\ndef", "X").unwrap_err();
        assert!(!err.message().contains("abc"));
        assert!(header_safe("a/b+c=", "X").is_ok());
    }
}
