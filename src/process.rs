//! Every child process the binary starts comes from [`command`], which starts it without the
//! environment variables that hold secrets: a browser or helper outlives the login and can be
//! inspected (`/proc/PID/environ`), crash-reported or logged by tools we do not control.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

/// Variables that hold a secret under a name no pattern below catches.
const SECRET_NAMES: [&str; 6] = [
    "CLAUDE_MFA_CODE",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "NETRC",
    "MYSQL_PWD",
    "PGPASSFILE",
    "DOCKER_AUTH_CONFIG",
];
/// Name endings of variables that conventionally hold secrets (`ANTHROPIC_API_KEY`,
/// `GH_TOKEN`, `AWS_SESSION_TOKEN`, `CI_JOB_JWT`, `BW_SESSION`, `SENTRY_DSN`, `SMTP_PASS`,
/// …). `_HEADERS`: `ANTHROPIC_CUSTOM_HEADERS`, `OTEL_EXPORTER_OTLP_HEADERS` carry auth
/// headers.
const SECRET_ENDINGS: [&str; 13] = [
    "_KEY",
    "_HEADERS",
    "_TOKEN",
    "_PAT",
    "_CREDENTIALS",
    "_CODE",
    "_AUTH",
    "_JWT",
    "_PWD",
    "_PASS",
    "_SESSION",
    "_DSN",
    "_WEBHOOK_URL",
];
/// Name parts that mark a secret wherever they appear (`CLAUDE_PASSPHRASE`, `DB_PASSWORD`,
/// `AWS_SECRET_ACCESS_KEY`, `npm_config__authToken`, `OP_SESSION_my`, Terraform's
/// `TF_TOKEN_app_terraform_io`, Poetry's `POETRY_PYPI_TOKEN_PYPI`, Azure DevOps'
/// `SYSTEM_ACCESSTOKEN`, `AZURE_STORAGE_CONNECTION_STRING`, `GOOGLE_CLOUD_KEYFILE_JSON`,
/// `SESSION_COOKIE`).
const SECRET_PARTS: [&str; 15] = [
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "BEARER",
    "API_KEY",
    "AUTHTOKEN",
    "ACCESSTOKEN",
    "_TOKEN_",
    "OP_SESSION",
    "PRIVATE",
    "COOKIE",
    "CONNECTION_STRING",
    "KEYFILE",
    "CREDENTIALS_JSON",
];
/// Names that end like a secret but are paths or switches a child needs.
const NOT_SECRET: [&str; 3] = [
    "GOOGLE_APPLICATION_CREDENTIALS",
    "SSH_AUTH_SOCK",
    // xdg-open reads it to find the desktop's opener.
    "DESKTOP_SESSION",
];

/// True when the variable `name` may hold a credential and must not reach a child.
pub fn is_secret_variable(name: &OsStr) -> bool {
    let upper = name.to_string_lossy().to_ascii_uppercase();
    if NOT_SECRET.contains(&upper.as_str()) {
        return false;
    }
    if SECRET_NAMES.contains(&upper.as_str()) {
        return true;
    }
    // `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`: where a
    // secret is, not the secret, and an `aws` helper in a pod needs them. Their values are
    // still judged by `has_secret_value`.
    if ["_FILE", "_PATH", "_DIR"]
        .iter()
        .any(|end| upper.ends_with(end))
    {
        return false;
    }
    SECRET_ENDINGS.iter().any(|end| upper.ends_with(end))
        || SECRET_PARTS.iter().any(|part| upper.contains(part))
}

/// True when `value` carries a password in a URL (`postgres://user:pass@host`,
/// `http://user:pass@proxy:3128`), whatever the variable is called.
pub(crate) fn has_url_password(value: &std::ffi::OsStr) -> bool {
    let value = value.to_string_lossy();
    let has_password = |rest: &str| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
    };
    // `user:pass@host:port` without a scheme is a proxy URL too: the proxy code adds
    // `http://` to it.
    value.split("://").skip(1).any(has_password)
        || (!value.contains("://") && !value.contains(char::is_whitespace) && has_password(&value))
}

/// True when `value` looks like a credential whatever the variable is called: a token known
/// by its prefix ([`crate::redact::holds_prefixed_credential`]: `sk-ant-`, `ghp_`, `ya29.`,
/// `AKIA…`, a JWT, …), an HTTP authorization value (`Bearer …`, `Basic …`, any case) as in a
/// header list, a connection string's `AccountKey=`/`SharedAccessSignature=`, or a
/// service-account key's `"private_key"`.
pub(crate) fn has_secret_value(value: &OsStr) -> bool {
    let value = value.to_string_lossy();
    let lower = value.to_ascii_lowercase();
    [
        "sk-ant-",
        "bearer ",
        "basic ",
        "accountkey=",
        "sharedaccesssignature=",
        "\"private_key\"",
    ]
    .iter()
    .any(|marker| lower.contains(marker))
        || crate::redact::holds_prefixed_credential(&value)
}

