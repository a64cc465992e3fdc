//! Opening the system browser (never an embedded view), respecting `BROWSER`, `--no-browser`
//! and headless machines. The URL is always printed as well.

use std::process::{Command, Stdio};

/// Environment variables that hold credentials and must not reach a child process.
const SECRET_VARS: [&str; 6] = [
    "ANTHROPIC_API_KEY",
    "CLAUDE_PASSPHRASE",
    "CLAUDE_MFA_CODE",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
];

/// Opens `url`; `Err` says why no browser was opened.
pub fn open(url: &str, no_browser: bool) -> Result<(), String> {
    if no_browser {
        return Err("`--no-browser` was given".into());
    }
    if let Ok(browser) = std::env::var("BROWSER") {
        return run_browser_variable(&browser, url);
    }
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        return Err("there is no display (SSH or a headless machine)".into());
    }
    webbrowser::open(url).map_err(|e| format!("no browser could be started ({e})"))
}

/// `BROWSER` is a `:`-separated list of commands; `%s` is replaced by the URL, else the URL is
/// the last argument. `none` (or empty) means never open one.
fn run_browser_variable(browser: &str, url: &str) -> Result<(), String> {
    if browser.trim().is_empty() || browser.trim() == "none" {
        return Err("BROWSER is `none`".into());
    }
    for candidate in browser.split(':').filter(|c| !c.trim().is_empty()) {
        let mut words: Vec<String> = candidate.split_whitespace().map(str::to_string).collect();
        if words.iter().any(|w| w.contains("%s")) {
            words = words.into_iter().map(|w| w.replace("%s", url)).collect();
        } else {
            words.push(url.to_string());
        }
        let mut command = Command::new(&words[0]);
        command
            .args(&words[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for name in SECRET_VARS {
            command.env_remove(name);
        }
        if command.spawn().is_ok() {
            return Ok(());
        }
    }
    Err(format!(
        "none of the commands in BROWSER ({browser}) could be started"
    ))
}
