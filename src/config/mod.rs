//! Configuration: where the file is, how it is read, and which environment is active.

pub mod claude_code;
pub mod edit;
pub mod environments;
mod interpolate;
mod introspect;
mod load;
pub mod managed;
pub mod schema;
mod strict_json;

use crate::envvars;
use crate::error::AuthError;
use crate::storage::checked_file::{is_private, CheckedFile, Trust};
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
    /// The managed settings laid over the file (empty when there are none).
    pub managed: managed::Managed,
}

/// The largest configuration file read: a real one is a few KiB; a huge one would cost
/// memory and time on every command.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

enum ReadError {
    Missing,
    Refused(AuthError),
}

/// The configuration file's text, and whether no other user can read it.
struct ConfigText {
    text: String,
    private: bool,
}

/// Reads the configuration file: its owner and mode are checked on the open handle (no
/// window between check and read), then at most [`MAX_CONFIG_BYTES`] are read. `named_by`:
/// the flag or variable that gave the path, for the hint; `None` for the default path.
fn read_config(path: &Path, named_by: Option<&str>) -> Result<ConfigText, ReadError> {
    let rule = CheckedFile::new("config file", Trust::Config, MAX_CONFIG_BYTES);
    let rule = match named_by {
        Some(named_by) => rule.hint(format!("check the path given by {named_by}")),
        None => rule,
    };
    let read = rule.read_text_and_meta(path);
    match read {
        Ok(Some((text, meta))) => Ok(ConfigText {
            text,
            private: is_private(&meta),
        }),
        Ok(None) => Err(ReadError::Missing),
        Err(err) => Err(ReadError::Refused(err)),
    }
}

/// For the commands that wipe (`--logout`, `--reset-auth`), which must work when the
/// configuration is what is broken: the defaults, with the storage settings read from the
/// file's text as far as they can be recognised (a file that does not parse cannot be read
/// any better), and a warning naming the failure. `failure` is what [`load`] reported.
pub fn recover(
    flag_path: Option<&Path>,
    state_dir: &Path,
    env: &envvars::Env,
    failure: &AuthError,
) -> Loaded {
    let (path, named_by) = config_path(flag_path, state_dir, env);
    let text = read_config(&path, named_by)
        .map(|read| read.text)
        .unwrap_or_default();
    let mut config = Config::default();
    let storage = &mut config.authentication.storage;
    if text.contains("\"encrypted-file\"") {
        storage.kind = schema::StorageKind::EncryptedFile;
    }
    if text.contains("\"user-derived-key\"") {
        storage.encryption_key = Some("user-derived-key".to_string());
    }
    let warning = format!(
        "{} (going on with the defaults and the `{}` store, to remove what is stored)",
        failure.message(),
        storage.kind.as_str()
    );
    Loaded {
        config,
        path,
        file_exists: !text.is_empty(),
        environment: None,
        warnings: vec![warning],
        managed: managed::Managed::default(),
    }
}

/// The text of the configuration file at `path` (checked as for loading), `None` when it does
/// not exist: for `--set-storage`, which edits it.
///
/// # Errors
/// `config_error` when it exists but is refused or unreadable.
pub fn read_text(path: &Path) -> Result<Option<String>, AuthError> {
    match read_config(path, None) {
        Ok(read) => Ok(Some(read.text)),
        Err(ReadError::Missing) => Ok(None),
        Err(ReadError::Refused(err)) => Err(err),
    }
}

/// The configuration's path: `--config`, else `CLAUDE_CONFIG`, else `STATE_DIR/config.json`;
/// with what named it (`None` for the default).
fn config_path(
    flag_path: Option<&Path>,
    state_dir: &Path,
    env: &envvars::Env,
) -> (PathBuf, Option<&'static str>) {
    if let Some(path) = flag_path {
        return (path.to_path_buf(), Some("`--config`"));
    }
    match env.get(envvars::CLAUDE_CONFIG) {
        Some(path) => (PathBuf::from(path), Some("CLAUDE_CONFIG")),
        None => (state_dir.join("config.json"), None),
    }
}

