//! The AWS credential chain behind Bedrock: each link (profile with region, credential_process,
//! IAM Identity Center cache, assume role with MFA, web identity, container, IMDSv2, the
//! bearer token, CLAUDE_CODE_SKIP_BEDROCK_AUTH, awsCredentialExport, awsAuthRefresh) against
//! loopback stand-ins that check every request (Bedrock's SigV4 included); offline status
//! sends nothing; no secret in any result.

mod common;

use clap::Parser;
use claude_auth::context::Context;
use claude_auth::envvars::Env;
use claude_auth::error::{AuthError, ErrorCode};
use claude_auth::providers::bedrock;
use claude_auth::providers::{CredentialInfo, Verdict};
use claude_auth::secret::Secret;
use common::aws_chain_server::{self as chain, Source};
use common::bedrock_server::{self, Accept};
use common::servers::Server;
use common::{set_mode, TestEnv};
use std::cell::RefCell;
use std::path::PathBuf;

const BASE_ID: &str = "AKIATESTCHAINBASE001";
const BASE_SECRET: &str = "baseSECRETchain/K7MDENG+TESTBASEKEY0000b8B8";
const BEARER: &str = "ABSKQmVkcm9ja0FQSUtleS1URVNUchainTOKEN-0000000000-b9B9";
const SECRETS: [&str; 8] = [
    BASE_SECRET,
    BEARER,
    chain::TEMP_SECRET,
    chain::TEMP_TOKEN,
    chain::WEB_TOKEN,
    chain::SSO_TOKEN,
    chain::CONTAINER_AUTH,
    chain::IMDS_TOKEN,
];

/// A terminal where the user types `input` at any prompt.
struct Typist(String);

impl claude_auth::terminal::Terminal for Typist {
    fn stdin_is_tty(&self) -> bool {
        true
    }
    fn stderr_is_tty(&self) -> bool {
        true
    }
    fn hidden_prompt(&self, _prompt: &str) -> std::io::Result<Secret<String>> {
        Ok(Secret::new(self.0.clone()))
    }
    fn read_stdin(&self, _limit: u64) -> std::io::Result<Vec<u8>> {
        Ok(self.0.clone().into_bytes())
    }
    fn read_line(&self) -> std::io::Result<String> {
        Ok(format!("{}\n", self.0))
    }
    fn lines(&self) -> tokio::sync::mpsc::Receiver<String> {
        tokio::sync::mpsc::channel(1).1
    }
}

/// One isolated user with an own environment snapshot (no process variable is touched).
struct Scenario {
    env: TestEnv,
    vars: RefCell<Env>,
    typed: RefCell<Option<String>>,
}

impl Scenario {
    fn new() -> Scenario {
        let env = TestEnv::new();
        let vars = Env::of([
            ("HOME", env.home.path().to_str().unwrap()),
            ("CLAUDE_CONFIG_DIR", env.state_dir().to_str().unwrap()),
            ("PATH", "/usr/bin:/bin"),
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
        ]);
        env.write_config("{}");
        Scenario {
            env,
            vars: RefCell::new(vars),
            typed: RefCell::new(None),
        }
    }

    fn set(&self, name: &str, value: &str) -> &Scenario {
        self.vars.borrow_mut().set(name, value);
        self
    }

    fn home(&self) -> PathBuf {
        self.env.home.path().to_path_buf()
    }

