//! AWS Bedrock authentication through the library: region and endpoint resolution, which
//! credential wins and what it shadows, bearer and SigV4 calls against a loopback stand-in
//! that verifies them, the error each AWS answer maps to, and no secret in any of it.

mod common;

use clap::Parser;
use claude_auth::context::Context;
use claude_auth::envvars::Env;
use claude_auth::error::{AuthError, ErrorCode};
use claude_auth::providers::bedrock;
use claude_auth::providers::{CredentialInfo, Verdict};
use common::bedrock_server::{self, aws_error, Accept, MODEL};
use common::servers::{Reply, Server};
use common::{set_mode, TestEnv};
use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Obviously fake credentials, long enough that a leak of their middle is detectable.
const BEARER: &str = "ABSKQmVkcm9ja0FQSUtleS1URVNUbearerTOKEN-0000000000-b3B3";
const ACCESS_KEY_ID: &str = "AKIATESTBEDROCK00001";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+TESTSECRETKEY0000s3S3";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjTESTSESSIONTOKEN000000000000/t0k+en==";
const WRONG_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+WRONGSECRETKEY000w4W4";

/// One isolated user: own HOME and state directory, and its own environment (a snapshot
/// handed to the command, so scenarios run in parallel without touching the process's).
struct Scenario {
    env: TestEnv,
    vars: RefCell<Env>,
}

impl Scenario {
    fn new() -> Scenario {
        let env = TestEnv::new();
        let vars = Env::of([
            ("HOME", env.home.path().to_str().unwrap()),
            ("CLAUDE_CONFIG_DIR", env.state_dir().to_str().unwrap()),
        ]);
        env.write_config("{}");
        Scenario {
            env,
            vars: RefCell::new(vars),
        }
    }

    fn set(&self, name: &str, value: &str) -> &Scenario {
        self.vars.borrow_mut().set(name, value);
        self
    }

    fn unset(&self, name: &str) -> &Scenario {
        self.vars.borrow_mut().remove(name);
        self
    }

    fn config(&self, json: &str) -> &Scenario {
        self.env.write_config(json);
        self
    }

    fn keys(&self) -> &Scenario {
        self.set("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .set("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    }

    /// A shared credentials file at `~/.aws/credentials`.
    fn credentials_file(&self, text: &str) -> std::path::PathBuf {
        let dir = self.env.home.path().join(".aws");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("credentials"), text).unwrap();
        private(&dir.join("credentials"));
        dir.join("credentials")
    }

    fn context(&self) -> Context {
        let path = self.env.config_path();
        let path = path.to_str().unwrap();
        let cli =
            claude_auth::cli::Cli::try_parse_from(["claude", "--auth-status", "--config", path])
                .unwrap();
        Context::new(&cli, None, self.vars.borrow().clone()).unwrap()
    }

    fn credential(&self) -> Result<CredentialInfo, AuthError> {
        let result = bedrock::credential(&self.context());
        assert_clean(&format!("{result:?}"));
        result
    }

    fn verify(&self) -> Result<Verdict, AuthError> {
        let ctx = self.context();
        let client = ctx.http().unwrap().clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = runtime.block_on(bedrock::verify(&ctx, &client));
        assert_clean(&format!("{result:?}"));
        if let Err(err) = &result {
            assert_clean(&describe(err));
        }
        result
    }
}

/// Message, hint, causes and `Debug` of an error, for leak checks and assertions.
fn describe(err: &AuthError) -> String {
    format!(
        "{} | {:?} | {:?} | {err:?}",
        err.message(),
        err.hint(),
        err.causes()
    )
}

/// Fails when any fixture secret, or its distinctive middle, appears in `text`.
fn assert_clean(text: &str) {
    for secret in [BEARER, SECRET_KEY, SESSION_TOKEN, WRONG_SECRET] {
        assert!(!text.contains(secret), "secret leaked: {text}");
        let middle = &secret[8..secret.len() - 8];
        assert!(!text.contains(middle), "part of a secret leaked: {text}");
    }
}

