//! `--show-auth-logs`: reading and verifying the audit log.

use crate::context::Context;
use crate::error::AuthError;
use crate::output::Outcome;

/// Shows the audit log (`since`: entries newer than this age), or checks its chain (`verify`).
///
/// # Errors
/// `not_implemented` until the audit log is built.
pub fn show(_ctx: &Context, _since: Option<&str>, _verify: bool) -> Result<Outcome, AuthError> {
    Err(AuthError::not_implemented("--show-auth-logs"))
}
