//! A loopback GitHub stand-in: the web host (device flow) and the REST API on one server,
//! with scripted answers to the token polls. Point `github.webUrl` and `github.apiUrl` at it
//! (or at two of them, to see which host gets what).
//!
//! | route                                        | answer                                                  |
//! |----------------------------------------------|---------------------------------------------------------|
//! | `POST /login/device/code`                    | `DEVICE_CODE`, `USER_CODE`, `verification_uri`, `expires_in`, `interval` |
//! | `POST /login/oauth/access_token`             | the n-th scripted `Poll` (the last repeats); 400 for a wrong form |
//! | `GET /user`                                  | `octocat` for `Bearer GH_TOKEN`, else 401; or a 302 (`user_redirect`) |
//! | `GET /user/installations`                    | none for the first `installation_after` calls, then the `claude` App |
//! | `GET /user/installations/4242/repositories`  | `repositories`                                          |
#![allow(dead_code)]

use super::servers::{Reply, Request, Server};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Obviously fake GitHub secrets (long enough for `assert_no_secret`).
pub const GH_TOKEN: &str = "gho_TESTGITHUBTOKENxxxxxxxxxxxxxxxxx1";
pub const GH_REFRESH: &str = "ghr_TESTGITHUBREFRESHyyyyyyyyyyyyyy2";
pub const DEVICE_CODE: &str = "dc_TESTDEVICECODEzzzzzzzzzzzzzzzzz3";
pub const USER_CODE: &str = "WDJB-MJHT";
pub const CLIENT_ID: &str = "Iv1.testclient0001";
pub const INSTALLATION_ID: u64 = 4242;

