//! Google Vertex AI through the library: service account (RFC 7523) and authorized-user
//! credentials against loopback stand-ins for Google's token endpoint and Vertex AI, the
//! token cache, and the refusals (types, foreign token_uri, bad keys, clock skew).
//!
//! These tests set process environment variables, so they hold `LOCK` from start to end.

mod common;

use clap::Parser;
use claude_auth::cli::Cli;
use claude_auth::context::Context;
use claude_auth::envvars::Env;
use claude_auth::error::{AuthError, ErrorCode};
use claude_auth::providers::vertex;
use common::google_server::{
    access_token_for, authorized_user_json, service_account_json, TokenMode, TokenServer, KEY_PEM,
    LOCATION, MODEL, PROJECT, SA_EMAIL, SA_EMAIL_2, USER_ACCESS_TOKEN,
};
use common::servers::Server;
use common::set_mode;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// One isolated user: HOME, state directory, config with an encrypted-file store, and a
/// directory outside HOME for credential files.
struct Fixture {
    home: TempDir,
    creds: TempDir,
    /// The fixture's environment, handed to each command as its snapshot: tests run in
    /// parallel and never change the process's own.
    vars: RefCell<Env>,
}

impl Fixture {
    /// Runs the Vertex check (token, then the API) as a command would, to its verdict.
    fn verify(&self) -> Result<claude_auth::providers::Verdict, AuthError> {
        run(vertex::verify(&self.ctx(), &http()))
    }

    fn new() -> Fixture {
        let fixture = Fixture {
            home: tempfile::tempdir().unwrap(),
            creds: tempfile::tempdir().unwrap(),
            vars: RefCell::new(Env::default()),
        };
        fixture.set("HOME", fixture.home.path());
        fixture.set("CLAUDE_CONFIG_DIR", fixture.state_dir());
        fixture.set("CLAUDE_PASSPHRASE", common::PASSPHRASE);
        fixture.write_config(json!({}));
        fixture
    }

    /// Sets `name` in the fixture's environment.
    fn set(&self, name: &str, value: impl AsRef<std::ffi::OsStr>) {
        let value = value.as_ref().to_str().expect("UTF-8 test value");
        self.vars.borrow_mut().set(name, value);
    }

    /// Removes `name` from the fixture's environment.
    fn unset(&self, name: &str) {
        self.vars.borrow_mut().remove(name);
    }

    fn state_dir(&self) -> PathBuf {
        self.home.path().join(".claude")
    }

    fn config_path(&self) -> PathBuf {
        self.state_dir().join("config.json")
    }

    /// The config: `extra` over an encrypted-file store and a 10 s budget.
    fn write_config(&self, extra: Value) {
        let mut config = json!({"authentication": {
            "storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"},
            "timeout": 10000,
            "retryAttempts": 0,
        }});
        for (key, value) in extra.as_object().unwrap() {
            config[key] = value.clone();
        }
        std::fs::create_dir_all(self.state_dir()).unwrap();
        set_mode(self.state_dir(), 0o700);
        write_private(&self.config_path(), &config.to_string());
    }

    /// A context as `claude --auth-status --config PATH` builds it.
    fn ctx(&self) -> Context {
        let config = self.config_path().display().to_string();
        let cli = Cli::try_parse_from(["claude", "--auth-status", "--config", &config]).unwrap();
        Context::new(&cli, None, self.vars.borrow().clone()).unwrap()
    }

    /// A 0600 credential file outside HOME.
    fn credential_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.creds.path().join(name);
        write_private(&path, contents);
        path
    }

    fn use_credentials(&self, path: &Path) {
        self.set("GOOGLE_APPLICATION_CREDENTIALS", path);
    }

    /// `sa.json`, a service account key for `SA_EMAIL` in `PROJECT` that trusts `token_uri`,
    /// made the credential in use.
    fn use_service_account(&self, token_uri: &str) -> PathBuf {
        let key = self.credential_file(
            "sa.json",
            &service_account_json(SA_EMAIL, token_uri, Some(PROJECT)),
        );
        self.use_credentials(&key);
        key
    }

    /// Project and location from the environment, Vertex AI at `vertex`.
    fn point_at(&self, vertex: &Server) {
        self.set("GOOGLE_CLOUD_PROJECT", PROJECT);
        self.set("CLOUD_ML_REGION", LOCATION);
        self.set("ANTHROPIC_VERTEX_BASE_URL", vertex.url());
    }
}

