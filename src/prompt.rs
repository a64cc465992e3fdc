//! Reading a secret from the user: argv (with a warning), stdin, or a hidden prompt.

use crate::context::Context;
use crate::error::AuthError;
use crate::secret::Secret;
use std::io::{IsTerminal, Read};

/// Largest secret read from stdin.
const MAX_INPUT: u64 = 8 * 1024;

/// The secret for a flag that takes `[VALUE|-]`.
///
/// `Some("-")`: stdin. `Some(value)`: argv, with a warning that `ps` shows it. `None`: a
/// hidden prompt on a terminal, stdin otherwise.
///
/// # Errors
/// `usage` when there is no input; `cancelled` when the prompt is abandoned.
pub fn read_secret(
    ctx: &Context,
    arg: Option<&Secret<String>>,
    flag: &str,
    what: &str,
) -> Result<Secret<String>, AuthError> {
    match arg.map(|a| a.expose().as_str()) {
        Some("-") => read_stdin(flag, what),
        Some(value) => {
            ctx.warn(&format!(
                "the {what} was given on the command line, where other users can see it (`ps`, shell history); \
                 next time run `{flag}` for a hidden prompt or pipe it: `… | claude {flag} -`"
            ));
            Ok(Secret::new(value.to_string()))
        }
        None if std::io::stdin().is_terminal() => {
            let value =
                rpassword::prompt_password(format!("Paste your {what} (input is hidden): "))
                    .map_err(|e| AuthError::cancelled("no input was read").caused_by(e))?;
            Ok(Secret::new(value))
        }
        None => read_stdin(flag, what),
    }
}

/// Reads all of stdin (at most 8 KiB) as one secret.
pub fn read_stdin(flag: &str, what: &str) -> Result<Secret<String>, AuthError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(AuthError::usage(format!("`{flag} -` reads the {what} from stdin, but stdin is a terminal"))
            .with_hint(format!("pipe it in (`echo \"$KEY\" | claude {flag} -`) or run `claude {flag}` for a hidden prompt")));
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .take(MAX_INPUT)
        .read_to_end(&mut bytes)
        .map_err(|e| AuthError::usage(format!("cannot read the {what} from stdin")).caused_by(e))?;
    let text = String::from_utf8(bytes).map_err(|err| {
        let mut bytes = err.into_bytes();
        zeroize::Zeroize::zeroize(&mut bytes);
        AuthError::usage(format!("the {what} on stdin is not text"))
    })?;
    let secret = Secret::new(text);
    if secret.expose().trim().is_empty() {
        return Err(
            AuthError::usage(format!("stdin was empty; no {what} was read")).with_hint(format!(
                "pipe the {what} in: `echo \"$KEY\" | claude {flag} -`"
            )),
        );
    }
    Ok(secret)
}
