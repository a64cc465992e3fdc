//! Claude Code's `apiKeyHelper`: a command whose standard output is the API key. It runs
//! without a shell unless its text needs one ([`needs_shell`]), in the secret-free
//! environment of [`crate::process::command`], with a timeout and a warning when it is
//! slow. Its output is reused for `CLAUDE_CODE_API_KEY_HELPER_TTL_MS` (default 5 min) from
//! the configured secret store (item `cache:api-key-helper`): a key on disk is only ever in
//! the store, never in a plain file. Offline status never runs it.

use crate::config::claude_code::{Helper, Origin};
use crate::context::Context;
use crate::envvars;
use crate::error::AuthError;
use crate::secret::{Fingerprint, Secret};
use crate::storage::ItemMeta;
use crate::time::{UnixMillis, UnixTime};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The store item holding the helper's last output.
pub const ITEM: &str = "cache:api-key-helper";
/// Claude Code's default: five minutes.
const DEFAULT_TTL_MS: u64 = 300_000;
/// After this, the user is told the helper is still running (as Claude Code does).
const SLOW: Duration = Duration::from_secs(10);
/// A helper that has not answered by then is stopped: a key is never worth a hung command.
const TIMEOUT: Duration = Duration::from_secs(60);
/// A key is a few hundred bytes; more output than this is not a key.
const MAX_OUTPUT: u64 = 64 * 1024;

/// The helper's command as the user can be shown it: one line, control characters
/// escaped, and any word that looks like a credential masked.
pub fn shown(command: &str) -> String {
    let masked: Vec<String> = command
        .split(' ')
        .map(|word| {
            let bare = word.trim_matches(|c| c == '"' || c == '\'');
            // A path (the helper's own program, often long) is judged one segment at a
            // time, so it stays readable while a random segment in it is still masked.
            if ["/", "~/", "./", "../"].iter().any(|p| bare.starts_with(p)) {
                return crate::redact::scrub_secrets(word);
            }
            let long_token = bare.len() >= 32
                && bare
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.=+/".contains(c));
            if bare.starts_with("sk-ant-") || long_token {
                // The quotes around it stay, so the command still reads as written.
                word.replacen(bare, Fingerprint::of(bare).as_str(), 1)
            } else {
                // `x-api-key:sk-ant-…`, `-u me:ghp_…`, `?token=…`: a credential inside a
                // word, found by the error masker's rules.
                crate::redact::scrub_secrets(word)
            }
        })
        .collect();
    crate::terminal_text::single_line(&masked.join(" "))
}

/// Whether `command` needs `sh -c`: quoting, expansion, redirection, pipes, lists, globs,
/// comments or a leading `VAR=value`. Anything else is split on white space and run as
/// program and arguments, so no shell interprets it.
pub fn needs_shell(command: &str) -> bool {
    const SPECIAL: &str = "|&;<>()$`\\\"'*?[]#~{}\n";
    command.chars().any(|c| SPECIAL.contains(c))
        || command
            .split_whitespace()
            .next()
            .is_some_and(|w| w.contains('='))
}

/// How long the helper's output is reused (the variable counts milliseconds).
fn ttl(ctx: &Context) -> Duration {
    let ms = ctx
        .env
        .get(envvars::CLAUDE_CODE_API_KEY_HELPER_TTL_MS)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_TTL_MS);
    Duration::from_millis(ms)
}

/// Until when output stored at `created_at` is reused (to the second).
pub fn cached_until(ctx: &Context, created_at: UnixTime) -> UnixTime {
    created_at + ttl(ctx)
}

#[derive(Deserialize)]
struct Cached {
    #[serde(deserialize_with = "secret")]
    key: Secret<String>,
    expires_at_ms: UnixMillis,
    command: String,
}

#[derive(Serialize)]
struct ToCache<'a> {
    key: &'a str,
    expires_at_ms: UnixMillis,
    command: &'a str,
}