fn expect_err(result: Result<Verdict, AuthError>, code: ErrorCode) -> AuthError {
    match result {
        Ok(verdict) => panic!("expected {code:?}, got {verdict:?}"),
        Err(err) => {
            assert_eq!(err.code(), code, "{}", describe(&err));
            err
        }
    }
}

fn sigv4(session_token: Option<&str>, region: &str) -> Accept {
    Accept::Keys {
        access_key_id: ACCESS_KEY_ID.into(),
        secret_access_key: SECRET_KEY.into(),
        session_token: session_token.map(str::to_string),
        region: region.into(),
    }
}

#[test]
fn bearer_token_is_sent_as_authorization_bearer_and_lists_anthropic_models() {
    let s = Scenario::new();
    let server = bedrock_server::start(Accept::Bearer(BEARER.into()));
    s.set("AWS_BEARER_TOKEN_BEDROCK", BEARER)
        .set("AWS_REGION", "us-west-2");
    s.set("ANTHROPIC_BEDROCK_BASE_URL", &server.url());
    let verdict = s.verify().unwrap();
    assert_eq!(
        verdict.detail,
        "2 Anthropic models are available in us-west-2"
    );
    assert!(verdict.server_date.is_some());
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one call only");
    assert_eq!(requests[0].path, "/foundation-models?byProvider=anthropic");
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {BEARER}").as_str())
    );
    assert_eq!(
        requests[0].header("x-amz-date"),
        None,
        "a bearer token is not signed"
    );
    let info = s.credential().unwrap();
    assert_eq!(info.source, "env:AWS_BEARER_TOKEN_BEDROCK");
    assert_eq!(info.fingerprint.as_deref(), Some("ABSK…b3B3"));
    assert!(info.shadowed.is_empty());
    let setting = |key: &str| {
        info.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(setting("region").as_deref(), Some("us-west-2"));
    assert_eq!(setting("endpoint"), Some(format!("{}/", server.url())));
}

#[test]
fn sigv4_request_for_the_configured_model_verifies_at_the_stand_in() {
    let s = Scenario::new();
    let server = bedrock_server::start(sigv4(None, "eu-west-3"));
    s.keys();
    s.config(&format!(
        r#"{{"region": "eu-west-3", "model": "{MODEL}", "bedrockBaseUrl": "{}"}}"#,
        server.url()
    ));
    let verdict = s.verify().unwrap();
    assert_eq!(
        verdict.detail,
        format!("model {MODEL} is available in eu-west-3")
    );
    let request = &server.requests()[0];
    assert_eq!(request.path, format!("/foundation-models/{MODEL}"));
    let authorization = request.header("authorization").unwrap();
    let scope = format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/");
    assert!(authorization.starts_with(&scope), "{authorization}");
    assert!(
        authorization.contains("/eu-west-3/bedrock/aws4_request"),
        "{authorization}"
    );
    assert!(
        authorization.contains("SignedHeaders=host;x-amz-date,"),
        "{authorization}"
    );
    assert_eq!(request.header("x-amz-security-token"), None);
    let signed = bedrock_server::amz_date(request.header("x-amz-date").unwrap()).unwrap();
    let off = SystemTime::now()
        .duration_since(signed)
        .unwrap_or_else(|e| e.duration());
    assert!(off < Duration::from_secs(60), "signed at the local time");
    let info = s.credential().unwrap();
    assert_eq!(info.source, "env:AWS_ACCESS_KEY_ID");
    assert_eq!(
        info.fingerprint.as_deref(),
        Some("…0001"),
        "the access key id's, never the secret's"
    );
    assert!(info
        .settings
        .contains(&("model".to_string(), MODEL.to_string())));
}

