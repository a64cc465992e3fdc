//! Dispatch: one action → one handler. Offline handlers are plain functions and never start
//! an async runtime; online handlers are `async fn`s, run on the one current-thread runtime
//! built here.

use crate::cli::{Action, Cli};
use crate::commands::{
    api_key, audit_log, cost, login, mfa, permissions, reset, sessions, status, subscription,
    test_auth, token, upgrade,
};
use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::output::Outcome;
use crate::prompt::read_stdin;
use crate::secret::Secret;
use std::future::Future;

/// Runs the action `cli` asks for.
///
/// # Errors
/// Whatever the handler reports; rendered once by `main`.
pub fn run(cli: &Cli) -> Result<Outcome, AuthError> {
    // One snapshot of the environment: the output's colour and marks, then the context.
    let env = crate::envvars::Env::from_process();
    crate::output::configure(&env);
    let action = cli.action();
    if let Action::Completions(shell) = action {
        // Needs neither the configuration nor the environment: a shell's start-up runs it.
        return Ok(crate::commands::completions::run(shell));
    }
    let flag_key = flag_key(cli, &action)?;
    one_reader_of_stdin(cli, &action)?;
    warn_mfa_code_in_argv(cli);
    let ctx = Context::new(cli, flag_key, env)?;
    if !matches!(action, Action::ShowAuthLogs) {
        // Before anything is done: an audited command that could not record it must not act.
        crate::audit::preflight(&ctx)?;
    }
    let audit = crate::events::install(
        &ctx,
        matches!(action, Action::DebugAuth),
        makes_no_audit_key(&action),
    );
    let flag = flag_of(&action);
    let result = match action {
        Action::AuthStatus => Ok(status::run(&ctx)),
        Action::RemoveApiKey => api_key::remove(&ctx),
        Action::SetStorage(kind) => crate::commands::storage::set(&ctx, kind),
        Action::ListSessions => sessions::list(&ctx),
        Action::ResetAuth => reset::run(&ctx),
        Action::EnableMfa => mfa::enable(&ctx),
        Action::ShowAuthLogs => audit_log::show(&ctx, cli.since.as_deref(), cli.verify),
        Action::Completions(shell) => Ok(crate::commands::completions::run(shell)),
        Action::Upgrade { claude_max: false } => upgrade::list(&ctx),
        online => {
            let outcome = block_on(run_online(&ctx, cli, online))?;
            crate::policy::ip::record_refusals(&ctx);
            outcome
        }
    };
    record_refusal(&ctx, flag, &result);
    match audit {
        Some(audit) => audit.conclude(result),
        None => result,
    }
}

/// The error codes that mean "refused" (by policy, or by a server that judged the
/// credential): each such failure is one `refused` event, so the audit log holds every
/// refusal whichever handler produced it.
const REFUSALS: [ErrorCode; 6] = [
    ErrorCode::MfaRequired,
    ErrorCode::IpRestricted,
    ErrorCode::PolicyViolation,
    ErrorCode::InvalidApiKey,
    ErrorCode::InsufficientPermissions,
    ErrorCode::OauthError,
];

fn record_refusal(ctx: &Context, action: &str, result: &Result<Outcome, AuthError>) {
    let failure = match result {
        Ok(outcome) => outcome.failure.as_ref(),
        Err(err) => Some(err),
    };
    if let Some(code) = failure
        .map(AuthError::code)
        .filter(|c| REFUSALS.contains(c))
    {
        let code = code.as_str();
        crate::events::record(ctx, &crate::events::AuthEvent::Refused { action, code });
    }
}

/// The actions that never make an audit key, or a store to hold it, as a side effect:
/// offline reads, which change nothing anywhere, and `--reset-auth`, which removes (with
/// nothing stored there is nothing to keep, and a key made for its one line would then be
/// "kept"). Their lines are signed when a key exists. Checks that ask a server do make one,
/// so that a setup whose key lives in the environment gets signed lines too.
fn makes_no_audit_key(action: &Action) -> bool {
    matches!(
        action,
        Action::AuthStatus
            | Action::ListSessions
            | Action::ShowAuthLogs
            | Action::Upgrade { claude_max: false }
            | Action::Completions(_)
            | Action::ResetAuth
    )
}

/// The flag of an action, as the audit log names it.
fn flag_of(action: &Action) -> &'static str {
    match action {
        Action::AuthStatus => "--auth-status",
        Action::AuthStatusCheck => "--auth-status --check",
        Action::Completions(_) => "--completions",
        Action::SetApiKey(_) => "--set-api-key",
        Action::RemoveApiKey => "--remove-api-key",
        Action::SetStorage(_) => "--set-storage",
        Action::TestApiKey => "--test-api-key",
        Action::ValidateKey(_) => "--validate-key",
        Action::RotateKey(_) => "--rotate-key",
        Action::Login => "--login",
        Action::Logout => "--logout",
        Action::ListSessions => "--list-sessions",
        Action::PrintToken => "--print-token",
        Action::TestAuth => "--test-auth",
        Action::DebugAuth => "--debug-auth",
        Action::CheckPermissions => "--check-permissions",
        Action::ResetAuth => "--reset-auth",
        Action::InstallGithubApp => "/install-github-app",
        Action::EnableMfa => "--enable-mfa",
        Action::ShowAuthLogs => "--show-auth-logs",
        Action::Cost { .. } => "/cost",
        Action::Upgrade { .. } => "/upgrade",
        Action::SubscriptionStatus => "--subscription-status",
        Action::ManageSubscription => "--manage-subscription",
    }
}

