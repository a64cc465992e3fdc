//! The audit trail: one HMAC-chained JSON line per credential event in `STATE_DIR/audit.log`,
//! written by a layer of the event sink when `security.auditLogging` or
//! `compliance.auditLogging` is on, and read back by `--show-auth-logs [--verify]`.
//!
//! - [`chain`]: what is signed and how a line is checked;
//! - [`key`]: the HMAC key in the configured store, had without prompting;
//! - [`file`]: appends under the audit lock, retention with an anchor line;
//! - [`layer`]: the sink's layer, generic over the events' fields;
//! - [`verify`] and [`read`]: `--verify` and `--show-auth-logs`, streaming.

pub mod chain;
pub mod file;
pub mod key;
pub mod layer;
pub mod lines;
pub mod read;
pub mod verify;

use crate::config::Config;
use crate::context::Context;
use crate::error::AuthError;
use layer::{AuditLayer, Failures};

/// Whether the configuration asks for an audit log.
pub fn enabled(config: &Config) -> bool {
    config.security.audit_logging || config.compliance.audit_logging
}

/// Refuses to start an audited command whose events could not be recorded: `audit.log`
/// must be absent or a private regular file of ours that opens for appending. Nothing is
/// checked while auditing is off.
///
/// # Errors
/// `storage_error`, with the fix in the hint.
pub fn preflight(ctx: &Context) -> Result<(), AuthError> {
    if !enabled(&ctx.loaded.config) {
        return Ok(());
    }
    file::check_writable(&ctx.state_dir, ctx.clock.now()).map_err(|err| {
        let hint = err.hint().map(str::to_string);
        AuthError::storage(format!(
            "auditing is on, but the audit log cannot be written: {}",
            err.message()
        ))
        .with_hint(hint.unwrap_or_else(|| {
            format!(
                "nothing was done, so nothing goes unrecorded: fix the log, or move it away \
                 (`{}`) to start a new one",
                crate::storage::aside::move_aside(
                    &file::log_path(&ctx.state_dir),
                    crate::storage::aside::Aside::Bad,
                    ctx.clock.now()
                )
            )
        }))
    })
}

/// The audit layer for this process and the handle that reports its write failures at the
/// command's end, or `None` when auditing is off (then nothing is read, created or
/// installed). Makes sure the HMAC key exists first, making it only when `read_only` is
/// false (see [`key::KeyPlace::ensure`]).
pub fn layer(ctx: &Context, read_only: bool) -> Option<(AuditLayer, Failures)> {
    let config = &ctx.loaded.config;
    if !enabled(config) {
        return None;
    }
    let place = key::KeyPlace::of(ctx);
    let setup_error = place.ensure(ctx, !read_only).err();
    let failures = Failures::default();
    let layer = AuditLayer::new(
        ctx.state_dir.clone(),
        config.compliance.log_retention,
        ctx.loaded.environment.as_ref().map(|e| e.name.clone()),
        place,
        setup_error,
        failures.clone(),
    );
    Some((layer, failures))
}
