//! The commands AWS users configure: a profile's `credential_process`, Claude Code's
//! `awsCredentialExport` (cached in the state directory until 5 minutes before the
//! credentials expire) and `awsAuthRefresh` (run when the check fails for want of
//! credentials, its output shown). Each starts from `process::command` (no secret in its
//! environment), without a shell unless the line needs one, and is killed at its timeout.

use super::credentials::AccessKeys;
use crate::context::Context;
use crate::error::AuthError;
use crate::secret::Secret;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The export cache in the state directory.
const CACHE_FILE: &str = "aws-credential-export.json";
/// Cached credentials are used until this long before they expire.
const MARGIN: u64 = 300;
/// `awsAuthRefresh` may wait for a person (`aws sso login` opens a browser).
const REFRESH_TIMEOUT: Duration = Duration::from_secs(300);
/// More output than any credential document needs.
const OUTPUT_LIMIT: u64 = 64 * 1024;

/// `line` as a command: split on blanks, or `sh -c line` when it holds quotes, variables,
/// pipes, redirections or globs.
fn build(ctx: &Context, line: &str) -> Result<Command, AuthError> {
    let needs_shell = line
        .chars()
        .any(|c| "|&;<>()$`\\\"'*?[]#~%{}\n".contains(c));
    if needs_shell {
        let mut command = crate::process::command(&ctx.env, "sh");
        command.arg("-c").arg(line);
        return Ok(command);
    }
    let mut words = line.split_whitespace();
    let program = words
        .next()
        .ok_or_else(|| AuthError::config("the AWS credential command is empty"))?;
    let mut command = crate::process::command(&ctx.env, program);
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
        crate::process::output_within(build(ctx, line)?, timeout, OUTPUT_LIMIT, |_| {})
            .map_err(|e| run_error(e, timeout, setting))?;
    let mut output = output;
    let output = Secret::new(std::mem::take(&mut *output));
    let succeeded = status.success();
    if !succeeded {
        return Err(AuthError::provider(format!("the {setting} command failed"))
            .with_hint(format!("run it by hand to see why: {line}")));
    }
    let value: serde_json::Value = serde_json::from_slice(output.expose()).map_err(|_| {
        AuthError::provider(format!(
            "the {setting} command printed something other than JSON"
        ))
        .with_hint("it must print {\"Version\":1,\"AccessKeyId\":…,\"SecretAccessKey\":…}")
    })?;
    super::fetch::parse_keys(&value, &format!("the {setting} command"))
}

/// `awsCredentialExport`: the cached credentials while they last, else the command's.
///
/// # Errors
/// As [`process`]; `storage_error` when the cache cannot be written.
pub(crate) fn export(ctx: &Context, line: &str) -> Result<AccessKeys, AuthError> {
    let path = ctx.state_dir.join(CACHE_FILE);
    let fingerprint = command_id(line);
    if let Ok(Some(bytes)) = crate::storage::atomic::read_private(&path) {
        let bytes = Secret::new(bytes);
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes.expose()) {
            let fresh = value.get("command").and_then(|c| c.as_str()) == Some(&fingerprint);
            if let (true, Ok(keys)) = (fresh, super::fetch::parse_keys(&value, "the cache")) {
                if keys.expires.is_some_and(|e| e > ctx.clock.now() + MARGIN) {
                    ctx.detail("bedrock: awsCredentialExport answered from its cache");
                    return Ok(keys);
                }
            }
        }
    }
    let keys = process(ctx, line, "awsCredentialExport")?;
    if let Some(expires) = keys.expires {
        let document = serde_json::json!({
            "command": fingerprint,
            "AccessKeyId": keys.access_key_id,
            "SecretAccessKey": keys.secret_access_key.expose(),
            "SessionToken": keys.session_token.as_ref().map(|t| t.expose()),
            "Expiration": chrono::DateTime::from_timestamp(i64::try_from(expires).unwrap_or(0), 0)
                .map(|t| t.to_rfc3339()),
        });
        let bytes = Secret::new(serde_json::to_vec(&document).unwrap_or_default());
        crate::storage::atomic::ensure_private_dir(&ctx.state_dir)?;
        let lock = ctx.lock()?;
        crate::storage::atomic::write_atomic(&path, bytes.expose(), &lock)?;
    }
    Ok(keys)
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
    ctx.warn(&format!("running awsAuthRefresh: {line}"));
    let mut command = build(ctx, line)?;
    command
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::from(std::io::stderr()));
    let timeout = crate::process::helper_timeout(&ctx.env, REFRESH_TIMEOUT);
    let status = crate::process::status_within(command, timeout)
        .map_err(|e| run_error(e, timeout, "awsAuthRefresh"))?;
    if !status.success() {
        return Err(AuthError::provider("the awsAuthRefresh command failed")
            .with_hint(format!("run it by hand: {line}")));
    }
    Ok(())
}