fn secret<'de, D: Deserializer<'de>>(de: D) -> Result<Secret<String>, D::Error> {
    String::deserialize(de).map(Secret::new)
}

/// Identifies the command in the cache: a changed helper never reuses an old key.
pub fn digest(command: &str) -> String {
    Sha256::digest(command.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key from `command`: the cached output while it is fresh, else the command's.
///
/// # Errors
/// `config_error` when the helper cannot start, fails, times out or prints nothing.
pub fn key(ctx: &Context, found: &Helper) -> Result<Secret<String>, AuthError> {
    let command = found.command.as_str();
    let now = ctx.clock.now().as_millis();
    if let Some(key) = lookup(ctx, command, now) {
        return Ok(key);
    }
    let key = run(ctx, found)?;
    let ttl = ttl(ctx);
    if !ttl.is_zero() {
        save(ctx, command, &key, now + ttl);
    }
    Ok(key)
}

/// Drops the cached output (the API refused it) and runs the helper again.
///
/// # Errors
/// As [`key`].
pub fn rerun(ctx: &Context, found: &Helper) -> Result<Secret<String>, AuthError> {
    forget(ctx);
    key(ctx, found)
}

fn lookup(ctx: &Context, command: &str, now: UnixMillis) -> Option<Secret<String>> {
    // Only look when the index lists it: no keychain unlock for nothing.
    let listed = ctx
        .store()
        .index()
        .is_ok_and(|index| index.items.contains_key(ITEM));
    if !listed {
        return None;
    }
    let stored = ctx.store().get(ITEM).ok().flatten()?;
    let cached: Cached = serde_json::from_str(stored.expose()).ok()?;
    if cached.command != digest(command) || cached.expires_at_ms <= now {
        return None;
    }
    ctx.detail(&format!(
        "apiKeyHelper: using its cached output {}",
        Fingerprint::of(cached.key.expose())
    ));
    Some(cached.key)
}

fn save(ctx: &Context, command: &str, key: &Secret<String>, expires_at_ms: UnixMillis) {
    let saved = ctx.lock().and_then(|lock| {
        let digest = digest(command);
        let value = crate::secret::to_secret_json(&ToCache {
            key: key.expose(),
            expires_at_ms,
            command: &digest,
        })
        .map_err(|e| AuthError::internal("cannot encode the apiKeyHelper cache").caused_by(e))?;
        let meta = ItemMeta {
            fingerprint: Fingerprint::of(key.expose()).to_string(),
            created_at: ctx.clock.now(),
            rotated_at: None,
            previous_fingerprint: None,
            helper_digest: Some(digest.clone()),
        };
        ctx.store().put(ITEM, &value, meta, &lock)
    });
    if let Err(err) = saved {
        ctx.detail(&format!(
            "apiKeyHelper: output not cached ({})",
            err.message()
        ));
    }
}

fn forget(ctx: &Context) {
    let removed = ctx.lock().and_then(|lock| ctx.store().remove(ITEM, &lock));
    if let Err(err) = removed {
        ctx.detail(&format!(
            "apiKeyHelper: cannot drop its cache ({})",
            err.message()
        ));
    }
}

/// The slow-helper threshold; debug builds let tests shorten it.
fn slow_after(ctx: &Context) -> Duration {
    if cfg!(debug_assertions) {
        if let Some(ms) = ctx
            .env
            .get(envvars::CLAUDE_TEST_HELPER_SLOW_MS)
            .and_then(|v| v.parse().ok())
        {
            return Duration::from_millis(ms);
        }
    }
    SLOW
}

/// Runs the helper once and returns its trimmed standard output.
fn run(ctx: &Context, found: &Helper) -> Result<Secret<String>, AuthError> {
    let command = found.command.as_str();
    let shown = shown(command);
    let fix = match &found.origin {
        Origin::Own => format!(
            "run the command yourself to see why, or fix `apiKeyHelper` in {}",
            ctx.loaded.path.display()
        ),
        Origin::Settings(path) => format!(
            "run the command yourself to see why, or fix `apiKeyHelper` in {}",
            path.display()
        ),
        Origin::Managed(path) => format!(
            "run the command yourself to see why; `apiKeyHelper` is set by managed settings {}, which only an administrator can change",
            path.display()
        ),
    };
    let child = if needs_shell(command) {
        let mut c = crate::process::helper_command(&ctx.env, "sh", "apiKeyHelper")?;
        c.arg("-c").arg(command);
        c
    } else {
        let mut words = command.split_whitespace();
        let program = words.next().unwrap_or_default();
        let mut c = crate::process::helper_command(&ctx.env, program, "apiKeyHelper")?;
        c.args(words);
        c
    };
    ctx.detail(&format!("apiKeyHelper: running `{shown}`"));
    let slow = slow_after(ctx);
    let timeout = crate::process::helper_timeout(&ctx.env, TIMEOUT);
    let mut warned = false;
    let ran = crate::process::output_within(child, timeout, MAX_OUTPUT + 1, |elapsed| {
        if !warned && elapsed >= slow {
            warned = true;
            ctx.warn(&format!(
                "apiKeyHelper `{shown}` is taking longer than {} s",
                slow.as_secs().max(1)
            ));
        }
    });
    let (status, out) = match ran {
        Ok(done) => done,
        Err(crate::process::RunError::TimedOut) => {
            return Err(AuthError::config(format!(
                "apiKeyHelper `{shown}` did not finish within {} s and was stopped",
                timeout.as_secs().max(1)
            ))
            .with_hint(fix))
        }
        Err(crate::process::RunError::Spawn(e) | crate::process::RunError::Wait(e)) => {
            return Err(
                AuthError::config(format!("cannot run apiKeyHelper `{shown}`"))
                    .caused_by(e)
                    .with_hint(fix),
            )
        }
    };
    if !status.success() {
        return Err(
            AuthError::config(format!("apiKeyHelper `{shown}` failed ({status})")).with_hint(fix),
        );
    }
    if out.len() as u64 > MAX_OUTPUT {
        return Err(AuthError::config(format!(
            "apiKeyHelper `{shown}` printed more than 64 KiB: that is not a key"
        ))
        .with_hint(fix));
    }
    let text = String::from_utf8_lossy(&out).trim().to_string();
    if text.is_empty() {
        return Err(
            AuthError::config(format!("apiKeyHelper `{shown}` printed nothing")).with_hint(fix),
        );
    }
    Ok(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_commands_run_without_a_shell() {
        for plain in [
            "op read op://vault/anthropic/key",
            "/usr/bin/get-key --fresh",
            "vault kv get -field=key secret/x",
        ] {
            assert!(!needs_shell(plain), "{plain}");
        }
        for shell in [
            "echo $KEY",
            "cat ~/.key",
            "get-key | tr -d '\\n'",
            "a && b",
            "FOO=1 get-key",
            "get-key > /dev/null; echo x",
            "printf '%s' x",
        ] {
            assert!(needs_shell(shell), "{shell}");
        }
    }

    #[test]
    fn a_key_in_the_command_is_never_shown() {
        let masked = shown("echo sk-ant-api03-SECRETSECRETSECRETSECRET-abcd");
        assert!(!masked.contains("SECRETSECRET"), "{masked}");
        assert!(masked.starts_with("echo "));
        assert_eq!(shown("op read op://v/k"), "op read op://v/k");
        let path = "/home/someone/projects/tools/target/debug/claude --print-token";
        assert_eq!(shown(path), path, "a long path stays readable");
        // Quotes around a masked token are kept, so the command still reads as written.
        let quoted = shown(r#"curl -H "x-api-key: sk-ant-api03-SECRETSECRETSECRETSECRET-abcd""#);
        assert!(quoted.ends_with("…abcd\""), "{quoted}");
        assert!(!quoted.contains("SECRETSECRET"), "{quoted}");
    }
}
