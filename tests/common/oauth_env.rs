//! A user configured against the OAuth stand-in, and a complete browser login.
#![allow(dead_code)]

use super::browser::{approve, get, LoginRun};
use super::oauth_server::OAuthServer;
use super::TestEnv;

/// `encrypted-file` storage plus an `oauth` block pointing at `server`, with `extra` JSON
/// members appended to the top level (e.g. `, "session": {…}`).
pub fn oauth_env(server: &OAuthServer, oauth_extra: &str, extra: &str) -> TestEnv {
    let env = TestEnv::encrypted();
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}},
            "oauth": {{"clientId": "claude-test-client", "authEndpoint": "{}", "tokenEndpoint": "{}",
                       "revocationEndpoint": "{}", "redirectUri": "http://127.0.0.1:0/callback",
                       "loginTimeout": 20 {oauth_extra}}} {extra}}}"#,
        server.authorize_endpoint(),
        server.token_endpoint(),
        server.revocation_endpoint()
    ));
    env
}

/// `encrypted-file` storage and an OpenID Connect issuer (`server`, found by discovery) in
/// the `oauth` block, with a loopback redirect on an ephemeral port.
pub fn oidc_env(server: &OAuthServer) -> TestEnv {
    let env = TestEnv::encrypted();
    env.write_config(&format!(
        r#"{{"authentication": {{"storage": {{"type": "encrypted-file", "encryptionKey": "user-derived-key"}}}},
            "oauth": {{"clientId": "claude-test-client", "issuer": "{}", "redirectUri": "http://127.0.0.1:0/callback", "loginTimeout": 20}}}}"#,
        server.url()
    ));
    env
}

/// Runs `claude --login ARGS --no-browser`, approves in the fake browser, follows the
/// redirect to the callback, and returns claude's output.
pub fn browser_login(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let mut cmd = env.std_command();
    cmd.arg("--login").arg("--no-browser").args(args);
    let started = std::time::Instant::now();
    let run = LoginRun::start(cmd);
    let callback = approve(&run.authorize_url());
    let page = get(&callback);
    assert_eq!(page.status, 200, "callback page: {}", page.body);
    let out = run.finish();
    eprintln!("login round trip (start to exit): {:?}", started.elapsed());
    out
}
