//! The second factor (SPEC §9, issue #10): TOTP enrollment records, the policy that asks for
//! a code, and the facts status shows. Secrets live in the configured store (`mfa-totp`,
//! `mfa-totp-pending`, `mfa-sms`); counters in `mfa.json` ([`state`]); the check itself in
//! [`gate`], called with one line before a session starts or a key is stored or rotated.
//!
//! Enrollment is the store's item, not a flag in a file: an enrolled factor and its secret
//! cannot disagree, status reads the store's non-secret index (never unlocking anything),
//! and `--reset-auth`, which empties the store, removes it.

pub mod gate;
pub mod sms;
pub mod state;
pub mod totp;

use crate::config::schema::MfaMethod;
use crate::context::Context;
use crate::error::AuthError;
use crate::storage::ItemMeta;

/// The store item holding the enrolled TOTP secret (base32).
pub const TOTP_ITEM: &str = "mfa-totp";
/// The store item holding a TOTP secret shown but not yet confirmed by a code.
pub const PENDING_ITEM: &str = "mfa-totp-pending";
/// The store item holding the SMS code in flight and its expiry.
pub const SMS_ITEM: &str = "mfa-sms";
/// Every item this module keeps (what `--reset-auth` removes).
pub const ITEMS: [&str; 3] = [TOTP_ITEM, PENDING_ITEM, SMS_ITEM];

/// Why policy asks for a second factor, when it does: `security.mfa.enabled`, or the
/// selected environment's `requireMFA`.
pub fn policy(ctx: &Context) -> Option<String> {
    if ctx.loaded.config.security.mfa.enabled {
        return Some("`security.mfa.enabled`".to_string());
    }
    ctx.loaded
        .environment
        .as_ref()
        .filter(|env| env.require_mfa)
        .map(|env| format!("`environments.{}.requireMFA`", env.name))
}

/// Whether managed settings (not the user's file) ask for a second factor: then only they
/// decide `methods`, `sms.command` and `sms.phone`.
pub fn managed(ctx: &Context) -> bool {
    crate::config::managed::enforce::mfa_required(
        &ctx.loaded.managed,
        ctx.loaded.environment.as_ref().map(|e| e.name.as_str()),
    )
}

/// Whether policy asks for a second factor.
pub fn required(ctx: &Context) -> bool {
    policy(ctx).is_some()
}

/// `security.mfa.methods` as configured; empty means TOTP.
pub fn methods(ctx: &Context) -> Vec<&'static str> {
    let configured = &ctx.loaded.config.security.mfa.methods;
    if configured.is_empty() {
        return vec!["totp"];
    }
    configured
        .iter()
        .map(|m| match m {
            MfaMethod::Totp => "totp",
            MfaMethod::Sms => "sms",
        })
        .collect()
}

/// Whether TOTP may be used (the default when no method is listed).
pub fn totp_allowed(ctx: &Context) -> bool {
    methods(ctx).contains(&"totp")
}

/// Whether SMS codes may be used.
pub fn sms_allowed(ctx: &Context) -> bool {
    methods(ctx).contains(&"sms")
}

/// What may be known about the second factor without unlocking anything: for status.
pub struct Summary {
    pub required: bool,
    pub enrolled: Option<ItemMeta>,
    pub pending: Option<ItemMeta>,
    pub methods: Vec<&'static str>,
    pub last_verified_at: Option<crate::time::UnixTime>,
    /// The SMS delivery command is configured.
    pub sms_ready: bool,
    /// Why the facts are incomplete (an unreadable index or `mfa.json`).
    pub problem: Option<String>,
}

/// Reads the store's index and `mfa.json`; never unlocks the store.
pub fn summary(ctx: &Context) -> Summary {
    let mut problem = None;
    let (enrolled, pending) = match ctx.store().index() {
        Ok(mut index) => (
            index.items.remove(TOTP_ITEM),
            index.items.remove(PENDING_ITEM),
        ),
        Err(err) => {
            problem = Some(err.message().to_string());
            (None, None)
        }
    };
    let last_verified_at = match state::load(&ctx.state_dir) {
        Ok(state) => state.last_verified_at,
        Err(err) => {
            problem.get_or_insert_with(|| err.message().to_string());
            None
        }
    };
    Summary {
        required: required(ctx),
        enrolled,
        pending,
        methods: methods(ctx),
        last_verified_at,
        sms_ready: sms_allowed(ctx) && sms::configured(ctx),
        problem,
    }
}

