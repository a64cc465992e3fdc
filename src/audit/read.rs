//! Reading `audit.log` for `--show-auth-logs`: `--since` as a cut-off time, and the fields a
//! table row shows, parsed line by line (the log is never loaded whole).

use crate::clock::rfc3339;
use crate::error::AuthError;
use serde::Deserialize;
use std::borrow::Cow;

/// The fields of a line a table row shows.
#[derive(Deserialize)]
pub struct Row<'a> {
    #[serde(borrow, default)]
    pub time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub provider: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub fingerprint: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub account: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub action: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub outcome: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub code: Option<Cow<'a, str>>,
    #[serde(default, rename = "prunedCount")]
    pub pruned_count: Option<u64>,
}

/// Parses a line; `None` when it is not a JSON object.
pub fn row(line: &str) -> Option<Row<'_>> {
    serde_json::from_str(line).ok()
}

/// The earliest time `--since` keeps, as an RFC 3339 UTC string (lines compare as text:
/// every stored time has the same shape). `since` is an age (`7d`, `24h`, `90m`) or a date
/// (`2026-11-01`) or a time (`2026-11-01T12:00:00Z`).
///
/// # Errors
/// `usage` for anything else, with examples.
pub fn since_cutoff(since: &str, now: u64) -> Result<String, AuthError> {
    let since = since.trim();
    if let Ok(age) = humantime::parse_duration(since) {
        return Ok(rfc3339(now.saturating_sub(age.as_secs())));
    }
    let full = if since.len() == 10 {
        format!("{since}T00:00:00Z")
    } else {
        since.to_string()
    };
    match humantime::parse_rfc3339_weak(&full) {
        Ok(at) => Ok(rfc3339(
            at.duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )),
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
    fn since_takes_ages_dates_and_times() {
        let now = 1_764_410_400; // 2025-11-29T10:00:00Z
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
