//! OpenID Connect: discovery (whose `issuer` must be the configured one) and ID token
//! verification (signature from the JWKS, `iss`, `aud`, `exp`, `nonce`).

use super::ProviderSettings;
use crate::error::AuthError;
use crate::http::{self, Budget};
use crate::redact::SafeUrl;
use crate::terminal_text::single_line;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Client, StatusCode, Url};
use serde::Deserialize;

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    revocation_endpoint: Option<String>,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// The claims of a verified ID token that the product uses.
#[derive(Debug, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub email: Option<String>,
    nonce: Option<String>,
}

/// Replaces `settings`' endpoints with those of its issuer's discovery document.
///
/// # Errors
/// `oauth_error` when the document's `issuer` differs from the configured one (mix-up
/// defence) or it lacks endpoints; `config_error` for insecure URLs; network errors.
pub async fn discover(
    client: &Client,
    settings: &mut ProviderSettings,
    budget: Budget,
) -> Result<(), AuthError> {
    let Some(issuer) = settings.issuer.clone() else {
        return Ok(());
    };
    let issuer_url = Url::parse(&issuer).map_err(|e| {
        AuthError::config(format!("the issuer `{issuer}` is not a URL")).caused_by(e)
    })?;
    http::require_secure(&issuer_url, &format!("`{}.issuer`", settings.config_path))?;
    let url: SafeUrl = Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
    .map_err(|e| AuthError::config("bad discovery URL").caused_by(e))?
    .into();
    let setting = format!("`{}.issuer`", settings.config_path);
    let call = http::Call {
        url: &url,
        setting: &setting,
        service: "the OpenID provider",
        budget,
        retry: http::Retry::Transient,
    };
    let reply = http::get(client, &call, &[]).await?;
    if reply.status != StatusCode::OK {
        return Err(AuthError::new(
            crate::error::ErrorCode::OauthError,
            format!("{} answered HTTP {}", url, reply.status.as_u16()),
        )
        .with_hint(format!(
            "check `{}.issuer` (or compliance.ssoIntegration.domain)",
            settings.config_path
        )));
    }
    let doc: Discovery = serde_json::from_slice(&reply.body).map_err(|_| {
        AuthError::provider(format!(
            "{} is not an OpenID Connect discovery document",
            url
        ))
    })?;
    if doc.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(AuthError::new(
            crate::error::ErrorCode::OauthError,
            // The document's issuer is compared as sent, but quoted as one inert line: a
            // newline in it would print a line of the server's choosing.
            format!(
                "the discovery document names issuer `{}`, not the configured `{}`; refusing it",
                single_line(&doc.issuer),
                single_line(&issuer)
            ),
        )
        .with_hint("an issuer mismatch can mean a mix-up attack; check the issuer URL"));
    }
    let endpoint = |text: &str, what: &str| -> Result<Url, AuthError> {
        let url = Url::parse(text)
            .map_err(|e| AuthError::provider(format!("discovery: bad {what}")).caused_by(e))?;
        http::require_secure(&url, &format!("the issuer's {what}"))?;
        Ok(url)
    };
    settings.auth_url = endpoint(&doc.authorization_endpoint, "authorization_endpoint")?;
    settings.token_url = endpoint(&doc.token_endpoint, "token_endpoint")?;
    settings.revocation_url = match &doc.revocation_endpoint {
        Some(text) => Some(endpoint(text, "revocation_endpoint")?),
        None => settings.revocation_url.take(),
    };
    settings.jwks_uri = Some(endpoint(&doc.jwks_uri, "jwks_uri")?);
    // Optional, and only for a name to show: an unusable one is dropped, not an error.
    settings.userinfo_url = doc
        .userinfo_endpoint
        .as_deref()
        .and_then(|text| endpoint(text, "userinfo_endpoint").ok());
    settings.iss_on_callback = doc.authorization_response_iss_parameter_supported;
    if !settings.scopes.iter().any(|s| s == "openid") {
        settings.scopes.insert(0, "openid".to_string());
    }
    if !settings.scopes.iter().any(|s| s == "email") {
        settings.scopes.push("email".to_string());
    }
    Ok(())
}

