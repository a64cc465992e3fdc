//! The `compliance` block made real: `encryptionAtRest` refuses a store that does not
//! encrypt, `dataResidency` refuses a Bedrock region or Vertex AI location outside the
//! required region or geography (before any credential is sent), and status says what the
//! client can and cannot check for the Anthropic API. (`encryptionInTransit` needs nothing
//! here: every endpoint goes through `http::require_secure`, always.)

use crate::config::managed::Managed;
use crate::config::schema::{Provider, StorageKind};
use crate::config::Config;
use crate::context::Context;
use crate::error::AuthError;
use std::path::Path;

/// How a store keeps secrets at rest; `None` for one that does not encrypt them. The match
/// is exhaustive on purpose: a new backend must say here whether it encrypts, and
/// `encryptionAtRest` refuses it if not.
pub fn at_rest(kind: StorageKind) -> Option<&'static str> {
    match kind {
        StorageKind::Keychain => Some("encrypted at rest by the OS keychain"),
        StorageKind::EncryptedFile => Some("encrypted at rest with XChaCha20-Poly1305"),
    }
}

/// Refuses, at load, a configured store that does not encrypt when policy requires it.
///
/// # Errors
/// `policy_violation` naming the store and where the requirement comes from.
pub fn check_storage(config: &Config, managed: &Managed, file: &Path) -> Result<(), AuthError> {
    if !config.compliance.encryption_at_rest {
        return Ok(());
    }
    let kind = config.authentication.storage.kind;
    if at_rest(kind).is_some() {
        return Ok(());
    }
    Err(AuthError::policy(format!(
        "`compliance.encryptionAtRest` ({}) forbids the `{}` store: it does not encrypt secrets at rest",
        origin(managed, "compliance.encryptionAtRest", file),
        kind.as_str()
    ))
    .with_hint(format!(
        "set `authentication.storage.type` to `keychain` or `encrypted-file` in {}",
        file.display()
    )))
}

/// Where a setting comes from, for messages: "managed by FILE" or "set in FILE".
pub fn origin(managed: &Managed, setting: &str, file: &Path) -> String {
    if managed.covers(setting) {
        let files: Vec<String> = managed
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        format!("managed by {}", files.join(", "))
    } else {
        format!("set in {}", file.display())
    }
}

/// A `compliance.dataResidency` value: one region, or a geography.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Residency {
    /// Exactly this region (`us-west-2`, `europe-west1`).
    Region(String),
    /// Any region of this geography.
    Geography(&'static Geography),
}

/// A geography and the region name prefixes that belong to it, as AWS and Google name
/// their regions. `exact` lists Vertex AI multi-region locations that are the geography
/// itself.
#[derive(Debug, PartialEq, Eq)]
pub struct Geography {
    pub name: &'static str,
    aws: &'static [&'static str],
    google: &'static [&'static str],
    exact: &'static [&'static str],
    /// Bedrock cross-region inference profile prefixes (`us.anthropic…`) that stay inside.
    profiles: &'static [&'static str],
}

/// The geographies `dataResidency` accepts. By the providers' own naming: `eu` is AWS's
/// `eu-*` and Google's `europe-*`, which include London and Zurich.
pub const GEOGRAPHIES: &[Geography] = &[
    Geography {
        name: "us",
        aws: &["us-"],
        google: &["us-"],
        exact: &["us"],
        profiles: &["us", "us-gov"],
    },
    Geography {
        name: "eu",
        aws: &["eu-"],
        google: &["europe-"],
        exact: &["eu"],
        profiles: &["eu"],
    },
    Geography {
        name: "apac",
        aws: &["ap-"],
        google: &["asia-", "australia-"],
        exact: &[],
        profiles: &["apac", "jp", "au"],
    },
    Geography {
        name: "ca",
        aws: &["ca-"],
        google: &["northamerica-northeast"],
        exact: &[],
        profiles: &["ca"],
    },
    Geography {
        name: "sa",
        aws: &["sa-"],
        google: &["southamerica-"],
        exact: &[],
        profiles: &[],
    },
    Geography {
        name: "me",
        aws: &["me-", "il-"],
        google: &["me-"],
        exact: &[],
        profiles: &[],
    },
    Geography {
        name: "af",
        aws: &["af-"],
        google: &["africa-"],
        exact: &[],
        profiles: &[],
    },
];

