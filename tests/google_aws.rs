//! AWS-sourced workload identity federation (`external_account` with `environment_id:
//! aws1`) end to end: AWS keys and region from the environment or a stand-in instance
//! metadata service (IMDSv2 session token, role, keys, availability zone), the signed
//! `GetCallerIdentity` subject token checked and its SigV4 signature recomputed by a Google
//! STS stand-in, impersonation after it. Offline status names the source and asks nobody;
//! URLs that are not the instance metadata are refused before anything is sent.

mod common;

use common::aws_chain_server::{self as imds_server, IMDS_TOKEN, TEMP_SECRET, TEMP_TOKEN};
use common::google_chain_server::{self as chain, *};
use common::google_server::{vertex, vertex_user};
use common::servers::Server;
use common::*;
use serde_json::json;

const VERIFY_URL: &str =
    "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15";

/// Google's AWS credential file, its instance metadata URLs on `imds`.
fn aws_doc(google: &Server, imds: &str, impersonate: bool) -> serde_json::Value {
    let mut doc = json!({
        "type": "external_account",
        "audience": AUDIENCE,
        "subject_token_type": AWS_SUBJECT_TYPE,
        "token_url": format!("{}/sts", google.url()),
        "credential_source": {
            "environment_id": "aws1",
            "region_url": format!("{imds}/latest/meta-data/placement/availability-zone"),
            "url": format!("{imds}/latest/meta-data/iam/security-credentials"),
            "regional_cred_verification_url": VERIFY_URL,
            "imdsv2_session_token_url": format!("{imds}/latest/api/token"),
        },
    });
    if impersonate {
        doc["service_account_impersonation_url"] = json!(format!(
            "{}/v1/projects/-/serviceAccounts/{ROBOT}:generateAccessToken",
            google.url()
        ));
    }
    doc
}

/// A Vertex user with `doc` as the credential file.
fn vertex_env(doc: &serde_json::Value) -> TestEnv {
    vertex_user(TestEnv::encrypted(), doc)
}

fn with_env_keys(env: TestEnv) -> TestEnv {
    env.with("AWS_ACCESS_KEY_ID", AWS_ENV_ID)
        .with("AWS_SECRET_ACCESS_KEY", AWS_ENV_SECRET)
        .with("AWS_SESSION_TOKEN", AWS_ENV_TOKEN)
}

fn printed(env: &TestEnv) -> std::process::Output {
    let out = env.run(&["--print-token"]);
    assert!(out.status.success(), "{}", text(&out));
    out
}

fn paths(server: &Server) -> Vec<String> {
    server.requests().iter().map(|r| r.path.clone()).collect()
}

/// The decoded subject token of the exchange at `/sts`.
fn subject(google: &Server) -> serde_json::Value {
    let sts = google
        .requests()
        .into_iter()
        .find(|r| r.path == "/sts")
        .expect("an exchange");
    chain::aws_subject(&sts).expect("a percent-encoded JSON subject token")
}

#[test]
fn env_keys_and_region_sign_get_caller_identity_without_asking_the_instance_metadata() {
    let google = chain::start();
    let imds = imds_server::start(None);
    let env = with_env_keys(vertex_env(&aws_doc(&google, &imds.url(), false)))
        .with("AWS_REGION", "us-west-2");

    let status = env.run(&["--auth-status"]);
    assert!(status.status.success(), "{}", text(&status));
    let shown = text(&status);
    assert!(shown.contains("(external_account)"), "{shown}");
    assert!(
        shown.contains("AWS-sourced: credentials from env, region from AWS_REGION"),
        "{shown}"
    );
    let doc = env.status_json();
    assert!(
        doc["settings"]["awsKeys"]
            .as_str()
            .unwrap()
            .starts_with("env:AWS_ACCESS_KEY_ID "),
        "{doc}"
    );
    assert_eq!(doc["settings"]["awsRegion"], "us-west-2 (AWS_REGION)");
    assert!(google.requests().is_empty(), "status is offline");

    let out = printed(&env);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), STS_TOKEN);
    assert!(imds.requests().is_empty(), "{:?}", paths(&imds));
    assert_eq!(paths(&google), ["/sts"]);
    let subject = subject(&google);
    assert_eq!(
        subject["url"],
        "https://sts.us-west-2.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
    );
    assert_eq!(
        chain::aws_header(&subject, "x-amz-security-token").as_deref(),
        Some(AWS_ENV_TOKEN)
    );
    let form = chain::form(&google.requests()[0]);
    assert_eq!(form["subject_token_type"], AWS_SUBJECT_TYPE);
    for secret in [AWS_ENV_SECRET, AWS_ENV_TOKEN] {
        assert_not_echoed(&status, secret);
        assert_not_echoed(&out, secret);
    }
}

