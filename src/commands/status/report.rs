//! The status document as a type: the fields every provider's status shares, declared once,
//! and what only the Anthropic status (session, storage, MFA, rotation) or a cloud
//! provider's status (settings, problem) adds. Serialised through `serde_json::Value`, so
//! keys come out in alphabetical order, as docs/status-json.md promises.

use crate::context::Context;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `--auth-status --json`, for every provider.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// The server accepted the credential just now (`--check`); never `true` offline.
    pub authenticated: bool,
    /// A usable credential is in force, judged offline (what the exit status says offline).
    pub configured: bool,
    /// `--check`'s verdict: `null` when the server was not asked.
    pub verified: Option<bool>,
    pub provider: &'static str,
    pub method: Option<String>,
    pub source: Option<String>,
    /// Claude Code's settings file the credential in force was set in (its `env` block or
    /// its `apiKeyHelper`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub fingerprint: Option<String>,
    pub billing: Option<&'static str>,
    pub shadowed: Vec<String>,
    pub credentials: Vec<Credential>,
    pub environment: Option<String>,
    pub config_file: String,
    pub config_found: bool,
    pub warnings: Vec<String>,
    pub next_step: Option<String>,
    /// `security.ipRestrictions` and `ipCheckUrl`, when configured (absent: no restriction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_restrictions: Option<Value>,
    /// The managed settings in force (files and dotted paths); absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<Value>,
    /// What `compliance` requires and what was found; absent when it asks for nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Value>,
    /// What Claude Code's settings decide here; absent without a settings file, a project
    /// file with credential settings, or the recursion guard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claude_code_settings: Option<Value>,
    #[serde(flatten)]
    pub detail: Detail,
}

/// What one kind of provider adds to the shared fields.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Detail {
    /// The Anthropic API: the login, where secrets are kept, MFA and key rotation.
    Anthropic {
        // Boxed: the session is the largest part, and a cloud status has none.
        session: Option<Box<SessionStatus>>,
        storage: &'static str,
        mfa: Mfa,
        rotation: Option<Rotation>,
        /// The last plan `--subscription-status` fetched (cached; absent without one).
        #[serde(skip_serializing_if = "Option::is_none")]
        plan: Option<Box<Plan>>,
    },
    /// Bedrock or Vertex AI: the settings in use, or the problem that stopped the lookup.
    Cloud {
        #[serde(skip_serializing_if = "Option::is_none")]
        settings: Option<BTreeMap<String, String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        problem: Option<Problem>,
    },
}

/// One entry of `credentials`: a credential found, in resolution order.
#[derive(Serialize)]
pub struct Credential {
    pub source: String,
    /// Claude Code's settings file that set it; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// `None` for an `apiKeyHelper` whose output is not cached (it has not run).
    pub fingerprint: Option<String>,
    pub state: CredentialState,
    /// The refusal's reason, or the problem that makes the credential unusable.
    pub reason: Option<String>,
}

/// Where a credential stands.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialState {
    /// In force.
    Active,
    /// In force but unusable (a malformed key, an expired session).
    Invalid,
    /// Behind the credential in force.
    Shadowed,
    /// Forbidden by policy, or not taken by the provider in force.
    Refused,
}

/// `session` of the Anthropic status.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionStatus {
    pub provider: String,
    pub account: Option<String>,
    pub account_encrypted: bool,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub access_token_expires_at: Option<String>,
    pub access_token_expires_in_seconds: Option<u64>,
    pub refreshable: bool,
    /// `active` or `expired`.
    pub state: &'static str,
    pub reason: Option<String>,
}

/// `rotation` of the Anthropic status: the stored key's age against `security.keyRotation`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    pub created_at: String,
    pub rotated_at: Option<String>,
    pub previous_fingerprint: Option<String>,
    pub age_days: u64,
    /// The same ages to the second: an interval under a day is 0 in days.
    pub age_seconds: u64,
    pub interval_days: Option<u64>,
    pub interval_seconds: Option<u64>,
    pub due: bool,
    /// The end of the overlap window: until then the replaced key may still be in use.
    pub previous_until: Option<String>,
}

/// `mfa` of the Anthropic status: policy, and what is enrolled (from the store's index).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mfa {
    pub required: bool,
    pub enrolled: bool,
    pub pending: bool,
    pub methods: Vec<&'static str>,
    pub last_verified_at: Option<String>,
}

/// `plan`: the cached answer of `subscription.endpoint`, with its age (status is offline).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub plan: Option<String>,
    pub status: Option<String>,
    pub fetched_at: String,
    pub age_seconds: u64,
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
            configured: false,
            verified: None,
            provider,
            method: None,
            source: None,
            origin: None,
            fingerprint: None,
            billing: None,
            shadowed: Vec::new(),
            credentials: Vec::new(),
            environment: ctx.loaded.environment.as_ref().map(|e| e.name.clone()),
            config_file: ctx.loaded.path.display().to_string(),
            config_found: ctx.loaded.file_exists,
            warnings: ctx.loaded.warnings.clone(),
            next_step: None,
            ip_restrictions: crate::policy::ip::status(&ctx.loaded.config.security),
            managed: crate::policy::report::managed_json(ctx),
            compliance: crate::policy::report::compliance_json(ctx, crate::providers::active(ctx)),
            claude_code_settings: crate::config::claude_code::report::status_json(ctx),
            detail,
        }
    }

    /// `configured`, `verified` and `authenticated` from the offline judgment and
    /// `--check`'s verdict (`None`: not asked).
    pub(crate) fn set_verification(
        &mut self,
        configured: bool,
        verification: Option<&super::Checked>,
    ) {
        self.configured = configured;
        self.verified = verification.and_then(super::Checked::verified);
        self.authenticated = self.verified == Some(true);
    }

    /// The JSON document (keys sorted).
    pub fn to_json(&self) -> Value {
        crate::output::document(self)
    }
}
