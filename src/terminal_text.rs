//! Text from outside (servers, the environment, files) made inert for a terminal: every
//! character a terminal acts on instead of showing is replaced by a visible escape.

use std::borrow::Cow;

/// `text` with every control character except `\n` and `\t` (C0, DEL, C1) and every
/// character that is invisible yet changes how the text around it reads (see
/// [`INVISIBLE`]) replaced by its Rust escape, e.g. `\u{1b}`.
///
/// # Security
/// An ESC in a server's account name would otherwise write the clipboard (OSC 52), plant a
/// link (OSC 8) or clear the screen; a right-to-left override would make a URL read as
/// another, a line separator would start a line some terminals draw as new, and a filler or
/// tag character would hide text inside a name that looks short. The escapes are printable
/// ASCII, so applying this twice changes nothing.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape_where(text, is_active)
}

/// `text` as one line: what [`printable`] escapes, and `\n`, `\r` and `\t` as well.
///
/// # Security
/// For single values from outside that the product shows inside its own lines (an account
/// name, an issuer): [`printable`] keeps `\n` for the product's own multi-line output, so a
/// newline in such a value would print a line the product never wrote (`✓ Verified …`).
pub fn single_line(text: &str) -> String {
    escape_where(text, |c| is_active(c) || c == '\n' || c == '\t').into_owned()
}

fn escape_where(text: &str, active: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&active) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if active(c) {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// True for characters a terminal acts on, or that change how the text around them reads.
pub fn is_active(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_invisible(c)
}

/// Characters drawn as nothing (or as a line break) that reorder, hide or split what is
/// printed next to them, as inclusive ranges in ascending order: every format character of
/// Unicode 16 (general category Cf: bidirectional controls, zero-width characters, the byte
/// order mark, prepended concatenation marks, interlinear annotation, tags, and the
/// shorthand, musical and hieroglyph format controls), the line and paragraph separators,
/// and the Hangul fillers, which are letters but show as blank space.
///
/// Variation selectors are left out on purpose: emoji need them to be drawn as emoji.
const INVISIBLE: [(char, char); 24] = [
    ('\u{00AD}', '\u{00AD}'),   // soft hyphen
    ('\u{0600}', '\u{0605}'),   // Arabic number signs (prepended marks)
    ('\u{061C}', '\u{061C}'),   // Arabic letter mark
    ('\u{06DD}', '\u{06DD}'),   // Arabic end of ayah
    ('\u{070F}', '\u{070F}'),   // Syriac abbreviation mark
    ('\u{0890}', '\u{0891}'),   // Arabic pound and piastre marks above
    ('\u{08E2}', '\u{08E2}'),   // Arabic disputed end of ayah
    ('\u{115F}', '\u{1160}'),   // Hangul choseong and jungseong fillers
    ('\u{180E}', '\u{180E}'),   // Mongolian vowel separator
    ('\u{200B}', '\u{200F}'),   // zero-width space, (non-)joiners, LRM, RLM
    ('\u{2028}', '\u{2029}'),   // line and paragraph separators
    ('\u{202A}', '\u{202E}'),   // bidirectional embeddings and overrides
    ('\u{2060}', '\u{2064}'),   // word joiner, invisible operators
    ('\u{2066}', '\u{206F}'),   // bidirectional isolates, deprecated format controls
    ('\u{3164}', '\u{3164}'),   // Hangul filler
    ('\u{FEFF}', '\u{FEFF}'),   // byte order mark, zero-width no-break space
    ('\u{FFA0}', '\u{FFA0}'),   // halfwidth Hangul filler
    ('\u{FFF9}', '\u{FFFB}'),   // interlinear annotation
    ('\u{110BD}', '\u{110BD}'), // Kaithi number sign
    ('\u{110CD}', '\u{110CD}'), // Kaithi number sign above
    ('\u{13430}', '\u{1343F}'), // Egyptian hieroglyph format controls
    ('\u{1BCA0}', '\u{1BCA3}'), // shorthand format controls
    ('\u{1D173}', '\u{1D17A}'), // musical symbol format controls
    ('\u{E0000}', '\u{E007F}'), // tag characters (the whole block)
];

fn is_invisible(c: char) -> bool {
    // Most text is below the first entry: answer it without a search.
    if c < INVISIBLE[0].0 {
        return false;
    }
    INVISIBLE
        .binary_search_by(|&(low, high)| {
            if high < c {
                std::cmp::Ordering::Less
            } else if low > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
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
    fn line_separators_soft_hyphens_and_fillers_become_visible() {
        assert_eq!(
            printable("a\u{2028}b\u{2029}c\u{ad}d"),
            "a\\u{2028}b\\u{2029}c\\u{ad}d"
        );
        for filler in ['\u{115F}', '\u{1160}', '\u{3164}', '\u{FFA0}'] {
            assert_eq!(
                printable(&format!("x{filler}y")),
                format!("x\\u{{{:x}}}y", u32::from(filler))
            );
        }
    }

    #[test]
    fn every_format_character_becomes_visible() {
        let samples = [
            0x600, 0x605, 0x61C, 0x6DD, 0x70F, 0x890, 0x8E2, 0x180E, 0x200B, 0x200F, 0x202A,
            0x202E, 0x2060, 0x2064, 0x2066, 0x206F, 0xFEFF, 0xFFF9, 0xFFFB, 0x110BD, 0x110CD,
            0x13430, 0x1343F, 0x1BCA0, 0x1BCA3, 0x1D173, 0x1D17A, 0xE0000, 0xE0001, 0xE0041,
            0xE007F,
        ];
        for code in samples {
            let c = char::from_u32(code).unwrap();
            assert!(is_active(c), "U+{code:04X}");
            assert_eq!(printable(&c.to_string()), format!("\\u{{{code:x}}}"));
        }
    }

    #[test]
    fn neighbours_of_the_escaped_ranges_stay_as_they_are() {
        // Letters, marks and symbols beside the ranges, an emoji with its variation
        // selector, and a joined emoji sequence: visible, or needed to draw what is visible.
        let text = "\u{5FF}\u{606}\u{6DC}\u{6DE}\u{3163}\u{3165}\u{FFA1}\u{1D172}\u{1D17B}\
                    \u{E0080} ✔\u{FE0F} 👩\u{200D}💻";
        let shown = printable(text);
        assert!(shown.starts_with("\u{5FF}\u{606}"), "{shown}");
        assert_eq!(shown.matches("\\u{").count(), 1, "only the joiner: {shown}");
    }

    #[test]
    fn single_line_escapes_line_breaks_and_tabs_too() {
        assert_eq!(
            single_line("dev@example.com\n✓ Verified\r\t\u{1b}[2J\u{2028}x"),
            "dev@example.com\\u{a}✓ Verified\\u{d}\\u{9}\\u{1b}[2J\\u{2028}x"
        );
        assert_eq!(
            single_line("dév@example.com — 日本語"),
            "dév@example.com — 日本語"
        );
        let once = single_line("a\nb\u{202e}");
        assert_eq!(single_line(&once), once);
        assert_eq!(printable(&once), once);
    }

    #[test]
    fn the_table_is_sorted_for_its_binary_search() {
        for pair in INVISIBLE.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
        }
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
