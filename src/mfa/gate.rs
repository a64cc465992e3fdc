//! The MFA gate: when policy asks for a second factor, starting a session and storing or
//! rotating a key need a code first — from `--mfa-code` (`-`: stdin), `CLAUDE_MFA_CODE`, or
//! a hidden prompt on a terminal; with none of them, `mfa_required`. Each caller adds one
//! line, `gate::require(ctx, Purpose::…)?`, before anything is sent or stored.
//!
//! Every verdict is taken under the state lock against `mfa.json`: a step once accepted is
//! never accepted again, in any process, and five refusals in a row stop every process for
//! 30 s.

use super::state::{self, MfaState};
use super::totp::{self, Verdict};
use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::events::{record, AuthEvent};
use crate::secret::Secret;
use crate::time::UnixTime;

/// How far in the future a recorded verification or session start may be (clock steps
/// between processes) before it is distrusted.
pub const CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(60);

/// What the code is asked for: named in messages and events.
#[derive(Clone, Copy, Debug)]
pub enum Purpose<'a> {
    /// `--login [--provider NAME]`.
    Login { provider: &'a str },
    /// `--set-api-key`.
    StoreKey,
    /// `--rotate-key`.
    RotateKey,
    /// Using a session last verified longer than `security.mfa.sessionTtl` ago.
    Reverify { provider: &'a str },
    /// `--enable-mfa`: confirming a new secret, or proving the current one to replace it.
    Enroll,
    /// `--reset-auth` removing the enrolled factor.
    Reset,
}

impl Purpose<'_> {
    /// The event field: `login`, `set-api-key`, `rotate-key`, `session`, `enable-mfa`.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login { .. } => "login",
            Purpose::StoreKey => "set-api-key",
            Purpose::RotateKey => "rotate-key",
            Purpose::Reverify { .. } => "session",
            Purpose::Enroll => "enable-mfa",
            Purpose::Reset => "reset-auth",
        }
    }

    /// The provider concerned, when there is one.
    pub fn provider_name(&self) -> Option<&str> {
        match self {
            Purpose::Login { provider } | Purpose::Reverify { provider } => Some(provider),
            _ => None,
        }
    }

    /// What needs the code, in a sentence.
    fn what(&self) -> String {
        match self {
            Purpose::Login { provider } => format!("logging in to {provider}"),
            Purpose::StoreKey => "storing an API key".to_string(),
            Purpose::RotateKey => "rotating the API key".to_string(),
            Purpose::Reverify { provider } => format!("using the {provider} session"),
            Purpose::Enroll => "replacing the enrolled second factor".to_string(),
            Purpose::Reset => "removing the enrolled second factor".to_string(),
        }
    }

    /// The command to run again with a code.
    fn command(&self) -> String {
        match self {
            Purpose::Login { provider } => format!("claude --login --provider {provider}"),
            Purpose::StoreKey => "claude --set-api-key".to_string(),
            Purpose::RotateKey => "claude --rotate-key".to_string(),
            Purpose::Reverify { .. } => "claude --print-token".to_string(),
            Purpose::Enroll => "claude --enable-mfa".to_string(),
            Purpose::Reset => "claude --reset-auth --yes".to_string(),
        }
    }
}

/// One TOTP secret a code may belong to, with its enrollment id.
pub struct Candidate<'a> {
    pub secret: &'a Secret<String>,
    pub id: &'a str,
}

/// Asks for and checks a second-factor code when policy requires one; does nothing
/// otherwise.
///
/// # Errors
/// `mfa_required` (no code and no terminal, nothing enrolled, or a refused code),
/// `rate_limited` during a back-off, `config_error` for SMS without a delivery command,
/// storage errors.
pub fn require(ctx: &Context, purpose: Purpose<'_>) -> Result<(), AuthError> {
    let Some(policy) = super::policy(ctx) else {
        return Ok(());
    };
    refuse_during_backoff(ctx)?;
    let store = ctx.store();
    if super::totp_allowed(ctx) {
        if let Some(secret) = store.get(super::TOTP_ITEM)? {
            let id = enrollment_id(ctx)?;
            let code = match given_code(ctx)? {
                Some(code) => code,
                None => prompt_code(ctx, "MFA code from your authenticator app: ")?
                    .ok_or_else(|| missing_code(&purpose, &policy))?,
            };
            let candidates = [Candidate {
                secret: &secret,
                id: &id,
            }];
            return check_totp(ctx, purpose, &candidates, &code).map(drop);
        }
    }
    if super::sms_allowed(ctx) && (super::sms::configured(ctx) || !super::totp_allowed(ctx)) {
        return super::sms::challenge(ctx, purpose, &policy);
    }
    Err(not_enrolled(ctx, &purpose, &policy))
}

