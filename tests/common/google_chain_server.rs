//! Loopback stand-ins for the rest of Google's application-default credentials, one server
//! for every route (built on `servers::Server`: 127.0.0.1:0, every request recorded).
//!
//! | route                                              | answer                                   |
//! |----------------------------------------------------|------------------------------------------|
//! | `POST /sts` token exchange (1)                     | 200 `access_token` = `STS_TOKEN`, else 400 `invalid_grant` |
//! | `POST /sts` AWS-sourced exchange (2)               | the same                                 |
//! | `POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken` | 200 `accessToken` = `IMPERSONATED_TOKEN` for `Bearer` `STS_TOKEN` or `USER_ACCESS_TOKEN` and a body asking for cloud-platform, else 401 |
//! | `GET /subject` with `x-test-header: yes`           | 200 `{"id_token": SUBJECT_TOKEN}`, else 403 |
//! | `GET /computeMetadata/v1/instance/service-accounts/default/token` with `Metadata-Flavor: Google` | 200 `METADATA_TOKEN`, `Metadata-Flavor: Google`; else 403 |
//! | other routes                                       | 404                                      |
//!
//! 1. `grant_type` token-exchange, `requested_token_type` access_token, `audience` =
//!    `AUDIENCE`, `subject_token` = `SUBJECT_TOKEN`, `subject_token_type` = `SUBJECT_TYPE`,
//!    `scope` = cloud-platform.
//! 2. `subject_token_type` = `AWS_SUBJECT_TYPE`; the subject token, strictly percent-decoded,
//!    is `{"url", "method": "POST", "headers": [{"key", "value"}…]}` for
//!    `https://sts.REGION.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15`, with
//!    `host` matching the URL, `x-goog-cloud-target-resource` = the form's `audience`, both
//!    signed, a session token when the key has one ([`AWS_KEYS`]), and a SigV4 signature
//!    (service `sts`, the URL's region) that `aws_chain_server::verify_sigv4` recomputes.
#![allow(dead_code)]

use super::aws_chain_server::{self as aws, verify_sigv4};
use super::google_server::USER_ACCESS_TOKEN;
use super::servers::{Reply, Request, Server};
use serde_json::json;
use std::collections::HashMap;

pub const AUDIENCE: &str =
    "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/gh/providers/gh";
pub const SUBJECT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const SUBJECT_TOKEN: &str = "eyJTESTSUBJECTTOKEN.eyJ3b3JrbG9hZCJ9.SUBJECTSIGNATURE0123";
pub const STS_TOKEN: &str = "ya29.TESTSTSFEDERATEDTOKEN-Ss1tT2uU3vV4wW5";
pub const IMPERSONATED_TOKEN: &str = "ya29.TESTIMPERSONATEDTOKEN-Ii1jJ2kK3lL4mM5";
pub const METADATA_TOKEN: &str = "ya29.TESTMETADATATOKEN-Mm1nN2oO3pP4qQ5rR6";
pub const ROBOT: &str = "vertex-robot@test-project-1.iam.gserviceaccount.com";
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
pub const AWS_SUBJECT_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
pub const AWS_ENV_ID: &str = "AKIATESTVERTEXENV001";
pub const AWS_ENV_SECRET: &str = "envSECRETvertex/K7MDENG+TESTENVKEY00000000e8E8";
pub const AWS_ENV_TOKEN: &str = "FwoGZXIvYXdzTESTVERTEXENVSESSION000000000/env+t0k==";
/// The AWS keys the AWS-sourced exchange accepts: the test's environment keys and the
/// instance metadata's temporary keys (id, secret, session token).
pub const AWS_KEYS: [(&str, &str, &str); 2] = [
    (AWS_ENV_ID, AWS_ENV_SECRET, AWS_ENV_TOKEN),
    (aws::TEMP_ID, aws::TEMP_SECRET, aws::TEMP_TOKEN),
];

/// The form of a request body.
pub fn form(req: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(req.body.as_bytes())
        .into_owned()
        .collect()
}

/// Starts the stand-in.
pub fn start() -> Server {
    Server::start(|req, _| answer(req))
}

