//! Authentication events: the one place every login, key change and failure is reported,
//! so that the audit log (and `-v`) see the same facts. Events carry fingerprints only.

use crate::context::Context;
use crate::secret::Fingerprint;

/// Something that happened to a credential.
#[derive(Debug)]
pub enum AuthEvent<'a> {
    KeyStored {
        fingerprint: &'a Fingerprint,
        storage: &'a str,
    },
    KeyRemoved {
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
}

/// Reports `event`. Today: a `-v` line on stderr; the audit trail hooks in here.
pub fn record(ctx: &Context, event: &AuthEvent<'_>) {
    ctx.detail(&format!("event: {event:?}"));
}
