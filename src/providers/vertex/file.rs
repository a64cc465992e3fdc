//! Google credential files: where they are (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
//! application-default credentials), what they hold, and which of them are accepted.

use super::external::{self, ExternalAccount};
use super::locate::{self, Found};
use crate::error::AuthError;
use crate::redact::{is_loopback, SafeUrl};
use crate::secret::{Fingerprint, Secret};
use crate::terminal_text::single_line;
use reqwest::Url;
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Google's token endpoint: the default for both credential types.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Every token endpoint Google has put in credential files.
const GOOGLE_TOKEN_URIS: [&str; 3] = [
    GOOGLE_TOKEN_URI,
    "https://accounts.google.com/o/oauth2/token",
    "https://www.googleapis.com/oauth2/v4/token",
];
/// A service account key (`"type": "service_account"`).
#[derive(Debug)]
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key: Secret<String>,
    pub private_key_id: Option<String>,
    pub token_uri: Url,
    pub project_id: Option<String>,
}

/// A user's refresh token (`"type": "authorized_user"`, what gcloud writes).
#[derive(Debug)]
pub struct AuthorizedUser {
    pub client_id: String,
    pub client_secret: Secret<String>,
    pub refresh_token: Secret<String>,
    pub quota_project_id: Option<String>,
    pub token_uri: Url,
}

/// A service account impersonated with another credential (`"type":
/// "impersonated_service_account"`, what `gcloud auth application-default login
/// --impersonate-service-account` writes).
#[derive(Debug)]
pub struct Impersonated {
    pub source: Box<GoogleCredential>,
    pub url: Url,
    pub email: String,
    pub quota_project_id: Option<String>,
}

/// The kinds of credential accepted.
#[derive(Debug)]
pub enum GoogleCredential {
    ServiceAccount(ServiceAccount),
    AuthorizedUser(AuthorizedUser),
    ExternalAccount(ExternalAccount),
    Impersonated(Impersonated),
}

/// A credential and the file it came from.
#[derive(Debug)]
pub struct CredentialFile {
    pub found: Found,
    pub credential: GoogleCredential,
}

impl CredentialFile {
    /// The project named in the file, if any.
    pub fn project(&self) -> Option<&str> {
        self.credential.project()
    }

    /// Where tokens come from.
    pub fn token_uri(&self) -> &Url {
        self.credential.token_uri()
    }

    /// A printable stand-in: the key id of a service account, the refresh token's fingerprint
    /// for a user.
    pub fn fingerprint(&self) -> Option<String> {
        self.credential.fingerprint()
    }

    /// Identifies this credential for the token cache: kind, principal, file and a digest of
    /// the secret, so another file, another key or a new login never reuses a token.
    pub fn cache_key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.credential.cache_key(),
            self.found.path.display(),
            self.token_uri()
        )
    }
}

impl GoogleCredential {
    /// The project named in the file, if any.
    pub fn project(&self) -> Option<&str> {
        match self {
            GoogleCredential::ServiceAccount(sa) => sa.project_id.as_deref(),
            GoogleCredential::AuthorizedUser(user) => user.quota_project_id.as_deref(),
            GoogleCredential::ExternalAccount(ea) => ea.quota_project_id.as_deref(),
            GoogleCredential::Impersonated(imp) => imp
                .quota_project_id
                .as_deref()
                .or_else(|| imp.source.project()),
        }
        .filter(|p| !p.is_empty())
    }

    /// Where the first token comes from.
    pub fn token_uri(&self) -> &Url {
        match self {
            GoogleCredential::ServiceAccount(sa) => &sa.token_uri,
            GoogleCredential::AuthorizedUser(user) => &user.token_uri,
            GoogleCredential::ExternalAccount(ea) => &ea.token_url,
            GoogleCredential::Impersonated(imp) => imp.source.token_uri(),
        }
    }

    /// A printable stand-in for the secret, when there is one in the file.
    pub fn fingerprint(&self) -> Option<String> {
        match self {
            GoogleCredential::ExternalAccount(_) => None,
            GoogleCredential::Impersonated(imp) => imp.source.fingerprint(),
            GoogleCredential::ServiceAccount(sa) => sa
                .private_key_id
                .as_deref()
                .map(|id| Fingerprint::of(id).to_string()),
            GoogleCredential::AuthorizedUser(user) => {
                Some(Fingerprint::of(user.refresh_token.expose()).to_string())
            }
        }
    }

    fn cache_key(&self) -> String {
        let (kind, principal, secret) = match self {
            GoogleCredential::ExternalAccount(ea) => (
                "external_account",
                ea.audience.as_str(),
                ea.impersonation_url.as_ref().map_or("", Url::as_str),
            ),
            GoogleCredential::Impersonated(imp) => {
                return format!("impersonated:{}:{}", imp.email, imp.source.cache_key())
            }
            GoogleCredential::ServiceAccount(sa) => (
                "service_account",
                sa.client_email.as_str(),
                sa.private_key.expose().as_str(),
            ),
            GoogleCredential::AuthorizedUser(user) => (
                "authorized_user",
                user.client_id.as_str(),
                user.refresh_token.expose().as_str(),
            ),
        };
        let digest = Sha256::digest(secret.as_bytes());
        let digest: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("{kind}:{principal}:{digest}")
    }
}

