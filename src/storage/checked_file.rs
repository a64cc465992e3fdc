//! The one way to read a file whose contents decide credentials: where they are sent (a
//! configuration, the AWS config), what runs (`credential_process`), which servers are
//! believed (a CA bundle), or the credentials themselves. The file is opened without
//! waiting, judged on the open handle (a regular file, owned and moded as its kind
//! requires), then read up to a cap: another user cannot swap it between the check and the
//! read, a FIFO cannot hang the command, and `/dev/zero` cannot fill memory.

use super::atomic::no_follow;
use super::ownership;
use crate::error::{AuthError, ErrorCode};
use std::fs::{File, Metadata, OpenOptions};
use std::io::{ErrorKind, Read};
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// Who may own and change a file before its contents are believed.
pub enum Trust<'a> {
    /// It decides where credentials go or what runs (a configuration, the AWS config):
    /// owned by the user or root, writable by no one else ([`ownership::check_config`]).
    Config,
    /// A CA bundle: judged as [`Trust::Config`], but what it decides is which servers are
    /// trusted ([`ownership::check_ca_bundle`]).
    Certificates,
    /// It holds the user's secrets (AWS credentials, a Google key, this tool's own state):
    /// the user's alone and readable by no one else, as ssh wants private keys
    /// ([`ownership::check_private_file`]).
    Private,
    /// The platform put it there for this process (a Kubernetes service account token,
    /// often root's and 0644): any owner will do; it is still a regular file, read up to
    /// the cap.
    Platform,
    /// A rule of its own, judged on the open handle (managed settings: root's, with the
    /// Windows ACL read from the handle). Its errors are reported as they are.
    Custom(&'a dyn Fn(&Path, &Metadata, &File) -> Result<(), AuthError>),
}

/// What was read, and the metadata of the handle it was judged by.
type Judged = (Zeroizing<Vec<u8>>, Metadata);

/// A kind of file and the rules it is read by: what it is called in messages, who may own
/// it, how large it may be, the error code of a refusal, and whether a symbolic link to it
/// is followed.
pub struct CheckedFile<'a> {
    what: &'a str,
    trust: Trust<'a>,
    max: u64,
    code: ErrorCode,
    follow_links: bool,
    hint: Option<String>,
}

