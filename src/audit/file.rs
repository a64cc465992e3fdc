//! `audit.log` on disk: appends under the audit lock, each chained to the last signed line,
//! and retention, which rewrites the file atomically behind an anchor line.
//!
//! The audit lock (`audit.lock`) is not the state lock: events are recorded while a command
//! holds the state lock (a refresh, a logout), and the sink must not wait on its own process.

use super::chain::{self, ChainKey};
use super::key::Signer;
use super::lines::{self, Line};
use super::verify::Chain;
use crate::error::AuthError;
use crate::storage::aside::{move_aside, Aside};
use crate::storage::atomic::{lock_file, no_follow, storage_io, sync_dir};
use crate::time::UnixTime;
use serde::Deserialize;
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The log, in the state directory.
pub const LOG_FILE: &str = "audit.log";
const LOCK_FILE: &str = "audit.lock";
/// When retention last refused to prune (the chain did not verify), in seconds since the
/// epoch: the next try waits a day, so a broken chain costs one full read and one warning a
/// day, not one per audited command.
const PRUNE_REFUSED_FILE: &str = "audit.prune-refused";
const TEMP_PREFIX: &str = ".audit-tmp-";
/// Appends take microseconds; a retention rewrite of a large log takes longer.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// The tail read to find the last MAC: many lines, usually the last one is enough.
const TAIL_BYTES: u64 = 64 * 1024;
const DAY: Duration = Duration::from_secs(86_400);

/// The path of the log in state directory `dir`.
pub fn log_path(dir: &Path) -> PathBuf {
    dir.join(LOG_FILE)
}

/// An exclusive lock on `audit.lock`, held until dropped.
pub struct AuditLock {
    _file: File,
}

impl AuditLock {
    /// Takes the audit lock of state directory `dir`.
    ///
    /// # Errors
    /// `storage_error` when it cannot be opened or stays held for 30 s.
    pub fn acquire(dir: &Path) -> Result<AuditLock, AuthError> {
        let file = lock_file(dir, LOCK_FILE, LOCK_WAIT)?;
        Ok(AuditLock { _file: file })
    }
}

/// What an append needs besides the line: the time (for retention) and the retention.
pub struct Append<'a> {
    pub dir: &'a Path,
    pub now: UnixTime,
    /// `compliance.logRetention`, days.
    pub retention_days: Option<u32>,
}

impl Append<'_> {
    /// Appends the entry `head` (a JSON object left open, without `prev`) as one line, signed
    /// by `signer` and chained to the last signed line. Durable when it returns (`fdatasync`:
    /// auth events are rare, and an audit line lost to a crash would go unnoticed).
    ///
    /// Returns why a retention prune that was due was refused (the chain of the lines it
    /// would drop does not verify): the line is appended all the same.
    ///
    /// # Errors
    /// `storage_error` for the lock, a log that is not a private regular file, or I/O.
    pub fn line(&self, head: &str, signer: &Signer) -> Result<Option<String>, AuthError> {
        let _lock = AuditLock::acquire(self.dir)?;
        let path = log_path(self.dir);
        let mut refused = None;
        // Only with the key: a prune signs an anchor that vouches for the lines it drops,
        // so it must check their MACs first.
        if let (Some(days), Signer::Key(key)) = (self.retention_days, signer) {
            if !refused_within_a_day(self.dir, self.now) {
                refused = prune_if_due(&path, self.dir, self.now, days, key)?;
                remember_refusal(self.dir, self.now, refused.is_some());
            }
        }
        let mut file = open_log(&path, self.now)?;
        let (prev, torn) = tail(&mut file).map_err(|err| storage_io("cannot read", &path, err))?;
        let mut line = String::with_capacity(head.len() + 160);
        if torn {
            // A writer died mid-line: end that line, so it stays one bad line.
            line.push('\n');
        }
        line.push_str(&signed_line(head, prev.as_deref(), signer));
        line.push('\n');
        // One write of an O_APPEND file: the line lands whole, after every earlier one.
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|err| storage_io("cannot append to", &path, err))?;
        Ok(refused)
    }
}

