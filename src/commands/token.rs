//! `--print-token`: the access token (refreshed first when needed) or API key in force, on
//! stdout, for another program (`curl -H "Authorization: Bearer $(claude --print-token)"`).
//! `--format apikeyhelper` prints what Claude Code's `apiKeyHelper` reads (the key alone);
//! `--format env` prints an `export` line, shell-quoted, naming the variable Claude Code
//! reads for that kind of credential.

use crate::context::Context;
use crate::error::AuthError;
use crate::oauth::refresh;
use crate::output::{Outcome, Report};
use crate::resolve::{self, Source};
use crate::secret::Secret;
use serde::{Serialize, Serializer};

/// `--print-token`'s result: the one report that holds a secret, because printing it is
/// the command's purpose.
#[derive(Serialize)]
pub struct Token {
    #[serde(serialize_with = "exposed")]
    pub token: Secret<String>,
    /// How to send it: `oauth-access-token`, `api-key`, `bearer-token`,
    /// `google-access-token`, `bedrock-bearer-token`, `aws-credential-process` (the
    /// `Version: 1` JSON).
    pub kind: &'static str,
    /// Where it comes from, as in `--auth-status`.
    pub source: String,
    /// `plain`, `apikeyhelper`, `env` or `aws-credential-process`.
    pub format: &'static str,
}

impl Report for Token {
    /// The secret alone, so that `$(claude --print-token)` is the credential; with
    /// `--format env`, `export NAME='…'`.
    fn text(&self) -> String {
        match (self.format, variable(self.kind)) {
            ("env", Some(name)) => format!("export {name}={}", shell_quote(self.token.expose())),
            _ => self.token.expose().clone(),
        }
    }
}

/// The variable another program reads a credential of `kind` from.
fn variable(kind: &str) -> Option<&'static str> {
    match kind {
        "api-key" => Some(crate::envvars::ANTHROPIC_API_KEY),
        "bearer-token" => Some(crate::envvars::ANTHROPIC_AUTH_TOKEN),
        "oauth-access-token" => Some(crate::envvars::CLAUDE_CODE_OAUTH_TOKEN),
        "bedrock-bearer-token" => Some(crate::envvars::AWS_BEARER_TOKEN_BEDROCK),
        _ => None,
    }
}

/// `value` in single quotes for a POSIX shell (`'` as `'\''`).
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Whether `format` can carry a credential of `kind`; the usage error when it cannot.
fn check_format(format: &str, kind: &str) -> Result<(), AuthError> {
    match format {
        "apikeyhelper" if kind == "oauth-access-token" => Err(AuthError::usage(
            "the credential in force is an OAuth access token: Claude Code's `apiKeyHelper` sends its output as an API key",
        )
        .with_hint("give Claude Code the token as CLAUDE_CODE_OAUTH_TOKEN instead: `eval \"$(claude --print-token --format env)\"`")),
        "apikeyhelper" if !matches!(kind, "api-key" | "bearer-token") => Err(AuthError::usage(format!(
            "`--format apikeyhelper` prints an Anthropic API key, and the credential in force is a {kind}"
        ))
        .with_hint("use `--format plain`")),
        "env" if variable(kind).is_none() => Err(AuthError::usage(format!(
            "no environment variable carries a {kind} for Claude Code"
        ))
        .with_hint("use `--format plain`")),
        "aws-credential-process" => Err(AuthError::usage(
            "`--format aws-credential-process` needs Bedrock as the provider",
        )
        .with_hint("set CLAUDE_CODE_USE_BEDROCK=1 or `provider: bedrock` in the config")),
        _ => Ok(()),
    }
}

/// The secret in the document: the user asked for it on stdout.
fn exposed<S: Serializer>(token: &Secret<String>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(token.expose())
}

/// The output format, from `--format` (`plain` when absent).
fn format_name(format: Option<&str>) -> &'static str {
    match format {
        Some("apikeyhelper") => "apikeyhelper",
        Some("env") => "env",
        Some("aws-credential-process") => "aws-credential-process",
        _ => "plain",
    }
}

