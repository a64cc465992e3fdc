//! `--enable-mfa`: enrolling a TOTP second factor. Offline: no runtime, no network.
//!
//! A new secret is stored as pending (`mfa-totp-pending`) and shown — a QR code and the
//! `otpauth://` URI on a terminal, the URI alone on stdout for scripts — and becomes the
//! enrolled factor (`mfa-totp`) once a code from it is accepted: at the prompt, or with
//! `claude --enable-mfa --mfa-code -` later. Replacing an enrolled factor takes a code
//! from it first.

use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::events::{record, AuthEvent};
use crate::mfa::gate::{self, Candidate, Purpose};
use crate::mfa::{self, totp, PENDING_ITEM, TOTP_ITEM};
use crate::output::{notice, Outcome};
use crate::secret::Secret;
use crate::storage::ItemMeta;
use serde_json::json;

/// Enrolls (or confirms a pending enrollment of) a TOTP second factor.
///
/// # Errors
/// `config_error` when `security.mfa.methods` leaves TOTP out; `mfa_required` when a factor
/// is enrolled and no current code is given, or a code is refused; `rate_limited` during a
/// back-off; `usage` for a code with nothing pending; storage errors.
pub fn enable(ctx: &Context) -> Result<Outcome, AuthError> {
    if !mfa::totp_allowed(ctx) {
        return Err(AuthError::config(
            "`security.mfa.methods` does not list `totp`, so there is nothing to enroll",
        )
        .with_hint(format!(
            "add \"totp\" to `security.mfa.methods` in {} (SMS codes need no enrollment)",
            ctx.loaded.path.display()
        )));
    }
    gate::refuse_during_backoff(ctx)?;
    let store = ctx.store();
    let enrolled = store.get(TOTP_ITEM)?;
    let pending = store.get(PENDING_ITEM)?;
    let index = store.index()?;
    let id_of = |item: &str, fallback: &str| {
        index
            .items
            .get(item)
            .map_or_else(|| fallback.to_string(), |m| m.fingerprint.clone())
    };
    let (enrolled_id, pending_id) = (id_of(TOTP_ITEM, "totp"), id_of(PENDING_ITEM, "pending"));
    let interactive = ctx.terminal.stdin_is_tty() && !ctx.prefs.json;
    let mut code = gate::given_code(ctx)?;
    if code.is_none() && enrolled.is_some() && interactive {
        code = gate::prompt_code(
            ctx,
            "A second factor is enrolled; enter its current code to replace it: ",
        )?;
    }
    let Some(code) = code else {
        if enrolled.is_some() {
            return Err(AuthError::new(
                ErrorCode::MfaRequired,
                "a second factor is already enrolled; replacing it needs a current code from it",
            )
            .with_hint(
                "give the current code with `--mfa-code -` (on stdin) or CLAUDE_MFA_CODE, or run `claude --enable-mfa` in a terminal",
            ));
        }
        return start(ctx, interactive);
    };
    // A code confirms the pending secret, or (enrolled) proves the current one.
    let mut candidates = Vec::new();
    if let Some(secret) = &pending {
        candidates.push(Candidate {
            secret,
            id: &pending_id,
        });
    }
    if let Some(secret) = &enrolled {
        candidates.push(Candidate {
            secret,
            id: &enrolled_id,
        });
    }
    if candidates.is_empty() {
        return Err(AuthError::usage(
            "a code was given, but no MFA enrollment is pending",
        )
        .with_hint("run `claude --enable-mfa` without a code first: it shows the secret to add to your authenticator app"));
    }
    let matched = gate::check_totp(ctx, Purpose::Enroll, &candidates, &code)?;
    match (&pending, matched) {
        (Some(secret), 0) => promote(ctx, secret, &pending_id),
        // The enrolled factor answered: its owner may replace it.
        _ => start(ctx, interactive),
    }
}