/// Whatever a test did, no secret may be left in plaintext under HOME (gcloud's own file,
/// written by the test, excepted).
impl Drop for Fixture {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        for path in common::files_under(self.home.path()) {
            if path.starts_with(self.home.path().join(".config/gcloud")) {
                continue;
            }
            let text =
                String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
            assert_clean(&text, &format!("file {}", path.display()));
        }
    }
}

fn write_private(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
    set_mode(path, 0o600);
}

/// Secrets that must never be shown or stored in plaintext.
fn secrets() -> Vec<String> {
    let key_lines = KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .skip(2)
        .take(3)
        .map(str::to_string);
    let mut all: Vec<String> = key_lines.collect();
    all.extend([
        common::google_server::CLIENT_SECRET.to_string(),
        common::google_server::REFRESH_TOKEN.to_string(),
        USER_ACCESS_TOKEN.to_string(),
        access_token_for(SA_EMAIL),
        access_token_for(SA_EMAIL_2),
        "BADKEYMATERIAL".to_string(),
        "REVOKEDREFRESHTOKEN".to_string(),
    ]);
    all
}

fn assert_clean(text: &str, what: &str) {
    for secret in secrets() {
        assert!(
            !text.contains(&secret),
            "a secret ({}…) appears in {what}:\n{text}",
            &secret[..6]
        );
    }
}

/// Message, hint, causes and `{:?}` of an error, checked for secrets.
fn clean_error(err: &AuthError) -> String {
    let text = format!(
        "{}\n{:?}\n{:?}\n{err:?}",
        err.message(),
        err.hint(),
        err.causes()
    );
    assert_clean(&text, "an error");
    text
}

fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn http() -> reqwest::Client {
    claude_auth::http::client(&Env::default()).unwrap()
}

fn setting<'a>(info: &'a claude_auth::providers::CredentialInfo, name: &str) -> Option<&'a str> {
    info.settings
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn service_account_gets_a_token_and_reaches_the_model() {
    let fx = Fixture::new();
    let google = TokenServer::start(TokenMode::Normal);
    let token = access_token_for(SA_EMAIL);
    let api = common::google_server::vertex(vec![token.clone()], 200);
    fx.use_service_account(&google.token_uri());
    fx.point_at(&api);
    let ctx = fx.ctx();

    let info = vertex::credential(&ctx).unwrap();
    assert_eq!(info.source, "env:GOOGLE_APPLICATION_CREDENTIALS");
    assert!(info.description.contains(SA_EMAIL), "{}", info.description);
    assert!(info.shadowed.is_empty());
    assert_eq!(setting(&info, "project"), Some(PROJECT));
    assert_eq!(setting(&info, "location"), Some(LOCATION));
    assert_eq!(setting(&info, "account"), Some(SA_EMAIL));
    assert!(setting(&info, "endpoint").unwrap().starts_with(&api.url()));

    let verdict = run(vertex::verify(&ctx, &http())).unwrap();
    assert_eq!(
        verdict.detail,
        format!("model {MODEL} is available to project {PROJECT} in {LOCATION}")
    );
    assert!(verdict.server_date.is_some());
    assert_eq!(google.hits(), 1);
    let form = google.form(0);
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert_eq!(
        form.len(),
        2,
        "only grant_type and assertion: {:?}",
        form.keys()
    );
    let calls = api.requests();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_clean(&format!("{info:?}\n{verdict:?}"), "debug output");
}

