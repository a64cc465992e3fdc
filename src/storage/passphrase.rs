//! Passphrases for the `encrypted-file` store: where they come from (`CLAUDE_PASSPHRASE`
//! or a hidden prompt) and the rule a new store's passphrase must meet.

use crate::error::AuthError;
use crate::secret::Secret;
use crate::terminal::Terminal;
use std::path::Path;

/// The shortest passphrase a new store accepts, in characters (not bytes). Argon2id slows
/// each guess down, but a stolen file can be attacked offline for as long as it takes, so
/// the passphrase itself must be long. Existing files open whatever their passphrase.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// The passphrase: `CLAUDE_PASSPHRASE`, else a hidden prompt on the terminal. When
/// `creating`, it must be at least [`MIN_PASSPHRASE_CHARS`] long.
pub(super) fn passphrase(
    path: &Path,
    creating: bool,
    from_env: Option<&Secret<String>>,
    terminal: &dyn Terminal,
) -> Result<Secret<String>, AuthError> {
    if let Some(value) = from_env {
        if creating {
            env_usable_for_new(value)?;
        } else if value.expose().is_empty() {
            return Err(empty_env());
        }
        return Ok(value.clone());
    }
    if !terminal.stderr_is_tty() {
        return Err(AuthError::storage(format!(
            "{} needs a passphrase and there is no terminal to ask on",
            path.display()
        ))
        .with_hint("set CLAUDE_PASSPHRASE for scripts and CI"));
    }
    let ask = |prompt: &str| -> Result<Secret<String>, AuthError> {
        terminal
            .hidden_prompt(prompt)
            .map_err(|e| AuthError::cancelled("no passphrase was entered").caused_by(e))
    };
    let first = ask("Passphrase for the encrypted credential store: ")?;
    if first.expose().is_empty() {
        return Err(AuthError::usage("the passphrase is empty")
            .with_hint("type a passphrase, or set CLAUDE_PASSPHRASE"));
    }
    if creating {
        // Checked before the repeat, so nobody types a refused passphrase twice.
        long_enough(&first, "the passphrase").map_err(|err| {
            err.with_hint(format!(
                "run the command again and type {MIN_PASSPHRASE_CHARS} characters or more \
                 (a few unrelated words are easy to remember), or set CLAUDE_PASSPHRASE"
            ))
        })?;
        let second = ask("Repeat the passphrase: ")?;
        if second.expose() != first.expose() {
            return Err(
                AuthError::usage("the two passphrases differ").with_hint("run the command again")
            );
        }
    }
    Ok(first)
}

/// Checks `CLAUDE_PASSPHRASE` as the passphrase of a new store, before anything is sent or
/// written: not empty, at least [`MIN_PASSPHRASE_CHARS`] characters.
///
/// # Errors
/// `storage_error` (empty) or `usage` (too short), with a hint naming CLAUDE_PASSPHRASE.
pub(super) fn env_usable_for_new(value: &Secret<String>) -> Result<(), AuthError> {
    if value.expose().is_empty() {
        return Err(empty_env());
    }
    long_enough(value, "CLAUDE_PASSPHRASE").map_err(|err| {
        err.with_hint(format!(
            "set CLAUDE_PASSPHRASE to a passphrase of {MIN_PASSPHRASE_CHARS} characters \
             or more (a few unrelated words are easy to remember), then run the \
             command again"
        ))
    })
}

fn empty_env() -> AuthError {
    AuthError::storage("CLAUDE_PASSPHRASE is set but empty")
        .with_hint("set it to your passphrase, or unset it to be prompted")
}

/// Refuses a new passphrase under [`MIN_PASSPHRASE_CHARS`] characters; `what` names where
/// it came from. The error never shows the passphrase or its length.
fn long_enough(passphrase: &Secret<String>, what: &str) -> Result<(), AuthError> {
    if passphrase.expose().chars().count() >= MIN_PASSPHRASE_CHARS {
        return Ok(());
    }
    Err(AuthError::usage(format!(
        "{what} is too short: a new encrypted store needs a passphrase of at least \
         {MIN_PASSPHRASE_CHARS} characters"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passphrases_are_counted_in_characters() {
        let check = |p: &str| long_enough(&Secret::new(p.to_string()), "it");
        assert!(check("eleven char").is_err());
        // 11 characters in 22 bytes: still too short.
        assert!(check("ééééééééééé").is_err());
        assert!(check("twelve chars").is_ok());
        let err = check("p4ss").unwrap_err();
        assert_eq!(err.code(), crate::error::ErrorCode::Usage);
        assert!(!err.message().contains("p4ss"), "{}", err.message());
    }
}
