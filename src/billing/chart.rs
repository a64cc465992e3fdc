//! Figures for people: bars, aligned tables and times, fitted to the terminal's width
//! (`COLUMNS`, else the terminal, else 80) and drawn with block characters only where the
//! locale is UTF-8 (else ASCII). No colour: bars need none, so `NO_COLOR` and pipes read
//! the same.

use crate::context::Context;
use crate::time::UnixTime;
use chrono::TimeZone;
use std::fmt::Write;

const MIN_WIDTH: usize = 40;
const MAX_WIDTH: usize = 200;

/// How figures are drawn for this call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub width: usize,
    pub unicode: bool,
}

impl Style {
    /// From the environment snapshot and the terminal: `COLUMNS` first (what the user or
    /// the shell said), then the terminal's own width, else 80; UTF-8 from the locale
    /// (`LC_ALL`, `LC_CTYPE`, `LANG`: the first one set decides, as in C's `setlocale`).
    pub fn of(ctx: &Context) -> Style {
        let width = ctx
            .env
            .get("COLUMNS")
            .and_then(|c| c.trim().parse::<usize>().ok())
            .or_else(|| ctx.terminal.stdout_width())
            .unwrap_or(80)
            .clamp(MIN_WIDTH, MAX_WIDTH);
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|name| ctx.env.get(name));
        let unicode = match locale {
            Some(locale) => {
                let lower = locale.to_ascii_lowercase();
                lower.contains("utf-8") || lower.contains("utf8")
            }
            // Windows consoles take UTF-8 from Rust; a Unix process without a locale is "C".
            None => cfg!(windows),
        };
        Style { width, unicode }
    }

    /// Cells a bar gets: a quarter of the width beyond the text around it.
    pub fn bar_cells(&self) -> usize {
        (self.width.saturating_sub(40) / 2).clamp(10, 60)
    }

    /// `▕█████▌    ▏` (or `[#####-----]`) for `permille` of `cells` cells.
    pub fn bar(&self, permille: u32, cells: usize) -> String {
        let permille = permille.min(1000) as usize;
        // Nearest eighth; a bar that is not empty shows at least a sliver.
        let eighths = (permille * cells * 8 + 500) / 1000;
        let mut out = String::new();
        if self.unicode {
            // One eighth is drawn as two: `▏` is also the bar's right edge, and a bar that
            // ends in its own edge character reads as empty.
            const PARTS: [char; 8] = [' ', '▎', '▎', '▍', '▌', '▋', '▊', '▉'];
            out.push('▕');
            out.extend(std::iter::repeat_n('█', eighths / 8));
            let mut used = eighths / 8;
            if !eighths.is_multiple_of(8) {
                out.push(PARTS[eighths % 8]);
                used += 1;
            }
            out.extend(std::iter::repeat_n(' ', cells - used));
            out.push('▏');
        } else {
            let full = (eighths + 4) / 8;
            out.push('[');
            out.extend(std::iter::repeat_n('#', full.min(cells)));
            out.extend(std::iter::repeat_n('-', cells - full.min(cells)));
            out.push(']');
        }
        out
    }

    /// The dash used in ranges: an en dash, or `-` in ASCII.
    pub fn dash(&self) -> &'static str {
        if self.unicode {
            "–"
        } else {
            "-"
        }
    }
}

