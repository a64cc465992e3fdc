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
pub mod read;
pub mod verify;

use crate::config::Config;
use crate::context::Context;
use layer::AuditLayer;

/// Whether the configuration asks for an audit log.
pub fn enabled(config: &Config) -> bool {
    config.security.audit_logging || config.compliance.audit_logging
}

/// The audit layer for this process, or `None` when auditing is off (then nothing is read,
/// created or installed). Makes sure the HMAC key exists first (see [`key::KeyPlace::ensure`]).
pub fn layer(ctx: &Context) -> Option<AuditLayer> {
    let config = &ctx.loaded.config;
    if !enabled(config) {
        return None;
    }
    let place = key::KeyPlace::of(ctx);
    let setup_error = place.ensure(ctx).err();
    Some(AuditLayer::new(
        ctx.state_dir.clone(),
        config.compliance.log_retention,
        ctx.loaded.environment.as_ref().map(|e| e.name.clone()),
        place,
        setup_error,
        ctx.prefs.quiet,
    ))
}
