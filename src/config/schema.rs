//! The typed configuration file: every block of the seed document, with defaults.

use crate::secret::Secret;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// The whole configuration file (docs/configuration.md documents every key).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// An Anthropic API key; `${VAR}` keeps it out of the file.
    #[serde(deserialize_with = "optional_secret")]
    pub api_key: Option<Secret<String>>,
    /// Claude Code's `apiKeyHelper`: a command whose standard output is the API key.
    pub api_key_helper: Option<String>,
    pub model: Option<String>,
    pub provider: Option<Provider>,
    pub region: Option<String>,
    pub project: Option<String>,
    pub location: Option<String>,
    /// Bedrock endpoint override (else `ANTHROPIC_BEDROCK_BASE_URL`, `AWS_ENDPOINT_URL_BEDROCK`,
    /// `AWS_ENDPOINT_URL`, `https://bedrock.REGION.amazonaws.com`).
    pub bedrock_base_url: Option<String>,
    /// Claude Code's `awsAuthRefresh`: a command run when the Bedrock check fails for want
    /// of credentials (e.g. `aws sso login --profile dev`), then the credentials are re-read.
    pub aws_auth_refresh: Option<String>,
    /// Claude Code's `awsCredentialExport`: a command printing AWS credentials JSON, cached
    /// until 5 minutes (or half their lifetime, when shorter) before they expire.
    pub aws_credential_export: Option<String>,
    /// Vertex AI endpoint override (else `ANTHROPIC_VERTEX_BASE_URL`,
    /// `https://LOCATION-aiplatform.googleapis.com`).
    pub vertex_base_url: Option<String>,
    pub oauth: OAuthConfig,
    pub github: GithubConfig,
    pub authentication: AuthenticationConfig,
    pub session: SessionConfig,
    pub security: SecurityConfig,
    pub environments: BTreeMap<String, EnvironmentConfig>,
    pub permissions: Vec<String>,
    pub compliance: ComplianceConfig,
    /// Where the subscription commands look (`endpoint`, `upgradeUrl`, `manageUrl`), and
    /// the seed's snapshot of a plan.
    pub subscription: SubscriptionConfig,
}

/// Where API requests go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    Anthropic,
    Bedrock,
    Vertex,
}

impl Provider {
    /// The name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::Bedrock => "bedrock",
            Provider::Vertex => "vertex",
        }
    }
}

/// How a credential is obtained (`authentication.method`, `fallback`, an environment's
/// `authentication`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    ApiKey,
    Oauth,
    Bedrock,
    Vertex,
}

impl Method {
    /// The name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::ApiKey => "api-key",
            Method::Oauth => "oauth",
            Method::Bedrock => "bedrock",
            Method::Vertex => "vertex",
        }
    }
}

/// Declares a struct holding the settings of one authorization server, then `extra`
/// fields. The `oauth` block is the default server plus more; each `oauth.providers.NAME`
/// is a server alone: the settings are written once, here.
///
/// Not `#[serde(flatten)]`: serde deserialises a struct with a flattened field from a
/// buffered map, so `serde_ignored` never sees an unknown key inside it (no "unknown key"
/// warning) and `introspect::fields_of` gets no field list (no "did you mean"). The macro
/// keeps both structs plain.
macro_rules! oauth_server {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct $name {
            pub client_id: Option<String>,
            pub redirect_uri: Option<String>,
            pub scopes: Vec<String>,
            pub token_endpoint: Option<String>,
            pub auth_endpoint: Option<String>,
            pub revocation_endpoint: Option<String>,
            /// An OpenID Connect issuer: endpoints come from its discovery document.
            pub issuer: Option<String>,
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl $name {
            /// The authorization server's settings, apart from anything else in the block.
            pub fn server(&self) -> OAuthProviderConfig {
                OAuthProviderConfig {
                    client_id: self.client_id.clone(),
                    redirect_uri: self.redirect_uri.clone(),
                    scopes: self.scopes.clone(),
                    token_endpoint: self.token_endpoint.clone(),
                    auth_endpoint: self.auth_endpoint.clone(),
                    revocation_endpoint: self.revocation_endpoint.clone(),
                    issuer: self.issuer.clone(),
                }
            }
        }
    };
}

