//! Every child process the binary starts comes from [`command`], which starts it without the
//! environment variables that hold secrets: a browser or helper outlives the login and can be
//! inspected (`/proc/PID/environ`), crash-reported or logged by tools we do not control.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

/// Variables that hold a secret under a name no pattern below catches.
const SECRET_NAMES: [&str; 3] = ["CLAUDE_MFA_CODE", "GOOGLE_OAUTH_ACCESS_TOKEN", "NETRC"];
/// Name endings of variables that conventionally hold secrets (`ANTHROPIC_API_KEY`,
/// `GH_TOKEN`, `AWS_SESSION_TOKEN`, `AWS_BEARER_TOKEN_BEDROCK`, `AWS_SECRET_ACCESS_KEY`, …).
const SECRET_ENDINGS: [&str; 6] = ["_KEY", "_TOKEN", "_PAT", "_CREDENTIALS", "_CODE", "_AUTH"];
/// Name parts that mark a secret wherever they appear (`CLAUDE_PASSPHRASE`, `DB_PASSWORD`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_BEARER_TOKEN_BEDROCK`).
const SECRET_PARTS: [&str; 5] = ["SECRET", "PASSWORD", "PASSPHRASE", "BEARER", "API_KEY"];
/// Names that end like a secret but are paths or switches a child needs.
const NOT_SECRET: [&str; 2] = ["GOOGLE_APPLICATION_CREDENTIALS", "SSH_AUTH_SOCK"];

/// True when the variable `name` may hold a credential and must not reach a child.
pub fn is_secret_variable(name: &OsStr) -> bool {
    let upper = name.to_string_lossy().to_ascii_uppercase();
    if NOT_SECRET.contains(&upper.as_str()) {
        return false;
    }
    SECRET_NAMES.contains(&upper.as_str())
        || SECRET_ENDINGS.iter().any(|end| upper.ends_with(end))
        || SECRET_PARTS.iter().any(|part| upper.contains(part))
}

/// A `Command` for `program` whose environment is ours minus every secret variable, with
/// stdin, stdout and stderr detached (a child must not read the user's paste or print over
/// the prompt).
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if is_secret_variable(&name) {
            command.env_remove(&name);
        }
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_secret_variables() {
        for name in [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_ADMIN_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "CLAUDE_PASSPHRASE",
            "CLAUDE_MFA_CODE",
            "CLAUDE_CODE_OAUTH_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_BEARER_TOKEN_BEDROCK",
            "GH_TOKEN",
            "GITHUB_TOKEN",
            "GOOGLE_OAUTH_ACCESS_TOKEN",
            "aws_secret_access_key",
        ] {
            assert!(is_secret_variable(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn what_a_browser_needs_is_kept() {
        for name in [
            "PATH",
            "HOME",
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "DBUS_SESSION_BUS_ADDRESS",
            "XDG_RUNTIME_DIR",
            "LANG",
            "SSH_AUTH_SOCK",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "AWS_REGION",
        ] {
            assert!(!is_secret_variable(OsStr::new(name)), "{name}");
        }
    }
}
