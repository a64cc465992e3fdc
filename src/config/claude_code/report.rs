//! What `--auth-status` and `--test-auth` say about Claude Code's settings: which of their
//! credential settings are taken, shadowed by this tool's config, or not run and why; the
//! `env` variables that replaced the shell's or were left out; and the project files whose
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
        let mut taken = false;
        for listed in settings.helpers(key, own(ctx, key)) {
            let (state, reason) = match listed.skipped {
                Some(reason) => ("skipped", Some(reason)),
                None if taken => (
                    "shadowed",
                    Some("this tool's config sets its own, which wins".to_string()),
                ),
                None => {
                    taken = true;
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

/// Status lines (after the label `claude code:`), in the order: the file, shadowed and
/// skipped helpers, `env` variables that replaced the shell's or were left out, project
/// files.
pub fn status_lines(ctx: &Context) -> Vec<String> {
    let settings = &ctx.claude_code;
    let shown = settings.path.display();
    let mut lines = Vec::new();
    let states = helper_states(ctx);
    if settings.read {
        let mut parts: Vec<String> = states
            .iter()
            .filter(|s| s.origin != Origin::Own)
            .map(|s| match s.state {
                "in-force" => s.key.as_str().to_string(),
                "shadowed" => format!("{} (shadowed, below)", s.key.as_str()),
                _ => format!("{} (not run, below)", s.key.as_str()),
            })
            .collect();
        let env: Vec<&str> = env_entries(settings)
            .filter(|e| e.ignored.is_none())
            .map(|e| e.name.as_str())
            .collect();
        if !env.is_empty() {
            parts.push(format!("env {}", env.join(", ")));
        }
        lines.push(if parts.is_empty() {
            format!("{shown}: read; nothing in it decides credentials")
        } else {
            format!("{shown}: read for {}", parts.join("; "))
        });
    } else if settings.found {
        lines.push(format!("{shown}: not used (see the warning)"));
    }
    for state in states.iter().filter(|s| s.state != "in-force") {
        let place = match &state.origin {
            Origin::Own => "in the config".to_string(),
            Origin::Settings(path) => format!("in {}", path.display()),
        };
        let reason = state.reason.as_deref().unwrap_or_default();
        lines.push(match state.state {
            "shadowed" => format!("{} {place} is shadowed: {reason}", state.key.as_str()),
            _ => format!("{} {place} is {reason}", state.key.as_str()),
        });
    }
    for entry in env_entries(settings) {
        match entry.ignored {
            Some(why) => lines.push(format!("env {} of {shown} is not applied: {why}", entry.name)),
            None if entry.replaced => lines.push(format!(
                "env {} of {shown} replaces the shell's value (Claude Code applies its settings over the shell's variables)",
                entry.name
            )),
            None => {}
        }
    }
    lines.extend(project_files(settings).iter().map(|p| p.sentence()));
    lines
}

/// `claudeCodeSettings` of the status document: `None` when there is no settings file, no
/// project file with credential settings, and no recursion guard.
pub fn status_json(ctx: &Context) -> Option<Value> {
    let settings = &ctx.claude_code;
    let projects = project_files(settings);
    if !settings.found && projects.is_empty() && !settings.guard {
        return None;
    }
    let helpers: Vec<Value> = helper_states(ctx)
        .into_iter()
        .map(|s| {
            let file = match &s.origin {
                Origin::Own => ctx.loaded.path.display().to_string(),
                Origin::Settings(path) => path.display().to_string(),
            };
            json!({
                "key": s.key.as_str(),
                "from": if s.origin == Origin::Own { "config" } else { "settings" },
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
