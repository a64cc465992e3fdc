//! Finding the Google credential file (`GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's
//! application-default credentials) and reading it safely.

use crate::envvars::{self, Env};
use crate::error::AuthError;
use crate::storage::checked_file::{CheckedFile, Trust};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// gcloud's file name for application-default credentials.
const ADC_FILE: &str = "application_default_credentials.json";
/// A credential file is a few KiB; anything much bigger is not one.
const MAX_FILE: u64 = 64 * 1024;

/// Where the credential file is and what else was there.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    /// `env:GOOGLE_APPLICATION_CREDENTIALS` or `adc:PATH`.
    pub source: String,
    /// The ADC file when `GOOGLE_APPLICATION_CREDENTIALS` takes precedence over it.
    pub shadowed: Vec<String>,
}

impl Found {
    /// Whether the file was named by `GOOGLE_APPLICATION_CREDENTIALS`.
    pub fn named_by_env(&self) -> bool {
        self.source.starts_with("env:")
    }
}

/// `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's application-default credentials.
///
/// # Errors
/// `not_authenticated` when neither exists; `config_error` when the variable names no file.
pub fn locate(env: &Env) -> Result<Found, AuthError> {
    let adc = adc_path(env).filter(|p| p.is_file());
    if let Some(named) = env.get(envvars::GOOGLE_APPLICATION_CREDENTIALS) {
        let path = PathBuf::from(named);
        if !path.exists() {
            return Err(AuthError::config(format!(
                "GOOGLE_APPLICATION_CREDENTIALS names {}, which does not exist",
                path.display()
            ))
            .with_hint(
                "fix the path, or unset GOOGLE_APPLICATION_CREDENTIALS to use gcloud's \
                 application-default credentials",
            ));
        }
        let shadowed = adc.iter().map(|p| format!("adc:{}", p.display())).collect();
        let source = format!("env:{}", envvars::GOOGLE_APPLICATION_CREDENTIALS);
        return Ok(Found {
            path,
            source,
            shadowed,
        });
    }
    match adc {
        Some(path) => Ok(Found {
            source: format!("adc:{}", path.display()),
            path,
            shadowed: Vec::new(),
        }),
        None => Err(AuthError::not_authenticated(format!(
            "no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not set and there are \
             no application-default credentials{}",
            adc_path(env)
                .map(|p| format!(" at {}", p.display()))
                .unwrap_or_default()
        ))
        .with_hint(
            "run `gcloud auth application-default login`, or set \
             GOOGLE_APPLICATION_CREDENTIALS to a service account key file",
        )),
    }
}

/// `$CLOUDSDK_CONFIG/application_default_credentials.json`, else under `~/.config/gcloud`.
fn adc_path(env: &Env) -> Option<PathBuf> {
    if let Some(dir) = env.get(envvars::CLOUDSDK_CONFIG) {
        return Some(PathBuf::from(dir).join(ADC_FILE));
    }
    let home = env.home()?;
    Some(home.join(".config").join("gcloud").join(ADC_FILE))
}

/// Reads a private key file: a regular file, at most 64 KiB, that no other user can read.
///
/// # Errors
/// `config_error` for a file that cannot be read, is not a regular file, is open to other
/// users (with a `chmod 600` hint) or is too large.
pub fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, AuthError> {
    // Like ssh with private keys: a key another user owns could have been planted, and a key
    // others can read is already half leaked. (Windows: see storage::ownership.)
    CheckedFile::new("Google credential file", Trust::Private, MAX_FILE)
        .hint("point GOOGLE_APPLICATION_CREDENTIALS at the JSON key file")
        .read_existing(path)
}
