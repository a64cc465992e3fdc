//! Anthropic API keys: the offline format check and the `ApiKey` type.

use crate::error::AuthError;
use crate::secret::{Fingerprint, Secret};

/// What a key's `sk-ant-KIND-` prefix says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `sk-ant-api03-…`: an API key for the Messages API.
    Api,
    /// Another `sk-ant-KIND-` kind this version does not know; accepted.
    Other(String),
}

/// A key that passed the offline format check.
pub struct ApiKey {
    secret: Secret<String>,
    kind: KeyKind,
}

const CONSOLE_KEYS_URL: &str = "https://console.anthropic.com/settings/keys";
const MIN_BODY: usize = 16;
const MAX_LEN: usize = 256;

impl ApiKey {
    /// Checks the format of `raw` (surrounding whitespace removed): the `sk-ant-` prefix, a
    /// kind, the characters and the length. Nothing leaves the machine.
    ///
    /// # Errors
    /// `invalid_api_key` saying what is wrong, never echoing the value.
    pub fn parse(raw: Secret<String>) -> Result<ApiKey, AuthError> {
        let (secret, kind) = check_format(raw)?;
        let kind =
            match kind.as_str() {
                "api03" => KeyKind::Api,
                "oat01" => {
                    return Err(AuthError::invalid_api_key(
                        "this is an OAuth access token, not an API key",
                    )
                    .with_hint("run `claude --login` to use a Claude subscription"))
                }
                admin if admin.starts_with("admin") => return Err(AuthError::invalid_api_key(
                    "this is an Admin API key; it manages an organization and cannot call the API",
                )
                .with_hint(format!("create a regular API key at {CONSOLE_KEYS_URL}"))),
                _ => KeyKind::Other(kind),
            };
        Ok(ApiKey { secret, kind })
    }

    /// Checks `raw` as [`ApiKey::parse`] does, but wants an Admin key (`sk-ant-admin…`).
    ///
    /// # Errors
    /// `invalid_api_key` saying what is wrong, never echoing the value.
    pub fn parse_admin(raw: Secret<String>) -> Result<Secret<String>, AuthError> {
        let (secret, kind) = check_format(raw)?;
        if !kind.starts_with("admin") {
            return Err(AuthError::invalid_api_key(
                "this is not an Admin API key (`sk-ant-admin…`)",
            ));
        }
        Ok(secret)
    }

    /// `sk-ant-api03-…WXYZ`.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.secret.expose())
    }

    /// The kind named by the prefix.
    pub fn kind(&self) -> &KeyKind {
        &self.kind
    }

    /// The secret, for the header write or the store.
    pub fn secret(&self) -> &Secret<String> {
        &self.secret
    }
}

/// The checks every `sk-ant-KIND-…` key passes (surrounding whitespace removed): prefix,
/// kind, characters, length. Returns the trimmed key and its kind.
fn check_format(raw: Secret<String>) -> Result<(Secret<String>, String), AuthError> {
    let text = raw.expose().trim();
    let bad = |why: &str| {
        AuthError::invalid_api_key(format!("this is not a valid Anthropic API key: {why}"))
            .with_hint(format!(
                "copy the whole key from {CONSOLE_KEYS_URL}; keys look like `sk-ant-api03-…`"
            ))
    };
    if text.is_empty() {
        return Err(bad("it is empty"));
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad(
            "it contains a space, tab or line break (only one key per input)",
        ));
    }
    let Some(rest) = text.strip_prefix("sk-ant-") else {
        return Err(bad("it does not start with `sk-ant-`"));
    };
    let (kind, body) = rest
        .split_once('-')
        .ok_or_else(|| bad("it has no kind after `sk-ant-`"))?;
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad("its kind after `sk-ant-` is malformed"));
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(bad("it contains characters keys never have"));
    }
    if body.len() < MIN_BODY || text.len() > MAX_LEN {
        return Err(bad(
            "it is too short or too long (was it cut off when copied?)",
        ));
    }
    let kind = kind.to_string();
    let secret = if text.len() == raw.expose().len() {
        raw
    } else {
        Secret::new(text.to_string())
    };
    Ok((secret, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ApiKey, AuthError> {
        ApiKey::parse(Secret::new(text.to_string()))
    }

    #[test]
    fn accepts_api_keys_and_trims_newlines() {
        let key = parse("sk-ant-api03-abcdefghijklmnop_QRS-TUVWXYZ\n")
            .ok()
            .unwrap();
        assert_eq!(key.kind(), &KeyKind::Api);
        assert_eq!(key.fingerprint().as_str(), "sk-ant-api03-…WXYZ");
    }

    #[test]
    fn rejects_what_is_not_a_key_without_echoing_it() {
        for bad in [
            "",
            "hello",
            "sk-ant-api03-short",
            "sk-ant-api03-abc def ghi jkl mno pqr",
            "sk-ant-oat01-abcdefghijklmnopqrstu",
        ] {
            let err = parse(bad).err().unwrap();
            assert_eq!(err.code(), crate::error::ErrorCode::InvalidApiKey);
            assert!(
                bad.is_empty() || !err.message().contains(bad),
                "{}",
                err.message()
            );
        }
    }

    #[test]
    fn refuses_header_injection() {
        let err = parse("sk-ant-api03-abcdefghijklmnop\r\nX-Evil: 1")
            .err()
            .unwrap();
        assert!(err.message().contains("line break"));
    }
}