/// The actions that may go to the network (a key check, a login, a refresh, a revocation).
async fn run_online(ctx: &Context, cli: &Cli, action: Action) -> Result<Outcome, AuthError> {
    if let Some(name) = cli.provider.as_deref() {
        crate::oauth::known_provider(ctx, name)?;
    }
    match action {
        Action::SetApiKey(arg) => api_key::set(ctx, arg.as_ref()).await,
        Action::TestApiKey => api_key::test(ctx).await,
        Action::ValidateKey(arg) => api_key::validate(ctx, arg.as_ref()).await,
        Action::RotateKey(arg) => api_key::rotate(ctx, arg.as_ref()).await,
        Action::Login => {
            login::run(
                ctx,
                cli.provider.as_deref(),
                cli.scopes.as_deref(),
                cli.no_browser,
            )
            .await
        }
        Action::Logout => sessions::logout(ctx, cli.provider.as_deref(), cli.all).await,
        Action::PrintToken => {
            token::print(ctx, cli.provider.as_deref(), cli.format.as_deref()).await
        }
        Action::TestAuth | Action::DebugAuth => Ok(test_auth::run(ctx).await),
        Action::AuthStatusCheck => Ok(status::run_checked(ctx).await),
        Action::CheckPermissions => permissions::run(ctx).await,
        Action::InstallGithubApp => crate::commands::github::install_app(ctx, cli.no_browser).await,
        Action::Cost { detailed } => cost::run(ctx, detailed, cli.since.as_deref()).await,
        Action::SubscriptionStatus => subscription::status(ctx).await,
        Action::Upgrade { claude_max: true } => upgrade::claude_max(ctx, cli.no_browser).await,
        Action::ManageSubscription => upgrade::manage(ctx, cli.no_browser).await,
        Action::AuthStatus
        | Action::RemoveApiKey
        | Action::SetStorage(_)
        | Action::ListSessions
        | Action::ResetAuth
        | Action::EnableMfa
        | Action::ShowAuthLogs
        | Action::Completions(_)
        | Action::Upgrade { claude_max: false } => {
            Err(AuthError::internal("an offline action was sent online"))
        }
    }
}

/// The `--api-key` value for this call; `-` reads stdin, unless the action needs stdin.
fn flag_key(cli: &Cli, action: &Action) -> Result<Option<Secret<String>>, AuthError> {
    let Some(value) = cli.api_key.as_ref().map(|v| v.expose().as_str()) else {
        return Ok(None);
    };
    if value != "-" {
        if !cli.quiet {
            crate::output::notice(
                "warning: `--api-key` puts the key in argv, where other users can see it (`ps`); \
                 prefer ANTHROPIC_API_KEY or `--api-key -` with the key on stdin",
            );
        }
        return Ok(Some(Secret::new(value.to_string())));
    }
    let stdin_taken = matches!(
        action,
        Action::SetApiKey(None | Some(_))
            | Action::RotateKey(None | Some(_))
            | Action::ValidateKey(_)
    ) && action_reads_stdin(action);
    if stdin_taken {
        return Err(
            AuthError::usage("`--api-key -` and the action both want to read stdin").with_hint(
                "give one of them its value another way (ANTHROPIC_API_KEY for the key in force)",
            ),
        );
    }
    // Read before the context exists (it is built with the key): the terminal directly.
    read_stdin(&crate::terminal::SystemTerminal, "--api-key", "API key").map(Some)
}

/// `--mfa-code CODE` puts the code in argv, as `--api-key KEY` does the key: warned the
/// same way. A TOTP code lives 30 s, but a watcher of `ps` can spend it first.
fn warn_mfa_code_in_argv(cli: &Cli) {
    if cli.quiet {
        return;
    }
    if cli.mfa_code.as_ref().is_some_and(|c| c.expose() != "-") {
        crate::output::notice(
            "warning: `--mfa-code` puts the code in argv, where other users can see it (`ps`) and spend it first; \
             prefer `--mfa-code -` with the code on stdin, or CLAUDE_MFA_CODE",
        );
    }
}

/// `--mfa-code -` reads the code from stdin, which `--api-key -` and a key read from stdin
/// want too: refused before anything is read, naming the other way to give the code.
fn one_reader_of_stdin(cli: &Cli, action: &Action) -> Result<(), AuthError> {
    let code_on_stdin = cli.mfa_code.as_ref().is_some_and(|c| c.expose() == "-");
    let key_on_stdin = cli.api_key.as_ref().is_some_and(|k| k.expose() == "-");
    if code_on_stdin && (key_on_stdin || action_reads_stdin(action)) {
        return Err(
            AuthError::usage("`--mfa-code -` and the key both want to read stdin").with_hint(
                "give the code in CLAUDE_MFA_CODE instead: `echo \"$KEY\" | CLAUDE_MFA_CODE=123456 claude --set-api-key -`",
            ),
        );
    }
    Ok(())
}

fn action_reads_stdin(action: &Action) -> bool {
    match action {
        Action::SetApiKey(arg) | Action::RotateKey(arg) | Action::ValidateKey(arg) => {
            arg.as_ref().is_none_or(|a| a.expose() == "-")
        }
        _ => false,
    }
}

/// Runs `future` on the current-thread runtime, built for this one call.
///
/// # Errors
/// `internal` when the runtime cannot be built.
fn block_on<F: Future>(future: F) -> Result<F::Output, AuthError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AuthError::internal("cannot start the async runtime").caused_by(e))?;
    Ok(runtime.block_on(future))
}
