//! The `oauth2` crate's client, typed for this product: tokens with the extra fields we read
//! (`id_token`, `account`), public-client authentication, our HTTP transport and errors.

use super::ProviderSettings;
use crate::error::{AuthError, ErrorCode};
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, Client, ClientId, EndpointNotSet, EndpointSet, ExtraTokenFields,
    RedirectUrl, RequestTokenError, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Token response fields beyond RFC 6749 that the product reads.
#[derive(Clone, Deserialize, Serialize)]
pub struct Extras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
}

/// Anthropic's token responses name the account.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Account {
    #[serde(default, alias = "email")]
    pub email_address: Option<String>,
}

impl fmt::Debug for Extras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extras")
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("account", &self.account)
            .finish()
    }
}

impl ExtraTokenFields for Extras {}

/// A token endpoint's answer.
pub type TokenResponse = StandardTokenResponse<Extras, BasicTokenType>;

/// oauth2's client with this crate's response types; `Auth` and `Token` say whether the
/// authorization and token endpoints are set (the other three endpoints never are).
type ClientWith<Auth, Token> = Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    Auth,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    Token,
>;

type Base = ClientWith<EndpointNotSet, EndpointNotSet>;

/// A client for the authorization code flow.
pub type LoginClient = ClientWith<EndpointSet, EndpointSet>;

/// A client for refresh (no authorization endpoint needed).
pub type TokenClient = ClientWith<EndpointNotSet, EndpointSet>;

/// The client for a login that redirects to `redirect`.
pub fn login_client(settings: &ProviderSettings, redirect: &reqwest::Url) -> LoginClient {
    Base::new(ClientId::new(settings.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_auth_uri(AuthUrl::from_url(settings.auth_url.clone()))
        .set_token_uri(TokenUrl::from_url(settings.token_url.clone()))
        .set_redirect_uri(RedirectUrl::from_url(redirect.clone()))
}

/// The client for refreshing a session's tokens.
pub fn token_client(client_id: &str, token_url: &reqwest::Url) -> TokenClient {
    Base::new(ClientId::new(client_id.to_string()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::from_url(token_url.clone()))
}

/// Turns a token endpoint failure into the product's error; `invalid_grant` means the grant
/// is gone and the user must log in again. Server texts are not echoed: they may quote input.
pub fn token_error(
    err: RequestTokenError<AuthError, BasicErrorResponse>,
    provider: &str,
) -> AuthError {
    grant_error(err, provider, false)
}

/// Like [`token_error`] for the code exchange at login, where `invalid_grant` means the code
/// was refused (reused, expired, or the verifier did not match), not that a login expired.
pub fn code_error(
    err: RequestTokenError<AuthError, BasicErrorResponse>,
    provider: &str,
) -> AuthError {
    grant_error(err, provider, true)
}

fn grant_error(
    err: RequestTokenError<AuthError, BasicErrorResponse>,
    provider: &str,
    exchanging_code: bool,
) -> AuthError {
    let login = format!("run `claude --login --provider {provider}`");
    match err {
        RequestTokenError::ServerResponse(response) => match response.error() {
            BasicErrorResponseType::InvalidGrant if exchanging_code => AuthError::new(
                ErrorCode::OauthError,
                format!("the {provider} authorization server refused the authorization code (invalid_grant)"),
            )
            .with_hint(format!("the code may have expired or been used already; {login}")),
            BasicErrorResponseType::InvalidGrant => AuthError::new(
                ErrorCode::ExpiredToken,
                format!("the {provider} login has expired or was revoked (invalid_grant)"),
            )
            .with_hint(login),
            other => AuthError::new(
                ErrorCode::OauthError,
                // An unknown code is the server's own text: it could hold a line break and
                // a forged `hint:`, so it is reduced like the callback's and device flow's.
                format!(
                    "the {provider} authorization server refused the request ({})",
                    crate::redact::error_code(other.as_ref())
                ),
            )
            .with_hint(format!("check the `oauth` configuration, then {login}")),
        },
        RequestTokenError::Request(err) => err,
        RequestTokenError::Parse(..) => AuthError::provider(format!(
            "the {provider} token endpoint did not answer with a token response (JSON)"
        ))
        .with_hint("a proxy, captive portal or wrong `oauth.tokenEndpoint` is in the way"),
        RequestTokenError::Other(text) => AuthError::new(
            ErrorCode::OauthError,
            format!("the {provider} token endpoint failed: {text}"),
        )
        .with_hint(login),
    }
}
