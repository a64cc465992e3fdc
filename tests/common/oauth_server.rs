//! A strict loopback OAuth 2.0 / OpenID Connect authorization server (the issuer is
//! `url()`), built on `servers::Server`: 127.0.0.1:0, a thread per connection,
//! `Connection: close`, every request recorded with its body, stopped on drop.
//!
//! | route                                   | answer                                             |
//! |-----------------------------------------|----------------------------------------------------|
//! | `GET /authorize`                        | 302 to `{redirect_uri}?code=…&state=…[&iss=…]`, or `?error=access_denied&state=…[&iss=…]` after `deny_next_authorization()`; 400 text when invalid (1) |
//! | `POST /token` `authorization_code`      | 200 token JSON (3) for `code`, `redirect_uri`, `client_id`, `code_verifier` (2) |
//! | `POST /token` `refresh_token`           | 200 token JSON without `id_token` for the grant's current `refresh_token` (4) |
//! | `POST /revoke`                          | 200, empty body, for any `token`; a known one revokes its whole grant (5) |
//! | `GET /.well-known/openid-configuration` | discovery JSON, `issuer` = `url()`                 |
//! | `GET /jwks`                             | `tests/fixtures/oidc-test-jwks.json` (kid `test-key-1`) |
//! | `GET /userinfo`                         | `{"sub":"user-1","email":…}` for `Bearer` + a live access token, else 401 |
//! | anything else                           | 404                                                |
//!
//! 1. 400 unless: `response_type=code`, the `client_id`, `redirect_uri` equal to the
//!    registered one (none registered: any loopback `http` URI), `code_challenge_method=S256`,
//!    a 43-char base64url `code_challenge`, a `state`, and no parameter repeated.
//! 2. Every `/token` request: the `TokenMode` first (`Html` 200 `<html>login</html>`,
//!    `ServerError` 500, `InvalidGrant` 400, `Error(e)` 400 `{"error": e}`, `Slow(d)` sleeps
//!    and goes on); then a form Content-Type (else `invalid_request`), our `client_id` (else
//!    401 `invalid_client`).
//!    Errors are `{"error","error_description"}`, 400 unless said. A code is consumed by any
//!    presentation and lives 60 s; presenting it again → `invalid_grant` and its grant is
//!    revoked. `redirect_uri` as at `/authorize`; S256(`code_verifier`) = the challenge
//!    (else `invalid_grant`; a verifier not 43–128 unreserved chars → `invalid_request`).
//! 3. `{access_token, token_type:"Bearer", expires_in, refresh_token, scope,
//!    account:{email_address}}` plus `id_token` when the scope has `openid`: RS256, kid
//!    `test-key-1`, `iss`, `sub:"user-1"`, `aud` = client id, `iat`, `exp` = `iat` + ttl,
//!    `email`, and `nonce` when `/authorize` had one.
//! 4. Rotated (the old one superseded) unless `rotate_refresh_tokens` is off; with
//!    `return_refresh_token_on_refresh` off, no `refresh_token` and no rotation. A
//!    superseded one → `invalid_grant` and the grant is revoked; unknown or revoked →
//!    `invalid_grant`; a `scope` wider than granted → `invalid_scope`.
//! 5. RFC 7009: form `token`[, `token_type_hint`] and `client_id` (checked as for `/token`).
#![allow(dead_code)]

use super::servers::{Reply, Request, Server};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const KEY_PEM: &str = include_str!("../fixtures/oidc-test-key.pem");
const JWKS: &str = include_str!("../fixtures/oidc-test-jwks.json");
const SUBJECT: &str = "user-1";
const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// How the stand-in is registered and behaves.
#[derive(Clone, Debug)]
pub struct OAuthOptions {
    pub client_id: String,
    /// The one registered redirect URI (exact match). Empty: any loopback `http` URI,
    /// still identical between `/authorize` and `/token`.
    pub redirect_uri: String,
    pub access_token_ttl: u64,
    /// `iss` on the callback and `authorization_response_iss_parameter_supported`.
    pub advertise_iss: bool,
    pub rotate_refresh_tokens: bool,
    pub return_refresh_token_on_refresh: bool,
    pub account_email: String,
    /// `email` in the ID token; without it only `/userinfo` names the account.
    pub email_in_id_token: bool,
}

impl Default for OAuthOptions {
    fn default() -> OAuthOptions {
        OAuthOptions {
            client_id: "claude-test-client".into(),
            redirect_uri: String::new(),
            access_token_ttl: 3600,
            advertise_iss: true,
            rotate_refresh_tokens: true,
            return_refresh_token_on_refresh: true,
            account_email: "dev@example.com".into(),
            email_in_id_token: true,
        }
    }
}

