//! Puts the credential on a Bedrock request: `Authorization: Bearer` for an API key, an AWS
//! Signature Version 4 over the exact method, URL and host sent for access keys.

use super::credentials::{AccessKeys, Auth};
use crate::error::AuthError;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{Client, RequestBuilder, Url};
use std::time::SystemTime;

/// The signing name of the Bedrock control plane.
pub const SERVICE: &str = "bedrock";

/// A `GET url` request carrying `auth`, signed at `now` for `region`.
///
/// # Errors
/// `internal` when the request cannot be signed (never showing a secret).
pub(super) fn get(
    client: &Client,
    url: &Url,
    auth: &Auth,
    region: &str,
    now: SystemTime,
) -> Result<RequestBuilder, AuthError> {
    let request = client.get(url.clone());
    match auth {
        Auth::None => Ok(request),
        Auth::Bearer(token) => {
            let value = crate::secret::bearer_header(token).ok_or_else(cannot_sign)?;
            Ok(request.header(AUTHORIZATION, value))
        }
        Auth::Keys(keys) => {
            let mut request = request;
            for (name, value) in sigv4_headers("GET", url, &[], keys, region, SERVICE, now)? {
                request = request.header(name, value);
            }
            Ok(request)
        }
    }
}

/// The headers SigV4 adds (`x-amz-date`, `authorization`, `x-amz-security-token`) for a
/// request to `service` with `body` and no signed headers of its own but `host`, which the
/// signer takes from the URL as hyper sends it (no default port).
pub(super) fn sigv4_headers(
    method: &str,
    url: &Url,
    body: &[u8],
    keys: &AccessKeys,
    region: &str,
    service: &str,
    now: SystemTime,
) -> Result<Vec<(HeaderName, HeaderValue)>, AuthError> {
    let request = Signable {
        method,
        url,
        headers: &[],
        body,
    };
    sigv4_headers_for(&request, keys, region, service, now)
}

/// What SigV4 signs: the method, the URL (its host signed as `host`), headers of the
/// caller's own that must be signed too, and the body.
pub(crate) struct Signable<'a> {
    pub method: &'a str,
    pub url: &'a Url,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// [`sigv4_headers`] for a request that signs headers of its own (Google's AWS-sourced
/// workload identity signs `x-goog-cloud-target-resource`).
///
/// # Errors
/// `internal` when the request cannot be signed (never showing a secret).
pub(crate) fn sigv4_headers_for(
    request: &Signable<'_>,
    keys: &AccessKeys,
    region: &str,
    service: &str,
    now: SystemTime,
) -> Result<Vec<(HeaderName, HeaderValue)>, AuthError> {
    let identity: Identity = Credentials::new(
        keys.access_key_id.as_str(),
        keys.secret_access_key.expose().as_str(),
        keys.session_token.as_ref().map(|t| t.expose().clone()),
        None,
        "claude-auth",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| cannot_sign())?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.url.as_str(),
        request.headers.iter().copied(),
        SignableBody::Bytes(request.body),
    )
    .map_err(|_| cannot_sign())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|_| cannot_sign())?
        .into_parts();
    let (headers, _query) = instructions.into_parts();
    headers
        .iter()
        .map(|header| {
            let name = HeaderName::from_static(header.name());
            let value = if header.name() == "x-amz-date" {
                HeaderValue::from_str(header.value()).map_err(|_| cannot_sign())?
            } else {
                sensitive(header.value())?
            };
            Ok((name, value))
        })
        .collect()
}

/// A header value hidden from `Debug` and HTTP/2 indexing, for values that carry or derive
/// from a secret.
fn sensitive(text: &str) -> Result<HeaderValue, AuthError> {
    let mut value = HeaderValue::from_str(text).map_err(|_| cannot_sign())?;
    value.set_sensitive(true);
    Ok(value)
}

// The signer's errors are not shown: some describe header values, which could be secrets.
fn cannot_sign() -> AuthError {
    AuthError::internal("cannot sign the AWS request with the AWS credentials").with_hint(
        "check that the access key id and session token hold only printable ASCII characters",
    )
}