/// One scripted answer of the token endpoint.
#[derive(Clone, Copy, Debug)]
pub enum Poll {
    Pending,
    SlowDown,
    Denied,
    Expired,
    Granted,
    /// `{"error": CODE}` with HTTP 200, as GitHub does.
    ErrorOn200(&'static str),
}

/// How the stand-in behaves.
#[derive(Clone, Debug)]
pub struct GithubOptions {
    pub interval: Option<u64>,
    pub expires_in: u64,
    pub polls: Vec<Poll>,
    /// `None`: `http://HOST/login/device` on this server.
    pub verification_uri: Option<String>,
    /// `GET /user` answers 302 to this address instead.
    pub user_redirect: Option<String>,
    pub installation_after: usize,
    pub repositories: Vec<String>,
    pub permissions: Vec<(String, String)>,
    pub repository_selection: String,
}

impl Default for GithubOptions {
    fn default() -> Self {
        GithubOptions {
            interval: Some(1),
            expires_in: 60,
            polls: vec![Poll::Pending, Poll::Granted],
            verification_uri: None,
            user_redirect: None,
            installation_after: 0,
            repositories: vec!["octocat/hello".into(), "octocat/tools".into()],
            permissions: vec![
                ("contents".into(), "read".into()),
                ("pull_requests".into(), "write".into()),
            ],
            repository_selection: "selected".into(),
        }
    }
}

/// A running GitHub stand-in.
pub struct GithubServer {
    pub server: Server,
    poll_times: Arc<Mutex<Vec<Instant>>>,
}

impl GithubServer {
    pub fn start(options: GithubOptions) -> GithubServer {
        let poll_times = Arc::new(Mutex::new(Vec::new()));
        let (times, polls, listings) = (
            poll_times.clone(),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let server = Server::start(move |req, _| {
            let path = req.path.split('?').next().unwrap_or("");
            match (req.method.as_str(), path) {
                ("POST", "/login/device/code") => device_code(req, &options),
                ("POST", "/login/oauth/access_token") => {
                    times.lock().unwrap().push(Instant::now());
                    let n = polls.fetch_add(1, Ordering::SeqCst);
                    token(req, options.polls[n.min(options.polls.len() - 1)])
                }
                ("GET", "/user") => match &options.user_redirect {
                    Some(to) => Reply::json(302, "{}").header("Location", to),
                    None => authorized(
                        req,
                        r#"{"login":"octocat","id":1,"email":"octocat@example.com"}"#.into(),
                    ),
                },
                ("GET", "/user/installations") => {
                    let n = listings.fetch_add(1, Ordering::SeqCst);
                    authorized(
                        req,
                        installations(&options, n >= options.installation_after),
                    )
                }
                ("GET", p)
                    if p == format!("/user/installations/{INSTALLATION_ID}/repositories") =>
                {
                    authorized(req, repositories(&options))
                }
                _ => Reply::json(404, r#"{"message":"Not Found"}"#),
            }
        });
        GithubServer { server, poll_times }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    /// When each token poll arrived.
    pub fn poll_times(&self) -> Vec<Instant> {
        self.poll_times.lock().unwrap().clone()
    }
}

fn device_code(req: &Request, options: &GithubOptions) -> Reply {
    if form(&req.body, "client_id").as_deref() != Some(CLIENT_ID) {
        return Reply::json(401, r#"{"error":"incorrect_client_credentials"}"#);
    }
    let uri = options
        .verification_uri
        .clone()
        .unwrap_or_else(|| format!("http://{}/login/device", req.header("host").unwrap_or("")));
    let mut body = serde_json::json!({
        "device_code": DEVICE_CODE,
        "user_code": USER_CODE,
        "verification_uri": uri,
        "expires_in": options.expires_in,
    });
    if let Some(interval) = options.interval {
        body["interval"] = interval.into();
    }
    Reply::json(200, &body.to_string())
}

fn token(req: &Request, poll: Poll) -> Reply {
    let right = form(&req.body, "client_id").as_deref() == Some(CLIENT_ID)
        && form(&req.body, "device_code").as_deref() == Some(DEVICE_CODE)
        && form(&req.body, "grant_type").as_deref()
            == Some("urn:ietf:params:oauth:grant-type:device_code");
    if !right {
        return Reply::json(400, r#"{"error":"bad_verification_code"}"#);
    }
    let error = |code: &str| {
        Reply::json(
            200,
            &format!(r#"{{"error":"{code}","error_description":"scripted"}}"#),
        )
    };
    match poll {
        Poll::Pending => error("authorization_pending"),
        Poll::SlowDown => error("slow_down"),
        Poll::Denied => error("access_denied"),
        Poll::Expired => error("expired_token"),
        Poll::ErrorOn200(code) => error(code),
        Poll::Granted => Reply::json(
            200,
            &format!(
                r#"{{"access_token":"{GH_TOKEN}","token_type":"bearer","scope":"repo,read:org",
                    "refresh_token":"{GH_REFRESH}","expires_in":28800,"refresh_token_expires_in":15897600}}"#
            ),
        ),
    }
}

fn authorized(req: &Request, body: String) -> Reply {
    if req.header("authorization") != Some(&format!("Bearer {GH_TOKEN}")) {
        return Reply::json(401, r#"{"message":"Bad credentials"}"#);
    }
    Reply::json(200, &body)
}

fn installations(options: &GithubOptions, present: bool) -> String {
    let list = if present {
        let permissions: serde_json::Map<String, serde_json::Value> = options
            .permissions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        serde_json::json!([{
            "id": INSTALLATION_ID,
            "app_slug": "claude",
            "account": {"login": "octocat"},
            "permissions": permissions,
            "repository_selection": options.repository_selection,
        }])
    } else {
        serde_json::json!([])
    };
    serde_json::json!({"total_count": list.as_array().unwrap().len(), "installations": list})
        .to_string()
}

fn repositories(options: &GithubOptions) -> String {
    let list: Vec<serde_json::Value> = options
        .repositories
        .iter()
        .map(|r| serde_json::json!({"full_name": r}))
        .collect();
    serde_json::json!({"total_count": list.len(), "repositories": list}).to_string()
}

/// The decoded value of `name` in a form body.
pub fn form(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| decode(value))
    })
}

/// `text` with `+` and `%XX` decoded (forms and query strings).
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
