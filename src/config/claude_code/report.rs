//! What `--auth-status` and `--test-auth` say about Claude Code's settings (the user's file
//! and the managed files' Claude Code keys): which of their credential settings are taken,
//! shadowed (by managed settings, or by this tool's config), or not run and why; the `env`
//! variables that replaced the shell's or were left out; and the project files whose
//! credential settings are not used. Names and paths only: never a value.

use super::{decides_credentials, project, HelperKey, Origin, Settings};
use crate::context::Context;
use serde_json::{json, Value};

/// The config's own value of `key`.
pub fn own(ctx: &Context, key: HelperKey) -> Option<&str> {
    let config = &ctx.loaded.config;
    match key {
        HelperKey::ApiKeyHelper => config.api_key_helper.as_deref(),
        HelperKey::AwsAuthRefresh => config.aws_auth_refresh.as_deref(),
        HelperKey::AwsCredentialExport => config.aws_credential_export.as_deref(),
    }
}

/// How one listed helper stands among the others of its key.
struct HelperState {
    key: HelperKey,
    origin: Origin,
    /// `in-force`, `shadowed` or `skipped`.
    state: &'static str,
    reason: Option<String>,
}

fn helper_states(ctx: &Context) -> Vec<HelperState> {
    let settings = &ctx.claude_code;
    let mut out = Vec::new();
    for key in HelperKey::ALL {
        let mut taken: Option<Origin> = None;
        for listed in settings.helpers(key, own(ctx, key)) {
            let (state, reason) = match (listed.skipped, &taken) {
                (Some(reason), _) => ("skipped", Some(reason)),
                (None, Some(Origin::Managed(file))) => (
                    "shadowed",
                    Some(format!(
                        "set by managed settings {}, whose own wins",
                        file.display()
                    )),
                ),
                (None, Some(_)) => (
                    "shadowed",
                    Some("this tool's config sets its own, which wins".to_string()),
                ),
                (None, None) => {
                    taken = Some(listed.helper.origin.clone());
                    ("in-force", None)
                }
            };
            out.push(HelperState {
                key,
                origin: listed.helper.origin,
                state,
                reason,
            });
        }
    }
    out
}

/// The project files that set credential settings (none when the directory is unknown).
pub fn project_files(settings: &Settings) -> Vec<project::ProjectFile> {
    settings
        .project_dir
        .as_deref()
        .map(|dir| project::scan(dir, &settings.path))
        .unwrap_or_default()
}

/// The `env` entries worth naming: those that decide credentials, or were left out.
fn env_entries(settings: &Settings) -> impl Iterator<Item = &super::EnvEntry> {
    settings
        .applied
        .iter()
        .filter(|e| e.ignored.is_some() || decides_credentials(&e.name))
}

/// "in FILE" for a helper's or variable's origin.
fn place(origin: &Origin) -> String {
    match origin {
        Origin::Own => "in the config".to_string(),
        Origin::Settings(path) => format!("in {}", path.display()),
        Origin::Managed(path) => format!("in managed settings {}", path.display()),
    }
}

/// What a settings file's line says it is read for: its helpers (with their state) and the
/// applied variables of its `env` block that decide credentials.
fn read_for(states: &[HelperState], settings: &Settings, origin: &Origin) -> Vec<String> {
    let mut parts: Vec<String> = states
        .iter()
        .filter(|s| s.origin == *origin)
        .map(|s| match s.state {
            "in-force" => s.key.as_str().to_string(),
            "shadowed" => format!("{} (shadowed, below)", s.key.as_str()),
            _ => format!("{} (not run, below)", s.key.as_str()),
        })
        .collect();
    let env: Vec<&str> = env_entries(settings)
        .filter(|e| e.origin == *origin && e.ignored.is_none())
        .map(|e| e.name.as_str())
        .collect();
    if !env.is_empty() {
        parts.push(format!("env {}", env.join(", ")));
    }
    parts
}

