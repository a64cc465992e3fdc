//! `--reset-auth`: forget every stored credential (API key, sessions and their tokens, cached
//! provider tokens, the encrypted file's master key when the file goes) after a confirmation
//! or `--yes`. The configuration, the audit log and its key are kept. When policy requires
//! MFA, so is the enrolled TOTP factor unless a current code from it is given: otherwise
//! whoever is at the keyboard could reset, enroll their own authenticator and mint
//! credentials. An encrypted file that holds what is kept is rewritten in place, atomically,
//! under the passphrase or key it already has.

use crate::audit::chain::KEY_ITEM as AUDIT_KEY;
use crate::config::schema::StorageKind;
use crate::context::Context;
use crate::error::AuthError;
use crate::output::{Outcome, Report};
use crate::session;
use crate::storage::aside::{move_aside, Aside};
use crate::storage::encrypted_file::EncryptedFile;
use crate::storage::keychain::Keychain;
use crate::storage::{FileLock, SecretStore};
use serde::Serialize;

/// Files in the state directory that hold credentials or their metadata.
const CREDENTIAL_FILES: [&str; 5] = [
    "credentials.enc",
    "credentials.json",
    "sessions.json",
    "github.json",
    crate::providers::bedrock::helpers::LEGACY_FILE,
];

/// `--reset-auth`'s result.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reset {
    /// `false` when the user answered no to the question (nothing was touched); a reset
    /// that stops early is an error.
    pub reset: bool,
    /// The store items and files removed; empty when nothing was stored.
    pub removed: Vec<String>,
    /// The configuration file, which is never removed.
    pub config_kept: String,
    /// Store items kept: the audit log's key (`audit-hmac-key`), evidence rather than a
    /// credential, and the enrolled factor (`mfa-totp`) when removing it needs a code.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
    /// The encrypted file that now holds only the kept items (rewritten in place, under the
    /// passphrase or key it had); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewritten: Option<String>,
    /// Why the encrypted file did not open (a wrong CLAUDE_PASSPHRASE, a modified file):
    /// it was then removed whole, unread, with whatever it held. Absent when it opened, or
    /// was not opened because nothing in it had to be kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unopened: Option<String>,
}

impl Report for Reset {
    fn text(&self) -> String {
        if !self.reset {
            return "Nothing removed.".to_string();
        }
        let mut kept = String::new();
        if self.kept.iter().any(|item| item == AUDIT_KEY) {
            kept.push_str(&format!(
                "\n  The audit log's key ({AUDIT_KEY}) was kept: it is evidence, not a credential, so the entries written before this reset can still be verified."
            ));
        }
        if self.kept.iter().any(|item| item == crate::mfa::TOTP_ITEM) {
            kept.push_str(&format!(
                "\n  The enrolled second factor ({}) was kept: policy requires MFA, and removing it needs a current code from it (`claude --reset-auth --yes --mfa-code -`).",
                crate::mfa::TOTP_ITEM
            ));
        }
        if let Some(file) = &self.rewritten {
            kept.push_str(&format!("\n  {file} now holds only what was kept."));
        }
        if let Some(why) = &self.unopened {
            kept.push_str(&format!(
                "\n  The encrypted file did not open ({why}), so it was removed whole, unread: a reset removes a store it cannot open, with everything in it (the items above are those its unauthenticated header listed)."
            ));
        }
        if self.removed.is_empty() {
            return format!("Nothing was stored; nothing to reset.{kept}");
        }
        format!(
            "✓ Removed every stored credential ({}).\n  The configuration ({}) was kept. Sessions were forgotten here, not revoked at their providers.{kept}",
            self.removed.join(", "),
            self.config_kept
        )
    }
}

