//! Key rotation with and without an Admin key (the old key marked inactive in the
//! organization, or the user told where to do it), the rotation-interval warning of
//! `--test-auth`, and the `compliance` block: data residency refused before a credential
//! leaves, storage at rest stated, plain HTTP refused.

mod common;

use common::admin_server::{AdminApi, AdminSetup, OrgKey};
use common::servers::{Reply, Server};
use common::*;

/// Shaped like an Admin key, obviously fake.
const ADMIN_KEY: &str = "sk-ant-admin01-TESTADMINKEYZZZZZZZZZZZZZ-z9Z9";
const DAY: u64 = 86_400;
const T0: u64 = 1_780_000_000;

fn org(fail_updates: Option<u16>) -> AdminApi {
    AdminApi::start(AdminSetup {
        valid: vec![KEY_A.into(), KEY_B.into()],
        admin_key: ADMIN_KEY.into(),
        keys: vec![
            OrgKey::active("apikey_01other", "someone else's key", KEY_C),
            OrgKey::active("apikey_01new", "laptop (new)", KEY_B),
            OrgKey::active("apikey_01old", "laptop", KEY_A),
        ],
        // One key a page: the old key is only found by following `after_id`.
        page_size: 1,
        fail_updates,
    })
}

fn assert_clean(out: &std::process::Output) {
    assert_not_echoed(out, ADMIN_KEY);
    assert_no_secret(out, KEY_A);
    assert_no_secret(out, KEY_B);
}

#[test]
fn rotate_with_an_admin_key_marks_the_old_key_inactive() {
    let api = org(None);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A).admin_key(&api.url(), ADMIN_KEY);

    let out = env.run_with_stdin(&["--rotate-key", "-"], KEY_B);
    assert!(out.status.success(), "{}", text(&out));
    assert_clean(&out);
    assert!(
        text(&out)
            .contains("Old key sk-ant-api03-…a1A1 (laptop) marked inactive in the organization"),
        "{}",
        text(&out)
    );
    assert_eq!(api.status_of("apikey_01old"), "inactive");
    assert_eq!(
        api.status_of("apikey_01new"),
        "active",
        "the new key is untouched"
    );
    assert_eq!(api.status_of("apikey_01other"), "active");

    let admin = api.admin_requests();
    assert!(
        admin
            .iter()
            .any(|r| r.path.contains("after_id=apikey_01new")),
        "pages are followed: {admin:?}"
    );
    let update = admin
        .iter()
        .find(|r| r.method == "POST")
        .expect("one update");
    assert_eq!(update.path, "/v1/organizations/api_keys/apikey_01old");
    let body: serde_json::Value = serde_json::from_str(&update.body).unwrap();
    assert_eq!(body, serde_json::json!({"status": "inactive"}));

    let json = env.run_with_stdin(&["--rotate-key", "-", "--json"], KEY_A);
    assert_clean(&json);
    let status = env.run(&["--auth-status"]);
    assert_clean(&status);
    assert!(
        text(&status).contains("previous key: sk-ant-api03-…b2B2"),
        "the overlap window shows the replaced key: {}",
        text(&status)
    );
    assert_no_secret_in_files(env.home.path(), ADMIN_KEY);
}

#[test]
fn rotate_json_reports_the_old_key_state() {
    let api = org(None);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A).admin_key(&api.url(), ADMIN_KEY);
    let out = env.run_with_stdin(&["--rotate-key", "-", "--json"], KEY_B);
    assert_clean(&out);
    let doc = json_stdout(&out);
    assert_eq!(doc["oldKey"]["status"], "inactive");
    assert_eq!(doc["oldKey"]["id"], "apikey_01old");
    assert_eq!(doc["oldKey"]["fingerprint"], "sk-ant-api03-…a1A1");
}

#[test]
fn rotate_without_an_admin_key_says_the_old_key_is_still_active() {
    let api = org(None);
    let env = TestEnv::with_stored_key(&api.url(), KEY_A);
    let out = env.run_with_stdin(&["--rotate-key", "-"], KEY_B);
    assert!(out.status.success(), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("Old key sk-ant-api03-…a1A1 is still active"),
        "{all}"
    );
    assert!(
        all.contains("https://console.anthropic.com/settings/keys"),
        "{all}"
    );
    assert!(
        api.admin_requests().is_empty(),
        "no Admin API call without an Admin key"
    );
    assert_eq!(api.status_of("apikey_01old"), "active");
}

