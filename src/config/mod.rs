//! Configuration: where the file is, how it is read, and which environment is active.

pub mod environments;
mod interpolate;
mod introspect;
mod load;
pub mod schema;

use crate::envvars;
use crate::error::AuthError;
use crate::storage::atomic::check_private;
pub use environments::ActiveEnvironment;
pub use schema::Config;
use std::path::{Path, PathBuf};

/// The configuration in force for this call.
pub struct Loaded {
    pub config: Config,
    /// The file that was read, or would be read when it does not exist.
    pub path: PathBuf,
    pub file_exists: bool,
    pub environment: Option<ActiveEnvironment>,
    pub warnings: Vec<String>,
}

/// The state directory: `CLAUDE_CONFIG_DIR`, else `~/.claude`.
pub fn state_dir() -> PathBuf {
    if let Some(dir) = envvars::get(envvars::CLAUDE_CONFIG_DIR) {
        return PathBuf::from(dir);
    }
    let home = envvars::get(envvars::HOME)
        .map(PathBuf::from)
        .or_else(std::env::home_dir)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".claude")
}

/// Loads the configuration: `--config`, else `CLAUDE_CONFIG`, else `STATE_DIR/config.json`
/// (which may be absent), then selects the environment named by `--env` / `CLAUDE_ENV`.
///
/// # Errors
/// `config_error` for an explicit file that is missing, a bad file, an unknown environment,
/// or a literal key in a file others can read.
pub fn load(
    flag_path: Option<&Path>,
    flag_env: Option<&str>,
    state_dir: &Path,
) -> Result<Loaded, AuthError> {
    let explicit = flag_path
        .map(Path::to_path_buf)
        .or_else(|| envvars::get(envvars::CLAUDE_CONFIG).map(PathBuf::from));
    let path = explicit
        .clone()
        .unwrap_or_else(|| state_dir.join("config.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => None,
        Err(err) => {
            return Err(
                AuthError::config(format!("cannot read config file {}", path.display()))
                    .caused_by(err)
                    .with_hint("check the path given by `--config` or CLAUDE_CONFIG"),
            )
        }
    };
    let file_exists = text.is_some();
    let lookup = |name: &str| std::env::var(name).ok();
    let wanted = flag_env
        .map(str::to_string)
        .or_else(|| envvars::get(envvars::CLAUDE_ENV));
    let (mut config, warnings) = match &text {
        Some(text) => {
            let parsed = load::parse(&path, text, &lookup, wanted.as_deref())?;
            if let Some(secret_path) = parsed.literal_secrets.first() {
                check_private(&path).map_err(|err| {
                    AuthError::config(format!(
                        "{} holds a key at `{secret_path}` but other users can read it",
                        path.display()
                    ))
                    .with_hint(err.hint().unwrap_or_default().to_string())
                })?;
            }
            (parsed.config, parsed.warnings)
        }
        None => (Config::default(), Vec::new()),
    };
    let environment = environments::select(&mut config, wanted.as_deref(), &path)?;
    Ok(Loaded {
        config,
        path,
        file_exists,
        environment,
        warnings,
    })
}
