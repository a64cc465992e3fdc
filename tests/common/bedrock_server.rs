//! A loopback stand-in for the Bedrock control plane that checks credentials the way AWS
//! does: a bearer token by value, a SigV4 signature by recomputing it with `aws-sigv4` from
//! the shared secret and the headers received.
//!
//! | route                                          | answer                                        |
//! |------------------------------------------------|-----------------------------------------------|
//! | `GET /foundation-models?byProvider=anthropic`  | 200 `{"modelSummaries":[…2 models…]}`         |
//! | `GET /foundation-models/{known model}`         | 200 `{"modelDetails":{…}}`                    |
//! | `GET /foundation-models/{other}`               | 404 `ResourceNotFoundException`               |
//! | wrong or missing bearer token                  | 403 `UnrecognizedClientException`             |
//! | unknown access key id or wrong session token   | 403 `UnrecognizedClientException`             |
//! | `x-amz-date` more than 5 minutes off           | 403 `InvalidSignatureException` (+ `Date`)    |
//! | signature that does not verify                 | 403 `InvalidSignatureException`               |
//!
//! Every answer carries a `Date` header and `x-amzn-ErrorType` on errors; error messages
//! echo what was sent, as careless servers do, so tests can prove they are never shown.
#![allow(dead_code)]

use super::servers::{Reply, Request, Server};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The model the stand-in knows.
pub const MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

/// What the stand-in accepts.
#[derive(Clone)]
pub enum Accept {
    Bearer(String),
    Keys {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        region: String,
    },
}

/// An AWS-style error: `x-amzn-ErrorType` and a JSON body whose message echoes `echo`.
pub fn aws_error(status: u16, kind: &str, echo: &str) -> Reply {
    Reply::json(
        status,
        &format!(r#"{{"message":"{kind}: received {echo}"}}"#),
    )
    .header(
        "x-amzn-ErrorType",
        &format!("{kind}:http://internal.amazon.com/coral/com.amazon.coral.service/"),
    )
    .header("Date", &httpdate::fmt_http_date(SystemTime::now()))
}

/// Starts the stand-in.
pub fn start(accept: Accept) -> Server {
    Server::start(move |req, _| {
        if let Err(reply) = authenticate(&accept, req) {
            return reply;
        }
        route(req)
    })
}

fn route(req: &Request) -> Reply {
    let date = httpdate::fmt_http_date(SystemTime::now());
    if req.method != "GET" {
        return aws_error(405, "ValidationException", &req.method);
    }
    if req.path == "/foundation-models?byProvider=anthropic" {
        return Reply::json(
            200,
            r#"{"modelSummaries":[{"modelId":"anthropic.claude-3-5-sonnet-20240620-v1:0","providerName":"Anthropic"},{"modelId":"anthropic.claude-3-haiku-20240307-v1:0","providerName":"Anthropic"}]}"#,
        )
        .header("Date", &date);
    }
    let encoded = MODEL.replace(':', "%3A");
    match req.path.strip_prefix("/foundation-models/") {
        Some(id) if id == MODEL || id == encoded => Reply::json(
            200,
            &format!(r#"{{"modelDetails":{{"modelId":"{MODEL}","modelLifecycle":{{"status":"ACTIVE"}}}}}}"#),
        )
        .header("Date", &date),
        _ => aws_error(404, "ResourceNotFoundException", &req.path),
    }
}

fn authenticate(accept: &Accept, req: &Request) -> Result<(), Reply> {
    let authorization = req.header("authorization").unwrap_or("");
    match accept {
        Accept::Bearer(token) => match authorization.strip_prefix("Bearer ") {
            Some(sent) if sent == token => Ok(()),
            _ => Err(aws_error(403, "UnrecognizedClientException", authorization)),
        },
        Accept::Keys { .. } => verify_sigv4(accept, req),
    }
}

/// Recomputes the signature from the request as received and the known secret.
fn verify_sigv4(accept: &Accept, req: &Request) -> Result<(), Reply> {
    let Accept::Keys {
        access_key_id,
        secret_access_key,
        session_token,
        region,
    } = accept
    else {
        unreachable!()
    };
    let authorization = req.header("authorization").unwrap_or("");
    let reject = |kind: &str| Err(aws_error(403, kind, authorization));
    let Some(credential) = field(authorization, "Credential=") else {
        return reject("IncompleteSignatureException");
    };
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0] != access_key_id {
        return reject("UnrecognizedClientException");
    }
    if scope[2] != region || scope[3] != "bedrock" || scope[4] != "aws4_request" {
        return reject("InvalidSignatureException");
    }
    if req.header("x-amz-security-token") != session_token.as_deref() {
        return reject("UnrecognizedClientException");
    }
    let Some(signed_at) = req.header("x-amz-date").and_then(amz_date) else {
        return reject("IncompleteSignatureException");
    };
    let now = SystemTime::now();
    let off = now
        .duration_since(signed_at)
        .unwrap_or_else(|e| e.duration());
    if off > Duration::from_secs(300) {
        return reject("InvalidSignatureException");
    }
    let expected = expected_authorization(
        req,
        access_key_id,
        secret_access_key,
        session_token,
        region,
        signed_at,
    );
    if expected.as_deref() != Some(authorization) {
        return reject("InvalidSignatureException");
    }
    Ok(())
}

/// The `Authorization` header aws-sigv4 computes for this request, signing `host` as received.
fn expected_authorization(
    req: &Request,
    access_key_id: &str,
    secret_access_key: &str,
    session_token: &Option<String>,
    region: &str,
    signed_at: SystemTime,
) -> Option<String> {
    let host = req.header("host")?;
    let identity: Identity = Credentials::new(
        access_key_id,
        secret_access_key,
        session_token.clone(),
        None,
        "stand-in",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock")
        .time(signed_at)
        .settings(SigningSettings::default())
        .build()
        .ok()?
        .into();
    let uri = format!("http://{host}{}", req.path);
    let headers = [("host", host)];
    let signable = SignableRequest::new(
        &req.method,
        uri,
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .ok()?;
    let (instructions, _) = sign(signable, &params).ok()?.into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .iter()
        .find(|h| h.name() == "authorization")
        .map(|h| h.value().to_string())
}

/// `Credential=AKID/…` → `AKID/…` from an `Authorization` header.
fn field<'a>(authorization: &'a str, name: &str) -> Option<&'a str> {
    let start = authorization.find(name)? + name.len();
    let rest = &authorization[start..];
    Some(rest.split([',', ' ']).next().unwrap_or(rest))
}

/// `20240102T030405Z` as a time.
pub fn amz_date(text: &str) -> Option<SystemTime> {
    let digits = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    if text.len() != 16 || &text[8..9] != "T" || !text.ends_with('Z') {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let seconds = digits(9..11)? * 3600 + digits(11..13)? * 60 + digits(13..15)?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(days * 86_400 + seconds).ok()?))
}
