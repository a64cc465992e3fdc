//! Authentication events and the one sink they, `-v` detail and the `--debug-auth` trace go
//! through: `tracing` events with structured fields (fingerprints, provider, storage, code;
//! never a secret), rendered for people by the text layer; the audit log is one more layer.
//!
//! With neither `-v` nor `--debug-auth` nor an audit log no subscriber is
//! installed, and each event costs `tracing` one comparison against its maximum level.

pub mod sink;
pub mod text;

use crate::context::Context;
use crate::secret::Fingerprint;
use sink::{Sink, DETAIL_TARGET, EVENT_TARGET, LEVEL};
use std::fmt;
use text::TextLayer;

/// Something that happened to a credential.
#[derive(Debug)]
pub enum AuthEvent<'a> {
    KeyStored {
        fingerprint: &'a Fingerprint,
        storage: &'a str,
    },
    KeyRemoved {
        /// `None` when the store's index did not name the key.
        fingerprint: Option<&'a Fingerprint>,
        storage: &'a str,
    },
    KeyRotated {
        from: &'a Fingerprint,
        to: &'a Fingerprint,
        storage: &'a str,
    },
    KeyValidated {
        fingerprint: &'a Fingerprint,
        source: &'a str,
    },
    LoggedIn {
        provider: &'a str,
        account: Option<&'a str>,
    },
    LoggedOut {
        provider: &'a str,
        revoked: bool,
    },
    TokenRefreshed {
        provider: &'a str,
    },
    KeyRejected {
        fingerprint: &'a Fingerprint,
        source: &'a str,
        code: &'a str,
    },
    /// A TOTP secret was made and shown; it counts once a code confirms it.
    MfaEnrollmentStarted {
        method: &'a str,
    },
    MfaEnrolled {
        method: &'a str,
    },
    /// A second-factor code was accepted for `purpose` (`login`, `set-api-key`, …).
    MfaVerified {
        method: &'a str,
        purpose: &'a str,
        provider: Option<&'a str>,
    },
    /// A code was refused: `reason` is `wrong code`, `replayed`, `malformed code`; never the
    /// code.
    MfaFailed {
        method: &'a str,
        purpose: &'a str,
        provider: Option<&'a str>,
        reason: &'a str,
    },
    MfaRemoved {
        method: &'a str,
    },
    /// `security.ipRestrictions` stopped a request before it was sent.
    IpRefused {
        /// The address outside the ranges; `None` when the public address could not be
        /// learned from `security.ipCheckUrl`.
        address: Option<&'a str>,
        /// The host the request was for (`host[:port]`).
        target: &'a str,
        /// The proxy variable whose proxy the request would have gone through.
        via: Option<&'a str>,
        /// The echo service that reported the (public) address.
        according_to: Option<&'a str>,
    },
    /// A rotated-out key marked inactive in the organization through the Admin API.
    KeyDeactivated {
        fingerprint: &'a Fingerprint,
        /// The organization's ID of the key (`apikey_…`), not a secret.
        key_id: &'a str,
    },
    /// `--reset-auth` removed the stored credentials (`removed`: how many items and files).
    AuthReset {
        removed: usize,
    },
    /// A command was refused by policy or by a server (`code`: its error code), recorded
    /// once for every command in `app::run`.
    Refused {
        action: &'a str,
        code: &'a str,
    },
}