impl<'a> CheckedFile<'a> {
    /// A file the user configures, called `what` in messages ("AWS config file" gives
    /// "cannot read the AWS config file PATH"), judged by `trust`, at most `max` bytes.
    /// Refusals are `config_error`. A symbolic link is followed and its target judged:
    /// dotfile managers link configurations, Kubernetes links mounted tokens.
    pub fn new(what: &'a str, trust: Trust<'a>, max: u64) -> CheckedFile<'a> {
        CheckedFile {
            what,
            trust,
            max,
            code: ErrorCode::ConfigError,
            follow_links: true,
            hint: None,
        }
    }

    /// Refusals with `code` instead (`storage_error` for this tool's own files).
    pub fn code(mut self, code: ErrorCode) -> CheckedFile<'a> {
        self.code = code;
        self
    }

    /// Refuses a symbolic link instead of following it: for files this tool rewrites.
    pub fn no_links(mut self) -> CheckedFile<'a> {
        self.follow_links = false;
        self
    }

    /// What to do when the file cannot be read, is not a regular file or is too large.
    pub fn hint(mut self, hint: impl Into<String>) -> CheckedFile<'a> {
        self.hint = Some(hint.into());
        self
    }

    /// Reads the file, judged on the handle it is read from; `None` when it does not exist.
    /// The bytes are wiped when dropped.
    ///
    /// # Errors
    /// With the file's code: it cannot be opened or read, is a symbolic link (when links
    /// are refused), is not a regular file, fails its [`Trust`] (with the `chown`/`chmod`
    /// that fixes it), or holds more than the cap.
    pub fn read(&self, path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, AuthError> {
        Ok(self.read_judged(path)?.map(|(bytes, _)| bytes))
    }

    /// [`Self::read`] of a file that must be there: one named by a variable or a setting.
    ///
    /// # Errors
    /// As [`Self::read`], and when the file does not exist.
    pub fn read_existing(&self, path: &Path) -> Result<Zeroizing<Vec<u8>>, AuthError> {
        self.read(path)?.ok_or_else(|| {
            let missing = format!("the {} {} does not exist", self.what, path.display());
            hinted(self.refusal(missing), self.hint.as_deref())
        })
    }

    /// [`Self::read`], as UTF-8 text.
    ///
    /// # Errors
    /// As [`Self::read`], and for bytes that are not UTF-8.
    pub fn read_text(&self, path: &Path) -> Result<Option<String>, AuthError> {
        Ok(self.read_text_and_meta(path)?.map(|(text, _)| text))
    }

    /// [`Self::read_text`], with the metadata it was judged by: whether a file that holds a
    /// key is private is answered from the same handle.
    ///
    /// # Errors
    /// As [`Self::read_text`].
    pub fn read_text_and_meta(&self, path: &Path) -> Result<Option<(String, Metadata)>, AuthError> {
        let Some((mut bytes, meta)) = self.read_judged(path)? else {
            return Ok(None);
        };
        // Moved, not copied: the one buffer becomes the text.
        match String::from_utf8(std::mem::take(&mut *bytes)) {
            Ok(text) => Ok(Some((text, meta))),
            Err(err) => {
                err.into_bytes().zeroize();
                Err(self.refusal(format!(
                    "{} is not UTF-8 text; no {} is binary",
                    path.display(),
                    self.what
                )))
            }
        }
    }

    fn read_judged(&self, path: &Path) -> Result<Option<Judged>, AuthError> {
        let Some((file, meta)) = self.open_checked(path)? else {
            return Ok(None);
        };
        // Sized once: a growing buffer would leave unwiped copies of what it held.
        let expected = meta.len().min(self.max).saturating_add(1);
        let mut bytes = Zeroizing::new(Vec::with_capacity(usize::try_from(expected).unwrap_or(0)));
        file.take(self.max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|err| self.unreadable(path, err))?;
        if bytes.len() as u64 > self.max {
            return Err(self
                .refusal(format!(
                    "{} is larger than {}; no {} is that large",
                    path.display(),
                    size(self.max),
                    self.what
                ))
                .with_hint(
                    self.hint
                        .clone()
                        .unwrap_or_else(|| format!("check what {} holds", path.display())),
                ));
        }
        Ok(Some((bytes, meta)))
    }

    /// Opens the file and judges it, for a caller that streams it (the audit log) and so
    /// bounds its own reading; `None` when it does not exist.
    ///
    /// # Errors
    /// As [`Self::read`], but for the size.
    pub fn open(&self, path: &Path) -> Result<Option<File>, AuthError> {
        Ok(self.open_checked(path)?.map(|(file, _)| file))
    }

    fn open_checked(&self, path: &Path) -> Result<Option<(File, Metadata)>, AuthError> {
        let mut options = if self.follow_links {
            OpenOptions::new()
        } else {
            no_follow()
        };
        // O_NONBLOCK: a FIFO in place of the file must not hang the command before its type
        // is checked; reads of a regular file are unaffected.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            let no_follow = if self.follow_links {
                0
            } else {
                libc::O_NOFOLLOW
            };
            options.custom_flags(libc::O_NONBLOCK | no_follow);
        }
        let file = match options.read(true).open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            #[cfg(unix)]
            Err(err) if !self.follow_links && err.raw_os_error() == Some(libc::ELOOP) => {
                return Err(self.link_refused(path))
            }
            Err(err) => return Err(self.unreadable(path, err)),
        };
        let meta = file.metadata().map_err(|err| self.unreadable(path, err))?;
        // Where the open itself does not refuse a link (Windows), the opened file says what
        // it is.
        if !self.follow_links && meta.file_type().is_symlink() {
            return Err(self.link_refused(path));
        }
        if !meta.is_file() {
            return Err(self
                .refusal(format!(
                    "{} is {}, not a regular file; the {} must be one",
                    path.display(),
                    kind_of(&meta),
                    self.what
                ))
                .with_hint(
                    self.hint
                        .clone()
                        .unwrap_or_else(|| format!("remove it: `{} {}`", rm(), path.display())),
                ));
        }
        self.judge(path, &meta, &file)?;
        Ok(Some((file, meta)))
    }

    /// The [`Trust`] rule, on the metadata of the open handle.
    fn judge(&self, path: &Path, meta: &Metadata, file: &File) -> Result<(), AuthError> {
        let verdict = match &self.trust {
            Trust::Config => ownership::check_config(path, meta),
            Trust::Certificates => ownership::check_ca_bundle(path, meta),
            Trust::Private => ownership::check_private_file(path, meta),
            Trust::Platform => Ok(()),
            Trust::Custom(check) => return check(path, meta, file),
        };
        // The shared checks speak of the path; say what the file is, under its own code.
        verdict.map_err(|err| {
            let refused = self.refusal(format!("the {} {}", self.what, err.message()));
            hinted(refused, err.hint())
        })
    }

    fn refusal(&self, message: String) -> AuthError {
        AuthError::new(self.code, message)
    }

    fn unreadable(&self, path: &Path, err: std::io::Error) -> AuthError {
        // Someone else's file the user may not open (a file that must be the user's or
        // root's, not one the platform or an administrator keeps): whose it is says more
        // than any hint about where its path came from.
        let owned = match self.trust {
            Trust::Config | Trust::Certificates => Some(false),
            Trust::Private => Some(true),
            Trust::Platform | Trust::Custom(_) => None,
        };
        let not_yours = owned
            .filter(|_| err.kind() == ErrorKind::PermissionDenied)
            .and_then(|private| ownership::unreadable_hint(path, private));
        let error = self
            .refusal(format!("cannot read the {} {}", self.what, path.display()))
            .caused_by(err);
        hinted(error, not_yours.as_deref().or(self.hint.as_deref()))
    }

    fn link_refused(&self, path: &Path) -> AuthError {
        self.refusal(format!(
            "{} is a symbolic link; the {} must be a regular file",
            path.display(),
            self.what
        ))
        .with_hint(format!("remove the link: `{} {}`", rm(), path.display()))
    }
}