/// The session of `provider` may be used only within `security.mfa.sessionTtl` of its start
/// or of the last accepted code, whichever is later; past it a code is needed again (from
/// the same places as at login). Without `sessionTtl`, or when policy does not require MFA,
/// the session's own lifetime is the only limit.
///
/// # Errors
/// As [`require`], with a hint to verify or log in again.
pub fn session_fresh(ctx: &Context, provider: &str) -> Result<(), AuthError> {
    let Some(ttl) = ctx.loaded.config.security.mfa.session_ttl else {
        return Ok(());
    };
    if !super::required(ctx) {
        return Ok(());
    }
    let Some(session) = crate::session::load(&ctx.state_dir)?
        .sessions
        .remove(provider)
    else {
        return Ok(());
    };
    let now = ctx.clock.now();
    // A time in the future is not a verification: it would keep the session fresh forever.
    let plausible = |at: UnixTime| at <= now + CLOCK_SKEW;
    let started_at = session.created_at;
    let last_verified_at = state::load(&ctx.state_dir)?
        .last_verified_at
        .unwrap_or(UnixTime::EPOCH);
    if !plausible(started_at) || !plausible(last_verified_at) {
        ctx.warn(&format!(
            "the {provider} session's start or last MFA verification is later than now; it is not trusted and a new code is needed"
        ));
        return require(ctx, Purpose::Reverify { provider });
    }
    let verified = last_verified_at.max(started_at);
    if now < verified.plus_secs(ttl) {
        return Ok(());
    }
    ctx.detail(&format!(
        "the {provider} session was last verified more than `security.mfa.sessionTtl` ({ttl} s) ago: a new code is needed"
    ));
    require(ctx, Purpose::Reverify { provider })
}

