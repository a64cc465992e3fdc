//! The status document as a type: the fields every provider's status shares, declared once,
//! and what only the Anthropic status (session, storage, MFA, rotation) or a cloud
//! provider's status (settings, problem) adds. Serialised through `serde_json::Value`, so
//! keys come out in alphabetical order, as docs/status-json.md promises.

use crate::context::Context;
use serde::Serialize;
use serde_json::{Map, Value};

/// `--auth-status --json`, for every provider.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub authenticated: bool,
    pub provider: &'static str,
    pub method: Option<String>,
    pub source: Option<String>,
    pub fingerprint: Option<String>,
    pub billing: Option<&'static str>,
    pub shadowed: Vec<String>,
    pub credentials: Vec<Value>,
    pub environment: Option<String>,
    pub config_file: String,
    pub config_found: bool,
    pub warnings: Vec<String>,
    pub next_step: Option<String>,
    /// The managed settings in force (files and dotted paths); absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<Value>,
    /// What `compliance` requires and what was found; absent when it asks for nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Value>,
    #[serde(flatten)]
    pub detail: Detail,
}

/// What one kind of provider adds to the shared fields.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Detail {
    /// The Anthropic API: the login, where secrets are kept, MFA and key rotation.
    Anthropic {
        session: Option<Value>,
        storage: &'static str,
        mfa: Mfa,
        rotation: Option<Value>,
    },
    /// Bedrock or Vertex AI: the settings in use, or the problem that stopped the lookup.
    Cloud {
        #[serde(skip_serializing_if = "Option::is_none")]
        settings: Option<Map<String, Value>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        problem: Option<Problem>,
    },
}

/// `mfa` of the Anthropic status.
#[derive(Serialize)]
pub struct Mfa {
    pub required: bool,
}

/// `problem` of a cloud status that found no credential.
#[derive(Serialize)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

impl StatusReport {
    /// A report with what every status shares filled from `ctx` (environment, config file,
    /// config warnings) and nothing in force yet.
    pub fn new(ctx: &Context, provider: &'static str, detail: Detail) -> StatusReport {
        StatusReport {
            authenticated: false,
            provider,
            method: None,
            source: None,
            fingerprint: None,
            billing: None,
            shadowed: Vec::new(),
            credentials: Vec::new(),
            environment: ctx.loaded.environment.as_ref().map(|e| e.name.clone()),
            config_file: ctx.loaded.path.display().to_string(),
            config_found: ctx.loaded.file_exists,
            warnings: ctx.loaded.warnings.clone(),
            next_step: None,
            managed: crate::policy::report::managed_json(ctx),
            compliance: crate::policy::report::compliance_json(ctx, crate::providers::active(ctx)),
            detail,
        }
    }

    /// The JSON document (keys sorted).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
