//! `--print-token`: the access token (refreshed first when needed) or API key in force, on
//! stdout, for another program (`curl -H "Authorization: Bearer $(claude --print-token)"`).

use crate::context::Context;
use crate::error::AuthError;
use crate::oauth::refresh;
use crate::output::Outcome;
use crate::resolve::{self, Source};
use serde_json::json;

/// Prints the credential in force.
///
/// # Errors
/// `not_authenticated`, `expired_token`, refresh and storage errors.
pub async fn print(ctx: &Context, provider: Option<&str>) -> Result<Outcome, AuthError> {
    // Policy first: no credential leaves for a region the policy forbids.
    crate::policy::compliance::enforce(ctx)?;
    if let Some(provider) = provider {
        let (token, _) = refresh::access_token(ctx, provider).await?;
        let value = token.expose().clone();
        return Ok(Outcome::ok(
            value.clone(),
            json!({ "token": value, "kind": "oauth-access-token", "source": format!("oauth:{provider}") }),
        ));
    }
    match crate::providers::active(ctx) {
        crate::config::schema::Provider::Vertex => {
            let http = ctx.http()?;
            let token = crate::providers::vertex::access_token(ctx, http).await?;
            let value = token.expose().clone();
            return Ok(Outcome::ok(
                value.clone(),
                json!({ "token": value, "kind": "google-access-token", "source": "vertex" }),
            ));
        }
        crate::config::schema::Provider::Bedrock => {
            if let Some(token) = ctx.env.get(crate::envvars::AWS_BEARER_TOKEN_BEDROCK) {
                return Ok(Outcome::ok(
                    token.clone(),
                    json!({ "token": token, "kind": "bedrock-bearer-token", "source": "env:AWS_BEARER_TOKEN_BEDROCK" }),
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
    let value = secret.expose().clone();
    Ok(Outcome::ok(
        value.clone(),
        json!({ "token": value, "kind": kind, "source": source.to_string() }),
    ))
}
