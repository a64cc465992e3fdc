//! Instants as whole Unix seconds (`UnixTime`), with arithmetic that saturates instead of
//! wrapping or panicking, so a hostile number in a server answer or a stored file can shift a
//! deadline but never crash a command. On disk and in JSON an instant is the bare number it
//! always was. Milliseconds, which two outside formats count in, are a type of their own.

use serde::{Deserialize, Serialize};
use std::ops::{Add, Sub};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant, in whole seconds since 1970-01-01T00:00:00Z. Serialized as the bare number.
///
/// Arithmetic saturates: `t + d` past `u64::MAX` seconds stays at the end of time, `t - d`
/// before the epoch stays at the epoch, and the span between two instants the wrong way
/// round is zero. Sub-second parts of a `Duration` are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(u64);

impl UnixTime {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: UnixTime = UnixTime(0);
    /// The last representable second (never rendered as such: see [`UnixTime::rfc3339`]).
    pub const MAX: UnixTime = UnixTime(u64::MAX);

    /// The instant `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> UnixTime {
        UnixTime(secs)
    }

    /// Seconds since the epoch: for wire formats that want the number (JWT `iat`/`exp`,
    /// TOTP counters, chrono).
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// `self` plus `secs` seconds, saturating.
    pub const fn plus_secs(self, secs: u64) -> UnixTime {
        UnixTime(self.0.saturating_add(secs))
    }

    /// `self` minus `secs` seconds, stopping at the epoch.
    pub const fn minus_secs(self, secs: u64) -> UnixTime {
        UnixTime(self.0.saturating_sub(secs))
    }

    /// How long after `earlier` this is; zero when `earlier` is later.
    pub const fn saturating_since(self, earlier: UnixTime) -> Duration {
        Duration::from_secs(self.0.saturating_sub(earlier.0))
    }

    /// How long before `later` this is; zero when `later` has passed.
    pub const fn saturating_until(self, later: UnixTime) -> Duration {
        later.saturating_since(self)
    }

    /// How far apart two instants are, whichever comes first (clock skew).
    pub const fn abs_diff(self, other: UnixTime) -> Duration {
        Duration::from_secs(self.0.abs_diff(other.0))
    }

    /// The instant of a `SystemTime`; times before the epoch are the epoch.
    pub fn from_system_time(time: SystemTime) -> UnixTime {
        UnixTime(
            time.duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )
    }

    /// As a `SystemTime` (for signing and HTTP dates), never past
    /// [`crate::limits::LATEST_RENDERED`]: `SystemTime` cannot hold every `u64` of seconds.
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.min(crate::limits::LATEST_RENDERED).0)
    }

    /// As a chrono UTC date-time; `None` past chrono's range (about year 262000).
    pub fn to_chrono(self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp(i64::try_from(self.0).ok()?, 0)
    }

    /// `2026-11-25T15:33:00Z`. Total: an instant past year 9999 (a damaged or hostile file)
    /// renders as the last second of 9999 instead of aborting the command.
    pub fn rfc3339(self) -> String {
        humantime::format_rfc3339_seconds(self.to_system_time()).to_string()
    }

    /// An RFC 3339 time (`2030-01-02T03:04:05Z`, with or without fractions or an offset),
    /// fractions dropped; `None` for anything else or a time before the epoch.
    pub fn parse_rfc3339(text: &str) -> Option<UnixTime> {
        let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
        u64::try_from(parsed.timestamp()).ok().map(UnixTime)
    }

    /// The same instant in milliseconds, saturating.
    pub const fn as_millis(self) -> UnixMillis {
        UnixMillis(self.0.saturating_mul(1000))
    }
}

/// Saturating: the end of time stays the end of time.
impl Add<Duration> for UnixTime {
    type Output = UnixTime;
    fn add(self, span: Duration) -> UnixTime {
        self.plus_secs(span.as_secs())
    }
}

/// Saturating: nothing comes before the epoch.
impl Sub<Duration> for UnixTime {
    type Output = UnixTime;
    fn sub(self, span: Duration) -> UnixTime {
        self.minus_secs(span.as_secs())
    }
}

/// An instant in milliseconds since the epoch, for the formats that count in them (the
/// `apiKeyHelper` cache, the AWS SSO portal's `expiration`). Serialized as the bare number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(u64);

impl UnixMillis {
    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> UnixMillis {
        UnixMillis(millis)
    }

    /// The whole second this falls in.
    pub const fn to_unix_time(self) -> UnixTime {
        UnixTime(self.0 / 1000)
    }
}

