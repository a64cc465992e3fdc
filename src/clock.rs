//! The clock, behind a trait so that time-dependent rules can be tested.

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time in Unix seconds.
pub trait Clock {
    /// Now, in Unix seconds.
    fn now(&self) -> u64;
}

/// The system clock. Debug builds honour `CLAUDE_TEST_NOW` (Unix seconds) so integration
/// tests can age keys and sessions; release builds ignore it.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        now_unix()
    }
}

/// Now, in Unix seconds (see [`SystemClock`]).
pub fn now_unix() -> u64 {
    if cfg!(debug_assertions) {
        if let Some(now) = std::env::var(crate::envvars::CLAUDE_TEST_NOW)
            .ok()
            .and_then(|v| v.parse().ok())
        {
            return now;
        }
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `2026-11-25T15:33:00Z`. Total: a stored time past year 9999 (a damaged or hostile file)
/// renders as the last second of 9999 instead of aborting the command.
pub fn rfc3339(unix: u64) -> String {
    let unix = unix.min(crate::limits::LATEST_RENDERED);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(unix)).to_string()
}
