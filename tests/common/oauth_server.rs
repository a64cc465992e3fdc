//! A strict loopback OAuth 2.0 / OpenID Connect authorization server for the `--login`,
//! refresh, `--logout` and OIDC tests. Built on `servers::Server` (127.0.0.1:0, a thread
//! per connection, `Connection: close`, every request recorded, stopped on drop); the
//! issuer is `url()`. Token-endpoint errors are RFC 6749 JSON
//! `{"error":"…","error_description":"…"}`, 400 unless noted.
//!
//! | route | answer |
//! |-------|--------|
//! | `GET /authorize` | 302 `Location: {redirect_uri}?code=…&state=…[&iss=…]`; `?error=access_denied&state=…[&iss=…]` after `deny_next_authorization()`; 400 text when `response_type` ≠ `code`, `client_id` unknown, `redirect_uri` not the registered one (or, with none registered, not loopback `http`), `code_challenge_method` ≠ `S256`, `code_challenge` not 43 base64url chars, `state` missing, or a parameter repeated |
//! | `POST /token` (any grant) | `TokenMode` first (`Html` 200 `<html>login</html>`, `ServerError` 500 `server_error`, `InvalidGrant` 400, `Slow(d)` sleeps then goes on); Content-Type not form → `invalid_request`; `client_id` missing or unknown → 401 `invalid_client`; unknown `grant_type` → `unsupported_grant_type` |
//! | `POST /token` `authorization_code` | `code`, `redirect_uri` (as at `/authorize`), `code_verifier` (43–128 unreserved chars, S256 of it = the challenge). Any presentation consumes the code; a consumed code → `invalid_grant` and its grant is revoked; codes expire after 60 s. 200 `{access_token, token_type:"Bearer", expires_in, refresh_token, scope, account:{email_address}[, id_token]}` (`id_token` when scope has `openid`) |
//! | `POST /token` `refresh_token` | the grant's current refresh token → 200 as above without `id_token` (rotated unless `rotate_refresh_tokens` is off; `refresh_token` omitted, and then not rotated, when `return_refresh_token_on_refresh` is off); a superseded one → `invalid_grant` and the grant is revoked; unknown or revoked → `invalid_grant`; `scope` wider than granted → `invalid_scope` |
//! | `POST /revoke` | RFC 7009: form `token`[, `token_type_hint`], `client_id` → 200, empty body, for any token; a known token revokes its whole grant. No `token` → 400 `invalid_request`; bad `client_id` → 401 `invalid_client` |
//! | `GET /.well-known/openid-configuration` | discovery JSON; `issuer` = `url()`, `authorization_response_iss_parameter_supported` = `advertise_iss` |
//! | `GET /jwks` | `tests/fixtures/oidc-test-jwks.json` (kid `test-key-1`) |
//! | `GET /userinfo` | `Authorization: Bearer` a live access token → `{"sub":"user-1","email":…}`, else 401 |
//! | anything else | 404 |
//!
//! ID tokens: RS256, header `kid` `test-key-1`, claims `iss`, `sub` `user-1`, `aud` =
//! client id, `iat`, `exp` = `iat` + `access_token_ttl`, `email`, and `nonce` when
//! `/authorize` had one.
#![allow(dead_code)]

use super::servers::{Reply, Request, Server};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const KEY_PEM: &str = include_str!("../fixtures/oidc-test-key.pem");
const JWKS: &str = include_str!("../fixtures/oidc-test-jwks.json");
const KID: &str = "test-key-1";
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
    redirect_uri: String,
    challenge: String,
    scope: String,
    nonce: Option<String>,
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

struct State {
    mode: TokenMode,
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

/// A running authorization server; dropping it stops it.
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
            state: Mutex::new(State {
                mode: TokenMode::Normal,
                deny_next: false,
                codes: HashMap::new(),
                grants: Vec::new(),
                last_authorization: None,
                revoked_tokens: Vec::new(),
                grant_revoked: false,
            }),
        });
        let handler = shared.clone();
        let server = Server::start(move |req, _| handler.route(req));
        // Nobody knows the port before `start` returns, so no request precedes this.
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
        self.shared.state().mode = mode;
    }

    /// The next valid `/authorize` redirects with `error=access_denied`.
    pub fn deny_next_authorization(&self) {
        self.shared.state().deny_next = true;
    }

    /// Everything received, in order, bodies included.
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    /// How many `POST /token` with this `grant_type` arrived (whatever the answer).
    pub fn token_requests(&self, grant_type: &str) -> usize {
        let requests = self.requests();
        let tokens = requests
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/token");
        let grants = tokens.filter_map(|r| parse_form(&r.body).ok()?.remove("grant_type"));
        grants.filter(|g| g == grant_type).count()
    }

    /// Tokens posted to `/revoke`, in order.
    pub fn revoked_tokens(&self) -> Vec<String> {
        self.shared.state().revoked_tokens.clone()
    }

    /// True once a grant was revoked because a code or refresh token was reused.
    pub fn grant_revoked(&self) -> bool {
        self.shared.state().grant_revoked
    }

    /// Mints a grant without the browser dance; the same JSON as a code exchange.
    pub fn issue_tokens_directly(&self, scope: &str) -> Value {
        let mut state = self.shared.state();
        let grant = state.new_grant(scope);
        self.shared.token_json(&mut state, grant, scope, Some(None))
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

    fn grant_of(&self, token: &str) -> Option<usize> {
        self.grants.iter().position(|g| {
            g.refresh == token
                || g.superseded.iter().any(|t| t == token)
                || g.access.iter().any(|(t, _)| t == token)
        })
    }
}

