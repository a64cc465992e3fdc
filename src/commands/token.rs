//! `--print-token`: the access token (refreshed first when needed) or API key in force, on
//! stdout, for another program (`curl -H "Authorization: Bearer $(claude --print-token)"`).

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
    /// How to send it: `oauth-access-token`, `api-key`, `google-access-token`,
    /// `bedrock-bearer-token`, `aws-credential-process` (the `Version: 1` JSON).
    pub kind: &'static str,
    /// Where it comes from, as in `--auth-status`.
    pub source: String,
}

impl Report for Token {
    /// The secret alone, so that `$(claude --print-token)` is the credential.
    fn text(&self) -> String {
        self.token.expose().clone()
    }
}

/// The secret in the document: the user asked for it on stdout.
fn exposed<S: Serializer>(token: &Secret<String>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(token.expose())
}

impl Token {
    fn outcome(token: &Secret<String>, kind: &'static str, source: String) -> Outcome {
        Outcome::report(&Token {
            token: token.clone(),
            kind,
            source,
        })
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
    // Policy first: no credential leaves for a region the policy forbids.
    crate::policy::compliance::enforce(ctx)?;
    if format == Some("aws-credential-process") {
        if provider.is_some()
            || crate::providers::active(ctx) != crate::config::schema::Provider::Bedrock
        {
            return Err(AuthError::usage(
                "`--format aws-credential-process` needs Bedrock as the provider",
            )
            .with_hint("set CLAUDE_CODE_USE_BEDROCK=1 or `provider: bedrock` in the config"));
        }
        let http = ctx.http()?;
        let (json, source) = crate::providers::bedrock::credential_process_json(ctx, http).await?;
        return Ok(Token::outcome(&json, "aws-credential-process", source));
    }
    if let Some(provider) = provider {
        crate::mfa::gate::session_fresh(ctx, provider)?;
        let (token, _) = refresh::access_token(ctx, provider).await?;
        return Ok(Token::outcome(
            token.secret(),
            "oauth-access-token",
            format!("oauth:{provider}"),
        ));
    }
    match crate::providers::active(ctx) {
        crate::config::schema::Provider::Vertex => {
            let http = ctx.http()?;
            let token = crate::providers::vertex::access_token(ctx, http).await?;
            return Ok(Token::outcome(
                &token,
                "google-access-token",
                "vertex".to_string(),
            ));
        }
        crate::config::schema::Provider::Bedrock => {
            if let Some(token) = ctx.env.get(crate::envvars::AWS_BEARER_TOKEN_BEDROCK) {
                return Ok(Token::outcome(
                    &Secret::new(token.clone()),
                    "bedrock-bearer-token",
                    "env:AWS_BEARER_TOKEN_BEDROCK".to_string(),
                ));
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
            _ => {
                let (key, source, _) = resolve::active_key(ctx)?;
                // Never hand another program something that cannot be a key.
                let key = crate::apikey::ApiKey::parse(key)?.secret().clone();
                (key, source, "api-key")
            }
        },
        None => {
            return Err(resolution.into_error(ctx, resolve::no_credential(": nothing to print")));
        }
    };
    ctx.detail(&format!("printing the {kind} from {}", source.describe()));
    // The one place a secret is written to stdout on purpose: the user asked for it.
    Ok(Token::outcome(&secret, kind, source.to_string()))
}
