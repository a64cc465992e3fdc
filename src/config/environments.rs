//! `environments.NAME`: selecting one (`--env`, `CLAUDE_ENV`) and laying it over the top level.

use super::schema::{Config, EnvironmentConfig, Method, Provider};
use crate::error::AuthError;
use crate::secret::Secret;
use std::path::Path;

/// The selected environment: its name and what it pins.
#[derive(Debug)]
pub struct ActiveEnvironment {
    pub name: String,
    /// The only method the environment allows, when it names one.
    pub method: Option<Method>,
    pub api_key: Option<Secret<String>>,
    pub require_mfa: bool,
}

/// Removes `environments.NAME` from `config`, lays its fields over the top level and returns it.
///
/// # Errors
/// `config_error` listing the known environments when `wanted` is not one of them.
pub fn select(
    config: &mut Config,
    wanted: Option<&str>,
    file: &Path,
) -> Result<Option<ActiveEnvironment>, AuthError> {
    let Some(name) = wanted else { return Ok(None) };
    let Some(env) = config.environments.remove(name) else {
        let known: Vec<&str> = config.environments.keys().map(String::as_str).collect();
        let listing = if known.is_empty() {
            "none are defined".to_string()
        } else {
            format!("known: {}", known.join(", "))
        };
        return Err(
            AuthError::config(format!("unknown environment `{name}` ({listing})")).with_hint(
                format!(
                    "add `environments.{name}` to {} or choose another with `--env` / CLAUDE_ENV",
                    file.display()
                ),
            ),
        );
    };
    Ok(Some(overlay(config, name, env)))
}

fn overlay(config: &mut Config, name: &str, env: EnvironmentConfig) -> ActiveEnvironment {
    let EnvironmentConfig {
        authentication,
        api_key,
        require_mfa,
        provider,
        model,
        region,
        project,
        location,
    } = env;
    let implied_provider = match authentication {
        Some(Method::Bedrock) => Some(Provider::Bedrock),
        Some(Method::Vertex) => Some(Provider::Vertex),
        _ => None,
    };
    if let Some(provider) = provider.or(implied_provider) {
        config.provider = Some(provider);
    }
    config.model = model.or(config.model.take());
    config.region = region.or(config.region.take());
    config.project = project.or(config.project.take());
    config.location = location.or(config.location.take());
    if let Some(method) = authentication {
        config.authentication.method = Some(method);
        // The environment pins the method: no fallback to another kind of credential.
        config.authentication.fallback = None;
    }
    ActiveEnvironment {
        name: name.to_string(),
        method: authentication,
        api_key,
        require_mfa,
    }
}