/// Checks, before a command acts, that its audit lines can be appended: `audit.log` in `dir`
/// is absent (the first append creates it) or a regular file, ours, private, that opens for
/// appending. An audited command that could not record what it did must not do it.
///
/// # Errors
/// `storage_error` naming the fix.
pub fn check_writable(dir: &Path, now: UnixTime) -> Result<(), AuthError> {
    let path = log_path(dir);
    match std::fs::symlink_metadata(&path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(storage_io("cannot stat", &path, err)),
        Ok(meta) if !meta.is_file() => return Err(not_regular(&path, now)),
        Ok(_) => {}
    }
    let file = no_follow()
        .read(true)
        .append(true)
        .open(&path)
        .map_err(|err| {
            storage_io("cannot open", &path, err).with_hint(format!(
                "audit lines must be appended to {0}: give it back to you with mode 600 \
                 (`chmod 600 {2}`), or move it away (`{1}`) to start a new chain",
                path.display(),
                move_aside(&path, Aside::Bad, now),
                crate::storage::aside::shell_word(&path)
            ))
        })?;
    let meta = file
        .metadata()
        .map_err(|err| storage_io("cannot stat", &path, err))?;
    if !meta.is_file() {
        return Err(not_regular(&path, now));
    }
    crate::storage::ownership::check_private_file(&path, &meta)
}

fn not_regular(path: &Path, now: UnixTime) -> AuthError {
    AuthError::storage(format!("{} is not a regular file", path.display())).with_hint(format!(
        "move it away (`{}`); the next audited command starts a new log",
        move_aside(path, Aside::Bad, now)
    ))
}

/// Whether the log in `dir` holds a signed line: then only the key that signed it can
/// verify it, and a new key must not be made in its place. Reads from the start and stops
/// at the first signed line (usually the first line).
///
/// # Errors
/// What reading the log reports.
pub fn holds_signed_line(dir: &Path) -> std::io::Result<bool> {
    let file = match no_follow().read(true).open(log_path(dir)) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::with_capacity(512);
    loop {
        match lines::next(&mut reader, &mut buf)? {
            Line::Eof => return Ok(false),
            Line::TooLong => {}
            Line::Whole | Line::Torn => {
                if mac_of(&String::from_utf8_lossy(&buf)).is_some() {
                    return Ok(true);
                }
            }
        }
    }
}

/// `head` closed into a stored line: `unsigned` when there is no key, `prev`, `mac`.
pub fn signed_line(head: &str, prev: Option<&str>, signer: &Signer) -> String {
    let mut body = String::with_capacity(head.len() + 100);
    body.push_str(head);
    if let Signer::Unsigned(why) = signer {
        body.push_str(",\"unsigned\":");
        body.push_str(&serde_json::Value::from(why.as_str()).to_string());
    }
    body.push_str(",\"prev\":");
    match prev {
        Some(prev) => {
            body.push('"');
            body.push_str(prev);
            body.push('"');
        }
        None => body.push_str("null"),
    }
    match signer {
        Signer::Key(key) => {
            let mac = key.sign(prev.unwrap_or(""), &body);
            chain::close(&body, Some(&mac))
        }
        Signer::Unsigned(_) => chain::close(&body, None),
    }
}

/// Opens (creating 0600) the log for appending, refusing a link or a file others can read.
fn open_log(path: &Path, now: UnixTime) -> Result<File, AuthError> {
    let file = no_follow()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|err| storage_io("cannot open", path, err))?;
    let meta = file
        .metadata()
        .map_err(|err| storage_io("cannot stat", path, err))?;
    if !meta.is_file() {
        return Err(not_regular(path, now));
    }
    crate::storage::ownership::check_private_file(path, &meta)?;
    Ok(file)
}

/// The MAC the next line chains to (the last signed line's, or an anchor's `prev` when the
/// anchor is the last signed line), and whether the file ends mid-line.
fn tail(file: &mut File) -> std::io::Result<(Option<String>, bool)> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok((None, false));
    }
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity((len - start) as usize);
    file.read_to_end(&mut bytes)?;
    let torn = bytes.last() != Some(&b'\n');
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if start > 0 {
        // The first piece may be the end of a line cut by the read.
        lines.remove(0);
    }
    if let Some(link) = lines.iter().rev().find_map(|line| link_of(line)) {
        return Ok((link, torn));
    }
    if start == 0 {
        return Ok((None, torn));
    }
    // The last 64 KiB hold no signed line: look through the whole file, a line at a time
    // (lines longer than 64 KiB skipped, never held).
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::new(&mut *file);
    let mut buf = Vec::with_capacity(512);
    let mut last = None;
    loop {
        match lines::next(&mut reader, &mut buf)? {
            Line::Eof => break,
            Line::TooLong => {}
            Line::Whole | Line::Torn => {
                if let Some(link) = link_of(&String::from_utf8_lossy(&buf)) {
                    last = link;
                }
            }
        }
    }
    Ok((last, torn))
}

