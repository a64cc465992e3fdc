//! `--verify`: walks `audit.log` once, streaming, and names the first line that breaks the
//! chain (and what is wrong with it), or counts what it checked. [`Chain`] is the walk one
//! line at a time, which retention uses too before it drops any line.

use super::chain::{self, ChainKey};
use super::lines::{self, Line};
use serde::Deserialize;
use std::borrow::Cow;
use std::io::BufRead;

/// What is wrong with a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The last line has no end: a write was cut short, or the file was cut.
    Truncated,
    NotJson,
    /// Longer than [`lines::MAX_LINE`]: never a line of this log, and not read.
    TooLong,
    /// Valid JSON, but not a line of this log (no `mac`, or `prev` of the wrong type).
    NotAnEntry,
    /// `prev` is not the MAC of the signed line before it: a line was removed, added or moved.
    PrevMismatch,
    /// The MAC does not match the line: it was edited, or signed with another key.
    MacMismatch,
    /// An anchor line anywhere but first.
    MisplacedAnchor,
    /// An anchor without a MAC: anyone can write one, so it stands for nothing.
    UnsignedAnchor,
}

impl Problem {
    /// The machine-readable name (`--json`).
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Truncated => "truncated",
            Problem::NotJson => "not_json",
            Problem::TooLong => "too_long",
            Problem::NotAnEntry => "not_an_entry",
            Problem::PrevMismatch => "prev_mismatch",
            Problem::MacMismatch => "mac_mismatch",
            Problem::MisplacedAnchor => "misplaced_anchor",
            Problem::UnsignedAnchor => "unsigned_anchor",
        }
    }

    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Problem::Truncated => "the line is truncated (no end of line)",
            Problem::NotJson => "the line is not JSON",
            Problem::TooLong => "the line is longer than 64 KiB: not an audit entry",
            Problem::NotAnEntry => "the line is not an audit entry (no `mac`/`prev`)",
            Problem::PrevMismatch => {
                "`prev` does not match the line before: a line was removed, inserted or moved here"
            }
            Problem::MacMismatch => "the MAC does not match: the line was changed",
            Problem::MisplacedAnchor => "an anchor line may only be the first line",
            Problem::UnsignedAnchor => {
                "the anchor is unsigned: anyone could have written it (lines before it may have been removed)"
            }
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

/// The fields of a line the chain (and retention) reads.
#[derive(Deserialize)]
pub struct Links<'a> {
    #[serde(borrow, default)]
    pub time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub prev: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub mac: Option<Cow<'a, str>>,
    #[serde(default)]
    pub unsigned: Option<String>,
    #[serde(default, rename = "prunedCount")]
    pub pruned_count: Option<u64>,
    #[serde(default, rename = "prunedUnsigned")]
    pub pruned_unsigned: Option<u64>,
    #[serde(borrow, default, rename = "prunedThrough")]
    pub pruned_through: Option<Cow<'a, str>>,
}

impl Links<'_> {
    /// Whether this is an anchor line.
    pub fn is_anchor(&self) -> bool {
        self.event.as_deref() == Some("anchor")
    }
}

/// The chain walked one line at a time: each line is checked against the key and the lines
/// before it. Once a line fails, what follows it is not worth checking.
pub struct Chain<'k> {
    key: &'k ChainKey,
    /// The MAC the next line must carry as `prev` (`None`: the first line, which has none).
    /// Only a signed line sets it: an unsigned one, which anyone can write, never does.
    expected: Option<String>,
    /// Lines seen, so the number of the last one.
    pub lines: u64,
}

