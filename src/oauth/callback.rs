//! The loopback listener that receives the authorization code (RFC 8252 §7.3).
//!
//! It binds only the loopback literal of the redirect URI (for `localhost`: 127.0.0.1 and
//! ::1) before the browser opens, answers a static page that reflects nothing, rejects a
//! missing, duplicated or wrong `state` with 400 and keeps waiting, and hands the first
//! valid callback to the login. Dropping it shuts it down.

use crate::error::{AuthError, ErrorCode};
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// What the browser brought back.
#[derive(Debug)]
pub enum Callback {
    /// The authorization code, and `iss` when the server sent it (RFC 9207).
    Code { code: String, iss: Option<String> },
    /// The user (or the server) refused: `error` is e.g. `access_denied`.
    Refused { error: String, iss: Option<String> },
    /// The one-time start address was opened a second time: another program read it (from
    /// the browser's command line) and may race the browser with its own code.
    StartReused,
}

/// A listening callback server.
pub struct CallbackServer {
    redirect_uri: Url,
    received: mpsc::Receiver<Callback>,
    shutdowns: Vec<oneshot::Sender<()>>,
    shared: Arc<Shared>,
}

struct Shared {
    expected_state: String,
    path: String,
    /// `/start-RANDOM`, answered once with a redirect to the authorization URL.
    start_path: String,
    start_target: std::sync::Mutex<Option<String>>,
    sender: mpsc::Sender<Callback>,
}

impl CallbackServer {
    /// Binds the redirect URI's loopback address(es) and starts answering.
    ///
    /// # Errors
    /// `callback_port_in_use` naming the port and `setting` when the port is taken.
    pub async fn bind(
        redirect: &Url,
        expected_state: &str,
        setting: &str,
    ) -> Result<CallbackServer, AuthError> {
        let port = redirect.port_or_known_default().unwrap_or(80);
        let addresses: Vec<IpAddr> = match redirect.host() {
            Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            _ => vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ],
        };
        let (sender, received) = mpsc::channel(4);
        let shared = Arc::new(Shared {
            expected_state: expected_state.to_string(),
            path: redirect.path().to_string(),
            start_path: format!("/start-{}", oauth2::CsrfToken::new_random().secret()),
            start_target: std::sync::Mutex::new(None),
            sender,
        });
        let mut bound_port = port;
        let mut shutdowns = Vec::new();
        for (index, ip) in addresses.iter().enumerate() {
            let listener = match tokio::net::TcpListener::bind(SocketAddr::new(*ip, bound_port)).await {
                Ok(listener) => listener,
                // ::1 may be missing (IPv6 disabled); 127.0.0.1 is enough then. Any other
                // failure (the port taken on ::1) aborts: a browser that tries ::1 first would
                // hand the code and state to whoever holds it.
                Err(err) if index > 0 && address_missing(&err) => continue,
                Err(err) => {
                    return Err(AuthError::new(
                        ErrorCode::CallbackPortInUse,
                        format!("cannot listen for the login callback on {ip} port {bound_port}: {err}"),
                    )
                    .with_hint(format!(
                        "another program uses port {bound_port} on {ip}: stop it, or set `{setting}` to another port (port 0 picks a free one)"
                    )))
                }
            };
            bound_port = listener
                .local_addr()
                .map(|a| a.port())
                .unwrap_or(bound_port);
            let (stop, stopped) = oneshot::channel::<()>();
            let app = axum::Router::new()
                .fallback(answer)
                .with_state(shared.clone());
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
            shutdowns.push(stop);
        }
        let mut redirect_uri = redirect.clone();
        let _ = redirect_uri.set_port(Some(bound_port));
        Ok(CallbackServer {
            redirect_uri,
            received,
            shutdowns,
            shared,
        })
    }

    /// A one-time loopback address that redirects to `authorize_url`: what the browser is
    /// given, so the authorization URL (with `state` and the PKCE challenge) never appears on
    /// a command line other users can read (`/proc/PID/cmdline`). A second visit stops the
    /// login ([`Callback::StartReused`]).
    pub fn start_url(&self, authorize_url: &Url) -> Url {
        if let Ok(mut target) = self.shared.start_target.lock() {
            *target = Some(authorize_url.to_string());
        }
        let mut start = self.redirect_uri.clone();
        start.set_path(&self.shared.start_path);
        start.set_query(None);
        start
    }

    /// The redirect URI to send, with the real port when the configured one was 0.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// The next valid callback.
    pub async fn next(&mut self) -> Option<Callback> {
        self.received.recv().await
    }
}