#[test]
fn rotation_stands_when_the_admin_api_fails() {
    let api = org(Some(500));
    let env = TestEnv::with_stored_key(&api.url(), KEY_A)
        .admin_key(&api.url(), ADMIN_KEY)
        .with("CLAUDE_TEST_NOW", &T0.to_string());
    let out = env.run_with_stdin(&["--rotate-key", "-"], KEY_B);
    assert!(
        out.status.success(),
        "the rotation itself succeeded: {}",
        text(&out)
    );
    assert_clean(&out);
    let all = text(&out);
    assert!(
        all.contains("Old key sk-ant-api03-…a1A1 is still active"),
        "{all}"
    );
    assert!(
        all.contains("warning: the old key was not deactivated"),
        "{all}"
    );
    assert!(
        all.contains("deactivate the old key at https://console.anthropic.com"),
        "{all}"
    );
    let status = env.status_json();
    assert_eq!(
        status["fingerprint"], "sk-ant-api03-…b2B2",
        "the new key is in force"
    );
}

#[test]
fn a_rejected_admin_key_is_named_by_fingerprint_only() {
    let api = org(None);
    let wrong = "sk-ant-admin01-TESTWRONGADMINKEYYYYYYYY-y8Y8";
    let env = TestEnv::with_stored_key(&api.url(), KEY_A).admin_key(&api.url(), wrong);
    let out = env.run_with_stdin(&["--rotate-key", "-"], KEY_B);
    assert!(out.status.success(), "{}", text(&out));
    assert_not_echoed(&out, wrong);
    let all = text(&out);
    assert!(
        all.contains("rejected ANTHROPIC_ADMIN_API_KEY (sk-ant-admin01-…y8Y8)"),
        "{all}"
    );
    assert_eq!(api.status_of("apikey_01old"), "active");
}

#[test]
fn test_auth_warns_when_the_key_is_older_than_the_rotation_interval() {
    let api = Server::anthropic(&[KEY_A]);
    let mut env = TestEnv::encrypted()
        .api(&api.url())
        .with("CLAUDE_TEST_NOW", &T0.to_string());
    env.write_config(r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}},
        "security": {"keyRotation": {"enabled": true, "interval": 2592000}}}"#);
    env.store_key(KEY_A);
    env.set("CLAUDE_TEST_NOW", &(T0 + 31 * DAY).to_string());

    let out = env.run(&["--test-auth"]);
    assert!(
        out.status.success(),
        "a due rotation warns, it does not fail: {}",
        text(&out)
    );
    let all = text(&out);
    assert!(
        all.contains("! key rotation")
            && all.contains(
                "sk-ant-api03-…a1A1 was stored 31 d ago and `security.keyRotation.interval` is 30 d"
            ),
        "{all}"
    );
    env.set("CLAUDE_TEST_NOW", &(T0 + 2 * DAY).to_string());
    let fresh = text(&env.run(&["--test-auth"]));
    assert!(
        fresh.contains("✓ key rotation") && fresh.contains("due in 28 d"),
        "{fresh}"
    );
}