/// Saturating, to the millisecond.
impl Add<Duration> for UnixMillis {
    type Output = UnixMillis;
    fn add(self, span: Duration) -> UnixMillis {
        let millis = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
        UnixMillis(self.0.saturating_add(millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: UnixTime = UnixTime::from_secs(1_800_000_000);

    #[test]
    fn arithmetic_saturates_at_both_ends() {
        assert_eq!(UnixTime::MAX + Duration::from_secs(1), UnixTime::MAX);
        assert_eq!(UnixTime::MAX.plus_secs(u64::MAX), UnixTime::MAX);
        assert_eq!(
            UnixTime::from_secs(u64::MAX - 1) + Duration::from_secs(10),
            UnixTime::MAX
        );
        assert_eq!(UnixTime::EPOCH - Duration::from_secs(1), UnixTime::EPOCH);
        assert_eq!(T.minus_secs(u64::MAX), UnixTime::EPOCH);
        assert_eq!(T + Duration::from_millis(1_999), T.plus_secs(1));
        assert_eq!(
            T - Duration::from_secs(60),
            UnixTime::from_secs(1_799_999_940)
        );
    }

    #[test]
    fn spans_between_instants_are_never_negative() {
        let later = T.plus_secs(90);
        assert_eq!(later.saturating_since(T), Duration::from_secs(90));
        assert_eq!(T.saturating_since(later), Duration::ZERO);
        assert_eq!(T.saturating_until(later), Duration::from_secs(90));
        assert_eq!(later.saturating_until(T), Duration::ZERO);
        assert_eq!(T.abs_diff(later), Duration::from_secs(90));
        assert_eq!(later.abs_diff(T), Duration::from_secs(90));
        assert_eq!(
            UnixTime::EPOCH.abs_diff(UnixTime::MAX),
            Duration::from_secs(u64::MAX)
        );
        assert_eq!(
            UnixTime::MAX.saturating_since(UnixTime::EPOCH),
            Duration::from_secs(u64::MAX)
        );
    }

    #[test]
    fn instants_order_by_time() {
        assert!(UnixTime::EPOCH < T);
        assert!(T < T.plus_secs(1));
        assert!(T.plus_secs(1) < UnixTime::MAX);
        assert_eq!(T.max(UnixTime::EPOCH), T);
        let mut all = vec![UnixTime::MAX, T, UnixTime::EPOCH];
        all.sort();
        assert_eq!(all, [UnixTime::EPOCH, T, UnixTime::MAX]);
    }

    #[test]
    fn serialized_as_the_bare_number() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Doc {
            at: UnixTime,
            until: Option<UnixTime>,
            ms: UnixMillis,
        }
        let doc = Doc {
            at: T,
            until: Some(UnixTime::MAX),
            ms: T.as_millis(),
        };
        let text = serde_json::to_string(&doc).unwrap();
        assert_eq!(
            text,
            r#"{"at":1800000000,"until":18446744073709551615,"ms":1800000000000}"#
        );
        assert_eq!(serde_json::from_str::<Doc>(&text).unwrap(), doc);
        assert_eq!(serde_json::to_string(&T).unwrap(), "1800000000");
        assert!(serde_json::from_str::<UnixTime>("-1").is_err());
        assert!(serde_json::from_str::<UnixTime>("\"1800000000\"").is_err());
    }

    #[test]
    fn renders_as_rfc3339_utc_seconds() {
        assert_eq!(UnixTime::EPOCH.rfc3339(), "1970-01-01T00:00:00Z");
        // Leap days, in a year divisible by 400 and in an ordinary leap year.
        assert_eq!(
            UnixTime::from_secs(951_782_400).rfc3339(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            UnixTime::from_secs(1_709_251_199).rfc3339(),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(
            UnixTime::from_secs(1_709_251_200).rfc3339(),
            "2024-03-01T00:00:00Z"
        );
        assert_eq!(
            crate::limits::LATEST_RENDERED.rfc3339(),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(UnixTime::MAX.rfc3339(), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn parses_rfc3339_in_its_common_shapes() {
        let at = UnixTime::from_secs(1_709_164_800);
        assert_eq!(UnixTime::parse_rfc3339("2024-02-29T00:00:00Z"), Some(at));
        assert_eq!(
            UnixTime::parse_rfc3339("2024-02-29T00:00:00.999Z"),
            Some(at)
        );
        assert_eq!(
            UnixTime::parse_rfc3339("2024-02-29T01:00:00+01:00"),
            Some(at)
        );
        assert_eq!(
            UnixTime::parse_rfc3339("1970-01-01T00:00:00Z"),
            Some(UnixTime::EPOCH)
        );
        assert_eq!(UnixTime::parse_rfc3339("1969-12-31T23:59:59Z"), None);
        assert_eq!(UnixTime::parse_rfc3339("2023-02-29T00:00:00Z"), None);
        assert_eq!(UnixTime::parse_rfc3339("yesterday"), None);
        assert_eq!(UnixTime::parse_rfc3339(&at.rfc3339()), Some(at));
    }

    #[test]
    fn converts_to_and_from_system_time() {
        assert_eq!(UnixTime::from_system_time(T.to_system_time()), T);
        assert_eq!(
            UnixTime::from_system_time(UNIX_EPOCH - Duration::from_secs(5)),
            UnixTime::EPOCH
        );
        assert_eq!(
            UnixTime::from_system_time(UnixTime::MAX.to_system_time()),
            crate::limits::LATEST_RENDERED
        );
        assert_eq!(T.to_chrono().unwrap().timestamp(), 1_800_000_000);
        assert_eq!(UnixTime::MAX.to_chrono(), None);
    }

    #[test]
    fn milliseconds_are_their_own_unit() {
        assert_eq!(T.as_millis(), UnixMillis::from_millis(1_800_000_000_000));
        assert_eq!(UnixMillis::from_millis(1_800_000_000_999).to_unix_time(), T);
        assert_eq!(
            T.as_millis() + Duration::from_millis(500),
            UnixMillis::from_millis(1_800_000_000_500)
        );
        assert_eq!(UnixTime::MAX.as_millis(), UnixMillis::from_millis(u64::MAX));
        assert_eq!(
            UnixMillis::from_millis(u64::MAX) + Duration::from_secs(1),
            UnixMillis::from_millis(u64::MAX)
        );
    }
}