/// What to do about a credential file that cannot be used.
const HINT_REPLACE: &str = "use a service account key file, or run `gcloud auth \
    application-default login` for user credentials";

/// What the JSON may hold; secrets are wrapped as they are read.
#[derive(Deserialize)]
struct RawFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    private_key: Option<Secret<String>>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
    project_id: Option<String>,
    client_id: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    client_secret: Option<Secret<String>>,
    #[serde(default, deserialize_with = "secret")]
    refresh_token: Option<Secret<String>>,
    quota_project_id: Option<String>,
}

fn secret<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Secret<String>>, D::Error> {
    Ok(Option::<String>::deserialize(de)?.map(Secret::new))
}

impl RawFile {
    /// Every value that can be shown (account, key id, client id, projects) as one line, as
    /// it is read: a newline in `client_email` would print a status line of the file's
    /// choosing. The secrets are never shown and stay as they are.
    fn one_line(self) -> RawFile {
        let line = |v: Option<String>| v.map(|v| single_line(&v));
        RawFile {
            client_email: line(self.client_email),
            private_key_id: line(self.private_key_id),
            project_id: line(self.project_id),
            client_id: line(self.client_id),
            quota_project_id: line(self.quota_project_id),
            ..self
        }
    }
}

/// Finds, reads and checks the credential file.
///
/// # Errors
/// `not_authenticated` when there is none; `config_error` for a file that is missing,
/// shared, unreadable, of an unsupported type, or with a foreign `token_uri` or a bad key.
pub fn load(env: &crate::envvars::Env) -> Result<CredentialFile, AuthError> {
    let found = locate::locate(env)?;
    let bytes = locate::read(&found.path)?;
    let credential = parse(&found.path, &bytes)?;
    Ok(CredentialFile { found, credential })
}

/// Parses and checks the JSON; errors name the file and never quote it.
fn parse(path: &Path, bytes: &[u8]) -> Result<GoogleCredential, AuthError> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| not_json(path, &err))?;
    parse_value(path, doc)
}

fn parse_value(path: &Path, doc: serde_json::Value) -> Result<GoogleCredential, AuthError> {
    match doc.get("type").and_then(serde_json::Value::as_str) {
        Some("external_account") => {
            return external::parse_external(path, &doc).map(GoogleCredential::ExternalAccount)
        }
        Some("impersonated_service_account") => {
            return impersonated(path, doc).map(GoogleCredential::Impersonated)
        }
        _ => {}
    }
    let raw: RawFile = serde_json::from_value(doc).map_err(|err| not_json(path, &err))?;
    let raw = raw.one_line();
    match raw.kind.as_deref() {
        Some("service_account") => service_account(path, raw).map(GoogleCredential::ServiceAccount),
        Some("authorized_user") => authorized_user(path, raw).map(GoogleCredential::AuthorizedUser),
        Some(other) => Err(unsupported(path, other)),
        None => Err(AuthError::config(format!(
            "{} has no `type`: it is not a Google credential file",
            path.display()
        ))
        .with_hint(HINT_REPLACE)),
    }
}

fn service_account(path: &Path, raw: RawFile) -> Result<ServiceAccount, AuthError> {
    let client_email = required(path, raw.client_email, "client_email")?;
    let private_key = raw
        .private_key
        .ok_or_else(|| missing(path, "private_key"))?;
    if jsonwebtoken::EncodingKey::from_rsa_pem(private_key.expose().as_bytes()).is_err() {
        return Err(bad_key(path));
    }
    let token_uri = token_uri(path, raw.token_uri.as_deref())?;
    Ok(ServiceAccount {
        client_email,
        private_key,
        private_key_id: raw.private_key_id,
        token_uri,
        project_id: raw.project_id,
    })
}

fn impersonated(path: &Path, mut doc: serde_json::Value) -> Result<Impersonated, AuthError> {
    let url = doc
        .get("service_account_impersonation_url")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| missing(path, "service_account_impersonation_url"))?;
    let url = external::checked_url(
        path,
        "service_account_impersonation_url",
        url,
        &["iamcredentials.googleapis.com"],
    )?;
    let email = external::checked_email(path, "service_account_impersonation_url", &url, true)?
        .unwrap_or_default();
    let quota_project_id = doc
        .get("quota_project_id")
        .and_then(serde_json::Value::as_str)
        .map(single_line);
    let source = doc
        .get_mut("source_credentials")
        .map(serde_json::Value::take)
        .ok_or_else(|| missing(path, "source_credentials"))?;
    let source = match parse_value(path, source)? {
        nested @ (GoogleCredential::ServiceAccount(_) | GoogleCredential::AuthorizedUser(_)) => {
            nested
        }
        _ => {
            return Err(AuthError::config(format!(
                "the source_credentials in {} must be a service account key or user credentials",
                path.display()
            ))
            .with_hint(HINT_REPLACE))
        }
    };
    Ok(Impersonated {
        source: Box::new(source),
        url,
        email,
        quota_project_id,
    })
}

