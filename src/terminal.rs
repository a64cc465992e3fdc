//! The terminal as an edge: whether stdin and stderr are terminals, hidden prompts, and
//! reading what the user pipes or types. Commands reach it only through `Context`, so a
//! test can script the user's side without a pseudo-terminal.

use crate::secret::Secret;
use std::io::{BufRead, IsTerminal, Read};
use tokio::sync::mpsc;

/// What a command may ask of the user's terminal.
pub trait Terminal {
    /// True when stdin is a terminal (a person, not a pipe).
    fn stdin_is_tty(&self) -> bool;

    /// True when stderr is a terminal (prompts, spinners and questions can be shown).
    fn stderr_is_tty(&self) -> bool;

    /// Shows `prompt` on the terminal and reads a line without echoing it.
    ///
    /// # Errors
    /// The terminal's own failure (closed, interrupted).
    fn hidden_prompt(&self, prompt: &str) -> std::io::Result<Secret<String>>;

    /// Reads stdin to its end, at most `limit` bytes.
    ///
    /// # Errors
    /// What reading stdin reports.
    fn read_stdin(&self, limit: u64) -> std::io::Result<Vec<u8>>;

    /// Reads one line of stdin (an answer to a question).
    ///
    /// # Errors
    /// What reading stdin reports.
    fn read_line(&self) -> std::io::Result<String>;

    /// The non-empty lines of stdin as they arrive (pasted addresses), read on a thread of
    /// their own since stdin has no async reader here; the channel closes at end of input.
    fn lines(&self) -> mpsc::Receiver<String>;

    /// The width of the terminal stdout writes to, in columns (`None`: not a terminal).
    fn stdout_width(&self) -> Option<usize> {
        None
    }
}

/// Whether the process's stdout and stderr are terminals, for [`crate::style`]'s colour
/// decision (made once, before any handler runs).
pub fn output_streams_are_ttys() -> (bool, bool) {
    (
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal(),
    )
}

/// The process's own terminal.
pub struct SystemTerminal;

impl Terminal for SystemTerminal {
    fn stdin_is_tty(&self) -> bool {
        std::io::stdin().is_terminal()
    }

    fn stderr_is_tty(&self) -> bool {
        std::io::stderr().is_terminal()
    }

    fn hidden_prompt(&self, prompt: &str) -> std::io::Result<Secret<String>> {
        rpassword::prompt_password(prompt).map(Secret::new)
    }

    fn read_stdin(&self, limit: u64) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn read_line(&self) -> std::io::Result<String> {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line)
    }

    fn lines(&self) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel(4);
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut line = String::new();
            while stdin.read_line(&mut line).unwrap_or(0) > 0 {
                if !line.trim().is_empty() && tx.blocking_send(line.trim().to_string()).is_err() {
                    return;
                }
                line.clear();
            }
        });
        rx
    }

    fn stdout_width(&self) -> Option<usize> {
        terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
    }
}

/// A terminal whose user's side is scripted: unit tests of prompts and questions.
#[cfg(test)]
pub struct ScriptedTerminal {
    pub tty: bool,
    /// What the user types at a hidden prompt, or pipes on stdin.
    pub input: String,
}

#[cfg(test)]
impl Terminal for ScriptedTerminal {
    fn stdin_is_tty(&self) -> bool {
        self.tty
    }

    fn stderr_is_tty(&self) -> bool {
        self.tty
    }

    fn hidden_prompt(&self, _prompt: &str) -> std::io::Result<Secret<String>> {
        Ok(Secret::new(self.input.clone()))
    }

    fn read_stdin(&self, limit: u64) -> std::io::Result<Vec<u8>> {
        let bytes = self.input.as_bytes();
        Ok(bytes[..bytes.len().min(limit as usize)].to_vec())
    }

    fn read_line(&self) -> std::io::Result<String> {
        Ok(self.input.lines().next().unwrap_or("").to_string() + "\n")
    }

    fn lines(&self) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel(16);
        for line in self.input.lines().filter(|l| !l.trim().is_empty()) {
            let _ = tx.try_send(line.trim().to_string());
        }
        rx
    }
}