oauth_server! {
    /// The `oauth` block: the default provider's server, the login wait, and more servers.
    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    pub struct OAuthConfig {
        /// How long `--login` waits for the browser, in seconds (default 300).
        pub login_timeout: Option<u64>,
        /// More authorization servers, by name (`--login --provider NAME`).
        pub providers: BTreeMap<String, OAuthProviderConfig>,
    }
}

oauth_server! {
    /// One named authorization server in `oauth.providers`.
    #[derive(Clone, Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    pub struct OAuthProviderConfig {}
}

/// The `github` block.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GithubConfig {
    pub client_id: Option<String>,
    /// The GitHub App's slug, for `/install-github-app` (default `claude`).
    pub app: Option<String>,
    pub web_url: Option<String>,
    pub api_url: Option<String>,
    pub permissions: BTreeMap<String, String>,
    pub repositories: Vec<String>,
}

/// The `authentication` block.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AuthenticationConfig {
    pub method: Option<Method>,
    pub provider: Option<String>,
    pub fallback: Option<Method>,
    /// Budget for one online operation, retries included, in milliseconds.
    pub timeout: u64,
    /// How many times a rate-limited or failed request is retried.
    pub retry_attempts: u32,
    pub auto_refresh: bool,
    pub storage: StorageConfig,
}

impl Default for AuthenticationConfig {
    fn default() -> Self {
        AuthenticationConfig {
            method: None,
            provider: None,
            fallback: None,
            timeout: 30_000,
            retry_attempts: 3,
            auto_refresh: true,
            storage: StorageConfig::default(),
        }
    }
}

/// `authentication.storage`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StorageConfig {
    #[serde(rename = "type")]
    pub kind: StorageKind,
    /// `user-derived-key` (Argon2id of a passphrase) or absent (a random key in the keychain).
    pub encryption_key: Option<String>,
    /// How long the key derived from a typed passphrase stays in the kernel keyring (Linux):
    /// seconds, `0` or `false` for never; absent: 900.
    #[serde(deserialize_with = "cache_seconds")]
    pub passphrase_cache_seconds: Option<u64>,
}

impl StorageConfig {
    /// Whether an encrypted file is sealed with a key derived from a passphrase
    /// (`encryptionKey: "user-derived-key"`) rather than a master key kept in the keychain.
    pub fn passphrase_sealed(&self) -> bool {
        self.encryption_key.as_deref() == Some("user-derived-key")
    }

    /// The passphrase cache's lifetime in seconds; 0 when it is off.
    pub fn cache_seconds(&self) -> u64 {
        self.passphrase_cache_seconds
            .unwrap_or(crate::storage::key_cache::DEFAULT_SECONDS)
    }
}

/// `passphraseCacheSeconds`: a number of seconds, `false` (0: off) or `true` (the default).
fn cache_seconds<'de, D: Deserializer<'de>>(de: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Seconds(u64),
        Switch(bool),
    }
    Ok(match Option::<Given>::deserialize(de)? {
        None | Some(Given::Switch(true)) => None,
        Some(Given::Switch(false)) => Some(0),
        Some(Given::Seconds(seconds)) => Some(seconds),
    })
}

/// Storage backends for secrets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StorageKind {
    #[default]
    Keychain,
    EncryptedFile,
}

impl StorageKind {
    /// The name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::Keychain => "keychain",
            StorageKind::EncryptedFile => "encrypted-file",
        }
    }
}

/// The `session` block (seconds).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SessionConfig {
    pub timeout: Option<u64>,
    pub auto_extend: bool,
    pub max_duration: Option<u64>,
}

/// The `security` block.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityConfig {
    pub mfa: MfaConfig,
    /// CIDR ranges requests may leave from; empty means no restriction (`crate::policy::ip`).
    pub ip_restrictions: Vec<String>,
    /// An echo service whose answer is this machine's public address, checked too.
    pub ip_check_url: Option<String>,
    pub audit_logging: bool,
    pub session_encryption: bool,
    pub key_rotation: KeyRotationConfig,
}