/// How `/token` answers; applies to every request until changed.
#[derive(Clone, Debug)]
pub enum TokenMode {
    Normal,
    Html,
    ServerError,
    Slow(Duration),
    InvalidGrant,
    /// 400 with this `error` value, whatever it holds (a hostile server's text).
    Error(String),
}

/// The query parameters of an `/authorize` request (empty when absent).
#[derive(Clone, Debug, Default)]
pub struct AuthorizationSeen {
    pub response_type: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub code_challenge_method: String,
}

#[derive(Clone)]
struct Code {
    request: AuthorizationSeen,
    issued: Instant,
    used: bool,
    grant: Option<usize>,
}

struct Grant {
    scope: String,
    access: Vec<(String, Instant)>,
    refresh: String,
    superseded: Vec<String>,
    revoked: bool,
}

#[derive(Default)]
struct State {
    mode: Option<TokenMode>,
    deny_next: bool,
    codes: HashMap<String, Code>,
    grants: Vec<Grant>,
    last_authorization: Option<AuthorizationSeen>,
    revoked_tokens: Vec<String>,
    grant_revoked: bool,
}

struct Shared {
    options: OAuthOptions,
    issuer: OnceLock<String>,
    key: EncodingKey,
    state: Mutex<State>,
}

/// A running authorization server; dropping it stops it (through its `Server`).
pub struct OAuthServer {
    server: Server,
    shared: Arc<Shared>,
}

impl OAuthServer {
    pub fn start(options: OAuthOptions) -> OAuthServer {
        let shared = Arc::new(Shared {
            options,
            issuer: OnceLock::new(),
            key: EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).expect("fixture key"),
            state: Mutex::default(),
        });
        let handler = shared.clone();
        let server = Server::start(move |req, _| handler.route(req));
        // nobody knows the port before `start` returns, so no request can precede this
        shared.issuer.set(server.url()).unwrap();
        OAuthServer { server, shared }
    }

    /// The issuer: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }
    pub fn authorize_endpoint(&self) -> String {
        self.url() + "/authorize"
    }
    pub fn token_endpoint(&self) -> String {
        self.url() + "/token"
    }
    pub fn revocation_endpoint(&self) -> String {
        self.url() + "/revoke"
    }
    pub fn userinfo_endpoint(&self) -> String {
        self.url() + "/userinfo"
    }
    pub fn jwks_uri(&self) -> String {
        self.url() + "/jwks"
    }

    pub fn set_token_mode(&self, mode: TokenMode) {
        self.shared.state().mode = Some(mode);
    }

    /// The next valid `/authorize` redirects with `error=access_denied`.
    pub fn deny_next_authorization(&self) {
        self.shared.state().deny_next = true;
    }

    /// Everything received, in order, bodies included.
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    /// How many `POST /token` with this `grant_type` arrived, whatever the answer.
    pub fn token_requests(&self, grant_type: &str) -> usize {
        let posts = self.requests().into_iter().filter(|r| r.method == "POST");
        let tokens = posts.filter(|r| r.path == "/token");
        let grants = tokens.filter_map(|r| parse_form(&r.body).ok()?.remove("grant_type"));
        grants.filter(|g| g == grant_type).count()
    }

    /// Tokens posted to `/revoke`, in order.
    pub fn revoked_tokens(&self) -> Vec<String> {
        self.shared.state().revoked_tokens.clone()
    }

    /// True once a grant was revoked because a code or a refresh token was reused.
    pub fn grant_revoked(&self) -> bool {
        self.shared.state().grant_revoked
    }

    /// Grants that are neither revoked nor ended by reuse.
    pub fn live_grants(&self) -> usize {
        self.shared
            .state()
            .grants
            .iter()
            .filter(|g| !g.revoked)
            .count()
    }

    /// Mints a grant without the browser dance: the JSON of a code exchange (an
    /// `id_token` without `nonce` when the scope has `openid`).
    pub fn issue_tokens_directly(&self, scope: &str) -> Value {
        let shared = &self.shared;
        let id_token = has_openid(scope).then(|| shared.id_token(None));
        let mut state = shared.state();
        let grant = state.new_grant(scope);
        shared.token_json(&mut state, grant, scope, id_token)
    }

    pub fn last_authorization(&self) -> Option<AuthorizationSeen> {
        self.shared.state().last_authorization.clone()
    }
}