    /// `~/.aws/NAME` with `text`, private.
    fn aws_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.home().join(".aws").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        set_mode(&path, 0o600);
        path
    }

    /// A file under HOME (scripts, token files).
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.home().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn context(&self) -> Context {
        let path = self.env.config_path();
        let cli = claude_auth::cli::Cli::try_parse_from([
            "claude",
            "--auth-status",
            "--config",
            path.to_str().unwrap(),
        ])
        .unwrap();
        let mut ctx = Context::new(&cli, None, self.vars.borrow().clone()).unwrap();
        if let Some(typed) = self.typed.borrow().clone() {
            ctx.terminal = std::rc::Rc::new(Typist(typed));
        }
        ctx
    }

    fn credential(&self) -> Result<CredentialInfo, AuthError> {
        let result = bedrock::credential(&self.context());
        clean(&format!("{result:?}"));
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
        clean(&format!("{result:?}"));
        if let Err(err) = &result {
            clean(&format!(
                "{} {:?} {:?}",
                err.message(),
                err.hint(),
                err.causes()
            ));
        }
        result
    }

    /// Bedrock at a stand-in that accepts only the chain's temporary keys, by SigV4.
    fn bedrock(&self, region: &str) -> Server {
        let server = bedrock_server::start(Accept::Keys {
            access_key_id: chain::TEMP_ID.into(),
            secret_access_key: chain::TEMP_SECRET.into(),
            session_token: Some(chain::TEMP_TOKEN.into()),
            region: region.into(),
        });
        self.set("AWS_ENDPOINT_URL_BEDROCK", &server.url());
        server
    }
}

/// Fails when any fixture secret, or its middle, appears in `text`.
fn clean(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "secret leaked: {text}");
        assert!(
            !text.contains(&secret[6..secret.len() - 6]),
            "part of a secret leaked: {text}"
        );
    }
}

/// The Bedrock stand-in saw exactly one request, verified by SigV4 with the temporary keys.
fn signed_once(bedrock: &Server, region: &str) {
    let requests = bedrock.requests();
    assert_eq!(requests.len(), 1);
    let authorization = requests[0].header("authorization").unwrap();
    assert!(
        authorization.contains(&format!("{}/", chain::TEMP_ID))
            && authorization.contains(&format!("/{region}/bedrock/")),
        "{authorization}"
    );
    assert_eq!(
        requests[0].header("x-amz-security-token"),
        Some(chain::TEMP_TOKEN)
    );
}

fn setting(info: &CredentialInfo, key: &str) -> Option<String> {
    info.settings
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

#[test]
fn profile_from_aws_config_gives_the_region_and_static_keys() {
    let s = Scenario::new();
    let bedrock = bedrock_server::start(Accept::Keys {
        access_key_id: BASE_ID.into(),
        secret_access_key: BASE_SECRET.into(),
        session_token: None,
        region: "eu-central-1".into(),
    });
    s.set("AWS_ENDPOINT_URL_BEDROCK", &bedrock.url());
    s.aws_file("config", "[profile dev]\nregion = eu-central-1\n");
    s.aws_file(
        "credentials",
        &format!("[dev]\naws_access_key_id = {BASE_ID}\naws_secret_access_key = {BASE_SECRET}\n"),
    );
    s.set("AWS_PROFILE", "dev");
    let info = s.credential().unwrap();
    assert_eq!(info.source, "profile:dev");
    assert_eq!(setting(&info, "region").as_deref(), Some("eu-central-1"));
    s.verify().unwrap();
    assert_eq!(bedrock.requests().len(), 1);
    // AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE move both files.
    let config = s.file("cfg", "[profile dev]\nregion = ap-south-1\n");
    s.set("AWS_CONFIG_FILE", config.to_str().unwrap());
    assert_eq!(
        setting(&s.credential().unwrap(), "region").as_deref(),
        Some("ap-south-1")
    );
}

#[test]
fn credential_process_runs_without_a_shell_and_its_keys_sign_bedrock() {
    let s = Scenario::new();
    let bedrock = s.bedrock("us-east-1");
    let output = s.file("creds.json", &chain::keys_json("SessionToken"));
    s.aws_file(
        "config",
        &format!(
            "[default]\nregion = us-east-1\ncredential_process = cat {}\n",
            output.display()
        ),
    );
    let info = s.credential().unwrap();
    assert_eq!(info.source, "profile:default:credential_process");
    assert!(info.fingerprint.is_none(), "nothing fetched offline");
    s.verify().unwrap();
    signed_once(&bedrock, "us-east-1");
}

fn sso_config(s: &Scenario, portal: &str) {
    s.aws_file(
        "config",
        "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n\
         sso_role_name = Bedrock\nregion = us-west-2\n\n[sso-session corp]\n\
         sso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    );
    s.set("AWS_PROFILE", "dev")
        .set("AWS_ENDPOINT_URL_SSO", portal);
}

/// The AWS CLI's cache file for session `corp` (SHA-1 of the session name).
fn sso_cache(s: &Scenario, expires: &str) -> PathBuf {
    let dir = s.home().join(".aws/sso/cache");
    std::fs::create_dir_all(&dir).unwrap();
    use sha1::Digest;
    let name: String = sha1::Sha1::digest(b"corp")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = dir.join(format!("{name}.json"));
    std::fs::write(
        &path,
        format!(
            r#"{{"startUrl":"https://corp.awsapps.com/start","region":"us-east-1","accessToken":"{}","expiresAt":"{expires}"}}"#,
            chain::SSO_TOKEN
        ),
    )
    .unwrap();
    // As the AWS CLI writes it: a cache others can read is refused.
    set_mode(&path, 0o600);
    path
}

#[test]
fn sso_profile_reads_the_token_cache_and_gets_role_credentials() {
    let s = Scenario::new();
    let portal = chain::start(None);
    let bedrock = s.bedrock("us-west-2");
    sso_config(&s, &portal.url());
    sso_cache(&s, "2099-01-01T00:00:00Z");
    let info = s.credential().unwrap();
    assert_eq!(info.source, "profile:dev:sso");
    assert!(portal.requests().is_empty(), "offline status sends nothing");
    s.verify().unwrap();
    let requests = portal.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].path.starts_with("/federation/credentials?"));
    signed_once(&bedrock, "us-west-2");
}