impl Summary {
    /// The status warning, when policy asks for a factor this machine cannot give.
    pub fn warning(&self) -> Option<String> {
        if !self.required || self.enrolled.is_some() || self.sms_ready {
            return None;
        }
        Some(match self.pending {
            Some(_) => "policy requires MFA and the TOTP enrollment is pending: confirm it with `claude --enable-mfa --mfa-code -` (the current code on stdin)".to_string(),
            None => "policy requires MFA and no second factor is enrolled: run `claude --enable-mfa` before logging in or storing a key".to_string(),
        })
    }

    /// One line for people: `required (totp); enrolled 2026-…, last verified 2026-…`.
    pub fn describe(&self) -> String {
        let policy = if self.required {
            format!("required ({})", self.methods.join(", "))
        } else {
            "not required".to_string()
        };
        let factor = match (&self.enrolled, &self.pending) {
            (Some(meta), _) => format!("TOTP enrolled {}", meta.created_at.rfc3339()),
            (None, Some(_)) => "TOTP enrollment pending confirmation".to_string(),
            (None, None) if self.sms_ready => "SMS codes through the delivery command".to_string(),
            (None, None) => "not enrolled".to_string(),
        };
        let verified = self
            .last_verified_at
            .map(|at| format!(", last verified {}", at.rfc3339()))
            .unwrap_or_default();
        format!("{policy}; {factor}{verified}")
    }
}

/// `--test-auth`'s MFA step: whether policy asks for a factor and whether one is enrolled
/// (from the index: no code is asked for or spent).
///
/// # Errors
/// `mfa_required` when policy asks for a factor nobody enrolled; `storage_error` when the
/// facts cannot be read.
pub fn readiness(ctx: &Context) -> Result<String, AuthError> {
    let summary = summary(ctx);
    if let Some(problem) = &summary.problem {
        return Err(AuthError::storage(format!(
            "the MFA enrollment cannot be read: {problem}"
        )));
    }
    let enrolled = summary.enrolled.as_ref().map(|meta| {
        format!(
            "TOTP enrolled {} (enrollment checked; no code asked)",
            meta.created_at.rfc3339()
        )
    });
    let Some(policy) = policy(ctx) else {
        return Ok(match enrolled {
            Some(enrolled) => format!("not required by policy; {enrolled}"),
            None => "not required by policy".to_string(),
        });
    };
    match (enrolled, summary.sms_ready) {
        (Some(enrolled), _) => Ok(format!("required by {policy}; {enrolled}")),
        (None, true) => Ok(format!(
            "required by {policy}; SMS codes through `security.mfa.sms.command` (not run by this test)"
        )),
        (None, false) => Err(AuthError::new(
            crate::error::ErrorCode::MfaRequired,
            format!("required by {policy}, and no second factor is enrolled"),
        )
        .with_hint("run `claude --enable-mfa`: logging in and storing a key will ask for a code")),
    }
}

/// The account an enrollment is labelled with: the logged-in session's account, else the
/// OS user name, else `user`. One line, no `:` (it separates issuer and account).
pub fn account(ctx: &Context) -> String {
    let from_session = crate::session::load(&ctx.state_dir).ok().and_then(|all| {
        let preferred = all.sessions.get(crate::oauth::DEFAULT_PROVIDER).cloned();
        preferred
            .into_iter()
            .chain(all.sessions.into_values())
            .find_map(|s| s.account)
    });
    let name = from_session
        .or_else(|| ctx.env.get(crate::envvars::USER))
        .or_else(|| ctx.env.get(crate::envvars::USERNAME))
        .unwrap_or_else(|| "user".to_string());
    let clean: String = crate::terminal_text::single_line(&name)
        .chars()
        .filter(|c| *c != ':' && !c.is_control())
        .take(64)
        .collect();
    if clean.trim().is_empty() {
        "user".to_string()
    } else {
        clean.trim().to_string()
    }
}

/// A new enrollment id (`totp:` and 32 random bits in hex): the index's "fingerprint" of a
/// TOTP secret, which must not show any of the secret.
///
/// # Errors
/// `internal` when the OS RNG fails.
pub fn new_enrollment_id() -> Result<String, AuthError> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::internal("the OS random number generator failed").caused_by(e))?;
    Ok(format!(
        "totp:{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}