impl State {
    fn new_grant(&mut self, scope: &str) -> usize {
        self.grants.push(Grant {
            scope: scope.into(),
            access: Vec::new(),
            refresh: random_token("rt_"),
            superseded: Vec::new(),
            revoked: false,
        });
        self.grants.len() - 1
    }
}

type Form = HashMap<String, String>;

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn issuer(&self) -> &str {
        self.issuer.get().expect("issuer set at start")
    }

    fn route(&self, req: &Request) -> Reply {
        let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        match (req.method.as_str(), path) {
            ("GET", "/authorize") => self.authorize(query),
            ("POST", "/token") => self.token(req).unwrap_or_else(|e| e),
            ("POST", "/revoke") => self.revoke(req).unwrap_or_else(|e| e),
            ("GET", "/.well-known/openid-configuration") => self.discovery(),
            ("GET", "/jwks") => Reply::json(200, JWKS),
            ("GET", "/userinfo") => self.userinfo(req),
            _ => reply(404, &[TEXT], "not found"),
        }
    }

    fn authorize(&self, query: &str) -> Reply {
        let params = match parse_form(query) {
            Ok(params) => params,
            Err(why) => return reply(400, &[TEXT], &why),
        };
        let get = |name: &str| params.get(name).cloned().unwrap_or_default();
        let seen = AuthorizationSeen {
            response_type: get("response_type"),
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            scope: get("scope"),
            state: get("state"),
            nonce: params.get("nonce").cloned(),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
        };
        let mut state = self.state();
        state.last_authorization = Some(seen.clone());
        if let Err(why) = self.check_authorization(&seen) {
            return reply(400, &[TEXT], why);
        }
        let mut answer = if std::mem::take(&mut state.deny_next) {
            vec![("error", "access_denied".to_string())]
        } else {
            let code = random_token("ac_");
            let entry = Code {
                request: seen.clone(),
                issued: Instant::now(),
                used: false,
                grant: None,
            };
            state.codes.insert(code.clone(), entry);
            vec![("code", code)]
        };
        answer.push(("state", seen.state));
        if self.options.advertise_iss {
            answer.push(("iss", self.issuer().to_string()));
        }
        let query: Vec<String> = answer
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let separator = if seen.redirect_uri.contains('?') {
            "&"
        } else {
            "?"
        };
        let location = seen.redirect_uri + separator + &query.join("&");
        reply(302, &[("Location", &location), NO_STORE], "")
    }

    fn check_authorization(&self, seen: &AuthorizationSeen) -> Result<(), &'static str> {
        let registered = &self.options.redirect_uri;
        if seen.client_id != self.options.client_id {
            Err("unknown client_id")
        } else if registered.is_empty() && !is_loopback_http(&seen.redirect_uri) {
            Err("redirect_uri must be a loopback http URI")
        } else if !registered.is_empty() && &seen.redirect_uri != registered {
            Err("redirect_uri is not the registered one")
        } else if seen.response_type != "code" {
            Err("response_type must be code")
        } else if seen.code_challenge_method != "S256" {
            Err("code_challenge_method must be S256")
        } else if seen.code_challenge.len() != 43 || !seen.code_challenge.bytes().all(is_b64url) {
            Err("code_challenge must be 43 base64url characters")
        } else if seen.state.is_empty() {
            Err("state is required")
        } else {
            Ok(())
        }
    }

    fn token(&self, req: &Request) -> Result<Reply, Reply> {
        let mode = self.state().mode.clone().unwrap_or(TokenMode::Normal);
        match mode {
            TokenMode::Normal => {}
            TokenMode::Slow(delay) => std::thread::sleep(delay),
            TokenMode::Html => return Ok(reply(200, &[HTML], "<html>login</html>")),
            TokenMode::ServerError => return Err(error(500, "server_error", "told to fail")),
            TokenMode::InvalidGrant => return Err(invalid_grant("told to refuse")),
            TokenMode::Error(value) => return Err(error(400, &value, "told to say this")),
        }
        let form = self.client_form(req)?;
        let mut state = self.state();
        let json = match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.exchange_code(&mut state, &form)?,
            Some("refresh_token") => self.refresh(&mut state, &form)?,
            Some(_) => return Err(error(400, "unsupported_grant_type", "unknown grant")),
            None => return Err(invalid_request("grant_type is required")),
        };
        let headers = [JSON, NO_STORE, ("Pragma", "no-cache")];
        Ok(reply(200, &headers, &json.to_string()))
    }

    /// The form body of a POST from our client, or the RFC 6749 error to answer.
    fn client_form(&self, req: &Request) -> Result<Form, Reply> {
        let content_type = req.header("content-type").unwrap_or("");
        let media = content_type.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(invalid_request("Content-Type must be a form"));
        }
        let form = parse_form(&req.body).map_err(|why| invalid_request(&why))?;
        match form.get("client_id") {
            Some(id) if *id == self.options.client_id => Ok(form),
            _ => Err(error(401, "invalid_client", "unknown or missing client_id")),
        }
    }

    fn exchange_code(&self, state: &mut State, form: &Form) -> Result<Value, Reply> {
        let (code, redirect_uri) = (required(form, "code")?, required(form, "redirect_uri")?);
        let verifier = required(form, "code_verifier")?;
        let Some(entry) = state.codes.get_mut(code) else {
            return Err(invalid_grant("unknown authorization code"));
        };
        // single use (RFC 6749 §4.1.2): any presentation consumes the code
        let seen = entry.clone();
        entry.used = true;
        if seen.used {
            if let Some(grant) = seen.grant {
                state.grants[grant].revoked = true;
            }
            state.grant_revoked = true;
            return Err(invalid_grant("code reused; its grant is revoked"));
        }
        if seen.issued.elapsed() > CODE_LIFETIME {
            return Err(invalid_grant("authorization code expired"));
        }
        if seen.request.redirect_uri != redirect_uri {
            return Err(invalid_grant("redirect_uri differs from /authorize"));
        }
        if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(is_unreserved) {
            return Err(invalid_request(
                "code_verifier: 43-128 unreserved characters",
            ));
        }
        if pkce_challenge(verifier) != seen.request.code_challenge {
            return Err(invalid_grant("PKCE verification failed"));
        }
        let scope = &seen.request.scope;
        let id_token = has_openid(scope).then(|| self.id_token(seen.request.nonce.clone()));
        let grant = state.new_grant(scope);
        state.codes.get_mut(code).unwrap().grant = Some(grant);
        Ok(self.token_json(state, grant, scope, id_token))
    }

    fn refresh(&self, state: &mut State, form: &Form) -> Result<Value, Reply> {
        let token = required(form, "refresh_token")?;
        let found = state.grants.iter().position(|g| {
            !g.revoked && (g.refresh == token || g.superseded.iter().any(|t| t == token))
        });
        let Some(index) = found else {
            return Err(invalid_grant("unknown or revoked refresh token"));
        };
        let grant = &mut state.grants[index];
        if grant.refresh != token {
            grant.revoked = true;
            state.grant_revoked = true;
            return Err(invalid_grant("refresh token reused; the grant is revoked"));
        }
        let scope = match form.get("scope") {
            None => grant.scope.clone(),
            Some(asked)
                if asked
                    .split(' ')
                    .all(|s| grant.scope.split(' ').any(|g| g == s)) =>
            {
                asked.clone()
            }
            Some(_) => return Err(error(400, "invalid_scope", "scope wider than granted")),
        };
        let options = &self.options;
        if options.rotate_refresh_tokens && options.return_refresh_token_on_refresh {
            let old = std::mem::replace(&mut grant.refresh, random_token("rt_"));
            grant.superseded.push(old);
        }
        let mut json = self.token_json(state, index, &scope, None);
        if !options.return_refresh_token_on_refresh {
            json.as_object_mut().unwrap().remove("refresh_token");
        }
        Ok(json)
    }

    /// A token answer carrying a new access token of the grant.
    fn token_json(
        &self,
        state: &mut State,
        grant: usize,
        scope: &str,
        id: Option<String>,
    ) -> Value {
        let ttl = self.options.access_token_ttl;
        let access = random_token("at_");
        let grant = &mut state.grants[grant];
        // A hostile ttl (tests of the client's bounds) must not crash the stand-in itself.
        let expiry = Instant::now()
            .checked_add(Duration::from_secs(ttl))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 40));
        grant.access.push((access.clone(), expiry));
        let mut json = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": grant.refresh,
            "scope": scope,
            "account": {"email_address": self.options.account_email},
        });
        if let Some(id_token) = id {
            json["id_token"] = Value::String(id_token);
        }
        json
    }

    fn id_token(&self, nonce: Option<String>) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = json!({
            "iss": self.issuer(),
            "sub": SUBJECT,
            "aud": self.options.client_id,
            "iat": now,
            "exp": now + self.options.access_token_ttl,
        });
        if self.options.email_in_id_token {
            claims["email"] = Value::String(self.options.account_email.clone());
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = Value::String(nonce);
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("test-key-1".into());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("sign ID token")
    }

    fn revoke(&self, req: &Request) -> Result<Reply, Reply> {
        let form = self.client_form(req)?;
        let token = required(&form, "token")?.to_string();
        let mut state = self.state();
        for grant in &mut state.grants {
            let access = grant.access.iter().any(|(t, _)| *t == token);
            if access || grant.refresh == token || grant.superseded.contains(&token) {
                grant.revoked = true;
            }
        }
        state.revoked_tokens.push(token);
        Ok(reply(200, &[NO_STORE], ""))
    }

    fn userinfo(&self, req: &Request) -> Reply {
        let auth = req.header("authorization").unwrap_or("");
        let token = match auth.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => "",
        };
        let state = self.state();
        let mut live = state
            .grants
            .iter()
            .filter(|g| !g.revoked)
            .flat_map(|g| &g.access);
        if !live.any(|(t, expiry)| t == token && *expiry > Instant::now()) {
            let challenge = ("WWW-Authenticate", r#"Bearer error="invalid_token""#);
            return reply(401, &[JSON, challenge], r#"{"error":"invalid_token"}"#);
        }
        let body = json!({"sub": SUBJECT, "email": self.options.account_email});
        Reply::json(200, &body.to_string())
    }

    fn discovery(&self) -> Reply {
        let issuer = self.issuer();
        let body = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "revocation_endpoint": format!("{issuer}/revoke"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "email", "profile", "offline_access"],
            "authorization_response_iss_parameter_supported": self.options.advertise_iss,
        });
        Reply::json(200, &body.to_string())
    }
}

