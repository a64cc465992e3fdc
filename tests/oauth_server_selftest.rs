//! The OAuth/OIDC stand-in itself, driven over raw TCP: PKCE, single-use codes, refresh
//! rotation and reuse detection, discovery and ID tokens.
mod common;

use common::oauth_server::{
    encode, parse_form, pkce_challenge, OAuthOptions, OAuthServer, TokenMode,
};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;

const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K7pGzp1nDdOxW0H4RaGxvEwXyQaLe";
const REDIRECT: &str = "http://127.0.0.1:8123/callback";
const CLIENT: &str = "claude-test-client";

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        found.next().map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 request over a fresh connection; reads until the server closes.
fn http(url: &str, method: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(host).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    pairs.join("&")
}

fn post_form(url: &str, pairs: &[(&str, &str)]) -> Answer {
    let content_type = [("Content-Type", "application/x-www-form-urlencoded")];
    http(url, "POST", &content_type, &form(pairs))
}

fn get(url: &str) -> Answer {
    http(url, "GET", &[], "")
}

fn authorize_with(server: &OAuthServer, pairs: &[(&str, &str)]) -> Answer {
    get(&format!("{}?{}", server.authorize_endpoint(), form(pairs)))
}

/// A valid authorization request; returns the callback's query parameters.
fn authorize(server: &OAuthServer, scope: &str) -> HashMap<String, String> {
    let challenge = pkce_challenge(VERIFIER);
    let answer = authorize_with(
        server,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "st-123 / 456"),
            ("nonce", "n-0S6_WzA2Mj"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(answer.status, 302, "{}", answer.body);
    let location = answer.header("location").unwrap();
    let query = location
        .strip_prefix(&format!("{REDIRECT}?"))
        .expect(location);
    parse_form(query).unwrap()
}

fn exchange(server: &OAuthServer, code: &str, verifier: &str) -> Answer {
    post_form(
        &server.token_endpoint(),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT),
            ("code_verifier", verifier),
        ],
    )
}

fn refresh(server: &OAuthServer, token: &str) -> Answer {
    post_form(
        &server.token_endpoint(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", CLIENT),
        ],
    )
}

fn userinfo(server: &OAuthServer, access: &str) -> u16 {
    let bearer = format!("Bearer {access}");
    http(
        &server.userinfo_endpoint(),
        "GET",
        &[("Authorization", &bearer)],
        "",
    )
    .status
}

#[test]
fn pkce_code_exchange_issues_tokens() {
    let server = OAuthServer::start(OAuthOptions::default());
    let callback = authorize(&server, "user:profile offline_access");
    assert_eq!(callback["state"], "st-123 / 456");
    assert_eq!(callback["iss"], server.url());
    let seen = server.last_authorization().unwrap();
    assert_eq!(seen.code_challenge, pkce_challenge(VERIFIER));
    assert_eq!(seen.nonce.as_deref(), Some("n-0S6_WzA2Mj"));

    let answer = exchange(&server, &callback["code"], VERIFIER);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let json = answer.json();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 3600);
    assert_eq!(json["scope"], "user:profile offline_access");
    assert_eq!(json["account"]["email_address"], "dev@example.com");
    assert!(json["refresh_token"].as_str().unwrap().starts_with("rt_"));
    assert!(
        json.get("id_token").is_none(),
        "no openid scope, no ID token"
    );
    assert_eq!(
        userinfo(&server, json["access_token"].as_str().unwrap()),
        200
    );
    assert_eq!(userinfo(&server, "at_made_up"), 401);
    assert_eq!(server.token_requests("authorization_code"), 1);
}

#[test]
fn wrong_verifier_is_rejected() {
    let server = OAuthServer::start(OAuthOptions::default());
    let callback = authorize(&server, "openid");
    let wrong = "x".repeat(43);
    let answer = exchange(&server, &callback["code"], &wrong);
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"], "invalid_grant");
    let short = exchange(&server, &authorize(&server, "openid")["code"], "too-short");
    assert_eq!(short.json()["error"], "invalid_request");
}