#[test]
fn test_auth_never_shows_a_rotation_check_it_could_not_make() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::new()
        .api(&api.url())
        .with("ANTHROPIC_API_KEY", KEY_A);
    env.write_config(r#"{"security": {"keyRotation": {"enabled": true, "interval": 2592000}}}"#);
    let out = text(&env.run(&["--test-auth"]));
    assert!(
        out.contains("– key rotation") && out.contains("its age is unknown here"),
        "{out}"
    );
    env.write_config(r#"{"security": {"keyRotation": {"enabled": true}}}"#);
    let out = text(&env.run(&["--test-auth"]));
    assert!(
        out.contains("– key rotation") && out.contains("without an `interval`"),
        "{out}"
    );
}

/// A Bedrock user whose endpoint is `bedrock`, with a bearer token.
fn bedrock_env(bedrock: &Server, region: &str, policy: &str) -> TestEnv {
    let env = TestEnv::new()
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("AWS_REGION", region)
        .with("AWS_BEARER_TOKEN_BEDROCK", FAKE_JWT)
        .with("AWS_ENDPOINT_URL_BEDROCK", &bedrock.url());
    env.write_config(&format!(
        r#"{{"compliance": {{"dataResidency": "{policy}"}}}}"#
    ));
    env
}

#[test]
fn data_residency_refuses_a_bedrock_region_outside_before_sending_anything() {
    let bedrock = Server::scripted(vec![Reply::json(200, r#"{"modelSummaries": []}"#)]);
    let env = bedrock_env(&bedrock, "eu-west-1", "us");

    let status = env.run(&["--auth-status", "--json"]);
    assert_eq!(status.status.code(), Some(4), "{}", text(&status));
    let doc = json_stdout(&status);
    assert_eq!(doc["problem"]["code"], "policy_violation");
    assert_eq!(doc["compliance"]["dataResidency"]["state"], "outside");

    for args in [&["--test-auth"][..], &["--print-token"][..]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(16), "{args:?}: {}", text(&out));
        let all = text(&out);
        assert!(
            all.contains(
                "the Bedrock region eu-west-1 is outside `compliance.dataResidency` \"us\""
            ),
            "{args:?}: {all}"
        );
        assert_not_echoed(&out, FAKE_JWT);
    }
    assert!(bedrock.requests().is_empty(), "no credential was sent");

    let inside = bedrock_env(&bedrock, "us-west-2", "us");
    let ok = inside.run(&["--auth-status"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("residency:    \"us\": the Bedrock region us-west-2 is inside"),
        "{}",
        text(&ok)
    );
}

#[test]
fn data_residency_refuses_a_global_vertex_location() {
    let env = TestEnv::new()
        .with("CLAUDE_CODE_USE_VERTEX", "1")
        .with("CLOUD_ML_REGION", "global")
        .with("ANTHROPIC_VERTEX_PROJECT_ID", "p");
    env.write_config(r#"{"compliance": {"dataResidency": "eu"}}"#);
    let out = env.run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(16), "{}", text(&out));
    assert!(
        text(&out)
            .contains("the Vertex AI location global is outside `compliance.dataResidency` \"eu\""),
        "{}",
        text(&out)
    );
}

#[test]
fn status_says_what_cannot_be_checked_for_the_anthropic_api() {
    let env = TestEnv::new().with("ANTHROPIC_API_KEY", KEY_A);
    env.write_config(r#"{"compliance": {"dataResidency": "eu", "encryptionAtRest": true}}"#);
    let out = env.run(&["--auth-status"]);
    assert!(out.status.success(), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("storage:      keychain (encrypted at rest by the OS keychain, as `compliance.encryptionAtRest` requires)"), "{all}");
    assert!(
        all.contains("residency:    \"eu\": not checkable from here"),
        "{all}"
    );
    let doc = env.status_json();
    assert_eq!(doc["compliance"]["encryptionAtRest"]["encrypted"], true);
    assert_eq!(doc["compliance"]["dataResidency"]["state"], "unchecked");
}

#[test]
fn a_malformed_residency_is_a_config_error() {
    let api = Server::anthropic(&[KEY_A]);
    let env = TestEnv::env_key(&api.url(), KEY_A);
    env.write_config(r#"{"compliance": {"dataResidency": "mars"}}"#);
    let out = env.run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("neither a region"), "{}", text(&out));
    assert!(api.requests().is_empty(), "the key was not sent");
}

#[test]
fn encryption_in_transit_refuses_plain_http_to_a_remote_bedrock_endpoint() {
    let env = TestEnv::new()
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("AWS_REGION", "us-east-1")
        .with("AWS_BEARER_TOKEN_BEDROCK", FAKE_JWT)
        .with("AWS_ENDPOINT_URL_BEDROCK", "http://bedrock.example.invalid");
    env.write_config(r#"{"compliance": {"encryptionInTransit": true}}"#);
    let out = env.run(&["--test-auth"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("refusing to send credentials"),
        "{}",
        text(&out)
    );
    assert_not_echoed(&out, FAKE_JWT);
}