/// BASE64URL(SHA256(verifier)): the S256 `code_challenge`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier))
}

/// `application/x-www-form-urlencoded`, also for query strings; a repeated parameter is
/// an error (RFC 6749 §3.1).
pub fn parse_form(input: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for pair in input.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name)?;
        if out.insert(name.clone(), decode(value)?).is_some() {
            return Err(format!("parameter {name} repeated"));
        }
    }
    Ok(out)
}

/// Percent-encodes all but the unreserved characters (for queries and form bodies).
pub fn encode(input: &str) -> String {
    let escape = |b: u8| {
        if is_unreserved(b) {
            (b as char).to_string()
        } else {
            format!("%{b:02X}")
        }
    };
    input.bytes().map(escape).collect()
}

fn decode(input: &str) -> Result<String, String> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.bytes();
    while let Some(byte) = bytes.next() {
        out.push(match byte {
            b'+' => b' ',
            b'%' => {
                let hex = [bytes.next(), bytes.next()].map(|b| (b? as char).to_digit(16));
                match hex {
                    [Some(high), Some(low)] => (high * 16 + low) as u8,
                    _ => return Err("malformed percent-encoding".into()),
                }
            }
            byte => byte,
        });
    }
    String::from_utf8(out).map_err(|_| "parameter is not UTF-8".into())
}

