//! Project settings (`./.claude/settings.json` and `./.claude/settings.local.json` in the
//! working directory): looked at, never used for credentials. Claude Code applies them only
//! once the user has trusted the workspace; this tool has no trust dialog, and a cloned
//! repository must not make it run a command (`apiKeyHelper`) or send credentials elsewhere
//! (`env.ANTHROPIC_BASE_URL`). So they are read only to say, in `--auth-status` and
//! `--test-auth`, which credential settings they hold that are not used.

use super::{decides_credentials, HelperKey};
use serde_json::Value;
use std::path::Path;

/// The project files, as Claude Code names them, relative to the working directory.
pub const FILES: [&str; 2] = [".claude/settings.json", ".claude/settings.local.json"];
/// Why their credential settings are not used, in words.
pub const WHY_NOT_USED: &str =
    "project settings come with the directory (a cloned repository), not from you, and this tool has no workspace trust to ask for";
/// More than a settings file needs; a bigger one is not looked into.
const MAX_BYTES: u64 = 1 << 20;

/// A project file that sets something that decides credentials.
#[derive(Clone, Debug)]
pub struct ProjectFile {
    /// As shown: `./.claude/settings.json`.
    pub shown: String,
    /// The keys it sets that would decide credentials (`apiKeyHelper`,
    /// `env.ANTHROPIC_BASE_URL`), in the file's order; empty when `unreadable` is set.
    pub keys: Vec<String>,
    /// Why it could not be looked into (not JSON, too large, not a file).
    pub unreadable: Option<String>,
}

impl ProjectFile {
    /// "./.claude/settings.json sets apiKeyHelper, env.ANTHROPIC_BASE_URL; not used: …".
    pub fn sentence(&self) -> String {
        match &self.unreadable {
            Some(why) => format!("{} could not be looked into ({why}); not used", self.shown),
            None => format!(
                "{} sets {}; not used: {WHY_NOT_USED}",
                self.shown,
                self.keys.join(", ")
            ),
        }
    }
}

/// The project files under `dir` that set credential settings (or could not be read),
/// leaving out `user_settings` itself (run from the home directory, `./.claude/settings.json`
/// *is* the user's file).
pub fn scan(dir: &Path, user_settings: &Path) -> Vec<ProjectFile> {
    let user = std::fs::canonicalize(user_settings).ok();
    FILES
        .iter()
        .filter_map(|name| {
            let path = dir.join(name);
            let real = std::fs::canonicalize(&path).ok()?;
            if user.as_ref() == Some(&real) {
                return None;
            }
            look(&path, format!("./{name}"))
        })
        .collect()
}

fn look(path: &Path, shown: String) -> Option<ProjectFile> {
    let unreadable = |why: &str| {
        Some(ProjectFile {
            shown: shown.clone(),
            keys: Vec::new(),
            unreadable: Some(why.to_string()),
        })
    };
    let Ok(file) = crate::storage::atomic::open_nonblocking(path) else {
        return unreadable("it cannot be opened");
    };
    match file.metadata() {
        Ok(meta) if meta.is_file() && meta.len() <= MAX_BYTES => {}
        Ok(meta) if meta.is_file() => return unreadable("larger than 1 MiB"),
        _ => return unreadable("not a regular file"),
    }
    let mut text = String::new();
    if std::io::Read::read_to_string(&mut std::io::Read::take(file, MAX_BYTES), &mut text).is_err()
    {
        return unreadable("not UTF-8 text");
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&text) else {
        return unreadable("not a JSON object");
    };
    let mut keys = Vec::new();
    for key in HelperKey::ALL {
        if fields.get(key.as_str()).is_some_and(|v| !v.is_null()) {
            keys.push(key.as_str().to_string());
        }
    }
    if let Some(Value::Object(env)) = fields.get("env") {
        keys.extend(
            env.keys()
                .filter(|name| super::is_variable_name(name) && decides_credentials(name))
                .map(|name| format!("env.{name}")),
        );
    }
    (!keys.is_empty()).then_some(ProjectFile {
        shown,
        keys,
        unreadable: None,
    })
}