/// Wipes stored credentials.
///
/// # Errors
/// `usage` without a terminal and without `--yes` (a "no" is an answer, not an error:
/// "Nothing removed.", exit 0); storage errors (what was removed so far stays removed;
/// running it again finishes).
pub fn run(ctx: &Context) -> Result<Outcome, AuthError> {
    let mut report = Reset {
        reset: false,
        removed: Vec::new(),
        config_kept: ctx.loaded.path.display().to_string(),
        kept: Vec::new(),
        rewritten: None,
        unopened: None,
    };
    if !confirm(ctx)? {
        return Ok(Outcome::report(&report));
    }
    report.reset = true;
    // One store for the whole reset: a passphrase typed for the factor's check opens the
    // file for the rest too.
    let store = ctx.store();
    let keep_factor = !factor_may_go(ctx, store.as_ref())?;
    let lock = ctx.lock()?;
    if store.kind() == StorageKind::EncryptedFile {
        reset_file(ctx, store.as_ref(), &lock, keep_factor, &mut report)?;
    } else {
        reset_keychain(ctx, store.as_ref(), &lock, keep_factor, &mut report)?;
    }
    drop(lock);
    crate::events::record(
        ctx,
        &crate::events::AuthEvent::AuthReset {
            removed: report.removed.len(),
        },
    );
    if report.removed.iter().any(|item| {
        matches!(
            item.as_str(),
            crate::mfa::TOTP_ITEM | crate::mfa::PENDING_ITEM
        )
    }) {
        crate::events::record(
            ctx,
            &crate::events::AuthEvent::MfaRemoved { method: "totp" },
        );
    }
    Ok(Outcome::report(&report))
}

/// The encrypted file holds everything, the kept items included. When something is to be
/// kept, it is opened (with the passphrase or key it opens with now: a new one is never
/// asked for) and rewritten in one atomic step holding only that, so no interruption can
/// lose the audit key; otherwise it is removed whole. It is opened too when a passphrase
/// is at hand without asking (CLAUDE_PASSPHRASE), so that the report can say when it did
/// not open. A file that does not open is removed whole, unread, unless it holds
/// something that must be kept (see [`keep_audit_key`]'s rule and [`factor_may_go`]).
fn reset_file(
    ctx: &Context,
    store: &dyn SecretStore,
    lock: &FileLock,
    keep_factor: bool,
    report: &mut Reset,
) -> Result<(), AuthError> {
    let audited = crate::audit::enabled(&ctx.loaded.config);
    let header = match store.index() {
        Ok(index) => index.items,
        // A file whose header cannot be read may hold the key: it cannot be told.
        Err(err) if audited => return Err(audit_key_unreadable(ctx, &err, true)),
        Err(err) => {
            report.unopened = Some(err.message().to_string());
            Default::default()
        }
    };
    let spared = |item: &str| item == AUDIT_KEY || (keep_factor && item == crate::mfa::TOTP_ITEM);
    let lists_key = header.contains_key(AUDIT_KEY);
    let lists_factor = keep_factor && header.contains_key(crate::mfa::TOTP_ITEM);
    let passphrase_given = ctx.loaded.config.authentication.storage.passphrase_sealed()
        && ctx.env.raw(crate::envvars::CLAUDE_PASSPHRASE).is_some();
    let file = ctx.state_dir.join("credentials.enc");
    let mut keeps = false;
    if (lists_key || lists_factor || passphrase_given) && file.exists() {
        // Opens (authenticates) the whole file, its header included.
        match store.get(AUDIT_KEY) {
            Ok(key) => {
                if let Some(key) = &key {
                    // This process has the key now: its own audit lines are signed with it.
                    crate::audit::key::offer(key);
                }
                keeps = key.is_some() || lists_factor;
            }
            Err(err) if lists_key && audited => return Err(audit_key_unreadable(ctx, &err, false)),
            // A factor that must stay but cannot be read stops the reset.
            Err(err) if lists_factor => return Err(factor_unread(ctx, err)),
            Err(err) => {
                if lists_key {
                    ctx.warn(&format!(
                        "the audit log's key could not be read ({}); it is removed with the \
                         store, so entries written before this reset can no longer be verified",
                        err.message()
                    ));
                }
                report.unopened = Some(err.message().to_string());
            }
        }
    }
    // After every open (a typed passphrase is cached when it opens the file): whatever
    // happens to the file, the next command asks again.
    EncryptedFile::forget_cached_key(&ctx.state_dir);
    if keeps {
        report.removed = store.keep_only(&spared, lock)?;
        report.kept = store
            .index()?
            .items
            .into_keys()
            .filter(|i| spared(i))
            .collect();
        report.rewritten = Some(file.display().to_string());
    } else {
        report
            .removed
            .extend(header.into_keys().filter(|item| !spared(item)));
        // The master key opens nothing once the file is gone; a rewritten file still needs it.
        if !ctx.loaded.config.authentication.storage.passphrase_sealed() {
            let keychain =
                Keychain::new(&ctx.env, &ctx.state_dir, &ctx.loaded.path).for_master_key();
            if keychain.remove_unindexed(crate::storage::encrypted_file::MASTER_KEY_ITEM)? {
                report.removed.push("encrypted-file master key".to_string());
            }
        }
    }
    remove_files(ctx, keeps, &mut report.removed)
}