fn authorized_user(path: &Path, raw: RawFile) -> Result<AuthorizedUser, AuthError> {
    let client_id = required(path, raw.client_id, "client_id")?;
    let client_secret = raw
        .client_secret
        .ok_or_else(|| missing(path, "client_secret"))?;
    let refresh_token = raw
        .refresh_token
        .ok_or_else(|| missing(path, "refresh_token"))?;
    let token_uri = token_uri(path, raw.token_uri.as_deref())?;
    Ok(AuthorizedUser {
        client_id,
        client_secret,
        refresh_token,
        quota_project_id: raw.quota_project_id,
        token_uri,
    })
}

/// Google's token endpoints, or loopback (tests, local emulators); nothing else ever sees a
/// signed assertion or a refresh token.
///
/// # Errors
/// `config_error` for anything else.
pub fn token_uri(path: &Path, text: Option<&str>) -> Result<Url, AuthError> {
    let text = text.unwrap_or(GOOGLE_TOKEN_URI);
    let url = Url::parse(text).map_err(|_| {
        AuthError::config(format!(
            "the token_uri in {} is not a valid URL",
            path.display()
        ))
        .with_hint(format!(
            "use the file as Google issued it (token_uri {GOOGLE_TOKEN_URI})"
        ))
    })?;
    let loopback = matches!(url.scheme(), "http" | "https")
        && is_loopback(&url)
        && url.username().is_empty()
        && url.password().is_none();
    if GOOGLE_TOKEN_URIS.contains(&url.as_str()) || loopback {
        return Ok(url);
    }
    Err(AuthError::config(format!(
        "refusing the token_uri {} in {}: it is not Google's token endpoint, and claude \
         would send a signed assertion or refresh token to it",
        SafeUrl::from(url.clone()),
        path.display()
    ))
    .with_hint(format!(
        "use the file as Google issued it (token_uri {GOOGLE_TOKEN_URI}); only Google's \
         endpoints and loopback are accepted"
    )))
}

/// The private key could not be used; the message never holds any of it.
pub fn bad_key(path: &Path) -> AuthError {
    AuthError::config(format!(
        "the private key in {} is not a valid RSA key",
        path.display()
    ))
    .with_hint(
        "download a new JSON key for the service account \
         (IAM & Admin → Service Accounts → Keys)",
    )
}

fn required(path: &Path, value: Option<String>, field: &str) -> Result<String, AuthError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing(path, field))
}

fn missing(path: &Path, field: &str) -> AuthError {
    AuthError::config(format!("{} has no `{field}`", path.display())).with_hint(
        "the file is incomplete: download it again, or run `gcloud auth application-default login`",
    )
}

fn unsupported(path: &Path, kind: &str) -> AuthError {
    let printable = kind.len() <= 64
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let kind = if printable {
        format!("`{kind}`")
    } else {
        "an unknown type".to_string()
    };
    AuthError::config(format!(
        "{} holds {kind} credentials; claude supports `service_account`, `authorized_user`, `external_account` and `impersonated_service_account`",
        path.display()
    ))
    .with_hint(HINT_REPLACE)
}

/// Where the JSON is wrong, by position only: serde's messages can quote values.
fn not_json(path: &Path, err: &serde_json::Error) -> AuthError {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Syntax | Category::Eof => "is not valid JSON",
        Category::Data => "is not a Google credential file (a field has the wrong type)",
        Category::Io => "cannot be read",
    };
    AuthError::config(format!(
        "{} {what} (line {}, column {})",
        path.display(),
        err.line(),
        err.column()
    ))
    .with_hint("download the key file again, or run `gcloud auth application-default login`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_uri_accepts_google_and_loopback_only() {
        let path = Path::new("f.json");
        for ok in [
            None,
            Some("https://accounts.google.com/o/oauth2/token"),
            Some("http://127.0.0.1:9/token"),
            Some("https://[::1]/t"),
            Some("http://localhost:1/t"),
        ] {
            assert!(token_uri(path, ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "https://oauth2.googleapis.com.evil.example/token",
            "http://oauth2.googleapis.com/token",
            "https://oauth2.googleapis.com/token?x=1",
            "https://u@oauth2.googleapis.com/token",
            "http://10.0.0.1/token",
            "ftp://127.0.0.1/t",
            "not a url",
        ] {
            assert!(token_uri(path, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_errors_never_quote_the_file() {
        let inputs: [&[u8]; 2] = [
            br#"{"type":"service_account","client_email":"a@b","private_key":["SECRETVALUE"]}"#,
            br#"{"type":"service_account","private_key":"SECRETVALUE"#,
        ];
        for input in inputs {
            let err = parse(Path::new("k.json"), input).unwrap_err();
            assert!(err.message().contains("k.json"));
            assert!(!format!("{err:?}").contains("SECRETVALUE"));
        }
    }
}
