//! `--enable-mfa`: enrolling a TOTP second factor.

use crate::context::Context;
use crate::error::AuthError;
use crate::output::Outcome;

/// Enrolls (or confirms a pending enrollment of) a TOTP second factor.
///
/// # Errors
/// `not_implemented` until enrollment is built.
pub fn enable(_ctx: &Context, _code: Option<&str>) -> Result<Outcome, AuthError> {
    Err(AuthError::not_implemented("--enable-mfa"))
}
