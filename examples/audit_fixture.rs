//! Benchmark fixtures for the audit log (`scripts/bench-audit.sh`): an `encrypted-file`
//! state directory whose store holds an audit key, and an `audit.log` of N valid chained
//! lines signed with it; or the cost of one real append.
//!
//! An example, not a flag of `claude`: nothing in the shipped binary writes lines it did
//! not witness. (Anyone who holds the key can sign lines; the key, not this code, is the
//! secret.)
//!
//! ```text
//! CLAUDE_PASSPHRASE=… audit_fixture DIR LINES          # DIR/config.json, credentials.enc, audit.log
//! audit_fixture --time-append DIR COUNT                # mean time of one append (lock, tail, write, fdatasync)
//! ```

use claude_auth::audit::chain::{self, ChainKey, KEY_ITEM};
use claude_auth::audit::file::{signed_line, Append};
use claude_auth::audit::key::Signer;
use claude_auth::secret::Secret;
use claude_auth::storage::encrypted_file::{EncryptedFile, KeySource};
use claude_auth::storage::{FileLock, ItemMeta, SecretStore};
use claude_auth::time::UnixTime;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// 2027-01-15T08:00:00Z; one line a minute from there.
const START: UnixTime = UnixTime::from_secs(1_800_000_000);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--time-append", dir, count] => time_append(Path::new(dir), count.parse().expect("COUNT")),
        [dir, lines] => write_log(Path::new(dir), lines.parse().expect("LINES")),
        _ => {
            eprintln!("usage: audit_fixture DIR LINES | audit_fixture --time-append DIR COUNT");
            std::process::exit(2);
        }
    }
}

fn head(i: u64) -> String {
    let time = START.plus_secs(i * 60).rfc3339();
    format!(
        "{{\"time\":\"{time}\",\"event\":\"key_validated\",\"provider\":\"anthropic\",\
         \"fingerprint\":\"sk-ant-api03-…a1A1\",\"outcome\":\"success\",\"environment\":null,\
         \"host\":\"bench\",\"pid\":{},\"source\":\"input\"",
        10_000 + i % 50_000
    )
}

fn write_log(dir: &Path, lines: u64) {
    let passphrase = std::env::var("CLAUDE_PASSPHRASE").expect("CLAUDE_PASSPHRASE");
    std::fs::create_dir_all(dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let config = r#"{"authentication": {"storage": {"type": "encrypted-file", "encryptionKey": "user-derived-key"}}, "security": {"auditLogging": true}}"#;
    write_private(&dir.join("config.json"), config.as_bytes());
    let store = EncryptedFile::new(
        dir,
        KeySource::Passphrase {
            from_env: Some(Secret::new(passphrase)),
            terminal: std::rc::Rc::new(claude_auth::terminal::SystemTerminal),
            cache: None,
        },
        START,
    );
    let hex = ChainKey::generate_hex().unwrap();
    let lock = FileLock::acquire(dir).unwrap();
    let meta = ItemMeta {
        fingerprint: "audit-hmac-key".into(),
        created_at: START,
        rotated_at: None,
        previous_fingerprint: None,
        helper_digest: None,
    };
    store
        .put(KEY_ITEM, &Secret::new(hex.to_string()), meta, &lock)
        .unwrap();
    let signer = Signer::Key(ChainKey::from_hex(&hex).unwrap());
    let file = std::fs::File::create(dir.join("audit.log")).unwrap();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut prev: Option<String> = None;
    for i in 0..lines {
        let line = signed_line(&head(i), prev.as_deref(), &signer);
        let (_, mac) = chain::split(&line).unwrap();
        prev = Some(mac.trim_matches('"').to_string());
        out.write_all(line.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.flush().unwrap();
    drop(out);
    write_private(
        &dir.join("audit.log"),
        &std::fs::read(dir.join("audit.log")).unwrap(),
    );
}

fn write_private(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn time_append(dir: &Path, count: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let signer = Signer::Key(ChainKey::from_bytes(&[7; 32]));
    let started = Instant::now();
    for i in 0..count {
        let append = Append {
            dir,
            now: START.plus_secs(u64::from(i)),
            retention_days: Some(30),
        };
        append.line(&head(u64::from(i)), &signer).unwrap();
    }
    let each = started.elapsed() / count;
    println!("one append (audit lock, tail read, retention check, write, fdatasync): {each:?} mean over {count}");
}
