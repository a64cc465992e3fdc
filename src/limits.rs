//! Bounds on numbers that come from outside (servers, stored files): every one is capped
//! when it is read and time arithmetic saturates ([`UnixTime`]), so a hostile `expires_in`
//! or `interval` can neither crash a command nor make it wait for ever.

use crate::time::UnixTime;
use std::time::Duration;

/// The longest token lifetime believed: a server that claims more gets a day.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);
/// The longest device-flow polling interval honoured (RFC 8628 suggests 5 s).
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// The longest wait honoured from one `Retry-After`.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// The latest instant that is rendered: 9999-12-31T23:59:59Z (RFC 3339 has four-digit years).
pub const LATEST_RENDERED: UnixTime = UnixTime::from_secs(253_402_300_799);

/// A lifetime sent by a server, capped at [`MAX_TOKEN_LIFETIME`].
pub fn lifetime(seconds: u64) -> Duration {
    Duration::from_secs(seconds).min(MAX_TOKEN_LIFETIME)
}

/// [`lifetime`] of an optional `expires_in`.
pub fn token_lifetime(expires_in: Option<Duration>) -> Option<Duration> {
    expires_in.map(|d| d.min(MAX_TOKEN_LIFETIME))
}

/// How long before `expires` a token issued at `issued` counts as stale: `margin`, or half
/// its lifetime when that is shorter. Without the issue time (a cache written by an older
/// version, a file another tool wrote), `margin`.
///
/// # Why
/// A fixed margin at least as long as the lifetime makes every token stale the moment it
/// arrives: a server whose tokens live 60 s would be asked again on every use (each time a
/// lock, a store write and, for a refresh token, a rotation).
pub fn refresh_margin(margin: Duration, issued: Option<UnixTime>, expires: UnixTime) -> Duration {
    match issued {
        Some(issued) => margin.min(expires.saturating_since(issued) / 2),
        None => margin,
    }
}

/// A polling interval sent by a server: at least 1 s, at most [`MAX_POLL_INTERVAL`].
pub fn poll_interval(seconds: u64) -> Duration {
    Duration::from_secs(seconds.max(1)).min(MAX_POLL_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_margin_is_at_most_half_the_lifetime() {
        let minute = Duration::from_secs(60);
        let t0 = UnixTime::from_secs(1_800_000_000);
        assert_eq!(refresh_margin(minute, Some(t0), t0.plus_secs(3600)), minute);
        assert_eq!(
            refresh_margin(minute, Some(t0), t0.plus_secs(60)),
            Duration::from_secs(30)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(300), Some(t0), t0.plus_secs(240)),
            Duration::from_secs(120)
        );
        assert_eq!(refresh_margin(minute, Some(t0), t0), Duration::ZERO);
        assert_eq!(refresh_margin(minute, None, t0.plus_secs(10)), minute);
    }

    #[test]
    fn hostile_numbers_are_capped() {
        assert_eq!(lifetime(300_000_000_000), MAX_TOKEN_LIFETIME);
        assert_eq!(lifetime(u64::MAX), MAX_TOKEN_LIFETIME);
        assert_eq!(lifetime(3600), Duration::from_secs(3600));
        assert_eq!(
            token_lifetime(Some(Duration::from_secs(u64::MAX))),
            Some(MAX_TOKEN_LIFETIME)
        );
        assert_eq!(poll_interval(u64::MAX), MAX_POLL_INTERVAL);
        assert_eq!(
            refresh_margin(
                Duration::from_secs(60),
                Some(UnixTime::MAX),
                UnixTime::EPOCH
            ),
            Duration::ZERO
        );
        assert_eq!(poll_interval(0), Duration::from_secs(1));
        assert_eq!(
            UnixTime::MAX.minus_secs(1) + lifetime(u64::MAX),
            UnixTime::MAX
        );
    }
}
