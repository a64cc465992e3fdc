//! `--verify`: walks `audit.log` once, streaming, and names the first line that breaks the
//! chain (and what is wrong with it), or counts what it checked.

use super::chain::{self, ChainKey};
use serde::Deserialize;
use std::borrow::Cow;
use std::io::BufRead;

/// What is wrong with a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The last line has no end: a write was cut short, or the file was cut.
    Truncated,
    NotJson,
    /// Valid JSON, but not a line of this log (no `mac`, or `prev` of the wrong type).
    NotAnEntry,
    /// `prev` is not the MAC of the signed line before it: a line was removed, added or moved.
    PrevMismatch,
    /// The MAC does not match the line: it was edited, or signed with another key.
    MacMismatch,
    /// An anchor line anywhere but first.
    MisplacedAnchor,
}

impl Problem {
    /// The machine-readable name (`--json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Truncated => "truncated",
            Problem::NotJson => "not_json",
            Problem::NotAnEntry => "not_an_entry",
            Problem::PrevMismatch => "prev_mismatch",
            Problem::MacMismatch => "mac_mismatch",
            Problem::MisplacedAnchor => "misplaced_anchor",
        }
    }

    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Problem::Truncated => "the line is truncated (no end of line)",
            Problem::NotJson => "the line is not JSON",
            Problem::NotAnEntry => "the line is not an audit entry (no `mac`/`prev`)",
            Problem::PrevMismatch => {
                "`prev` does not match the line before: a line was removed, inserted or moved here"
            }
            Problem::MacMismatch => "the MAC does not match: the line was changed",
            Problem::MisplacedAnchor => "an anchor line may only be the first line",
        }
    }
}

/// The first bad line.
#[derive(Debug)]
pub struct Broken {
    /// 1-based.
    pub line: u64,
    pub problem: Problem,
}

/// What a successful walk found.
#[derive(Debug, Default)]
pub struct Checked {
    pub lines: u64,
    pub signed: u64,
    pub unsigned: u64,
    /// The first unsigned line and why it is unsigned.
    pub first_unsigned: Option<(u64, String)>,
    /// `prunedCount` of the anchor the chain starts from, when it starts from one.
    pub pruned: Option<u64>,
}

#[derive(Deserialize)]
struct Links<'a> {
    #[serde(borrow, default)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    prev: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mac: Option<Cow<'a, str>>,
    #[serde(default)]
    unsigned: Option<String>,
    #[serde(default, rename = "prunedCount")]
    pruned_count: Option<u64>,
}