/// Reports `event` to the sink, with the time from the context's clock (`at`, Unix
/// seconds) so that tests with a fixed clock see fixed times.
pub fn record(ctx: &Context, event: &AuthEvent<'_>) {
    let at = ctx.clock.now().as_secs();
    // One callsite per kind of event: each has its own name and fields, as the audit log
    // will write them.
    match *event {
        AuthEvent::KeyStored {
            fingerprint,
            storage,
        } => tracing::event!(name: "key_stored", target: EVENT_TARGET, LEVEL, at,
            fingerprint = fingerprint.as_str(), storage, "{event}"),
        AuthEvent::KeyRemoved {
            fingerprint,
            storage,
        } => tracing::event!(name: "key_removed", target: EVENT_TARGET, LEVEL, at,
            fingerprint = fingerprint.map(Fingerprint::as_str), storage, "{event}"),
        AuthEvent::KeyRotated { from, to, storage } => {
            tracing::event!(name: "key_rotated", target: EVENT_TARGET, LEVEL, at,
                previous_fingerprint = from.as_str(), fingerprint = to.as_str(), storage,
                "{event}");
        }
        AuthEvent::KeyValidated {
            fingerprint,
            source,
        } => tracing::event!(name: "key_validated", target: EVENT_TARGET, LEVEL, at,
            fingerprint = fingerprint.as_str(), source, "{event}"),
        AuthEvent::KeyRejected {
            fingerprint,
            source,
            code,
        } => tracing::event!(name: "key_rejected", target: EVENT_TARGET, LEVEL, at,
            fingerprint = fingerprint.as_str(), source, code, "{event}"),
        AuthEvent::LoggedIn { provider, account } => {
            tracing::event!(name: "logged_in", target: EVENT_TARGET, LEVEL, at, provider, account,
                "{event}");
        }
        AuthEvent::LoggedOut { provider, revoked } => {
            tracing::event!(name: "logged_out", target: EVENT_TARGET, LEVEL, at, provider, revoked,
                "{event}");
        }
        AuthEvent::TokenRefreshed { provider } => {
            tracing::event!(name: "token_refreshed", target: EVENT_TARGET, LEVEL, at, provider,
                "{event}");
        }
        AuthEvent::MfaEnrollmentStarted { method } => {
            tracing::event!(name: "mfa_enrollment_started", target: EVENT_TARGET, LEVEL, at,
                method, "{event}");
        }
        AuthEvent::MfaEnrolled { method } => {
            tracing::event!(name: "mfa_enrolled", target: EVENT_TARGET, LEVEL, at, method,
                "{event}");
        }
        AuthEvent::MfaVerified {
            method,
            purpose,
            provider,
        } => tracing::event!(name: "mfa_verified", target: EVENT_TARGET, LEVEL, at, method,
            purpose, provider, "{event}"),
        AuthEvent::MfaFailed {
            method,
            purpose,
            provider,
            reason,
        } => tracing::event!(name: "mfa_failed", target: EVENT_TARGET, LEVEL, at, method,
            purpose, provider, reason, "{event}"),
        AuthEvent::MfaRemoved { method } => {
            tracing::event!(name: "mfa_removed", target: EVENT_TARGET, LEVEL, at, method,
                "{event}");
        }
        AuthEvent::IpRefused {
            address,
            target,
            via,
            according_to,
        } => tracing::event!(name: "ip_refused", target: EVENT_TARGET, LEVEL, at, address,
            target, via, according_to, outcome = "refused", "{event}"),
        AuthEvent::KeyDeactivated {
            fingerprint,
            key_id,
        } => tracing::event!(name: "key_deactivated", target: EVENT_TARGET, LEVEL, at,
            fingerprint = fingerprint.as_str(), key_id, "{event}"),
        AuthEvent::AuthReset { removed } => {
            tracing::event!(name: "auth_reset", target: EVENT_TARGET, LEVEL, at, removed,
                "{event}");
        }
        AuthEvent::Refused { action, code } => {
            tracing::event!(name: "refused", target: EVENT_TARGET, LEVEL, at, action, code,
                "{event}");
        }
    }
}

/// A `-v` line: progress or a decision worth seeing, fingerprints only.
pub fn detail(message: &str) {
    tracing::event!(target: DETAIL_TARGET, LEVEL, "{message}");
}

/// Installs the sink for this process with the layers this call needs: the text layer for
/// `-v` (events and detail lines), `-vv` (those and the trace: resolution steps and every
/// HTTP exchange with its status and time) and `--debug-auth` (`trace`). Nothing is
/// installed when no layer listens, so a plain call pays for no subscriber. Call once,
/// before the handler. `read_only`: the command changes nothing, so auditing it makes no
/// audit key. Returns, when auditing is on, the handle that fails the command at its end if
/// one of its audit lines could not be written.
pub fn install(
    ctx: &Context,
    trace: bool,
    read_only: bool,
) -> Option<crate::audit::layer::Failures> {
    let text = TextLayer {
        verbose: ctx.prefs.verbose > 0,
        trace: trace || ctx.prefs.verbose > 1,
    };
    let mut sink = Sink::default().with(text);
    // Only when `security.auditLogging` or `compliance.auditLogging` asks for it: otherwise
    // nothing is read or created, and the sink stays idle.
    let mut failures = None;
    if let Some((audit, handle)) = crate::audit::layer(ctx, read_only) {
        sink = sink.with(audit);
        failures = Some(handle);
    }
    if sink.is_idle() {
        return None;
    }
    // Fails only when a subscriber is already installed (a second call): the first stays,
    // and this call's layer never sees an event.
    tracing::subscriber::set_global_default(sink).ok()?;
    failures
}