#[test]
fn authorized_user_from_gcloud_application_default_credentials() {
    let fx = Fixture::new();
    let google = TokenServer::start(TokenMode::Normal);
    let api = common::google_server::vertex(vec![USER_ACCESS_TOKEN.to_string()], 200);
    let gcloud = fx.creds.path().join("gcloud");
    let adc = gcloud.join("application_default_credentials.json");
    write_private(&adc, &authorized_user_json(&google.token_uri(), PROJECT));
    fx.set("CLOUDSDK_CONFIG", &gcloud);
    fx.set("CLOUD_ML_REGION", LOCATION);
    fx.set("ANTHROPIC_VERTEX_BASE_URL", api.url());
    let ctx = fx.ctx();

    let info = vertex::credential(&ctx).unwrap();
    assert_eq!(info.source, format!("adc:{}", adc.display()));
    assert_eq!(
        setting(&info, "project"),
        Some(PROJECT),
        "quota_project_id is the project"
    );
    assert_eq!(setting(&info, "account"), None);
    assert!(info.fingerprint.is_some());

    let verdict = run(vertex::verify(&ctx, &http())).unwrap();
    assert!(verdict.detail.contains(MODEL));
    let form = google.form(0);
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["client_id"], common::google_server::CLIENT_ID);
    let token = run(vertex::access_token(&ctx, &http())).unwrap();
    assert_eq!(token.expose(), USER_ACCESS_TOKEN);
    assert_eq!(google.hits(), 1, "the cached token served access_token()");
    assert_clean(&format!("{info:?}\n{verdict:?}\n{token:?}"), "debug output");
}

#[test]
fn google_application_credentials_shadows_gcloud_adc_and_default_endpoints_follow_location() {
    let fx = Fixture::new();
    let adc = fx
        .home
        .path()
        .join(".config/gcloud/application_default_credentials.json");
    write_private(
        &adc,
        &authorized_user_json("https://oauth2.googleapis.com/token", PROJECT),
    );
    fx.use_service_account("https://oauth2.googleapis.com/token");
    fx.set("CLOUD_ML_REGION", "europe-west1");

    let info = vertex::credential(&fx.ctx()).unwrap();
    assert_eq!(info.source, "env:GOOGLE_APPLICATION_CREDENTIALS");
    assert_eq!(info.shadowed, vec![format!("adc:{}", adc.display())]);
    assert_eq!(
        setting(&info, "endpoint"),
        Some("https://europe-west1-aiplatform.googleapis.com/")
    );

    fx.unset("GOOGLE_APPLICATION_CREDENTIALS");
    fx.set("CLOUD_ML_REGION", "global");
    let info = vertex::credential(&fx.ctx()).unwrap();
    assert_eq!(info.source, format!("adc:{}", adc.display()));
    assert!(info.shadowed.is_empty());
    assert_eq!(
        setting(&info, "endpoint"),
        Some("https://aiplatform.googleapis.com/")
    );
    assert_clean(&format!("{info:?}"), "debug output");
}

#[test]
fn no_credentials_is_not_authenticated_with_a_hint() {
    let fx = Fixture::new();
    fx.set("CLOUD_ML_REGION", LOCATION);
    let err = vertex::credential(&fx.ctx()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotAuthenticated);
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("gcloud auth application-default login")
            && hint.contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{hint}"
    );

    fx.set(
        "GOOGLE_APPLICATION_CREDENTIALS",
        fx.creds.path().join("missing.json"),
    );
    let err = vertex::credential(&fx.ctx()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(err.message().contains("missing.json"), "{}", err.message());
}

