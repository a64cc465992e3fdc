//! How printed text looks on this terminal: colour for marks and prefixes, and Unicode or
//! ASCII marks. Decided once per stream from the environment snapshot and whether the stream
//! is a terminal; applied only by [`crate::output`], so commands write plain text with the
//! canonical marks (`✓ ✗ ! –`) and never think about terminals.
//!
//! The rules: colour only when the stream is a terminal, `NO_COLOR` is unset (or empty),
//! `TERM` is not `dumb` (and, on Unix, set); `CLICOLOR=0` turns it off and
//! `CLICOLOR_FORCE=1` forces it even into a pipe (both are the common convention; `NO_COLOR`
//! wins over everything). ASCII marks when the locale is explicitly not UTF-8 (the first of
//! `LC_ALL`, `LC_CTYPE`, `LANG` that is set does not name UTF-8, e.g. `C` or
//! `en_US.ISO-8859-1`); with none of them set the terminal is taken to be UTF-8, as nearly
//! every terminal is today. Only environment reads: no locale database is opened.

use crate::envvars::{self, Env};
use anstyle::{AnsiColor, Style};

/// How one stream shows text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Look {
    /// ANSI colour escapes are written.
    pub color: bool,
    /// Marks are ASCII (`ok`, `x`, `!`, `-`, `->`) instead of `✓ ✗ ! – →`.
    pub ascii: bool,
}

impl Look {
    /// The look of a stream that is (`is_tty`) or is not a terminal, in environment `env`.
    pub fn of(env: &Env, is_tty: bool) -> Look {
        Look {
            color: wants_color(env, is_tty),
            ascii: !utf8_locale(env),
        }
    }
}

/// Whether colour is wanted on a stream that is (or is not) a terminal.
pub fn wants_color(env: &Env, is_tty: bool) -> bool {
    if env.get(envvars::NO_COLOR).is_some() {
        return false;
    }
    if env
        .get(envvars::CLICOLOR_FORCE)
        .is_some_and(|value| value != "0")
    {
        return true;
    }
    if env.get(envvars::CLICOLOR).as_deref() == Some("0") {
        return false;
    }
    let term = env.get(envvars::TERM);
    let term_ok = match term.as_deref() {
        Some("dumb") => false,
        Some(_) => true,
        // Windows consoles set no TERM and do colour; a Unix terminal without TERM is odd.
        None => cfg!(windows),
    };
    is_tty && term_ok
}

/// Whether the locale's character set is UTF-8 (or unknown: nothing set).
pub fn utf8_locale(env: &Env) -> bool {
    let locale = [envvars::LC_ALL, envvars::LC_CTYPE, envvars::LANG]
        .into_iter()
        .find_map(|name| env.get(name));
    match locale {
        None => true,
        Some(value) => {
            let value = value.to_ascii_lowercase();
            value.contains("utf-8") || value.contains("utf8")
        }
    }
}

/// The canonical marks, what ASCII shows instead (all two columns wide, so the columns after
/// them stay aligned), and their colour.
const MARKS: [(&str, &str, AnsiColor); 5] = [
    ("✓", "ok", AnsiColor::Green),
    ("✗", "x ", AnsiColor::Red),
    ("!", "! ", AnsiColor::Yellow),
    ("–", "- ", AnsiColor::BrightBlack),
    // A hint under a `--test-auth` step.
    ("→", "->", AnsiColor::Cyan),
];

/// Prefixes coloured at the start of a line (after any indentation).
const PREFIXES: [(&str, AnsiColor); 4] = [
    ("error:", AnsiColor::Red),
    ("warning:", AnsiColor::Yellow),
    ("hint:", AnsiColor::Cyan),
    ("caused by:", AnsiColor::BrightBlack),
];

/// `text` as `look` shows it: for each line, a mark or prefix that opens it (after
/// indentation, followed by a space) is coloured and, in ASCII, replaced. Nothing else
/// changes: data (fingerprints, names) is never rewritten.
pub fn render(text: &str, look: Look) -> String {
    if look == Look::default() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 32);
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        render_line(line, look, &mut out);
    }
    out
}

