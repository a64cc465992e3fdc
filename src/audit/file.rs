//! `audit.log` on disk: appends under the audit lock, each chained to the last signed line,
//! and retention, which rewrites the file atomically behind an anchor line.
//!
//! The audit lock (`audit.lock`) is not the state lock: events are recorded while a command
//! holds the state lock (a refresh, a logout), and the sink must not wait on its own process.

use super::chain;
use super::key::Signer;
use crate::clock::rfc3339;
use crate::error::AuthError;
use crate::storage::atomic::{lock_file, no_follow, storage_io, sync_dir};
use serde::Deserialize;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The log, in the state directory.
pub const LOG_FILE: &str = "audit.log";
const LOCK_FILE: &str = "audit.lock";
const TEMP_PREFIX: &str = ".audit-tmp-";
/// Appends take microseconds; a retention rewrite of a large log takes longer.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// The tail read to find the last MAC: many lines, usually the last one is enough.
const TAIL_BYTES: u64 = 64 * 1024;
const DAY: u64 = 86_400;

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
    pub now: u64,
    /// `compliance.logRetention`, days.
    pub retention_days: Option<u32>,
}

impl Append<'_> {
    /// Appends the entry `head` (a JSON object left open, without `prev`) as one line, signed
    /// by `signer` and chained to the last signed line. Durable when it returns (`fdatasync`:
    /// auth events are rare, and an audit line lost to a crash would go unnoticed).
    ///
    /// # Errors
    /// `storage_error` for the lock, a log that is not a private regular file, or I/O.
    pub fn line(&self, head: &str, signer: &Signer) -> Result<(), AuthError> {
        let _lock = AuditLock::acquire(self.dir)?;
        let path = log_path(self.dir);
        if let Some(days) = self.retention_days {
            prune_if_due(&path, self.dir, self.now, days, signer)?;
        }
        let mut file = open_log(&path)?;
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
            .map_err(|err| storage_io("cannot append to", &path, err))
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
fn open_log(path: &Path) -> Result<File, AuthError> {
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
        return Err(
            AuthError::storage(format!("{} is not a regular file", path.display()))
                .with_hint(format!("move it away: `mv {0} {0}.bad`", path.display())),
        );
    }
    crate::storage::ownership::check_private_file(path, &meta)?;
    Ok(file)
}

/// The MAC of the last signed line, and whether the file ends mid-line.
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
    if let Some(mac) = lines.iter().rev().find_map(|line| mac_of(line)) {
        return Ok((Some(mac), torn));
    }
    if start == 0 {
        return Ok((None, torn));
    }
    // The last 64 KiB hold no signed line: look through the whole file.
    file.seek(SeekFrom::Start(0))?;
    let mut last = None;
    for line in BufReader::new(&mut *file).lines() {
        if let Some(mac) = mac_of(&line?) {
            last = Some(mac);
        }
    }
    Ok((last, torn))
}

/// The MAC of a stored line, when it is a signed one.
fn mac_of(line: &str) -> Option<String> {
    let (_, mac) = chain::split(line.trim_end_matches('\r'))?;
    let hex = mac.strip_prefix('"')?.strip_suffix('"')?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_string())
}

/// The fields retention reads of a line.
#[derive(Deserialize)]
struct Dated {
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default, rename = "prunedCount")]
    pruned_count: u64,
    #[serde(default, rename = "prunedThrough")]
    pruned_through: Option<String>,
    #[serde(default)]
    prev: Option<String>,
}

fn dated(line: &str) -> Option<Dated> {
    serde_json::from_str(line).ok()
}

/// Whether a prune is due: cheap, the first two lines only. At most once a day: after a
/// prune the anchor's own time says when it ran.
fn prune_due(path: &Path, now: u64, days: u32) -> std::io::Result<bool> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    let cutoff = rfc3339(now.saturating_sub(u64::from(days) * DAY));
    let mut lines = BufReader::new(file).lines();
    let Some(first) = lines.next().transpose()?.and_then(|l| dated(&l)) else {
        return Ok(false);
    };
    if first.event.as_deref() == Some("anchor") {
        if first.time.as_deref() > Some(rfc3339(now.saturating_sub(DAY)).as_str()) {
            return Ok(false);
        }
        let second = lines.next().transpose()?.and_then(|l| dated(&l));
        return Ok(second.and_then(|s| s.time).is_some_and(|t| t < cutoff));
    }
    Ok(first.time.is_some_and(|t| t < cutoff))
}

/// Drops the leading lines older than `days` and puts an anchor line in their place:
/// `prev` is the last dropped line's MAC (what the first kept line chains to), so
/// verification starts from the anchor. The file is rewritten atomically.
fn prune_if_due(
    path: &Path,
    dir: &Path,
    now: u64,
    days: u32,
    signer: &Signer,
) -> Result<(), AuthError> {
    if !prune_due(path, now, days).map_err(|err| storage_io("cannot read", path, err))? {
        return Ok(());
    }
    let cutoff = rfc3339(now.saturating_sub(u64::from(days) * DAY));
    let io = |err| storage_io("cannot prune", path, err);
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let (mut pruned, mut last_mac, mut through) = (0_u64, None, None);
    let mut line = String::new();
    let mut first_kept = None;
    let mut first_line = true;
    while reader.read_line(&mut line).map_err(io)? > 0 {
        let text = line.trim_end_matches('\n');
        match dated(text) {
            // The old anchor goes; what it stood for carries over to the new one.
            Some(d) if d.event.as_deref() == Some("anchor") && first_line => {
                pruned = d.pruned_count;
                last_mac = d.prev;
                through = d.pruned_through;
            }
            Some(d) if d.time.as_ref().is_some_and(|t| *t < cutoff) => {
                pruned += 1;
                last_mac = mac_of(text).or(last_mac);
                through = d.time;
            }
            _ => {
                first_kept = Some(std::mem::take(&mut line));
                break;
            }
        }
        line.clear();
        first_line = false;
    }
    let anchor_head = format!(
        "{{\"time\":\"{}\",\"event\":\"anchor\",\"prunedCount\":{pruned},\"prunedThrough\":{},\"retentionDays\":{days}",
        rfc3339(now),
        serde_json::Value::from(through)
    );
    let anchor = signed_line(&anchor_head, last_mac.as_deref(), signer);
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
            out.write_all(kept.as_bytes())?;
        }
        std::io::copy(&mut reader, out)?;
        out.flush()?;
        out.get_ref().as_file().sync_all()
    };
    write(&mut out).map_err(io)?;
    let temp = out.into_inner().map_err(|err| io(err.into_error()))?;
    temp.persist(path).map_err(|err| io(err.error))?;
    sync_dir(dir)
}
