//! Field names of the schema's structs, read from serde itself, for "did you mean" hints.

use super::schema::*;
use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The JSON keys `T` accepts, as serde sees them (after `rename_all`).
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut caught = None;
    let _ = T::deserialize(FieldCatcher(&mut caught));
    caught.unwrap_or(&[])
}

/// The keys accepted by the object at `parent` (a dotted JSON path, `""` for the root).
pub fn known_keys(parent: &[String]) -> &'static [&'static str] {
    let parts: Vec<&str> = parent.iter().map(String::as_str).collect();
    match parts.as_slice() {
        [] => fields_of::<Config>(),
        ["oauth"] => fields_of::<OAuthConfig>(),
        ["oauth", "providers", _] => fields_of::<OAuthProviderConfig>(),
        ["github"] => fields_of::<GithubConfig>(),
        ["authentication"] => fields_of::<AuthenticationConfig>(),
        ["authentication", "storage"] => fields_of::<StorageConfig>(),
        ["session"] => fields_of::<SessionConfig>(),
        ["security"] => fields_of::<SecurityConfig>(),
        ["security", "mfa"] => fields_of::<MfaConfig>(),
        ["security", "mfa", "sms"] => fields_of::<SmsConfig>(),
        ["security", "keyRotation"] => fields_of::<KeyRotationConfig>(),
        ["environments", _] => fields_of::<EnvironmentConfig>(),
        ["compliance"] => fields_of::<ComplianceConfig>(),
        ["compliance", "ssoIntegration"] => fields_of::<SsoConfig>(),
        ["subscription"] => fields_of::<SubscriptionConfig>(),
        ["subscription", "usage"] => fields_of::<UsageSnapshot>(),
        ["subscription", "plans", _] => fields_of::<PlanConfig>(),
        _ => &[],
    }
}

/// The known key closest to `unknown`, when one is close enough to be a typo.
pub fn suggest(unknown: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .map(|candidate| (strsim::jaro_winkler(unknown, candidate), *candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// A deserializer that records the field list serde hands to `deserialize_struct`.
struct FieldCatcher<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for FieldCatcher<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("field catcher"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("field catcher"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_keys_come_from_the_schema() {
        let keys = known_keys(&[]);
        assert!(keys.contains(&"apiKey") && keys.contains(&"environments"));
    }

    /// The `oauth` block and each `oauth.providers.NAME` share their server settings
    /// (`schema::oauth_server!`); unknown keys in either still warn, with suggestions.
    #[test]
    fn unknown_keys_in_both_oauth_blocks_warn_with_suggestions() {
        let text = r#"{"oauth": {"clientID": "a", "providers": {"corp": {"tokenEndpiont": "b", "loginTimeout": 5}}}}"#;
        let parsed =
            super::super::load::parse(std::path::Path::new("c.json"), text, &|_| None, None, None)
                .ok()
                .unwrap();
        let warnings = parsed.warnings;
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].contains("`oauth.clientID`")
                && warnings[0].contains("did you mean `clientId`")
        );
        // `loginTimeout` belongs to the `oauth` block only, not to each server.
        assert!(warnings[1].contains("`oauth.providers.corp.loginTimeout`"));
        assert!(warnings[2].contains("did you mean `tokenEndpoint`"));
    }

    #[test]
    fn typo_gets_a_suggestion() {
        let parent = vec!["authentication".to_string()];
        assert_eq!(
            suggest("retryAttempt", known_keys(&parent)),
            Some("retryAttempts")
        );
        assert_eq!(suggest("zzz", known_keys(&parent)), None);
    }
}