/// Status lines (after the label `claude code:`), in the order: the managed files' Claude
/// Code keys, the user's file, shadowed and skipped helpers, `env` variables that replaced
/// the shell's or were left out, project files.
pub fn status_lines(ctx: &Context) -> Vec<String> {
    let settings = &ctx.claude_code;
    let shown = settings.path.display();
    let mut lines = Vec::new();
    let states = helper_states(ctx);
    for file in managed_files(ctx) {
        let origin = Origin::Managed(file.clone());
        let parts = read_for(&states, settings, &origin);
        lines.push(format!(
            "managed settings {}: read for {} (they win over the config, {shown} and the shell)",
            file.display(),
            parts.join("; ")
        ));
    }
    if settings.read {
        let parts = read_for(&states, settings, &Origin::Settings(settings.path.clone()));
        lines.push(if parts.is_empty() {
            format!("{shown}: read; nothing in it decides credentials")
        } else {
            format!("{shown}: read for {}", parts.join("; "))
        });
    } else if settings.found {
        lines.push(format!("{shown}: not used (see the warning)"));
    }
    for state in states.iter().filter(|s| s.state != "in-force") {
        let place = place(&state.origin);
        let reason = state.reason.as_deref().unwrap_or_default();
        lines.push(match state.state {
            "shadowed" => format!("{} {place} is shadowed: {reason}", state.key.as_str()),
            _ => format!("{} {place} is {reason}", state.key.as_str()),
        });
    }
    for entry in env_entries(settings) {
        let of = match &entry.origin {
            Origin::Managed(path) => format!("managed settings {}", path.display()),
            _ => shown.to_string(),
        };
        match &entry.ignored {
            Some(why) => lines.push(format!("env {} of {of} is not applied: {why}", entry.name)),
            None if entry.replaced => lines.push(match entry.origin {
                Origin::Managed(_) => format!(
                    "env {} of {of} replaces the shell's value (managed settings are policy: neither the shell nor {shown} can override them)",
                    entry.name
                ),
                _ => format!(
                    "env {} of {of} replaces the shell's value (Claude Code applies its settings over the shell's variables)",
                    entry.name
                ),
            }),
            None => {}
        }
    }
    lines.extend(project_files(settings).iter().map(|p| p.sentence()));
    lines
}

/// The managed files whose Claude Code keys are in force or named, in merge order.
fn managed_files(ctx: &Context) -> Vec<std::path::PathBuf> {
    let settings = &ctx.claude_code;
    let sets = |file: &std::path::PathBuf| {
        settings.managed.helpers.iter().any(|(_, _, f)| f == file)
            || settings
                .applied
                .iter()
                .any(|e| e.origin == Origin::Managed(file.clone()))
    };
    let mut files: Vec<std::path::PathBuf> = ctx.loaded.managed.files.clone();
    files.retain(sets);
    files
}

/// `from` of a helper or variable in the status document.
fn from(origin: &Origin) -> &'static str {
    match origin {
        Origin::Own => "config",
        Origin::Settings(_) => "settings",
        Origin::Managed(_) => "managed",
    }
}

/// `claudeCodeSettings` of the status document: `None` when there is no settings file, no
/// project file with credential settings, and no recursion guard.
pub fn status_json(ctx: &Context) -> Option<Value> {
    let settings = &ctx.claude_code;
    let projects = project_files(settings);
    if !settings.found && projects.is_empty() && !settings.guard && !settings.has_managed() {
        return None;
    }
    let helpers: Vec<Value> = helper_states(ctx)
        .into_iter()
        .map(|s| {
            let file = match &s.origin {
                Origin::Own => ctx.loaded.path.display().to_string(),
                Origin::Settings(path) | Origin::Managed(path) => path.display().to_string(),
            };
            json!({
                "key": s.key.as_str(),
                "from": from(&s.origin),
                "file": file,
                "state": s.state,
                "reason": s.reason,
            })
        })
        .collect();
    let env: Vec<Value> = env_entries(settings)
        .map(|e| {
            json!({
                "name": e.name,
                "from": from(&e.origin),
                "file": e.origin.settings_file().map(|f| f.display().to_string()),
                "applied": e.ignored.is_none(),
                "replacedShellValue": e.replaced,
                "reason": e.ignored,
            })
        })
        .collect();
    let project: Vec<Value> = projects
        .iter()
        .map(|p| {
            json!({
                "file": p.shown,
                "sets": p.keys,
                "used": false,
                "reason": p.unreadable.clone().unwrap_or_else(|| project::WHY_NOT_USED.to_string()),
            })
        })
        .collect();
    Some(json!({
        "file": settings.path.display().to_string(),
        "found": settings.found,
        "read": settings.read,
        "helpers": helpers,
        "env": env,
        "project": project,
        "guard": settings.guard,
    }))
}

/// `--test-auth`'s words for the config step: what Claude Code's settings add, or `None`.
pub fn test_auth_note(ctx: &Context) -> Option<String> {
    let lines = status_lines(ctx);
    (!lines.is_empty()).then(|| format!("Claude Code's settings: {}", lines.join("; ")))
}