const TEXT: (&str, &str) = ("Content-Type", "text/plain");
const HTML: (&str, &str) = ("Content-Type", "text/html");
const JSON: (&str, &str) = ("Content-Type", "application/json");
const NO_STORE: (&str, &str) = ("Cache-Control", "no-store");

fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
        delay: Duration::ZERO,
    }
}

/// An RFC 6749 §5.2 error answer.
fn error(status: u16, error: &str, description: &str) -> Reply {
    let body = json!({"error": error, "error_description": description});
    reply(status, &[JSON, NO_STORE], &body.to_string())
}

fn invalid_request(description: &str) -> Reply {
    error(400, "invalid_request", description)
}

fn invalid_grant(description: &str) -> Reply {
    error(400, "invalid_grant", description)
}

fn required<'a>(form: &'a Form, name: &str) -> Result<&'a str, Reply> {
    match form.get(name) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(invalid_request(&format!("{name} is required"))),
    }
}

fn has_openid(scope: &str) -> bool {
    scope.split(' ').any(|s| s == "openid")
}

fn is_unreserved(byte: u8) -> bool {
    is_b64url(byte) || byte == b'.' || byte == b'~'
}

fn is_b64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// `http://127.0.0.1[:port]/…`, `http://[::1][:port]/…` or `http://localhost[:port]/…`,
/// without a fragment.
fn is_loopback_http(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://").filter(|_| !uri.contains('#')) else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

/// An unguessable-enough token for a test: SHA-256 of a counter, the time and the pid.
fn random_token(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut hash = Sha256::new();
    hash.update(NEXT.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    hash.update(now.as_nanos().to_le_bytes());
    hash.update(std::process::id().to_le_bytes());
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(hash.finalize()))
}