/// A `Command` for `program` whose environment is ours minus every secret variable, plus
/// [`crate::envvars::CLAUDE_AUTH_HELPER_CHILD`] (the recursion guard), with stdin, stdout
/// and stderr detached (a child must not read the user's paste or print over the prompt).
pub fn command(env: &crate::envvars::Env, program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    // The child's environment is built from the snapshot, not inherited: nothing reaches it
    // that was not checked here.
    command.env_clear();
    for (name, value) in env.iter() {
        let value_is_secret =
            has_url_password(OsStr::new(value)) || has_secret_value(OsStr::new(value));
        if !is_secret_variable(OsStr::new(name)) && !value_is_secret {
            command.env(name, value);
        }
    }
    // A `claude` started by one of its own helpers (an `apiKeyHelper` of
    // `claude --print-token`, a wrapper script around it) must not run the helper again.
    command.env(crate::envvars::CLAUDE_AUTH_HELPER_CHILD, "1");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// [`command`] for a helper command (`apiKeyHelper`, `credential_process`, the AWS helpers,
/// a Google executable source, the SMS command), refused in a `claude` that one of its own
/// helpers started: a helper that runs `claude` (directly, through a wrapper, or through an
/// AWS profile's `credential_process`) would otherwise start `claude` again without end,
/// each level in its own process group, beyond the reach of the first one's timeout. One
/// level is all a legitimate setup needs.
///
/// # Errors
/// `config_error` naming `setting` when this process was started by a helper.
pub fn helper_command(
    env: &crate::envvars::Env,
    program: impl AsRef<OsStr>,
    setting: &str,
) -> Result<Command, crate::error::AuthError> {
    if env.get(crate::envvars::CLAUDE_AUTH_HELPER_CHILD).is_some() {
        return Err(crate::error::AuthError::config(format!(
            "{setting} was not run: this claude was started by a helper command of claude \
             ({} is set), and runs none itself, so that a helper which runs claude cannot loop",
            crate::envvars::CLAUDE_AUTH_HELPER_CHILD
        ))
        .with_hint(format!(
            "make {setting} not run claude, or give the claude it runs its credential another way (e.g. a stored key)"
        )));
    }
    Ok(command(env, program))
}

/// Why [`output_within`] got no output.
#[derive(Debug)]
pub enum RunError {
    /// The program could not be started.
    Spawn(std::io::Error),
    /// It was still running at the deadline, and was stopped.
    TimedOut,
    /// Waiting for it failed.
    Wait(std::io::Error),
}

/// `default`, or in debug builds `CLAUDE_TEST_HELPER_TIMEOUT_MS` when set, so tests of a
/// hanging helper need not wait a minute. Release builds ignore the variable.
pub fn helper_timeout(
    env: &crate::envvars::Env,
    default: std::time::Duration,
) -> std::time::Duration {
    if cfg!(debug_assertions) {
        if let Some(ms) = env
            .get(crate::envvars::CLAUDE_TEST_HELPER_TIMEOUT_MS)
            .and_then(|v| v.parse().ok())
        {
            return std::time::Duration::from_millis(ms);
        }
    }
    default
}

/// Starts `command` as the leader of its own process group (Unix), so that everything it
/// starts (`sleep 120 &`) can be stopped with it.
fn spawn_in_group(command: &mut Command) -> std::io::Result<std::process::Child> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    command.spawn()
}

/// Stops `child` and every process of its group, and reaps `child`.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group `pid`, which the
        // child leads (spawn_in_group); no memory is involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs `command` (from [`command`]) with its standard output captured, at most `max` bytes
