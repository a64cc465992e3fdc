//! Opening the system browser (never an embedded view), respecting `BROWSER`, `--no-browser`
//! and headless machines. The URL is always printed as well. Every browser is started through
//! [`crate::process::command`], so none inherits a secret variable.

use std::process::Child;
use std::time::{Duration, Instant};

/// How long an opener (`xdg-open`, `open`) may take to report failure before it counts as
/// started: openers that hand the URL to a running browser exit at once; some stay.
const OPENER_GRACE: Duration = Duration::from_millis(1500);

/// Opens `url`; `Err` says why no browser was opened.
pub fn open(env: &crate::envvars::Env, url: &str, no_browser: bool) -> Result<(), String> {
    if no_browser {
        return Err("`--no-browser` was given".into());
    }
    if let Some(browser) = env.raw("BROWSER") {
        return run_browser_variable(env, browser, url);
    }
    if cfg!(all(unix, not(target_os = "macos")))
        && env.raw("DISPLAY").is_none()
        && env.raw("WAYLAND_DISPLAY").is_none()
    {
        return Err("there is no display (SSH or a headless machine)".into());
    }
    for opener in platform_openers() {
        let Some((program, args)) = opener.split_first() else {
            continue;
        };
        let spawned = crate::process::command(env, program)
            .args(args)
            .arg(url)
            .spawn();
        if let Ok(child) = spawned {
            if started(child) {
                return Ok(());
            }
        }
    }
    Err(format!(
        "no browser could be started (tried {})",
        platform_openers()
            .iter()
            .map(|o| o[0])
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The platform's URL openers, in order of preference.
fn platform_openers() -> &'static [&'static [&'static str]] {
    if cfg!(target_os = "macos") {
        &[&["open"]]
    } else if cfg!(windows) {
        // rundll32 takes the URL as one argument: no `cmd /c start` quoting of `&`.
        &[&["rundll32", "url.dll,FileProtocolHandler"]]
    } else {
        &[
            &["xdg-open"],
            &["gio", "open"],
            &["sensible-browser"],
            &["x-www-browser"],
            &["wslview"],
        ]
    }
}

/// True unless the opener exits with a failure within its grace period.
fn started(mut child: Child) -> bool {
    let deadline = Instant::now() + OPENER_GRACE;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => return false,
        }
    }
    true
}

/// `BROWSER` is a `:`-separated list of commands; `%s` is replaced by the URL, else the URL is
/// the last argument. `none` (or empty) means never open one.
fn run_browser_variable(env: &crate::envvars::Env, browser: &str, url: &str) -> Result<(), String> {
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
        if crate::process::command(env, &words[0])
            .args(&words[1..])
            .spawn()
            .is_ok()
        {
            return Ok(());
        }
    }
    Err(format!(
        "none of the commands in BROWSER ({browser}) could be started"
    ))
}
