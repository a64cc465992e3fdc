//! Loopback stand-ins for the rest of Google's application-default credentials, one server
//! for every route (built on `servers::Server`: 127.0.0.1:0, every request recorded).
//!
//! | route                                              | answer                                   |
//! |----------------------------------------------------|------------------------------------------|
//! | `POST /sts` token exchange (1)                     | 200 `access_token` = `STS_TOKEN`, else 400 `invalid_grant` |
//! | `POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken` | 200 `accessToken` = `IMPERSONATED_TOKEN` for `Bearer` `STS_TOKEN` or `USER_ACCESS_TOKEN` and a body asking for cloud-platform, else 401 |
//! | `GET /subject` with `x-test-header: yes`           | 200 `{"id_token": SUBJECT_TOKEN}`, else 403 |
//! | `GET /computeMetadata/v1/instance/service-accounts/default/token` with `Metadata-Flavor: Google` | 200 `METADATA_TOKEN`, `Metadata-Flavor: Google`; else 403 |
//! | other routes                                       | 404                                      |
//!
//! 1. `grant_type` token-exchange, `requested_token_type` access_token, `audience` =
//!    `AUDIENCE`, `subject_token` = `SUBJECT_TOKEN`, `subject_token_type` = `SUBJECT_TYPE`,
//!    `scope` = cloud-platform.
#![allow(dead_code)]

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
    let ok = f.get("grant_type").map(String::as_str)
        == Some("urn:ietf:params:oauth:grant-type:token-exchange")
        && f.get("requested_token_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:token-type:access_token")
        && f.get("audience").map(String::as_str) == Some(AUDIENCE)
        && f.get("subject_token").map(String::as_str) == Some(SUBJECT_TOKEN)
        && f.get("subject_token_type").map(String::as_str) == Some(SUBJECT_TYPE)
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