/// A keychain's items are removed one by one, sparing the audit key and a factor that must
/// stay; the index file goes with the other files and the kept items are indexed again.
fn reset_keychain(
    ctx: &Context,
    store: &dyn SecretStore,
    lock: &FileLock,
    keep_factor: bool,
    report: &mut Reset,
) -> Result<(), AuthError> {
    let audit_key = keep_audit_key(ctx, store)?;
    // Under an MFA policy the enrolled factor goes only with a code from it.
    let factor = if keep_factor {
        match store.index()?.items.remove(crate::mfa::TOTP_ITEM) {
            Some(meta) => store
                .get(crate::mfa::TOTP_ITEM)?
                .map(|secret| (secret, meta)),
            None => None,
        }
    } else {
        None
    };
    let spared =
        |item: &str| item == AUDIT_KEY || (factor.is_some() && item == crate::mfa::TOTP_ITEM);
    remove_items(ctx, store, lock, &spared, &mut report.removed)?;
    remove_files(ctx, false, &mut report.removed)?;
    if let Some((key, meta)) = audit_key {
        // Removing the index file above took its entry with it.
        store.put(AUDIT_KEY, &key, meta, lock)?;
        report.kept.push(AUDIT_KEY.to_string());
    }
    if let Some((secret, meta)) = factor {
        store.put(crate::mfa::TOTP_ITEM, &secret, meta, lock)?;
        report.kept.push(crate::mfa::TOTP_ITEM.to_string());
    }
    Ok(())
}

/// Removes the credential files that exist, `credentials.enc` apart when it was rewritten.
fn remove_files(
    ctx: &Context,
    rewritten: bool,
    removed: &mut Vec<String>,
) -> Result<(), AuthError> {
    for name in CREDENTIAL_FILES {
        if rewritten && name == "credentials.enc" {
            continue;
        }
        let path = ctx.state_dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(name.to_string()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(crate::storage::atomic::storage_io(
                    "cannot remove",
                    &path,
                    err,
                ))
            }
        }
    }
    Ok(())
}

/// A reset stopped by a factor that must be kept but is in a file that does not open.
fn factor_unread(ctx: &Context, err: AuthError) -> AuthError {
    let file = ctx.state_dir.join("credentials.enc");
    let hint = format!(
        "nothing was removed: policy requires MFA, so the enrolled factor ({}) is kept, and \
         it is in {}: give the passphrase or key that opens it. If that is lost or the file \
         is damaged, move the file aside yourself (`{}`) and run the reset again",
        crate::mfa::TOTP_ITEM,
        file.display(),
        move_aside(&file, Aside::Bad, ctx.clock.now())
    );
    err.with_hint(hint)
}

/// Removes every item a keychain may hold: those its index lists, each session's, the
/// cached provider tokens and the MFA items.
fn remove_items(
    ctx: &Context,
    store: &dyn SecretStore,
    lock: &FileLock,
    spared: &dyn Fn(&str) -> bool,
    removed: &mut Vec<String>,
) -> Result<(), AuthError> {
    let mut items: Vec<String> = store.index()?.items.into_keys().collect();
    let sessions = session::load(&ctx.state_dir)?;
    items.extend(
        sessions
            .sessions
            .keys()
            .map(|provider| session::item(provider)),
    );
    items.extend([
        "cache:vertex".to_string(),
        crate::resolve::helper::ITEM.to_string(),
        crate::providers::bedrock::helpers::ITEM.to_string(),
    ]);
    items.extend(crate::mfa::ITEMS.map(String::from));
    items.retain(|item| !spared(item));
    items.sort();
    items.dedup();
    for item in &items {
        if store.remove(item, lock)? {
            removed.push(item.clone());
        }
    }
    Ok(())
}

/// Whether the enrolled TOTP factor may be removed: always without an MFA policy or an
/// enrollment; under one, only with a current code from it (given, or typed at a prompt
/// that may be left empty to keep the factor). A refused code stops the reset before
/// anything is removed.
fn factor_may_go(ctx: &Context, store: &dyn SecretStore) -> Result<bool, AuthError> {
    use crate::mfa::gate::{self, Candidate, Purpose};
    if !crate::mfa::required(ctx) {
        return Ok(true);
    }
    let Some(meta) = store.index()?.items.remove(crate::mfa::TOTP_ITEM) else {
        return Ok(true);
    };
    let code = match gate::given_code(ctx)? {
        Some(code) => Some(code),
        None => gate::prompt_code(
            ctx,
            "MFA is required: enter a current code to remove the enrolled factor too (Enter keeps it): ",
        )?,
    };
    let Some(code) = code.filter(|c| !c.expose().trim().is_empty()) else {
        return Ok(false);
    };
    gate::refuse_during_backoff(ctx)?;
    let Some(secret) = store.get(crate::mfa::TOTP_ITEM)? else {
        return Ok(true);
    };
    let candidates = [Candidate {
        secret: &secret,
        id: &meta.fingerprint,
    }];
    gate::check_totp(ctx, Purpose::Reset, &candidates, &code)
        .map_err(|err| err.with_hint("nothing was removed; give a current code, or run `claude --reset-auth` without one to remove the credentials and keep the factor"))?;
    Ok(true)
}