#[test]
fn session_token_is_sent_and_signed_and_required_when_the_server_expects_it() {
    let s = Scenario::new();
    let server = bedrock_server::start(sigv4(Some(SESSION_TOKEN), "us-east-1"));
    s.keys()
        .set("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .set("AWS_DEFAULT_REGION", "us-east-1");
    s.set("AWS_ENDPOINT_URL_BEDROCK", &server.url());
    s.verify().unwrap();
    let request = &server.requests()[0];
    assert_eq!(request.header("x-amz-security-token"), Some(SESSION_TOKEN));
    let authorization = request.header("authorization").unwrap();
    assert!(
        authorization.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"),
        "{authorization}"
    );
    s.unset("AWS_SESSION_TOKEN");
    let err = expect_err(s.verify(), ErrorCode::InvalidApiKey);
    assert!(
        err.message().contains("(UnrecognizedClientException)"),
        "{}",
        describe(&err)
    );
}

#[test]
fn profile_from_the_shared_credentials_file_is_signed_with() {
    let s = Scenario::new();
    let server = bedrock_server::start(sigv4(None, "us-east-1"));
    let path = s.env.home.path().join("aws-creds");
    std::fs::write(
        &path,
        format!(
            "[default]\naws_access_key_id = {ACCESS_KEY_ID}\n\
             aws_secret_access_key = {WRONG_SECRET}\n\n# dev account\n[dev]\n\
             aws_access_key_id = {ACCESS_KEY_ID}\n\
             aws_secret_access_key = {SECRET_KEY} ; rotated monthly\n"
        ),
    )
    .unwrap();
    private(&path);
    s.set("AWS_SHARED_CREDENTIALS_FILE", path.to_str().unwrap())
        .set("AWS_PROFILE", "dev");
    s.set("AWS_REGION", "us-east-1")
        .set("AWS_ENDPOINT_URL", &server.url());
    let info = s.credential().unwrap();
    assert_eq!(info.source, "profile:dev");
    assert!(
        info.description.contains("aws-creds"),
        "{}",
        info.description
    );
    s.verify().unwrap();

    s.unset("AWS_PROFILE");
    assert_eq!(s.credential().unwrap().source, "profile:default");
    let err = expect_err(s.verify(), ErrorCode::InvalidApiKey);
    assert!(
        err.message()
            .contains("profile:default (InvalidSignatureException)"),
        "{}",
        describe(&err)
    );
    assert!(
        err.hint().unwrap().contains("profile default"),
        "{}",
        describe(&err)
    );

    s.set("AWS_PROFILE", "prod");
    let err = s.credential().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(err.message().contains("profile prod"), "{}", describe(&err));
    assert!(
        err.message().contains("profiles found: default, dev"),
        "{}",
        describe(&err)
    );
}

#[test]
fn default_profile_comes_from_home_and_a_missing_file_is_no_credential() {
    let s = Scenario::new();
    s.set("AWS_REGION", "us-east-1");
    let err = s.credential().unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::NotAuthenticated,
        "{}",
        describe(&err)
    );
    s.credentials_file(&format!(
        "[default]\naws_access_key_id={ACCESS_KEY_ID}\naws_secret_access_key={SECRET_KEY}\n\
         aws_session_token={SESSION_TOKEN}\n"
    ));
    let info = s.credential().unwrap();
    assert_eq!(info.source, "profile:default");
    // An SSO profile is read now (tests/aws_chain.rs); one naming no session section is a
    // config error that says how to set it up.
    s.credentials_file("[default]\nsso_session = corp\n");
    let err = s.credential().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(
        err.hint().unwrap().contains("aws configure sso"),
        "{}",
        describe(&err)
    );
}

#[test]
fn missing_region_is_a_config_error_and_the_region_comes_from_env_then_config() {
    let s = Scenario::new();
    s.set("AWS_BEARER_TOKEN_BEDROCK", BEARER);
    let err = s.credential().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert_eq!(err.exit_code(), 3);
    assert!(
        err.message().contains("Bedrock needs an AWS region"),
        "{}",
        describe(&err)
    );
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("AWS_REGION") && hint.contains("`region`"),
        "{hint}"
    );
    expect_err(s.verify(), ErrorCode::ConfigError);

    s.config(r#"{"region": "ap-south-1"}"#);
    assert_eq!(bedrock::region(&s.context()).unwrap(), "ap-south-1");
    s.set("AWS_DEFAULT_REGION", "eu-central-1");
    assert_eq!(bedrock::region(&s.context()).unwrap(), "eu-central-1");
    s.set("AWS_REGION", "us-west-2");
    assert_eq!(bedrock::region(&s.context()).unwrap(), "us-west-2");
    s.set("AWS_REGION", "us-east-1.evil.example/");
    let err = bedrock::region(&s.context()).unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::ConfigError,
        "a region becomes a host name: checked"
    );
}

