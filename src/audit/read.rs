//! Reading `audit.log` for `--show-auth-logs`: `--since` as a cut-off time, and the fields a
//! table row shows, parsed line by line (the log is never loaded whole).

use crate::error::AuthError;
use crate::time::UnixTime;
use std::borrow::Cow;

/// The fields of a line a table row shows.
#[derive(Default)]
pub struct Row<'a> {
    pub time: Option<Cow<'a, str>>,
    pub event: Option<Cow<'a, str>>,
    pub provider: Option<Cow<'a, str>>,
    pub fingerprint: Option<Cow<'a, str>>,
    pub account: Option<Cow<'a, str>>,
    pub action: Option<Cow<'a, str>>,
    pub outcome: Option<Cow<'a, str>>,
    pub code: Option<Cow<'a, str>>,
    /// Why an attempt failed (`mfa_failed`: `wrong code`, `replayed`, …).
    pub reason: Option<Cow<'a, str>>,
    pub pruned_count: Option<u64>,
    /// The line has an `unsigned` field: written without the key, or by anyone.
    pub unsigned: bool,
}

/// Reads the top-level fields a row shows; `None` when the line is not a JSON object.
///
/// One pass over the bytes, borrowing: listing 100k lines must take well under 100 ms, and
/// a general JSON parser (at this binary's `opt-level = "s"`) spends most of that on
/// fields no row shows (`mac`, `prev`). The check is looser than a parser's: `--verify`
/// is the strict reader.
pub fn row(line: &str) -> Option<Row<'_>> {
    let mut row = Row::default();
    let bytes = line.as_bytes();
    let mut at = skip_ws(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_ws(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return (skip_ws(bytes, at + 1) == bytes.len()).then_some(row);
    }
    loop {
        let (key, after) = string(line, at)?;
        // `prev` and `mac` close every line this log writes and no row shows them: half the
        // bytes of a line, not worth scanning to list it.
        if key == "prev" {
            return line.trim_end().ends_with('}').then_some(row);
        }
        at = skip_ws(bytes, after);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(bytes, at + 1);
        let end = value_end(bytes, at)?;
        let raw = &line[at..end];
        let text = || {
            if raw.contains('\\') {
                serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
            } else {
                raw.strip_prefix('"')?.strip_suffix('"').map(Cow::Borrowed)
            }
        };
        match key.as_ref() {
            "time" => row.time = text(),
            "event" => row.event = text(),
            "provider" => row.provider = text(),
            "fingerprint" => row.fingerprint = text(),
            "account" => row.account = text(),
            "action" => row.action = text(),
            "outcome" => row.outcome = text(),
            "code" => row.code = text(),
            "reason" => row.reason = text(),
            "prunedCount" => row.pruned_count = raw.parse().ok(),
            "unsigned" => row.unsigned = raw != "null",
            _ => {}
        }
        at = skip_ws(bytes, end);
        match bytes.get(at) {
            Some(b',') => at = skip_ws(bytes, at + 1),
            Some(b'}') => return (skip_ws(bytes, at + 1) == bytes.len()).then_some(row),
            _ => return None,
        }
    }
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The JSON string starting at `at` (a `"`), unescaped, and the index after it.
fn string(line: &str, at: usize) -> Option<(Cow<'_, str>, usize)> {
    let end = string_end(line.as_bytes(), at)?;
    let raw = &line[at..end];
    let text = if raw.contains('\\') {
        Cow::Owned(serde_json::from_str::<String>(raw).ok()?)
    } else {
        Cow::Borrowed(&raw[1..raw.len() - 1])
    };
    Some((text, end))
}

/// The index just past the JSON string starting at `at` (a `"`). `memchr` jumps from quote
/// to backslash (SIMD): most of a line is inside strings.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        if bytes[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// The index just past the value starting at `at`: a string, or anything up to the `,` or
/// `}` that ends it at this depth (numbers, literals, nested arrays and objects).
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0_usize;
    let mut i = at;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i = string_end(bytes, i)?;
                if depth == 0 {
                    return Some(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b',' | b'}' if depth == 0 => return (i > at).then_some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The earliest time `--since` keeps, as an RFC 3339 UTC string (lines compare as text:
/// every stored time has the same shape). `since` is an age (`7d`, `24h`, `90m`) or a date
/// (`2026-11-01`) or a time (`2026-11-01T12:00:00Z`).
///
/// # Errors
/// `usage` for anything else, with examples.
pub fn since_cutoff(since: &str, now: UnixTime) -> Result<String, AuthError> {
    let since = since.trim();
    if let Ok(age) = humantime::parse_duration(since) {
        return Ok((now - age).rfc3339());
    }
    let full = if since.len() == 10 {
        format!("{since}T00:00:00Z")
    } else {
        since.to_string()
    };
    match humantime::parse_rfc3339_weak(&full) {
        Ok(at) => Ok(UnixTime::from_system_time(at).rfc3339()),
        Err(_) => Err(AuthError::usage(format!(
            "`--since {since}` is neither an age nor a date"
        ))
        .with_hint("use an age such as `--since 7d` or `--since 24h`, or a UTC date such as `--since 2026-11-01`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_top_level_fields_and_refuse_what_is_not_an_object() {
        let line = r#"{"time":"2026-11-29T10:00:00Z","event":"refused","nested":{"code":"x","a":[1,{"b":"}"}]},"code":"ip_restricted","account":"a\"b","prunedCount":3,"mac":null}"#;
        let r = row(line).unwrap();
        assert_eq!(r.time.as_deref(), Some("2026-11-29T10:00:00Z"));
        assert_eq!(r.event.as_deref(), Some("refused"));
        assert_eq!(r.code.as_deref(), Some("ip_restricted"));
        assert_eq!(r.account.as_deref(), Some("a\"b"));
        assert_eq!(r.pruned_count, Some(3));
        for bad in [
            "",
            "not json",
            "{\"time\":",
            "{\"a\":1",
            "[1]",
            "{\"a\":1}x",
            "{\"a\" 1}",
        ] {
            assert!(row(bad).is_none(), "{bad}");
        }
        assert!(row(" {} ").is_some());
    }

    #[test]
    fn since_takes_ages_dates_and_times() {
        let now = UnixTime::from_secs(1_764_410_400); // 2025-11-29T10:00:00Z
        assert_eq!(since_cutoff("24h", now).unwrap(), "2025-11-28T10:00:00Z");
        assert_eq!(since_cutoff("7d", now).unwrap(), "2025-11-22T10:00:00Z");
        assert_eq!(
            since_cutoff("2025-11-01", now).unwrap(),
            "2025-11-01T00:00:00Z"
        );
        assert_eq!(
            since_cutoff("2025-11-01T12:30:00Z", now).unwrap(),
            "2025-11-01T12:30:00Z"
        );
        let err = since_cutoff("yesterday", now).unwrap_err();
        assert!(err.hint().unwrap().contains("--since 7d"));
    }
}
