//! RFC 3986 percent-encoding of everything but the unreserved characters, for text put
//! into a URI or a form value by hand: the `otpauth://` URI of MFA enrolment and the
//! AWS-sourced subject token of Google's external accounts.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Every byte but `A-Z a-z 0-9 - . _ ~`.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` with every byte but RFC 3986's unreserved characters as `%XX` (UTF-8).
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn only_unreserved_characters_stay() {
        assert_eq!(percent_encode("a b:c/é"), "a%20b%3Ac%2F%C3%A9");
        assert_eq!(percent_encode("Az09-._~"), "Az09-._~");
        assert_eq!(
            percent_encode(r#"{"a": "b/c~"}"#),
            "%7B%22a%22%3A%20%22b%2Fc~%22%7D"
        );
    }
}