#[test]
fn expired_sso_session_says_to_run_aws_sso_login() {
    let s = Scenario::new();
    let portal = chain::start(None);
    sso_config(&s, &portal.url());
    sso_cache(&s, "2020-01-01T00:00:00Z");
    let err = s.credential().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ExpiredToken);
    assert_eq!(err.hint(), Some("run `aws sso login --profile dev`"));
    let err = s.verify().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ExpiredToken);
    assert!(portal.requests().is_empty());
}

#[test]
fn aws_auth_refresh_runs_when_the_session_expired_then_reads_again() {
    let s = Scenario::new();
    let portal = chain::start(None);
    let bedrock = s.bedrock("us-west-2");
    sso_config(&s, &portal.url());
    let cache = sso_cache(&s, "2020-01-01T00:00:00Z");
    // The "login": writes a fresh cache, as `aws sso login` would.
    let fresh = s.file(
        "fresh.json",
        &std::fs::read_to_string(&cache)
            .unwrap()
            .replace("2020-01-01", "2099-01-01"),
    );
    let script = s.file(
        "login.sh",
        &format!(
            "echo logging in\ncp {} {}\n",
            fresh.display(),
            cache.display()
        ),
    );
    s.env.write_config(&format!(
        r#"{{"awsAuthRefresh": "sh {}"}}"#,
        script.display()
    ));
    assert_eq!(s.credential().unwrap_err().code(), ErrorCode::ExpiredToken);
    s.verify().unwrap();
    signed_once(&bedrock, "us-west-2");
}

#[test]
fn assume_role_signs_sts_with_the_source_profile_and_asks_for_mfa_on_the_terminal() {
    let s = Scenario::new();
    let sts = chain::start(Some(Source {
        access_key_id: BASE_ID.into(),
        secret_access_key: BASE_SECRET.into(),
        region: "us-east-1".into(),
        mfa: true,
    }));
    let bedrock = s.bedrock("us-east-1");
    s.aws_file(
        "config",
        "[profile admin]\nrole_arn = arn:aws:iam::111122223333:role/Bedrock\n\
         source_profile = base\nmfa_serial = arn:aws:iam::111122223333:mfa/me\nregion = us-east-1\n",
    );
    s.aws_file(
        "credentials",
        &format!("[base]\naws_access_key_id = {BASE_ID}\naws_secret_access_key = {BASE_SECRET}\n"),
    );
    s.set("AWS_PROFILE", "admin")
        .set("AWS_ENDPOINT_URL_STS", &sts.url());
    assert_eq!(s.credential().unwrap().source, "profile:admin:assume-role");
    assert!(sts.requests().is_empty());
    *s.typed.borrow_mut() = Some("000000".into());
    assert_eq!(
        s.verify().unwrap_err().code(),
        ErrorCode::InsufficientPermissions
    );
    *s.typed.borrow_mut() = Some(chain::MFA_CODE.into());
    s.verify().unwrap();
    let requests = sts.requests();
    assert!(requests[1].body.contains("Action=AssumeRole"));
    assert!(chain::verify_sigv4(
        &requests[1],
        &Source {
            access_key_id: BASE_ID.into(),
            secret_access_key: BASE_SECRET.into(),
            region: "us-east-1".into(),
            mfa: true,
        },
        "sts"
    ));
    signed_once(&bedrock, "us-east-1");
}

