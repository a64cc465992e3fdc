//! Report periods in whole UTC days (the Admin API snaps buckets to UTC days): month to
//! date by default, `--since 7d|30d|2026-11-01`, and the split into requests of at most 31
//! daily buckets, the API's `limit` for `bucket_width=1d`.

use crate::error::AuthError;
use crate::time::UnixTime;
use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

/// Daily buckets one request may ask for (`limit` ≤ 31 with `bucket_width=1d`).
pub const MAX_BUCKETS: u64 = 31;
/// The longest period asked for: a year and a day, a dozen requests per report.
const MAX_DAYS: u64 = 366;

/// Days `first..=last` (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Period {
    /// From the first of this month (UTC) to today.
    pub fn month_to_date(now: UnixTime) -> Period {
        let today = day_of(now);
        Period {
            first: today.with_day(1).unwrap_or(today),
            last: today,
        }
    }

    /// `--since`: `Nd` (the last N days, today included) or `YYYY-MM-DD` (that day to today).
    ///
    /// # Errors
    /// `usage` for anything else, a date in the future or a period over a year.
    pub fn since(text: &str, now: UnixTime) -> Result<Period, AuthError> {
        let today = day_of(now);
        let first = if let Some(days) = text.strip_suffix('d') {
            let days: u64 = days
                .parse()
                .ok()
                .filter(|d| *d >= 1)
                .ok_or_else(|| bad_since(text))?;
            if days > MAX_DAYS {
                return Err(too_long(text, days));
            }
            today
                .checked_sub_days(Days::new(days - 1))
                .ok_or_else(|| bad_since(text))?
        } else {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad_since(text))?
        };
        if first > today {
            return Err(
                AuthError::usage(format!("`--since {text}` is in the future"))
                    .with_hint("give a day up to today (UTC), e.g. `--since 2026-11-01`"),
            );
        }
        let period = Period { first, last: today };
        if period.days() > MAX_DAYS {
            return Err(too_long(text, period.days()));
        }
        Ok(period)
    }

    /// How many days the period holds.
    pub fn days(&self) -> u64 {
        u64::try_from((self.last - self.first).num_days() + 1).unwrap_or(0)
    }

    /// The period cut into consecutive pieces of at most [`MAX_BUCKETS`] days.
    pub fn windows(&self) -> Vec<Period> {
        let mut out = Vec::new();
        let mut first = self.first;
        while first <= self.last {
            let last = first
                .checked_add_days(Days::new(MAX_BUCKETS - 1))
                .map_or(self.last, |l| l.min(self.last));
            out.push(Period { first, last });
            match last.succ_opt() {
                Some(next) => first = next,
                None => break,
            }
        }
        out
    }

    /// `starting_at`: the first day's midnight, UTC.
    pub fn starting_at(&self) -> String {
        format!("{}T00:00:00Z", self.first)
    }

    /// `ending_at` (exclusive): the midnight after the last day, so today's bucket counts.
    pub fn ending_at(&self) -> String {
        format!("{}T00:00:00Z", self.last.succ_opt().unwrap_or(self.last))
    }
}

/// The UTC day of a time (the last day of 9999 for anything later).
pub fn day_of(at: UnixTime) -> NaiveDate {
    at.min(crate::limits::LATEST_RENDERED)
        .to_chrono()
        .unwrap_or_default()
        .date_naive()
}

fn too_long(text: &str, days: u64) -> AuthError {
    AuthError::usage(format!(
        "`--since {text}` asks for {days} days; a report covers at most {MAX_DAYS}"
    ))
    .with_hint("ask for a later start, e.g. `--since 30d`")
}

fn bad_since(text: &str) -> AuthError {
    AuthError::usage(format!(
        "`--since {}` is not a period",
        crate::terminal_text::single_line(text)
    ))
    .with_hint("use `--since 7d`, `--since 30d` or a day, `--since 2026-11-01` (UTC)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-29T12:00:00Z.
    const NOW: UnixTime = UnixTime::from_secs(1_795_953_600);

    #[test]
    fn month_to_date_and_since() {
        let p = Period::month_to_date(NOW);
        assert_eq!(
            (p.first.to_string(), p.last.to_string()),
            ("2026-11-01".into(), "2026-11-29".into())
        );
        assert_eq!(
            Period::since("7d", NOW).unwrap().first.to_string(),
            "2026-11-23"
        );
        assert_eq!(Period::since("2026-10-16", NOW).unwrap().days(), 45);
        assert_eq!(p.starting_at(), "2026-11-01T00:00:00Z");
        assert_eq!(p.ending_at(), "2026-11-30T00:00:00Z");
        for bad in ["0d", "x", "7", "2026-13-01", "2027-01-01", "400d"] {
            assert!(Period::since(bad, NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_period_too_long_names_the_days_asked_for() {
        for (since, days) in [("1000d", 1000), ("367d", 367), ("2024-01-01", 1064)] {
            let err = Period::since(since, NOW).unwrap_err();
            assert!(
                err.message().contains(&format!(
                    "asks for {days} days; a report covers at most 366"
                )),
                "{since}: {}",
                err.message()
            );
        }
        assert_eq!(Period::since("366d", NOW).unwrap().days(), 366);
    }

    #[test]
    fn long_periods_split_into_windows_of_31_days() {
        let p = Period::since("45d", NOW).unwrap();
        let windows = p.windows();
        assert_eq!(windows.len(), 2);
        assert_eq!(windows[0].days(), 31);
        assert_eq!(windows[1].days(), 14);
        assert_eq!(windows[1].first, windows[0].last.succ_opt().unwrap());
        assert_eq!(windows[1].last, p.last);
        assert_eq!(Period::since("31d", NOW).unwrap().windows().len(), 1);
    }
}