#[test]
fn imds_keys_come_with_an_imdsv2_session_token() {
    let google = chain::start();
    let imds = imds_server::start(None);
    let env = vertex_env(&aws_doc(&google, &imds.url(), false)).with("AWS_REGION", "eu-west-3");
    let status = env.run(&["--auth-status"]);
    assert!(
        text(&status).contains("AWS-sourced: credentials from IMDS, region from AWS_REGION"),
        "{}",
        text(&status)
    );
    assert!(imds.requests().is_empty(), "status is offline");

    printed(&env);
    assert_eq!(
        paths(&imds),
        [
            "/latest/api/token",
            "/latest/meta-data/iam/security-credentials",
            &format!(
                "/latest/meta-data/iam/security-credentials/{}",
                imds_server::ROLE
            ),
        ]
    );
    let requests = imds.requests();
    assert_eq!(requests[0].method, "PUT");
    assert!(requests[0]
        .header("x-aws-ec2-metadata-token-ttl-seconds")
        .is_some());
    for request in &requests[1..] {
        assert_eq!(request.header("x-aws-ec2-metadata-token"), Some(IMDS_TOKEN));
    }
    let subject = subject(&google);
    assert_eq!(
        chain::aws_header(&subject, "x-amz-security-token").as_deref(),
        Some(TEMP_TOKEN)
    );
    assert!(subject["url"]
        .as_str()
        .unwrap()
        .starts_with("https://sts.eu-west-3.amazonaws.com"));
}

#[test]
fn the_region_comes_from_the_availability_zone_without_its_letter() {
    let google = chain::start();
    let imds = imds_server::start(None);
    let env = with_env_keys(vertex_env(&aws_doc(&google, &imds.url(), false)));
    let doc = env.status_json();
    assert!(
        doc["settings"]["awsRegion"]
            .as_str()
            .unwrap()
            .starts_with("imds:"),
        "{doc}"
    );

    printed(&env);
    assert_eq!(
        paths(&imds),
        [
            "/latest/api/token",
            "/latest/meta-data/placement/availability-zone"
        ]
    );
    let url = subject(&google)["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with("https://sts.us-east-2.amazonaws.com?"),
        "{url}"
    );
}

#[test]
fn urls_that_are_not_the_instance_metadata_are_refused_before_any_request() {
    let google = chain::start();
    let imds = imds_server::start(None);
    for (field, foreign) in [
        (
            "url",
            "http://10.0.0.1/latest/meta-data/iam/security-credentials",
        ),
        (
            "region_url",
            "http://metadata.example.com/latest/meta-data/placement/availability-zone",
        ),
        (
            "imdsv2_session_token_url",
            "https://169.254.169.254/latest/api/token",
        ),
    ] {
        let mut doc = aws_doc(&google, &imds.url(), false);
        doc["credential_source"][field] = json!(foreign);
        let env = with_env_keys(vertex_env(&doc)).with("AWS_REGION", "us-east-1");
        for args in [&["--auth-status"][..], &["--print-token"]] {
            let out = env.run(args);
            assert!(!out.status.success(), "{}", text(&out));
            assert!(
                text(&out).contains(&format!("refusing the credential_source.{field}")),
                "{}",
                text(&out)
            );
        }
    }
    let mut doc = aws_doc(&google, &imds.url(), false);
    doc["credential_source"]["regional_cred_verification_url"] =
        json!("https://collector.example.com/{region}");
    let out = with_env_keys(vertex_env(&doc)).run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("regional_cred_verification_url"));
    assert!(google.requests().is_empty());
    assert!(imds.requests().is_empty());
}