#[test]
fn web_identity_from_the_environment_assumes_the_role_unsigned() {
    let s = Scenario::new();
    let sts = chain::start(None);
    let bedrock = s.bedrock("eu-west-1");
    let token = s.file("token", chain::WEB_TOKEN);
    s.set("AWS_REGION", "eu-west-1")
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap())
        .set("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/ci")
        .set("AWS_ENDPOINT_URL_STS", &sts.url());
    assert_eq!(
        s.credential().unwrap().source,
        "env:AWS_WEB_IDENTITY_TOKEN_FILE"
    );
    assert!(sts.requests().is_empty());
    s.verify().unwrap();
    let requests = sts.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].header("authorization").is_none());
    signed_once(&bedrock, "eu-west-1");
}

#[test]
fn container_credentials_from_a_loopback_full_uri() {
    let s = Scenario::new();
    let ecs = chain::start(None);
    let bedrock = s.bedrock("us-east-2");
    s.set("AWS_REGION", "us-east-2")
        .set(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("{}/ecs/credentials", ecs.url()),
        )
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", chain::CONTAINER_AUTH);
    assert_eq!(s.credential().unwrap().source, "container");
    assert!(ecs.requests().is_empty());
    s.verify().unwrap();
    assert_eq!(ecs.requests().len(), 1);
    signed_once(&bedrock, "us-east-2");
}

#[test]
fn imds_v2_through_the_endpoint_override() {
    let s = Scenario::new();
    let imds = chain::start(None);
    let bedrock = s.bedrock("us-east-1");
    s.set("AWS_REGION", "us-east-1")
        .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url());
    assert_eq!(s.credential().unwrap().source, "imds");
    assert!(imds.requests().is_empty());
    s.verify().unwrap();
    let methods: Vec<String> = imds.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["PUT", "GET", "GET"]);
    signed_once(&bedrock, "us-east-1");
}

#[test]
fn bearer_token_comes_first_and_status_names_what_it_shadows() {
    let s = Scenario::new();
    let imds = chain::start(None);
    s.aws_file(
        "credentials",
        &format!(
            "[default]\naws_access_key_id = {BASE_ID}\naws_secret_access_key = {BASE_SECRET}\n"
        ),
    );
    s.set("AWS_REGION", "us-east-1")
        .set("AWS_BEARER_TOKEN_BEDROCK", BEARER)
        .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url());
    let info = s.credential().unwrap();
    assert_eq!(info.source, "env:AWS_BEARER_TOKEN_BEDROCK");
    assert_eq!(info.shadowed, ["profile:default", "imds"]);
}

#[test]
fn skip_bedrock_auth_sends_no_credential_and_says_so() {
    let s = Scenario::new();
    let gateway = bedrock_server::start(Accept::Bearer("none".into()));
    s.set("AWS_REGION", "us-east-1")
        .set("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "1")
        .set("AWS_BEARER_TOKEN_BEDROCK", BEARER)
        .set("ANTHROPIC_BEDROCK_BASE_URL", &gateway.url());
    let info = s.credential().unwrap();
    assert_eq!(info.source, "env:CLAUDE_CODE_SKIP_BEDROCK_AUTH");
    assert!(info.description.contains("no authentication"));
    assert_eq!(info.shadowed, ["env:AWS_BEARER_TOKEN_BEDROCK"]);
    let _ = s.verify();
    let requests = gateway.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].header("authorization").is_none());
    assert!(requests[0].header("x-amz-date").is_none());
}

