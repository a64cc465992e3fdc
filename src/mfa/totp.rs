//! TOTP (RFC 6238) as this tool uses it: new secrets from the OS RNG, the `otpauth://` URI,
//! the enrollment QR code, and the judgement of a code against ±1 step and the last step
//! already accepted. Pure apart from the RNG: time comes in as an argument.

use crate::error::AuthError;
use crate::secret::Secret;
use crate::time::UnixTime;

/// Seconds per step (the URI's `period`).
pub const STEP: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Secret length: 160 bits, RFC 4226's recommendation.
const SECRET_BYTES: usize = 20;
/// Steps accepted either side of now: one (RFC 6238 §5.2's recommendation).
const SKEW: u64 = 1;
/// The issuer shown by authenticator apps.
const ISSUER: &str = "Claude";

/// What a code is worth.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A fresh match: persist `step` so it is never accepted again.
    Accepted { step: u64 },
    /// It matches a step already accepted (or an earlier one).
    Replayed,
    /// Not a code of this secret within the window.
    Wrong,
    /// Not six digits.
    Malformed,
}

impl Verdict {
    /// The reason recorded for a refused code (never the code itself).
    pub fn reason(&self) -> &'static str {
        match self {
            Verdict::Accepted { .. } => "accepted",
            Verdict::Replayed => "replayed",
            Verdict::Wrong => "wrong code",
            Verdict::Malformed => "malformed code",
        }
    }
}

/// A new secret: 20 bytes from the OS RNG, as base32 without padding (how it is stored and
/// how authenticator apps take it).
///
/// # Errors
/// `internal` when the OS RNG fails.
pub fn new_secret() -> Result<Secret<String>, AuthError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; SECRET_BYTES]);
    getrandom::fill(bytes.as_mut())
        .map_err(|e| AuthError::internal("the OS random number generator failed").caused_by(e))?;
    Ok(Secret::new(
        totp_rs::Secret::from(bytes.to_vec()).to_base32(),
    ))
}

/// `otpauth://totp/Claude:ACCOUNT?secret=…&issuer=Claude&algorithm=SHA1&digits=6&period=30`,
/// every parameter spelled out (some apps assume other defaults), the account
/// percent-encoded.
///
/// # Security
/// The URI holds the secret: it is a `Secret`, shown once, at enrollment.
pub fn uri(secret: &Secret<String>, account: &str) -> Secret<String> {
    Secret::new(format!(
        "otpauth://totp/{ISSUER}:{}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        crate::uri::percent_encode(account),
        secret.expose()
    ))
}

/// `uri` as a QR code of Unicode half blocks, light modules drawn (terminals are mostly
/// light text on dark), with its quiet zone.
///
/// # Errors
/// `internal` when the URI does not fit a QR code (it always does: ~120 bytes).
pub fn qr(uri: &Secret<String>) -> Result<String, AuthError> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::with_error_correction_level(uri.expose(), qrcode::EcLevel::M)
        .map_err(|e| AuthError::internal("cannot draw the QR code").caused_by(e))?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// Judges `code` for `secret` at `now` (Unix seconds): a match within ±1 step that is
/// later than `last_step` (the last step accepted for this secret) is accepted.
///
/// # Security
/// Codes are compared by totp-rs's `Token`, in constant time; a step is tried only once per
/// call, and the caller persists the accepted step before acting on it.
///
/// # Errors
/// `storage_error` when the stored secret is not base32 of at least 128 bits.
pub fn judge(
    secret: &Secret<String>,
    code: &str,
    now: UnixTime,
    last_step: Option<u64>,
) -> Result<Verdict, AuthError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Verdict::Malformed);
    }
    let totp = totp_of(secret)?;
    let origin = now.as_secs() / STEP;
    let mut replayed = false;
    for step in origin.saturating_sub(SKEW)..=origin.saturating_add(SKEW) {
        if totp.check(&code, step.saturating_mul(STEP)).is_none() {
            continue;
        }
        if last_step.is_some_and(|last| step <= last) {
            replayed = true;
            continue;
        }
        return Ok(Verdict::Accepted { step });
    }
    Ok(if replayed {
        Verdict::Replayed
    } else {
        Verdict::Wrong
    })
}

