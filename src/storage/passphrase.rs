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
    if !creating {
        let given = ask("Passphrase for the encrypted credential store: ")?;
        if given.expose().is_empty() {
            return Err(AuthError::usage("the passphrase is empty")
                .with_hint("type a passphrase, or set CLAUDE_PASSPHRASE"));
        }
        return Ok(given);
    }
    // A refused new passphrase is asked for again, here: what the command already has (a
    // key typed at its own prompt, and checked by the API) is not lost to a typo.
    let mut tries = 1;
    loop {
        let refused = match new_passphrase(&ask)? {
            Ok(passphrase) => return Ok(passphrase),
            Err(refused) => refused,
        };
        if tries == NEW_PASSPHRASE_TRIES {
            return Err(refused.with_hint(format!(
                "{NEW_PASSPHRASE_TRIES} tries were refused and nothing was written: run the \
                 command again and type {MIN_PASSPHRASE_CHARS} characters or more, the same \
                 twice (a few unrelated words are easy to remember), or set CLAUDE_PASSPHRASE"
            )));
        }
        tries += 1;
        crate::output::notice(&format!(
            "{}; try again ({} of {NEW_PASSPHRASE_TRIES})",
            refused.message(),
            tries
        ));
    }
}

/// How many times a new passphrase is asked for at the prompt before the command gives up.
pub const NEW_PASSPHRASE_TRIES: u32 = 3;

/// One try at a new passphrase: typed, checked against the rule (before the repeat, so
/// nobody types a refused passphrase twice), then repeated. `Ok(Err(why))`: refused, may be
/// asked again; `Err`: the prompt itself failed (no input), which ends the command.
fn new_passphrase(
    ask: &dyn Fn(&str) -> Result<Secret<String>, AuthError>,
) -> Result<Result<Secret<String>, AuthError>, AuthError> {
    let first = ask("Passphrase for the new encrypted credential store: ")?;
    if first.expose().is_empty() {
        return Ok(Err(AuthError::usage("the passphrase is empty")));
    }
    if let Err(refused) = long_enough(&first, "the passphrase") {
        return Ok(Err(refused));
    }
    let second = ask("Repeat the passphrase: ")?;
    if second.expose() != first.expose() {
        return Ok(Err(AuthError::usage("the two passphrases differ")));
    }
    Ok(Ok(first))
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
        // No "run the command again" here: callers say what was (not) done and that.
        err.with_hint(format!(
            "set CLAUDE_PASSPHRASE to a passphrase of {MIN_PASSPHRASE_CHARS} characters \
             or more (a few unrelated words are easy to remember)"
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

    /// A terminal whose hidden prompt answers from a list, counting the prompts.
    struct Typing {
        answers: std::cell::RefCell<std::collections::VecDeque<&'static str>>,
    }

    impl Typing {
        fn new(answers: &[&'static str]) -> Typing {
            Typing {
                answers: std::cell::RefCell::new(answers.iter().copied().collect()),
            }
        }

        fn left(&self) -> usize {
            self.answers.borrow().len()
        }
    }

    impl Terminal for Typing {
        fn stdin_is_tty(&self) -> bool {
            true
        }
        fn stderr_is_tty(&self) -> bool {
            true
        }
        fn hidden_prompt(&self, _prompt: &str) -> std::io::Result<Secret<String>> {
            let next = self.answers.borrow_mut().pop_front();
            next.map(|a| Secret::new(a.to_string()))
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
        }
        fn read_stdin(&self, _limit: u64) -> std::io::Result<Vec<u8>> {
            Ok(Vec::new())
        }
        fn read_line(&self) -> std::io::Result<String> {
            Ok(String::new())
        }
        fn lines(&self) -> tokio::sync::mpsc::Receiver<String> {
            tokio::sync::mpsc::channel(1).1
        }
    }

    #[test]
    fn a_refused_new_passphrase_is_asked_again_up_to_three_times() {
        let path = Path::new("credentials.enc");
        // Short, then differing, then right: the third try is taken.
        let typed = Typing::new(&[
            "short",
            "twelve chars",
            "twelve charz",
            "twelve chars",
            "twelve chars",
        ]);
        let got = passphrase(path, true, None, &typed).unwrap();
        assert_eq!(got.expose(), "twelve chars");
        assert_eq!(typed.left(), 0);
        // Three refusals end it: usage, nothing more asked.
        let typed = Typing::new(&["short", "", "also short", "never asked"]);
        let err = passphrase(path, true, None, &typed).unwrap_err();
        assert_eq!(err.code(), crate::error::ErrorCode::Usage);
        assert!(err.hint().unwrap().contains("3 tries"), "{:?}", err.hint());
        assert_eq!(typed.left(), 1);
        // An existing file's passphrase is asked once: a wrong one is for the KDF to find.
        let typed = Typing::new(&["short", "more"]);
        assert_eq!(
            passphrase(path, false, None, &typed).unwrap().expose(),
            "short"
        );
        assert_eq!(typed.left(), 1);
    }

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
