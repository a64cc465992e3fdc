//! The tamper-evident chain: how a line is signed and how a stored line is checked.
//!
//! A stored line is `BODY,"mac":MAC}` where BODY is a JSON object left open (`{"time":…,
//! "prev":PREV`) and MAC is `"hex"` or `null`. `mac` = HMAC-SHA256(key, PREV ‖ BODY) in
//! lowercase hex, PREV being the previous signed line's MAC (`""` for the first line). The
//! bytes signed are the bytes stored, so checking never re-serialises anything: a changed
//! byte, a removed line or two swapped lines all break a MAC or a `prev` link.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The store item that holds the key: 32 random bytes, hex.
pub const KEY_ITEM: &str = "audit-hmac-key";
/// Bytes of key.
pub const KEY_LEN: usize = 32;
/// What ends every body: the MAC field follows.
pub const MAC_FIELD: &str = ",\"mac\":";

type HmacSha256 = Hmac<Sha256>;

/// A keyed MAC, ready to sign or check many lines (the keyed state is cloned per line).
#[derive(Clone)]
pub struct ChainKey {
    mac: HmacSha256,
}

impl ChainKey {
    /// The key from its stored form (64 hex digits); `None` when it is not that.
    pub fn from_hex(hex: &str) -> Option<ChainKey> {
        let bytes = Zeroizing::new(decode_hex(hex.trim())?);
        if bytes.len() != KEY_LEN {
            return None;
        }
        Some(ChainKey::from_bytes(&bytes))
    }

    /// The key from raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> ChainKey {
        ChainKey {
            // HMAC takes keys of any length: this cannot fail.
            mac: <HmacSha256 as KeyInit>::new_from_slice(bytes).expect("HMAC accepts any key"),
        }
    }

    /// A new random key, as stored (hex).
    ///
    /// # Errors
    /// When the OS has no randomness to give.
    pub fn generate_hex() -> Result<Zeroizing<String>, getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(bytes.as_mut())?;
        Ok(Zeroizing::new(encode_hex(bytes.as_ref())))
    }

    /// The MAC of `body` chained to `prev`, in hex.
    pub fn sign(&self, prev: &str, body: &str) -> String {
        encode_hex(&self.raw(prev, body))
    }

    /// Whether `mac_hex` is the MAC of `body` chained to `prev` (constant time).
    pub fn check(&self, prev: &str, body: &str, mac_hex: &str) -> bool {
        let Some(expected) = decode_hex(mac_hex) else {
            return false;
        };
        let mut mac = self.mac.clone();
        mac.update(prev.as_bytes());
        mac.update(body.as_bytes());
        mac.verify_slice(&expected).is_ok()
    }

    fn raw(&self, prev: &str, body: &str) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(prev.as_bytes());
        mac.update(body.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// A stored line cut at its MAC: the body that was signed and the MAC text (`"hex"` or
/// `null`, as stored). `None` when the line does not end in a MAC field.
pub fn split(line: &str) -> Option<(&str, &str)> {
    let inner = line.strip_suffix('}')?;
    // Inside JSON strings every `"` is escaped, so the last raw `,"mac":` is the field.
    let at = inner.rfind(MAC_FIELD)?;
    Some((&inner[..at], &inner[at + MAC_FIELD.len()..]))
}

/// The line to store: `body` closed with its MAC (or `null` without a key), no newline.
pub fn close(body: &str, mac: Option<&str>) -> String {
    match mac {
        Some(mac) => format!("{body}{MAC_FIELD}\"{mac}\"}}"),
        None => format!("{body}{MAC_FIELD}null}}"),
    }
}

/// Lowercase hex.
pub fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_line_checks_and_any_change_breaks_it() {
        let key = ChainKey::from_bytes(&[7; 32]);
        let body = r#"{"time":"2026-11-29T10:00:00Z","event":"key_stored","prev":null"#;
        let mac = key.sign("", body);
        let line = close(body, Some(&mac));
        let (cut, stored) = split(&line).unwrap();
        assert_eq!((cut, stored), (body, format!("\"{mac}\"").as_str()));
        assert!(key.check("", body, &mac));
        assert!(!key.check("00", body, &mac), "another prev");
        assert!(!key.check("", &body.replace("10:00", "10:01"), &mac));
        assert!(!ChainKey::from_bytes(&[8; 32]).check("", body, &mac));
    }

    #[test]
    fn keys_round_trip_through_hex() {
        let hex = ChainKey::generate_hex().unwrap();
        assert_eq!(hex.len(), 64);
        let a = ChainKey::from_hex(&hex).unwrap();
        let b = ChainKey::from_hex(&hex.to_uppercase()).unwrap();
        assert_eq!(a.sign("p", "b"), b.sign("p", "b"));
        assert!(ChainKey::from_hex("abc").is_none());
        assert!(ChainKey::from_hex(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn the_mac_field_is_found_past_look_alikes_in_strings() {
        let line = r#"{"note":"a,\"mac\":\"x\"}","prev":null,"mac":null}"#;
        let (body, mac) = split(line).unwrap();
        assert_eq!(mac, "null");
        assert!(body.ends_with(r#""prev":null"#));
    }
}
