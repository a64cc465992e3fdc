//! The individual checks behind `--test-auth`: storage, file permissions, the callback port
//! and the cloud providers' credentials. Each returns a one-line finding or an error.

use crate::config::schema::{Provider, StorageKind};
use crate::context::Context;
use crate::error::AuthError;
use crate::providers::{CredentialInfo, Verdict};
use crate::storage::atomic::check_private;
use crate::storage::ownership::unix_mode;

/// Whether the configured store answers (the keychain is asked for a probe item);
/// `opened` is what `authenticate` said of it (the caller opened it once, for every step
/// that needs to know).
pub fn storage(ctx: &Context, opened: &Result<(), AuthError>) -> Result<String, AuthError> {
    let store = ctx.store();
    match store.kind() {
        StorageKind::Keychain => {
            // A lookup of an item that does not exist proves the keychain answers, unlocked.
            store.get(crate::storage::keychain::PROBE_ITEM)?;
            Ok("the keychain answers and is unlocked".to_string())
        }
        StorageKind::EncryptedFile => {
            // Opened and authenticated, not just its header read: a tampered item list or a
            // wrong passphrase fails here, in the step that names storage.
            opened.clone()?;
            if !ctx.state_dir.join("credentials.enc").exists() {
                return Ok(
                    "no encrypted file yet (it is made when a credential is first stored)"
                        .to_string(),
                );
            }
            let index = store.index()?;
            let items = crate::output::count(index.items.len() as u64, "item", "items");
            Ok(format!(
                "the encrypted file opens and is authentic ({items})"
            ))
        }
    }
}

/// State directory and credential files: owned by the user, nobody else can read them.
pub fn file_permissions(ctx: &Context) -> Result<String, AuthError> {
    let dir = &ctx.state_dir;
    let Ok(meta) = std::fs::metadata(dir) else {
        let mode = if cfg!(unix) { " 0700" } else { "" };
        return Ok(format!(
            "{} does not exist yet (it is created{mode} on first write)",
            dir.display()
        ));
    };
    crate::storage::ownership::check_state_dir(dir, &meta)?;
    let mut checked = 0;
    for name in [
        "credentials.enc",
        "credentials.json",
        "sessions.json",
        "github.json",
    ] {
        let path = dir.join(name);
        if path.exists() {
            check_private(&path)?;
            checked += 1;
        }
    }
    Ok(match unix_mode(&meta) {
        Some(mode) => format!(
            "{} is {:03o} and yours; {} private",
            dir.display(),
            mode & 0o777,
            files(checked)
        ),
        // Windows: no modes to read; the files inherit the directory's ACL.
        None => format!(
            "{} exists; its {} inherit its ACL, which is not checked",
            dir.display(),
            files(checked)
        ),
    })
}

/// `1 credential file is`, `2 credential files are`.
fn files(n: u64) -> String {
    if n == 1 {
        "1 credential file is".to_string()
    } else {
        format!("{n} credential files are")
    }
}

/// Whether `--login` could listen on the configured redirect URI's port now.
pub fn callback_port(ctx: &Context) -> Result<String, AuthError> {
    let settings = crate::oauth::settings(ctx, crate::oauth::DEFAULT_PROVIDER, None)?;
    let port = settings.redirect_uri.port_or_known_default().unwrap_or(80);
    if port == 0 {
        return Ok("an ephemeral port is used (port 0)".to_string());
    }
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(format!("127.0.0.1:{port} is free for the login callback")),
        Err(err) => Err(AuthError::new(
            crate::error::ErrorCode::CallbackPortInUse,
            format!("127.0.0.1:{port} is taken ({err})"),
        )
        .with_hint(format!(
            "stop what listens there, or set `{}.redirectUri` to another port (0 picks a free one)",
            settings.config_path
        ))),
    }
}

/// The cloud provider's credential, found offline: "FINGERPRINT from SOURCE; region=…".
pub fn cloud_credential(ctx: &Context, provider: Provider) -> Result<String, AuthError> {
    let info = cloud_info(ctx, provider)?;
    crate::trace::step(&format!(
        "{} credential: {} ({})",
        provider.as_str(),
        info.source,
        info.fingerprint.as_deref().unwrap_or("no secret")
    ));
    let mut line = match &info.fingerprint {
        Some(fingerprint) => format!("{fingerprint} from {}", info.description),
        None => format!("from {}", info.description),
    };
    let settings: Vec<String> = info
        .settings
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !settings.is_empty() {
        line.push_str(&format!(" ({})", settings.join(", ")));
    }
    if !info.shadowed.is_empty() {
        line.push_str(&format!("; shadows {}", info.shadowed.join(", ")));
    }
    Ok(line)
}

/// The cloud provider's credential details.
///
/// # Errors
/// The provider's configuration and credential errors.
pub fn cloud_info(ctx: &Context, provider: Provider) -> Result<CredentialInfo, AuthError> {
    crate::policy::compliance::check_residency(ctx, provider)?;
    match provider {
        Provider::Bedrock => crate::providers::bedrock::credential(ctx),
        Provider::Vertex => crate::providers::vertex::credential(ctx),
        Provider::Anthropic => Err(AuthError::internal(
            "the Anthropic credential is resolved by resolve.rs",
        )),
    }
}

/// One authenticated call to the cloud provider.
pub async fn cloud_verdict(
    ctx: &Context,
    provider: Provider,
    http: &reqwest::Client,
) -> Result<Verdict, AuthError> {
    // Before any credential is sent, whoever calls.
    crate::policy::compliance::check_residency(ctx, provider)?;
    match provider {
        Provider::Bedrock => crate::providers::bedrock::verify(ctx, http).await,
        Provider::Vertex => crate::providers::vertex::verify(ctx, http).await,
        Provider::Anthropic => Err(AuthError::internal(
            "the Anthropic API is checked by test_auth.rs",
        )),
    }
}