/// The state directory: `CLAUDE_CONFIG_DIR` (made absolute), else `~/.claude`.
///
/// # Errors
/// `config_error` without a home directory (no `HOME`, no passwd entry) or with a relative
/// one: the state directory would then be `./.claude`, and a cloned repository's
/// `.claude/` would be read as the user's own configuration and Claude Code settings.
pub fn state_dir(env: &envvars::Env) -> Result<PathBuf, AuthError> {
    if let Some(dir) = env.get(envvars::CLAUDE_CONFIG_DIR) {
        return std::path::absolute(&dir).map_err(|err| {
            AuthError::config(format!("CLAUDE_CONFIG_DIR ({dir}) cannot be made absolute"))
                .caused_by(err)
        });
    }
    match env.home().filter(|home| home.is_absolute()) {
        Some(home) => Ok(home.join(".claude")),
        None => Err(AuthError::config(
            "there is no home directory to keep the state directory in (HOME is unset or not an absolute path, and no other home is known)",
        )
        .with_hint("set HOME, or CLAUDE_CONFIG_DIR to a directory of your own")),
    }
}

/// Loads the configuration: `--config`, else `CLAUDE_CONFIG`, else `STATE_DIR/config.json`
/// (which may be absent), then selects the environment named by `--env` / `CLAUDE_ENV`.
/// `policy` is what [`managed::read`] made of the managed settings (read by the caller, which
/// takes Claude Code's keys out of it first); its failure is reported once the file is read.
///
/// # Errors
/// `config_error` for an explicit file that is missing, a bad file, an unknown environment,
/// or a literal key in a file others can read.
pub fn load(
    flag_path: Option<&Path>,
    flag_env: Option<&str>,
    state_dir: &Path,
    env: &envvars::Env,
    policy: Result<Option<managed::Layer>, AuthError>,
) -> Result<Loaded, AuthError> {
    let (path, named_by) = config_path(flag_path, state_dir, env);
    let (text, private) = match (read_config(&path, named_by), named_by) {
        (Ok(read), _) => (Some(read.text), read.private),
        (Err(ReadError::Missing), None) => (None, true),
        (Err(ReadError::Missing), Some(named_by)) => {
            return Err(
                AuthError::config(format!("config file {} does not exist", path.display()))
                    .with_hint(format!("check the path given by {named_by}")),
            )
        }
        (Err(ReadError::Refused(err)), _) => return Err(err),
    };
    let file_exists = text.is_some();
    let policy = policy?;
    // Policy applies even to a user who has no configuration file.
    let text = match (text, &policy) {
        (None, Some(_)) => Some("{}".to_string()),
        (text, _) => text,
    };
    let lookup = |name: &str| env.raw(name).map(str::to_string);
    let wanted = flag_env
        .map(str::to_string)
        .or_else(|| env.get(envvars::CLAUDE_ENV));
    let (mut config, warnings) = match &text {
        Some(text) => {
            let overlay = policy.as_ref().map(|layer| &layer.value);
            let parsed = load::parse(&path, text, &lookup, wanted.as_deref(), overlay)?;
            // Judged on the handle the text came from, not on the path again.
            if let (Some(secret_path), false) = (parsed.literal_secrets.first(), private) {
                return Err(AuthError::config(format!(
                    "{} holds a key at `{secret_path}` but other users can read it",
                    path.display()
                ))
                .with_hint(format!(
                    "run `chmod 600 {}`",
                    crate::storage::aside::shell_word(&path)
                )));
            }
            (parsed.config, parsed.warnings)
        }
        None => (Config::default(), Vec::new()),
    };
    let pinned = match &policy {
        Some(layer) => managed::enforce::check_method(
            &config,
            wanted.as_deref(),
            &layer.value,
            &layer.managed,
            &layer.env_origins,
            env,
            &path,
        )?,
        None => None,
    };
    let environment = environments::select(&mut config, wanted.as_deref(), &path)?;
    // The environment's overlay must not undo the managed method.
    managed::enforce::pin_method(&mut config, pinned);
    let (managed, mut warnings) = match policy {
        Some(layer) => {
            let mut all = layer.warnings;
            all.extend(warnings);
            (layer.managed, all)
        }
        None => (managed::Managed::default(), warnings),
    };
    managed::enforce::mfa_sources(
        &mut config,
        &managed,
        environment.as_ref().map(|e| e.name.as_str()),
        &path,
        &mut warnings,
    );
    crate::policy::compliance::check_storage(&config, &managed, &path)?;
    Ok(Loaded {
        config,
        path,
        file_exists,
        environment,
        warnings,
        managed,
    })
}