/// Walks the log from `reader`, checking every signed line with `key`.
///
/// # Errors
/// The first broken line; `Err(Ok(io))` for a read failure.
pub fn verify(
    mut reader: impl BufRead,
    key: &ChainKey,
) -> Result<Checked, Result<Broken, std::io::Error>> {
    let mut checked = Checked::default();
    // The MAC the next line must carry as `prev` (`None`: the first line, which has none).
    let mut expected: Option<String> = None;
    let mut buf = String::with_capacity(512);
    loop {
        buf.clear();
        if reader.read_line(&mut buf).map_err(Err)? == 0 {
            return Ok(checked);
        }
        checked.lines += 1;
        let number = checked.lines;
        let broken = |problem| {
            Err(Ok(Broken {
                line: number,
                problem,
            }))
        };
        let Some(line) = buf.strip_suffix('\n') else {
            return broken(Problem::Truncated);
        };
        let Ok(links) = serde_json::from_str::<Links<'_>>(line) else {
            return broken(Problem::NotJson);
        };
        let Some((body, _)) = chain::split(line) else {
            return broken(Problem::NotAnEntry);
        };
        let is_anchor = links.event.as_deref() == Some("anchor");
        if is_anchor && number != 1 {
            return broken(Problem::MisplacedAnchor);
        }
        // An anchor stands for the pruned lines: its `prev` is whatever they ended with.
        if is_anchor {
            expected = links.prev.as_deref().map(str::to_string);
        } else if links.prev.as_deref() != expected.as_deref() {
            return broken(Problem::PrevMismatch);
        }
        let prev = links.prev.as_deref().unwrap_or("");
        if is_anchor {
            checked.pruned = links.pruned_count;
        }
        match (links.mac.as_deref(), links.unsigned) {
            (Some(mac), _) => {
                if !key.check(prev, body, mac) {
                    return broken(Problem::MacMismatch);
                }
                checked.signed += 1;
                if !is_anchor {
                    expected = Some(mac.to_string());
                }
            }
            (None, Some(why)) => {
                // Outside the chain: the next signed line links to the one before it.
                checked.unsigned += 1;
                checked.first_unsigned.get_or_insert((number, why));
            }
            (None, None) => return broken(Problem::NotAnEntry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::file::signed_line;
    use crate::audit::key::Signer;

    fn key() -> ChainKey {
        ChainKey::from_bytes(&[9; 32])
    }

    /// Lines as the appender writes them.
    fn log(n: usize) -> Vec<String> {
        let signer = Signer::Key(key());
        let mut prev: Option<String> = None;
        (0..n)
            .map(|i| {
                let head = format!(
                    "{{\"time\":\"2026-11-0{}T00:00:00Z\",\"event\":\"e{i}\"",
                    i + 1
                );
                let line = signed_line(&head, prev.as_deref(), &signer);
                prev = chain::split(&line).map(|(_, m)| m.trim_matches('"').to_string());
                line
            })
            .collect()
    }

    fn check(lines: &[String], tail: &str) -> Result<Checked, (u64, Problem)> {
        let text = lines.join("\n") + tail;
        verify(text.as_bytes(), &key()).map_err(|e| {
            let b = e.unwrap();
            (b.line, b.problem)
        })
    }

    #[test]
    fn an_intact_log_verifies() {
        let checked = check(&log(5), "\n").unwrap();
        assert_eq!((checked.lines, checked.signed, checked.unsigned), (5, 5, 0));
        assert_eq!(check(&[], "").unwrap().lines, 0);
    }

    #[test]
    fn each_kind_of_tampering_is_named_at_its_line() {
        let good = log(5);
        let mut edited = good.clone();
        edited[2] = edited[2].replace("\"e2\"", "\"e9\"");
        assert_eq!(check(&edited, "\n").unwrap_err(), (3, Problem::MacMismatch));
        let mut deleted = good.clone();
        deleted.remove(1);
        assert_eq!(
            check(&deleted, "\n").unwrap_err(),
            (2, Problem::PrevMismatch)
        );
        let mut swapped = good.clone();
        swapped.swap(2, 3);
        assert_eq!(
            check(&swapped, "\n").unwrap_err(),
            (3, Problem::PrevMismatch)
        );
        let mut cut = good.clone();
        let last = cut.pop().unwrap();
        cut.push(last[..last.len() / 2].to_string());
        assert_eq!(check(&cut, "").unwrap_err(), (5, Problem::Truncated));
        let mut junk = good.clone();
        junk.insert(4, "not json".into());
        assert_eq!(check(&junk, "\n").unwrap_err(), (5, Problem::NotJson));
        let other = ChainKey::from_bytes(&[1; 32]);
        let text = good.join("\n") + "\n";
        assert_eq!(
            verify(text.as_bytes(), &other)
                .unwrap_err()
                .unwrap()
                .problem,
            Problem::MacMismatch
        );
    }

    #[test]
    fn unsigned_lines_are_counted_and_stay_outside_the_chain() {
        let mut lines = log(2);
        let prev = chain::split(&lines[1])
            .unwrap()
            .1
            .trim_matches('"')
            .to_string();
        let why = Signer::Unsigned("the keychain was locked".into());
        lines.push(signed_line("{\"event\":\"x\"", Some(&prev), &why));
        let next = signed_line("{\"event\":\"y\"", Some(&prev), &Signer::Key(key()));
        lines.push(next);
        let checked = check(&lines, "\n").unwrap();
        assert_eq!((checked.signed, checked.unsigned), (3, 1));
        assert_eq!(
            checked.first_unsigned,
            Some((3, "the keychain was locked".to_string()))
        );
    }
}
