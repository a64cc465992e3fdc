//! The clock, behind a trait so that time-dependent rules can be tested.

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time in Unix seconds.
pub trait Clock {
    /// Now, in Unix seconds.
    fn now(&self) -> u64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock stopped at one instant: unit tests, and debug builds' `CLAUDE_TEST_NOW`.
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0
    }
}

/// The clock for this process: the system's, except that debug builds honour
/// `CLAUDE_TEST_NOW` (Unix seconds) so integration tests can age keys and sessions; release
/// builds ignore it.
pub fn from_env(env: &crate::envvars::Env) -> Box<dyn Clock> {
    if cfg!(debug_assertions) {
        if let Some(now) = env
            .get(crate::envvars::CLAUDE_TEST_NOW)
            .and_then(|v| v.parse().ok())
        {
            return Box::new(FixedClock(now));
        }
    }
    Box::new(SystemClock)
}

/// `2026-11-25T15:33:00Z`. Total: a stored time past year 9999 (a damaged or hostile file)
/// renders as the last second of 9999 instead of aborting the command.
pub fn rfc3339(unix: u64) -> String {
    let unix = unix.min(crate::limits::LATEST_RENDERED);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(unix)).to_string()
}
