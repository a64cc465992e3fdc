//! Loopback stand-ins for Google: the OAuth token endpoint (RFC 7523 JWT bearer grant for
//! service accounts, refresh grant for authorized users) and the Vertex AI model endpoint.
//! Built on `servers::Server` (127.0.0.1:0, every request recorded, stopped on drop).
//!
//! | route (stand-in)                        | answer                                          |
//! |-----------------------------------------|-------------------------------------------------|
//! | `POST /token` jwt-bearer (`TokenServer`) | 200 `access_token_for(iss)`, `expires_in` 3599, when the assertion verifies (1) |
//! | `POST /token` refresh_token             | 200 `USER_ACCESS_TOKEN` for `CLIENT_ID`/`CLIENT_SECRET`/`REFRESH_TOKEN`, else 400 `invalid_grant` |
//! | `POST /token`, `TokenMode::InvalidJwt`  | 400 `invalid_grant` "Invalid JWT Signature.", `Date` 10 minutes ahead |
//! | other grants / routes                   | 400 `unsupported_grant_type` / 404              |
//! | `GET /v1/projects/PROJECT/locations/LOCATION/publishers/anthropic/models/MODEL` (`vertex`) | `status` for `Bearer` + a known token, else 401 |
//! | other routes of `vertex`                | 404 `NOT_FOUND`                                 |
//!
//! 1. RS256 with kid `test-key-1`, verified with the public key of
//!    `tests/fixtures/oidc-test-jwks.json`; `iss` = `sub` ending in
//!    `.iam.gserviceaccount.com`, `aud` = this endpoint's own URL, `scope` = cloud-platform,
//!    `exp` − `iat` ≤ 3600, `iat` within 60 s of now. Anything else: 400 `invalid_grant`.
//!
//! Error bodies echo what was sent, as careless servers do, so tests prove it is never shown.
#![allow(dead_code)]

use super::servers::{Reply, Request, Server};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The fixture key (PKCS#8 PEM) the service-account files carry.
pub const KEY_PEM: &str = include_str!("../fixtures/oidc-test-key.pem");
const JWKS: &str = include_str!("../fixtures/oidc-test-jwks.json");
pub const KEY_ID: &str = "test-key-1";
pub const SA_EMAIL: &str = "claude-test@test-project-1.iam.gserviceaccount.com";
pub const SA_EMAIL_2: &str = "other-robot@test-project-1.iam.gserviceaccount.com";
pub const CLIENT_ID: &str = "764086051850-test.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "d-FL95Q19q7MQmFpd7hHD0Ty-TESTSECRET";
pub const REFRESH_TOKEN: &str = "1//0gTESTREFRESHTOKEN-ZZ9yYx8wVv7uUt6sSr5qQp4";
pub const USER_ACCESS_TOKEN: &str = "ya29.a0TESTUSERACCESSTOKEN-Kk3jJ2hH1gG0fF9eE8";
pub const PROJECT: &str = "test-project-1";
pub const LOCATION: &str = "us-east5";
pub const MODEL: &str = "claude-3-5-sonnet-v2@20241022";

/// The access token issued to service account `email`.
pub fn access_token_for(email: &str) -> String {
    let name = email.split('@').next().unwrap_or("sa");
    format!("ya29.c.TESTSAACCESSTOKEN-{name}-Qw8Er7Ty6Ui5")
}

/// How the token endpoint behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenMode {
    Normal,
    /// Every request: 400 invalid_grant "Invalid JWT Signature." and a Date 10 minutes ahead.
    InvalidJwt,
}

/// The token endpoint stand-in.
pub struct TokenServer {
    pub server: Server,
}

impl TokenServer {
    pub fn start(mode: TokenMode) -> TokenServer {
        let own: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
        let me = own.clone();
        let server = Server::start(move |req, _| {
            let own = me.get().map(String::as_str).unwrap_or("");
            answer(req, mode, own)
        });
        own.set(format!("{}/token", server.url())).unwrap();
        TokenServer { server }
    }

    /// This endpoint's URL, for `token_uri`.
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.server.url())
    }

    /// How many requests reached it.
    pub fn hits(&self) -> usize {
        self.server.requests().len()
    }

    /// The form fields of request `n`.
    pub fn form(&self, n: usize) -> HashMap<String, String> {
        form(&self.server.requests()[n])
    }
}

fn form(req: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(req.body.as_bytes())
        .into_owned()
        .collect()
}

fn answer(req: &Request, mode: TokenMode, own: &str) -> Reply {
    if req.method != "POST" || req.path != "/token" {
        return Reply::json(404, r#"{"error":"not_found"}"#);
    }
    if mode == TokenMode::InvalidJwt {
        let ahead = SystemTime::now() + Duration::from_secs(600);
        return Reply::json(
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
        )
        .header("Date", &httpdate::fmt_http_date(ahead));
    }
    let form_is_urlencoded = req
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let form = form(req);
    let outcome = match form.get("grant_type").map(String::as_str) {
        _ if !form_is_urlencoded => Err("not a form".to_string()),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
            check_assertion(form.get("assertion").map(String::as_str).unwrap_or(""), own)
        }
        Some("refresh_token") => check_refresh(&form),
        _ => return Reply::json(400, r#"{"error":"unsupported_grant_type"}"#),
    };
    match outcome {
        Ok(token) => token_reply(&token),
        Err(why) => {
            let description = format!("stand-in: {why}; you sent {}", req.body);
            let body = json!({"error": "invalid_grant", "error_description": description});
            Reply::json(400, &body.to_string())
        }
    }
}

fn token_reply(token: &str) -> Reply {
    Reply::json(
        200,
        &json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}).to_string(),
    )
    .header("Date", &httpdate::fmt_http_date(SystemTime::now()))
}

