//! `mfa.json` (0600, in the state directory): the counters the second factor needs across
//! processes — the last TOTP step accepted, failures in a row, the last verification. No
//! secret and no code: only numbers, times and the enrollment's id. Read and written under
//! the state lock.

use crate::error::AuthError;
use crate::storage::atomic::{read_json, write_json};
use crate::storage::FileLock;
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Failures in a row that start a back-off.
pub const MAX_FAILURES: u32 = 5;
/// How long the first back-off lasts, from the last failure; each further back-off without
/// an accepted code in between lasts twice as long, up to [`MAX_BACKOFF_SECS`].
pub const BACKOFF_SECS: u64 = 30;
/// The longest back-off.
pub const MAX_BACKOFF_SECS: u64 = 3600;
/// Wrong SMS codes after which the code in flight is forgotten (a new one must be sent).
pub const MAX_SMS_FAILURES: u32 = 3;

/// The counters.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaState {
    /// The enrollment the step belongs to (its id in the store's index): a new secret starts
    /// with no step used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment: Option<String>,
    /// The last TOTP step accepted for `enrollment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_step: Option<u64>,
    /// When a code was last accepted, whatever the method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified_at: Option<UnixTime>,
    /// Codes refused in a row.
    #[serde(default)]
    pub failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_at: Option<UnixTime>,
    /// When the last SMS code was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_sent_at: Option<UnixTime>,
    /// Back-offs started since the last accepted code (each one doubles the next).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lockouts: u32,
    /// Wrong codes against the SMS code in flight.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sms_failures: u32,
}

/// The `lockouts`-th back-off: 30 s doubling, capped at an hour.
fn backoff_for(lockouts: u32) -> u64 {
    let doublings = lockouts.saturating_sub(1).min(16);
    BACKOFF_SECS
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF_SECS)
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl MfaState {
    /// The last step accepted for `enrollment` (none for another enrollment's counters).
    pub fn last_step_for(&self, enrollment: &str) -> Option<u64> {
        self.last_step
            .filter(|_| self.enrollment.as_deref() == Some(enrollment))
    }

    /// Seconds left of the back-off at `now`, if one is running.
    pub fn backoff_left(&self, now: UnixTime) -> Option<u64> {
        if self.failures < MAX_FAILURES {
            return None;
        }
        let until = self.last_failure_at?.plus_secs(self.backoff_secs());
        (now < until).then(|| now.saturating_until(until).as_secs())
    }

    /// The length of the back-off running (or last run).
    pub fn backoff_secs(&self) -> u64 {
        backoff_for(self.lockouts)
    }

    /// The length of the next back-off, should this run of failures reach the limit.
    pub fn backoff_secs_next(&self) -> u64 {
        backoff_for(self.lockouts.saturating_add(1))
    }

    /// Records an accepted code (`step` for TOTP).
    pub fn accepted(&mut self, enrollment: Option<&str>, step: Option<u64>, now: UnixTime) {
        if let (Some(id), Some(step)) = (enrollment, step) {
            self.enrollment = Some(id.to_string());
            self.last_step = Some(step);
        }
        self.last_verified_at = Some(now);
        self.failures = 0;
        self.last_failure_at = None;
        self.lockouts = 0;
        self.sms_failures = 0;
    }

    /// Records a refused code. After a back-off has run out, the count starts again, and
    /// the next five failures cost twice the last back-off (30 s, 60 s, … up to 1 h) until
    /// a code is accepted.
    pub fn failed(&mut self, now: UnixTime) {
        if self.failures >= MAX_FAILURES {
            self.failures = 0;
        }
        self.failures += 1;
        if self.failures == MAX_FAILURES {
            self.lockouts = self.lockouts.saturating_add(1);
        }
        self.last_failure_at = Some(now);
    }
}

fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("mfa.json")
}

/// Reads `mfa.json` (the defaults when absent).
///
/// # Errors
/// `storage_error` when it cannot be read, others can read it, or it is damaged: the
/// counters fail closed (a damaged file is not a fresh start).
pub fn load(state_dir: &Path) -> Result<MfaState, AuthError> {
    read_json(
        &path(state_dir),
        "remove it (the replay and back-off counters start again) and retry",
    )
}

/// Writes `mfa.json` atomically (0600) under `lock`.
///
/// # Errors
/// `storage_error`.
pub fn save(state_dir: &Path, state: &MfaState, lock: &FileLock) -> Result<(), AuthError> {
    write_json(&path(state_dir), state, lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> UnixTime {
        UnixTime::from_secs(secs)
    }

    /// `mfa.json` as earlier versions wrote it loads and is written back byte for byte.
    #[test]
    fn stored_counters_keep_their_exact_shape() {
        let text = r#"{"enrollment":"totp:aa","lastStep":60000000,"lastVerifiedAt":1800000000,"failures":2,"lastFailureAt":1800000030,"smsSentAt":1800000040,"lockouts":1}"#;
        let state: MfaState = serde_json::from_str(text).unwrap();
        assert_eq!(state.last_verified_at, Some(at(1_800_000_000)));
        assert_eq!(state.last_failure_at, Some(at(1_800_000_030)));
        assert_eq!(serde_json::to_string(&state).unwrap(), text);
    }

    #[test]
    fn five_failures_in_a_row_back_off_for_30_seconds_from_the_last() {
        let mut state = MfaState::default();
        for t in 0..4 {
            state.failed(at(100 + t));
            assert_eq!(state.backoff_left(at(100 + t)), None);
        }
        state.failed(at(110));
        assert_eq!(state.backoff_left(at(110)), Some(30));
        assert_eq!(state.backoff_left(at(139)), Some(1));
        assert_eq!(state.backoff_left(at(140)), None);
        // After the back-off, one more failure does not start another at once.
        state.failed(at(141));
        assert_eq!(state.failures, 1);
        assert_eq!(state.backoff_left(at(141)), None);
    }

    #[test]
    fn back_offs_double_until_a_code_is_accepted_and_stop_at_an_hour() {
        let mut state = MfaState::default();
        let mut now = 1000;
        let mut lengths = Vec::new();
        for _ in 0..10 {
            for _ in 0..MAX_FAILURES {
                assert_eq!(state.backoff_left(at(now)), None);
                state.failed(at(now));
            }
            let left = state.backoff_left(at(now)).unwrap();
            lengths.push(left);
            now += left;
        }
        assert_eq!(
            lengths,
            [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
        );
        state.accepted(None, None, at(now));
        for _ in 0..MAX_FAILURES {
            state.failed(at(now));
        }
        assert_eq!(
            state.backoff_left(at(now)),
            Some(30),
            "a success starts again"
        );
    }

    #[test]
    fn success_resets_failures_and_steps_belong_to_their_enrollment() {
        let mut state = MfaState::default();
        state.failed(at(1));
        state.accepted(Some("totp:aa"), Some(7), at(2));
        assert_eq!(state.failures, 0);
        assert_eq!(state.last_step_for("totp:aa"), Some(7));
        assert_eq!(state.last_step_for("totp:bb"), None);
        assert_eq!(state.last_verified_at, Some(at(2)));
    }
}
