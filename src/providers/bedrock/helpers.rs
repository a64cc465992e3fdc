//! The commands AWS users configure: a profile's `credential_process`, Claude Code's
//! `awsCredentialExport` (cached in the secret store until 5 minutes, or half their
//! lifetime when shorter, before the credentials expire) and `awsAuthRefresh` (run when
//! the check fails for want of credentials, its output shown). Each starts from
//! `process::command` (no secret in its environment), without a shell unless the line
//! needs one, and is killed at its timeout.

use super::credentials::AccessKeys;
use crate::context::Context;
use crate::error::AuthError;
use crate::secret::{Secret, SecretJson};
use crate::time::UnixTime;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The store item caching `awsCredentialExport`'s keys.
pub(crate) const ITEM: &str = "cache:aws-credential-export";
/// The plain file earlier versions cached them in (removed on sight).
pub(crate) const LEGACY_FILE: &str = "aws-credential-export.json";
/// Cached credentials are used until this long before they expire; those that live less
/// than twice this, until half their lifetime before ([`crate::limits::refresh_margin`]).
const MARGIN: Duration = Duration::from_secs(300);
/// The cache entry's field for when the command gave the keys (absent in entries written by
/// earlier versions, which get the fixed margin).
const ISSUED_AT: &str = "IssuedAt";
/// `awsAuthRefresh` may wait for a person (`aws sso login` opens a browser).
const REFRESH_TIMEOUT: Duration = Duration::from_secs(300);
/// More output than any credential document needs.
const OUTPUT_LIMIT: u64 = 64 * 1024;

/// `line` as a command: split on blanks, or `sh -c line` when it holds quotes, variables,
/// pipes, redirections or globs.
fn build(ctx: &Context, line: &str, setting: &str) -> Result<Command, AuthError> {
    let needs_shell = line
        .chars()
        .any(|c| "|&;<>()$`\\\"'*?[]#~%{}\n".contains(c));
    if needs_shell {
        let mut command = crate::process::helper_command(&ctx.env, "sh", setting)?;
        command.arg("-c").arg(line);
        return Ok(command);
    }
    let mut words = line.split_whitespace();
    let program = words
        .next()
        .ok_or_else(|| AuthError::config("the AWS credential command is empty"))?;
    let mut command = crate::process::helper_command(&ctx.env, program, setting)?;
    command.args(words);
    Ok(command)
}

/// The error for a run that did not end in time or could not be waited for.
fn run_error(err: crate::process::RunError, timeout: Duration, setting: &str) -> AuthError {
    match err {
        crate::process::RunError::TimedOut => AuthError::provider(format!(
            "{setting} did not finish within {} s and was stopped",
            timeout.as_secs().max(1)
        ))
        .with_hint(format!(
            "run the {setting} command by hand to see why it hangs"
        )),
        crate::process::RunError::Spawn(e) => {
            AuthError::config(format!("cannot start the {setting} command"))
                .caused_by(e)
                .with_hint(format!("check the {setting} value and PATH"))
        }
        crate::process::RunError::Wait(e) => {
            AuthError::provider(format!("{setting} failed")).caused_by(e)
        }
    }
}

/// Runs `line` and reads the credentials JSON it prints.
///
/// # Errors
/// `config_error` when it cannot start; `provider_error` when it fails, times out or prints
/// something else (never shown: it may hold a secret).
pub(crate) fn process(ctx: &Context, line: &str, setting: &str) -> Result<AccessKeys, AuthError> {
    let timeout = crate::process::helper_timeout(&ctx.env, ctx.budget().total);
    let (status, output) =
        crate::process::output_within(build(ctx, line, setting)?, timeout, OUTPUT_LIMIT, |_| {})
            .map_err(|e| run_error(e, timeout, setting))?;
    let mut output = output;
    let output = Secret::new(std::mem::take(&mut *output));
    let succeeded = status.success();
    if !succeeded {
        return Err(
            AuthError::provider(format!("the {setting} command failed")).with_hint(format!(
                "run it by hand to see why: {}",
                crate::resolve::helper::shown(line)
            )),
        );
    }
    let value = SecretJson::parse(output.expose()).map_err(|_| {
        AuthError::provider(format!(
            "the {setting} command printed something other than JSON"
        ))
        .with_hint("it must print {\"Version\":1,\"AccessKeyId\":…,\"SecretAccessKey\":…}")
    })?;
    super::fetch::parse_keys(value.expose(), &format!("the {setting} command"))
}