/// The sentence `-v` shows.
impl fmt::Display for AuthEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthEvent::KeyStored {
                fingerprint,
                storage,
            } => write!(f, "key {fingerprint} stored in the {}", place(storage)),
            AuthEvent::KeyRemoved {
                fingerprint: Some(fingerprint),
                storage,
            } => write!(f, "key {fingerprint} removed from the {}", place(storage)),
            AuthEvent::KeyRemoved {
                fingerprint: None,
                storage,
            } => write!(f, "the stored key removed from the {}", place(storage)),
            AuthEvent::KeyRotated { from, to, storage } => {
                write!(f, "key {from} replaced by {to} in the {}", place(storage))
            }
            AuthEvent::KeyValidated {
                fingerprint,
                source,
            } => write!(
                f,
                "key {fingerprint}{} accepted by the API",
                from_source(source)
            ),
            AuthEvent::KeyRejected {
                fingerprint,
                source,
                code,
            } => write!(
                f,
                "key {fingerprint}{} failed its check: {code}",
                from_source(source)
            ),
            AuthEvent::LoggedIn {
                provider,
                account: Some(account),
            } => write!(f, "logged in to {provider} as {account}"),
            AuthEvent::LoggedIn {
                provider,
                account: None,
            } => write!(f, "logged in to {provider}"),
            AuthEvent::LoggedOut {
                provider,
                revoked: true,
            } => write!(f, "logged out of {provider}; the token was revoked"),
            AuthEvent::LoggedOut {
                provider,
                revoked: false,
            } => write!(f, "logged out of {provider}; the token was not revoked"),
            AuthEvent::TokenRefreshed { provider } => {
                write!(f, "{provider} access token refreshed")
            }
            AuthEvent::MfaEnrollmentStarted { method } => {
                write!(f, "{method} enrollment started; waiting for a first code")
            }
            AuthEvent::MfaEnrolled { method } => write!(f, "{method} second factor enrolled"),
            AuthEvent::MfaVerified {
                method, purpose, ..
            } => write!(f, "{method} code accepted for {purpose}"),
            AuthEvent::MfaFailed {
                method,
                purpose,
                reason,
                ..
            } => write!(f, "{method} code refused for {purpose}: {reason}"),
            AuthEvent::MfaRemoved { method } => write!(f, "{method} second factor removed"),
            AuthEvent::IpRefused {
                address,
                target,
                via,
                according_to,
            } => {
                match (address, according_to) {
                    (Some(address), Some(echo)) => {
                        write!(f, "public address {address} (according to {echo})")?
                    }
                    (Some(address), None) => write!(f, "local address {address}")?,
                    (None, _) => write!(f, "an unknown public address")?,
                }
                if let Some(via) = via {
                    write!(f, " toward the proxy in {via}")?;
                }
                write!(
                    f,
                    " is outside security.ipRestrictions: nothing sent to {target}"
                )
            }
            AuthEvent::KeyDeactivated {
                fingerprint,
                key_id,
            } => write!(
                f,
                "key {fingerprint} ({key_id}) marked inactive in the organization"
            ),
            AuthEvent::AuthReset { removed } => {
                write!(f, "every stored credential removed ({removed} items)")
            }
            AuthEvent::Refused { action, code } => write!(f, "`{action}` refused: {code}"),
        }
    }
}

/// A storage kind as a place in a sentence: `keychain`, `encrypted file`.
fn place(storage: &str) -> &str {
    match storage {
        "encrypted-file" => "encrypted file",
        other => other,
    }
}

/// ` from SOURCE`, or nothing for a key given to the command itself.
fn from_source(source: &str) -> String {
    match source {
        "input" => String::new(),
        other => format!(" from {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_sentences_with_fingerprints() {
        let a = Fingerprint::from_stored("sk-ant-api03-…WXYZ".into());
        let b = Fingerprint::from_stored("sk-ant-api03-…b2B2".into());
        let cases = [
            (
                AuthEvent::KeyStored {
                    fingerprint: &a,
                    storage: "keychain",
                },
                "key sk-ant-api03-…WXYZ stored in the keychain",
            ),
            (
                AuthEvent::KeyRotated {
                    from: &a,
                    to: &b,
                    storage: "encrypted-file",
                },
                "key sk-ant-api03-…WXYZ replaced by sk-ant-api03-…b2B2 in the encrypted file",
            ),
            (
                AuthEvent::KeyRejected {
                    fingerprint: &a,
                    source: "config",
                    code: "invalid_api_key",
                },
                "key sk-ant-api03-…WXYZ from config failed its check: invalid_api_key",
            ),
            (
                AuthEvent::KeyValidated {
                    fingerprint: &a,
                    source: "input",
                },
                "key sk-ant-api03-…WXYZ accepted by the API",
            ),
            (
                AuthEvent::LoggedOut {
                    provider: "github",
                    revoked: true,
                },
                "logged out of github; the token was revoked",
            ),
        ];
        for (event, sentence) in cases {
            assert_eq!(event.to_string(), sentence);
        }
    }
}