/// No file under `dir` (the state directory) holds `secret` in plain text.
fn no_plain_copy(dir: &std::path::Path, secret: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            no_plain_copy(&path, secret);
        } else if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{} holds the secret in plain text",
                path.display()
            );
        }
    }
}

#[test]
fn aws_credential_export_is_cached_in_the_store_until_near_expiry() {
    let s = Scenario::new();
    let bedrock = s.bedrock("us-east-1");
    let runs = s.home().join("runs");
    let nested = format!(
        r#"{{"Credentials":{{"AccessKeyId":"{}","SecretAccessKey":"{}","SessionToken":"{}","Expiration":"{}"}}}}"#,
        chain::TEMP_ID,
        chain::TEMP_SECRET,
        chain::TEMP_TOKEN,
        chain::EXPIRATION
    );
    let doc = s.file("export.json", &nested);
    let script = s.file(
        "export.sh",
        &format!("echo run >> {}\ncat {}\n", runs.display(), doc.display()),
    );
    s.set("AWS_REGION", "us-east-1")
        .set("CLAUDE_PASSPHRASE", common::PASSPHRASE);
    let config = |line: &str| {
        serde_json::json!({
            "authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
            "awsCredentialExport": line,
        })
        .to_string()
    };
    s.env
        .write_config(&config(&format!("sh {}", script.display())));
    // The plain file earlier versions wrote goes on first use.
    let legacy = s.env.state_dir().join("aws-credential-export.json");
    std::fs::write(&legacy, &nested).unwrap();
    assert_eq!(s.credential().unwrap().source, "config:awsCredentialExport");
    assert!(!runs.exists(), "offline status runs no command");
    s.verify().unwrap();
    s.verify().unwrap();
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 1);
    assert_eq!(bedrock.requests().len(), 2);
    assert!(!legacy.exists(), "the plain-file cache is removed");
    no_plain_copy(&s.env.state_dir(), chain::TEMP_SECRET);
    // Keys that live 2 minutes are kept for the first half of their life, not run again on
    // every use as a fixed 5-minute margin would (tests/refresh_margin.rs runs them to their
    // end with a fixed clock). Another spelling of the command is another cache key.
    let soon = chrono::Utc::now() + chrono::Duration::seconds(120);
    std::fs::write(&doc, nested.replace(chain::EXPIRATION, &soon.to_rfc3339())).unwrap();
    s.env
        .write_config(&config(&format!("sh  {}", script.display())));
    s.verify().unwrap();
    s.verify().unwrap();
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 2);
    // `--reset-auth` takes the cached keys with it.
    std::fs::write(&doc, &nested).unwrap();
    s.verify().unwrap();
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 2);
    let env = TestEnv {
        home: tempfile::tempdir().unwrap(),
        vars: s
            .vars
            .borrow()
            .iter()
            .map(|(n, v)| (n.into(), v.into()))
            .collect(),
    };
    let out = env.run(&[
        "--reset-auth",
        "--yes",
        "--config",
        s.env.config_path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", common::text(&out));
    s.verify().unwrap();
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 3);
}

#[test]
fn offline_status_calls_nothing_whichever_link_is_configured() {
    let s = Scenario::new();
    let stand_in = chain::start(None);
    let token = s.file("token", chain::WEB_TOKEN);
    s.set("AWS_REGION", "us-east-1")
        .set("AWS_ENDPOINT_URL_STS", &stand_in.url())
        .set("AWS_ENDPOINT_URL_SSO", &stand_in.url())
        .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &stand_in.url())
        .set(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("{}/ecs/credentials", stand_in.url()),
        )
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap())
        .set("AWS_ROLE_ARN", "arn:aws:iam::1:role/r");
    let info = s.credential().unwrap();
    assert_eq!(info.source, "env:AWS_WEB_IDENTITY_TOKEN_FILE");
    assert_eq!(info.shadowed, ["container", "imds"]);
    sso_config(&s, &stand_in.url());
    sso_cache(&s, "2099-01-01T00:00:00Z");
    assert_eq!(s.credential().unwrap().source, "profile:dev:sso");
    assert!(stand_in.requests().is_empty(), "{:?}", stand_in.requests());
}