fn render_line(line: &str, look: Look, out: &mut String) {
    let body = line.trim_start_matches(' ');
    let indent = &line[..line.len() - body.len()];
    for (mark, ascii, color) in MARKS {
        if let Some(rest) = body.strip_prefix(mark).filter(|r| r.starts_with(' ')) {
            out.push_str(indent);
            paint(
                if look.ascii { ascii } else { mark },
                color,
                false,
                look,
                out,
            );
            out.push_str(rest);
            return;
        }
    }
    for (prefix, color) in PREFIXES {
        if let Some(rest) = body.strip_prefix(prefix) {
            out.push_str(indent);
            paint(prefix, color, true, look, out);
            out.push_str(rest);
            return;
        }
    }
    out.push_str(line);
}

fn paint(text: &str, color: AnsiColor, bold: bool, look: Look, out: &mut String) {
    if !look.color {
        out.push_str(text);
        return;
    }
    let mut style = Style::new().fg_color(Some(color.into()));
    if bold {
        style = style.bold();
    }
    out.push_str(&format!("{style}{text}{style:#}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::of(pairs.iter().copied())
    }

    #[test]
    fn colour_needs_a_terminal_and_respects_no_color_and_dumb_terminals() {
        let xterm = [("TERM", "xterm-256color")];
        assert!(wants_color(&env(&xterm), true));
        assert!(!wants_color(&env(&xterm), false), "a pipe gets none");
        assert!(!wants_color(
            &env(&[("TERM", "xterm"), ("NO_COLOR", "1")]),
            true
        ));
        assert!(!wants_color(&env(&[("TERM", "dumb")]), true));
        assert!(!wants_color(
            &env(&[("TERM", "xterm"), ("CLICOLOR", "0")]),
            true
        ));
        assert!(wants_color(&env(&[("CLICOLOR_FORCE", "1")]), false));
        assert!(!wants_color(
            &env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]),
            true
        ));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(wants_color(
            &env(&[("TERM", "xterm"), ("NO_COLOR", "")]),
            true
        ));
    }

    #[test]
    fn the_first_locale_variable_set_decides_the_marks() {
        assert!(utf8_locale(&env(&[])));
        assert!(utf8_locale(&env(&[("LANG", "en_US.UTF-8")])));
        assert!(utf8_locale(&env(&[("LANG", "C.utf8")])));
        assert!(!utf8_locale(&env(&[("LANG", "C")])));
        assert!(!utf8_locale(&env(&[
            ("LC_ALL", "POSIX"),
            ("LANG", "en_US.UTF-8")
        ])));
        assert!(utf8_locale(&env(&[
            ("LC_CTYPE", "de_DE.UTF-8"),
            ("LANG", "C")
        ])));
        assert!(!utf8_locale(&env(&[("LANG", "en_US.ISO-8859-1")])));
    }

    #[test]
    fn ascii_marks_keep_columns_and_data() {
        let look = Look {
            color: false,
            ascii: true,
        };
        let text =
            "✓ config   ok\n– mfa      skipped\n  ✗ admin\n! x\n  → run it\nkey sk-…a1A1 – dash";
        assert_eq!(
            render(text, look),
            "ok config   ok\n-  mfa      skipped\n  x  admin\n!  x\n  -> run it\nkey sk-…a1A1 – dash"
        );
    }

    #[test]
    fn colour_wraps_marks_and_prefixes_only() {
        let look = Look {
            color: true,
            ascii: false,
        };
        let shown = render("✓ fine\nerror: bad\nplain ✓ text", look);
        assert_eq!(
            shown,
            "\u{1b}[32m✓\u{1b}[0m fine\n\u{1b}[1m\u{1b}[31merror:\u{1b}[0m bad\nplain ✓ text"
        );
        assert_eq!(render("✓ fine", Look::default()), "✓ fine");
    }
}
