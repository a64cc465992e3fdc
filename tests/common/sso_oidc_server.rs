//! A loopback stand-in for IAM Identity Center OIDC (`CreateToken` with the refresh grant),
//! checking each request as AWS would.
//!
//! | route          | checked                                                                                  | answer |
//! |----------------|------------------------------------------------------------------------------------------|--------|
//! | `POST /token`  | JSON body: `grantType` = `refresh_token`, `clientId` = [`CLIENT_ID`], `clientSecret` = [`CLIENT_SECRET`], `refreshToken` = [`REFRESH_TOKEN`] (or, when rotating, [`ROTATED_REFRESH_TOKEN`]); `Content-Type: application/json` | 200 `{"accessToken": aws_chain_server::SSO_TOKEN, "expiresIn": 28800, "tokenType": "Bearer"}` (`expiresIn` as given to [`start_lifetime`]), plus `"refreshToken": ROTATED_REFRESH_TOKEN` when rotating |
//! | anything else, a failed check, or [`Mode::Reject`] | —                                                   | 400 `{"error":"invalid_grant","error_description":…}` (the description echoes the body, as careless servers do) with `x-amzn-ErrorType: InvalidGrantException` |
#![allow(dead_code)]

use super::aws_chain_server::SSO_TOKEN;
use super::servers::{Reply, Request, Server};
use std::time::Duration;

pub const CLIENT_ID: &str = "TESTCLIENTIDssooidc000000000000c1C1";
pub const CLIENT_SECRET: &str =
    "eyJraWQiOiJrZXktVEVTVENMSUVOVFNFQ1JFVCJ9.TESTCLIENTSECRET0000000c2C2";
pub const REFRESH_TOKEN: &str = "aorAAAAAGTESTSSOREFRESHTOKEN000000000000000r3R3";
pub const ROTATED_REFRESH_TOKEN: &str = "aorAAAAAGTESTSSOROTATEDREFRESH0000000000000r4R4";
/// The lifetime of a token the stand-in issues.
pub const EXPIRES_IN: u64 = 28_800;

/// How the stand-in answers a valid request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new access token, the refresh token kept.
    Issue,
    /// A new access token and a new refresh token.
    Rotate,
    /// `invalid_grant`, whatever is sent.
    Reject,
}

/// Starts the stand-in; every answer waits `delay` (to make two refreshes overlap).
pub fn start(mode: Mode, delay: Duration) -> Server {
    Server::start(move |req, _| answer(mode, req, EXPIRES_IN).delayed(delay))
}

/// Starts the stand-in issuing tokens (as [`Mode::Issue`]) that live `expires_in` seconds.
pub fn start_lifetime(expires_in: u64) -> Server {
    Server::start(move |req, _| answer(Mode::Issue, req, expires_in))
}

fn invalid_grant(req: &Request) -> Reply {
    Reply::json(
        400,
        &serde_json::json!({"error": "invalid_grant", "error_description": format!("refused {}", req.body)})
            .to_string(),
    )
    .header("x-amzn-ErrorType", "InvalidGrantException:http://internal.amazon.com/coral/")
}

fn answer(mode: Mode, req: &Request, expires_in: u64) -> Reply {
    if mode == Mode::Reject || req.method != "POST" || req.path != "/token" {
        return invalid_grant(req);
    }
    let Ok(body) = serde_json::from_str::<serde_json::Value>(&req.body) else {
        return invalid_grant(req);
    };
    let valid = req.header("content-type") == Some("application/json")
        && body["grantType"] == "refresh_token"
        && body["clientId"] == CLIENT_ID
        && body["clientSecret"] == CLIENT_SECRET
        && (body["refreshToken"] == REFRESH_TOKEN
            || mode == Mode::Rotate && body["refreshToken"] == ROTATED_REFRESH_TOKEN);
    if !valid {
        return invalid_grant(req);
    }
    let mut reply = serde_json::json!({
        "accessToken": SSO_TOKEN,
        "expiresIn": expires_in,
        "tokenType": "Bearer",
    });
    if mode == Mode::Rotate {
        reply["refreshToken"] = ROTATED_REFRESH_TOKEN.into();
    }
    Reply::json(200, &reply.to_string())
}
