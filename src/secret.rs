//! `Secret<T>` (a value that cannot be printed and is wiped on drop) and key fingerprints.

use std::fmt;
use zeroize::Zeroize;

/// A secret value: `Debug` prints `[redacted]`, it has no `Display` (so `format!("Bearer {token}")`
/// does not compile, rather than sending `Bearer [redacted]`), zeroizes its memory on drop and has
/// no `PartialEq`.
///
/// # Security
/// The only way to the plaintext is [`Secret::expose`]; call it where the secret leaves the
/// process (an HTTP header, a keychain write, an AEAD seal), nowhere else.
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps `value`; from here on it is only reachable through [`Secret::expose`].
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The plaintext. Keep the borrow short and never format it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

/// clap's value parser for flags that take a key: the value is wrapped before clap stores it,
/// so neither `Cli` nor `Action` can print it.
pub fn from_arg(value: &str) -> Result<Secret<String>, std::convert::Infallible> {
    Ok(Secret::new(value.to_string()))
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Secret(self.0.clone())
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A printable stand-in for a secret: its kind prefix and last four characters,
/// e.g. `sk-ant-api03-…WXYZ`. Safe for output, logs and audit entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Fingerprint of an Anthropic-style key (`sk-ant-KIND-…` and its last four characters)
    /// or of any other token: its last four characters from 16 characters on, and its first
    /// four as well from 32 on, so that never more than a quarter of a value is shown.
    pub fn of(secret: &str) -> Fingerprint {
        let chars: Vec<char> = secret.chars().collect();
        let tail: String = if chars.len() >= 16 {
            chars[chars.len() - 4..].iter().collect()
        } else {
            String::new()
        };
        let prefix = match anthropic_prefix(secret) {
            Some(prefix) => prefix.to_string(),
            None if chars.len() >= 32 => chars[..4].iter().collect(),
            None => String::new(),
        };
        Fingerprint(format!("{prefix}…{tail}"))
    }

    /// Rebuilds a fingerprint read back from non-secret metadata.
    pub fn from_stored(text: String) -> Fingerprint {
        Fingerprint(text)
    }

    /// The fingerprint text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `sk-ant-api03-` for `sk-ant-api03-…`: the public part that names the key's kind.
fn anthropic_prefix(secret: &str) -> Option<&str> {
    let rest = secret.strip_prefix("sk-ant-")?;
    let kind_len = rest.find('-')?;
    let kind = &rest[..kind_len];
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(&secret[.."sk-ant-".len() + kind_len + 1])
}

/// Declares a kind of secret that must not be mistaken for another: each wraps a
/// [`Secret`], prints `[redacted]`, and converts to no other kind.
macro_rules! secret_kind {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(Secret<String>);

        impl $name {
            /// Wraps `value`, read from a server or a store.
            pub fn new(value: String) -> $name {
                $name(Secret::new(value))
            }

            /// The plaintext, where it leaves the process (a header, a store, a form).
            pub fn expose(&self) -> &String {
                self.0.expose()
            }

            /// The value as a plain [`Secret`], for code that handles every kind alike
            /// (a bearer header, `--print-token`).
            pub fn secret(&self) -> &Secret<String> {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}([redacted])", stringify!($name))
            }
        }
    };
}

secret_kind!(
    /// An OAuth access token: sent as a bearer token, never to a token endpoint.
    AccessToken
);
secret_kind!(
    /// An OAuth refresh token: sent only to its token or revocation endpoint, never as a
    /// bearer token.
    RefreshToken
);
secret_kind!(
    /// A device flow's device code (RFC 8628): sent only when polling its token endpoint.
    DeviceCode
);

/// `value` as JSON in a buffer sized exactly beforehand (by a first, counting pass), so that
/// no growing buffer leaves a freed copy of the secrets in the heap; the result is wiped on
/// drop like any `Secret`.
///
/// # Errors
/// What `serde_json` reports for `value`.
pub fn to_secret_json<T: serde::Serialize>(value: &T) -> Result<Secret<String>, serde_json::Error> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value)?;
    let mut buffer = Vec::with_capacity(count.0);
    serde_json::to_writer(&mut buffer, value)?;
    String::from_utf8(buffer)
        .map(Secret::new)
        .map_err(|e| serde_json::Error::io(std::io::Error::other(e.utf8_error())))
}

