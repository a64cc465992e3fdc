//! Managed settings: the policy an administrator puts where Claude Code keeps it
//! (`/etc/claude-code/managed-settings.json` and `managed-settings.d/*.json` on Linux), read
//! before the user's configuration and laid over it so that the user cannot edit it away.
//!
//! Only root (uid 0) may own these files and the directory that holds them, and nobody else
//! may write them; on Windows, only Administrators, SYSTEM or TrustedInstaller, read from
//! the owner and DACL (`trust.rs`). A policy file the user can change is advice, so one that
//! fails the check is refused loudly (`config_error` with the `chown`/`chmod` or
//! `takeown`/`icacls` that fixes it), never skipped.
//! Reading them costs a few `stat`/`open` calls; nothing here touches the network.
//!
//! Of Claude Code's own keys in these files, those that decide credentials
//! (`apiKeyHelper`, `awsAuthRefresh`, `awsCredentialExport`, `env`) are handed to
//! [`crate::config::claude_code`], where they win over the user's; the rest are Claude
//! Code's business and left alone.

// Judged on every platform (its tests run anywhere); read from Windows only there.
#[cfg(any(windows, test))]
mod acl;
pub mod enforce;
mod merge;
mod trust;

use crate::envvars::{self, Env};
use crate::error::AuthError;
use crate::storage::checked_file::{CheckedFile, Trust};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use merge::{overlay, settled_paths};

/// The managed file's name, as Claude Code names it.
pub const FILE_NAME: &str = "managed-settings.json";
/// The drop-in directory beside it: `*.json` merged in name order, later files winning.
pub const DROP_IN_DIR: &str = "managed-settings.d";
/// The largest managed file read (a policy is a few KiB).
const MAX_BYTES: u64 = 1 << 20;
/// The top-level blocks a managed file decides as this tool's policy. Claude Code's
/// credential keys are read too ([`Layer::claude_code`]); its other settings
/// (`permissions`, `hooks`, …) are left alone, unwarned.
pub const BLOCKS: [&str; 4] = ["security", "compliance", "environments", "authentication"];
/// The keys of `authentication` a managed file decides.
const AUTHENTICATION_KEYS: [&str; 2] = ["method", "fallback"];

/// What the managed files decide, for status and `--test-auth`.
#[derive(Clone, Debug, Default)]
pub struct Managed {
    /// The files read, in merge order.
    pub files: Vec<PathBuf>,
    /// Dotted paths of the settings they fix (`security.mfa.enabled`, …), sorted.
    pub settings: Vec<String>,
    /// The file that fixes each of `settings` (the last one in merge order).
    pub origins: BTreeMap<String, PathBuf>,
}

impl Managed {
    /// Whether `path` (dotted, e.g. `compliance.dataResidency`) or a block above it is fixed
    /// by managed settings.
    pub fn covers(&self, path: &str) -> bool {
        self.settings
            .iter()
            .any(|s| s == path || s.starts_with(&format!("{path}.")))
    }

    /// The managed file that fixes `path` (dotted), or the first managed file when it is
    /// fixed by a block above it; `None` when it is not managed.
    pub fn origin(&self, path: &str) -> Option<&Path> {
        if let Some(file) = self.origins.get(path) {
            return Some(file);
        }
        let prefix = format!("{path}.");
        self.origins
            .iter()
            .find(|(s, _)| s.starts_with(&prefix))
            .map(|(_, f)| f.as_path())
    }

    /// "Managed by FILE, FILE: a, b", or `None` when nothing is managed.
    pub fn summary(&self) -> Option<String> {
        if self.files.is_empty() {
            return None;
        }
        let files: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        let settings = if self.settings.is_empty() {
            "no policy settings".to_string()
        } else {
            self.settings.join(", ")
        };
        Some(format!("Managed by {}: {settings}", files.join(", ")))
    }
}

/// The merged managed policy, ready to lay over the user's configuration.
pub struct Layer {
    /// Only the managed blocks, merged across files.
    pub value: Value,
    pub managed: Managed,
    /// Warnings naming the managed file and JSON path (unknown or unmanaged keys).
    pub warnings: Vec<String>,
    /// Claude Code's credential keys (`apiKeyHelper`, …, `env`), merged across files, for
    /// [`crate::config::claude_code::Settings`] to take.
    pub claude_code: crate::config::claude_code::ManagedKeys,
    /// Each variable the managed `env` blocks set, and the file that sets it (names only: the
    /// values go with `claude_code`).
    pub env_origins: BTreeMap<String, PathBuf>,
}

/// Where the managed files are looked for, and whether the current user may own them.
struct Location {
    dir: PathBuf,
    /// Debug builds pointed at a test directory: the test's user may own its files.
    test_override: bool,
}

/// The system's managed-settings directory, as Claude Code uses it.
pub fn system_dir() -> PathBuf {
    if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/ClaudeCode")
    } else if cfg!(windows) {
        PathBuf::from(r"C:\Program Files\ClaudeCode")
    } else {
        PathBuf::from("/etc/claude-code")
    }
}