/// Verifies `id_token` against the issuer's keys and the login's `nonce`.
///
/// # Errors
/// `oauth_error` naming what failed (signature, issuer, audience, expiry, nonce).
pub async fn verify(
    client: &Client,
    settings: &ProviderSettings,
    id_token: &str,
    nonce: &str,
    budget: Budget,
) -> Result<IdClaims, AuthError> {
    let invalid = |what: String| {
        AuthError::new(
            crate::error::ErrorCode::OauthError,
            format!("the ID token was rejected: {what}"),
        )
        .with_hint("log in again; if it persists, check the clock and the issuer configuration")
    };
    let (Some(issuer), Some(jwks_uri)) = (&settings.issuer, &settings.jwks_uri) else {
        return Err(invalid("no issuer keys are known".into()));
    };
    let header =
        jsonwebtoken::decode_header(id_token).map_err(|_| invalid("it is not a JWT".into()))?;
    let allowed = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    if !allowed.contains(&header.alg) {
        return Err(invalid(format!(
            "signature algorithm {:?} is not accepted",
            header.alg
        )));
    }
    let setting = format!("`{}.issuer` (its jwks_uri)", settings.config_path);
    let jwks_uri = SafeUrl::from(jwks_uri.clone());
    let call = http::Call {
        url: &jwks_uri,
        setting: &setting,
        service: "the OpenID provider",
        budget,
        retry: http::Retry::Transient,
    };
    let reply = http::get(client, &call, &[]).await?;
    let keys: JwkSet = serde_json::from_slice(&reply.body)
        .map_err(|_| invalid("the issuer's JWKS is not valid".into()))?;
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None => keys.keys.first(),
    }
    .ok_or_else(|| invalid("no key in the issuer's JWKS matches it".into()))?;
    if !well_formed(jwk) {
        return Err(invalid(
            "the issuer's key has the wrong size for its type".into(),
        ));
    }
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| invalid("the issuer's key cannot be used".into()))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer.trim_end_matches('/'), issuer.as_str()]);
    validation.set_audience(&[&settings.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 60;
    let data = jsonwebtoken::decode::<IdClaims>(id_token, &key, &validation)
        .map_err(|err| invalid(describe(&err)))?;
    if data.claims.nonce.as_deref() != Some(nonce) {
        return Err(invalid("its nonce does not match this login".into()));
    }
    Ok(data.claims)
}

/// Whether a key from the issuer has the sizes its type demands. The JWKS is hostile input
/// and the verifier slices key bytes without checking (an Ed25519 `x` shorter than 32 bytes
/// panics inside jsonwebtoken), so sizes are checked first.
fn well_formed(jwk: &jsonwebtoken::jwk::Jwk) -> bool {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    /// Unpadded base64url of exactly `bytes` bytes.
    fn b64_len(text: &str, bytes: usize) -> bool {
        let text = text.trim_end_matches('=');
        text.len() == (bytes * 4).div_ceil(3)
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
    match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(okp) => {
            okp.curve == EllipticCurve::Ed25519 && b64_len(&okp.x, 32)
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let size = match ec.curve {
                EllipticCurve::P256 => 32,
                EllipticCurve::P384 => 48,
                _ => return false,
            };
            b64_len(&ec.x, size) && b64_len(&ec.y, size)
        }
        // 2048-bit moduli and up (342+ characters), a small public exponent.
        AlgorithmParameters::RSA(rsa) => {
            rsa.n.len() >= 342 && !rsa.e.is_empty() && rsa.e.len() <= 8
        }
        _ => false,
    }
}

fn describe(err: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::InvalidSignature => "bad signature".into(),
        ErrorKind::ExpiredSignature => "it has expired".into(),
        ErrorKind::InvalidIssuer => "wrong issuer".into(),
        ErrorKind::InvalidAudience => "wrong audience (not issued to this client)".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("claim `{claim}` is missing"),
        ErrorKind::ImmatureSignature => "it is not valid yet (clock skew?)".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(json: &str) -> jsonwebtoken::jwk::Jwk {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn keys_of_the_wrong_size_are_not_used() {
        let x32 = "A".repeat(43);
        let x48 = "B".repeat(64);
        assert!(well_formed(&jwk(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{x32}"}}"#
        ))));
        assert!(!well_formed(&jwk(
            r#"{"kty":"OKP","crv":"Ed25519","x":""}"#
        )));
        assert!(!well_formed(&jwk(
            r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#
        )));
        assert!(well_formed(&jwk(&format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{x32}","y":"{x32}"}}"#
        ))));
        assert!(!well_formed(&jwk(&format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{x32}","y":""}}"#
        ))));
        assert!(well_formed(&jwk(&format!(
            r#"{{"kty":"EC","crv":"P-384","x":"{x48}","y":"{x48}"}}"#
        ))));
        assert!(!well_formed(&jwk(r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#)));
        let fixture: jsonwebtoken::jwk::JwkSet =
            serde_json::from_str(include_str!("../../tests/fixtures/oidc-test-jwks.json")).unwrap();
        assert!(well_formed(&fixture.keys[0]));
    }
}

/// The largest UserInfo answer read: a few claims, not a document.
const MAX_USERINFO_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    email: Option<String>,
}

/// The account's email from the provider's UserInfo endpoint (OpenID Connect Core §5.3),
/// asked with the new access token when the ID token named none. Only an answer about the
/// same subject counts (§5.3.2: its `sub` must equal the ID token's). Best effort: any
/// failure leaves the account as it was, with a `-v` line saying why.
pub async fn userinfo_email(
    client: &Client,
    settings: &ProviderSettings,
    token: &crate::secret::AccessToken,
    sub: &str,
    budget: Budget,
) -> Option<String> {
    let url: SafeUrl = settings.userinfo_url.clone()?.into();
    let setting = format!(
        "the `userinfo_endpoint` of `{}.issuer`",
        settings.config_path
    );
    let call = http::Call {
        url: &url,
        setting: &setting,
        service: "the OpenID provider",
        budget,
        retry: http::Retry::Transient,
    };
    let bearer = crate::secret::bearer_header(token.secret())?;
    let reply = match http::get(client, &call, &[(reqwest::header::AUTHORIZATION, bearer)]).await {
        Ok(reply) => reply,
        Err(err) => {
            crate::events::detail(&format!("no email from {url}: {}", err.message()));
            return None;
        }
    };
    if reply.status != StatusCode::OK || reply.body.len() > MAX_USERINFO_BYTES {
        crate::events::detail(&format!(
            "no email from {url}: HTTP {}",
            reply.status.as_u16()
        ));
        return None;
    }
    let info: UserInfo = serde_json::from_slice(&reply.body).ok()?;
    if info.sub != sub {
        crate::events::detail(&format!(
            "{url} answered about another subject; its email is not used"
        ));
        return None;
    }
    info.email
}