/// A checker for exactly one step at a time (the window is walked in [`judge`], so that a
/// step already used is told apart from a wrong code).
fn totp_of(secret: &Secret<String>) -> Result<totp_rs::Totp, AuthError> {
    let damaged = || {
        AuthError::storage("the stored TOTP secret is damaged")
            .with_hint("enroll again: `claude --reset-auth`, then `claude --enable-mfa`")
    };
    let bytes = totp_rs::Secret::try_from_base32(secret.expose()).map_err(|_| damaged())?;
    totp_rs::Builder::new()
        .with_secret(bytes)
        .with_digits(DIGITS)
        .with_step_duration(STEP)
        .with_skew(0)
        .build()
        .map_err(|_| damaged())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 seed, "12345678901234567890", in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    /// Appendix B: at T = 59 the 8-digit code is 94287082, so the 6-digit one is 287082.
    const AT_59: &str = "287082";

    fn secret() -> Secret<String> {
        Secret::new(RFC_SECRET.to_string())
    }

    fn code_at(time: u64) -> String {
        totp_of(&secret()).unwrap().generate(time).to_string()
    }

    #[test]
    fn rfc_6238_test_vector_is_accepted_at_its_step() {
        assert_eq!(code_at(59), AT_59);
        assert_eq!(
            judge(&secret(), AT_59, UnixTime::from_secs(59), None).unwrap(),
            Verdict::Accepted { step: 1 }
        );
    }

    #[test]
    fn one_step_either_side_is_accepted_and_two_are_not() {
        let now = 1_800_000_000;
        let origin = now / STEP;
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let step = origin.checked_add_signed(offset).unwrap();
            let code = code_at(step * STEP);
            let verdict = judge(&secret(), &code, UnixTime::from_secs(now), None).unwrap();
            if accepted {
                assert_eq!(verdict, Verdict::Accepted { step }, "offset {offset}");
            } else {
                assert_eq!(verdict, Verdict::Wrong, "offset {offset}");
            }
        }
    }

    #[test]
    fn a_step_once_accepted_or_an_earlier_one_is_a_replay() {
        let now = 1_800_000_000;
        let origin = now / STEP;
        let current = code_at(now);
        assert_eq!(
            judge(&secret(), &current, UnixTime::from_secs(now), Some(origin)).unwrap(),
            Verdict::Replayed
        );
        let previous = code_at(now - STEP);
        assert_eq!(
            judge(&secret(), &previous, UnixTime::from_secs(now), Some(origin)).unwrap(),
            Verdict::Replayed
        );
        // The next step's code is still fresh after this one was used.
        let next = code_at(now + STEP);
        assert_eq!(
            judge(&secret(), &next, UnixTime::from_secs(now), Some(origin)).unwrap(),
            Verdict::Accepted { step: origin + 1 }
        );
    }

    #[test]
    fn spaces_are_ignored_and_anything_but_six_digits_is_malformed() {
        let spaced = format!("{} {}", &AT_59[..3], &AT_59[3..]);
        assert_eq!(
            judge(&secret(), &spaced, UnixTime::from_secs(59), None).unwrap(),
            Verdict::Accepted { step: 1 }
        );
        for bad in ["", "12345", "1234567", "+12345", "12a456", "２８７０８２"] {
            assert_eq!(
                judge(&secret(), bad, UnixTime::from_secs(59), None).unwrap(),
                Verdict::Malformed,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_damaged_secret_is_a_storage_error() {
        let err = judge(
            &Secret::new("not base32!".into()),
            "123456",
            UnixTime::from_secs(59),
            None,
        )
        .unwrap_err();
        assert_eq!(err.code().as_str(), "storage_error");
        let short = Secret::new("GEZDGNBV".into());
        assert!(judge(&short, "123456", UnixTime::from_secs(59), None).is_err());
    }

    #[test]
    fn new_secrets_are_160_bits_and_differ() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_eq!(a.expose().len(), 32, "20 bytes are 32 base32 characters");
        assert_ne!(a.expose(), b.expose());
        assert!(totp_of(&a).is_ok());
    }

    #[test]
    fn uri_spells_out_every_parameter_and_encodes_the_account() {
        let uri = uri(&secret(), "ada@example.com");
        assert_eq!(
            uri.expose(),
            "otpauth://totp/Claude:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Claude&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(crate::uri::percent_encode("a b:c/é"), "a%20b%3Ac%2F%C3%A9");
    }

    #[test]
    fn qr_code_is_drawn_in_half_blocks() {
        let drawn = qr(&uri(&secret(), "ada")).unwrap();
        assert!(drawn.lines().count() > 10);
        assert!(drawn
            .chars()
            .all(|c| matches!(c, ' ' | '▀' | '▄' | '█' | '\n')));
    }
}
