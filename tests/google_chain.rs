//! The rest of Google's application-default credentials, end to end against loopback
//! stand-ins: workload identity federation (file-, URL- and executable-sourced subject
//! tokens, STS exchange, impersonation), `impersonated_service_account`, the metadata
//! server through `GCE_METADATA_HOST`, and `CLAUDE_CODE_SKIP_VERTEX_AUTH`. Offline status
//! never reaches any of them.

mod common;

use common::google_chain_server::{self as chain, *};
use common::google_server::{
    authorized_user_json, vertex, vertex_user, TokenMode, TokenServer, LOCATION, PROJECT,
    USER_ACCESS_TOKEN,
};
use common::servers::{Reply, Server};
use common::*;
use serde_json::json;
use std::path::Path;

/// A Vertex user with `doc` as the credential file.
fn vertex_env(doc: &serde_json::Value) -> TestEnv {
    vertex_user(TestEnv::encrypted(), doc)
}

fn external(server: &Server, source: serde_json::Value, impersonate: bool) -> serde_json::Value {
    let mut doc = json!({
        "type": "external_account",
        "audience": AUDIENCE,
        "subject_token_type": SUBJECT_TYPE,
        "token_url": format!("{}/sts", server.url()),
        "credential_source": source,
    });
    if impersonate {
        doc["service_account_impersonation_url"] = json!(format!(
            "{}/v1/projects/-/serviceAccounts/{ROBOT}:generateAccessToken",
            server.url()
        ));
    }
    doc
}