/// Prints the credential in force.
///
/// # Errors
/// `not_authenticated`, `expired_token`, refresh and storage errors.
pub async fn print(
    ctx: &Context,
    provider: Option<&str>,
    format: Option<&str>,
) -> Result<Outcome, AuthError> {
    let format = format_name(format);
    let outcome = |token: &Secret<String>, kind: &'static str, source: String| {
        check_format(format, kind)?;
        Ok(Outcome::report(&Token {
            token: token.clone(),
            kind,
            source,
            format,
        }))
    };
    // Policy first: no credential leaves for a region the policy forbids.
    crate::policy::compliance::enforce(ctx)?;
    if format == "aws-credential-process" {
        if provider.is_some()
            || crate::providers::active(ctx) != crate::config::schema::Provider::Bedrock
        {
            return Err(check_format(format, "").unwrap_err());
        }
        let http = ctx.http()?;
        let (json, source) = crate::providers::bedrock::credential_process_json(ctx, http).await?;
        return Ok(Outcome::report(&Token {
            token: json,
            kind: "aws-credential-process",
            source,
            format,
        }));
    }
    if let Some(provider) = provider {
        crate::mfa::gate::session_fresh(ctx, provider)?;
        let (token, _) = refresh::access_token(ctx, provider).await?;
        return outcome(
            token.secret(),
            "oauth-access-token",
            format!("oauth:{provider}"),
        );
    }
    match crate::providers::active(ctx) {
        crate::config::schema::Provider::Vertex => {
            let http = ctx.http()?;
            let token = crate::providers::vertex::access_token(ctx, http).await?;
            return outcome(&token, "google-access-token", "vertex".to_string());
        }
        crate::config::schema::Provider::Bedrock => {
            if crate::providers::bedrock::auth_skipped(ctx) {
                return Err(crate::providers::bedrock::auth_skipped_error());
            }
            if let Some(token) = ctx.env.get(crate::envvars::AWS_BEARER_TOKEN_BEDROCK) {
                return outcome(
                    &Secret::new(token.clone()),
                    "bedrock-bearer-token",
                    "env:AWS_BEARER_TOKEN_BEDROCK".to_string(),
                );
            }
            return Err(AuthError::usage("Bedrock requests with AWS keys are signed per request (SigV4); there is no token to print")
                .with_hint("use the AWS credentials directly, or set AWS_BEARER_TOKEN_BEDROCK"));
        }
        crate::config::schema::Provider::Anthropic => {}
    }
    let resolution = resolve::credentials(ctx);
    let (secret, source, kind) = match resolution.active() {
        Some(candidate) => match &candidate.source {
            Source::Session(provider) => {
                crate::mfa::gate::session_fresh(ctx, provider)?;
                let (token, _) = refresh::access_token(ctx, provider).await?;
                (
                    token.secret().clone(),
                    candidate.source.clone(),
                    "oauth-access-token",
                )
            }
            source => {
                let (secret, source_of, _) = resolve::secret_of(ctx, candidate)?;
                match source.scheme() {
                    resolve::Scheme::ApiKey => {
                        // Never hand another program something that cannot be a key.
                        let key = crate::apikey::ApiKey::parse(secret)?.secret().clone();
                        (key, source_of, "api-key")
                    }
                    resolve::Scheme::Bearer => (secret, source_of, "bearer-token"),
                    resolve::Scheme::OAuth => (secret, source_of, "oauth-access-token"),
                }
            }
        },
        None => {
            return Err(
                resolution.into_error(ctx, resolve::no_credential(ctx, ": nothing to print"))
            );
        }
    };
    ctx.detail(&format!("printing the {kind} from {}", source.describe()));
    // The one place a secret is written to stdout on purpose: the user asked for it.
    outcome(&secret, kind, source.to_string())
}