/// A table with a header, columns sized to their widest cell, numbers right-aligned.
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns named `headers`; `right[i]` right-aligns column `i` (figures).
    pub fn new(headers: &[&str], right: &[bool]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            right: right.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table, two spaces between columns, each line indented by two; the first column
    /// is cut (with `…`) so that no line passes `width`.
    pub fn render(&self, width: usize, unicode: bool) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| chars(h)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(chars(cell));
            }
        }
        let others: usize = widths.iter().skip(1).map(|w| w + 2).sum::<usize>() + 2;
        let first_max = width.saturating_sub(others).max(8);
        widths[0] = widths[0].min(first_max);
        let mut out = String::new();
        let mut line = |cells: &[String]| {
            let mut text = String::from(" ");
            for (i, cell) in cells.iter().enumerate().take(columns) {
                let cell = if i == 0 {
                    cut(cell, widths[0], unicode)
                } else {
                    cell.clone()
                };
                let pad = widths[i].saturating_sub(chars(&cell));
                text.push(' ');
                if self.right.get(i) == Some(&true) {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(&cell);
                } else {
                    text.push_str(&cell);
                    text.push_str(&" ".repeat(pad));
                }
                if i + 1 < columns {
                    text.push(' ');
                }
            }
            let _ = writeln!(out, "{}", text.trim_end());
        };
        line(&self.headers);
        for row in &self.rows {
            line(row);
        }
        out
    }
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// `text` cut to `max` characters, the last one `…` (or `~` in ASCII) when cut.
pub fn cut(text: &str, max: usize, unicode: bool) -> String {
    if chars(text) <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push(if unicode { '…' } else { '~' });
    out
}

/// How long until `at`: `2 d 4 h`, `3 h 10 min`, `12 min`; `now` when it has passed.
pub fn until(now: UnixTime, at: UnixTime) -> String {
    let secs = now.saturating_until(at).as_secs();
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => "now".to_string(),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// How long ago `at` was: `12 s`, `3 min`, `2 h`, `4 d`.
pub fn age(now: UnixTime, at: UnixTime) -> String {
    let secs = now.saturating_since(at).as_secs();
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        7200..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    }
}

/// `Tue 1 Dec 14:30` in the local time zone (`TZ`, else the system's).
pub fn local_time(at: UnixTime) -> String {
    let secs = i64::try_from(at.min(crate::limits::LATEST_RENDERED).as_secs()).unwrap_or(0);
    match chrono::Local.timestamp_opt(secs, 0).single() {
        Some(time) => time.format("%a %-d %b %H:%M").to_string(),
        None => at.rfc3339(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_by_eighths_or_by_hashes() {
        let utf = Style {
            width: 80,
            unicode: true,
        };
        assert_eq!(utf.bar(450, 10), "▕████▌     ▏");
        assert_eq!(utf.bar(0, 4), "▕    ▏");
        assert_eq!(utf.bar(1000, 4), "▕████▏");
        assert_eq!(utf.bar(2000, 4), "▕████▏", "over the limit stays full");
        let ascii = Style {
            width: 80,
            unicode: false,
        };
        assert_eq!(ascii.bar(450, 10), "[#####-----]");
        assert!(ascii.bar(333, 20).is_ascii());
    }

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(
            until(
                UnixTime::from_secs(0),
                UnixTime::from_secs(2 * 86_400 + 4 * 3600 + 59)
            ),
            "2 d 4 h"
        );
        assert_eq!(
            until(UnixTime::from_secs(0), UnixTime::from_secs(3 * 3600 + 600)),
            "3 h 10 min"
        );
        assert_eq!(
            until(UnixTime::from_secs(100), UnixTime::from_secs(50)),
            "now"
        );
        assert_eq!(
            age(UnixTime::from_secs(100), UnixTime::from_secs(88)),
            "12 s"
        );
        assert_eq!(
            age(UnixTime::from_secs(10_000), UnixTime::from_secs(0)),
            "2 h"
        );
    }

    #[test]
    fn tables_align_and_cut_the_first_column() {
        let mut t = Table::new(&["Model", "Cost"], &[false, true]);
        t.row(vec!["claude-sonnet-4-5-20250929".into(), "$1.00".into()]);
        t.row(vec!["a".into(), "$100.00".into()]);
        let text = t.render(20, true);
        assert!(text.lines().all(|l| l.chars().count() <= 20), "{text}");
        assert!(text.contains("…"), "{text}");
        assert!(
            text.contains("      $1.00") || text.contains("  $1.00"),
            "{text}"
        );
    }
}