#[test]
fn credentials_file_others_can_read_is_refused() {
    let s = Scenario::new();
    let path = s.aws_file(
        "credentials",
        &format!(
            "[default]\naws_access_key_id = {BASE_ID}\naws_secret_access_key = {BASE_SECRET}\n"
        ),
    );
    set_mode(&path, 0o644);
    s.set("AWS_REGION", "us-east-1");
    assert_eq!(s.credential().unwrap_err().code(), ErrorCode::ConfigError);
}

#[test]
fn print_token_formats_the_chain_keys_for_credential_process() {
    let s = Scenario::new();
    let output = s.file("creds.json", &chain::keys_json("SessionToken"));
    s.aws_file(
        "config",
        &format!(
            "[default]\nregion = us-east-1\ncredential_process = cat {}\n",
            output.display()
        ),
    );
    let env = TestEnv {
        home: tempfile::tempdir().unwrap(),
        vars: s
            .vars
            .borrow()
            .iter()
            .map(|(n, v)| (n.into(), v.into()))
            .collect(),
    };
    let out = env.run(&["--print-token", "--format", "aws-credential-process"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["Version"], 1);
    assert_eq!(doc["AccessKeyId"], chain::TEMP_ID);
    assert_eq!(doc["SecretAccessKey"], chain::TEMP_SECRET);
    assert_eq!(doc["SessionToken"], chain::TEMP_TOKEN);
    assert_eq!(doc["Expiration"], chain::EXPIRATION);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(chain::TEMP_SECRET));
    // A bearer token does not sign: nothing to print in this format.
    let env = env.with("AWS_BEARER_TOKEN_BEDROCK", BEARER);
    let out = env.run(&["--print-token", "--format", "aws-credential-process"]);
    assert_eq!(out.status.code(), Some(2));
    common::assert_no_secret(&out, BEARER);
}

#[test]
fn sso_region_that_is_not_a_region_name_is_refused_before_the_token_goes_anywhere() {
    let s = Scenario::new();
    let portal = chain::start(None);
    let host = portal.url().trim_start_matches("http://").to_string();
    for region in [format!("x@{host}/"), "us-east-1.evil.example#".to_string()] {
        s.aws_file(
            "config",
            &format!(
                "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n\
                 sso_role_name = Bedrock\nregion = us-west-2\n\n[sso-session corp]\n\
                 sso_start_url = https://corp.awsapps.com/start\nsso_region = {region}\n"
            ),
        );
        s.set("AWS_PROFILE", "dev");
        sso_cache(&s, "2099-01-01T00:00:00Z");
        let err = s.credential().unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigError, "{err:?}");
        assert!(err.message().contains("sso-session corp"), "{err:?}");
        assert!(err.message().contains("sso_region"), "{err:?}");
        assert_eq!(s.verify().unwrap_err().code(), ErrorCode::ConfigError);
    }
    assert!(portal.requests().is_empty(), "{:?}", portal.requests());
}

#[test]
fn an_aws_endpoint_with_a_user_name_is_refused() {
    let s = Scenario::new();
    let portal = chain::start(None);
    let url = portal.url().replace("://", "://user:pw@");
    sso_config(&s, &url);
    sso_cache(&s, "2099-01-01T00:00:00Z");
    let err = s.verify().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError, "{err:?}");
    assert!(portal.requests().is_empty());
}

#[test]
fn a_credential_process_that_leaves_a_process_holding_its_output_is_stopped() {
    let s = Scenario::new();
    let output = s.file("creds.json", &chain::keys_json("SessionToken"));
    s.aws_file(
        "config",
        &format!(
            "[default]\nregion = us-east-1\ncredential_process = cat {}; sleep 30 &\n",
            output.display()
        ),
    );
    let _bedrock = s.bedrock("us-east-1");
    s.set("CLAUDE_TEST_HELPER_TIMEOUT_MS", "1000");
    let started = std::time::Instant::now();
    let err = s.verify().unwrap_err();
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
    assert!(err.message().contains("did not finish"), "{err:?}");
}