/// Whether no one but its owner may read the file `meta` describes (mode `& 077` = 0; always
/// on Windows, which has no modes): a file that holds a key must be.
pub fn is_private(meta: &Metadata) -> bool {
    ownership::unix_mode(meta).is_none_or(|mode| mode & 0o077 == 0)
}

/// What a file that is not a regular file is, in words: "a FIFO", "a directory", ….
fn kind_of(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "something else"
    }
}

fn hinted(error: AuthError, hint: Option<&str>) -> AuthError {
    match hint {
        Some(hint) => error.with_hint(hint),
        None => error,
    }
}

fn rm() -> &'static str {
    if cfg!(windows) {
        "del"
    } else {
        "rm"
    }
}

/// `1 MiB`, `64 KiB`, or bytes.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(1 << 20), "1 MiB");
        assert_eq!(size(4 << 20), "4 MiB");
        assert_eq!(size(64 * 1024), "64 KiB");
        assert_eq!(size(1000), "1000 bytes");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_not_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [b'x'; 11]).unwrap();
        let rule = CheckedFile::new("test file", Trust::Platform, 10);
        let err = rule.read(&path).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigError);
        assert!(
            err.message().contains("larger than 10 bytes"),
            "{}",
            err.message()
        );
        std::fs::write(&path, [b'x'; 10]).unwrap();
        assert_eq!(rule.read(&path).unwrap().unwrap().len(), 10);
        assert!(rule.read(&dir.path().join("absent")).unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_at_once() {
        let rule = CheckedFile::new("test file", Trust::Platform, 1 << 20);
        let err = rule.read(Path::new("/dev/zero")).unwrap_err();
        assert!(err.message().contains("not a regular file"), "{err:?}");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `name` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let err = rule.read(&fifo).unwrap_err();
        assert!(err.message().contains("not a regular file"), "{err:?}");
    }

    #[cfg(unix)]
    #[test]
    fn trust_is_judged_and_named_under_the_files_own_code() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = CheckedFile::new("test config", Trust::Config, 100);
        assert!(config.read(&path).is_ok());
        let private = CheckedFile::new("test key", Trust::Private, 100);
        let err = private.read(&path).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigError);
        assert!(err.message().starts_with("the test key "), "{err:?}");
        assert!(err.hint().unwrap().contains("chmod 600"), "{err:?}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = config.read(&path).unwrap_err();
        assert!(err.hint().unwrap().contains("chmod go-w"), "{err:?}");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_or_refused_as_told() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let rule = CheckedFile::new("test file", Trust::Platform, 100);
        assert_eq!(&rule.read(&link).unwrap().unwrap()[..], b"x");
        let err = rule
            .code(ErrorCode::StorageError)
            .no_links()
            .read(&link)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::StorageError);
        assert!(err.message().contains("symbolic link"), "{err:?}");
    }
}
