//! Cloud providers through the binary: provider selection, `--auth-status`, `--test-auth` and
//! `--debug-auth` for Bedrock (bearer token and SigV4) and their failures.

mod common;

use common::bedrock_server::{self, Accept, MODEL};
use common::*;

const BEDROCK_TOKEN: &str = "bedrock-api-key-TESTTESTTESTTEST-0042";
const AWS_KEY_ID: &str = "AKIATESTTESTTEST0001";
const AWS_SECRET: &str = "aws-secret-TESTTESTTESTTESTTESTTEST-9999";

fn bedrock_env(base: &str) -> TestEnv {
    TestEnv::new()
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("AWS_REGION", "us-west-2")
        .with("ANTHROPIC_BEDROCK_BASE_URL", base)
}

#[test]
fn bedrock_bearer_token_is_selected_shown_and_verified() {
    let server = bedrock_server::start(Accept::Bearer(BEDROCK_TOKEN.into()));
    let env = bedrock_env(&server.url())
        .with("AWS_BEARER_TOKEN_BEDROCK", BEDROCK_TOKEN)
        .with("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
        .with("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .with("ANTHROPIC_API_KEY", KEY_A);
    let status = env.run(&["--auth-status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let doc = json_stdout(&status);
    assert_eq!(doc["provider"], "bedrock");
    assert_eq!(doc["source"], "env:AWS_BEARER_TOKEN_BEDROCK");
    assert_eq!(doc["billing"], "cloud");
    assert_eq!(
        doc["shadowed"],
        serde_json::json!(["env:AWS_ACCESS_KEY_ID"])
    );
    assert_eq!(doc["settings"]["region"], "us-west-2");
    assert_eq!(
        doc["credentials"][0]["state"], "refused",
        "the Anthropic key is not used with Bedrock"
    );

    let test = env.run(&["--debug-auth"]);
    assert_eq!(test.status.code(), Some(0), "{}", text(&test));
    let stdout = String::from_utf8_lossy(&test.stdout);
    assert!(
        stdout.contains("bedrock (from CLAUDE_CODE_USE_BEDROCK)") && stdout.contains("✓ server"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&test.stderr).contains("authorization: [redacted]"),
        "{}",
        text(&test)
    );
    for out in [&status, &test] {
        for secret in [BEDROCK_TOKEN, AWS_SECRET, KEY_A] {
            assert!(
                !text(out).contains(secret),
                "{secret} leaked: {}",
                text(out)
            );
        }
    }
}

#[test]
fn bedrock_sigv4_keys_from_a_profile_pass_debug_auth_without_leaking() {
    let server = bedrock_server::start(Accept::Keys {
        access_key_id: AWS_KEY_ID.into(),
        secret_access_key: AWS_SECRET.into(),
        session_token: None,
        region: "us-west-2".into(),
    });
    let env = bedrock_env(&server.url());
    let credentials = env.home.path().join("aws-credentials");
    std::fs::write(
        &credentials,
        format!("[dev]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"),
    )
    .unwrap();
    set_mode(&credentials, 0o600);
    let env = env
        .with("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap())
        .with("AWS_PROFILE", "dev");
    env.write_config(&format!(r#"{{"model": "{MODEL}"}}"#));
    let out = env.run(&["--debug-auth", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("authorization: [redacted]"),
        "{}",
        text(&out)
    );
    let doc = json_stdout(&out);
    let credential = test_auth_step(&doc, "credential");
    assert!(
        credential["detail"].as_str().unwrap().contains("profile"),
        "{credential}"
    );
    assert!(!text(&out).contains(AWS_SECRET));
}

#[test]
fn bedrock_without_a_region_says_how_to_set_one() {
    let env = TestEnv::new()
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("AWS_BEARER_TOKEN_BEDROCK", BEDROCK_TOKEN);
    let status = env.run(&["--auth-status", "--json"]);
    assert_eq!(status.status.code(), Some(4));
    let doc = json_stdout(&status);
    assert_eq!(doc["problem"]["code"], "config_error");
    assert!(
        doc["nextStep"].as_str().unwrap().contains("AWS_REGION"),
        "{doc}"
    );
    let test = env.run(&["--test-auth"]);
    assert_eq!(test.status.code(), Some(3), "{}", text(&test));
}

#[test]
fn bedrock_access_denied_is_insufficient_permissions_at_test_auth() {
    let server = common::servers::Server::scripted(vec![bedrock_server::aws_error(
        403,
        "AccessDeniedException",
        BEDROCK_TOKEN,
    )]);
    let env = bedrock_env(&server.url()).with("AWS_BEARER_TOKEN_BEDROCK", BEDROCK_TOKEN);
    let out = env.run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    assert!(
        !text(&out).contains(BEDROCK_TOKEN),
        "server messages are not echoed"
    );
}

#[test]
fn staging_environment_selects_bedrock_from_the_config() {
    let server = bedrock_server::start(Accept::Bearer(BEDROCK_TOKEN.into()));
    let env = TestEnv::new()
        .with("CLAUDE_ENV", "staging")
        .with("AWS_BEARER_TOKEN_BEDROCK", BEDROCK_TOKEN)
        .with("ANTHROPIC_BEDROCK_BASE_URL", &server.url());
    env.write_config(
        r#"{"environments": {"staging": {"authentication": "bedrock", "region": "us-west-2"}}}"#,
    );
    let doc = env.status_json();
    assert_eq!(doc["provider"], "bedrock");
    assert_eq!(doc["environment"], "staging");
    assert_eq!(doc["configured"], true);
    env.claude().arg("--test-auth").assert().success();
}

mod vertex_binary {
    use super::common::google_server::{
        access_token_for, service_account_json, vertex, TokenMode, TokenServer, LOCATION, PROJECT,
        SA_EMAIL,
    };
    use super::common::*;

    #[test]
    fn vertex_service_account_status_test_auth_and_print_token() {
        let google = TokenServer::start(TokenMode::Normal);
        let token = access_token_for(SA_EMAIL);
        let api = vertex(vec![token.clone()], 200);
        let env = TestEnv::encrypted();
        let key = env.home.path().join("sa.json");
        std::fs::write(
            &key,
            service_account_json(SA_EMAIL, &google.token_uri(), Some(PROJECT)),
        )
        .unwrap();
        set_mode(&key, 0o600);
        let env = env
            .with("CLAUDE_CODE_USE_VERTEX", "1")
            .with("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap())
            .with("CLOUD_ML_REGION", LOCATION)
            .with("ANTHROPIC_VERTEX_BASE_URL", &api.url());

        let status = env.run(&["--auth-status", "--json"]);
        assert_eq!(status.status.code(), Some(0), "{}", text(&status));
        let doc = json_stdout(&status);
        assert_eq!(doc["provider"], "vertex");
        assert_eq!(doc["source"], "env:GOOGLE_APPLICATION_CREDENTIALS");
        assert_eq!(doc["settings"]["project"], PROJECT);
        assert_eq!(google.hits(), 0, "status is offline");

        let test = env.run(&["--debug-auth"]);
        assert_eq!(test.status.code(), Some(0), "{}", text(&test));
        assert!(String::from_utf8_lossy(&test.stdout).contains("✓ server"));
        assert!(
            !text(&test).contains(&token),
            "the access token leaked into --debug-auth"
        );
        assert!(!text(&test).contains("PRIVATE KEY"), "the key leaked");

        let printed = env.run(&["--print-token"]);
        assert!(printed.status.success(), "{}", text(&printed));
        assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), token);
        assert_eq!(google.hits(), 1, "the cached token is reused");
    }
}