/// `awsCredentialExport`: the cached credentials while they last, else the command's.
///
/// # Security
/// The cache is an item of the configured secret store ([`ITEM`]), like apiKeyHelper's:
/// AWS keys are never written to a plain file. The plain file earlier versions wrote is
/// removed on sight.
///
/// # Errors
/// As [`process`]. A cache that cannot be written is only reported (`--verbose`).
pub(crate) fn export(ctx: &Context, line: &str) -> Result<AccessKeys, AuthError> {
    remove_legacy_file(ctx);
    let fingerprint = command_id(line);
    if let Some(keys) = cached(ctx, &fingerprint) {
        ctx.detail("bedrock: awsCredentialExport answered from its cache");
        return Ok(keys);
    }
    let issued = ctx.clock.now();
    let keys = process(ctx, line, "awsCredentialExport")?;
    // Keys that have already expired are not worth a store write.
    if let Some(expires) = keys.expires.filter(|&e| e > issued) {
        if let Err(err) = save(ctx, &fingerprint, &keys, (issued, expires)) {
            ctx.detail(&format!(
                "bedrock: awsCredentialExport output not cached ({})",
                err.message()
            ));
        }
    }
    Ok(keys)
}

/// The cached keys of the command `fingerprint` while they are good for their margin more.
fn cached(ctx: &Context, fingerprint: &str) -> Option<AccessKeys> {
    // Only look when the index lists it: no keychain unlock for nothing.
    let listed = ctx
        .store()
        .index()
        .is_ok_and(|index| index.items.contains_key(ITEM));
    if !listed {
        return None;
    }
    let stored = ctx.store().get(ITEM).ok().flatten()?;
    let value = SecretJson::parse(stored.expose().as_bytes()).ok()?;
    let value = value.expose();
    if value.get("command").and_then(|c| c.as_str()) != Some(fingerprint) {
        return None;
    }
    let keys = super::fetch::parse_keys(value, "the cache").ok()?;
    let issued = value
        .get(ISSUED_AT)
        .and_then(serde_json::Value::as_u64)
        .map(UnixTime::from_secs);
    let expires = keys.expires?;
    let margin = crate::limits::refresh_margin(MARGIN, issued, expires);
    (expires > ctx.clock.now() + margin).then_some(keys)
}

fn save(
    ctx: &Context,
    fingerprint: &str,
    keys: &AccessKeys,
    (issued, expires): (UnixTime, UnixTime),
) -> Result<(), AuthError> {
    let document = SecretJson::new(serde_json::json!({
        "command": fingerprint,
        "AccessKeyId": keys.access_key_id,
        "SecretAccessKey": keys.secret_access_key.expose(),
        "SessionToken": keys.session_token.as_ref().map(|t| t.expose()),
        "Expiration": expires.to_chrono().map(|t| t.to_rfc3339()),
        ISSUED_AT: issued.as_secs(),
    }));
    let value = document.to_text().map_err(|e| {
        AuthError::internal("cannot encode the awsCredentialExport cache").caused_by(e)
    })?;
    let meta = crate::storage::ItemMeta {
        fingerprint: crate::secret::Fingerprint::of(keys.secret_access_key.expose()).to_string(),
        created_at: ctx.clock.now(),
        rotated_at: None,
        previous_fingerprint: None,
        helper_digest: None,
    };
    let lock = ctx.lock()?;
    ctx.store().put(ITEM, &value, meta, &lock)
}

/// Earlier versions cached the keys in a plain file in the state directory: gone now.
fn remove_legacy_file(ctx: &Context) {
    let path = ctx.state_dir.join(LEGACY_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => ctx.detail(&format!(
            "bedrock: removed the plain-file awsCredentialExport cache {}",
            path.display()
        )),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => ctx.warn(&format!(
            "cannot remove {}, which may hold AWS keys: {err}",
            path.display()
        )),
    }
}

/// A hash of the command line, so a changed command does not reuse another's credentials.
fn command_id(line: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(line.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `awsAuthRefresh`: runs the command with its output on our stderr (it may show a code to
/// type in a browser), waiting up to 5 minutes.
///
/// # Errors
/// `provider_error` when it cannot start, fails or times out.
pub(crate) fn refresh(ctx: &Context, line: &str) -> Result<(), AuthError> {
    ctx.warn(&format!(
        "running awsAuthRefresh: {}",
        crate::resolve::helper::shown(line)
    ));
    let mut command = build(ctx, line, "awsAuthRefresh")?;
    command
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::from(std::io::stderr()));
    let timeout = crate::process::helper_timeout(&ctx.env, REFRESH_TIMEOUT);
    let status = crate::process::status_within(command, timeout)
        .map_err(|e| run_error(e, timeout, "awsAuthRefresh"))?;
    if !status.success() {
        return Err(
            AuthError::provider("the awsAuthRefresh command failed").with_hint(format!(
                "run it by hand: {}",
                crate::resolve::helper::shown(line)
            )),
        );
    }
    Ok(())
}
