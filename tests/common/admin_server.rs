//! A loopback stand-in for the Anthropic API host with its Admin API: the key check that
//! `--rotate-key` makes first, and the two Admin routes that retire the old key. Keys are
//! kept in memory; every request is recorded.
//!
//! | route                                        | answer                                                                         |
//! |----------------------------------------------|--------------------------------------------------------------------------------|
//! | `GET /v1/models`                             | 200 model list for a key in `valid`, else 401                                 |
//! | `GET /v1/organizations/api_keys`             | 200 one page of `page_size` keys after `after_id`, `has_more`/`last_id`; 401 without the Admin key or `anthropic-version` |
//! | `POST /v1/organizations/api_keys/{id}`       | 200 the key with the body's `status` applied; 404 unknown id; `fail_updates` status when set |
#![allow(dead_code)]

use super::servers::{Reply, Request, Server};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// One key of the organization, as the Admin API lists it.
#[derive(Clone, Debug)]
pub struct OrgKey {
    pub id: String,
    pub name: String,
    pub partial_key_hint: String,
    pub status: String,
}

impl OrgKey {
    /// An active key named `name` whose hint is derived from `key` the way the API shows it
    /// (`sk-ant-api03-` and three more characters, `...`, the last four).
    pub fn active(id: &str, name: &str, key: &str) -> OrgKey {
        OrgKey {
            id: id.into(),
            name: name.into(),
            partial_key_hint: hint(key),
            status: "active".into(),
        }
    }
}

/// `sk-ant-api03-TES...a1A1` for a fixture key.
pub fn hint(key: &str) -> String {
    format!("{}...{}", &key[..16], &key[key.len() - 4..])
}

/// How the stand-in is set up.
pub struct AdminSetup {
    /// API keys `GET /v1/models` accepts.
    pub valid: Vec<String>,
    /// The Admin key the Admin routes accept.
    pub admin_key: String,
    pub keys: Vec<OrgKey>,
    /// Keys per page, whatever `limit` asks (small, to exercise pagination).
    pub page_size: usize,
    /// Answer every status update with this HTTP status instead of applying it.
    pub fail_updates: Option<u16>,
}

/// The running stand-in and the organization's keys as they are now.
pub struct AdminApi {
    pub server: Server,
    keys: Arc<Mutex<Vec<OrgKey>>>,
}

impl AdminApi {
    pub fn start(setup: AdminSetup) -> AdminApi {
        let keys = Arc::new(Mutex::new(setup.keys.clone()));
        let state = keys.clone();
        let server = Server::start(move |req, _| route(req, &setup, &state));
        AdminApi { server, keys }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The status of the key `id` now.
    pub fn status_of(&self, id: &str) -> String {
        let keys = self.keys.lock().unwrap();
        keys.iter()
            .find(|k| k.id == id)
            .map(|k| k.status.clone())
            .unwrap_or_default()
    }

    /// The requests made to the Admin routes.
    pub fn admin_requests(&self) -> Vec<Request> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/v1/organizations/"))
            .collect()
    }
}

fn route(req: &Request, setup: &AdminSetup, keys: &Mutex<Vec<OrgKey>>) -> Reply {
    let (path, query) = req.path.split_once('?').unwrap_or((req.path.as_str(), ""));
    if path == "/v1/models" && req.method == "GET" {
        return match req.header("x-api-key") {
            Some(key) if setup.valid.iter().any(|v| v == key) => Reply::models(),
            _ => Reply::error(401, "authentication_error"),
        };
    }
    let Some(rest) = path.strip_prefix("/v1/organizations/api_keys") else {
        return Reply::error(404, "not_found_error");
    };
    let authorized = req.header("x-api-key") == Some(setup.admin_key.as_str())
        && req.header("anthropic-version") == Some("2023-06-01");
    if !authorized {
        return Reply::error(401, "authentication_error");
    }
    match (req.method.as_str(), rest) {
        ("GET", "") => list(query, setup.page_size, &keys.lock().unwrap()),
        ("POST", id) if id.starts_with('/') => {
            if let Some(status) = setup.fail_updates {
                return Reply::error(status, "api_error");
            }
            update(&id[1..], &req.body, &mut keys.lock().unwrap())
        }
        _ => Reply::error(404, "not_found_error"),
    }
}

fn list(query: &str, page_size: usize, keys: &[OrgKey]) -> Reply {
    let after = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("after_id="));
    let start = match after {
        Some(id) => keys
            .iter()
            .position(|k| k.id == id)
            .map_or(keys.len(), |i| i + 1),
        None => 0,
    };
    let page: Vec<&OrgKey> = keys.iter().skip(start).take(page_size).collect();
    let has_more = start + page.len() < keys.len();
    let data: Vec<Value> = page.iter().map(|k| key_json(k)).collect();
    let body = json!({
        "data": data,
        "has_more": has_more,
        "first_id": page.first().map(|k| k.id.clone()),
        "last_id": page.last().map(|k| k.id.clone()),
    });
    Reply::json(200, &body.to_string())
}

fn update(id: &str, body: &str, keys: &mut [OrgKey]) -> Reply {
    let Some(key) = keys.iter_mut().find(|k| k.id == id) else {
        return Reply::error(404, "not_found_error");
    };
    let Ok(doc) = serde_json::from_str::<Value>(body) else {
        return Reply::error(400, "invalid_request_error");
    };
    match doc.get("status").and_then(Value::as_str) {
        Some(status @ ("active" | "inactive" | "archived")) => key.status = status.into(),
        _ => return Reply::error(400, "invalid_request_error"),
    }
    Reply::json(200, &key_json(key).to_string())
}

fn key_json(key: &OrgKey) -> Value {
    json!({
        "id": key.id,
        "type": "api_key",
        "name": key.name,
        "partial_key_hint": key.partial_key_hint,
        "status": key.status,
        "created_at": "2026-01-01T00:00:00Z",
        "workspace_id": null,
    })
}