/// Makes and stores a new pending secret and shows it; on a terminal, asks for its first
/// code and confirms it at once.
fn start(ctx: &Context, interactive: bool) -> Result<Outcome, AuthError> {
    let secret = totp::new_secret()?;
    let id = mfa::new_enrollment_id()?;
    let account = mfa::account(ctx);
    let store = ctx.store();
    let meta = ItemMeta {
        fingerprint: id.clone(),
        created_at: ctx.clock.now(),
        rotated_at: None,
        previous_fingerprint: None,
        helper_digest: None,
    };
    let lock = ctx.lock()?;
    store.put(PENDING_ITEM, &secret, meta, &lock)?;
    drop(lock);
    record(ctx, &AuthEvent::MfaEnrollmentStarted { method: "totp" });
    let uri = totp::uri(&secret, &account);
    if !interactive {
        return Ok(pending_outcome(ctx, &uri, &account));
    }
    // The one time the secret is shown: on stdout (the terminal here), not stderr, where
    // `-v` output and logs go.
    crate::output::show_secret_once(&format!(
        "Scan this QR code with your authenticator app (or add the URI below by hand):\n\n{}\n\n  {}\n",
        totp::qr(&uri)?,
        uri.expose()
    ));
    drop(uri);
    let code = gate::prompt_code(ctx, "Enter the 6-digit code the app shows, to confirm: ")?
        .filter(|c| !c.expose().trim().is_empty())
        .ok_or_else(|| {
            AuthError::cancelled("no code was entered; the enrollment stays pending").with_hint(
                "confirm it later with `claude --enable-mfa --mfa-code -` (the current code on stdin)",
            )
        })?;
    let candidates = [Candidate {
        secret: &secret,
        id: &id,
    }];
    gate::check_totp(ctx, Purpose::Enroll, &candidates, &code).map_err(|err| {
        let hint = format!(
            "{}; the enrollment stays pending: confirm it with `claude --enable-mfa --mfa-code -`",
            err.hint().unwrap_or("try again")
        );
        err.with_hint(hint)
    })?;
    promote(ctx, &secret, &id)
}

/// The non-interactive answer: the URI on stdout (data), what to do next on stderr.
fn pending_outcome(ctx: &Context, uri: &Secret<String>, account: &str) -> Outcome {
    if !ctx.prefs.quiet {
        notice(
            "MFA enrollment pending: add the otpauth:// URI to your authenticator app, then confirm it with \
             `claude --enable-mfa --mfa-code -` (the app's current code on stdin) or CLAUDE_MFA_CODE. \
             The URI holds the secret: do not keep it.",
        );
    }
    // The one place the URI (and so the secret) is printed: the user asked to enroll.
    let value = uri.expose().clone();
    Outcome::ok(
        value.clone(),
        json!({ "uri": value, "pending": true, "enrolled": false, "method": "totp", "account": account }),
    )
}

/// Makes the confirmed pending secret the enrolled one (replacing any other).
fn promote(ctx: &Context, secret: &Secret<String>, id: &str) -> Result<Outcome, AuthError> {
    let store = ctx.store();
    let now = ctx.clock.now();
    let meta = ItemMeta {
        fingerprint: id.to_string(),
        created_at: now,
        rotated_at: None,
        previous_fingerprint: None,
        helper_digest: None,
    };
    let lock = ctx.lock()?;
    store.put(TOTP_ITEM, secret, meta, &lock)?;
    store.remove(PENDING_ITEM, &lock)?;
    drop(lock);
    record(ctx, &AuthEvent::MfaEnrolled { method: "totp" });
    let policy = match mfa::policy(ctx) {
        Some(policy) => format!(
            "{policy} requires it: logging in and storing or rotating a key will ask for a code"
        ),
        None => "policy does not require MFA yet (`security.mfa.enabled`); codes will be asked once it does".to_string(),
    };
    Ok(Outcome::ok(
        format!("✓ TOTP second factor enrolled.\n  {policy}."),
        json!({ "enrolled": true, "pending": false, "method": "totp", "enrolledAt": now.rfc3339() }),
    ))
}
