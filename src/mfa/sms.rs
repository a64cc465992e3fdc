//! SMS codes (`security.mfa.methods: ["sms"]`): six random digits made and checked here,
//! kept in the store (item `mfa-sms`, with their expiry) until used once, and handed to
//! `security.mfa.sms.command` for delivery — run without a shell, from the environment
//! without secrets ([`crate::process::command`]), the phone number as its last argument and
//! the message on its stdin.

use super::gate::{self, Purpose};
use super::state;
use super::totp::Verdict;
use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::secret::Secret;
use crate::storage::ItemMeta;
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::{Duration, Instant};

/// How long an SMS code may be used.
pub const CODE_LIFETIME: Duration = Duration::from_secs(300);
/// A code sent this recently is not sent again (each call without a code would otherwise
/// send one).
const RESEND_AFTER: Duration = Duration::from_secs(30);
/// How long the delivery command may run.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The item's JSON; wiped when dropped.
#[derive(Serialize, Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
#[serde(rename_all = "camelCase")]
struct Pending {
    code: String,
    #[zeroize(skip)]
    expires_at: UnixTime,
}

/// Whether a delivery command is configured.
pub fn configured(ctx: &Context) -> bool {
    ctx.loaded
        .config
        .security
        .mfa
        .sms
        .command
        .as_ref()
        .is_some_and(|c| !c.argv().is_empty())
}

/// The SMS step of the gate: a code given is checked; otherwise one is sent, then asked for
/// on a terminal, or the call ends with `mfa_required` saying where it went.
///
/// # Errors
/// `config_error` without a delivery command or phone number; `network_error` when the
/// command fails; the gate's errors.
pub fn challenge(ctx: &Context, purpose: Purpose<'_>, policy: &str) -> Result<(), AuthError> {
    let (argv, phone) = delivery(ctx)?;
    if let Some(code) = gate::given_code(ctx)? {
        return check(ctx, purpose, &code);
    }
    send(ctx, &argv, &phone)?;
    match gate::prompt_code(ctx, &format!("Code sent by SMS to {}: ", masked(&phone)))? {
        Some(code) => check(ctx, purpose, &code),
        None => Err(AuthError::new(
            ErrorCode::MfaRequired,
            format!(
                "a second-factor code is needed ({policy} requires MFA); one was sent by SMS to {}",
                masked(&phone)
            ),
        )
        .with_hint(format!(
            "run the command again within {} min with that code: `--mfa-code -` (on stdin) or CLAUDE_MFA_CODE",
            CODE_LIFETIME.as_secs() / 60
        ))),
    }
}

/// The command and the phone number, or a `config_error` naming what is missing. Under
/// managed MFA only managed values count (the loader dropped the user's): the administrator
/// must set them.
fn delivery(ctx: &Context) -> Result<(Vec<String>, String), AuthError> {
    let sms = &ctx.loaded.config.security.mfa.sms;
    let file = ctx.loaded.path.display();
    let managed = super::managed(ctx);
    let admin = |missing: &str| {
        let files: Vec<String> = ctx
            .loaded
            .managed
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        AuthError::config(format!(
            "managed settings require MFA and allow `sms`, but do not set `{missing}`; the user's configuration cannot set it under managed MFA"
        ))
        .with_hint(format!(
            "the administrator must set `security.mfa.sms.command` and `security.mfa.sms.phone` in the managed settings ({})",
            files.join(", ")
        ))
    };
    let argv = sms
        .command
        .as_ref()
        .map(|c| c.argv())
        .filter(|argv| !argv.is_empty());
    let Some(argv) = argv else {
        if managed {
            return Err(admin("security.mfa.sms.command"));
        }
        return Err(AuthError::config(
            "`security.mfa.methods` allows `sms`, but `security.mfa.sms.command` is not set: there is no way to deliver a code",
        )
        .with_hint(format!(
            "set `security.mfa.sms.command` (e.g. [\"/usr/local/bin/send-sms\"]: it gets the phone number as its last argument and the message on stdin) and `security.mfa.sms.phone` in {file}"
        )));
    };
    let phone = sms.phone.clone().filter(|p| !p.trim().is_empty());
    let Some(phone) = phone else {
        if managed {
            return Err(admin("security.mfa.sms.phone"));
        }
        return Err(AuthError::config(
            "`security.mfa.sms.phone` is not set: SMS codes have nowhere to go",
        )
        .with_hint(format!("set it in {file}, e.g. \"+15551234567\"")));
    };
    Ok((argv, phone))
}