fn answer(req: &Request) -> Reply {
    let path = req.path.split('?').next().unwrap_or_default();
    match (req.method.as_str(), path) {
        ("POST", "/sts") => sts(req),
        ("GET", "/subject") if req.header("x-test-header") == Some("yes") => {
            Reply::json(200, &json!({"id_token": SUBJECT_TOKEN}).to_string())
        }
        ("GET", "/computeMetadata/v1/instance/service-accounts/default/token")
            if req.header("metadata-flavor") == Some("Google") =>
        {
            Reply::json(
                200,
                &json!({"access_token": METADATA_TOKEN, "expires_in": 3599, "token_type": "Bearer"})
                    .to_string(),
            )
            .header("Metadata-Flavor", "Google")
        }
        ("POST", p) if p == format!("/v1/projects/-/serviceAccounts/{ROBOT}:generateAccessToken") => {
            generate(req)
        }
        (_, "/subject" | "/computeMetadata/v1/instance/service-accounts/default/token") => {
            Reply::json(403, r#"{"error":"forbidden"}"#)
        }
        _ => Reply::json(404, r#"{"error":"not_found"}"#),
    }
}

fn sts(req: &Request) -> Reply {
    let f = form(req);
    let aws = f.get("subject_token_type").map(String::as_str) == Some(AWS_SUBJECT_TYPE);
    let subject_ok = if aws {
        aws_subject_ok(&f)
    } else {
        f.get("subject_token").map(String::as_str) == Some(SUBJECT_TOKEN)
            && f.get("subject_token_type").map(String::as_str) == Some(SUBJECT_TYPE)
    };
    let ok = subject_ok
        && f.get("grant_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:grant-type:token-exchange")
        && f.get("requested_token_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:token-type:access_token")
        && f.get("audience").map(String::as_str) == Some(AUDIENCE)
        && f.get("scope").map(String::as_str) == Some(SCOPE);
    if !ok {
        return Reply::json(
            400,
            r#"{"error":"invalid_grant","error_description":"bad exchange"}"#,
        );
    }
    Reply::json(
        200,
        &json!({
            "access_token": STS_TOKEN,
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer",
            "expires_in": 3600,
        })
        .to_string(),
    )
}

fn generate(req: &Request) -> Reply {
    let bearer = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "));
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap_or_default();
    let scoped = body["scope"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v == SCOPE));
    if !matches!(bearer, Some(t) if t == STS_TOKEN || t == USER_ACCESS_TOKEN) || !scoped {
        return Reply::json(401, r#"{"error":{"code":401,"status":"UNAUTHENTICATED"}}"#);
    }
    Reply::json(
        200,
        &json!({"accessToken": IMPERSONATED_TOKEN, "expireTime": "2099-01-01T00:00:00Z"})
            .to_string(),
    )
}

/// The subject token of an AWS-sourced exchange, strictly percent-decoded (only unreserved
/// characters and `%XX`) and parsed.
pub fn aws_subject(req: &Request) -> Option<serde_json::Value> {
    decode_aws_subject(&form(req).remove("subject_token")?)
}

fn decode_aws_subject(token: &str) -> Option<serde_json::Value> {
    let bytes = token.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    serde_json::from_slice(&out).ok()
}

/// The value of header `key` (any case) in a decoded AWS subject token.
pub fn aws_header(subject: &serde_json::Value, key: &str) -> Option<String> {
    subject["headers"]
        .as_array()?
        .iter()
        .find(|h| {
            h["key"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case(key))
        })
        .and_then(|h| h["value"].as_str().map(str::to_string))
}

/// Checks the AWS subject token as Google's STS would, then the signature as AWS would.
fn aws_subject_ok(f: &HashMap<String, String>) -> bool {
    let Some(subject) = f.get("subject_token").and_then(|t| decode_aws_subject(t)) else {
        return false;
    };
    let Some(text) = subject["url"].as_str() else {
        return false;
    };
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let Some(region) = host
        .strip_prefix("sts.")
        .and_then(|h| h.strip_suffix(".amazonaws.com"))
    else {
        return false;
    };
    let header = |key: &str| aws_header(&subject, key);
    let Some(authorization) = header("authorization") else {
        return false;
    };
    let Some(signed) = aws::signed_headers(&authorization) else {
        return false;
    };
    let Some((id, secret, token)) = AWS_KEYS
        .into_iter()
        .find(|(id, _, _)| authorization.contains(&format!("Credential={id}/")))
    else {
        return false;
    };
    let audience = f.get("audience").cloned();
    let session_ok = match header("x-amz-security-token") {
        Some(sent) => sent == token && signed.iter().any(|n| n == "x-amz-security-token"),
        None => id == AWS_ENV_ID,
    };
    let shape_ok = subject["method"] == "POST"
        && url.scheme() == "https"
        && url.query() == Some("Action=GetCallerIdentity&Version=2011-06-15")
        && header("host").as_deref() == Some(host.as_str())
        && header("x-goog-cloud-target-resource").is_some()
        && header("x-goog-cloud-target-resource") == audience
        && signed.iter().any(|n| n == "x-goog-cloud-target-resource");
    let headers = subject["headers"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|h| {
                    Some((
                        h["key"].as_str()?.to_string(),
                        h["value"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let request = Request {
        method: "POST".to_string(),
        path: format!("{}?{}", url.path(), url.query().unwrap_or_default()),
        headers,
        body: String::new(),
    };
    let source = aws::Source {
        access_key_id: id.to_string(),
        secret_access_key: secret.to_string(),
        region: region.to_string(),
        mfa: false,
    };
    session_ok && shape_ok && verify_sigv4(&request, &source, "sts")
}
