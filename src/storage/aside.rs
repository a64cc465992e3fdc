//! The one `mv` command every hint gives for moving a file aside: to a name that does not
//! exist yet, so following the same hint twice never overwrites the copy kept the first
//! time (it may be the only evidence of what happened).

use crate::time::UnixTime;
use std::path::{Path, PathBuf};

/// Why a file is moved aside: the word its new name carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aside {
    /// A file that cannot be used as it is: a credential store that does not open (damaged,
    /// foreign, its passphrase or master key lost), an audit log that cannot be appended to.
    Bad,
    /// An audit log whose chain does not verify: altered or damaged.
    Broken,
    /// An audit log whose key is gone: intact perhaps, but nothing can check it any more.
    Unverifiable,
}

impl Aside {
    fn word(self) -> &'static str {
        match self {
            Aside::Bad => "bad",
            Aside::Broken => "broken",
            Aside::Unverifiable => "unverifiable",
        }
    }
}

/// `mv PATH PATH.WORD-20261130T064012Z`, the stamp being `now` in UTC: a name that does not
/// exist when the hint is built (`-2`, `-3`, … are added within one second). Paths with
/// characters a shell would act on are single-quoted, so the command can be pasted as it is.
pub fn move_aside(path: &Path, why: Aside, now: UnixTime) -> String {
    let target = free_name(path, why, now);
    format!("mv {} {}", shell_word(path), shell_word(&target))
}

/// The first of `PATH.WORD-STAMP`, `PATH.WORD-STAMP-2`, … that is not taken (a dangling
/// symbolic link counts as taken).
fn free_name(path: &Path, why: Aside, now: UnixTime) -> PathBuf {
    let stamp: String = now
        .rfc3339()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let base = format!("{}.{}-{stamp}", path.display(), why.word());
    (1u32..)
        .map(|n| match n {
            1 => PathBuf::from(&base),
            n => PathBuf::from(format!("{base}-{n}")),
        })
        .find(|candidate| std::fs::symlink_metadata(candidate).is_err())
        .expect("some numbered name is free")
}

/// `path` as one shell word: bare when it holds only characters no shell treats specially,
/// otherwise in single quotes (`'` as `'\''`).
pub fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | '@' | ':' | '%')
                || (cfg!(windows) && c == '\\')
        });
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_796_020_812); // 2026-11-30T06:40:12Z

    #[test]
    fn the_name_carries_the_reason_and_a_utc_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.log");
        assert_eq!(
            move_aside(&log, Aside::Broken, NOW),
            format!("mv {0} {0}.broken-20261130T064012Z", log.display())
        );
    }

    #[test]
    fn a_name_already_taken_is_never_offered() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials.enc");
        let first = dir.path().join("credentials.enc.bad-20261130T064012Z");
        std::fs::write(&first, b"kept the first time").unwrap();
        let second = format!("{}-2", first.display());
        assert!(move_aside(&file, Aside::Bad, NOW).ends_with(&second));
        std::fs::write(&second, b"kept the second time").unwrap();
        assert!(move_aside(&file, Aside::Bad, NOW).ends_with(&format!("{}-3", first.display())));
    }

    #[test]
    fn paths_a_shell_would_split_are_quoted() {
        let path = Path::new("/home/o'brien/my state/audit.log");
        let command = move_aside(path, Aside::Unverifiable, NOW);
        assert!(
            command.starts_with(r"mv '/home/o'\''brien/my state/audit.log' '/home/o'\''brien/my state/audit.log.unverifiable-2026"),
            "{command}"
        );
    }
}
