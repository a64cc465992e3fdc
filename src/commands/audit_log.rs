//! `--show-auth-logs [--since AGE] [--json] [--verify]`: the audit log as a table (newest
//! last) or as its stored JSON lines, streamed; or `--verify`, which checks its HMAC chain.
//! Offline: files and the store only.

use crate::audit::lines::{self, Line};
use crate::audit::{self, chain::KEY_ITEM, file::log_path, key, read, verify};
use crate::config::schema::StorageKind;
use crate::context::Context;
use crate::error::{AuthError, ErrorCode};
use crate::output::{LineWriter, Outcome};
use crate::storage::aside::{move_aside, Aside};
use crate::storage::checked_file::{CheckedFile, Trust};
use serde_json::json;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Shows the audit log (`since`: entries at or after this age or date), or checks its chain
/// (`verify`; the whole log, whatever `since`).
///
/// # Errors
/// `usage` for a bad `--since`; `storage_error` for a log that cannot be read, a broken chain
/// (naming the first bad line) or a key that is not in the store.
pub fn show(ctx: &Context, since: Option<&str>, verify: bool) -> Result<Outcome, AuthError> {
    let path = log_path(&ctx.state_dir);
    let enabled = audit::enabled(&ctx.loaded.config);
    // A bad `--since` is a usage error whatever the log holds: a script must not learn
    // that its argument is wrong only once auditing is turned on.
    let cutoff = since
        .map(|s| read::since_cutoff(s, ctx.clock.now()))
        .transpose()?;
    let file = match open(&path)? {
        Some(file) => file,
        None if !enabled => return Ok(auditing_off(ctx)),
        None => {
            return Ok(Outcome::ok(
                format!("The audit log {} has no entries yet.", path.display()),
                json!({ "auditLogging": true, "entries": 0, "verified": verify.then_some(true) }),
            ))
        }
    };
    if !enabled {
        ctx.warn(&format!(
            "auditing is off now ({}); these are the entries written while it was on",
            turn_on_hint(ctx)
        ));
    }
    let reader = BufReader::with_capacity(256 * 1024, file);
    if verify {
        return check(ctx, &path, reader);
    }
    list(ctx, reader, cutoff.as_deref())
}

/// Opens the log, refusing a link or a file other users can read; `None` when absent.
fn open(path: &Path) -> Result<Option<File>, AuthError> {
    // Streamed, never read whole: no cap on its size (each line is bounded as it is read).
    CheckedFile::new("audit log", Trust::Private, u64::MAX)
        .code(ErrorCode::StorageError)
        .no_links()
        .open(path)
}

fn turn_on_hint(ctx: &Context) -> String {
    format!(
        "set `security.auditLogging` (or `compliance.auditLogging`) to true in {}",
        ctx.loaded.path.display()
    )
}

fn auditing_off(ctx: &Context) -> Outcome {
    Outcome::ok(
        format!(
            "Auditing is off: no audit log is kept.\n  To keep one, {}; every credential event \
             is then written to {}.",
            turn_on_hint(ctx),
            log_path(&ctx.state_dir).display()
        ),
        json!({ "auditLogging": false, "entries": 0 }),
    )
}