/// What the line after this one chains to, when it is a signed line: its MAC, or for an
/// anchor the `prev` it carries (the chain goes on from the pruned lines, not the anchor).
fn link_of(line: &str) -> Option<Option<String>> {
    let line = line.trim_end_matches('\r');
    let mac = mac_of(line)?;
    if line.contains("\"anchor\"") {
        if let Some(d) = dated(line).filter(|d| d.event.as_deref() == Some("anchor")) {
            return Some(d.prev);
        }
    }
    Some(Some(mac))
}

/// The MAC of a stored line, when it is a signed one.
fn mac_of(line: &str) -> Option<String> {
    let (_, mac) = chain::split(line.trim_end_matches('\r'))?;
    let hex = mac.strip_prefix('"')?.strip_suffix('"')?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_string())
}

/// The fields of a line the appender and the prune trigger read (unverified).
#[derive(Deserialize)]
struct Dated {
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    prev: Option<String>,
}

fn dated(line: &str) -> Option<Dated> {
    serde_json::from_str(line).ok()
}

/// Whether a prune may be due: cheap, the first two lines only, unverified (a prune checks
/// every line it would drop, the old anchor included, before it writes anything). At most
/// once a day: after a prune the anchor's own time says when it ran.
fn prune_due(path: &Path, now: UnixTime, days: u32) -> std::io::Result<bool> {
    let file = match no_follow().read(true).open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    let cutoff = (now - DAY * days).rfc3339();
    let mut reader = BufReader::new(file);
    let mut buf = Vec::with_capacity(512);
    let mut next = |reader: &mut BufReader<File>| -> std::io::Result<Option<Dated>> {
        Ok(match lines::next(reader, &mut buf)? {
            Line::Whole => std::str::from_utf8(&buf).ok().and_then(dated),
            _ => None,
        })
    };
    let Some(first) = next(&mut reader)? else {
        return Ok(false);
    };
    if first.event.as_deref() == Some("anchor") {
        if first.time.as_deref() > Some((now - DAY).rfc3339().as_str()) {
            return Ok(false);
        }
        let second = next(&mut reader)?;
        return Ok(second.and_then(|s| s.time).is_some_and(|t| t < cutoff));
    }
    Ok(first.time.is_some_and(|t| t < cutoff))
}

/// Whether retention refused to prune less than a day ago.
fn refused_within_a_day(dir: &Path, now: UnixTime) -> bool {
    let mut text = String::new();
    let read = no_follow()
        .read(true)
        .open(dir.join(PRUNE_REFUSED_FILE))
        .and_then(|file| file.take(32).read_to_string(&mut text));
    // A time in the future (a clock set back) does not silence retention for long.
    read.is_ok()
        && text
            .trim()
            .parse::<u64>()
            .map(UnixTime::from_secs)
            .is_ok_and(|at| at <= now && now.saturating_since(at) < DAY)
}

/// Records a refusal's time, or forgets the last one once a prune is no longer refused.
/// Best effort: without the file, retention only tries again sooner.
fn remember_refusal(dir: &Path, now: UnixTime, refused: bool) {
    let path = dir.join(PRUNE_REFUSED_FILE);
    if !refused {
        let _ = std::fs::remove_file(path);
        return;
    }
    let mut options = no_follow();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    if let Ok(mut file) = options.open(path) {
        let _ = file.write_all(now.as_secs().to_string().as_bytes());
    }
}

/// What a prune carries into its anchor, from verified lines only.
#[derive(Default)]
struct Pruned {
    /// Signed lines dropped (the old anchor's count included).
    signed: u64,
    /// Unsigned lines dropped: outside the chain, their times unverifiable.
    unsigned: u64,
    /// The MAC of the last signed line dropped: what the first kept line chains to.
    last_mac: Option<String>,
    /// The time of the last signed line dropped.
    through: Option<String>,
}