/// A JSON document that holds secrets (credentials from a server or a command, a cache
/// entry, a file about to be written): every string in it is wiped when it is dropped.
///
/// # Security
/// `serde_json::Value` frees its strings unwiped; documents with keys in them are kept in
/// this type from the moment they are parsed or built, so no early return can skip the wipe.
/// (What the parser's own scratch buffer held for strings with escapes is beyond reach.)
pub struct SecretJson(serde_json::Value);

impl SecretJson {
    /// Wraps a document built in place (`json!` with exposed secrets).
    pub fn new(value: serde_json::Value) -> SecretJson {
        SecretJson(value)
    }

    /// Parses `bytes`; the caller keeps (and wipes) the bytes.
    ///
    /// # Errors
    /// What `serde_json` reports; its message can quote the input, so show only its position.
    pub fn parse(bytes: &[u8]) -> Result<SecretJson, serde_json::Error> {
        serde_json::from_slice(bytes).map(SecretJson)
    }

    /// The document. Keep the borrow short and never format it.
    pub fn expose(&self) -> &serde_json::Value {
        &self.0
    }

    /// The document, to change in place.
    pub fn expose_mut(&mut self) -> &mut serde_json::Value {
        &mut self.0
    }

    /// The document as JSON text, itself wiped on drop ([`to_secret_json`]).
    ///
    /// # Errors
    /// What `serde_json` reports.
    pub fn to_text(&self) -> Result<Secret<String>, serde_json::Error> {
        to_secret_json(&self.0)
    }
}

impl Drop for SecretJson {
    fn drop(&mut self) {
        wipe_json(&mut self.0);
    }
}

impl fmt::Debug for SecretJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretJson([redacted])")
    }
}

/// Wipes every string of `value`, at any depth (object keys are names, not secrets).
fn wipe_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => text.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(wipe_json),
        serde_json::Value::Object(members) => members.values_mut().for_each(wipe_json),
        _ => {}
    }
}

/// `Authorization: Bearer TOKEN`, marked sensitive (never logged by the HTTP stack), built
/// in a buffer that is wiped afterwards. `None` when the token cannot be a header value.
pub fn bearer_header(token: &Secret<String>) -> Option<http::HeaderValue> {
    let mut line = zeroize::Zeroizing::new(String::with_capacity(token.expose().len() + 7));
    line.push_str("Bearer ");
    line.push_str(token.expose());
    let mut value = http::HeaderValue::from_str(&line).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_json_is_written_once_into_a_buffer_of_its_exact_size() {
        let value = serde_json::json!({"access_token": "at_0123456789", "scopes": ["a", "b"]});
        let json = to_secret_json(&value).unwrap();
        assert_eq!(json.expose(), &value.to_string());
        assert_eq!(json.expose().capacity(), json.expose().len());
    }

    #[test]
    fn secret_json_wipes_every_string_at_any_depth() {
        let mut doc = SecretJson::parse(
            br#"{"Credentials":{"SecretAccessKey":"s3cr3t","List":["t0k3n",1]},"n":2}"#,
        )
        .unwrap();
        wipe_json(doc.expose_mut());
        let wiped = doc.expose();
        assert_eq!(wiped["Credentials"]["SecretAccessKey"], "");
        assert_eq!(wiped["Credentials"]["List"][0], "");
        assert_eq!(wiped["Credentials"]["List"][1], 1);
        assert_eq!(wiped["n"], 2);
        assert_eq!(format!("{doc:?}"), "SecretJson([redacted])");
    }

    #[test]
    fn bearer_headers_are_sensitive() {
        let header = bearer_header(&Secret::new("tok".to_string())).unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().unwrap(), "Bearer tok");
        assert!(bearer_header(&Secret::new("a\nb".to_string())).is_none());
    }

    #[test]
    fn secret_never_prints_its_value() {
        let secret = Secret::from("sk-ant-api03-supersecretvalue".to_string());
        assert_eq!(format!("{secret:?}"), "[redacted]");
    }

    #[test]
    fn fingerprint_keeps_kind_and_last_four() {
        let fp = Fingerprint::of("sk-ant-api03-abcdefghijklmnopWXYZ");
        assert_eq!(fp.as_str(), "sk-ant-api03-…WXYZ");
    }

    #[test]
    fn fingerprint_of_short_value_reveals_nothing() {
        assert_eq!(Fingerprint::of("short").as_str(), "…");
    }
}