/// Streams the entries at or after `cutoff`: table rows, or the stored lines with `--json`.
fn list(
    ctx: &Context,
    mut reader: impl BufRead,
    cutoff: Option<&str>,
) -> Result<Outcome, AuthError> {
    let mut out = LineWriter::stdout();
    let json = ctx.prefs.json;
    if !json {
        out.text(&format!(
            "{:<20}  {:<22}  {:<10}  {:<26}  {}",
            "TIME (UTC)", "EVENT", "PROVIDER", "KEY, ACCOUNT OR ACTION", "OUTCOME"
        ));
    }
    let (mut shown, mut unreadable, mut number) = (0_u64, 0_u64, 0_u64);
    let mut first_bad = None;
    let mut buf = Vec::with_capacity(512);
    let mut shown_row = String::with_capacity(160);
    loop {
        let read = match lines::next(&mut reader, &mut buf) {
            Ok(Line::Eof) => break,
            Ok(read) => read,
            Err(err) => {
                out.finish();
                return Err(AuthError::storage("cannot read the audit log").caused_by(err));
            }
        };
        number += 1;
        // A line over 64 KiB is skipped unread, and one that is not UTF-8 is not JSON.
        let line = match std::str::from_utf8(&buf) {
            Ok(line) if read != Line::TooLong => line,
            _ => "",
        };
        let Some(row) = read::row(line) else {
            unreadable += 1;
            first_bad.get_or_insert(number);
            continue;
        };
        if let (Some(cutoff), Some(time)) = (cutoff, row.time.as_deref()) {
            if time < cutoff {
                continue;
            }
        }
        shown += 1;
        let open = if json {
            out.json(line)
        } else {
            table_row(&mut shown_row, &row, signed(line));
            out.text(&shown_row)
        };
        if !open {
            break;
        }
    }
    out.finish();
    if let Some(first) = first_bad {
        let lines = if unreadable == 1 {
            "1 line of the audit log is not JSON".to_string()
        } else {
            format!("{unreadable} lines of the audit log are not JSON")
        };
        ctx.warn(&format!(
            "{lines} (the first is line {first}); run `claude --show-auth-logs --verify`"
        ));
    }
    if shown == 0 && !ctx.prefs.quiet {
        crate::output::notice("No audit entries in that period.");
    }
    Ok(Outcome::streamed())
}

/// Whether a line ends in a MAC (not `null`): only those can be signed lines. Unsigned ones
/// are marked in the table, as anyone who can write the file can write them.
fn signed(line: &str) -> bool {
    audit::chain::split(line.trim_end()).is_some_and(|(_, mac)| mac.starts_with('"'))
}

/// `2026-11-29 10:00:00Z  key_stored  anthropic  sk-ant-api03-…a1A1  success`, and
/// `  (unsigned)` after a line that has no MAC. Written into `out` (cleared first), reused
/// for every row: listing 100k lines must stay under 100 ms.
fn table_row(out: &mut String, row: &read::Row<'_>, signed: bool) {
    use std::fmt::Write as _;
    out.clear();
    match row.time.as_deref() {
        Some(time) => match time.split_once('T') {
            Some((day, clock)) => {
                let _ = write!(out, "{day} {clock:<9}");
            }
            None => {
                let _ = write!(out, "{time:<20}");
            }
        },
        None => out.push_str(&format!("{:<20}", "?")),
    }
    let _ = write!(
        out,
        "  {:<22}  {:<10}  ",
        row.event.as_deref().unwrap_or("?"),
        row.provider.as_deref().unwrap_or("-"),
    );
    if row.event.as_deref() == Some("anchor") {
        let pruned = match row.pruned_count.unwrap_or(0) {
            1 => "1 older entry pruned".to_string(),
            n => format!("{n} older entries pruned"),
        };
        let _ = write!(out, "{pruned:<26}");
    } else {
        let who = row
            .fingerprint
            .as_deref()
            .or(row.account.as_deref())
            .or(row.action.as_deref())
            .unwrap_or("-");
        let _ = write!(out, "{who:<26}");
    }
    let _ = write!(out, "  {}", row.outcome.as_deref().unwrap_or("-"));
    if let Some(code) = row.code.as_deref() {
        let _ = write!(out, " ({code})");
    }
    if let Some(reason) = row.reason.as_deref() {
        let _ = write!(out, ": {reason}");
    }
    if row.unsigned || !signed {
        out.push_str("  (unsigned)");
    }
    // A line break in a hand-edited field must not print a row of its own (the renderer
    // escapes every other control character). Rare, so checked once per row, not per field.
    if memchr::memchr2(b'\n', b'\t', out.as_bytes()).is_some() {
        *out = crate::terminal_text::single_line(out);
    }
}