/// The directory to read. No variable moves it in release builds: a user could otherwise
/// point it at an empty directory and shed the policy. Debug builds honour
/// `CLAUDE_MANAGED_SETTINGS_DIR` so tests need no root-owned `/etc`.
fn locate(env: &Env) -> Location {
    if cfg!(debug_assertions) {
        if let Some(dir) = env.get(envvars::CLAUDE_MANAGED_SETTINGS_DIR) {
            return Location {
                dir: PathBuf::from(dir),
                test_override: true,
            };
        }
    }
    Location {
        dir: system_dir(),
        test_override: false,
    }
}

/// Reads, checks and merges the managed files; `None` when there are none.
///
/// # Errors
/// `config_error` naming the file for one that is not owned by root (Windows: an
/// administrative principal) or is writable by others, unreadable, not JSON, of the wrong types, or that interpolates `${VAR}`.
pub fn read(env: &Env) -> Result<Option<Layer>, AuthError> {
    let location = locate(env);
    let mut files = Vec::new();
    let base = location.dir.join(FILE_NAME);
    if let Some(text) = read_file(&base, &location)? {
        files.push((base, text));
    }
    let drop_in = location.dir.join(DROP_IN_DIR);
    for path in drop_in_files(&drop_in, &location)? {
        if let Some(text) = read_file(&path, &location)? {
            files.push((path, text));
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    // Whoever can write the directory can delete or replace the files in it.
    let dir_meta =
        std::fs::metadata(&location.dir).map_err(|err| unreadable(&location.dir, err))?;
    trust::check(&location.dir, &dir_meta, None, location.test_override)?;
    let mut layers = Vec::new();
    let mut warnings = Vec::new();
    let mut origins = BTreeMap::new();
    let mut claude_code = crate::config::claude_code::ManagedKeys::default();
    for (path, text) in &files {
        let (layer, keys) = parse(path, text, &mut warnings)?;
        claude_code.merge(keys, path);
        for setting in settled_paths(&layer) {
            origins.insert(setting, path.clone());
        }
        layers.push(layer);
    }
    let value = merge::merge_layers(layers);
    let settings = settled_paths(&value);
    origins.retain(|setting, _| settings.contains(setting));
    let managed = Managed {
        files: files.into_iter().map(|(path, _)| path).collect(),
        settings,
        origins,
    };
    let env_origins = claude_code
        .env_files()
        .map(|(name, file)| (name.to_string(), file.to_path_buf()))
        .collect();
    Ok(Some(Layer {
        value,
        managed,
        warnings,
        claude_code,
        env_origins,
    }))
}

/// The `*.json` files of the drop-in directory, in name order (hidden files skipped).
fn drop_in_files(dir: &Path, location: &Location) -> Result<Vec<PathBuf>, AuthError> {
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(unreadable(dir, err)),
    };
    if !meta.is_dir() {
        return Err(AuthError::config(format!(
            "{} is not a directory; managed settings expect one there",
            dir.display()
        ))
        .with_hint("ask your administrator to remove it or make it a directory of *.json files"));
    }
    trust::check(dir, &meta, None, location.test_override)?;
    let entries = std::fs::read_dir(dir).map_err(|err| unreadable(dir, err))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".json") && !name.starts_with('.')
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// The text of one managed file, checked on the open handle; `None` when it is absent.
fn read_file(path: &Path, location: &Location) -> Result<Option<String>, AuthError> {
    let trusted = |path: &Path, meta: &std::fs::Metadata, file: &std::fs::File| {
        trust::check(path, meta, Some(file), location.test_override)
    };
    CheckedFile::new("managed settings file", Trust::Custom(&trusted), MAX_BYTES)
        .hint(FIX_HINT)
        .read_text(path)
}

/// What to do about a managed file or directory that cannot be used.
const FIX_HINT: &str = if cfg!(windows) {
    "managed settings are policy: fix the file's ACL (owned by Administrators, Users may read) rather than removing it"
} else {
    "managed settings are policy: fix the file's permissions (root-owned, mode 644) rather than removing it"
};

fn unreadable(path: &Path, err: std::io::Error) -> AuthError {
    AuthError::config(format!("cannot read managed settings {}", path.display()))
        .caused_by(err)
        .with_hint(FIX_HINT)
}

/// What a managed file may say, typed as the configuration types it: a wrong type is an
/// error naming the managed file, line:column and JSON path.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read for its type errors; the values go on as JSON
struct PolicyView {
    security: Option<super::schema::SecurityConfig>,
    compliance: Option<super::schema::ComplianceConfig>,
    environments: Option<BTreeMap<String, super::schema::EnvironmentConfig>>,
    authentication: Option<AuthenticationView>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct AuthenticationView {
    method: Option<super::schema::Method>,
    fallback: Option<super::schema::Method>,
}

/// Top-level keys of real Claude Code's managed settings that are not this tool's policy
/// blocks: not warned about (a managed file usually holds several). The credential ones
/// among them are read by [`parse`] for Claude Code's settings.
const CLAUDE_CODE_KEYS: [&str; 16] = [
    "env",
    "permissions",
    "hooks",
    "model",
    "apiKeyHelper",
    "awsAuthRefresh",
    "awsCredentialExport",
    "cleanupPeriodDays",
    "includeCoAuthoredBy",
    "forceLoginMethod",
    "forceLoginOrgUUID",
    "enableAllProjectMcpServers",
    "allowedMcpServers",
    "deniedMcpServers",
    "disableBypassPermissionsMode",
    "statusLine",
];

/// Parses one managed file into its managed blocks and Claude Code's credential keys,
/// reporting what it ignores.
fn parse(
    path: &Path,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<(Value, crate::config::claude_code::Keys), AuthError> {
    let shown = path.display().to_string();
    let raw: Value = serde_json::from_str(text).map_err(|err| {
        AuthError::config(format!(
            "{shown}:{}:{}: invalid JSON in managed settings",
            err.line(),
            err.column()
        ))
        .with_hint("ask your administrator to fix the file at that line and column")
    })?;
    let Value::Object(fields) = raw else {
        return Err(AuthError::config(format!(
            "{shown}: managed settings must be a JSON object `{{…}}`"
        )));
    };
    type_check(path, text, warnings)?;
    let keys = crate::config::claude_code::keys(&fields, &shown, warnings);
    let mut kept = serde_json::Map::new();
    for (key, value) in fields {
        if BLOCKS.contains(&key.as_str()) {
            kept.insert(key, value);
        } else if CLAUDE_CODE_KEYS.contains(&key.as_str()) {
            // Real Claude Code's own settings share the file: not ours, not a typo.
        } else if let Some(block) = super::introspect::suggest(&key, &BLOCKS) {
            warnings.push(format!(
                "{shown}: `{key}` is not a policy block (did you mean `{block}`?)"
            ));
        }
    }
    let mut value = Value::Object(kept);
    strip_unmanaged(&mut value, &shown, warnings);
    refuse_interpolation(&value, "", &shown)?;
    // CIDRs and the like: the same checks as the user's file, naming this one.
    let typed: super::Config = serde_json::from_value(value.clone())
        .map_err(|err| AuthError::config(format!("{shown}: {err}")))?;
    super::load::validate(&typed, &shown)?;
    Ok((value, keys))
}

/// Type errors (with line:column) and unknown keys inside the managed blocks.
fn type_check(path: &Path, text: &str, warnings: &mut Vec<String>) -> Result<(), AuthError> {
    let shown = path.display().to_string();
    let mut unknown = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let mut track = |p: serde_ignored::Path<'_>| unknown.push(super::load::segments(&p));
    let ignoring = serde_ignored::Deserializer::new(&mut de, &mut track);
    if let Err(err) = serde_path_to_error::deserialize::<_, PolicyView>(ignoring) {
        let inner = err.inner();
        return Err(AuthError::config(format!(
            "{shown}:{}:{}: `{}`: {}",
            inner.line(),
            inner.column(),
            err.path(),
            super::load::bare_message(inner)
        ))
        .with_hint("ask your administrator to fix the managed settings: the message names the key and the type it must have"));
    }
    for path in unknown {
        match path.as_slice() {
            // Claude Code's own settings share the file: not ours to judge.
            [_] => {}
            [block, key] if block == "authentication" => warnings.push(format!(
                "{shown}: `authentication.{}` is not a managed setting and is ignored (managed settings decide `authentication.method` and `fallback` only)",
                super::load::shown_key(key)
            )),
            _ => warnings.push(super::load::unknown_key_warning(&shown, &path)),
        }
    }
    Ok(())
}

/// Drops what a managed file may not decide: `authentication` keys other than `method` and
/// `fallback`, and environments' `apiKey` (a key is not policy, and this file is readable
/// by every user).
fn strip_unmanaged(value: &mut Value, file: &str, warnings: &mut Vec<String>) {
    if let Some(auth) = value
        .get_mut("authentication")
        .and_then(Value::as_object_mut)
    {
        auth.retain(|key, _| AUTHENTICATION_KEYS.contains(&key.as_str()));
    }
    if let Some(envs) = value.get_mut("environments").and_then(Value::as_object_mut) {
        for (name, env) in envs.iter_mut() {
            if let Some(env) = env.as_object_mut() {
                if env.remove("apiKey").is_some() {
                    warnings.push(format!(
                        "{file}: `environments.{}.apiKey` is ignored: a key is not policy, and managed settings are readable by every user",
                        super::load::shown_key(name)
                    ));
                }
            }
        }
    }
}

/// Refuses `${VAR}` in a managed value: the user controls the environment, so an
/// interpolated policy would be the user's policy.
fn refuse_interpolation(value: &Value, path: &str, file: &str) -> Result<(), AuthError> {
    match value {
        Value::String(text) if text.contains("${") => Err(AuthError::config(format!(
            "{file}: `{path}` uses `${{…}}`; managed settings are not interpolated, because the user controls the environment"
        ))
        .with_hint("ask your administrator to write the value itself")),
        Value::Object(map) => map.iter().try_for_each(|(key, inner)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            refuse_interpolation(inner, &child, file)
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, inner)| refuse_interpolation(inner, &format!("{path}[{i}]"), file)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
