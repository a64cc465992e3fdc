//! Required (`github.permissions`, `github.repositories`) against granted (the App
//! installation, asked afresh): `write` satisfies `read`, `admin` satisfies both.

use super::api::{self, Installation};
use super::{settings, stored_token};
use crate::context::Context;
use crate::error::AuthError;
use serde::Serialize;
use std::collections::BTreeMap;

/// Required (config) against granted (the installation) GitHub App access.
#[derive(Clone, Debug, Serialize)]
pub struct PermissionReport {
    /// `github.permissions`, e.g. `("pull_requests", "write")`.
    pub required: Vec<(String, String)>,
    /// The installation's permissions.
    pub granted: Vec<(String, String)>,
    /// One line per gap: `pull_requests: write (granted: read)`,
    /// `repository owner/repo is not in the installation`.
    pub missing: Vec<String>,
}

/// Compares `github.permissions` and `github.repositories` with what the App installation
/// of the GitHub session's account actually grants, asking the API afresh.
///
/// # Errors
/// `not_authenticated` without a GitHub session, `expired_token` (the token is not
/// refreshed here), `config_error`, and the API's errors (`api::get_json`).
pub async fn check_permissions(
    ctx: &Context,
    http: &reqwest::Client,
) -> Result<PermissionReport, AuthError> {
    let settings = settings(ctx)?;
    let token = stored_token(ctx)?;
    let budget = ctx.budget();
    let found = api::find_installation(http, &settings, &token, budget).await?;
    let repositories = match &found {
        Some(installation) => {
            api::repositories(http, &settings, &token, installation.id, budget).await?
        }
        None => Vec::new(),
    };
    let github = &ctx.loaded.config.github;
    let mut report = compare(
        &github.permissions,
        &github.repositories,
        found.as_ref(),
        &repositories,
    );
    if found.is_none() {
        report.missing.insert(
            0,
            format!(
                "the GitHub App `{}` is not installed for this account (run `claude /install-github-app`)",
                settings.app
            ),
        );
    }
    Ok(report)
}

/// `read` < `write` < `admin`; `None` for a level GitHub does not define.
fn rank(level: &str) -> Option<u8> {
    match level.to_ascii_lowercase().as_str() {
        "read" => Some(1),
        "write" => Some(2),
        "admin" => Some(3),
        _ => None,
    }
}

/// `pull-requests` and `Pull_Requests` name GitHub's `pull_requests`.
fn normalize(key: &str) -> String {
    key.trim().to_ascii_lowercase().replace('-', "_")
}

/// Whether `granted` satisfies `required` (`write` satisfies `read`, `admin` both).
pub fn satisfies(granted: &str, required: &str) -> bool {
    match (rank(granted), rank(required)) {
        (Some(g), Some(r)) => g >= r,
        _ => granted.eq_ignore_ascii_case(required),
    }
}

/// The permission and repository gaps between the config and an installation.
pub fn compare(
    required: &BTreeMap<String, String>,
    required_repositories: &[String],
    installation: Option<&Installation>,
    repositories: &[String],
) -> PermissionReport {
    let granted: BTreeMap<String, String> = installation
        .map(|i| {
            i.permissions
                .iter()
                .map(|(k, v)| (normalize(k), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut missing = Vec::new();
    for (key, level) in required {
        match granted.get(&normalize(key)) {
            Some(have) if satisfies(have, level) => {}
            Some(have) => missing.push(format!("{key}: {level} (granted: {have})")),
            None => missing.push(format!("{key}: {level} (not granted)")),
        }
    }
    for repository in uncovered(required_repositories, installation, repositories) {
        missing.push(format!(
            "repository {repository} is not in the installation"
        ));
    }
    PermissionReport {
        required: required
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        granted: granted.into_iter().collect(),
        missing,
    }
}

/// The configured repositories the installation does not reach. An installation on
/// `all` repositories reaches every repository of its account.
pub fn uncovered(
    wanted: &[String],
    installation: Option<&Installation>,
    repositories: &[String],
) -> Vec<String> {
    wanted
        .iter()
        .filter(|repo| {
            let listed = repositories.iter().any(|r| r.eq_ignore_ascii_case(repo));
            let by_account = installation.is_some_and(|i| {
                i.repository_selection == "all"
                    && repo
                        .split_once('/')
                        .is_some_and(|(owner, _)| owner.eq_ignore_ascii_case(&i.account))
            });
            !listed && !by_account
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installation(selection: &str, permissions: &[(&str, &str)]) -> Installation {
        Installation {
            id: 1,
            app_slug: "claude".into(),
            account: "octo".into(),
            permissions: permissions
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            repository_selection: selection.into(),
        }
    }

    #[test]
    fn write_satisfies_read_and_admin_satisfies_both() {
        assert!(satisfies("write", "read"));
        assert!(satisfies("admin", "write"));
        assert!(!satisfies("read", "write"));
    }

    #[test]
    fn compare_names_each_gap() {
        let required = BTreeMap::from([
            ("contents".to_string(), "read".to_string()),
            ("pull_requests".to_string(), "write".to_string()),
            ("issues".to_string(), "write".to_string()),
        ]);
        let granted = installation(
            "selected",
            &[("contents", "write"), ("pull_requests", "read")],
        );
        let wanted = vec!["octo/a".to_string(), "octo/b".to_string()];
        let report = compare(&required, &wanted, Some(&granted), &["octo/a".to_string()]);
        assert_eq!(
            report.missing,
            vec![
                "issues: write (not granted)",
                "pull_requests: write (granted: read)",
                "repository octo/b is not in the installation",
            ]
        );
    }

    #[test]
    fn all_repositories_cover_the_account_only() {
        let granted = installation("all", &[]);
        let wanted = vec!["OCTO/x".to_string(), "other/y".to_string()];
        assert_eq!(uncovered(&wanted, Some(&granted), &[]), vec!["other/y"]);
    }
}