/// `--verify` without the key (`key_missing`): the log can no longer be verified, and why.
/// Never a MAC mismatch: no line was checked.
fn key_missing(ctx: &Context, path: &Path) -> Outcome {
    let kind = ctx.store().kind();
    let file = ctx.state_dir.join("credentials.enc");
    let why = if kind == StorageKind::EncryptedFile && !file.exists() {
        format!(
            "{} does not exist: it was deleted or moved away",
            file.display()
        )
    } else {
        format!("the {} store does not hold it", kind.as_str())
    };
    let missing = format!("its key `{KEY_ITEM}` is missing ({why})");
    let failure = AuthError::storage(format!("{} cannot be verified: {missing}", path.display()))
        .with_hint(format!(
            "only the key that signed the log can verify it, and no other key is made while the \
         log holds signed lines: restore the store (or its `{KEY_ITEM}` item) from a backup, \
         or set `authentication.storage` back to the store it was signed under; if the key \
         is lost, the log can no longer be verified: keep it as a record and move it away \
         (`{}`), and the next audited command starts a new chain",
            move_aside(path, Aside::Unverifiable, ctx.clock.now())
        ));
    let human = format!(
        "✗ The audit log cannot be verified: {missing}\n  hint: {}",
        failure.hint().unwrap_or_default()
    );
    Outcome::failed(
        human,
        json!({ "verified": false, "problem": "key_missing" }),
        failure,
    )
}

/// `--verify`: the whole chain, with the key from the store.
fn check(ctx: &Context, path: &Path, reader: impl BufRead) -> Result<Outcome, AuthError> {
    let Some(key) = key::for_reading(ctx)? else {
        return Ok(key_missing(ctx, path));
    };
    let checked = match verify::verify(reader, &key) {
        Ok(checked) => checked,
        Err(Err(io)) => return Err(crate::storage::atomic::storage_io("cannot read", path, io)),
        Err(Ok(broken)) => {
            let failure = AuthError::storage(format!(
                "{} line {}: {}",
                path.display(),
                broken.line,
                broken.problem.describe()
            ))
            .with_hint(format!(
                "the audit log was altered or damaged at that line; keep a copy of the file as \
                 evidence, then move it away (`{}`) to start a new chain",
                move_aside(path, Aside::Broken, ctx.clock.now())
            ));
            let human = format!(
                "✗ The audit log is NOT intact: {}\n  hint: {}",
                failure.message(),
                failure.hint().unwrap_or_default()
            );
            return Ok(Outcome::failed(
                human,
                json!({ "verified": false, "line": broken.line, "problem": broken.problem.as_str() }),
                failure,
            ));
        }
    };
    let mut human = format!(
        "✓ The audit log is intact: {}, {} signed and chained{}.",
        crate::output::count(checked.lines, "entry", "entries"),
        checked.signed,
        checked
            .pruned
            .map(|n| {
                format!(
                    " from an anchor that stands for {}",
                    crate::output::count(n, "pruned entry", "pruned entries")
                )
            })
            .unwrap_or_default()
    );
    if let Some((line, why)) = &checked.first_unsigned {
        let unsigned = if checked.unsigned == 1 {
            "1 entry is unsigned, so it is".to_string()
        } else {
            format!("{} entries are unsigned, so they are", checked.unsigned)
        };
        human.push_str(&format!(
            "\n  warning: {unsigned} not tamper-evident (the first is line {line}: {why})."
        ));
    }
    Ok(Outcome::ok(
        human,
        json!({
            "verified": true,
            "entries": checked.lines,
            "signed": checked.signed,
            "unsigned": checked.unsigned,
            "firstUnsigned": checked.first_unsigned.as_ref().map(|(line, why)| json!({ "line": line, "reason": why })),
            "prunedCount": checked.pruned,
        }),
    ))
}
