//! The clock, behind a trait so that time-dependent rules can be tested.

use crate::time::UnixTime;
use std::time::SystemTime;

/// Wall-clock time.
pub trait Clock {
    /// Now, to the second.
    fn now(&self) -> UnixTime;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_system_time(SystemTime::now())
    }
}

/// A clock stopped at one instant: unit tests, and debug builds' `CLAUDE_TEST_NOW`.
pub struct FixedClock(pub UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
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
            return Box::new(FixedClock(UnixTime::from_secs(now)));
        }
    }
    Box::new(SystemClock)
}

/// A span of time as people say it: `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`.
pub fn span(secs: u64) -> String {
    const DAY: u64 = 86_400;
    let (d, h, m) = (secs / DAY, secs % DAY / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(45), "45 s");
        assert_eq!(span(720), "12 min");
        assert_eq!(span(3 * 3600), "3 h");
        assert_eq!(span(3 * 3600 + 20 * 60), "3 h 20 min");
        assert_eq!(span(86_400), "1 d");
        assert_eq!(span(2 * 86_400 + 4 * 3600 + 59), "2 d 4 h");
    }
}