#[test]
fn aws_config_others_can_write_is_refused() {
    let s = Scenario::new();
    let output = s.file("creds.json", &chain::keys_json("SessionToken"));
    let path = s.aws_file(
        "config",
        &format!(
            "[default]\nregion = us-east-1\ncredential_process = cat {}\n",
            output.display()
        ),
    );
    set_mode(&path, 0o644);
    s.set("AWS_REGION", "us-east-1");
    assert_eq!(
        s.credential().unwrap().source,
        "profile:default:credential_process"
    );
    // (Group write alone is allowed for the user's private group: umask 002.)
    for mode in [0o662, 0o666] {
        set_mode(&path, mode);
        let err = s.credential().unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigError, "{err:?}");
        assert!(err.message().contains("AWS config file"), "{err:?}");
        assert!(err.hint().unwrap_or_default().contains("chmod"), "{err:?}");
    }
}

#[test]
fn credential_commands_are_shown_masked() {
    let in_command = "sk-ant-api03-TESTMASKMASKMASKMASKMA-m1M1";
    let s = Scenario::new();
    s.aws_file(
        "config",
        &format!("[default]\nregion = us-east-1\ncredential_process = false {in_command}\n"),
    );
    let _bedrock = s.bedrock("us-east-1");
    let err = s.verify().unwrap_err();
    let shown = format!("{} {:?}", err.message(), err.hint());
    assert!(shown.contains("run it by hand"), "{shown}");
    assert!(!shown.contains("MASKMASK"), "{shown}");
    // awsAuthRefresh's line.
    let s = Scenario::new();
    let portal = chain::start(None);
    sso_config(&s, &portal.url());
    sso_cache(&s, "2020-01-01T00:00:00Z");
    s.env
        .write_config(&format!(r#"{{"awsAuthRefresh": "false {in_command}"}}"#));
    let err = s.verify().unwrap_err();
    let shown = format!("{} {:?}", err.message(), err.hint());
    assert!(shown.contains("awsAuthRefresh"), "{shown}");
    assert!(shown.contains("run it by hand"), "{shown}");
    assert!(!shown.contains("MASKMASK"), "{shown}");
}

#[test]
fn an_unknown_aws_profile_is_named_before_a_missing_region() {
    let s = Scenario::new();
    s.aws_file("config", "[profile dev]\nregion = us-east-1\n");
    s.set("AWS_PROFILE", "nope");
    let err = s.credential().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(err.message().contains("profile nope"), "{err:?}");
    assert!(err.message().contains("dev"), "{err:?}");
    assert!(!err.message().contains("region"), "{err:?}");
}

#[test]
fn print_token_under_skip_bedrock_auth_says_auth_is_skipped() {
    let s = Scenario::new();
    s.set("AWS_REGION", "us-east-1")
        .set("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "1");
    let env = TestEnv {
        home: tempfile::tempdir().unwrap(),
        vars: s
            .vars
            .borrow()
            .iter()
            .map(|(n, v)| (n.into(), v.into()))
            .collect(),
    };
    for args in [
        &["--print-token"][..],
        &["--print-token", "--format", "aws-credential-process"][..],
    ] {
        let out = env.run(args);
        let text = common::text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert!(text.contains("without authentication"), "{args:?}: {text}");
        assert!(text.contains("gateway"), "{args:?}: {text}");
        assert!(!text.contains("signed per request"), "{args:?}: {text}");
        assert!(!text.contains("Bedrock API key"), "{args:?}: {text}");
    }
}

#[test]
fn status_names_only_the_aws_files_that_exist() {
    let s = Scenario::new();
    let output = s.file("creds.json", &chain::keys_json("SessionToken"));
    let config = s.aws_file(
        "config",
        &format!(
            "[default]\nregion = us-east-1\ncredential_process = cat {}\n",
            output.display()
        ),
    );
    let info = s.credential().unwrap();
    assert!(
        info.description.contains(config.to_str().unwrap()),
        "{}",
        info.description
    );
    assert!(
        !info.description.contains("credentials"),
        "{}",
        info.description
    );
    s.aws_file("credentials", "[other]\n");
    let info = s.credential().unwrap();
    assert!(
        info.description.contains(".aws/credentials"),
        "{}",
        info.description
    );
}