fn check_refresh(form: &HashMap<String, String>) -> Result<String, String> {
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("client_id") != Some(CLIENT_ID) || field("client_secret") != Some(CLIENT_SECRET) {
        return Err("unknown client".into());
    }
    if field("refresh_token") != Some(REFRESH_TOKEN) {
        return Err("Token has been expired or revoked.".into());
    }
    Ok(USER_ACCESS_TOKEN.to_string())
}

/// Verifies the RS256 signature with the fixture's public key, then every claim.
fn check_assertion(assertion: &str, own: &str) -> Result<String, String> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| format!("not a JWT: {e}"))?;
    if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(KEY_ID) {
        return Err(format!("alg {:?} kid {:?}", header.alg, header.kid));
    }
    let jwks: Value = serde_json::from_str(JWKS).unwrap();
    let key = &jwks["keys"][0];
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[own]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Value>(assertion, &decoding, &validation)
        .map_err(|e| format!("rejected: {e}"))?
        .claims;
    let (iss, sub) = (
        claims["iss"].as_str().unwrap_or(""),
        claims["sub"].as_str().unwrap_or(""),
    );
    if iss != sub || !iss.ends_with(".iam.gserviceaccount.com") {
        return Err(format!("iss {iss} sub {sub}"));
    }
    if claims["scope"] != "https://www.googleapis.com/auth/cloud-platform" {
        return Err("scope".into());
    }
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap_or(0),
        claims["exp"].as_u64().unwrap_or(0),
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if exp <= iat || exp - iat > 3600 || iat.abs_diff(now) > 60 {
        return Err(format!("iat {iat} exp {exp} now {now}"));
    }
    Ok(access_token_for(iss))
}

/// The Vertex AI stand-in: `status` for a bearer token in `tokens`, 401 otherwise.
pub fn vertex(tokens: Vec<String>, status: u16) -> Server {
    let path =
        format!("/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/anthropic/models/{MODEL}");
    Server::start(move |req, _| {
        let date = httpdate::fmt_http_date(SystemTime::now());
        if req.method != "GET" || req.path != path {
            return google_error(404, "NOT_FOUND", req).header("Date", &date);
        }
        let bearer = req
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "));
        if !bearer.is_some_and(|b| tokens.iter().any(|t| t == b)) {
            return google_error(401, "UNAUTHENTICATED", req).header("Date", &date);
        }
        match status {
            200 => {
                let name = format!("publishers/anthropic/models/{MODEL}");
                Reply::json(200, &json!({"name": name, "launchStage": "GA"}).to_string())
            }
            403 => google_error(403, "PERMISSION_DENIED", req),
            other => google_error(other, "ERROR", req),
        }
        .header("Date", &date)
    })
}

/// A Google API error that echoes the request's credentials back.
fn google_error(code: u16, status: &str, req: &Request) -> Reply {
    let echo = req.header("authorization").unwrap_or("");
    let message = format!("denied for {echo}");
    let body = json!({"error": {"code": code, "message": message, "status": status}});
    Reply::json(code, &body.to_string())
}

/// A service account key file pointing at `token_uri`.
pub fn service_account_json(email: &str, token_uri: &str, project: Option<&str>) -> String {
    let mut doc = json!({
        "type": "service_account",
        "project_id": project,
        "private_key_id": KEY_ID,
        "private_key": KEY_PEM,
        "client_email": email,
        "client_id": "105555555555555555555",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "universe_domain": "googleapis.com",
    });
    if project.is_none() {
        doc.as_object_mut().unwrap().remove("project_id");
    }
    doc.to_string()
}

/// gcloud's application-default credentials for a user, refreshing at `token_uri`.
pub fn authorized_user_json(token_uri: &str, quota_project: &str) -> String {
    json!({
        "type": "authorized_user",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "quota_project_id": quota_project,
        "token_uri": token_uri,
        "universe_domain": "googleapis.com",
    })
    .to_string()
}

/// `env` as a Vertex user whose credential file (0600, in its home) is `doc`.
pub fn vertex_user(env: crate::common::TestEnv, doc: &serde_json::Value) -> crate::common::TestEnv {
    let path = env.home.path().join("adc.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    crate::common::set_mode(&path, 0o600);
    env.with("CLAUDE_CODE_USE_VERTEX", "1")
        .with("GOOGLE_APPLICATION_CREDENTIALS", path.to_str().unwrap())
        .with("CLOUD_ML_REGION", LOCATION)
        .with("ANTHROPIC_VERTEX_PROJECT_ID", PROJECT)
}
