//! What managed settings still decide after the user's environment is selected:
//!
//! - a managed `authentication.method` (and its `fallback`) wins over the selected
//!   environment, and an environment's `authentication` or `provider`, the top-level
//!   `provider`, or `CLAUDE_CODE_USE_BEDROCK` / `CLAUDE_CODE_USE_VERTEX` that would use
//!   another method is refused (`policy_violation`, naming the managed file and the
//!   setting): silently using another provider than the one Claude Code will use is worse
//!   than stopping. When the variable comes from the managed files' own `env` block, the
//!   policy contradicts itself: that is refused as the administrator's `config_error`,
//!   naming both files, never with a hint to unset what the user cannot unset (a managed
//!   `CLAUDE_CODE_USE_*` that agrees with the method is simply the policy's choice);
//! - when managed settings require MFA, who receives SMS codes and which factors count are
//!   policy too: `security.mfa.methods`, `sms.command` and `sms.phone` count only from
//!   managed files (the user's values are ignored with a warning).

use super::Managed;
use crate::config::schema::{Config, Method, Provider};
use crate::envvars::Env;
use crate::error::AuthError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The provider a method is used with.
fn provider_of(method: Method) -> Provider {
    match method {
        Method::Bedrock => Provider::Bedrock,
        Method::Vertex => Provider::Vertex,
        Method::ApiKey | Method::Oauth => Provider::Anthropic,
    }
}

/// The managed method and fallback, when the managed files set a method.
fn pinned(value: &Value) -> Option<(Method, Option<Method>)> {
    let method = value
        .pointer("/authentication/method")
        .filter(|m| !m.is_null())
        .and_then(|m| serde_json::from_value(m.clone()).ok())?;
    let fallback = value
        .pointer("/authentication/fallback")
        .filter(|f| !f.is_null())
        .and_then(|f| serde_json::from_value(f.clone()).ok());
    Some((method, fallback))
}

/// Refuses what would override a managed `authentication.method`; run before the
/// environment is selected (it reads `environments.WANTED` as configured). Returns the
/// method and fallback to pin again once it is.
///
/// # Errors
/// `policy_violation` naming the managed file and the conflicting setting.
pub fn check_method(
    config: &Config,
    wanted: Option<&str>,
    value: &Value,
    managed: &Managed,
    env_origins: &BTreeMap<String, PathBuf>,
    env: &Env,
    user_file: &Path,
) -> Result<Option<(Method, Option<Method>)>, AuthError> {
    let Some((method, fallback)) = pinned(value) else {
        return Ok(None);
    };
    let file = managed.origin("authentication.method").map_or_else(
        || "managed settings".to_string(),
        |f| f.display().to_string(),
    );
    let expected = provider_of(method);
    let refuse = |setting: &str, asks: &str, fix: String| {
        AuthError::policy(format!(
            "{file} sets `authentication.method` to \"{}\", but {setting} asks for {asks}; the managed method cannot be overridden",
            method.as_str()
        ))
        .with_hint(fix)
    };
    let user = user_file.display();
    if let Some(name) = wanted {
        if let Some(environment) = config.environments.get(name) {
            if let Some(other) = environment.authentication.filter(|m| *m != method) {
                return Err(refuse(
                    &format!("`environments.{name}.authentication`"),
                    &format!("\"{}\"", other.as_str()),
                    format!("remove `environments.{name}.authentication` from {user} (or set it to \"{}\"), or select another environment", method.as_str()),
                ));
            }
            if let Some(other) = environment.provider.filter(|p| *p != expected) {
                return Err(refuse(
                    &format!("`environments.{name}.provider`"),
                    &format!("provider \"{}\"", other.as_str()),
                    format!("remove `environments.{name}.provider` from {user}, or select another environment"),
                ));
            }
        }
    }
    if let Some((other, variable)) = crate::providers::forced_by_env(env) {
        if let Some(env_file) = env_origins.get(variable).filter(|_| other != expected) {
            return Err(AuthError::config(format!(
                "managed settings contradict themselves: {file} sets `authentication.method` to \"{}\", but the `env` block of {} sets {variable}=1, which asks for provider \"{}\"",
                method.as_str(),
                env_file.display(),
                other.as_str()
            ))
            .with_hint(format!(
                "ask your administrator to make them agree: remove {variable} from `env` in {}, or change `authentication.method` in {file}",
                env_file.display()
            )));
        }
        if other != expected {
            return Err(refuse(
                &format!("{variable}=1"),
                &format!("provider \"{}\"", other.as_str()),
                format!("unset {variable}"),
            ));
        }
    }
    if let Some(other) = config.provider.filter(|p| *p != expected) {
        return Err(refuse(
            "the config's `provider`",
            &format!("provider \"{}\"", other.as_str()),
            format!(
                "remove `provider` from {user} (or set it to \"{}\")",
                expected.as_str()
            ),
        ));
    }
    Ok(Some((method, fallback)))
}

/// Lays the managed method and fallback over the configuration again, after the selected
/// environment's overlay.
pub fn pin_method(config: &mut Config, pinned: Option<(Method, Option<Method>)>) {
    if let Some((method, fallback)) = pinned {
        config.authentication.method = Some(method);
        config.authentication.fallback = fallback;
    }
}

/// Whether managed settings require MFA: `security.mfa.enabled`, or the selected
/// environment's `requireMFA` set in a managed file.
pub fn mfa_required(managed: &Managed, environment: Option<&str>) -> bool {
    managed.covers("security.mfa.enabled")
        || environment
            .is_some_and(|name| managed.covers(&format!("environments.{name}.requireMFA")))
}

/// When managed settings require MFA, drops the user's `security.mfa.methods`,
/// `sms.command` and `sms.phone` (the managed ones, already laid over, stay), with a
/// warning for each.
pub fn mfa_sources(
    config: &mut Config,
    managed: &Managed,
    environment: Option<&str>,
    user_file: &Path,
    warnings: &mut Vec<String>,
) {
    if !mfa_required(managed, environment) {
        return;
    }
    let user = user_file.display();
    let mut ignored = |path: &str| {
        warnings.push(format!(
            "{user}: `{path}` is ignored: managed settings require MFA, so only they decide it"
        ));
    };
    let mfa = &mut config.security.mfa;
    if !managed.covers("security.mfa.methods") && !mfa.methods.is_empty() {
        ignored("security.mfa.methods");
        mfa.methods.clear();
    }
    if !managed.covers("security.mfa.sms.command") && mfa.sms.command.take().is_some() {
        ignored("security.mfa.sms.command");
    }
    if !managed.covers("security.mfa.sms.phone") && mfa.sms.phone.take().is_some() {
        ignored("security.mfa.sms.phone");
    }
}
