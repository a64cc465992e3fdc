//! A loopback stand-in for the services the AWS credential chain asks, checking each request
//! as AWS would; every one hands out the same temporary keys ([`TEMP_ID`], …), which the
//! Bedrock stand-in (`bedrock_server`) then verifies by SigV4.
//!
//! | route                                                     | checked                                         | answer |
//! |-----------------------------------------------------------|-------------------------------------------------|--------|
//! | `POST /` `Action=AssumeRoleWithWebIdentity` (STS)         | `WebIdentityToken` = [`WEB_TOKEN`], not signed   | STS XML with the temporary keys |
//! | `POST /` `Action=AssumeRole` (STS)                        | SigV4 (service `sts`) by the source keys; `TokenCode` = [`MFA_CODE`] when MFA is required | STS XML |
//! | `GET /federation/credentials?role_name=&account_id=` (SSO) | `x-amz-sso_bearer_token` = [`SSO_TOKEN`]         | `{"roleCredentials":{…}}`; 401 otherwise |
//! | `GET /ecs/credentials` (container)                        | `Authorization` = [`CONTAINER_AUTH`]             | `{"AccessKeyId":…,"Token":…}` |
//! | `PUT /latest/api/token` (IMDSv2)                          | `x-aws-ec2-metadata-token-ttl-seconds`           | [`IMDS_TOKEN`] |
//! | `GET /latest/meta-data/iam/security-credentials[/ROLE]`   | `x-aws-ec2-metadata-token` = [`IMDS_TOKEN`]      | the role name, then its keys |
//! | `GET /latest/meta-data/placement/availability-zone`       | `x-aws-ec2-metadata-token` = [`IMDS_TOKEN`]      | [`ZONE`] |
//!
//! Anything else, or a failed check, is a 403 with an AWS error code.
#![allow(dead_code)]

use super::servers::{Reply, Request, Server};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

pub const TEMP_ID: &str = "ASIATESTCHAINTEMP001";
pub const TEMP_SECRET: &str = "tempSECRETchain/K7MDENG+TESTTEMPKEY0000t5T5";
pub const TEMP_TOKEN: &str = "FwoGZXIvYXdzTESTTEMPSESSIONTOKEN0000000000/chain+t0k==";
pub const WEB_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.TESTWEBIDENTITYTOKEN.c2lnbmF0dXJl";
pub const SSO_TOKEN: &str = "aoaAAAAAGTESTSSOACCESSTOKEN0000000000000000s5S5";
pub const CONTAINER_AUTH: &str = "TESTCONTAINERAUTHTOKEN000000000000c6C6";
pub const IMDS_TOKEN: &str = "AQAEATESTIMDSSESSIONTOKEN00000000000i7I7";
pub const MFA_CODE: &str = "123456";
pub const ROLE: &str = "claude-instance-role";
pub const EXPIRATION: &str = "2099-01-01T00:00:00Z";
/// The instance's availability zone (region `us-east-2`).
pub const ZONE: &str = "us-east-2b";

/// The keys `AssumeRole` must be signed with, and whether it needs an MFA code.
#[derive(Clone)]
pub struct Source {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub mfa: bool,
}

/// Starts the stand-in; `source` is what `AssumeRole` accepts.
pub fn start(source: Option<Source>) -> Server {
    Server::start(move |req, _| route(source.as_ref(), req))
}