#[test]
fn unsupported_or_incomplete_credential_files_are_refused_naming_what_and_file() {
    let fx = Fixture::new();
    fx.set("CLOUD_ML_REGION", LOCATION);
    let cases = [
        (
            "`gdch_service_account`",
            json!({"type": "gdch_service_account", "project": "p"}),
        ),
        (
            "has no `subject_token_type`",
            json!({
                "type": "external_account",
                "audience": "//iam.googleapis.com/x",
                "token_url": "https://sts.googleapis.com/v1/token",
            }),
        ),
        (
            "has no `service_account_impersonation_url`",
            json!({
                "type": "impersonated_service_account",
                "source_credentials": {"type": "authorized_user"},
            }),
        ),
        (
            "has no `type`",
            json!({"client_email": SA_EMAIL, "private_key": KEY_PEM}),
        ),
    ];
    for (expected, doc) in cases {
        let path = fx.credential_file("odd.json", &doc.to_string());
        fx.use_credentials(&path);
        let err = vertex::credential(&fx.ctx()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigError);
        let text = clean_error(&err);
        assert!(
            err.message().contains(expected) && err.message().contains(&path.display().to_string()),
            "{text}"
        );
    }

    let broken = format!(
        r#"{{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----
BADKEYMATERIAL{}"#,
        &KEY_PEM[40..200]
    );
    let path = fx.credential_file("broken.json", &broken);
    fx.use_credentials(&path);
    let err = vertex::credential(&fx.ctx()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    let text = clean_error(&err);
    assert!(
        err.message().contains("broken.json") && err.message().contains("not valid JSON"),
        "{text}"
    );
}

#[test]
fn foreign_token_uri_is_refused_before_any_request() {
    let fx = Fixture::new();
    let google = TokenServer::start(TokenMode::Normal);
    let api = common::google_server::vertex(vec![access_token_for(SA_EMAIL)], 200);
    fx.point_at(&api);
    let foreign = [
        service_account_json(
            SA_EMAIL,
            "https://oauth2.googleapis.com.evil.example/token",
            Some(PROJECT),
        ),
        service_account_json(SA_EMAIL, "http://192.0.2.1/token", Some(PROJECT)),
        authorized_user_json("https://login.example.com/oauth2/token", PROJECT),
    ];
    for doc in foreign {
        let path = fx.credential_file("foreign.json", &doc);
        fx.use_credentials(&path);
        let ctx = fx.ctx();
        for err in [
            vertex::credential(&ctx).unwrap_err(),
            run(vertex::verify(&ctx, &http())).unwrap_err(),
            run(vertex::access_token(&ctx, &http())).unwrap_err(),
        ] {
            assert_eq!(err.code(), ErrorCode::ConfigError);
            let text = clean_error(&err);
            assert!(
                err.message().contains("token_uri") && err.message().contains("foreign.json"),
                "{text}"
            );
        }
    }
    assert_eq!(google.hits(), 0);
    assert!(api.requests().is_empty());
}

#[test]
fn bad_private_key_is_a_clear_error_without_the_key() {
    let fx = Fixture::new();
    let api = common::google_server::vertex(vec![], 200);
    fx.point_at(&api);
    let mut doc: Value = serde_json::from_str(&service_account_json(
        SA_EMAIL,
        "https://oauth2.googleapis.com/token",
        Some(PROJECT),
    ))
    .unwrap();
    doc["private_key"] =
        json!("-----BEGIN PRIVATE KEY-----\nBADKEYMATERIAL+not/a=key\n-----END PRIVATE KEY-----\n");
    let path = fx.credential_file("bad-key.json", &doc.to_string());
    fx.use_credentials(&path);
    let ctx = fx.ctx();
    for err in [
        vertex::credential(&ctx).unwrap_err(),
        run(vertex::verify(&ctx, &http())).unwrap_err(),
    ] {
        assert_eq!(err.code(), ErrorCode::ConfigError);
        let text = clean_error(&err);
        assert_eq!(
            err.message(),
            format!(
                "the private key in {} is not a valid RSA key",
                path.display()
            ),
            "{text}"
        );
    }
    assert!(api.requests().is_empty());
}

#[test]
fn rejected_jwt_reports_clock_skew_with_the_offset() {
    let fx = Fixture::new();
    let google = TokenServer::start(TokenMode::InvalidJwt);
    let api = common::google_server::vertex(vec![access_token_for(SA_EMAIL)], 200);
    fx.use_service_account(&google.token_uri());
    fx.point_at(&api);

    let err = fx.verify().unwrap_err();
    assert_eq!(err.code(), ErrorCode::OauthError);
    let text = clean_error(&err);
    assert!(
        err.message().contains("JWT") && err.message().contains("clock"),
        "{text}"
    );
    assert!(
        ["599 s", "600 s", "601 s"]
            .iter()
            .any(|s| err.message().contains(s)),
        "{text}"
    );
    assert!(err.message().contains("behind"), "{text}");
    assert_eq!(google.hits(), 1);
    assert!(api.requests().is_empty());
}

#[test]
fn access_token_is_cached_and_reused_by_the_next_verify() {
    let fx = Fixture::new();
    let google = TokenServer::start(TokenMode::Normal);
    let token = access_token_for(SA_EMAIL);
    let api = common::google_server::vertex(vec![token.clone()], 200);
    fx.use_service_account(&google.token_uri());
    fx.point_at(&api);

    fx.verify().unwrap();
    fx.verify().unwrap();
    assert_eq!(google.hits(), 1, "the second verify used the cached token");
    assert_eq!(api.requests().len(), 2);
    assert_eq!(
        run(vertex::access_token(&fx.ctx(), &http()))
            .unwrap()
            .expose(),
        &token
    );
    assert_eq!(google.hits(), 1);
    assert!(
        fx.state_dir().join("credentials.enc").exists(),
        "the cache lives in the encrypted store"
    );
}

#[test]
fn cached_token_is_not_reused_for_another_credential_file() {
    let fx = Fixture::new();
    let google = TokenServer::start(TokenMode::Normal);
    let api = common::google_server::vertex(
        vec![access_token_for(SA_EMAIL), access_token_for(SA_EMAIL_2)],
        200,
    );
    fx.point_at(&api);
    let first = fx.credential_file(
        "first.json",
        &service_account_json(SA_EMAIL, &google.token_uri(), Some(PROJECT)),
    );
    let second = fx.credential_file(
        "second.json",
        &service_account_json(SA_EMAIL_2, &google.token_uri(), Some(PROJECT)),
    );
    let copy = fx.credential_file(
        "copy-of-first.json",
        &std::fs::read_to_string(&first).unwrap(),
    );

    for (n, path) in [&first, &second, &copy].into_iter().enumerate() {
        fx.use_credentials(path);
        fx.verify().unwrap();
        assert_eq!(
            google.hits(),
            n + 1,
            "{} fetched its own token",
            path.display()
        );
    }
    let bearers: Vec<String> = api
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or("").to_string())
        .collect();
    assert_eq!(
        bearers[1],
        format!("Bearer {}", access_token_for(SA_EMAIL_2))
    );
}