impl<'k> Chain<'k> {
    pub fn new(key: &'k ChainKey) -> Chain<'k> {
        Chain {
            key,
            expected: None,
            lines: 0,
        }
    }

    /// Checks the next line (`read` and `bytes` from [`lines::next`], not at the end): its
    /// fields when it is a signed line of the chain or an unsigned line outside it.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn check<'a>(&mut self, read: Line, bytes: &'a [u8]) -> Result<Links<'a>, Problem> {
        self.lines += 1;
        match read {
            Line::Whole => {}
            Line::Torn | Line::Eof => return Err(Problem::Truncated),
            Line::TooLong => return Err(Problem::TooLong),
        }
        let line = std::str::from_utf8(bytes).map_err(|_| Problem::NotJson)?;
        let links = serde_json::from_str::<Links<'_>>(line).map_err(|_| Problem::NotJson)?;
        let (body, _) = chain::split(line).ok_or(Problem::NotAnEntry)?;
        let is_anchor = links.is_anchor();
        if is_anchor && self.lines != 1 {
            return Err(Problem::MisplacedAnchor);
        }
        // An anchor stands for the pruned lines: its `prev` is whatever they ended with. It
        // sets the chain only once its MAC is checked below.
        if !is_anchor && links.prev.as_deref() != self.expected.as_deref() {
            return Err(Problem::PrevMismatch);
        }
        let prev = links.prev.as_deref().unwrap_or("");
        match (links.mac.as_deref(), links.unsigned.is_some()) {
            (Some(mac), _) => {
                if !self.key.check(prev, body, mac) {
                    return Err(Problem::MacMismatch);
                }
                let next = if is_anchor {
                    links.prev.as_deref()
                } else {
                    Some(mac)
                };
                match (&mut self.expected, next) {
                    (Some(expected), Some(next)) => {
                        expected.clear();
                        expected.push_str(next);
                    }
                    (expected, next) => *expected = next.map(str::to_string),
                }
            }
            (None, true) if is_anchor => return Err(Problem::UnsignedAnchor),
            // Outside the chain: the next signed line links to the one before it.
            (None, true) => {}
            (None, false) => return Err(Problem::NotAnEntry),
        }
        Ok(links)
    }
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
    let mut chain = Chain::new(key);
    let mut buf = Vec::with_capacity(512);
    loop {
        let read = lines::next(&mut reader, &mut buf).map_err(Err)?;
        if read == Line::Eof {
            return Ok(checked);
        }
        let links = chain.check(read, &buf).map_err(|problem| {
            Ok(Broken {
                line: chain.lines,
                problem,
            })
        })?;
        checked.lines = chain.lines;
        if links.is_anchor() {
            checked.pruned = links.pruned_count;
        }
        if links.mac.is_some() {
            checked.signed += 1;
        } else {
            checked.unsigned += 1;
            if checked.first_unsigned.is_none() {
                checked.first_unsigned = Some((chain.lines, links.unsigned.unwrap_or_default()));
            }
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

    #[test]
    fn an_unsigned_anchor_is_refused_and_never_sets_the_chain() {
        let lines = log(4);
        let second = chain::split(&lines[1])
            .unwrap()
            .1
            .trim_matches('"')
            .to_string();
        let why = Signer::Unsigned("the keychain was locked".into());
        let anchor = signed_line(
            "{\"event\":\"anchor\",\"prunedCount\":0",
            Some(&second),
            &why,
        );
        let mut forged = vec![anchor];
        forged.extend_from_slice(&lines[2..]);
        assert_eq!(
            check(&forged, "\n").unwrap_err(),
            (1, Problem::UnsignedAnchor)
        );
        // A signed anchor with the same `prev` verifies.
        let signed = signed_line(
            "{\"event\":\"anchor\",\"prunedCount\":2",
            Some(&second),
            &Signer::Key(key()),
        );
        forged[0] = signed;
        assert_eq!(check(&forged, "\n").unwrap().pruned, Some(2));
    }

    #[test]
    fn a_line_over_the_cap_is_too_long() {
        let mut lines = log(2);
        lines.insert(1, format!("{{\"x\":\"{}\"}}", "y".repeat(lines::MAX_LINE)));
        assert_eq!(check(&lines, "\n").unwrap_err(), (2, Problem::TooLong));
    }
}