#[test]
fn reused_code_is_rejected_and_its_grant_revoked() {
    let server = OAuthServer::start(OAuthOptions::default());
    let code = authorize(&server, "openid")["code"].clone();
    let first = exchange(&server, &code, VERIFIER).json();
    assert!(!server.grant_revoked());
    let again = exchange(&server, &code, VERIFIER);
    assert_eq!(
        (again.status, again.json()["error"].clone()),
        (400, "invalid_grant".into())
    );
    assert!(server.grant_revoked());
    assert_eq!(
        userinfo(&server, first["access_token"].as_str().unwrap()),
        401
    );
    let refreshed = refresh(&server, first["refresh_token"].as_str().unwrap());
    assert_eq!(refreshed.json()["error"], "invalid_grant");
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_grant() {
    let server = OAuthServer::start(OAuthOptions::default());
    let seeded = server.issue_tokens_directly("user:inference");
    let old = seeded["refresh_token"].as_str().unwrap();
    let answer = refresh(&server, old);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let new = answer.json();
    let rotated = new["refresh_token"].as_str().unwrap();
    assert_ne!(rotated, old);
    assert_eq!(new["scope"], "user:inference");
    assert!(new.get("id_token").is_none());

    let reused = refresh(&server, old);
    assert_eq!(reused.json()["error"], "invalid_grant");
    assert!(server.grant_revoked());
    assert_eq!(refresh(&server, rotated).json()["error"], "invalid_grant");
    assert_eq!(
        userinfo(&server, new["access_token"].as_str().unwrap()),
        401
    );
    assert_eq!(server.token_requests("refresh_token"), 3);
}

#[test]
fn refresh_without_rotation_or_without_refresh_token_in_the_answer() {
    let options = OAuthOptions {
        return_refresh_token_on_refresh: false,
        ..Default::default()
    };
    let server = OAuthServer::start(options);
    let seeded = server.issue_tokens_directly("user:inference");
    let token = seeded["refresh_token"].as_str().unwrap();
    let answer = refresh(&server, token).json();
    assert!(answer.get("refresh_token").is_none());
    assert_eq!(
        refresh(&server, token).status,
        200,
        "the old one stays valid"
    );
    assert!(!server.grant_revoked());
}

#[test]
fn authorization_request_is_validated_strictly() {
    let options = OAuthOptions {
        redirect_uri: REDIRECT.into(),
        ..Default::default()
    };
    let server = OAuthServer::start(options);
    let challenge = pkce_challenge(VERIFIER);
    let valid = [
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("state", "s"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    assert_eq!(authorize_with(&server, &valid).status, 302);
    let with = |name: &str, value: &str| {
        let mut pairs: Vec<(&str, &str)> =
            valid.iter().filter(|(n, _)| *n != name).copied().collect();
        pairs.push((name, value));
        authorize_with(&server, &pairs).status
    };
    assert_eq!(with("code_challenge_method", "plain"), 400);
    assert_eq!(with("code_challenge", VERIFIER), 400);
    assert_eq!(with("response_type", "token"), 400);
    assert_eq!(with("client_id", "someone-else"), 400);
    assert_eq!(with("redirect_uri", "http://127.0.0.1:9999/callback"), 400);
    assert_eq!(with("state", ""), 400);
    let no_method: Vec<_> = valid
        .iter()
        .filter(|(n, _)| *n != "code_challenge_method")
        .copied()
        .collect();
    assert_eq!(authorize_with(&server, &no_method).status, 400);
    assert_eq!(
        server.last_authorization().unwrap().code_challenge_method,
        ""
    );
}

#[test]
fn denied_authorization_redirects_with_the_state() {
    let server = OAuthServer::start(OAuthOptions {
        advertise_iss: false,
        ..Default::default()
    });
    server.deny_next_authorization();
    let challenge = pkce_challenge(VERIFIER);
    let answer = authorize_with(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", "http://localhost:0/cb"),
            ("state", "xyz"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(
        answer.header("location"),
        Some("http://localhost:0/cb?error=access_denied&state=xyz")
    );
}

#[test]
fn token_endpoint_modes_and_form_checks() {
    let server = OAuthServer::start(OAuthOptions::default());
    let token = server.issue_tokens_directly("a")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let json_body = http(
        &server.token_endpoint(),
        "POST",
        &[("Content-Type", "application/json")],
        "{}",
    );
    assert_eq!(json_body.json()["error"], "invalid_request");
    let stranger = post_form(
        &server.token_endpoint(),
        &[("grant_type", "refresh_token"), ("refresh_token", &token)],
    );
    assert_eq!(
        (stranger.status, stranger.json()["error"].clone()),
        (401, "invalid_client".into())
    );
    server.set_token_mode(TokenMode::Html);
    let html = refresh(&server, &token);
    assert_eq!(
        (html.status, html.header("content-type"), html.body.as_str()),
        (200, Some("text/html"), "<html>login</html>")
    );
    server.set_token_mode(TokenMode::ServerError);
    assert_eq!(refresh(&server, &token).status, 500);
    server.set_token_mode(TokenMode::InvalidGrant);
    assert_eq!(refresh(&server, &token).json()["error"], "invalid_grant");
    server.set_token_mode(TokenMode::Slow(std::time::Duration::from_millis(300)));
    let started = std::time::Instant::now();
    assert_eq!(refresh(&server, &token).status, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(server.token_requests("refresh_token"), 5);
}

#[test]
fn revocation_revokes_the_whole_grant() {
    let server = OAuthServer::start(OAuthOptions::default());
    let tokens = server.issue_tokens_directly("a");
    let (access, refresh_token) = (
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    );
    let answer = post_form(
        &server.revocation_endpoint(),
        &[
            ("token", refresh_token),
            ("token_type_hint", "refresh_token"),
            ("client_id", CLIENT),
        ],
    );
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    let unknown = post_form(
        &server.revocation_endpoint(),
        &[("token", "nope"), ("client_id", CLIENT)],
    );
    assert_eq!(unknown.status, 200);
    assert_eq!(
        server.revoked_tokens(),
        vec![refresh_token.to_string(), "nope".into()]
    );
    assert_eq!(userinfo(&server, access), 401);
    assert_eq!(
        refresh(&server, refresh_token).json()["error"],
        "invalid_grant"
    );
    assert!(!server.grant_revoked(), "a logout is not reuse detection");
}

#[test]
fn discovery_and_jwks_describe_the_issuer() {
    let server = OAuthServer::start(OAuthOptions::default());
    let discovery = get(&format!(
        "{}/.well-known/openid-configuration",
        server.url()
    ))
    .json();
    assert_eq!(discovery["issuer"], server.url());
    assert_eq!(
        discovery["authorization_endpoint"],
        server.authorize_endpoint()
    );
    assert_eq!(discovery["token_endpoint"], server.token_endpoint());
    assert_eq!(
        discovery["revocation_endpoint"],
        server.revocation_endpoint()
    );
    assert_eq!(discovery["jwks_uri"], format!("{}/jwks", server.url()));
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );
    let jwks = get(&server.jwks_uri()).json();
    assert_eq!(jwks["keys"][0]["kid"], "test-key-1");
    assert_eq!(get(&format!("{}/nowhere", server.url())).status, 404);
}

#[test]
fn id_token_verifies_with_the_fixture_jwks() {
    use jsonwebtoken::{decode, decode_header, jwk::JwkSet, Algorithm, DecodingKey, Validation};
    let server = OAuthServer::start(OAuthOptions {
        account_email: "sso@example.org".into(),
        ..Default::default()
    });
    let callback = authorize(&server, "openid email");
    let tokens = exchange(&server, &callback["code"], VERIFIER).json();
    let id_token = tokens["id_token"]
        .as_str()
        .expect("ID token for openid scope");

    let jwks: JwkSet = serde_json::from_str(&get(&server.jwks_uri()).body).unwrap();
    let kid = decode_header(id_token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[CLIENT]);
    validation.set_issuer(&[server.url()]);
    let claims = decode::<Value>(id_token, &key, &validation).unwrap().claims;
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["email"], "sso@example.org");
    validation.set_audience(&["other"]);
    assert!(decode::<Value>(id_token, &key, &validation).is_err());
}