#[test]
fn missing_project_or_location_is_a_config_error() {
    let fx = Fixture::new();
    let google = TokenServer::start(TokenMode::Normal);
    let api = common::google_server::vertex(vec![access_token_for(SA_EMAIL)], 200);
    let key = fx.credential_file(
        "sa.json",
        &service_account_json(SA_EMAIL, &google.token_uri(), None),
    );
    fx.use_credentials(&key);
    fx.set("ANTHROPIC_VERTEX_BASE_URL", api.url());
    fx.set("CLOUD_ML_REGION", LOCATION);

    let err = fx.verify().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(
        err.message().contains("project") && err.hint().unwrap().contains("GOOGLE_CLOUD_PROJECT"),
        "{}",
        clean_error(&err)
    );

    fx.set("GOOGLE_CLOUD_PROJECT", "from-google-cloud-project");
    fx.unset("CLOUD_ML_REGION");
    let err = vertex::credential(&fx.ctx()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(
        err.message().contains("location") && err.hint().unwrap().contains("CLOUD_ML_REGION"),
        "{}",
        clean_error(&err)
    );
    assert_eq!(google.hits(), 0);
    assert!(api.requests().is_empty());

    fx.write_config(json!({"location": "us-central1", "project": "from-config"}));
    let info = vertex::credential(&fx.ctx()).unwrap();
    assert_eq!(setting(&info, "location"), Some("us-central1"));
    assert_eq!(setting(&info, "project"), Some("from-google-cloud-project"));
    fx.set("ANTHROPIC_VERTEX_PROJECT_ID", "from-anthropic-var");
    assert_eq!(
        setting(&vertex::credential(&fx.ctx()).unwrap(), "project"),
        Some("from-anthropic-var")
    );
}

#[test]
fn location_that_is_not_a_region_is_refused() {
    let fx = Fixture::new();
    fx.use_service_account("https://oauth2.googleapis.com/token");
    fx.set("CLOUD_ML_REGION", "evil.example/x?");
    let err = vertex::credential(&fx.ctx()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(
        err.message().contains("not a region"),
        "{}",
        clean_error(&err)
    );
}

#[test]
fn forbidden_model_is_insufficient_permissions() {
    let fx = Fixture::new();
    let google = TokenServer::start(TokenMode::Normal);
    let api = common::google_server::vertex(vec![access_token_for(SA_EMAIL)], 403);
    fx.use_service_account(&google.token_uri());
    fx.point_at(&api);

    let err = fx.verify().unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientPermissions);
    let text = clean_error(&err);
    assert!(
        err.hint().unwrap().contains("roles/aiplatform.user")
            && err.hint().unwrap().contains("Model Garden"),
        "{text}"
    );
    assert!(
        err.message().contains(MODEL) && err.message().contains(PROJECT),
        "{text}"
    );
}

#[test]
fn revoked_refresh_token_is_expired_token_without_echoing_the_answer() {
    let fx = Fixture::new();
    let google = TokenServer::start(TokenMode::Normal);
    let api = common::google_server::vertex(vec![USER_ACCESS_TOKEN.to_string()], 200);
    let mut doc: Value =
        serde_json::from_str(&authorized_user_json(&google.token_uri(), PROJECT)).unwrap();
    doc["refresh_token"] = json!("1//0gREVOKEDREFRESHTOKEN-abcdefghijklmnop");
    let path = fx.credential_file("adc.json", &doc.to_string());
    fx.use_credentials(&path);
    fx.point_at(&api);

    let err = fx.verify().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ExpiredToken);
    let text = clean_error(&err);
    assert!(
        err.hint()
            .unwrap()
            .contains("gcloud auth application-default login"),
        "{text}"
    );
    assert!(
        !text.contains("stand-in"),
        "the server's text is not echoed: {text}"
    );
    assert!(api.requests().is_empty());
}