/// `security.mfa`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MfaConfig {
    pub enabled: bool,
    pub methods: Vec<MfaMethod>,
    /// Seconds after a verification (or a session's start) past which using the session's
    /// tokens needs a new code; absent: the session's own lifetime.
    pub session_ttl: Option<u64>,
    pub sms: SmsConfig,
}

/// `security.mfa.sms`: how SMS codes leave this machine.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SmsConfig {
    /// The delivery command, run without a shell: `["cmd", "arg"]`, or a string split at
    /// whitespace. The phone number is its last argument, the message its stdin.
    pub command: Option<CommandLine>,
    pub phone: Option<String>,
}

/// A command as configured: an argument vector, or one string split at whitespace.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum CommandLine {
    Argv(Vec<String>),
    Line(String),
}

impl CommandLine {
    /// The program and its arguments (empty when nothing usable was configured).
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandLine::Argv(argv) => argv.clone(),
            CommandLine::Line(line) => line.split_whitespace().map(str::to_string).collect(),
        }
    }
}

/// Second factors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MfaMethod {
    Totp,
    Sms,
}

/// `security.keyRotation`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyRotationConfig {
    pub enabled: bool,
    /// Maximum key age in seconds before status says rotation is due.
    pub interval: Option<u64>,
}

/// One entry of `environments`: its fields override the top level.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvironmentConfig {
    /// The only method this environment allows (`api-key`, `oauth`, `bedrock`, `vertex`).
    pub authentication: Option<Method>,
    #[serde(deserialize_with = "optional_secret")]
    pub api_key: Option<Secret<String>>,
    #[serde(rename = "requireMFA")]
    pub require_mfa: bool,
    pub provider: Option<Provider>,
    pub model: Option<String>,
    pub region: Option<String>,
    pub project: Option<String>,
    pub location: Option<String>,
}

/// The `compliance` block.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ComplianceConfig {
    pub audit_logging: bool,
    /// Days of audit log to keep.
    pub log_retention: Option<u32>,
    pub sso_integration: SsoConfig,
    pub data_residency: Option<String>,
    pub encryption_at_rest: bool,
    pub encryption_in_transit: bool,
}

/// `compliance.ssoIntegration`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SsoConfig {
    pub enabled: bool,
    pub provider: Option<String>,
    pub domain: Option<String>,
}

/// The `subscription` block. Anthropic documents no subscription API for third-party
/// clients: `endpoint` is whatever the user points it at; the pages have defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionConfig {
    /// `GET` with the session's access token answers the plan and its limits.
    pub endpoint: Option<String>,
    /// The page `/upgrade --claude-max` opens (default https://claude.ai/upgrade).
    pub upgrade_url: Option<String>,
    /// The page `--manage-subscription` opens (default https://claude.ai/settings/billing).
    pub manage_url: Option<String>,
    /// Seconds a fetched answer stays fresh (default 60).
    pub cache_ttl: Option<u64>,
    /// Seconds between re-checks while waiting for a plan change (default 5).
    pub poll_interval: Option<u64>,
    /// Seconds to wait for a plan change before giving up (default 600).
    pub wait_timeout: Option<u64>,
    /// The plans `/upgrade` lists, instead of the built-in list.
    pub plans: Option<Vec<PlanConfig>>,
    /// The seed's snapshot (`plan`, `status`, `features`, `usage`): shown, labelled as
    /// written in the config, when no endpoint is configured.
    pub plan: Option<String>,
    pub status: Option<String>,
    pub features: Vec<String>,
    pub usage: Option<UsageSnapshot>,
}

/// `subscription.usage` as the seed writes it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UsageSnapshot {
    pub tokens: Option<u64>,
    pub limit: Option<u64>,
    pub reset_date: Option<String>,
}

/// One entry of `subscription.plans`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PlanConfig {
    pub name: String,
    pub summary: Option<String>,
    pub features: Vec<String>,
}

/// Wraps a config string the moment it is read: it is a credential.
fn optional_secret<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Secret<String>>, D::Error> {
    Ok(Option::<String>::deserialize(de)?.map(Secret::new))
}