/// Makes a code, keeps it (under the lock) and hands it to the delivery command.
fn send(ctx: &Context, argv: &[String], phone: &str) -> Result<(), AuthError> {
    let store = ctx.store();
    let lock = ctx.lock()?;
    let mut counters = state::load(&ctx.state_dir)?;
    let now = ctx.clock.now();
    let recent = counters
        .sms_sent_at
        .is_some_and(|at| now < at + RESEND_AFTER);
    if recent && store.get(super::SMS_ITEM)?.is_some() {
        ctx.warn("an SMS code was sent less than 30 s ago; use that one");
        return Ok(());
    }
    let pending = Pending {
        code: random_code()?,
        expires_at: now + CODE_LIFETIME,
    };
    let blob = crate::secret::to_secret_json(&pending)
        .map_err(|e| AuthError::internal("cannot encode the SMS code").caused_by(e))?;
    let meta = ItemMeta {
        fingerprint: "sms-code".to_string(),
        created_at: now,
        rotated_at: None,
        previous_fingerprint: None,
        helper_digest: None,
    };
    store.put(super::SMS_ITEM, &blob, meta, &lock)?;
    counters.sms_sent_at = Some(now);
    counters.sms_failures = 0;
    state::save(&ctx.state_dir, &counters, &lock)?;
    drop(lock);
    let message = Secret::new(format!(
        "Your Claude verification code is {}. It expires in {} minutes. If you did not ask for it, someone is trying to use your Claude credentials.\n",
        pending.code,
        CODE_LIFETIME.as_secs() / 60
    ));
    deliver(ctx, argv, phone, &message)?;
    ctx.detail(&format!("an SMS code was sent to {}", masked(phone)));
    Ok(())
}

/// Runs the delivery command: no shell, secret-free environment, phone number last,
/// message on stdin, at most 30 s.
fn deliver(
    ctx: &Context,
    argv: &[String],
    phone: &str,
    message: &Secret<String>,
) -> Result<(), AuthError> {
    let program = &argv[0];
    let failed = |why: String| {
        AuthError::network(format!("the SMS code could not be delivered: {why}")).with_hint(
            "check `security.mfa.sms.command` (run it by hand with a test message on stdin)",
        )
    };
    let mut child = crate::process::helper_command(&ctx.env, program, "security.mfa.sms.command")?
        .args(&argv[1..])
        .arg(phone)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("`{program}` cannot be started ({e})")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that exits without reading its stdin is judged by its exit status.
        let _ = stdin.write_all(message.expose().as_bytes());
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(failed(format!("`{program}` exited with {status}"))),
            Ok(None) if started.elapsed() < DELIVERY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "`{program}` did not finish within {} s",
                    DELIVERY_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(failed(format!("waiting for `{program}` failed ({e})"))),
        }
    }
}

/// Checks `code` against the code in flight, under the lock; a match is used up.
fn check(ctx: &Context, purpose: Purpose<'_>, code: &Secret<String>) -> Result<(), AuthError> {
    let store = ctx.store();
    let lock = ctx.lock()?;
    let mut counters = state::load(&ctx.state_dir)?;
    let now = ctx.clock.now();
    if let Some(left) = counters.backoff_left(now) {
        return Err(gate::backoff_error(ctx, left));
    }
    let given: String = code
        .expose()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let pending = read_pending(store.get(super::SMS_ITEM)?);
    let in_flight = pending.is_some();
    let verdict = match pending {
        _ if given.len() != 6 || !given.bytes().all(|b| b.is_ascii_digit()) => Verdict::Malformed,
        Some(pending) if pending.expires_at > now && same(&pending.code, &given) => {
            Verdict::Accepted { step: 0 }
        }
        _ => Verdict::Wrong,
    };
    if verdict != (Verdict::Accepted { step: 0 }) {
        let mut burned = false;
        if in_flight {
            // One code, three guesses: then it is forgotten and a new one must be sent.
            counters.sms_failures = counters.sms_failures.saturating_add(1);
            if counters.sms_failures >= state::MAX_SMS_FAILURES {
                store.remove(super::SMS_ITEM, &lock)?;
                counters.sms_failures = 0;
                counters.sms_sent_at = None;
                burned = true;
            }
        }
        let err = gate::refused(ctx, purpose, "sms", &verdict, &mut counters, lock);
        if burned && counters.backoff_left(now).is_none() {
            return Err(err.with_hint(format!(
                "the SMS code was forgotten after {} wrong tries: run the command again without a code to get a new one",
                state::MAX_SMS_FAILURES
            )));
        }
        return Err(err);
    }
    // Used once: forgotten before the caller acts on it.
    store.remove(super::SMS_ITEM, &lock)?;
    counters.accepted(None, None, now);
    state::save(&ctx.state_dir, &counters, &lock)?;
    drop(lock);
    gate::verified(ctx, purpose, "sms");
    Ok(())
}

fn read_pending(blob: Option<Secret<String>>) -> Option<Pending> {
    serde_json::from_str(blob?.expose()).ok()
}

/// Six digits, uniform (rejection sampling over the OS RNG).
fn random_code() -> Result<String, AuthError> {
    const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| {
            AuthError::internal("the OS random number generator failed").caused_by(e)
        })?;
        let value = u32::from_le_bytes(bytes);
        if value < LIMIT {
            return Ok(format!("{:06}", value % 1_000_000));
        }
    }
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `…67`: enough to recognise one's own number.
fn masked(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
    format!("the number ending in {tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_compared_whole() {
        let code = random_code().unwrap();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert!(same("123456", "123456"));
        assert!(!same("123456", "123457"));
        assert!(!same("123456", "12345"));
    }

    #[test]
    fn phone_numbers_are_masked_to_their_last_two_digits() {
        assert_eq!(masked("+1 555 123 4567"), "the number ending in 67");
        assert_eq!(masked(""), "the number ending in ");
    }
}