fn printed(env: &TestEnv) -> String {
    let out = env.run(&["--print-token"]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn subject_file(dir: &Path) -> String {
    let path = dir.join("subject.jwt");
    std::fs::write(&path, format!("{SUBJECT_TOKEN}\n")).unwrap();
    path.display().to_string()
}

#[test]
fn external_account_from_a_file_exchanges_the_subject_token_at_sts() {
    let google = chain::start();
    let dir = tempfile::tempdir().unwrap();
    let doc = external(&google, json!({"file": subject_file(dir.path())}), false);
    let env = vertex_env(&doc);

    let status = env.run(&["--auth-status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    assert_eq!(
        json_stdout(&status)["source"],
        "env:GOOGLE_APPLICATION_CREDENTIALS"
    );
    let status = env.run(&["--auth-status"]);
    let shown = text(&status);
    assert!(shown.contains("workload identity federation"), "{shown}");
    assert!(google.requests().is_empty(), "status is offline");

    assert_eq!(printed(&env), STS_TOKEN);
    let requests = google.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/sts");
    let form = chain::form(&requests[0]);
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    assert_eq!(form["subject_token"], SUBJECT_TOKEN);
    assert_not_echoed(&status, SUBJECT_TOKEN);
}

#[test]
fn external_account_from_a_url_with_impersonation_asks_iam_for_the_robots_token() {
    let google = chain::start();
    let source = json!({
        "url": format!("{}/subject", google.url()),
        "headers": {"x-test-header": "yes"},
        "format": {"type": "json", "subject_token_field_name": "id_token"},
    });
    let env = vertex_env(&external(&google, source, true));
    let status = env.run(&["--auth-status"]);
    assert!(
        text(&status).contains(&format!("impersonating {ROBOT}")),
        "{}",
        text(&status)
    );
    assert!(google.requests().is_empty(), "status is offline");

    assert_eq!(printed(&env), IMPERSONATED_TOKEN);
    let paths: Vec<String> = google.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/subject".to_string(),
            "/sts".to_string(),
            format!("/v1/projects/-/serviceAccounts/{ROBOT}:generateAccessToken")
        ]
    );
    let iam = &google.requests()[2];
    assert_eq!(
        iam.header("authorization"),
        Some(format!("Bearer {STS_TOKEN}").as_str())
    );
    // The token is cached: a second use asks nobody.
    assert_eq!(printed(&env), IMPERSONATED_TOKEN);
    assert_eq!(google.requests().len(), 3);
}

#[cfg(target_os = "linux")]
#[test]
fn an_executable_runs_only_when_allowed_and_without_secrets() {
    let google = chain::start();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("subject-token");
    let environ = dir.path().join("environ");
    let reply = json!({"version": 1, "success": true, "token_type": SUBJECT_TYPE, "id_token": SUBJECT_TOKEN});
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat /proc/$$/environ > '{}'\necho '{reply}'\n",
            environ.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    let source =
        json!({"executable": {"command": script.display().to_string(), "timeout_millis": 5000}});
    let env = vertex_env(&external(&google, source, false))
        .with("GH_TOKEN", "ghp_CANARYCANARYCANARYCANARYCANARY00");

    let refused = env.run(&["--print-token"]);
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    assert!(text(&refused).contains("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1"));
    assert!(!environ.exists(), "not run without the switch");

    let env = env.with("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "1");
    assert_eq!(printed(&env), STS_TOKEN);
    let seen = std::fs::read_to_string(&environ)
        .unwrap()
        .replace('\0', "\n");
    assert!(
        seen.contains(&format!("GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE={AUDIENCE}")),
        "{seen}"
    );
    assert!(!seen.contains("ghp_CANARY"), "{seen}");
    assert!(!seen.contains(PASSPHRASE), "{seen}");
}

#[test]
fn impersonated_service_account_uses_its_source_then_generate_access_token() {
    let google = chain::start();
    let tokens = TokenServer::start(TokenMode::Normal);
    let source: serde_json::Value =
        serde_json::from_str(&authorized_user_json(&tokens.token_uri(), PROJECT)).unwrap();
    let doc = json!({
        "type": "impersonated_service_account",
        "service_account_impersonation_url": format!(
            "{}/v1/projects/-/serviceAccounts/{ROBOT}:generateAccessToken",
            google.url()
        ),
        "source_credentials": source,
        "delegates": [],
    });
    let api = vertex(vec![IMPERSONATED_TOKEN.to_string()], 200);
    let env = vertex_env(&doc).with("ANTHROPIC_VERTEX_BASE_URL", &api.url());
    let status = env.run(&["--auth-status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    assert_eq!(json_stdout(&status)["settings"]["impersonates"], ROBOT);
    assert_eq!(tokens.hits(), 0, "status is offline");

    let test = env.run(&["--test-auth"]);
    assert!(test.status.success(), "{}", text(&test));
    assert_eq!(tokens.hits(), 1);
    let iam = &google.requests()[0];
    assert_eq!(
        iam.header("authorization"),
        Some(format!("Bearer {USER_ACCESS_TOKEN}").as_str())
    );
    assert_not_echoed(&test, IMPERSONATED_TOKEN);
    assert_not_echoed(&test, USER_ACCESS_TOKEN);
}

#[test]
fn the_metadata_server_is_named_offline_and_asked_online() {
    let google = chain::start();
    let host = google.url().trim_start_matches("http://").to_string();
    let env = TestEnv::encrypted()
        .with("CLAUDE_CODE_USE_VERTEX", "1")
        .with("CLOUD_ML_REGION", LOCATION)
        .with("ANTHROPIC_VERTEX_PROJECT_ID", PROJECT)
        .with("GCE_METADATA_HOST", &host);
    let status = env.run(&["--auth-status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    assert_eq!(json_stdout(&status)["source"], format!("metadata:{host}"));
    assert!(google.requests().is_empty(), "status is offline");

    assert_eq!(printed(&env), METADATA_TOKEN);
    let request = &google.requests()[0];
    assert_eq!(request.header("metadata-flavor"), Some("Google"));
    assert!(request.path.contains("scopes="), "{}", request.path);
}

#[test]
fn without_any_google_credential_status_says_how_to_get_one() {
    let env = TestEnv::encrypted()
        .with("CLAUDE_CODE_USE_VERTEX", "1")
        .with("CLOUD_ML_REGION", LOCATION)
        .with("ANTHROPIC_VERTEX_PROJECT_ID", PROJECT);
    let out = env.run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("GCE_METADATA_HOST"), "{}", text(&out));
}

#[test]
fn skip_vertex_auth_sends_no_credentials_and_status_says_so() {
    let api = Server::start(|req, _| {
        if req.header("authorization").is_some() {
            Reply::json(400, r#"{"error":"unexpected credentials"}"#)
        } else {
            Reply::json(200, r#"{"name":"publishers/anthropic/models/m"}"#)
        }
    });
    let env = TestEnv::encrypted()
        .with("CLAUDE_CODE_USE_VERTEX", "1")
        .with("CLAUDE_CODE_SKIP_VERTEX_AUTH", "1")
        .with("CLOUD_ML_REGION", LOCATION)
        .with("ANTHROPIC_VERTEX_PROJECT_ID", PROJECT)
        .with("ANTHROPIC_VERTEX_BASE_URL", &api.url());
    let status = env.run(&["--auth-status"]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(
        text(&status).contains("CLAUDE_CODE_SKIP_VERTEX_AUTH"),
        "{}",
        text(&status)
    );
    assert!(api.requests().is_empty());
    let test = env.run(&["--test-auth"]);
    assert!(test.status.success(), "{}", text(&test));
    assert_eq!(api.requests()[0].header("authorization"), None);
    let token = env.run(&["--print-token"]);
    assert_eq!(token.status.code(), Some(2), "{}", text(&token));
}

#[test]
fn skip_vertex_auth_lists_the_credential_file_it_skips_as_shadowed() {
    let doc = json!({"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"});
    let env = vertex_env(&doc).with("CLAUDE_CODE_SKIP_VERTEX_AUTH", "1");
    let status = env.run(&["--auth-status", "--json"]);
    assert!(status.status.success(), "{}", text(&status));
    let doc = json_stdout(&status);
    assert_eq!(doc["source"], "env:CLAUDE_CODE_SKIP_VERTEX_AUTH");
    assert_eq!(
        doc["shadowed"],
        json!(["env:GOOGLE_APPLICATION_CREDENTIALS"])
    );
    let shown = text(&env.run(&["--auth-status"]));
    assert!(
        shown.contains(
            "Using vertex with no Google credentials (CLAUDE_CODE_SKIP_VERTEX_AUTH: a gateway"
        ),
        "{shown}"
    );
    assert!(!shown.contains("with none"), "{shown}");
    assert!(
        shown.contains("shadowed:     env:GOOGLE_APPLICATION_CREDENTIALS"),
        "{shown}"
    );
}

#[test]
fn a_foreign_sts_endpoint_is_refused_before_anything_is_sent() {
    let doc = json!({
        "type": "external_account",
        "audience": AUDIENCE,
        "subject_token_type": SUBJECT_TYPE,
        "token_url": "https://sts.example.com/v1/token",
        "credential_source": {"file": "/nonexistent"},
    });
    let out = vertex_env(&doc).run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("refusing the token_url"),
        "{}",
        text(&out)
    );
}