#[test]
fn no_credentials_is_not_authenticated_with_the_three_ways() {
    let s = Scenario::new();
    s.set("AWS_REGION", "us-east-1");
    let err = s.credential().unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotAuthenticated);
    assert_eq!(err.exit_code(), 4);
    let hint = err.hint().unwrap();
    for way in [
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
    ] {
        assert!(hint.contains(way), "{hint}");
    }
    expect_err(s.verify(), ErrorCode::NotAuthenticated);
}

#[test]
fn half_an_access_key_pair_is_a_config_error_unless_a_bearer_token_wins() {
    let s = Scenario::new();
    s.set("AWS_REGION", "us-east-1")
        .set("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID);
    let err = s.credential().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(
        err.message().contains("AWS_SECRET_ACCESS_KEY is not"),
        "{}",
        describe(&err)
    );
    s.unset("AWS_ACCESS_KEY_ID")
        .set("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    assert_eq!(s.credential().unwrap_err().code(), ErrorCode::ConfigError);
    s.set("AWS_BEARER_TOKEN_BEDROCK", BEARER);
    assert_eq!(
        s.credential().unwrap().source,
        "env:AWS_BEARER_TOKEN_BEDROCK"
    );
    s.set(
        "AWS_BEARER_TOKEN_BEDROCK",
        &format!("{BEARER}\nX-Injected: 1"),
    );
    let err = s.credential().unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::ConfigError,
        "a token with a newline never reaches a header"
    );
}

#[test]
fn shadowed_lists_every_other_credential_present() {
    let s = Scenario::new();
    s.set("AWS_REGION", "us-east-1")
        .set("AWS_BEARER_TOKEN_BEDROCK", BEARER)
        .keys();
    s.credentials_file(&format!(
        "[default]\naws_access_key_id={ACCESS_KEY_ID}\naws_secret_access_key={SECRET_KEY}\n"
    ));
    let info = s.credential().unwrap();
    assert_eq!(info.source, "env:AWS_BEARER_TOKEN_BEDROCK");
    assert_eq!(info.shadowed, ["env:AWS_ACCESS_KEY_ID", "profile:default"]);
    s.unset("AWS_BEARER_TOKEN_BEDROCK");
    let info = s.credential().unwrap();
    assert_eq!(info.source, "env:AWS_ACCESS_KEY_ID");
    assert_eq!(info.shadowed, ["profile:default"]);
    s.set("AWS_PROFILE", "missing");
    assert!(
        s.credential().unwrap().shadowed.is_empty(),
        "a broken profile that is not used is not an error"
    );
}

#[test]
fn endpoint_precedence_bedrock_base_url_then_aws_endpoint_urls_then_config_then_region() {
    let s = Scenario::new();
    let (first, second) = (
        bedrock_server::start(Accept::Bearer(BEARER.into())),
        Server::scripted(vec![Reply::json(500, "{}")]),
    );
    s.set("AWS_REGION", "us-east-1")
        .set("AWS_BEARER_TOKEN_BEDROCK", BEARER);
    s.config(r#"{"bedrockBaseUrl": "https://config.example.com"}"#);
    s.set("AWS_ENDPOINT_URL", "https://all-services.example.com");
    s.set("AWS_ENDPOINT_URL_BEDROCK", &second.url());
    s.set("ANTHROPIC_BEDROCK_BASE_URL", &first.url());
    let endpoint = || bedrock::endpoint(&s.context()).unwrap().to_string();
    assert_eq!(endpoint(), format!("{}/", first.url()));
    s.verify().unwrap();
    assert_eq!((first.requests().len(), second.requests().len()), (1, 0));
    s.unset("ANTHROPIC_BEDROCK_BASE_URL");
    assert_eq!(endpoint(), format!("{}/", second.url()));
    s.unset("AWS_ENDPOINT_URL_BEDROCK");
    assert_eq!(endpoint(), "https://all-services.example.com/");
    s.unset("AWS_ENDPOINT_URL");
    assert_eq!(endpoint(), "https://config.example.com/");
    s.config("{}");
    assert_eq!(endpoint(), "https://bedrock.us-east-1.amazonaws.com/");
    s.set("AWS_ENDPOINT_URL", "http://bedrock.example.com");
    let err = bedrock::endpoint(&s.context()).unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::ConfigError,
        "plain http only to loopback"
    );
    assert!(
        err.hint().unwrap().contains("AWS_ENDPOINT_URL"),
        "{}",
        describe(&err)
    );
}

/// A stand-in answering `reply` to anything, with bearer-token settings pointing at it.
fn scripted(s: &Scenario, reply: Reply) -> Server {
    let server = Server::scripted(vec![reply]);
    s.set("AWS_REGION", "us-east-1")
        .set("AWS_BEARER_TOKEN_BEDROCK", BEARER);
    s.set("ANTHROPIC_BEDROCK_BASE_URL", &server.url());
    server
}

#[test]
fn access_denied_is_insufficient_permissions_naming_the_permission() {
    let s = Scenario::new();
    let _server = scripted(&s, aws_error(403, "AccessDeniedException", BEARER));
    s.config(&format!(r#"{{"model": "{MODEL}"}}"#));
    let err = expect_err(s.verify(), ErrorCode::InsufficientPermissions);
    assert_eq!(err.exit_code(), 7);
    assert!(
        err.message().contains("AccessDeniedException"),
        "{}",
        describe(&err)
    );
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("bedrock:GetFoundationModel") && hint.contains("Model access"),
        "{hint}"
    );
    s.config("{}");
    let err = expect_err(s.verify(), ErrorCode::InsufficientPermissions);
    assert!(
        err.hint().unwrap().contains("bedrock:ListFoundationModels"),
        "{}",
        describe(&err)
    );
}

#[test]
fn rejected_credentials_are_invalid_api_key() {
    let s = Scenario::new();
    let server = bedrock_server::start(sigv4(None, "us-east-1"));
    s.set("AWS_REGION", "us-east-1")
        .set("AWS_ENDPOINT_URL_BEDROCK", &server.url());
    s.set("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .set("AWS_SECRET_ACCESS_KEY", WRONG_SECRET);
    let err = expect_err(s.verify(), ErrorCode::InvalidApiKey);
    assert_eq!(err.exit_code(), 5);
    assert_eq!(
        err.message(),
        "AWS rejected the credentials from env:AWS_ACCESS_KEY_ID (InvalidSignatureException)"
    );
    assert!(
        err.hint().unwrap().contains("AWS_SECRET_ACCESS_KEY"),
        "{}",
        describe(&err)
    );
    s.set("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
        .set("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    let err = expect_err(s.verify(), ErrorCode::InvalidApiKey);
    assert!(
        err.message().contains("(UnrecognizedClientException)"),
        "{}",
        describe(&err)
    );
    drop(server);

    let server = bedrock_server::start(Accept::Bearer("ABSK-another-key".into()));
    s.set("AWS_BEARER_TOKEN_BEDROCK", BEARER)
        .set("AWS_ENDPOINT_URL_BEDROCK", &server.url());
    let err = expect_err(s.verify(), ErrorCode::InvalidApiKey);
    assert!(
        err.message().contains("env:AWS_BEARER_TOKEN_BEDROCK"),
        "{}",
        describe(&err)
    );
    assert!(
        err.hint().unwrap().contains("Bedrock console"),
        "{}",
        describe(&err)
    );
    drop(server);
    let _server = scripted(&s, Reply::json(401, r#"{"message":"bad"}"#));
    expect_err(s.verify(), ErrorCode::InvalidApiKey);
}

#[test]
fn signature_rejected_with_a_far_server_date_says_clock_skew() {
    let s = Scenario::new();
    let server = bedrock_server::start(sigv4(None, "us-east-1"));
    s.keys()
        .set("AWS_REGION", "us-east-1")
        .set("AWS_ENDPOINT_URL_BEDROCK", &server.url());
    let an_hour_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600;
    s.set("CLAUDE_TEST_NOW", &an_hour_ago.to_string());
    let err = expect_err(s.verify(), ErrorCode::InvalidApiKey);
    assert!(
        err.message().contains("probable clock skew"),
        "{}",
        describe(&err)
    );
    assert!(
        err.message().contains("1h") && err.message().contains("behind"),
        "{}",
        describe(&err)
    );
    assert!(err.hint().unwrap().contains("clock"), "{}", describe(&err));
}

#[test]
fn throttling_expiry_unknown_model_and_server_errors_map_to_their_codes() {
    let s = Scenario::new();
    let server = scripted(
        &s,
        aws_error(429, "ThrottlingException", BEARER).header("Retry-After", "7"),
    );
    let err = expect_err(s.verify(), ErrorCode::RateLimited);
    assert!(err.hint().unwrap().contains("7 s"), "{}", describe(&err));
    assert_eq!(
        server.requests().len(),
        1,
        "verify makes one call, never retried"
    );
    let _throttled = scripted(&s, aws_error(400, "ThrottlingException", BEARER));
    expect_err(s.verify(), ErrorCode::RateLimited);
    let _expired = scripted(&s, aws_error(403, "ExpiredTokenException", BEARER));
    expect_err(s.verify(), ErrorCode::ExpiredToken);
    let _down = scripted(&s, aws_error(503, "ServiceUnavailableException", BEARER));
    expect_err(s.verify(), ErrorCode::NetworkError);
    let _moved = scripted(
        &s,
        Reply::json(302, "").header("Location", "https://elsewhere.example.com/login"),
    );
    let err = expect_err(s.verify(), ErrorCode::ProviderError);
    assert!(err.message().contains("redirect"), "{}", describe(&err));
    let _html = scripted(
        &s,
        Reply {
            status: 200,
            headers: vec![],
            body: "<html>portal</html>".into(),
            delay: Duration::ZERO,
        },
    );
    expect_err(s.verify(), ErrorCode::ProviderError);

    let server = bedrock_server::start(Accept::Bearer(BEARER.into()));
    s.set("ANTHROPIC_BEDROCK_BASE_URL", &server.url());
    s.config(r#"{"model": "us.anthropic.claude-nope-v1:0"}"#);
    let err = expect_err(s.verify(), ErrorCode::ProviderError);
    assert!(
        err.message().contains("us.anthropic.claude-nope-v1:0")
            && err.message().contains("us-east-1"),
        "{}",
        describe(&err)
    );
}

#[test]
fn timeouts_and_unreachable_endpoints_are_network_errors() {
    let s = Scenario::new();
    let _slow = scripted(
        &s,
        Reply::json(200, r#"{"modelSummaries":[]}"#).delayed(Duration::from_secs(3)),
    );
    s.config(r#"{"authentication": {"timeout": 300}}"#);
    let err = expect_err(s.verify(), ErrorCode::NetworkError);
    assert!(
        err.message().contains("within 300 ms"),
        "{}",
        describe(&err)
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    s.set("ANTHROPIC_BEDROCK_BASE_URL", &format!("http://{closed}"));
    let err = expect_err(s.verify(), ErrorCode::NetworkError);
    assert!(
        err.hint().unwrap().contains("ANTHROPIC_BEDROCK_BASE_URL"),
        "{}",
        describe(&err)
    );
}

#[test]
fn amz_date_helper_parses_the_sigv4_timestamp() {
    assert_eq!(
        bedrock_server::amz_date("20240102T030405Z"),
        Some(UNIX_EPOCH + Duration::from_secs(1_704_164_645))
    );
    assert_eq!(bedrock_server::amz_date("2024-01-02"), None);
}

/// Credential files must be private (0600), like `aws configure` writes them.
fn private(path: &std::path::Path) {
    set_mode(path, 0o600);
}

#[cfg(unix)]
#[test]
fn credentials_file_others_can_read_is_refused() {
    let s = Scenario::new();
    let path =
        s.credentials_file("[default]\naws_access_key_id = AKIA0000\naws_secret_access_key = x\n");
    set_mode(&path, 0o644);
    s.set("AWS_REGION", "us-east-1");
    let err = s.credential().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(
        err.hint().unwrap().contains("chmod 600"),
        "{:?}",
        err.hint()
    );
}