fn deny(code: &str) -> Reply {
    Reply::json(403, &format!(r#"{{"__type":"{code}","message":"denied"}}"#))
}

fn route(source: Option<&Source>, req: &Request) -> Reply {
    let path = req.path.as_str();
    match (req.method.as_str(), path) {
        ("POST", "/") => sts(source, req),
        ("GET", p) if p.starts_with("/federation/credentials?") => {
            if req.header("x-amz-sso_bearer_token") != Some(SSO_TOKEN)
                || !p.contains("role_name=Bedrock")
                || !p.contains("account_id=111122223333")
            {
                return Reply::json(401, r#"{"message":"Session token not found or invalid"}"#);
            }
            Reply::json(
                200,
                &format!(
                    r#"{{"roleCredentials":{{"accessKeyId":"{TEMP_ID}","secretAccessKey":"{TEMP_SECRET}","sessionToken":"{TEMP_TOKEN}","expiration":4070908800000}}}}"#
                ),
            )
        }
        ("GET", "/ecs/credentials") => {
            if req.header("authorization") != Some(CONTAINER_AUTH) {
                return deny("AccessDenied");
            }
            Reply::json(200, &keys_json("Token"))
        }
        ("PUT", "/latest/api/token") => {
            if req.header("x-aws-ec2-metadata-token-ttl-seconds").is_none() {
                return Reply::json(400, "{}");
            }
            Reply::json(200, IMDS_TOKEN)
        }
        ("GET", p) if p.starts_with("/latest/meta-data/") => {
            if req.header("x-aws-ec2-metadata-token") != Some(IMDS_TOKEN) {
                return Reply::json(401, "");
            }
            if p == "/latest/meta-data/placement/availability-zone" {
                return Reply::json(200, ZONE);
            }
            let Some(rest) = p.strip_prefix("/latest/meta-data/iam/security-credentials") else {
                return Reply::json(404, "");
            };
            match rest.trim_start_matches('/') {
                "" => Reply::json(200, &format!("{ROLE}\n")),
                role if role == ROLE => Reply::json(200, &keys_json("Token")),
                _ => Reply::json(404, ""),
            }
        }
        _ => deny("UnknownOperationException"),
    }
}

/// `{"Code":"Success","AccessKeyId":…,"SecretAccessKey":…,"<token_name>":…,"Expiration":…}`.
pub fn keys_json(token_name: &str) -> String {
    format!(
        r#"{{"Code":"Success","AccessKeyId":"{TEMP_ID}","SecretAccessKey":"{TEMP_SECRET}","{token_name}":"{TEMP_TOKEN}","Expiration":"{EXPIRATION}"}}"#
    )
}

fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn sts(source: Option<&Source>, req: &Request) -> Reply {
    let form = form(&req.body);
    let get = |name: &str| {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let sts_error = |code: &str| {
        Reply::json(
            403,
            &format!("<ErrorResponse><Error><Code>{code}</Code><Message>got {}</Message></Error></ErrorResponse>", req.body),
        )
    };
    match get("Action") {
        Some("AssumeRoleWithWebIdentity") => {
            if get("WebIdentityToken") != Some(WEB_TOKEN) || req.header("authorization").is_some() {
                return sts_error("InvalidIdentityToken");
            }
        }
        Some("AssumeRole") => {
            let Some(source) = source else {
                return sts_error("AccessDenied");
            };
            if !verify_sigv4(req, source, "sts") {
                return sts_error("SignatureDoesNotMatch");
            }
            if source.mfa && get("TokenCode") != Some(MFA_CODE) {
                return sts_error("AccessDenied");
            }
        }
        _ => return sts_error("InvalidAction"),
    }
    if get("RoleArn").is_none() || get("RoleSessionName").is_none() {
        return sts_error("ValidationError");
    }
    Reply::json(
        200,
        &format!(
            "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>{TEMP_ID}</AccessKeyId>\
             <SecretAccessKey>{TEMP_SECRET}</SecretAccessKey><SessionToken>{TEMP_TOKEN}</SessionToken>\
             <Expiration>{EXPIRATION}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>"
        ),
    )
}

/// Recomputes the signature over method, URL, body and every header the `Authorization`
/// header's `SignedHeaders` names (at least `host`), with the known secret.
pub fn verify_sigv4(req: &Request, source: &Source, service: &str) -> bool {
    let Some(authorization) = req.header("authorization") else {
        return false;
    };
    let Some(names) = signed_headers(authorization) else {
        return false;
    };
    let Some(signed) = names
        .iter()
        .map(|name| Some((name.as_str(), req.header(name)?)))
        .collect::<Option<Vec<(&str, &str)>>>()
    else {
        return false;
    };
    let Some(signed_at) = req
        .header("x-amz-date")
        .and_then(super::bedrock_server::amz_date)
    else {
        return false;
    };
    let Some(host) = req.header("host") else {
        return false;
    };
    let identity: Identity = Credentials::new(
        &source.access_key_id,
        &source.secret_access_key,
        None,
        None,
        "stand-in",
    )
    .into();
    let Ok(params) = v4::SigningParams::builder()
        .identity(&identity)
        .region(&source.region)
        .name(service)
        .time(signed_at)
        .settings(SigningSettings::default())
        .build()
    else {
        return false;
    };
    let params = params.into();
    let uri = format!("http://{host}{}", req.path);
    let Ok(signable) = SignableRequest::new(
        &req.method,
        uri,
        signed.into_iter(),
        SignableBody::Bytes(req.body.as_bytes()),
    ) else {
        return false;
    };
    let Ok(signed) = sign(signable, &params) else {
        return false;
    };
    let (instructions, _) = signed.into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .iter()
        .find(|h| h.name() == "authorization")
        .is_some_and(|h| h.value() == authorization)
}

/// The `SignedHeaders=` list of a SigV4 `Authorization` header; `None` without `host`.
pub fn signed_headers(authorization: &str) -> Option<Vec<String>> {
    let list = authorization
        .split(", ")
        .find_map(|part| part.strip_prefix("SignedHeaders="))?;
    let names: Vec<String> = list.split(';').map(str::to_string).collect();
    names.iter().any(|n| n == "host").then_some(names)
}