type Answer = Result<Value, Reply>;

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn issuer(&self) -> &str {
        self.issuer.get().expect("issuer set at start")
    }

    fn route(&self, req: &Request) -> Reply {
        let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        match (req.method.as_str(), path) {
            ("GET", "/authorize") => self.authorize(query),
            ("POST", "/token") => self.token(req),
            ("POST", "/revoke") => self.revoke(req),
            ("GET", "/.well-known/openid-configuration") => self.discovery(),
            ("GET", "/jwks") => Reply::json(200, JWKS),
            ("GET", "/userinfo") => self.userinfo(req),
            _ => text(404, "not found"),
        }
    }

    fn authorize(&self, query: &str) -> Reply {
        let params = match parse_form(query) {
            Ok(params) => params,
            Err(why) => return text(400, &why),
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
            return text(400, why);
        }
        let mut answer = if std::mem::take(&mut state.deny_next) {
            vec![("error", "access_denied".to_string())]
        } else {
            let code = random_token("ac_");
            let entry = Code {
                redirect_uri: seen.redirect_uri.clone(),
                challenge: seen.code_challenge.clone(),
                scope: seen.scope.clone(),
                nonce: seen.nonce.clone(),
                issued: Instant::now(),
                used: false,
                grant: None,
            };
            state.codes.insert(code.clone(), entry);
            vec![("code", code)]
        };
        answer.push(("state", seen.state.clone()));
        if self.options.advertise_iss {
            answer.push(("iss", self.issuer().to_string()));
        }
        let query: Vec<String> = answer
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let separator = if seen.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        let location = format!("{}{separator}{}", seen.redirect_uri, query.join("&"));
        Reply {
            status: 302,
            headers: vec![("Location".into(), location)],
            body: String::new(),
            delay: Duration::ZERO,
        }
        .header("Cache-Control", "no-store")
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
        } else if seen.code_challenge.len() != 43 || !is_base64url(&seen.code_challenge) {
            Err("code_challenge must be 43 base64url characters")
        } else if seen.state.is_empty() {
            Err("state is required")
        } else {
            Ok(())
        }
    }

    fn token(&self, req: &Request) -> Reply {
        let mode = self.state().mode.clone();
        match mode {
            TokenMode::Normal => {}
            TokenMode::Slow(delay) => std::thread::sleep(delay),
            TokenMode::Html => {
                return text(200, "<html>login</html>").header("Content-Type", "text/html")
            }
            TokenMode::ServerError => return oauth_error(500, "server_error", "told to fail"),
            TokenMode::InvalidGrant => return oauth_error(400, "invalid_grant", "told to refuse"),
        }
        let answer = self.client_form(req).and_then(|form| {
            let mut state = self.state();
            match form.get("grant_type").map(String::as_str) {
                Some("authorization_code") => self.exchange_code(&mut state, &form),
                Some("refresh_token") => self.refresh(&mut state, &form),
                Some(_) => Err(oauth_error(400, "unsupported_grant_type", "unknown grant")),
                None => Err(oauth_error(
                    400,
                    "invalid_request",
                    "grant_type is required",
                )),
            }
        });
        match answer {
            Ok(json) => Reply::json(200, &json.to_string())
                .header("Cache-Control", "no-store")
                .header("Pragma", "no-cache"),
            Err(reply) => reply,
        }
    }

    /// The form body of a POST from our client, or the RFC 6749 error to answer.
    fn client_form(&self, req: &Request) -> Result<HashMap<String, String>, Reply> {
        let media = req.header("content-type").unwrap_or("").split(';').next();
        if !media
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        {
            return Err(invalid_request(
                "Content-Type must be application/x-www-form-urlencoded",
            ));
        }
        let form = parse_form(&req.body).map_err(|why| invalid_request(&why))?;
        match form.get("client_id") {
            Some(id) if *id == self.options.client_id => Ok(form),
            _ => Err(oauth_error(
                401,
                "invalid_client",
                "unknown or missing client_id",
            )),
        }
    }

    fn exchange_code(&self, state: &mut State, form: &HashMap<String, String>) -> Answer {
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
            return Err(invalid_grant(
                "authorization code reused; its grant is revoked",
            ));
        }
        if seen.issued.elapsed() > CODE_LIFETIME {
            return Err(invalid_grant("authorization code expired"));
        }
        if seen.redirect_uri != redirect_uri {
            return Err(invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(is_unreserved) {
            return Err(invalid_request(
                "code_verifier must be 43-128 unreserved characters",
            ));
        }
        if pkce_challenge(verifier) != seen.challenge {
            return Err(invalid_grant("PKCE verification failed"));
        }
        let grant = state.new_grant(&seen.scope);
        state.codes.get_mut(code).unwrap().grant = Some(grant);
        Ok(self.token_json(state, grant, &seen.scope, Some(seen.nonce)))
    }

    fn refresh(&self, state: &mut State, form: &HashMap<String, String>) -> Answer {
        let token = required(form, "refresh_token")?;
        let found = state
            .grants
            .iter()
            .position(|g| g.refresh == token || g.superseded.iter().any(|t| t == token));
        let Some(index) = found.filter(|&i| !state.grants[i].revoked) else {
            return Err(invalid_grant("unknown or revoked refresh token"));
        };
        if state.grants[index].refresh != token {
            state.grants[index].revoked = true;
            state.grant_revoked = true;
            return Err(invalid_grant("refresh token reused; the grant is revoked"));
        }
        let granted = state.grants[index].scope.clone();
        let scope = match form.get("scope") {
            None => granted,
            Some(asked) if asked.split(' ').all(|s| granted.split(' ').any(|g| g == s)) => {
                asked.clone()
            }
            Some(_) => {
                return Err(oauth_error(
                    400,
                    "invalid_scope",
                    "scope wider than granted",
                ))
            }
        };
        let options = &self.options;
        let grant = &mut state.grants[index];
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

    /// A token answer with a new access token; `id_nonce` is `Some` for a code
    /// exchange (an ID token when the scope has `openid`), `None` for a refresh.
    fn token_json(
        &self,
        state: &mut State,
        grant: usize,
        scope: &str,
        id_nonce: Option<Option<String>>,
    ) -> Value {
        let ttl = self.options.access_token_ttl;
        let access = random_token("at_");
        let expiry = Instant::now() + Duration::from_secs(ttl);
        let grant = &mut state.grants[grant];
        grant.access.push((access.clone(), expiry));
        let mut json = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": grant.refresh,
            "scope": scope,
            "account": {"email_address": self.options.account_email},
        });
        if let Some(nonce) = id_nonce.filter(|_| scope.split(' ').any(|s| s == "openid")) {
            json["id_token"] = Value::String(self.id_token(nonce));
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
            "email": self.options.account_email,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = Value::String(nonce);
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("sign ID token")
    }

    fn revoke(&self, req: &Request) -> Reply {
        let form = match self.client_form(req) {
            Ok(form) => form,
            Err(reply) => return reply,
        };
        let token = match required(&form, "token") {
            Ok(token) => token.to_string(),
            Err(reply) => return reply,
        };
        let mut state = self.state();
        if let Some(grant) = state.grant_of(&token) {
            state.grants[grant].revoked = true;
        }
        state.revoked_tokens.push(token);
        text(200, "").header("Cache-Control", "no-store")
    }

    fn userinfo(&self, req: &Request) -> Reply {
        let auth = req.header("authorization").unwrap_or("");
        let token = match auth.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => "",
        };
        let state = self.state();
        let live = state.grants.iter().filter(|g| !g.revoked).any(|g| {
            g.access
                .iter()
                .any(|(t, expiry)| t == token && *expiry > Instant::now())
        });
        if !live {
            return Reply::json(401, r#"{"error":"invalid_token"}"#)
                .header("WWW-Authenticate", r#"Bearer error="invalid_token""#);
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

/// BASE64URL(SHA256(verifier)), the S256 `code_challenge`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier))
}

fn text(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: body.into(),
        delay: Duration::ZERO,
    }
}

/// An RFC 6749 §5.2 error answer.
fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
    let body = json!({"error": error, "error_description": description});
    Reply::json(status, &body.to_string()).header("Cache-Control", "no-store")
}

fn invalid_request(description: &str) -> Reply {
    oauth_error(400, "invalid_request", description)
}

fn invalid_grant(description: &str) -> Reply {
    oauth_error(400, "invalid_grant", description)
}

fn required<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Reply> {
    match form.get(name) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(invalid_request(&format!("{name} is required"))),
    }
}

/// `application/x-www-form-urlencoded` (also a query string); a repeated parameter is an
/// error (RFC 6749 §3.1).
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

fn decode(input: &str) -> Result<String, String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                let hex = hex.ok_or("malformed percent-encoding")?;
                out.push(u8::from_str_radix(std::str::from_utf8(hex).unwrap(), 16).unwrap());
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "parameter is not UTF-8".into())
}

/// Percent-encodes all but the unreserved characters (for queries and form bodies).
pub fn encode(input: &str) -> String {
    let mut out = String::new();
    for byte in input.bytes() {
        if is_unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~".contains(&byte)
}

fn is_base64url(input: &str) -> bool {
    input
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `http://127.0.0.1[:port]/…`, `http://[::1][:port]/…` or `http://localhost[:port]/…`.
fn is_loopback_http(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    if uri.contains('#') {
        return false;
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
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
