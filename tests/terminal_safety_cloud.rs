//! Values from cloud credential files can never print a line of their own in
//! `claude --auth-status`: a Google credential file's audience, subject token file, service
//! account, project, and the service account an impersonation URL names (percent-encoded
//! newlines included); the AWS profile named by the environment. Whoever can write such a
//! file (a CI template, a shared checkout) must not be able to forge "✓ …" status lines.

mod common;

use common::google_chain_server::{AUDIENCE, SUBJECT_TYPE};
use common::google_server::{service_account_json, vertex_user, LOCATION};
use common::*;
use serde_json::json;

/// A line a hostile file would like read as the product's own.
const FORGED: &str = "✓ Verified by Anthropic Security";
/// A settings line a hostile file would like read as the product's own.
const FORGED_ENDPOINT: &str = "endpoint: https://forged.example/";

/// `--auth-status` (text) of a Vertex user with `doc` as the credential file.
fn vertex_status(doc: &serde_json::Value) -> std::process::Output {
    vertex_user(TestEnv::new(), doc).run(&["--auth-status"])
}

fn external_account(audience: &str, file: &str, impersonation: Option<&str>) -> serde_json::Value {
    let mut doc = json!({
        "type": "external_account",
        "audience": audience,
        "subject_token_type": SUBJECT_TYPE,
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": {"file": file},
    });
    if let Some(url) = impersonation {
        doc["service_account_impersonation_url"] = url.into();
    }
    doc
}

#[test]
fn an_external_accounts_audience_and_subject_file_cannot_forge_status_lines() {
    let doc = external_account(
        &format!("{AUDIENCE}\n{FORGED}"),
        &format!("/var/run/token\n  {FORGED_ENDPOINT}"),
        None,
    );
    let out = vertex_status(&doc);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_line_starting_with(&out, FORGED);
    assert_no_line_starting_with(&out, FORGED_ENDPOINT);
    let shown = text(&out);
    assert!(shown.contains("\\u{a}✓ Verified"), "shown escaped: {shown}");
    assert!(
        shown.contains("endpoint:"),
        "the real endpoint line: {shown}"
    );
}

#[test]
fn a_percent_encoded_newline_in_the_impersonated_account_is_refused() {
    let url = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/\
               robot%0A%E2%9C%93%20Verified%20by%20Anthropic%20Security%0A@p.iam.gserviceaccount.com\
               :generateAccessToken";
    let user = json!({
        "type": "authorized_user",
        "client_id": "764086051850-test.apps.googleusercontent.com",
        "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty-TESTSECRET",
        "refresh_token": "1//0gTESTREFRESHTOKEN-ZZ9yYx8wVv7uUt6sSr5qQp4",
    });
    let impersonated = json!({
        "type": "impersonated_service_account",
        "service_account_impersonation_url": url,
        "source_credentials": user,
    });
    for doc in [
        external_account(AUDIENCE, "/var/run/token", Some(url)),
        impersonated,
    ] {
        let out = vertex_status(&doc);
        assert_eq!(out.status.code(), Some(4), "{}", text(&out));
        assert!(
            text(&out).contains("holds control or invisible characters"),
            "{}",
            text(&out)
        );
        assert_no_line_starting_with(&out, FORGED);
    }
}

#[test]
fn a_service_accounts_email_and_project_cannot_forge_status_lines() {
    let forging = format!("robot@p.iam.gserviceaccount.com\n{FORGED}");
    let doc: serde_json::Value = serde_json::from_str(&service_account_json(
        &forging,
        "https://oauth2.googleapis.com/token",
        Some(&format!("p\n  {FORGED_ENDPOINT}")),
    ))
    .unwrap();
    let env = TestEnv::new();
    let path = env.home.path().join("sa.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    set_mode(&path, 0o600);
    // The project comes from the file: no ANTHROPIC_VERTEX_PROJECT_ID.
    let out = env
        .with("CLAUDE_CODE_USE_VERTEX", "1")
        .with("GOOGLE_APPLICATION_CREDENTIALS", path.to_str().unwrap())
        .with("CLOUD_ML_REGION", LOCATION)
        .run(&["--auth-status"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_line_starting_with(&out, FORGED);
    assert_no_line_starting_with(&out, FORGED_ENDPOINT);
    assert!(text(&out).contains("robot@p.iam.gserviceaccount.com\\u{a}"));
}

#[test]
fn an_aws_profile_name_cannot_forge_status_lines() {
    let env = TestEnv::new();
    let aws = env.home.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile dev]\nregion = us-east-1\naws_access_key_id = AKIATESTPROFILE00001\n",
    )
    .unwrap();
    set_mode(aws.join("config"), 0o600);
    let out = env
        .with("CLAUDE_CODE_USE_BEDROCK", "1")
        .with("AWS_REGION", "us-east-1")
        .with("AWS_PROFILE", &format!("dev\n{FORGED}"))
        .run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_no_line_starting_with(&out, FORGED);
}