/// kept (more is cut: the caller refuses it), stopping it at `timeout`. `tick` sees the
/// time elapsed every 20 ms, for "still running" notices.
///
/// # Security
/// The deadline holds for the output too: a helper that exits and leaves a background
/// process holding its standard output (`echo KEY; sleep 120 &`) is stopped at `timeout`
/// with everything it started (its process group), instead of hanging the command.
///
/// # Errors
/// [`RunError`].
pub fn output_within(
    mut command: Command,
    timeout: std::time::Duration,
    max: u64,
    mut tick: impl FnMut(std::time::Duration),
) -> Result<(std::process::ExitStatus, zeroize::Zeroizing<Vec<u8>>), RunError> {
    use std::io::Read;
    let mut child = spawn_in_group(command.stdout(Stdio::piped())).map_err(RunError::Spawn)?;
    let Some(mut stdout) = child.stdout.take() else {
        kill_group(&mut child);
        return Err(RunError::TimedOut);
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = zeroize::Zeroizing::new(Vec::new());
        let _ = (&mut stdout).take(max).read_to_end(&mut out);
        let _ = sender.send(out);
    });
    let started = std::time::Instant::now();
    let step = std::time::Duration::from_millis(20);
    let mut status = None;
    let mut output = None;
    loop {
        if status.is_none() {
            status = child.try_wait().map_err(RunError::Wait)?;
        }
        if output.is_none() {
            match receiver.recv_timeout(step) {
                Ok(out) => output = Some(out),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    output = Some(zeroize::Zeroizing::new(Vec::new()));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
        } else if status.is_none() {
            std::thread::sleep(step);
        }
        if let (Some(status), true) = (status, output.is_some()) {
            return Ok((status, output.unwrap_or_default()));
        }
        if started.elapsed() >= timeout {
            kill_group(&mut child);
            return Err(RunError::TimedOut);
        }
        tick(started.elapsed());
    }
}

/// Runs `command` with the streams it was given, stopping it and its process group at
/// `timeout`.
///
/// # Errors
/// [`RunError`].
pub fn status_within(
    mut command: Command,
    timeout: std::time::Duration,
) -> Result<std::process::ExitStatus, RunError> {
    let mut child = spawn_in_group(&mut command).map_err(RunError::Spawn)?;
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(RunError::Wait)? {
            return Ok(status);
        }
        if started.elapsed() >= timeout {
            kill_group(&mut child);
            return Err(RunError::TimedOut);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
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
    fn passwords_in_urls_mark_a_variable_secret() {
        assert!(has_url_password(OsStr::new("postgres://u:dbpass@db/x")));
        assert!(has_url_password(OsStr::new(
            "alice:s3cretpw@127.0.0.1:3128"
        )));
        assert!(!has_url_password(OsStr::new("127.0.0.1:3128")));
        assert!(!has_url_password(OsStr::new("see me@host: now")));
        assert!(has_url_password(OsStr::new(
            "http://user:proxypass@proxy:3128"
        )));
        assert!(!has_url_password(OsStr::new("http://proxy:3128")));
        assert!(!has_url_password(OsStr::new("https://example.com/a@b:c")));
        assert!(!has_url_password(OsStr::new("/usr/bin:/bin")));
        for name in [
            "CI_JOB_JWT",
            "BW_SESSION",
            "OP_SESSION_my",
            "npm_config__authToken",
            "SENTRY_DSN",
        ] {
            assert!(is_secret_variable(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn header_lists_and_credential_values_are_secret() {
        for name in ["ANTHROPIC_CUSTOM_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"] {
            assert!(is_secret_variable(OsStr::new(name)), "{name}");
        }
        for value in [
            "x-api-key: sk-ant-api03-abc",
            "Authorization: Bearer abc",
            "authorization=BASIC dXNlcjpwYXNz",
            "token sk-ant-oat01-x",
        ] {
            assert!(has_secret_value(OsStr::new(value)), "{value}");
        }
        for value in ["/usr/bin:/bin", "en_US.UTF-8", "basically fine", "bearer"] {
            assert!(!has_secret_value(OsStr::new(value)), "{value}");
        }
    }

    #[test]
    fn other_tools_conventions_for_secrets_are_caught() {
        for name in [
            "SMTP_PASS",
            "X_PASSWD",
            "SESSION_COOKIE",
            "GOOGLE_APPLICATION_CREDENTIALS_JSON",
            "GOOGLE_CLOUD_KEYFILE_JSON",
            "TF_TOKEN_app_terraform_io",
            "POETRY_PYPI_TOKEN_PYPI",
            "SYSTEM_ACCESSTOKEN",
            "AZURE_STORAGE_CONNECTION_STRING",
        ] {
            assert!(is_secret_variable(OsStr::new(name)), "{name}");
        }
        // Whatever the name: tokens known by their prefix, connection strings, key files.
        for value in [
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "ya29.a0AfH6SMBabcdefghijklmnop",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc==",
            r#"{"type": "service_account", "private_key": "-----BEGIN"}"#,
        ] {
            assert!(has_secret_value(OsStr::new(value)), "{value}");
        }
        // Where a secret is kept is not the secret; a pod's `aws` needs these.
        for name in [
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "BYPASS",
        ] {
            assert!(!is_secret_variable(OsStr::new(name)), "{name}");
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
            "DESKTOP_SESSION",
            "XDG_CURRENT_DESKTOP",
            "XAUTHORITY",
        ] {
            assert!(!is_secret_variable(OsStr::new(name)), "{name}");
        }
    }
}
