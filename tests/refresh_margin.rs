//! Short-lived cloud credentials are reused for half their lifetime, through the binary: a
//! Vertex access token that lives 60 s, an IAM Identity Center token SSO-OIDC issues for
//! 60 s and `awsCredentialExport` keys that expire in 4 minutes are each fetched once for
//! three uses, and again once they near their end. A fixed margin (60 s, 5 minutes) as long
//! as the lifetime would fetch them on every use. The clock is fixed with `CLAUDE_TEST_NOW`.

mod common;

use common::aws_chain_server::{self as chain};
use common::google_server::{authorized_user_json, LOCATION, PROJECT};
use common::servers::{Reply, Server};
use common::sso_oidc_server::{self as oidc, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN};
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// 2027-01-15T08:00:00Z.
const T0: u64 = 1_800_000_000;
const SHORT_TOKEN: &str = "ya29.a0TESTSHORTLIVEDACCESSTOKEN-Mm4nN5oO6pP7";

/// A Vertex user whose gcloud credentials refresh at `token_uri`.
fn vertex_user(dir: &Path, token_uri: &str) -> TestEnv {
    let env = TestEnv::encrypted();
    let path = dir.join("adc.json");
    std::fs::write(&path, authorized_user_json(token_uri, PROJECT)).unwrap();
    set_mode(&path, 0o600);
    env.with("CLAUDE_CODE_USE_VERTEX", "1")
        .with("GOOGLE_APPLICATION_CREDENTIALS", path.to_str().unwrap())
        .with("CLOUD_ML_REGION", LOCATION)
        .with("ANTHROPIC_VERTEX_PROJECT_ID", PROJECT)
        .with("CLAUDE_TEST_NOW", &T0.to_string())
}