impl Residency {
    /// Parses `compliance.dataResidency`.
    ///
    /// # Errors
    /// `config_error` for a value that is neither a geography nor shaped like a region.
    pub fn parse(value: &str) -> Result<Residency, AuthError> {
        let value = value.trim().to_ascii_lowercase();
        if let Some(geo) = GEOGRAPHIES.iter().find(|g| g.name == value) {
            return Ok(Residency::Geography(geo));
        }
        let region_like = value.contains('-')
            && value.ends_with(|c: char| c.is_ascii_digit())
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if region_like {
            return Ok(Residency::Region(value));
        }
        let names: Vec<&str> = GEOGRAPHIES.iter().map(|g| g.name).collect();
        Err(AuthError::config(format!(
            "`compliance.dataResidency` is {value:?}: neither a region (like us-west-2 or europe-west1) nor a geography ({})",
            names.join(", ")
        ))
        .with_hint("write one region or one of those geographies"))
    }

    fn name(&self) -> &str {
        match self {
            Residency::Region(region) => region,
            Residency::Geography(geo) => geo.name,
        }
    }

    /// Whether a cloud region or location is inside.
    pub fn allows(&self, provider: Provider, region: &str) -> bool {
        match self {
            Residency::Region(wanted) => region == wanted,
            Residency::Geography(geo) => {
                let prefixes = match provider {
                    Provider::Vertex => geo.google,
                    _ => geo.aws,
                };
                geo.exact.contains(&region) || prefixes.iter().any(|p| region.starts_with(p))
            }
        }
    }

    /// Whether a Bedrock model ID keeps requests inside: a cross-region inference profile
    /// (`us.anthropic.…`, `global.anthropic.…`) routes them to other regions of its
    /// geography (or anywhere, for `global`). `None`: a plain model ID, which stays in the
    /// region.
    fn profile_allows(&self, model: &str) -> Option<bool> {
        let id = model.rsplit('/').next().unwrap_or(model);
        let (prefix, rest) = id.split_once('.')?;
        if !rest.starts_with("anthropic.") {
            return None;
        }
        Some(match self {
            Residency::Geography(geo) => geo.profiles.contains(&prefix),
            // A profile spans regions: never inside a single one.
            Residency::Region(_) => false,
        })
    }
}

/// The residency policy in force, if any.
///
/// # Errors
/// `config_error` for a malformed value.
pub fn residency(ctx: &Context) -> Result<Option<Residency>, AuthError> {
    ctx.loaded
        .config
        .compliance
        .data_residency
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .map(Residency::parse)
        .transpose()
}

/// Refuses the provider in force when its region lies outside `dataResidency`; `Ok(Some)`
/// says what was checked, `Ok(None)` that there was nothing to check. Offline: it reads the
/// settings, sends nothing.
///
/// # Errors
/// `policy_violation` naming the region and the policy; `config_error` for a malformed
/// policy or a cloud provider without a region.
pub fn check_residency(ctx: &Context, provider: Provider) -> Result<Option<String>, AuthError> {
    let Some(policy) = residency(ctx)? else {
        return Ok(None);
    };
    let (what, region, setting) = match provider {
        Provider::Anthropic => return Ok(None),
        Provider::Bedrock => (
            "Bedrock region",
            crate::providers::bedrock::region(ctx)?,
            "AWS_REGION or `region`",
        ),
        Provider::Vertex => match crate::providers::vertex::location(ctx) {
            Some(location) => (
                "Vertex AI location",
                location,
                "CLOUD_ML_REGION or `location`",
            ),
            None => return Ok(None),
        },
    };
    let source = origin(
        &ctx.loaded.managed,
        "compliance.dataResidency",
        &ctx.loaded.path,
    );
    let refuse = |detail: String| {
        AuthError::policy(format!(
            "{detail} is outside `compliance.dataResidency` \"{}\" ({source})",
            policy.name()
        ))
    };
    if !policy.allows(provider, &region) {
        return Err(refuse(format!("the {what} {region}")).with_hint(format!(
            "choose a {} inside \"{}\" ({setting}); the policy decides where requests may be processed",
            if provider == Provider::Vertex { "location" } else { "region" },
            policy.name()
        )));
    }
    if provider == Provider::Bedrock {
        if let Some(model) = ctx.loaded.config.model.as_deref() {
            if policy.profile_allows(model) == Some(false) {
                return Err(AuthError::policy(format!(
                    "the Bedrock model {model} is a cross-region inference profile that may serve requests outside `compliance.dataResidency` \"{}\" ({source})",
                    policy.name()
                ))
                .with_hint("use the model's in-region ID (without the `us.`/`eu.`/`global.` prefix), or a profile of the required geography"));
            }
        }
    }
    Ok(Some(format!(
        "the {what} {region} is inside \"{}\"",
        policy.name()
    )))
}