impl Drop for CallbackServer {
    fn drop(&mut self) {
        for stop in self.shutdowns.drain(..) {
            let _ = stop.send(());
        }
    }
}

async fn answer(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    if uri.path() == shared.start_path {
        return start(&shared);
    }
    if uri.path() != shared.path {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This address is not part of the login.",
        );
    }
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let one = |name: &str| -> Option<String> {
        let mut values = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone());
        let first = values.next();
        if values.next().is_some() {
            None
        } else {
            first
        }
    };
    // Every callback, error callbacks included, must carry this login's state: otherwise any
    // local page could cancel or hijack the login.
    let state_ok = one("state")
        .is_some_and(|state| constant_time_eq(state.as_bytes(), shared.expected_state.as_bytes()));
    if !state_ok {
        return page(
            StatusCode::BAD_REQUEST,
            "Login link not valid",
            "This callback does not belong to the login running in your terminal. Start again with <code>claude --login</code> if needed.",
        );
    }
    let iss = one("iss");
    let (callback, reply) = match (one("error"), one("code")) {
        (Some(error), _) => (
            Callback::Refused { error, iss },
            page(
                StatusCode::OK,
                "Login cancelled",
                "The login was not completed. You can close this tab.",
            ),
        ),
        (None, Some(code)) if !code.is_empty() => (
            Callback::Code { code, iss },
            page(
                StatusCode::OK,
                "Logged in",
                "You are logged in to claude. You can close this tab and return to your terminal.",
            ),
        ),
        _ => {
            return page(
                StatusCode::BAD_REQUEST,
                "Login link not valid",
                "The callback carries no authorization code.",
            );
        }
    };
    if shared.sender.try_send(callback).is_err() {
        return page(
            StatusCode::CONFLICT,
            "Already done",
            "This login already received its answer.",
        );
    }
    reply
}

/// The start address: the first visit is sent on to the authorization server; any later one
/// stops the login, since only one browser was given the address.
fn start(shared: &Shared) -> Response {
    let target = shared.start_target.lock().ok().and_then(|mut t| t.take());
    match target {
        Some(target) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, target),
                (header::CACHE_CONTROL, "no-store".to_string()),
                (header::REFERRER_POLICY, "no-referrer".to_string()),
            ],
        )
            .into_response(),
        None => {
            let _ = shared.sender.try_send(Callback::StartReused);
            page(
                StatusCode::CONFLICT,
                "Login stopped",
                "This login's start address was opened twice, so another program may have read it. The login in your terminal is stopped; run <code>claude --login</code> again.",
            )
        }
    }
}

/// A static page: nothing from the request is reflected, nothing is cached or loaded.
fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// OS error numbers for "this address family or protocol does not exist here".
#[cfg(unix)]
const FAMILY_MISSING: [i32; 2] = [libc::EAFNOSUPPORT, libc::EPROTONOSUPPORT];
/// Winsock's WSAEAFNOSUPPORT and WSAEPROTONOSUPPORT: sockets report these, not the C
/// runtime's errno values.
#[cfg(windows)]
const FAMILY_MISSING: [i32; 2] = [10047, 10043];
#[cfg(not(any(unix, windows)))]
const FAMILY_MISSING: [i32; 0] = [];

/// True when the bind failed because the address family or address does not exist here.
fn address_missing(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::AddrNotAvailable
        || err
            .raw_os_error()
            .is_some_and(|code| FAMILY_MISSING.contains(&code))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