/// `--print-token` at `now`.
fn printed_at(env: &TestEnv, now: u64) -> String {
    let out = env
        .claude()
        .env("CLAUDE_TEST_NOW", now.to_string())
        .arg("--print-token")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_vertex_token_that_lives_60_seconds_is_fetched_once_for_three_uses() {
    let google = Server::scripted(vec![Reply::json(
        200,
        &json!({"access_token": SHORT_TOKEN, "expires_in": 60, "token_type": "Bearer"}).to_string(),
    )]);
    let dir = tempfile::tempdir().unwrap();
    let token_uri = format!("{}/token", google.url());
    let env = vertex_user(dir.path(), &token_uri);
    for _ in 0..3 {
        assert_eq!(printed_at(&env, T0), SHORT_TOKEN);
    }
    assert_eq!(
        google.requests().len(),
        1,
        "one token request for three uses"
    );
    // 20 s left of 60: within half its lifetime, so fetched again.
    assert_eq!(printed_at(&env, T0 + 40), SHORT_TOKEN);
    assert_eq!(google.requests().len(), 2);
}

#[test]
fn a_vertex_token_that_has_already_expired_is_refused_and_not_cached() {
    let google = Server::scripted(vec![Reply::json(
        200,
        &json!({"access_token": SHORT_TOKEN, "expires_in": 0}).to_string(),
    )]);
    let dir = tempfile::tempdir().unwrap();
    let env = vertex_user(dir.path(), &format!("{}/token", google.url()));
    for attempt in 1..=2 {
        let out = env.run(&["--print-token"]);
        assert_eq!(out.status.code(), Some(14), "{}", text(&out));
        assert!(text(&out).contains("already expired"), "{}", text(&out));
        assert_no_secret(&out, SHORT_TOKEN);
        assert_eq!(
            google.requests().len(),
            attempt,
            "asked again: nothing cached"
        );
    }
}

/// An IAM Identity Center user (profile `dev`, session `corp`) whose cache file holds an
/// expired token, with SSO-OIDC issuing tokens for `expires_in` seconds.
struct Sso {
    env: TestEnv,
    oidc: Server,
    portal: Server,
    cache: PathBuf,
}

impl Sso {
    fn new(expires_in: u64) -> Sso {
        let oidc = oidc::start_lifetime(expires_in);
        let portal = chain::start(None);
        let env = TestEnv::new()
            .with("CLAUDE_CODE_USE_BEDROCK", "1")
            .with("AWS_PROFILE", "dev")
            .with("AWS_ENDPOINT_URL_SSO", &portal.url())
            .with("AWS_ENDPOINT_URL_SSO_OIDC", &oidc.url());
        let aws = env.home.path().join(".aws");
        std::fs::create_dir_all(aws.join("sso/cache")).unwrap();
        std::fs::write(
            aws.join("config"),
            "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n\
             sso_role_name = Bedrock\nregion = us-west-2\n\n[sso-session corp]\n\
             sso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
        )
        .unwrap();
        set_mode(aws.join("config"), 0o600);
        use sha1::Digest;
        let name: String = sha1::Sha1::digest(b"corp")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let cache = aws.join(format!("sso/cache/{name}.json"));
        let entry = json!({
            "startUrl": "https://corp.awsapps.com/start",
            "region": "us-east-1",
            "accessToken": "aoaAAAAAGTESTSSOEXPIREDTOKEN0000000000000e1E1",
            "expiresAt": "2027-01-15T06:00:00Z",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "registrationExpiresAt": "2027-04-15T00:00:00Z",
            "refreshToken": REFRESH_TOKEN,
        });
        std::fs::write(&cache, entry.to_string()).unwrap();
        set_mode(&cache, 0o600);
        Sso {
            env,
            oidc,
            portal,
            cache,
        }
    }

    /// `--print-token --format aws-credential-process` at `now`.
    fn keys_at(&self, now: u64) -> std::process::Output {
        let out = self
            .env
            .claude()
            .env("CLAUDE_TEST_NOW", now.to_string())
            .args(["--print-token", "--format", "aws-credential-process"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        for secret in [REFRESH_TOKEN, CLIENT_SECRET, chain::SSO_TOKEN] {
            assert_no_secret(&out, secret);
        }
        out
    }
}

#[test]
fn an_sso_token_that_lives_60_seconds_is_refreshed_once_for_three_uses() {
    let sso = Sso::new(60);
    for _ in 0..3 {
        sso.keys_at(T0);
    }
    assert_eq!(
        sso.oidc.requests().len(),
        1,
        "one refresh (one refresh token spent) for three uses"
    );
    assert_eq!(sso.portal.requests().len(), 3);
    let cache: Value = serde_json::from_slice(&std::fs::read(&sso.cache).unwrap()).unwrap();
    assert_eq!(cache["expiresAt"], "2027-01-15T08:01:00Z");
    assert_eq!(cache["claudeAuthIssuedAt"], "2027-01-15T08:00:00Z");
    assert_eq!(cache["startUrl"], "https://corp.awsapps.com/start", "kept");
    // 20 s left of 60: within half its lifetime, so refreshed again.
    sso.keys_at(T0 + 40);
    assert_eq!(sso.oidc.requests().len(), 2);
}

#[test]
fn an_sso_token_another_tool_wrote_keeps_the_five_minute_window() {
    let sso = Sso::new(60);
    // As the AWS CLI would write it: a token with 4 minutes left and no issue time.
    let mut cache: Value = serde_json::from_slice(&std::fs::read(&sso.cache).unwrap()).unwrap();
    cache["accessToken"] = chain::SSO_TOKEN.into();
    cache["expiresAt"] = "2027-01-15T08:04:00Z".into();
    std::fs::write(&sso.cache, cache.to_string()).unwrap();
    sso.keys_at(T0);
    assert_eq!(sso.oidc.requests().len(), 1, "refreshed, as the SDKs would");
}

/// A `awsCredentialExport` command that counts its runs and prints keys expiring at
/// `expires`; the keys are cached in an encrypted file.
fn export_user(dir: &Path, expires: &str) -> (TestEnv, PathBuf) {
    let runs = dir.join("runs");
    let doc = dir.join("keys.json");
    std::fs::write(
        &doc,
        json!({
            "Version": 1,
            "AccessKeyId": chain::TEMP_ID,
            "SecretAccessKey": chain::TEMP_SECRET,
            "SessionToken": chain::TEMP_TOKEN,
            "Expiration": expires,
        })
        .to_string(),
    )
    .unwrap();
    let script = dir.join("export.sh");
    std::fs::write(
        &script,
        format!("echo run >> {}\ncat {}\n", runs.display(), doc.display()),
    )
    .unwrap();
    let env = TestEnv::new()
        .with("CLAUDE_PASSPHRASE", PASSPHRASE)
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("AWS_REGION", "us-east-1");
    env.write_config(
        &json!({
            "authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
            "awsCredentialExport": format!("sh {}", script.display()),
        })
        .to_string(),
    );
    (env, runs)
}

fn exported_at(env: &TestEnv, now: u64) {
    let out = env
        .claude()
        .env("CLAUDE_TEST_NOW", now.to_string())
        .args(["--print-token", "--format", "aws-credential-process"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let doc = json_stdout(&out);
    assert_eq!(doc["AccessKeyId"], chain::TEMP_ID);
    assert_no_secret_in_files(&env.state_dir(), chain::TEMP_SECRET);
}

#[test]
fn aws_credential_export_keys_that_expire_in_4_minutes_are_run_once_for_three_uses() {
    let dir = tempfile::tempdir().unwrap();
    // T0 + 4 minutes.
    let (env, counted) = export_user(dir.path(), "2027-01-15T08:04:00Z");
    for _ in 0..3 {
        exported_at(&env, T0);
    }
    assert_eq!(runs(&counted), 1, "one run for three uses");
    // 110 s left of 240: within half their lifetime, so run again.
    exported_at(&env, T0 + 130);
    assert_eq!(runs(&counted), 2);
}

#[test]
fn aws_credential_export_keys_that_have_expired_are_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let (env, counted) = export_user(dir.path(), "2027-01-15T07:59:00Z");
    exported_at(&env, T0);
    exported_at(&env, T0);
    assert_eq!(runs(&counted), 2);
}