#[test]
fn refused_cached_token_is_dropped_and_fetched_again_once() {
    let fx = Fixture::new();
    let google = TokenServer::start(TokenMode::Normal);
    fx.use_service_account(&google.token_uri());
    let accepting = common::google_server::vertex(vec![access_token_for(SA_EMAIL)], 200);
    fx.point_at(&accepting);
    fx.verify().unwrap();
    drop(accepting);

    let refusing = common::google_server::vertex(vec![], 200);
    fx.point_at(&refusing);
    let err = fx.verify().unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidApiKey);
    assert!(
        err.message().contains("Google rejected the access token"),
        "{}",
        clean_error(&err)
    );
    assert_eq!(
        google.hits(),
        2,
        "a new token was fetched after the cached one was refused"
    );
    assert_eq!(refusing.requests().len(), 2, "and tried once");
}

#[test]
fn unusable_store_means_no_cache_not_a_failure() {
    let fx = Fixture::new();
    fx.set("CLAUDE_PASSPHRASE", "");
    let google = TokenServer::start(TokenMode::Normal);
    let api = common::google_server::vertex(vec![access_token_for(SA_EMAIL)], 200);
    fx.use_service_account(&google.token_uri());
    fx.point_at(&api);

    fx.verify().unwrap();
    fx.verify().unwrap();
    assert_eq!(google.hits(), 2);
}

#[cfg(unix)]
#[test]
fn credential_file_other_users_can_read_is_refused() {
    let fx = Fixture::new();
    fx.set("CLOUD_ML_REGION", LOCATION);
    let key = fx.credential_file(
        "sa.json",
        &service_account_json(
            SA_EMAIL,
            "https://oauth2.googleapis.com/token",
            Some(PROJECT),
        ),
    );
    set_mode(&key, 0o644);
    fx.use_credentials(&key);
    let err = vertex::credential(&fx.ctx()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(
        err.hint().unwrap().contains("chmod 600"),
        "{}",
        clean_error(&err)
    );
}

#[test]
fn token_stand_in_refuses_assertions_it_cannot_verify() {
    let _fx = Fixture::new();
    let google = TokenServer::start(TokenMode::Normal);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(common::google_server::KEY_ID.into());
    let claims = |aud: &str, lifetime: u64| {
        json!({
            "iss": SA_EMAIL,
            "sub": SA_EMAIL,
            "aud": aud,
            "scope": vertex::SCOPE,
            "iat": now,
            "exp": now + lifetime,
        })
    };
    let good = jsonwebtoken::encode(&header, &claims(&google.token_uri(), 3600), &key).unwrap();
    let wrong_audience = jsonwebtoken::encode(
        &header,
        &claims("https://oauth2.googleapis.com/token", 3600),
        &key,
    )
    .unwrap();
    let too_long = jsonwebtoken::encode(&header, &claims(&google.token_uri(), 7200), &key).unwrap();
    let mut forged = good.clone();
    forged.replace_range(forged.len() - 8.., "AAAAAAAA");
    let post = |assertion: &str| {
        let grant = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
        let body = format!("grant_type={grant}&assertion={assertion}");
        let request = http()
            .post(google.token_uri())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        run(async { request.send().await.unwrap().status().as_u16() })
    };
    assert_eq!(post(&good), 200);
    for bad in [wrong_audience, too_long, forged] {
        assert_eq!(post(&bad), 400);
    }
}