/// [`check_residency`] for the provider in force, before a command sends a credential.
///
/// # Errors
/// As [`check_residency`].
pub fn enforce(ctx: &Context) -> Result<(), AuthError> {
    check_residency(ctx, crate::providers::active(ctx)).map(drop)
}

/// What the client can say about the Anthropic API and `dataResidency`.
pub const ANTHROPIC_RESIDENCY: &str = "not checkable from here: the Anthropic API has one address for every region; where inference runs is chosen per request (`inference_geo`) or by the workspace's default, and where data is stored by the workspace's geography in the Console, neither of which a key can read";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residency_table() {
        let cases: &[(&str, Provider, &str, bool)] = &[
            ("us", Provider::Bedrock, "us-east-1", true),
            ("us", Provider::Bedrock, "us-gov-west-1", true),
            ("us", Provider::Bedrock, "eu-west-1", false),
            ("eu", Provider::Bedrock, "eu-central-1", true),
            ("eu", Provider::Vertex, "europe-west1", true),
            ("eu", Provider::Vertex, "eu", true),
            ("eu", Provider::Vertex, "us-east5", false),
            ("eu", Provider::Vertex, "global", false),
            ("us", Provider::Vertex, "global", false),
            ("apac", Provider::Vertex, "asia-southeast1", true),
            ("apac", Provider::Bedrock, "ap-northeast-1", true),
            ("us-west-2", Provider::Bedrock, "us-west-2", true),
            ("us-west-2", Provider::Bedrock, "us-east-1", false),
            ("US-West-2", Provider::Bedrock, "us-west-2", true),
            ("europe-west1", Provider::Vertex, "europe-west4", false),
        ];
        for (policy, provider, region, inside) in cases {
            let parsed = Residency::parse(policy).unwrap();
            assert_eq!(
                parsed.allows(*provider, region),
                *inside,
                "{policy} / {provider:?} / {region}"
            );
        }
    }

    #[test]
    fn unknown_residency_is_a_config_error() {
        for bad in ["mars", "us west", "europe"] {
            let err = Residency::parse(bad).unwrap_err();
            assert_eq!(err.code(), crate::error::ErrorCode::ConfigError, "{bad}");
        }
    }

    #[test]
    fn inference_profiles_route_across_regions() {
        let us = Residency::parse("us").unwrap();
        let region = Residency::parse("us-east-1").unwrap();
        let profile = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        assert_eq!(us.profile_allows(profile), Some(true));
        assert_eq!(us.profile_allows("global.anthropic.claude-x"), Some(false));
        assert_eq!(us.profile_allows("eu.anthropic.claude-x"), Some(false));
        assert_eq!(region.profile_allows(profile), Some(false));
        assert_eq!(us.profile_allows("anthropic.claude-3-haiku"), None);
        let arn = "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-x";
        assert_eq!(us.profile_allows(arn), Some(true));
    }

    #[test]
    fn every_store_of_today_encrypts_at_rest() {
        for kind in [StorageKind::Keychain, StorageKind::EncryptedFile] {
            assert!(at_rest(kind).is_some(), "{kind:?}");
        }
    }
}