/// The audit log's key in a keychain, to index again after the index file goes: it is
/// evidence, not a credential, and outlives a reset, or no entry before the reset could be
/// verified again. `None` when none is stored, or when it cannot be read (a warning then
/// says what that costs; the keychain item itself is spared all the same).
fn keep_audit_key(
    ctx: &Context,
    store: &dyn SecretStore,
) -> Result<Option<(crate::secret::Secret<String>, crate::storage::ItemMeta)>, AuthError> {
    let Some(meta) = store.index()?.items.remove(AUDIT_KEY) else {
        return Ok(None);
    };
    match store.get(AUDIT_KEY) {
        Ok(found) => Ok(found.map(|key| (key, meta))),
        Err(err) => {
            ctx.warn(&format!(
                "the audit log's key could not be read ({}); its index entry goes with the \
                 index file",
                err.message()
            ));
            Ok(None)
        }
    }
}

/// With auditing on, the reset stops rather than delete the audit log's key with the
/// encrypted file: the hint says how to keep it (what to fix about the passphrase or key
/// that did not open the file), and how to let it go knowingly, each with its command.
/// `damaged`: the file's header does not even parse, so no passphrase would help.
fn audit_key_unreadable(ctx: &Context, err: &AuthError, damaged: bool) -> AuthError {
    let file = ctx.state_dir.join("credentials.enc");
    let log = crate::audit::file::log_path(&ctx.state_dir);
    let now = ctx.clock.now();
    let passphrase = ctx.loaded.config.authentication.storage.passphrase_sealed();
    let keep = if damaged {
        "restore the file from a backup so the key is kept"
    } else if !passphrase {
        "make the keychain that holds the file's master key reachable and unlocked, so the \
         key is kept"
    } else if ctx.env.raw(crate::envvars::CLAUDE_PASSPHRASE).is_some() {
        "check CLAUDE_PASSPHRASE (it did not open the file): with the right one the key is kept"
    } else if ctx.terminal.stderr_is_tty() {
        "run `claude --reset-auth` again and type the passphrase that opens the file, so the \
         key is kept"
    } else {
        "give the passphrase so the key is kept: set CLAUDE_PASSPHRASE, or run `claude \
         --reset-auth` at a terminal to be asked for it"
    };
    let lost = if passphrase {
        "the passphrase is lost"
    } else {
        "the master key is lost"
    };
    AuthError::storage(format!(
        "auditing is on, and the audit log's key in {} cannot be read: removing the file \
         would delete it, so nothing was removed",
        file.display()
    ))
    .caused_by(err.message())
    .with_hint(format!(
        "{keep}. If {lost} or the file is damaged, move it aside yourself (`{}`) and run \
         `claude --reset-auth` again, knowing that the audit entries written before can then \
         no longer be verified: move the log aside too (`{}`), and the next audited command \
         starts a new signed chain",
        move_aside(&file, Aside::Bad, now),
        move_aside(&log, Aside::Unverifiable, now)
    ))
}

/// Whether the user wants the reset: `--yes`, or "y" at the question.
fn confirm(ctx: &Context) -> Result<bool, AuthError> {
    if ctx.prefs.yes {
        return Ok(true);
    }
    if !ctx.terminal.stdin_is_tty() {
        return Err(AuthError::usage(
            "`--reset-auth` removes every stored credential and needs a confirmation",
        )
        .with_hint("run it in a terminal, or add `--yes` in scripts"));
    }
    // The state directory comes from CLAUDE_CONFIG_DIR: `ask` escapes what it may hold.
    crate::output::ask(&format!(
        "Remove every stored API key, login session and cached token for {}? [y/N] ",
        ctx.state_dir.display()
    ));
    let answer = ctx
        .terminal
        .read_line()
        .map_err(|e| AuthError::cancelled("no answer").caused_by(e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
}