#[test]
fn a_newer_aws_environment_id_is_refused() {
    let google = chain::start();
    let mut doc = aws_doc(&google, "http://169.254.169.254", false);
    doc["credential_source"]["environment_id"] = json!("aws2");
    let env = with_env_keys(vertex_env(&doc)).with("AWS_REGION", "us-east-1");
    let out = env.run(&["--print-token"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("`aws2`"), "{}", text(&out));
    assert!(text(&out).contains("`aws1` only"), "{}", text(&out));
    let status = env.run(&["--auth-status", "--json"]);
    assert_eq!(json_stdout(&status)["problem"]["code"], "config_error");
    assert!(google.requests().is_empty());
}

#[test]
fn without_region_or_keys_status_says_what_to_set() {
    let google = chain::start();
    let mut doc = aws_doc(&google, "http://169.254.169.254", false);
    let source = doc["credential_source"].as_object_mut().unwrap();
    source.remove("region_url");
    source.remove("url");
    let out = vertex_env(&doc).run(&["--auth-status"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("no AWS region"), "{}", text(&out));
    let out = vertex_env(&doc)
        .with("AWS_REGION", "us-east-1")
        .run(&["--auth-status"]);
    assert!(text(&out).contains("no AWS credentials"), "{}", text(&out));
    assert!(
        text(&out).contains("AWS_SECRET_ACCESS_KEY"),
        "{}",
        text(&out)
    );
}

#[test]
fn aws_sourced_tokens_can_impersonate_a_service_account() {
    let google = chain::start();
    let imds = imds_server::start(None);
    let env = vertex_env(&aws_doc(&google, &imds.url(), true)).with("AWS_REGION", "us-east-1");
    let status = env.run(&["--auth-status", "--json"]);
    assert_eq!(json_stdout(&status)["settings"]["impersonates"], ROBOT);
    let out = printed(&env);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        IMPERSONATED_TOKEN
    );
    assert_eq!(
        paths(&google),
        [
            "/sts".to_string(),
            format!("/v1/projects/-/serviceAccounts/{ROBOT}:generateAccessToken")
        ]
    );
    assert_eq!(
        google.requests()[1].header("authorization"),
        Some(format!("Bearer {STS_TOKEN}").as_str())
    );
}

#[test]
fn no_aws_or_google_secret_reaches_output_trace_or_files() {
    let google = chain::start();
    let imds = imds_server::start(None);
    let api = vertex(vec![STS_TOKEN.to_string()], 200);
    let env = vertex_env(&aws_doc(&google, &imds.url(), false))
        .with("ANTHROPIC_VERTEX_BASE_URL", &api.url());
    let out = env.run(&["--debug-auth", "-v"]);
    assert!(out.status.success(), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("signing AWS GetCallerIdentity in us-east-2"),
        "{all}"
    );
    for secret in [TEMP_SECRET, TEMP_TOKEN, IMDS_TOKEN, STS_TOKEN] {
        assert_not_echoed(&out, secret);
        assert_no_secret_in_files(env.home.path(), secret);
    }
    // Nor the subject token, in either encoding.
    for piece in [
        "Signature%3D",
        "x-goog-cloud-target-resource%22",
        "GetCallerIdentity%26",
    ] {
        assert!(!all.contains(piece), "{all}");
    }
    assert!(!imds.requests().is_empty() && !api.requests().is_empty());
}