/// Drops the leading lines older than `days` and puts an anchor line in their place:
/// `prev` is the last dropped line's MAC (what the first kept line chains to), so
/// verification starts from the anchor. The file is rewritten atomically.
///
/// Every line it drops, and the old anchor, is first checked with `key` as `--verify` would:
/// their times and counts are signed, so trusted. When one fails the file is left as it is
/// and the reason returned (`Ok(Some(why))`): an anchor signed over lines nobody checked
/// would vouch for lines erased by editing their times.
fn prune_if_due(
    path: &Path,
    dir: &Path,
    now: UnixTime,
    days: u32,
    key: &ChainKey,
) -> Result<Option<String>, AuthError> {
    if !prune_due(path, now, days).map_err(|err| storage_io("cannot read", path, err))? {
        return Ok(None);
    }
    let cutoff = (now - DAY * days).rfc3339();
    let day_ago = (now - DAY).rfc3339();
    let io = |err| storage_io("cannot prune", path, err);
    let file = no_follow().read(true).open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular(path, now));
    }
    crate::storage::ownership::check_private_file(path, &meta)?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut chain = Chain::new(key);
    let mut pruned = Pruned::default();
    let mut buf = Vec::with_capacity(512);
    let mut first_kept = None;
    loop {
        let read = lines::next(&mut reader, &mut buf).map_err(io)?;
        if read == Line::Eof {
            break;
        }
        let links = match chain.check(read, &buf) {
            Ok(links) => links,
            Err(problem) => {
                return Ok(Some(format!(
                    "retention did not prune {}: line {} does not verify ({}); run `claude \
                     --show-auth-logs --verify`",
                    path.display(),
                    chain.lines,
                    problem.describe()
                )))
            }
        };
        let signed = links.mac.is_some();
        if links.is_anchor() {
            // Checked (`Chain` refuses an unsigned anchor): what it stood for carries over.
            if links.time.as_deref() > Some(day_ago.as_str()) {
                // Pruned less than a day ago.
                return Ok(None);
            }
            pruned.signed = links.pruned_count.unwrap_or(0);
            pruned.unsigned = links.pruned_unsigned.unwrap_or(0);
            pruned.last_mac = links.prev.map(Cow::into_owned);
            pruned.through = links.pruned_through.map(Cow::into_owned);
        } else if links.time.as_deref().is_some_and(|t| t < cutoff.as_str()) {
            if signed {
                pruned.signed += 1;
                pruned.last_mac = links.mac.map(Cow::into_owned);
                pruned.through = links.time.map(Cow::into_owned);
            } else {
                pruned.unsigned += 1;
            }
        } else {
            buf.push(b'\n');
            first_kept = Some(std::mem::take(&mut buf));
            break;
        }
    }
    if pruned.signed == 0 && pruned.unsigned == 0 {
        return Ok(None);
    }
    let unsigned = if pruned.unsigned > 0 {
        format!(",\"prunedUnsigned\":{}", pruned.unsigned)
    } else {
        String::new()
    };
    let anchor_head = format!(
        "{{\"time\":\"{}\",\"event\":\"anchor\",\"prunedCount\":{}{unsigned},\"prunedThrough\":{},\"retentionDays\":{days}",
        now.rfc3339(),
        pruned.signed,
        serde_json::Value::from(pruned.through)
    );
    let anchor = signed_line(
        &anchor_head,
        pruned.last_mac.as_deref(),
        &Signer::Key(key.clone()),
    );
    let mut temp = tempfile::Builder::new();
    temp.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    temp.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let temp = temp
        .tempfile_in(dir)
        .map_err(|err| storage_io("cannot create a temporary file in", dir, err))?;
    let mut out = std::io::BufWriter::new(temp);
    let mut write = |out: &mut std::io::BufWriter<tempfile::NamedTempFile>| -> std::io::Result<()> {
        out.write_all(anchor.as_bytes())?;
        out.write_all(b"\n")?;
        if let Some(kept) = &first_kept {
            out.write_all(kept)?;
        }
        std::io::copy(&mut reader, out)?;
        out.flush()?;
        out.get_ref().as_file().sync_all()
    };
    write(&mut out).map_err(io)?;
    let temp = out.into_inner().map_err(|err| io(err.into_error()))?;
    temp.persist(path).map_err(|err| io(err.error))?;
    sync_dir(dir)?;
    Ok(None)
}