/// Checks `code` against `candidates` in order under the state lock; the first fresh match
/// wins, its step is persisted and its index returned. A refusal counts toward the back-off.
///
/// # Errors
/// `mfa_required` for a wrong, reused or malformed code; `rate_limited` during a back-off.
pub fn check_totp(
    ctx: &Context,
    purpose: Purpose<'_>,
    candidates: &[Candidate<'_>],
    code: &Secret<String>,
) -> Result<usize, AuthError> {
    let lock = ctx.lock()?;
    // Re-read under the lock: another process may have used a step or failed meanwhile.
    let mut counters = state::load(&ctx.state_dir)?;
    let now = ctx.clock.now();
    if let Some(left) = counters.backoff_left(now) {
        return Err(backoff_error(ctx, left));
    }
    let mut refusal = Verdict::Wrong;
    for (index, candidate) in candidates.iter().enumerate() {
        let last = counters.last_step_for(candidate.id);
        match totp::judge(candidate.secret, code.expose(), now, last)? {
            Verdict::Accepted { step } => {
                counters.accepted(Some(candidate.id), Some(step), now);
                state::save(&ctx.state_dir, &counters, &lock)?;
                drop(lock);
                verified(ctx, purpose, "totp");
                return Ok(index);
            }
            // The most telling refusal wins: "already used" over "wrong".
            Verdict::Wrong => {}
            other => {
                if refusal == Verdict::Wrong {
                    refusal = other;
                }
            }
        }
    }
    Err(refused(ctx, purpose, "totp", &refusal, &mut counters, lock))
}

/// Records a refusal under `lock` and builds its error.
pub(super) fn refused(
    ctx: &Context,
    purpose: Purpose<'_>,
    method: &str,
    verdict: &Verdict,
    counters: &mut MfaState,
    lock: crate::storage::FileLock,
) -> AuthError {
    let now = ctx.clock.now();
    counters.failed(now);
    let saved = state::save(&ctx.state_dir, counters, &lock);
    drop(lock);
    record(
        ctx,
        &AuthEvent::MfaFailed {
            method,
            purpose: purpose.as_str(),
            provider: purpose.provider_name(),
            reason: verdict.reason(),
        },
    );
    if let Err(err) = saved {
        // A failure that cannot be counted must not be retried for free.
        return err;
    }
    let message = match verdict {
        Verdict::Replayed => "this MFA code was already used".to_string(),
        Verdict::Malformed => format!("the MFA code must be {} digits", totp::DIGITS),
        _ => "the MFA code is wrong or has expired".to_string(),
    };
    let next = match counters.backoff_left(now) {
        Some(left) => format!(
            "{} codes in a row were refused: wait {left} s, then try again with a new code",
            state::MAX_FAILURES
        ),
        None if matches!(verdict, Verdict::Replayed) => {
            "each code is accepted once: wait for the next one (up to 30 s) and try again"
                .to_string()
        }
        None => format!(
            "give the current code (`--mfa-code -` or CLAUDE_MFA_CODE) and check this machine's clock; \
             after {} refusals in a row codes are refused for {} s",
            state::MAX_FAILURES,
            counters.backoff_secs_next()
        ),
    };
    AuthError::new(ErrorCode::MfaRequired, message).with_hint(next)
}

/// Records an accepted code.
pub(super) fn verified(ctx: &Context, purpose: Purpose<'_>, method: &str) {
    record(
        ctx,
        &AuthEvent::MfaVerified {
            method,
            purpose: purpose.as_str(),
            provider: purpose.provider_name(),
        },
    );
}

/// `rate_limited` while a back-off runs, before any code is read or sent.
///
/// # Errors
/// That error; storage errors reading `mfa.json`.
pub fn refuse_during_backoff(ctx: &Context) -> Result<(), AuthError> {
    match state::load(&ctx.state_dir)?.backoff_left(ctx.clock.now()) {
        Some(left) => Err(backoff_error(ctx, left)),
        None => Ok(()),
    }
}

/// The back-off's refusal, recorded as a failed attempt: an attempt refused without its code
/// being read is still an attempt the audit log must show.
pub(super) fn backoff_error(ctx: &Context, left: u64) -> AuthError {
    crate::events::record(
        ctx,
        &crate::events::AuthEvent::MfaFailed {
            method: "mfa",
            purpose: "any",
            provider: None,
            reason: "locked out: too many refused codes",
        },
    );
    AuthError::rate_limited(format!(
        "{} MFA codes in a row were refused; codes are not checked for another {left} s",
        state::MAX_FAILURES
    ))
    .with_hint(format!(
        "wait {left} s, then try again with the current code"
    ))
}

/// The code given for this call: `--mfa-code CODE`, `--mfa-code -` (stdin), or
/// `CLAUDE_MFA_CODE`, in that order. Never prompts.
///
/// # Errors
/// `usage` when `-` finds stdin a terminal or empty.
pub fn given_code(ctx: &Context) -> Result<Option<Secret<String>>, AuthError> {
    if let Some(arg) = &ctx.mfa_code {
        if arg.expose() == "-" {
            let code = crate::prompt::read_stdin(ctx.terminal.as_ref(), "--mfa-code", "MFA code")?;
            return Ok(Some(Secret::new(code.expose().trim().to_string())));
        }
        return Ok(Some(arg.clone()));
    }
    Ok(ctx
        .env
        .get(crate::envvars::CLAUDE_MFA_CODE)
        .map(|code| Secret::new(code.trim().to_string())))
}

/// A hidden prompt for a code, when a person is at a terminal (and `--json` was not asked
/// for); `None` otherwise.
///
/// # Errors
/// `cancelled` when the prompt is abandoned.
pub fn prompt_code(ctx: &Context, prompt: &str) -> Result<Option<Secret<String>>, AuthError> {
    if !ctx.terminal.stdin_is_tty() || ctx.prefs.json {
        return Ok(None);
    }
    let code = ctx
        .terminal
        .hidden_prompt(prompt)
        .map_err(|e| AuthError::cancelled("no MFA code was read").caused_by(e))?;
    Ok(Some(code))
}

/// `mfa_required` naming every way to give a code.
pub(super) fn missing_code(purpose: &Purpose<'_>, policy: &str) -> AuthError {
    AuthError::new(
        ErrorCode::MfaRequired,
        format!(
            "{} needs a second-factor code ({policy} requires MFA)",
            capitalized(&purpose.what())
        ),
    )
    .with_hint(hint_for(purpose))
}

fn hint_for(purpose: &Purpose<'_>) -> String {
    let ways = "give the current code with `--mfa-code -` (on stdin) or CLAUDE_MFA_CODE, or run it in a terminal to be asked";
    match purpose {
        Purpose::Reverify { provider } => format!(
            "the session was verified longer ago than `security.mfa.sessionTtl`: {ways}, or log in again with `claude --login --provider {provider}`"
        ),
        _ => format!("{ways}: e.g. `CLAUDE_MFA_CODE=123456 {}`", purpose.command()),
    }
}

/// `mfa_required` for a policy that asks for a factor nobody enrolled.
fn not_enrolled(ctx: &Context, purpose: &Purpose<'_>, policy: &str) -> AuthError {
    let sms = if super::sms_allowed(ctx) && super::managed(ctx) {
        " (SMS codes need `security.mfa.sms.command` and `security.mfa.sms.phone` in the managed settings: ask your administrator)"
    } else if super::sms_allowed(ctx) {
        " (or set `security.mfa.sms.command` and `security.mfa.sms.phone` for SMS codes)"
    } else {
        ""
    };
    AuthError::new(
        ErrorCode::MfaRequired,
        format!(
            "{} needs a second-factor code ({policy} requires MFA), and no second factor is enrolled",
            capitalized(&purpose.what())
        ),
    )
    .with_hint(format!(
        "run `claude --enable-mfa` first{sms}, then `{}` again with the code",
        purpose.command()
    ))
}

/// The enrollment id of the enrolled TOTP secret (its index entry), `totp` for an entry
/// from before ids (or an index that lost it).
fn enrollment_id(ctx: &Context) -> Result<String, AuthError> {
    Ok(ctx
        .store()
        .index()?
        .items
        .get(super::TOTP_ITEM)
        .map_or_else(|| "totp".to_string(), |meta| meta.fingerprint.clone()))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envvars::Env;
    use crate::storage::memory::MemoryStore;
    use crate::storage::ItemMeta;
    use crate::terminal::ScriptedTerminal;
    use std::rc::Rc;

    const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

    /// Policy on, TOTP enrolled in memory, counters in a temporary state directory.
    fn ctx(tty: bool, typed: &str, dir: &std::path::Path) -> Context {
        let store = MemoryStore::default();
        let meta = ItemMeta {
            fingerprint: "totp:0001".into(),
            created_at: NOW,
            rotated_at: None,
            previous_fingerprint: None,
            helper_digest: None,
        };
        store.insert(crate::mfa::TOTP_ITEM, SECRET, meta);
        let mut ctx = Context::for_test(
            r#"{"security": {"mfa": {"enabled": true}}}"#,
            None,
            Env::default(),
            NOW,
            store,
        );
        ctx.state_dir = dir.to_path_buf();
        ctx.terminal = Rc::new(ScriptedTerminal {
            tty,
            input: typed.to_string(),
        });
        ctx
    }

    fn current_code() -> String {
        let bytes = totp_rs::Secret::try_from_base32(SECRET).unwrap();
        let totp = totp_rs::Builder::new().with_secret(bytes).build().unwrap();
        totp.generate(NOW.as_secs()).to_string()
    }

    #[test]
    fn a_person_at_a_terminal_is_asked_and_the_step_is_spent() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(true, &current_code(), dir.path());
        require(&ctx, Purpose::StoreKey).unwrap();
        let err = require(&ctx, Purpose::StoreKey).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MfaRequired);
        assert_eq!(err.message(), "this MFA code was already used");
    }

    #[test]
    fn without_a_terminal_or_a_code_the_error_names_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(false, "", dir.path());
        let err = require(
            &ctx,
            Purpose::Login {
                provider: "anthropic",
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::MfaRequired);
        assert!(err.message().starts_with("Logging in to anthropic needs"));
        let hint = err.hint().unwrap();
        assert!(hint.contains("`--mfa-code -`") && hint.contains("CLAUDE_MFA_CODE"));
        assert!(!dir.path().join("mfa.json").exists(), "nothing counted");
    }

    #[test]
    fn no_policy_no_question() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = ctx(false, "", dir.path());
        ctx.loaded.config.security.mfa.enabled = false;
        require(&ctx, Purpose::StoreKey).unwrap();
    }
}
