//! Reading a secret from the user: argv (with a warning), stdin, or a hidden prompt.

use crate::context::Context;
use crate::error::AuthError;
use crate::secret::Secret;
use crate::terminal::Terminal;

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
        Some("-") => read_stdin(ctx.terminal.as_ref(), flag, what),
        Some(value) => {
            ctx.warn(&format!(
                "the {what} was given on the command line, where other users can see it (`ps`, shell history); \
                 next time run `{flag}` for a hidden prompt or pipe it: `… | claude {flag} -`"
            ));
            Ok(Secret::new(value.to_string()))
        }
        None if ctx.terminal.stdin_is_tty() => ctx
            .terminal
            .hidden_prompt(&format!("Paste your {what} (input is hidden): "))
            .map_err(|e| AuthError::cancelled("no input was read").caused_by(e)),
        None => read_stdin(ctx.terminal.as_ref(), flag, what),
    }
}

/// Reads all of stdin (at most 8 KiB) as one secret.
pub fn read_stdin(
    terminal: &dyn Terminal,
    flag: &str,
    what: &str,
) -> Result<Secret<String>, AuthError> {
    if terminal.stdin_is_tty() {
        return Err(AuthError::usage(format!("`{flag} -` reads the {what} from stdin, but stdin is a terminal"))
            .with_hint(format!("pipe it in (`echo \"$KEY\" | claude {flag} -`) or run `claude {flag}` for a hidden prompt")));
    }
    let bytes = terminal
        .read_stdin(MAX_INPUT)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envvars::Env;
    use crate::storage::memory::MemoryStore;
    use crate::terminal::ScriptedTerminal;
    use std::rc::Rc;

    const KEY: &str = "sk-ant-api03-PROMPTPROMPTPROMPTPR-p5P5";

    fn ctx(tty: bool, input: &str) -> Context {
        let mut ctx = Context::for_test(
            "{}",
            None,
            Env::default(),
            crate::time::UnixTime::EPOCH,
            MemoryStore::default(),
        );
        ctx.terminal = Rc::new(ScriptedTerminal {
            tty,
            input: input.to_string(),
        });
        ctx
    }

    #[test]
    fn a_person_gets_a_hidden_prompt_and_a_script_is_read_from_stdin() {
        let typed = read_secret(&ctx(true, KEY), None, "--set-api-key", "API key").unwrap();
        assert_eq!(typed.expose(), KEY);
        let piped = read_secret(&ctx(false, KEY), None, "--set-api-key", "API key").unwrap();
        assert_eq!(piped.expose(), KEY);
    }

    #[test]
    fn dash_on_a_terminal_and_empty_stdin_are_usage_errors_that_say_what_to_do() {
        let dash = Secret::new("-".to_string());
        let err =
            read_secret(&ctx(true, KEY), Some(&dash), "--set-api-key", "API key").unwrap_err();
        assert_eq!(err.code().as_str(), "usage");
        assert!(err.hint().unwrap().contains("claude --set-api-key -"));
        let err =
            read_secret(&ctx(false, "  \n"), Some(&dash), "--set-api-key", "API key").unwrap_err();
        assert!(
            err.message().contains("stdin was empty"),
            "{}",
            err.message()
        );
    }
}
