//! `--reset-auth`: forget every stored credential (API key, sessions and their tokens, cached
//! provider tokens, the encrypted file's master key) after a confirmation or `--yes`. The
//! configuration, the audit log and its key are kept. When policy requires MFA, so is the
//! enrolled TOTP factor unless a current code from it is given: otherwise whoever is at the
//! keyboard could reset, enroll their own authenticator and mint credentials.

use crate::audit::chain::KEY_ITEM as AUDIT_KEY;
use crate::config::schema::StorageKind;
use crate::context::Context;
use crate::error::AuthError;
use crate::output::{Outcome, Report};
use crate::session;
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
    /// The encrypted file that now holds only the kept items (it was removed with
    /// everything else, then written again with them); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewritten: Option<String>,
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
    if !confirm(ctx)? {
        return Ok(Outcome::report(&Reset {
            reset: false,
            removed: Vec::new(),
            config_kept: ctx.loaded.path.display().to_string(),
            kept: Vec::new(),
            rewritten: None,
        }));
    }
    let keep_factor = !factor_may_go(ctx)?;
    let store = ctx.store();
    let lock = ctx.lock()?;
    let mut removed = Vec::new();
    // Before anything is removed: a key that must be kept but cannot be read stops the reset.
    let audit_key = keep_audit_key(ctx, store.as_ref())?;
    // Under an MFA policy the enrolled factor goes only with a code from it; a factor that
    // must stay but cannot be read now (an encrypted file without its passphrase) stops
    // the reset before anything is removed.
    let factor = if keep_factor {
        let meta = store.index()?.items.remove(crate::mfa::TOTP_ITEM);
        match meta {
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
    if store.kind() == StorageKind::EncryptedFile {
        // The file is deleted whole below: emptying it first would need its passphrase.
        // Its header names what it held (a damaged one names nothing; the file goes anyway).
        let held = store.index().unwrap_or_default().items;
        removed.extend(held.into_keys().filter(|item| !spared(item)));
        EncryptedFile::forget_cached_key(&ctx.state_dir);
    } else {
        remove_items(ctx, store.as_ref(), &lock, &spared, &mut removed)?;
    }
    if store.kind() == StorageKind::EncryptedFile
        && !ctx.loaded.config.authentication.storage.passphrase_sealed()
    {
        let keychain = Keychain::new(&ctx.env, &ctx.state_dir, &ctx.loaded.path).for_master_key();
        if keychain.remove_unindexed(crate::storage::encrypted_file::MASTER_KEY_ITEM)? {
            removed.push("encrypted-file master key".to_string());
        }
    }
    for name in CREDENTIAL_FILES {
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
    let mut kept = Vec::new();
    if let Some((key, meta)) = audit_key {
        // Removing the files above took its index entry (and, for the encrypted file, the
        // key itself) with them.
        store.put(AUDIT_KEY, &key, meta, &lock)?;
        kept.push(AUDIT_KEY.to_string());
    }
    if let Some((secret, meta)) = factor {
        // The same for the factor: the encrypted file held it too.
        store.put(crate::mfa::TOTP_ITEM, &secret, meta, &lock)?;
        kept.push(crate::mfa::TOTP_ITEM.to_string());
    }
    drop(lock);
    // The file went and came back holding only what was kept: it was not removed.
    let mut rewritten = None;
    if store.kind() == StorageKind::EncryptedFile && !kept.is_empty() {
        removed.retain(|item| item != "credentials.enc");
        rewritten = Some(ctx.state_dir.join("credentials.enc").display().to_string());
    }
    crate::events::record(
        ctx,
        &crate::events::AuthEvent::AuthReset {
            removed: removed.len(),
        },
    );
    if removed.iter().any(|item| {
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
    Ok(Outcome::report(&Reset {
        reset: true,
        removed,
        config_kept: ctx.loaded.path.display().to_string(),
        kept,
        rewritten,
    }))
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
fn factor_may_go(ctx: &Context) -> Result<bool, AuthError> {
    use crate::mfa::gate::{self, Candidate, Purpose};
    if !crate::mfa::required(ctx) {
        return Ok(true);
    }
    let store = ctx.store();
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

/// The audit log's key is evidence, not a credential: it outlives a reset, or no entry
/// before the reset could be verified again. `None` when none is stored. The encrypted file
/// is deleted whole, so a key that cannot be read now (no passphrase, a damaged file) would
/// go with it: with auditing on that stops the reset before anything is removed; with
/// auditing off it goes, and a warning says what that costs. (A keychain's items are
/// removed one by one, sparing the key, which then stays where it is.)
///
/// # Errors
/// `storage_error` with auditing on when the key cannot be read from the encrypted file.
fn keep_audit_key(
    ctx: &Context,
    store: &dyn SecretStore,
) -> Result<Option<(crate::secret::Secret<String>, crate::storage::ItemMeta)>, AuthError> {
    let encrypted = store.kind() == StorageKind::EncryptedFile;
    let audited = crate::audit::enabled(&ctx.loaded.config);
    let meta = match store.index() {
        Ok(mut index) => match index.items.remove(AUDIT_KEY) {
            Some(meta) => meta,
            None => return Ok(None),
        },
        // A file whose header cannot be read may hold the key: it cannot be told.
        Err(err) if encrypted && audited => return Err(audit_key_unreadable(ctx, &err)),
        Err(_) => return Ok(None),
    };
    match store.get(AUDIT_KEY) {
        Ok(Some(key)) => Ok(Some((key, meta))),
        Ok(None) => Ok(None),
        Err(err) if encrypted && audited => Err(audit_key_unreadable(ctx, &err)),
        Err(err) => {
            ctx.warn(&format!(
                "the audit log's key could not be read ({}); it is removed with the store, so \
                 entries written before this reset can no longer be verified",
                err.message()
            ));
            Ok(None)
        }
    }
}

/// With auditing on, the reset stops rather than delete the audit log's key with the file:
/// the hint says how to keep it, and how to let it go knowingly.
fn audit_key_unreadable(ctx: &Context, err: &AuthError) -> AuthError {
    let file = ctx.state_dir.join("credentials.enc");
    let passphrase = ctx.loaded.config.authentication.storage.passphrase_sealed();
    let keep = if passphrase {
        "give the passphrase so the key is kept: set CLAUDE_PASSPHRASE, or run `claude \
         --reset-auth` at a terminal to be asked for it"
    } else {
        "make the keychain that holds the file's master key reachable and unlocked, so the \
         key is kept"
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
        "{keep}. If {lost} or the file is damaged, move it aside yourself (`mv {0} {0}.lost`) \
         and run `claude --reset-auth` again, knowing that the audit entries written before \
         can then no longer be verified (move {1} aside too, and the next audited command \
         starts a new signed chain)",
        file.display(),
        crate::audit::file::log_path(&ctx.state_dir).display()
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
