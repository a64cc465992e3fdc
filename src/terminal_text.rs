//! Text from outside (servers, the environment, files) made inert for a terminal: every
//! character a terminal acts on instead of showing is replaced by a visible escape.

use std::borrow::Cow;

/// `text` with every control character except `\n` and `\t` (C0, DEL, C1) and every
/// invisible formatting character that can reorder or hide text (bidirectional controls,
/// zero-width characters, the byte order mark) replaced by its Rust escape, e.g. `\u{1b}`.
///
/// # Security
/// An ESC in a server's account name would otherwise write the clipboard (OSC 52), plant a
/// link (OSC 8) or clear the screen; a right-to-left override would make a URL read as
/// another. The escapes are printable ASCII, so applying this twice changes nothing.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_active) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_active(c) {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// True for characters a terminal acts on, or that change how the text around them reads.
pub fn is_active(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_invisible_format(c)
}

/// Bidirectional embeddings, overrides, isolates and marks, zero-width characters and the
/// byte order mark: invisible, and able to reorder or hide what is printed next to them.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(
            printable("a\u{1b}]52;c;SGk=\u{7}b\u{1b}[2J"),
            "a\\u{1b}]52;c;SGk=\\u{7}b\\u{1b}[2J"
        );
        assert_eq!(
            printable("\r\u{0}\u{7f}\u{9b}"),
            "\\u{d}\\u{0}\\u{7f}\\u{9b}"
        );
    }

    #[test]
    fn bidi_and_zero_width_characters_become_visible() {
        assert_eq!(printable("a\u{202E}b\u{2066}c"), "a\\u{202e}b\\u{2066}c");
        assert_eq!(printable("x\u{200B}y\u{FEFF}"), "x\\u{200b}y\\u{feff}");
    }

    #[test]
    fn ordinary_text_passes_unchanged_and_unallocated() {
        let text = "✓ Logged in as dév@example.com\n\tscopes: read write — 日本語";
        assert!(matches!(printable(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let once = printable("\u{1b}[31mred\u{202e}").into_owned();
        assert_eq!(printable(&once), once);
    }
}
